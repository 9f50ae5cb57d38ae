/**
 * Request authentication, as upstream's union authenticator: an X.509 client certificate
 * signed by the cluster CA first, then a bearer token — the admin token, a bootstrap token
 * (`system:bootstrap:<id>`), or a service-account JWT still bound to live objects. Every
 * authenticated user is also in `system:authenticated`.
 */
import { timingSafeEqual } from 'node:crypto';
import type { Registry } from '../../api/registry.js';
import { subjectIdentity } from '../../client/cert.js';
import type { UserInfo } from '../objects.js';
import type { ApiRequest } from '../request.js';
import type { WatchCache } from '../watch-cache.js';
import { SERVICE_ACCOUNT_ISSUER, verifyLegacyServiceAccountToken, verifyServiceAccountToken, type Pki } from '../pki.js';
import { bootstrapTokenUser, BOOTSTRAPPERS_GROUP } from './bootstrap-token.js';
import { StatusError } from '../../api/errors.js';

/** The extended key usage a client certificate must allow (id-kp-clientAuth). */
export const CLIENT_AUTH_OID = '1.3.6.1.5.5.7.3.2';

export const AUTHENTICATED_GROUP = 'system:authenticated';

const CSR_PATH = '/apis/certificates.k8s.io/v1/certificatesigningrequests';

/**
 * What a bootstrap token may do (upstream's system:node-bootstrapper role): discovery, and
 * create/get/list/watch CertificateSigningRequests. Enforced here until RBAC carries the role.
 */
export function bootstrapMayCall(method: string, path: string): boolean {
  const p = path.replace(/\/$/, '');
  if (['/api', '/apis', '/version', '/apis/certificates.k8s.io', '/apis/certificates.k8s.io/v1'].includes(p)) return method === 'GET';
  if (p === CSR_PATH) return method === 'GET' || method === 'POST';
  return p.startsWith(CSR_PATH + '/') && !p.slice(CSR_PATH.length + 1).includes('/') && method === 'GET';
}

/** The user of a verified client certificate: CN the name, O the groups; undefined without CN or clientAuth usage. */
export function x509User(cert: NonNullable<ApiRequest['clientCertificate']>): UserInfo | undefined {
  if (!cert.extKeyUsage.includes(CLIENT_AUTH_OID)) return undefined;
  const { user, groups } = subjectIdentity(cert.subject);
  if (!user) return undefined;
  return { name: user, groups: withAuthenticated(groups) };
}

function withAuthenticated(groups: string[]): string[] {
  return groups.includes(AUTHENTICATED_GROUP) ? groups : [...groups, AUTHENTICATED_GROUP];
}

export interface AuthenticatorOptions {
  pki: Pick<Pki, 'adminToken' | 'saPublicKey'>;
  cache: WatchCache;
  registry: Registry;
  adminUser: UserInfo;
  now?: () => number;
}

export class Authenticator {
  constructor(private readonly o: AuthenticatorOptions) {}

  /** The request's user, or undefined (401). */
  async authenticate(req: ApiRequest): Promise<UserInfo | undefined> {
    if (req.clientCertificate) {
      const user = x509User(req.clientCertificate);
      if (user) return user;
    }
    const auth = req.headers['authorization'] ?? websocketBearer(req.headers['sec-websocket-protocol']);
    if (!auth?.startsWith('Bearer ')) return undefined;
    const user = await this.authenticateToken(auth.slice(7).trim());
    if (user?.groups.includes(BOOTSTRAPPERS_GROUP) && !bootstrapMayCall(req.method, req.path)) {
      throw new StatusError(403, 'Forbidden', `forbidden: User "${user.name}" cannot ${req.method.toLowerCase()} path "${req.path}": a bootstrap token may only create and read CertificateSigningRequests`);
    }
    return user;
  }

