/** NodeUnschedulable: cordoned nodes (spec.unschedulable) only take pods tolerating node.kubernetes.io/unschedulable:NoSchedule. */
import { tolerationsTolerateTaint } from '../../api/scheduling/taints.js';
import { ActionType, Status, type EnqueueExtensions, type FilterPlugin, type Result } from '../framework.js';
import type { NodeInfo, PodInfo } from '../node-info.js';
import { onNodeChange } from './helpers.js';

export const NAME = 'NodeUnschedulable';
export const ERR_REASON_UNKNOWN_CONDITION = 'node(s) had unknown conditions';
export const ERR_REASON_UNSCHEDULABLE = 'node(s) were unschedulable';
export const TAINT_NODE_UNSCHEDULABLE = 'node.kubernetes.io/unschedulable';

const UNKNOWN = Status.unresolvable(NAME, ERR_REASON_UNKNOWN_CONDITION);
const CORDONED = Status.unresolvable(NAME, ERR_REASON_UNSCHEDULABLE);
const TAINT = { key: TAINT_NODE_UNSCHEDULABLE, effect: 'NoSchedule' };

export class NodeUnschedulable implements FilterPlugin, EnqueueExtensions {
  readonly name = NAME;

  filter(_s: unknown, pod: PodInfo, nodeInfo: NodeInfo): Result {
    if (!nodeInfo.node) return UNKNOWN;
    if (!nodeInfo.unschedulable) return null;
    return tolerationsTolerateTaint(pod.pod.spec?.tolerations, TAINT) ? null : CORDONED;
  }

  eventsToRegister() {
    return onNodeChange(ActionType.Add | ActionType.UpdateNodeTaint, (_pod, node) => !node.spec?.unschedulable);
  }
}

export const newNodeUnschedulable = () => new NodeUnschedulable();
