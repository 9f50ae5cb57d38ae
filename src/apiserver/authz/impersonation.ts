/**
 * Impersonation, as upstream's WithImpersonation filter: `Impersonate-User`,
 * `Impersonate-Group`, `Impersonate-Uid` and `Impersonate-Extra-KEY` headers make the request
 * act as another user, provided the requester may `impersonate` each of them (users,
 * serviceaccounts, groups, uids, userextras/KEY).
 */
import { badRequest } from '../../api/errors.js';
import type { UserInfo } from '../objects.js';
import { forbiddenError } from './forbidden.js';
import type { Authorizer, RequestAttributes } from './types.js';

const EXTRA_PREFIX = 'impersonate-extra-';
const SA_PREFIX = 'system:serviceaccount:';

function values(v: string | undefined): string[] {
  // The HTTP layer joins repeated headers with ','; a group name never contains one.
  return v === undefined ? [] : v.split(',').map((s) => s.trim()).filter(Boolean);
}

function impersonateAttrs(user: UserInfo, resource: string, name: string, extra: Partial<RequestAttributes> = {}): RequestAttributes {
  return { user, verb: 'impersonate', resourceRequest: true, path: '', apiGroup: '', apiVersion: '', resource, subresource: '', namespace: '', name, ...extra };
}

/**
 * The user a request acts as: `requester` itself without impersonation headers, else the
 * impersonated user after checking each header with `authorizer`. Throws 400 for headers
 * without Impersonate-User, 403 with upstream's wording when one is not allowed.
 */
export async function impersonatedUser(headers: Record<string, string | undefined>, requester: UserInfo, authorizer: Authorizer | undefined): Promise<UserInfo> {
  const userName = headers['impersonate-user']?.trim();
  const groups = values(headers['impersonate-group']);
  const uid = headers['impersonate-uid']?.trim();
  const extra: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (!k.startsWith(EXTRA_PREFIX) || v === undefined) continue;
    let key = k.slice(EXTRA_PREFIX.length);
    try {
      key = decodeURIComponent(key);
    } catch {
      /* keep as sent */
    }
    extra[key.toLowerCase()] = values(v);
  }
  if (!userName) {
    if (groups.length || uid || Object.keys(extra).length) {
      throw badRequest(`requested [${[...groups.map((g) => `group ${g}`), ...(uid ? [`uid ${uid}`] : []), ...Object.keys(extra).map((k) => `extra ${k}`)].join(' ')}] without impersonating a user`);
    }
    return requester;
  }
  const checks: RequestAttributes[] = [];
  const out: UserInfo = { name: userName, groups: [...groups] };
  if (userName.startsWith(SA_PREFIX)) {
    const [ns, name] = userName.slice(SA_PREFIX.length).split(':');
    checks.push(impersonateAttrs(requester, 'serviceaccounts', name ?? '', { namespace: ns ?? '' }));
    // Upstream gives an impersonated ServiceAccount its groups unless groups were named.
    if (!groups.length) out.groups.push('system:serviceaccounts', `system:serviceaccounts:${ns}`);
  } else {
    checks.push(impersonateAttrs(requester, 'users', userName));
  }
  for (const g of groups) checks.push(impersonateAttrs(requester, 'groups', g));
  if (uid) {
    checks.push(impersonateAttrs(requester, 'uids', uid, { apiGroup: 'authentication.k8s.io' }));
    out.uid = uid;
  }
  for (const [k, vs] of Object.entries(extra)) {
    for (const v of vs) checks.push(impersonateAttrs(requester, 'userextras', v, { apiGroup: 'authentication.k8s.io', subresource: k }));
  }
  if (Object.keys(extra).length) out.extra = extra;
  if (authorizer) {
    for (const a of checks) {
      const r = await authorizer.authorize(a);
      if (r.decision !== 'allow') throw forbiddenError(a, r.reason);
    }
  }
  if (userName !== 'system:anonymous' && !out.groups.includes('system:authenticated')) out.groups.push('system:authenticated');
  return out;
}
