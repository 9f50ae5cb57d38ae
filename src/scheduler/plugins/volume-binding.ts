/**
 * VolumeBinding (upstream pkg/scheduler/framework/plugins/volumebinding): a pod waits until
 * its claims exist; a claim bound to a volume with node affinity pins the pod to the nodes
 * the volume admits; an unbound WaitForFirstConsumer claim fits a node when an Available
 * volume there matches it or its class can provision there. Binding itself is left to the
 * PersistentVolume controller, which provisions on the node the pod was bound to.
 */
import type { PersistentVolume, PersistentVolumeClaim, Pod, TopologySelectorTerm } from 'kubernetes-types/core/v1.js';
import type { StorageClass } from 'kubernetes-types/storage/v1.js';
import { nodeSelectorMatcher, type NodeMatcher, type NodeView } from '../../api/scheduling/node-affinity.js';
import { ANN_SELECTED_NODE, findMatchingVolume } from '../../api/storage/volume-matching.js';
import {
  ActionType,
  Status,
  type ClusterEventWithHint,
  type CycleState,
  type EnqueueExtensions,
  type FilterPlugin,
  type Handle,
  type PreFilterPlugin,
  type PreFilterResult,
  type Result,
  type StateData,
  type StorageLister,
} from '../framework.js';
import type { NodeInfo, PodInfo } from '../node-info.js';

export const NAME = 'VolumeBinding';
/** Upstream ErrReasonBindConflict. */
export const ERR_REASON_BIND_CONFLICT = "node(s) didn't find available persistent volumes to bind";
/** Upstream ErrReasonNodeConflict. */
export const ERR_REASON_NODE_CONFLICT = 'node(s) had volume node affinity conflict';
/** Upstream ErrReasonPVNotExist. */
export const ERR_REASON_PV_NOT_EXIST = 'node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)';
/** Upstream ErrUnboundImmediatePVC. */
export const ERR_UNBOUND_IMMEDIATE_PVC = 'pod has unbound immediate PersistentVolumeClaims';
/** A provisioner that provisions nothing: only pre-created volumes serve its claims. */
export const NO_PROVISIONER = 'kubernetes.io/no-provisioner';

const STATE_KEY = `PreFilter${NAME}`;

/** Whether the pod uses any claim (persistentVolumeClaim or generic ephemeral volumes); no allocation. */
export function podHasClaims(pod: Pod): boolean {
  const vols = pod.spec?.volumes;
  if (!vols) return false;
  for (const v of vols) if (v.persistentVolumeClaim || v.ephemeral) return true;
  return false;
}

/** The claim names a pod uses; a generic ephemeral volume's claim is `<pod>-<volume>`, as upstream. */
export function podClaimNames(pod: Pod): string[] {
  const out: string[] = [];
  for (const v of pod.spec?.volumes ?? []) {
    if (v.persistentVolumeClaim) out.push(v.persistentVolumeClaim.claimName);
    else if (v.ephemeral) out.push(`${pod.metadata?.name}-${v.name}`);
  }
  return out;
}

/** Looks up the pod's claims; a missing or terminating claim is unresolvable for this pod (upstream PreFilter wording). */
export function podClaims(pod: Pod, storage: StorageLister): { claims: PersistentVolumeClaim[] } | { status: Status } {
  const ns = pod.metadata?.namespace ?? 'default';
  const claims: PersistentVolumeClaim[] = [];
  for (const name of podClaimNames(pod)) {
    const c = storage.claim(ns, name);
    if (!c) return { status: Status.unresolvable(NAME, `persistentvolumeclaim "${name}" not found`) };
    if (c.metadata?.deletionTimestamp) return { status: Status.unresolvable(NAME, `persistentvolumeclaim "${name}" is being deleted`) };
    claims.push(c);
  }
  return { claims };
}

const matchers = new WeakMap<PersistentVolume, NodeMatcher | null>();

/** The volume's required node affinity, compiled once per object; null = any node. */
function volumeNodeMatcher(pv: PersistentVolume): NodeMatcher | null {
  let m = matchers.get(pv);
  if (m === undefined) {
    const terms = pv.spec?.nodeAffinity?.required?.nodeSelectorTerms;
    m = terms ? nodeSelectorMatcher(terms) : null;
    matchers.set(pv, m);
  }
  return m;
}

/** Whether a volume may be used from a node (upstream CheckNodeAffinity). */
export function volumeAdmitsNode(pv: PersistentVolume, node: NodeView): boolean {
  const m = volumeNodeMatcher(pv);
  return m === null || m(node);
}

