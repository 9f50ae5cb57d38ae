/**
 * The token APIs of authentication.k8s.io/v1: TokenRequest (`serviceaccounts/NAME/token`)
 * issues a signed, expiring service-account token, optionally bound to a Pod (and through it
 * to its Node), as upstream's TokenREST; TokenReview (`tokenreviews`, create-only, nothing
 * stored) says whom a token authenticates, as upstream's TokenReview REST.
 */
import { badRequest, fieldErrors, forbidden, invalid, notFound, StatusError } from '../../api/errors.js';
import type { UserInfo } from '../objects.js';
import { nodeIdentity } from '../authz/node.js';
import type { KObject, Registry } from '../../api/registry.js';
import { rfc3339 } from '../../api/meta.js';
import type { WatchCache } from '../watch-cache.js';
import { SERVICE_ACCOUNT_ISSUER, signServiceAccountToken, type Pki } from '../pki.js';
import type { Authenticator } from './authenticator.js';

/** Upstream's bounds on spec.expirationSeconds. */
const MIN_EXPIRATION_S = 600;
const MAX_EXPIRATION_S = 2 ** 32;

interface TokenRequestSpec {
  audiences?: string[];
  expirationSeconds?: number;
  boundObjectRef?: { kind?: string; apiVersion?: string; name?: string; uid?: string };
}

export class TokenApi {
  constructor(
    private readonly o: {
      pki: Pick<Pki, 'saPrivateKey' | 'saPublicKey'>;
      cache: WatchCache;
      registry: Registry;
      authenticator: Authenticator;
      now?: () => number;
    },
  ) {}

  private now(): number {
    return this.o.now ? this.o.now() : Date.now();
  }

  /** POST serviceaccounts/NAME/token: the TokenRequest with `status.token` filled in. */
  async issue(namespace: string, name: string, req: KObject, user?: UserInfo): Promise<KObject> {
    const { cache, registry } = this.o;
    if (user) this.admitNodeTokenRequest(namespace, name, req, user);
    const sa = cache.get(registry.byKind('', 'ServiceAccount')!, namespace, name);
    if (!sa) throw notFound({ group: '', resource: 'serviceaccounts' }, name);
    const spec = (req.spec ?? {}) as TokenRequestSpec;
    const exp = spec.expirationSeconds ?? 3600;
    if (!Number.isInteger(exp) || exp < MIN_EXPIRATION_S) {
      throw invalid('authentication.k8s.io', 'TokenRequest', name, [fieldErrors.invalid('spec.expirationSeconds', exp, 'may not specify a duration less than 10 minutes')]);
    }
    if (exp > MAX_EXPIRATION_S) {
      throw invalid('authentication.k8s.io', 'TokenRequest', name, [fieldErrors.invalid('spec.expirationSeconds', exp, 'may not specify a duration larger than 2^32 seconds')]);
    }
    let pod: { name: string; uid?: string; nodeName?: string } | undefined;
    const bound = spec.boundObjectRef;
    if (bound) {
      if (bound.kind !== 'Pod') throw badRequest(`cannot bind token for serviceaccount "${name}" to a ${bound.kind ?? ''}; only Pod is supported`);
      const found = cache.get(registry.byKind('', 'Pod')!, namespace, bound.name ?? '');
      if (!found) throw notFound({ group: '', resource: 'pods' }, bound.name ?? '');
      const uid = found.obj.metadata?.uid;
      if (bound.uid && uid !== bound.uid) {
        throw new StatusError(409, 'Conflict', `the UID in the bound object reference (${bound.uid}) does not match the UID in record. The object might have been deleted and then recreated`);
      }
      const podSa = (found.obj.spec as { serviceAccountName?: string } | undefined)?.serviceAccountName ?? 'default';
      if (podSa !== name) throw badRequest(`cannot bind token for serviceaccount "${name}" to pod running with different serviceaccount name.`);
      pod = { name: found.name, uid, nodeName: (found.obj.spec as { nodeName?: string } | undefined)?.nodeName };
    }
    const node = pod?.nodeName ? cache.get(registry.byKind('', 'Node')!, '', pod.nodeName) : undefined;
    const now = this.now();
    const token = await signServiceAccountToken(this.o.pki, {
      namespace,
      serviceAccountName: name,
      serviceAccountUid: sa.obj.metadata!.uid!,
      podName: pod?.name,
      podUid: pod?.uid,
      nodeName: node ? node.name : undefined,
      nodeUid: node?.obj.metadata?.uid,
      audiences: spec.audiences?.length ? spec.audiences : undefined,
      expirationSeconds: exp,
    }, new Date(now));
    return {
      kind: 'TokenRequest',
      apiVersion: 'authentication.k8s.io/v1',
      metadata: { name, namespace, creationTimestamp: rfc3339(now) },
      spec: { ...spec, audiences: spec.audiences?.length ? spec.audiences : [SERVICE_ACCOUNT_ISSUER], expirationSeconds: exp },
      status: { token, expirationTimestamp: rfc3339(now + exp * 1000) },
    };
  }

