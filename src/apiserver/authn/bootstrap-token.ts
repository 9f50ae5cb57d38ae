/**
 * Bootstrap tokens, as upstream's bootstrap token authenticator: `<id>.<secret>` (6 and 16
 * characters of [a-z0-9]) matching a Secret `kube-system/bootstrap-token-<id>` of type
 * `bootstrap.kubernetes.io/token` that allows authentication and has not expired. The user is
 * `system:bootstrap:<id>` in `system:bootstrappers` plus the Secret's `auth-extra-groups`.
 */
import { timingSafeEqual } from 'node:crypto';
import type { Registry } from '../../api/registry.js';
import type { UserInfo } from '../objects.js';
import type { WatchCache } from '../watch-cache.js';

export const BOOTSTRAP_TOKEN_SECRET_TYPE = 'bootstrap.kubernetes.io/token';
export const BOOTSTRAP_TOKEN_SECRET_PREFIX = 'bootstrap-token-';
export const BOOTSTRAPPERS_GROUP = 'system:bootstrappers';
export const BOOTSTRAP_USER_PREFIX = 'system:bootstrap:';

const TOKEN_RE = /^([a-z0-9]{6})\.([a-z0-9]{16})$/;
const EXTRA_GROUP_RE = /^system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]$/;

/** Whether `token` has the bootstrap token shape. */
export function isBootstrapToken(token: string): boolean {
  return TOKEN_RE.test(token);
}

/** The Secret that makes `<id>.<secret>` a bootstrap token able to authenticate (never expiring). */
export function bootstrapTokenSecret(token: string, description: string): Record<string, unknown> {
  const m = TOKEN_RE.exec(token);
  if (!m) throw new Error('a bootstrap token is <6 of [a-z0-9]>.<16 of [a-z0-9]>');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: BOOTSTRAP_TOKEN_SECRET_PREFIX + m[1], namespace: 'kube-system' },
    type: BOOTSTRAP_TOKEN_SECRET_TYPE,
    stringData: { description, 'token-id': m[1], 'token-secret': m[2], 'usage-bootstrap-authentication': 'true', 'usage-bootstrap-signing': 'true' },
  };
}

function field(data: Record<string, string> | undefined, key: string): string | undefined {
  const v = data?.[key];
  return v === undefined ? undefined : Buffer.from(v, 'base64').toString('utf8');
}

/** The user a bootstrap token authenticates, or undefined when it is not a valid one. */
export function bootstrapTokenUser(token: string, cache: WatchCache, registry: Registry, now: number): Omit<UserInfo, 'groups'> & { groups: string[] } | undefined {
  const m = TOKEN_RE.exec(token);
  if (!m) return undefined;
  const [, id, secret] = m;
  const secretDef = registry.byKind('', 'Secret')!;
  const obj = cache.get(secretDef, 'kube-system', BOOTSTRAP_TOKEN_SECRET_PREFIX + id)?.obj as
    | { type?: string; data?: Record<string, string>; metadata?: { deletionTimestamp?: string } }
    | undefined;
  if (!obj || obj.type !== BOOTSTRAP_TOKEN_SECRET_TYPE || obj.metadata?.deletionTimestamp) return undefined;
  if (field(obj.data, 'token-id') !== id) return undefined;
  const stored = Buffer.from(field(obj.data, 'token-secret') ?? '');
  const given = Buffer.from(secret);
  if (stored.length !== given.length || !timingSafeEqual(stored, given)) return undefined;
  if (field(obj.data, 'usage-bootstrap-authentication') !== 'true') return undefined;
  const expiration = field(obj.data, 'expiration');
  if (expiration && !(Date.parse(expiration) > now)) return undefined;
  const extra = (field(obj.data, 'auth-extra-groups') ?? '').split(',').map((g) => g.trim()).filter((g) => EXTRA_GROUP_RE.test(g));
  return { name: BOOTSTRAP_USER_PREFIX + id, groups: [BOOTSTRAPPERS_GROUP, ...extra] };
}
