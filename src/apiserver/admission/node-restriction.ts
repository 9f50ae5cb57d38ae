/**
 * NodeRestriction admission, after upstream plugin/pkg/admission/noderestriction: what a node
 * (`system:node:NAME` in `system:nodes`) writes is limited to its own Node (no
 * `node-restriction.kubernetes.io/` labels, no unknown kubernetes.io labels, no taint changes),
 * its own Lease, status of pods bound to it, mirror pods bound to it that reference nothing, and
 * deletions of its own pods. Messages are upstream's, word for word.
 *
 * One rule beyond upstream (issue 11, item 8): the agent endpoint a Node advertises
 * (`status.addresses`, `status.daemonEndpoints`) is where the API server connects for logs and
 * exec, so only that node itself (or `system:masters`) may set or change it.
 */
import { forbidden } from '../../api/errors.js';
import type { KObject, Obj, Registry, ResourceDef } from '../../api/registry.js';
import { nodeIdentity, podReferences } from '../authz/node.js';
import type { AdmissionPlugin, UserInfo } from '../objects.js';
import type { WatchCache } from '../watch-cache.js';

const MIRROR_POD_ANNOTATION = 'kubernetes.io/config.mirror';
const NODE_LEASE_NAMESPACE = 'kube-node-lease';
const NODE_RESTRICTION_LABEL_NAMESPACE = 'node-restriction.kubernetes.io';

/** Labels a kubelet may set on its Node (upstream kubeletapis.IsKubeletLabel). */
const KUBELET_LABELS = new Set([
  'kubernetes.io/hostname', 'kubernetes.io/arch', 'kubernetes.io/os',
  'beta.kubernetes.io/arch', 'beta.kubernetes.io/os', 'beta.kubernetes.io/instance-type',
  'node.kubernetes.io/instance-type', 'topology.kubernetes.io/region', 'topology.kubernetes.io/zone',
  'failure-domain.beta.kubernetes.io/region', 'failure-domain.beta.kubernetes.io/zone',
]);
const KUBELET_LABEL_NAMESPACES = ['kubelet.kubernetes.io', 'node.kubernetes.io'];

function labelNamespace(key: string): string {
  const i = key.indexOf('/');
  return i < 0 ? '' : key.slice(0, i);
}

function isKubeletLabel(key: string): boolean {
  if (KUBELET_LABELS.has(key)) return true;
  const ns = labelNamespace(key);
  return KUBELET_LABEL_NAMESPACES.some((k) => ns === k || ns.endsWith(`.${k}`));
}

function isKubernetesLabel(key: string): boolean {
  const ns = labelNamespace(key);
  return ns === 'kubernetes.io' || ns.endsWith('.kubernetes.io') || ns === 'k8s.io' || ns.endsWith('.k8s.io');
}

/** Label keys that differ between `a` and `b`. */
function modifiedLabels(a: Record<string, string> = {}, b: Record<string, string> = {}): string[] {
  const keys = new Set<string>();
  for (const [k, v] of Object.entries(a)) if (b[k] !== v) keys.add(k);
  for (const [k, v] of Object.entries(b)) if (a[k] !== v) keys.add(k);
  return [...keys];
}

/** The modified labels a node may not set: node-restriction ones and kubernetes.io/k8s.io ones kubelets do not own. */
export function forbiddenNodeLabels(modified: string[]): string[] {
  const out = modified.filter((l) => {
    const ns = labelNamespace(l);
    if (ns === NODE_RESTRICTION_LABEL_NAMESPACE || ns.endsWith(`.${NODE_RESTRICTION_LABEL_NAMESPACE}`)) return true;
    return isKubernetesLabel(l) && !isKubeletLabel(l);
  });
  return [...new Set(out)].sort();
}

function jsonEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

/** The part of a Node's status the API server trusts to reach its agent. */
function agentEndpoint(node: KObject | undefined): unknown {
  const st = (node?.status ?? {}) as Obj;
  return { addresses: st.addresses ?? [], daemonEndpoints: st.daemonEndpoints ?? {} };
}

const gr = (def: ResourceDef) => ({ group: def.group, resource: def.plural });

export function nodeRestrictionAdmission(o: { cache: WatchCache; registry: Registry }): AdmissionPlugin {
  const nodes = (def: ResourceDef) => def.group === '' && def.kind === 'Node';
  return (op, def, obj, old, ctx) => {
    const { isNode, nodeName } = nodeIdentity(ctx.user);
    if (!isNode) {
      if (nodes(def) && op !== 'DELETE') guardAgentEndpoint(ctx.user, def, obj, old);
      return;
    }
    const name = obj.metadata?.name ?? '';
    const deny = (why: string): never => {
      throw forbidden(gr(def), name, why);
    };
    if (!nodeName) deny(`could not determine node from user "${ctx.user.name}"`);
    const kind = `${def.group}/${def.kind}`;
    const sub = ctx.subresource ?? '';
    switch (kind) {
      case '/Pod':
        if (sub === 'status') return admitPodStatus(nodeName, op, obj, old, deny);
        if (sub === '') return admitPod(nodeName, op, obj, old, deny, o.cache, o.registry);
        return deny(`unexpected pod subresource "${sub}", only 'status' and 'eviction' are allowed`);
      case '/Node':
        return admitNode(nodeName, op, obj, old, deny);
      case '/PersistentVolumeClaim':
        if (sub !== 'status') return deny('may only update PVC status');
        return;
      case 'coordination.k8s.io/Lease':
        if (obj.metadata?.namespace !== NODE_LEASE_NAMESPACE && (old?.metadata?.namespace ?? obj.metadata?.namespace) !== NODE_LEASE_NAMESPACE) {
          return deny(`can only access leases in the "${NODE_LEASE_NAMESPACE}" system namespace`);
        }
        if (name !== nodeName) return deny('can only access node lease with the same name as the requesting node');
        return;
      default:
        return;
    }
  };
}