  /**
   * NodeRestriction for TokenRequests: a node may only request tokens bound (with uid) to a pod
   * scheduled on it, so a token never outlives the pod the node runs (upstream's admitServiceAccount).
   */
  private admitNodeTokenRequest(namespace: string, name: string, req: KObject, user: UserInfo): void {
    const { isNode, nodeName } = nodeIdentity(user);
    if (!isNode) return;
    const deny = (why: string): never => {
      throw forbidden({ group: '', resource: 'serviceaccounts' }, name, why);
    };
    const ref = ((req.spec ?? {}) as TokenRequestSpec).boundObjectRef;
    if (!ref || ref.apiVersion !== 'v1' || ref.kind !== 'Pod' || !ref.name) deny('node requested token not bound to a pod');
    if (!ref!.uid) deny('node requested token with a pod binding without a uid');
    const pod = this.o.cache.get(this.o.registry.byKind('', 'Pod')!, namespace, ref!.name!);
    if (!pod) throw notFound({ group: '', resource: 'pods' }, ref!.name!);
    if (pod.obj.metadata?.uid !== ref!.uid) deny(`the UID in the bound object reference (${ref!.uid}) does not match the UID in record. The object might have been deleted and then recreated`);
    if ((pod.obj.spec as { nodeName?: string } | undefined)?.nodeName !== nodeName) deny('node requested token bound to a pod scheduled on a different node');
  }

  /** POST tokenreviews: whether `spec.token` authenticates, and as whom. */
  async review(req: KObject): Promise<KObject> {
    const meta = (req.metadata ?? {}) as { namespace?: string };
    if (meta.namespace) throw badRequest('namespace is not allowed on this type');
    const spec = (req.spec ?? {}) as { token?: unknown; audiences?: unknown };
    if (typeof spec.token !== 'string' || !spec.token) throw badRequest('token is required for TokenReview in authentication');
    const wanted = Array.isArray(spec.audiences) && spec.audiences.length ? spec.audiences.map(String) : [SERVICE_ACCOUNT_ISSUER];
    const user = await this.o.authenticator.authenticateToken(spec.token, wanted);
    const status = user
      ? {
          authenticated: true,
          user: { username: user.name, ...(user.uid ? { uid: user.uid } : {}), groups: user.groups, ...(user.extra && Object.keys(user.extra).length ? { extra: user.extra } : {}) },
          audiences: wanted,
        }
      : { user: {} };
    return {
      kind: 'TokenReview',
      apiVersion: 'authentication.k8s.io/v1',
      metadata: {},
      spec: { token: spec.token, ...(Array.isArray(spec.audiences) ? { audiences: spec.audiences } : {}) },
      status,
    };
  }
}
