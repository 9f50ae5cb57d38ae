/**
 * VolumeRestrictions (upstream pkg/scheduler/framework/plugins/volumerestrictions), the
 * ReadWriteOncePod part: a claim with that access mode serves one pod in the whole cluster,
 * so a second pod using it fits nowhere until the first goes (or is preempted).
 */
import {
  ActionType,
  Status,
  type ClusterEventWithHint,
  type CycleState,
  type EnqueueExtensions,
  type FilterPlugin,
  type Handle,
  type NodeLister,
  type PreFilterExtensions,
  type PreFilterPlugin,
  type Result,
  type StateData,
  type StorageLister,
} from '../framework.js';
import type { PodInfo } from '../node-info.js';
import { podClaimNames, podClaims, podHasClaims } from './volume-binding.js';

export const NAME = 'VolumeRestrictions';
/** Upstream ErrReasonReadWriteOncePodConflict. */
export const ERR_REASON_RWOP_CONFLICT = 'node has pod using PersistentVolumeClaim with the same name and ReadWriteOncePod access mode';

const STATE_KEY = `PreFilter${NAME}`;
const REJECT = Status.unschedulable(NAME, ERR_REASON_RWOP_CONFLICT);

class RwopState implements StateData {
  constructor(
    /** `<namespace>/<claim>` of the pod's ReadWriteOncePod claims. */
    readonly claims: ReadonlySet<string>,
    /** How many placed pods use one of them. */
    public conflicting: number,
  ) {}

  clone(): StateData {
    return new RwopState(this.claims, this.conflicting);
  }
}

/** How many of `claims` another pod uses (0 when it is the same pod or uses none). */
function uses(claims: ReadonlySet<string>, pod: PodInfo, self: PodInfo): number {
  if (pod.key === self.key || !podHasClaims(pod.pod)) return 0;
  let n = 0;
  for (const c of podClaimNames(pod.pod)) if (claims.has(`${pod.namespace}/${c}`)) n++;
  return n;
}

export class VolumeRestrictions implements PreFilterPlugin, FilterPlugin, EnqueueExtensions {
  readonly name = NAME;

  constructor(private readonly storage: StorageLister) {}

  preFilter(state: CycleState, pod: PodInfo, nodes: NodeLister): Result {
    if (!podHasClaims(pod.pod)) return Status.skip;
    const found = podClaims(pod.pod, this.storage);
    if ('status' in found) return new Status(found.status.code, found.status.reasons, NAME);
    const claims = new Set<string>();
    for (const c of found.claims) {
      if (c.spec?.accessModes?.includes('ReadWriteOncePod')) claims.add(`${c.metadata?.namespace}/${c.metadata?.name}`);
    }
    if (claims.size === 0) return Status.skip;
    let conflicting = 0;
    for (const ni of nodes.list()) for (const p of ni.pods) conflicting += uses(claims, p, pod);
    state.write(STATE_KEY, new RwopState(claims, conflicting));
    return null;
  }

  preFilterExtensions(): PreFilterExtensions {
    const adjust = (state: CycleState, self: PodInfo, other: PodInfo, sign: number): Result => {
      const s = state.read<RwopState>(STATE_KEY);
      if (s) s.conflicting += sign * uses(s.claims, other, self);
      return null;
    };
    return {
      addPod: (state, self, other) => adjust(state, self, other, 1),
      removePod: (state, self, other) => adjust(state, self, other, -1),
    };
  }

  filter(state: CycleState): Result {
    const s = state.read<RwopState>(STATE_KEY);
    return s && s.conflicting > 0 ? REJECT : null;
  }

  eventsToRegister(): ClusterEventWithHint[] {
    return [
      { event: { resource: 'Pod', action: ActionType.Delete } },
      { event: { resource: 'PersistentVolumeClaim', action: ActionType.Add | ActionType.Update } },
      { event: { resource: 'Node', action: ActionType.Add } },
    ];
  }
}

export const newVolumeRestrictions = (_args: unknown, handle: Handle) => new VolumeRestrictions(handle.storage);
