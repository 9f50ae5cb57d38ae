/** NodePorts: a pod's hostPorts must be free on the node (0.0.0.0 clashes with every address). */
import type { Pod } from 'kubernetes-types/core/v1.js';
import { ActionType, Status, type CycleState, type EnqueueExtensions, type FilterPlugin, type PreFilterPlugin, type Result } from '../framework.js';
import { PodInfo, type NodeInfo } from '../node-info.js';
import { asPod } from './helpers.js';

export const NAME = 'NodePorts';
/** Upstream ErrReason. */
export const ERR_REASON = "node(s) didn't have free ports for the requested pod ports";

const REJECT = Status.unschedulable(NAME, ERR_REASON);

export class NodePorts implements PreFilterPlugin, FilterPlugin, EnqueueExtensions {
  readonly name = NAME;

  preFilter(_s: CycleState, pod: PodInfo): Result {
    return pod.hostPorts.length === 0 ? Status.skip : null;
  }

  filter(_s: CycleState, pod: PodInfo, nodeInfo: NodeInfo): Result {
    if (nodeInfo.usedPorts.size === 0) return null;
    for (const p of pod.hostPorts) if (nodeInfo.usedPorts.conflicts(p)) return REJECT;
    return null;
  }

  eventsToRegister() {
    return [
      {
        // A deleted pod frees its ports; only worth a retry if it held one we want.
        event: { resource: 'Pod' as const, action: ActionType.Delete },
        hint: (pod: Pod, old: unknown) => {
          const gone = asPod(old);
          if (!gone) return 'Queue' as const;
          const want = PodInfo.of(pod).hostPorts;
          const had = PodInfo.of(gone).hostPorts;
          return want.some((w) => had.some((h) => h.port === w.port && h.protocol === w.protocol)) ? ('Queue' as const) : ('QueueSkip' as const);
        },
      },
      { event: { resource: 'Node' as const, action: ActionType.Add | ActionType.Update } },
    ];
  }
}

export const newNodePorts = () => new NodePorts();