function guardAgentEndpoint(user: UserInfo, def: ResourceDef, obj: KObject, old: KObject | undefined): void {
  if (user.groups.includes('system:masters')) return;
  const before = old ? agentEndpoint(old) : agentEndpoint(undefined);
  if (jsonEqual(agentEndpoint(obj), before)) return;
  throw forbidden(gr(def), obj.metadata?.name ?? '', `user "${user.name}" is not allowed to set status.addresses or status.daemonEndpoints: only the node itself reports where its agent is reached`);
}

function admitPod(nodeName: string, op: string, obj: KObject, old: KObject | undefined, deny: (why: string) => never, cache: WatchCache, registry: Registry): void {
  if (op === 'DELETE') {
    if ((((old ?? obj).spec ?? {}) as Obj).nodeName !== nodeName) deny(`node "${nodeName}" can only delete pods with spec.nodeName set to itself`);
    return;
  }
  if (op !== 'CREATE') deny(`unexpected operation "${op}", node "${nodeName}" can only create and delete mirror pods`);
  const spec = (obj.spec ?? {}) as Obj;
  if (!Object.hasOwn(obj.metadata?.annotations ?? {}, MIRROR_POD_ANNOTATION)) {
    deny(`pod does not have "${MIRROR_POD_ANNOTATION}" annotation, node "${nodeName}" can only create mirror pods`);
  }
  if (spec.nodeName !== nodeName) deny(`node "${nodeName}" can only create pods with spec.nodeName set to itself`);
  const owners = (obj.metadata?.ownerReferences ?? []) as Obj[];
  if (owners.length > 1) deny(`node "${nodeName}" can only create pods with a single owner reference set to itself`);
  const owner = owners[0];
  if (!owner || owner.apiVersion !== 'v1' || owner.kind !== 'Node' || owner.name !== nodeName) {
    deny(`node "${nodeName}" can only create pods with an owner reference set to itself`);
  }
  if (!owner.controller) deny(`node "${nodeName}" can only create pods with a controller owner reference set to itself`);
  if (owner.blockOwnerDeletion) deny(`node "${nodeName}" must not set blockOwnerDeletion on an owner reference`);
  const node = cache.get(registry.byKind('', 'Node')!, '', nodeName);
  const uid = node?.obj.metadata?.uid;
  if (owner.uid !== uid) deny(`node ${nodeName} UID mismatch: expected ${owner.uid} got ${uid}`);
  if (spec.serviceAccountName) deny(`node "${nodeName}" can not create pods that reference a service account`);
  const refs = podReferences(obj);
  if (refs.secrets.size) deny(`node "${nodeName}" can not create pods that reference secrets`);
  if (refs.configMaps.size) deny(`node "${nodeName}" can not create pods that reference configmaps`);
  if (((spec.volumes ?? []) as Obj[]).some((v) => v?.persistentVolumeClaim)) deny(`node "${nodeName}" can not create pods that reference persistentvolumeclaims`);
}

function admitPodStatus(nodeName: string, op: string, obj: KObject, old: KObject | undefined, deny: (why: string) => never): void {
  if (op !== 'UPDATE' || !old) deny(`unexpected operation "${op}"`);
  if (((old!.spec ?? {}) as Obj).nodeName !== nodeName) deny(`node "${nodeName}" can only update pod status for pods with spec.nodeName set to itself`);
  if (!jsonEqual(old!.metadata?.labels ?? {}, obj.metadata?.labels ?? {})) deny(`node "${nodeName}" cannot update labels through pod status`);
}

function admitNode(nodeName: string, op: string, obj: KObject, old: KObject | undefined, deny: (why: string) => never): void {
  const requested = obj.metadata?.name ?? '';
  if (requested !== nodeName) deny(`node "${nodeName}" is not allowed to modify node "${requested}"`);
  const spec = (obj.spec ?? {}) as Obj;
  if (op === 'CREATE') {
    if (spec.configSource) deny(`node "${nodeName}" is not allowed to create pods with a non-nil configSource`);
    const bad = forbiddenNodeLabels(modifiedLabels(obj.metadata?.labels, undefined));
    if (bad.length) deny(`node "${nodeName}" is not allowed to set the following labels: ${bad.join(', ')}`);
  }
  if (op === 'UPDATE' && old) {
    const oldSpec = (old.spec ?? {}) as Obj;
    if (spec.configSource && !jsonEqual(spec.configSource, oldSpec.configSource)) deny(`node "${nodeName}" is not allowed to update configSource to a new non-nil configSource`);
    if (!jsonEqual(spec.taints ?? [], oldSpec.taints ?? [])) deny(`node "${nodeName}" is not allowed to modify taints`);
    const bad = forbiddenNodeLabels(modifiedLabels(obj.metadata?.labels, old.metadata?.labels));
    if (bad.length) deny(`is not allowed to modify labels: ${bad.join(', ')}`);
  }
}
