/**
 * The generic resource verbs over object storage: get, list (with paging), create, update,
 * patch (merge, strategic, JSON, apply), delete and deletecollection. Nothing here knows a
 * kind: per-resource behaviour comes from the registry's strategies.
 */
import { StatusError, badRequest, methodNotAllowed } from '../api/errors.js';
import { groupVersion, type KObject } from '../api/registry.js';
import { applyPatch, patchTypeOf } from '../api/patch/index.js';
import { jsonResponse, type ApiRequest, type ApiResponse } from './request.js';
import { table, wantsTable } from './table.js';
import { checkRequestObject, fieldValidationMode, withWarnings } from './field-validation.js';
import { checkYamlDepth, decodeResourceBody, deleteOptions, encodeCached, encodeObject, inRequestedVersion, includeObject, toStorageVersion } from './codec.js';
import { selectionFilter } from './selection.js';
import { pageNotFound, type ResourcePath } from './routes.js';
import type { ObjectStorage, WriteContext } from './objects.js';
import type { CachedObject } from './watch-cache.js';
import { minimumResourceVersion, readAtLeast } from './resource-version.js';

/** What the verbs work on. */
export interface CrudEnv {
  storage: ObjectStorage;
  /** Milliseconds since the epoch (table ages). */
  now(): number;
}

function respondObject(rp: ResourcePath, status: number, obj: KObject, warnings: readonly string[] = []): ApiResponse {
  return withWarnings(jsonResponse(status, encodeObject(rp, obj)), warnings);
}

function listKey(o: CachedObject): string {
  return o.namespace ? `${o.namespace}/${o.name}` : o.name;
}

/** GET of one object; with a resourceVersion, once the cache has reached it (or 504 after the wait). */
export function getObject(env: CrudEnv, req: ApiRequest, rp: ResourcePath): ApiResponse | Promise<ApiResponse> {
  return readAtLeast(env.storage.cache, minimumResourceVersion(req, false), () => getNow(env, req, rp));
}

function getNow(env: CrudEnv, req: ApiRequest, rp: ResourcePath): ApiResponse {
  const o = env.storage.get(rp.def, rp.namespace, rp.name);
  if (wantsTable(req.headers['accept'])) {
    return jsonResponse(200, table(rp.def, [inRequestedVersion(rp, o.obj)], env.now(), includeObject(req), { resourceVersion: String(o.rv) }));
  }
  return jsonResponse(200, encodeCached(rp, o));
}

/**
 * ListOptions `limit`: absent or a base-10 integer, as upstream's parameter decoding
 * (strconv.ParseInt) accepts; anything else is 400 so a collection delete never runs unbounded
 * because its limit could not be read. Zero and negative limits mean no limit, as upstream's
 * storage pages only when `limit > 0` (ValidateListOptions does not reject them).
 */
export function parseLimit(req: ApiRequest): number {
  const raw = req.query.get('limit');
  if (raw === null || raw === '') return 0;
  if (!/^[+-]?\d+$/.test(raw) || !Number.isSafeInteger(Number(raw))) {
    throw badRequest(`strconv.ParseInt: parsing ${JSON.stringify(raw)}: invalid syntax`);
  }
  return Number(raw);
}

/** One page of a list: the selected objects, the revision it reports and the next continue token. */
interface ListPage {
  items: CachedObject[];
  rv: number;
  next?: string;
}

/**
 * Selects the objects a list or deletecollection works on: selectors, then `continue` and
 * `limit`. Every query parameter is checked before anything is returned, so a bad one fails
 * the whole request (400) instead of widening it.
 */
function selectPage(env: CrudEnv, req: ApiRequest, rp: ResourcePath): ListPage {
  const { def } = rp;
  const cache = env.storage.cache;
  const limit = parseLimit(req);
  const match = selectionFilter(req, def);
  // Paging: the continue token carries the last key served and the first page's revision.
  // Later pages are read from the cache as it is now, but every page reports the first page's
  // revision, so a client that watches from it afterwards replays every change made while it
  // paged (upstream serves the pages from an etcd snapshot instead; both lose nothing).
  const cont = req.query.get('continue');
  let after: string | undefined;
  let rv = cache.revision();
  if (cont) {
    try {
      const token = JSON.parse(Buffer.from(cont, 'base64url').toString()) as { rv?: unknown; start?: unknown };
      if (typeof token.start !== 'string' || typeof token.rv !== 'number') throw new Error('bad token');
      after = token.start;
      rv = token.rv;
    } catch {
      throw badRequest(`invalid continue token`);
    }
  }
  let items = cache.list(def, rp.namespace).filter((o) => match(o.obj));
  if (after !== undefined) items = items.filter((o) => listKey(o) > after);
  let next: string | undefined;
  if (limit > 0 && items.length > limit) {
    items = items.slice(0, limit);
    next = Buffer.from(JSON.stringify({ rv, start: listKey(items[items.length - 1]) })).toString('base64url');
  }
  return { items, rv, next };
}

/**
 * LIST of a collection; with a resourceVersion (NotOlderThan, or Exact), once the cache has
 * reached it (or 504 after the wait). The version parameters and the limit are checked
 * before the wait, so a malformed request fails at once rather than after three seconds.
 */
export function listObjects(env: CrudEnv, req: ApiRequest, rp: ResourcePath): ApiResponse | Promise<ApiResponse> {
  const minRv = minimumResourceVersion(req, true);
  parseLimit(req);
  return readAtLeast(env.storage.cache, minRv, () => listNow(env, req, rp));
}

