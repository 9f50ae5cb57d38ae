/**
 * The Node authorizer, after upstream plugin/pkg/auth/authorizer/node: a node
 * (`system:node:NAME` in `system:nodes`) may read a Secret, ConfigMap, PersistentVolumeClaim or
 * PersistentVolume, or request a ServiceAccount token, only when a pod bound to it uses that
 * object (node ← pod ← secret/configmap/pvc/serviceaccount, node ← pod ← pvc ← pv); its Lease
 * only under its own name in kube-node-lease; its own Node object for reads. Writes to nodes
 * and pods are allowed here and narrowed by NodeRestriction admission
 * (admission/node-restriction.ts), as upstream splits them.
 *
 * The edges are read from the API server's watch cache when asked (upstream keeps a graph fed
 * by informers; the cache is the same data, already in memory). Anything else is left to the
 * static node rules (`system:node`'s, given by the chain's owner) or to the next authorizer.
 */
import type { Obj, Registry } from '../../api/registry.js';
import type { UserInfo } from '../objects.js';
import type { WatchCache } from '../watch-cache.js';
import type { AuthorizationResult, Authorizer, RequestAttributes } from './types.js';

export const NODE_USER_PREFIX = 'system:node:';
export const NODES_GROUP = 'system:nodes';
const NODE_LEASE_NAMESPACE = 'kube-node-lease';

/** Upstream's nodeidentifier: whether the user is a node, and which one ('' when it cannot tell). */
export function nodeIdentity(user: UserInfo): { isNode: boolean; nodeName: string } {
  if (!user.name.startsWith(NODE_USER_PREFIX) || !user.groups.includes(NODES_GROUP)) return { isNode: false, nodeName: '' };
  return { isNode: true, nodeName: user.name.slice(NODE_USER_PREFIX.length) };
}

/** What a pod spec references, by kind: every place upstream's graph populator reads. */
export interface PodReferences {
  secrets: Set<string>;
  configMaps: Set<string>;
  claims: Set<string>;
  serviceAccount: string;
}

/** The Secrets, ConfigMaps, PVCs and ServiceAccount a pod uses (volumes, env, envFrom, image pull secrets). */
export function podReferences(pod: { metadata?: { name?: string }; spec?: unknown }): PodReferences {
  const spec = (pod.spec ?? {}) as Obj;
  const refs: PodReferences = { secrets: new Set(), configMaps: new Set(), claims: new Set(), serviceAccount: (spec.serviceAccountName as string) || 'default' };
  const add = (set: Set<string>, name: unknown) => {
    if (typeof name === 'string' && name) set.add(name);
  };
  for (const s of (spec.imagePullSecrets ?? []) as Obj[]) add(refs.secrets, s?.name);
  for (const c of [...((spec.initContainers ?? []) as Obj[]), ...((spec.containers ?? []) as Obj[]), ...((spec.ephemeralContainers ?? []) as Obj[])]) {
    for (const e of (c?.env ?? []) as Obj[]) {
      add(refs.secrets, e?.valueFrom?.secretKeyRef?.name);
      add(refs.configMaps, e?.valueFrom?.configMapKeyRef?.name);
    }
    for (const e of (c?.envFrom ?? []) as Obj[]) {
      add(refs.secrets, e?.secretRef?.name);
      add(refs.configMaps, e?.configMapRef?.name);
    }
  }
  for (const v of (spec.volumes ?? []) as Obj[]) {
    if (!v) continue;
    add(refs.secrets, v.secret?.secretName);
    add(refs.configMaps, v.configMap?.name);
    for (const src of (v.projected?.sources ?? []) as Obj[]) {
      add(refs.secrets, src?.secret?.name);
      add(refs.configMaps, src?.configMap?.name);
    }
    add(refs.claims, v.persistentVolumeClaim?.claimName);
    // A generic ephemeral volume's claim is named <pod>-<volume>.
    if (v.ephemeral && pod.metadata?.name) add(refs.claims, `${pod.metadata.name}-${v.name}`);
    // Volume plugins that take credentials name them in secretRef (csi: nodePublishSecretRef).
    for (const src of Object.values(v) as Obj[]) {
      if (src && typeof src === 'object') {
        add(refs.secrets, src.secretRef?.name);
        add(refs.secrets, src.nodePublishSecretRef?.name);
      }
    }
  }
  return refs;
}

