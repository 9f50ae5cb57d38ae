/** NodeName: a pod that names a node (spec.nodeName) fits only that node. */
import { ActionType, Status, type EnqueueExtensions, type FilterPlugin, type Result } from '../framework.js';
import type { NodeInfo, PodInfo } from '../node-info.js';

export const NAME = 'NodeName';
/** Upstream ErrReason. */
export const ERR_REASON = "node(s) didn't match the requested node name";

const REJECT = Status.unresolvable(NAME, ERR_REASON);

export class NodeName implements FilterPlugin, EnqueueExtensions {
  readonly name = NAME;

  filter(_s: unknown, pod: PodInfo, nodeInfo: NodeInfo): Result {
    const want = pod.pod.spec?.nodeName;
    return !want || want === nodeInfo.name ? null : REJECT;
  }

  eventsToRegister() {
    return [{ event: { resource: 'Node' as const, action: ActionType.Add } }];
  }
}

export const newNodeName = () => new NodeName();
