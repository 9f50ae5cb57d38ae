/**
 * The `resourceVersion` and `resourceVersionMatch` query parameters of reads (get, list, watch),
 * checked and interpreted as upstream's storage layer does: a version that is not an unsigned
 * integer is 400, and a read at a version the watch cache has not reached waits for it briefly
 * and then fails with 504 "Too large resource version" instead of hanging or serving older data.
 */
import { badRequest, fieldErrors, invalid } from '../api/errors.js';
import type { ApiRequest } from './request.js';
import type { WatchCache } from './watch-cache.js';

const MAX_UINT64 = 18446744073709551615n;

/**
 * Parses a resourceVersion as upstream's APIObjectVersioner.ParseResourceVersion (strconv.ParseUint,
 * base 10): '' and '0' are 0; anything else that is not an unsigned integer is 400, with the
 * same wording as the etcd3 store's `invalid resource version: …`.
 */
export function parseResourceVersion(raw: string): number {
  if (raw === '' || raw === '0') return 0;
  let why = 'invalid syntax';
  if (/^\d+$/.test(raw)) {
    if (BigInt(raw) <= MAX_UINT64) return Number(raw);
    why = 'value out of range';
  }
  const q = JSON.stringify(raw);
  throw badRequest(`invalid resource version: resourceVersion: Invalid value: ${q}: strconv.ParseUint: parsing ${q}: ${why}`);
}

const MATCHES = ['Exact', 'NotOlderThan'] as const;

/**
 * The revision a get or list must not be older than, or 0 when any will do. Checks
 * `resourceVersionMatch` as upstream's ValidateListOptions does (422 ListOptions invalid).
 * `Exact` is served like `NotOlderThan`: the cache holds only the newest state of each object.
 */
export function minimumResourceVersion(req: ApiRequest, isList: boolean): number {
  const raw = req.query.get('resourceVersion') ?? '';
  const match = isList ? (req.query.get('resourceVersionMatch') ?? '') : '';
  if (match) {
    const errs = [];
    if (!raw) errs.push(fieldErrors.forbidden('resourceVersionMatch', 'resourceVersionMatch is forbidden unless resourceVersion is provided'));
    if (req.query.get('continue')) errs.push(fieldErrors.forbidden('resourceVersionMatch', 'resourceVersionMatch is forbidden when continue is provided'));
    if (!(MATCHES as readonly string[]).includes(match)) errs.push(fieldErrors.notSupported('resourceVersionMatch', match, [...MATCHES, '']));
    if (match === 'Exact' && raw === '0') errs.push(fieldErrors.forbidden('resourceVersionMatch', 'resourceVersionMatch "exact" is forbidden for resourceVersion "0"'));
    if (errs.length) throw invalid('meta.k8s.io', 'ListOptions', '', errs);
  }
  return parseResourceVersion(raw);
}

/**
 * Runs `read` once the cache has reached the revision the request asks for. Synchronous (no
 * promise, no timer) whenever the cache is already there, which is every request without a
 * resourceVersion: the list and get hot paths stay as they were.
 */
export function readAtLeast<T>(cache: WatchCache, minRv: number, read: () => T): T | Promise<T> {
  if (minRv <= cache.revision()) return read();
  return cache.waitUntilFresh(minRv).then(read);
}