export interface NodeAuthorizerOptions {
  cache: WatchCache;
  registry: Registry;
  /**
   * The static rules every node gets for resources the graph does not subdivide (upstream's
   * `system:node` rules evaluated with RBAC's RulesAllow). Without it those requests get no
   * opinion here and the next authorizer decides.
   */
  nodeRulesAllow?: (attrs: RequestAttributes) => boolean;
}

const NO_OPINION: AuthorizationResult = { decision: 'noOpinion' };
const ALLOW: AuthorizationResult = { decision: 'allow' };

export class NodeAuthorizer implements Authorizer {
  constructor(private readonly o: NodeAuthorizerOptions) {}

  authorize(attrs: RequestAttributes): AuthorizationResult {
    const { isNode, nodeName } = nodeIdentity(attrs.user);
    if (!isNode) return NO_OPINION;
    if (!nodeName) return { decision: 'noOpinion', reason: `unknown node for user "${attrs.user.name}"` };
    if (attrs.resourceRequest) {
      const decided = this.subdivided(nodeName, attrs);
      if (decided) return decided;
    }
    return this.o.nodeRulesAllow?.(attrs) ? ALLOW : NO_OPINION;
  }

  /** The resources whose access depends on the node's pods; undefined for the rest. */
  private subdivided(nodeName: string, a: RequestAttributes): AuthorizationResult | undefined {
    const gr = `${a.apiGroup}/${a.resource}`;
    switch (gr) {
      case '/secrets':
      case '/configmaps':
        return this.readNamespacedObject(nodeName, a);
      case '/persistentvolumeclaims':
        if (a.subresource === 'status') return this.statusUpdate(nodeName, a);
        return this.get(nodeName, a);
      case '/persistentvolumes':
        return this.get(nodeName, a);
      case '/serviceaccounts':
        return this.createToken(nodeName, a);
      case 'coordination.k8s.io/leases':
        return this.lease(nodeName, a);
      case '/nodes':
        return this.node(nodeName, a);
      case '/pods':
        return this.pod(nodeName, a);
      default:
        return undefined;
    }
  }

  private statusUpdate(nodeName: string, a: RequestAttributes): AuthorizationResult {
    if (a.verb !== 'update' && a.verb !== 'patch') return { decision: 'noOpinion', reason: 'can only get/update/patch this type' };
    return this.related(nodeName, a);
  }

  private get(nodeName: string, a: RequestAttributes): AuthorizationResult {
    if (a.verb !== 'get') return { decision: 'noOpinion', reason: 'can only get individual resources of this type' };
    if (a.subresource) return { decision: 'noOpinion', reason: 'cannot get subresource' };
    return this.related(nodeName, a);
  }

  private readNamespacedObject(nodeName: string, a: RequestAttributes): AuthorizationResult {
    if (!['get', 'list', 'watch'].includes(a.verb)) return { decision: 'noOpinion', reason: 'can only read resources of this type' };
    if (a.subresource) return { decision: 'noOpinion', reason: 'cannot read subresource' };
    if (!a.namespace) return { decision: 'noOpinion', reason: 'can only read namespaced object of this type' };
    return this.related(nodeName, a);
  }

  private createToken(nodeName: string, a: RequestAttributes): AuthorizationResult {
    if (a.verb !== 'create' || !a.name) return { decision: 'noOpinion', reason: 'can only create tokens for individual service accounts' };
    if (a.subresource !== 'token') return { decision: 'noOpinion', reason: 'can only create token subresource of serviceaccount' };
    return this.related(nodeName, a);
  }