/** Whether a class's allowedTopologies admit a node (upstream MatchTopologySelectorTerms; none = every node). */
export function topologyAdmitsNode(terms: readonly TopologySelectorTerm[] | undefined, node: NodeView): boolean {
  if (!terms || terms.length === 0) return true;
  return terms.some((t) => (t.matchLabelExpressions ?? []).every((e) => {
    const v = node.labels[e.key];
    return v !== undefined && e.values.includes(v);
  }));
}

interface Unbound {
  claim: PersistentVolumeClaim;
  cls: StorageClass;
}

/** What PreFilter found; Filter decides per node from it. Read-only, so clones share it. */
class PodVolumes implements StateData {
  constructor(
    readonly bound: PersistentVolume[],
    readonly missingVolume: boolean,
    readonly unbound: Unbound[],
    /** Volumes free to bind (no claimRef), listed once per cycle rather than per node. */
    readonly free: readonly PersistentVolume[],
  ) {}

  clone(): StateData {
    return this;
  }
}

/**
 * Decides whether the pod's claims fit a node (upstream FindPodVolumes): bound volumes must
 * admit the node; every unbound claim needs a distinct Available volume admitting it, or a
 * class that can provision there.
 */
function findPodVolumes(state: PodVolumes, node: NodeView): string[] {
  const reasons: string[] = [];
  if (state.missingVolume) reasons.push(ERR_REASON_PV_NOT_EXIST);
  for (const pv of state.bound) {
    if (!volumeAdmitsNode(pv, node)) {
      reasons.push(ERR_REASON_NODE_CONFLICT);
      break;
    }
  }
  if (state.unbound.length > 0) {
    const chosen = new Set<PersistentVolume>();
    let ok = true;
    for (const { claim, cls } of state.unbound) {
      const selected = claim.metadata?.annotations?.[ANN_SELECTED_NODE];
      // The provisioner already works for the node chosen earlier; the claim can only be had there.
      if (selected && selected !== node.name) {
        ok = false;
        break;
      }
      const pv = findMatchingVolume(claim, state.free, (v) => !chosen.has(v) && volumeAdmitsNode(v, node));
      if (pv) {
        chosen.add(pv);
        continue;
      }
      if (!cls.provisioner || cls.provisioner === NO_PROVISIONER || !topologyAdmitsNode(cls.allowedTopologies, node)) {
        ok = false;
        break;
      }
    }
    if (!ok) reasons.push(ERR_REASON_BIND_CONFLICT);
  }
  return reasons;
}

export class VolumeBinding implements PreFilterPlugin, FilterPlugin, EnqueueExtensions {
  readonly name = NAME;

  constructor(private readonly storage: StorageLister) {}

  preFilter(state: CycleState, pod: PodInfo): Result | PreFilterResult {
    if (!podHasClaims(pod.pod)) return Status.skip;
    const found = podClaims(pod.pod, this.storage);
    if ('status' in found) return found.status;
    const bound: PersistentVolume[] = [];
    const unbound: Unbound[] = [];
    let missingVolume = false;
    for (const claim of found.claims) {
      const volumeName = claim.spec?.volumeName;
      if (volumeName) {
        const pv = this.storage.volume(volumeName);
        if (pv) bound.push(pv);
        else missingVolume = true;
        continue;
      }
      // A claim without a class binds immediately, as upstream IsDelayBindingMode.
      const className = claim.spec?.storageClassName ?? '';
      const cls = className ? this.storage.storageClass(className) : undefined;
      if (className && !cls) return Status.unresolvable(NAME, `storageclass.storage.k8s.io "${className}" not found`);
      if (cls?.volumeBindingMode !== 'WaitForFirstConsumer') return Status.unresolvable(NAME, ERR_UNBOUND_IMMEDIATE_PVC);
      unbound.push({ claim, cls });
    }
    const free = unbound.length > 0 ? this.storage.volumes().filter((v) => !v.spec?.claimRef) : [];
    state.write(STATE_KEY, new PodVolumes(bound, missingVolume, unbound, free));
    return null;
  }

  filter(state: CycleState, _pod: PodInfo, nodeInfo: NodeInfo): Result {
    const pv = state.read<PodVolumes>(STATE_KEY);
    if (!pv) return null;
    const reasons = findPodVolumes(pv, nodeInfo);
    return reasons.length === 0 ? null : Status.unresolvable(NAME, ...reasons);
  }

  eventsToRegister(): ClusterEventWithHint[] {
    const addOrUpdate = ActionType.Add | ActionType.Update;
    return [
      { event: { resource: 'PersistentVolumeClaim', action: addOrUpdate } },
      { event: { resource: 'PersistentVolume', action: addOrUpdate } },
      { event: { resource: 'StorageClass', action: addOrUpdate } },
      { event: { resource: 'Node', action: ActionType.Add | ActionType.UpdateNodeLabel } },
    ];
  }
}

export const newVolumeBinding = (_args: unknown, handle: Handle) => new VolumeBinding(handle.storage);