  /**
   * A bearer token's user (also what TokenReview answers), or undefined. A service-account
   * token must be meant for one of `audiences` (default: this API server, as upstream's
   * `--api-audiences`), so a token minted for another service is no API credential.
   */
  async authenticateToken(raw: string, audiences: string[] = [SERVICE_ACCOUNT_ISSUER]): Promise<UserInfo | undefined> {
    const token = Buffer.from(raw);
    const admin = Buffer.from(this.o.pki.adminToken);
    if (token.length === admin.length && timingSafeEqual(token, admin)) return this.o.adminUser;
    const boot = bootstrapTokenUser(raw, this.o.cache, this.o.registry, this.now());
    if (boot) return { ...boot, groups: withAuthenticated(boot.groups) };
    if (raw.split('.').length !== 3) return undefined;
    // A service-account JWT: valid signature and time, and still bound to live objects.
    const sa = await verifyServiceAccountToken(this.o.pki, raw, new Date(this.now()), audiences);
    if (!sa) return this.legacyToken(raw);
    const [, , ns, name] = sa.username.split(':');
    const saObj = this.o.cache.get(this.o.registry.byKind('', 'ServiceAccount')!, ns, name);
    if (!saObj || saObj.obj.metadata?.uid !== sa.uid) return undefined;
    const podName = sa.extra['authentication.kubernetes.io/pod-name']?.[0];
    const podUid = sa.extra['authentication.kubernetes.io/pod-uid']?.[0];
    if (podName) {
      const pod = this.o.cache.get(this.o.registry.byKind('', 'Pod')!, ns, podName);
      if (!pod || pod.obj.metadata?.uid !== podUid || pod.obj.metadata?.deletionTimestamp) return undefined;
    }
    return { name: sa.username, uid: sa.uid, groups: withAuthenticated(sa.groups), extra: sa.extra };
  }

  /** A Secret-based token: valid while its Secret still holds it and its ServiceAccount (same uid) exists. */
  private async legacyToken(raw: string): Promise<UserInfo | undefined> {
    const c = await verifyLegacyServiceAccountToken(this.o.pki, raw);
    if (!c) return undefined;
    const { cache, registry } = this.o;
    const secret = cache.get(registry.byKind('', 'Secret')!, c.namespace, c.secretName)?.obj as { data?: Record<string, string>; metadata?: { deletionTimestamp?: string } } | undefined;
    if (!secret || secret.metadata?.deletionTimestamp || Buffer.from(secret.data?.token ?? '', 'base64').toString() !== raw) return undefined;
    const sa = cache.get(registry.byKind('', 'ServiceAccount')!, c.namespace, c.serviceAccountName);
    if (!sa || sa.obj.metadata?.uid !== c.serviceAccountUid || sa.obj.metadata?.deletionTimestamp) return undefined;
    return {
      name: `system:serviceaccount:${c.namespace}:${c.serviceAccountName}`,
      uid: c.serviceAccountUid,
      groups: ['system:serviceaccounts', `system:serviceaccounts:${c.namespace}`, AUTHENTICATED_GROUP],
    };
  }

  private now(): number {
    return this.o.now ? this.o.now() : Date.now();
  }
}

/** The WebSocket subprotocol that carries a bearer token for clients that cannot set headers (browsers), as upstream's. */
export const WEBSOCKET_BEARER_PREFIX = 'base64url.bearer.authorization.k8s.io.';

/** `Bearer TOKEN` from a `base64url.bearer.authorization.k8s.io.<base64url(TOKEN)>` subprotocol, if offered. */
function websocketBearer(protocols: string | undefined): string | undefined {
  const p = protocols?.split(',').map((s) => s.trim()).find((s) => s.startsWith(WEBSOCKET_BEARER_PREFIX));
  if (!p) return undefined;
  const token = Buffer.from(p.slice(WEBSOCKET_BEARER_PREFIX.length), 'base64url').toString('utf8');
  return token ? `Bearer ${token}` : undefined;
}