  private lease(nodeName: string, a: RequestAttributes): AuthorizationResult {
    if (!['get', 'create', 'update', 'patch', 'delete'].includes(a.verb)) return { decision: 'noOpinion', reason: 'can only get, create, update, patch, or delete a node lease' };
    if (a.namespace !== NODE_LEASE_NAMESPACE) return { decision: 'noOpinion', reason: `can only access leases in the "${NODE_LEASE_NAMESPACE}" system namespace` };
    // The name of a create is not known here; NodeRestriction checks it.
    if (a.verb !== 'create' && a.name !== nodeName) return { decision: 'noOpinion', reason: 'can only access node lease with the same name as the requesting node' };
    return ALLOW;
  }

  private node(nodeName: string, a: RequestAttributes): AuthorizationResult | undefined {
    if (a.subresource === '') {
      // Writes are narrowed to the node's own object by NodeRestriction.
      if (['create', 'update', 'patch'].includes(a.verb)) return ALLOW;
      if (a.verb === 'get' && a.name === nodeName) return ALLOW;
    } else if (a.subresource === 'status' && (a.verb === 'update' || a.verb === 'patch')) {
      return ALLOW;
    }
    // Lists, watches and other nodes fall to the static rules: an agent watches every Node for
    // the service proxy and the pod network (upstream 1.32 narrows reads only behind a feature gate).
    return undefined;
  }

  private pod(nodeName: string, a: RequestAttributes): AuthorizationResult | undefined {
    if (a.subresource === '') {
      if (a.verb === 'get' && a.name) {
        const pod = this.o.cache.get(this.def('', 'Pod'), a.namespace, a.name);
        if (pod && (pod.obj.spec as { nodeName?: string } | undefined)?.nodeName === nodeName) return ALLOW;
        return undefined;
      }
      // Mirror pods; NodeRestriction allows only those bound to the node.
      if (a.verb === 'create' || a.verb === 'delete') return ALLOW;
    } else if (a.subresource === 'status' && (a.verb === 'update' || a.verb === 'patch')) {
      return ALLOW;
    } else if (a.subresource === 'eviction' && a.verb === 'create') {
      return ALLOW;
    }
    return undefined;
  }

  /** Allow when a path leads from the requested object to the node, else upstream's reason. */
  private related(nodeName: string, a: RequestAttributes): AuthorizationResult {
    if (!a.name) return { decision: 'noOpinion', reason: 'No Object name found' };
    return this.hasPath(nodeName, a.resource, a.namespace, a.name)
      ? ALLOW
      : { decision: 'noOpinion', reason: `no relationship found between node '${nodeName}' and this object` };
  }

  private def(group: string, kind: string) {
    return this.o.registry.byKind(group, kind)!;
  }

  private hasPath(nodeName: string, resource: string, namespace: string, name: string): boolean {
    const { cache } = this.o;
    if (!cache.get(this.def('', 'Node'), '', nodeName)) return false;
    if (resource === 'persistentvolumes') {
      // node ← pod ← pvc ← pv: the claims bound to this volume, then their pods.
      for (const pvc of cache.list(this.def('', 'PersistentVolumeClaim'), '')) {
        if ((pvc.obj.spec as { volumeName?: string } | undefined)?.volumeName === name && this.podUses(nodeName, pvc.namespace, (r) => r.claims.has(pvc.name))) return true;
      }
      return false;
    }
    const uses: Record<string, (r: PodReferences) => boolean> = {
      secrets: (r) => r.secrets.has(name),
      configmaps: (r) => r.configMaps.has(name),
      persistentvolumeclaims: (r) => r.claims.has(name),
      serviceaccounts: (r) => r.serviceAccount === name,
    };
    const test = uses[resource];
    return !!test && this.podUses(nodeName, namespace, test);
  }

  /** Whether a pod of `namespace` bound to the node references what `test` looks for. */
  private podUses(nodeName: string, namespace: string, test: (r: PodReferences) => boolean): boolean {
    for (const pod of this.o.cache.list(this.def('', 'Pod'), namespace)) {
      if ((pod.obj.spec as { nodeName?: string } | undefined)?.nodeName !== nodeName) continue;
      if (test(podReferences(pod.obj))) return true;
    }
    return false;
  }
}