function listNow(env: CrudEnv, req: ApiRequest, rp: ResourcePath): ApiResponse {
  const { def } = rp;
  const { items, rv, next } = selectPage(env, req, rp);
  const listMeta: Record<string, unknown> = { resourceVersion: String(rv) };
  if (next) listMeta.continue = next;
  if (wantsTable(req.headers['accept'])) {
    return jsonResponse(200, table(def, items.map((o) => inRequestedVersion(rp, o.obj)), env.now(), includeObject(req), listMeta));
  }
  // Build the JSON by concatenating each object's cached serialization: lists of thousands stay fast.
  const apiVersion = groupVersion(def.group, rp.version);
  const parts = items.map((o) => encodeCached(rp, o));
  const body = `{"kind":"${def.kind}List","apiVersion":"${apiVersion}","metadata":${JSON.stringify(listMeta)},"items":[${parts.join(',')}]}`;
  return jsonResponse(200, body);
}

export async function createObject(env: CrudEnv, req: ApiRequest, rp: ResourcePath, ctx: WriteContext): Promise<ApiResponse> {
  if (rp.def.verbs && !rp.def.verbs.includes('create')) throw methodNotAllowed(`create is not supported on ${rp.def.plural}`);
  const warnings: string[] = [];
  const obj = decodeResourceBody(req, rp, warnings);
  if (rp.def.namespaced && !rp.namespace) throw pageNotFound();
  const created = await env.storage.create(rp.def, rp.namespace, obj, ctx);
  return respondObject(rp, 201, created, warnings);
}

/** PUT of the object or of its status / finalize subresource. */
export async function updateObject(env: CrudEnv, req: ApiRequest, rp: ResourcePath, ctx: WriteContext): Promise<ApiResponse> {
  const warnings: string[] = [];
  const obj = decodeResourceBody(req, rp, warnings);
  const updated = await env.storage.update(rp.def, rp.namespace, rp.name, obj, ctx, rp.subresource);
  return respondObject(rp, 200, updated, warnings);
}

/** PATCH of the object or its status; server-side apply creates a missing object. */
export async function patchObject(env: CrudEnv, req: ApiRequest, rp: ResourcePath, ctx: WriteContext): Promise<ApiResponse> {
  const contentType = req.headers['content-type'];
  const type = patchTypeOf(contentType);
  const body = req.body ?? Buffer.alloc(0);
  if (type === 'apply') checkYamlDepth(body);
  if (type === 'apply' && !ctx.fieldManager) {
    throw badRequest('PATCH, application/apply-patch+yaml requires fieldManager to be set');
  }
  const storage = env.storage;
  fieldValidationMode(req.method, req.query.get('fieldValidation'));
  // The patched object is checked as a decoded body would be (retries start over).
  let warnings: string[] = [];
  const checked = (obj: KObject): KObject => {
    warnings = checkRequestObject(req, rp, obj, true);
    return obj;
  };
  let created = false;
  const createFromApply =
    type === 'apply' && !rp.subresource
      ? async () => {
          const obj = checked(applyPatch(contentType, undefined, body, rp.def.kind) as KObject);
          obj.metadata = { ...(obj.metadata ?? {}), name: rp.name };
          created = true;
          return storage.create(rp.def, rp.namespace, toStorageVersion(rp, obj), ctx);
        }
      : undefined;
  const updated = await storage.update(
    rp.def,
    rp.namespace,
    rp.name,
    (current) => toStorageVersion(rp, checked(applyPatch(contentType, inRequestedVersion(rp, current), body, rp.def.kind) as KObject)),
    ctx,
    rp.subresource,
    createFromApply,
  );
  return respondObject(rp, created ? 201 : 200, updated, warnings);
}

export async function deleteObject(env: CrudEnv, req: ApiRequest, rp: ResourcePath, ctx: WriteContext): Promise<ApiResponse> {
  const opts = deleteOptions(req);
  if (opts.dryRun?.includes('All')) ctx.dryRun = true;
  const { obj, pending } = await env.storage.delete(rp.def, rp.namespace, rp.name, opts, ctx);
  if (pending || rp.def.strategy.returnDeletedObject) return respondObject(rp, pending ? 202 : 200, obj);
  return jsonResponse(200, {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Success',
    details: { name: rp.name, group: rp.def.group || undefined, kind: rp.def.plural, uid: obj.metadata?.uid },
  });
}

export async function deleteCollection(env: CrudEnv, req: ApiRequest, rp: ResourcePath, ctx: WriteContext): Promise<ApiResponse> {
  // The list options first, as upstream decodes them before the delete options: with a bad
  // limit, continue or selector nothing is deleted. A limit bounds the delete to one page.
  const victims = selectPage(env, req, rp).items;
  const opts = deleteOptions(req);
  if (opts.dryRun?.includes('All')) ctx.dryRun = true;
  const deleted: string[] = [];
  for (const v of victims) {
    try {
      const { obj } = await env.storage.delete(rp.def, v.namespace, v.name, opts, ctx);
      deleted.push(encodeObject(rp, obj));
    } catch (err) {
      if (!(err instanceof StatusError && err.reason === 'NotFound')) throw err;
    }
  }
  const apiVersion = groupVersion(rp.def.group, rp.version);
  return jsonResponse(200, `{"kind":"${rp.def.kind}List","apiVersion":"${apiVersion}","metadata":{"resourceVersion":"${env.storage.cache.revision()}"},"items":[${deleted.join(',')}]}`);
}
