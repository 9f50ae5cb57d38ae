/**
 * TaintToleration: NoSchedule/NoExecute taints a pod does not tolerate rule a node out;
 * PreferNoSchedule taints it does not tolerate lower the node's score.
 */
import type { Taint, Toleration } from 'kubernetes-types/core/v1.js';
import { findMatchingUntoleratedTaint, isHardTaint, tolerationsTolerateTaint } from '../../api/scheduling/taints.js';
import {
  ActionType,
  MAX_NODE_SCORE,
  Status,
  type CycleState,
  type EnqueueExtensions,
  type FilterPlugin,
  type PreScorePlugin,
  type Result,
  type ScorePlugin,
  type StateData,
} from '../framework.js';
import type { NodeInfo, PodInfo } from '../node-info.js';
import { defaultNormalizeScore, onNodeChange } from './helpers.js';

export const NAME = 'TaintToleration';

/** The filter failure reason for an untolerated taint, exactly as upstream. */
export function untoleratedTaintReason(t: Taint): string {
  return `node(s) had untolerated taint {${t.key}: ${t.value ?? ''}}`;
}

class PreScoreState implements StateData {
  constructor(readonly tolerations: Toleration[]) {}
  clone() {
    return this;
  }
}
const PRE_SCORE_KEY = 'PreScore' + NAME;

export class TaintToleration implements FilterPlugin, PreScorePlugin, ScorePlugin, EnqueueExtensions {
  readonly name = NAME;
  private reasonCache = new Map<Taint, Status>();

  filter(_s: CycleState, pod: PodInfo, nodeInfo: NodeInfo): Result {
    if (nodeInfo.taints.length === 0) return null;
    const taint = findMatchingUntoleratedTaint(nodeInfo.taints, pod.pod.spec?.tolerations, isHardTaint);
    if (!taint) return null;
    let st = this.reasonCache.get(taint);
    if (!st) {
      st = Status.unresolvable(NAME, untoleratedTaintReason(taint));
      if (this.reasonCache.size > 10_000) this.reasonCache.clear();
      this.reasonCache.set(taint, st);
    }
    return st;
  }

  preScore(state: CycleState, pod: PodInfo): Result {
    const tols = (pod.pod.spec?.tolerations ?? []).filter((t) => !t.effect || t.effect === 'PreferNoSchedule');
    state.write(PRE_SCORE_KEY, new PreScoreState(tols));
    return null;
  }

  /** Number of PreferNoSchedule taints the pod does not tolerate (lower is better). */
  score(state: CycleState, _pod: PodInfo, nodeInfo: NodeInfo): number {
    if (nodeInfo.taints.length === 0) return 0;
    const tols = state.read<PreScoreState>(PRE_SCORE_KEY)?.tolerations ?? [];
    let n = 0;
    for (const taint of nodeInfo.taints) {
      if (taint.effect === 'PreferNoSchedule' && !tolerationsTolerateTaint(tols, taint)) n++;
    }
    return n;
  }

  normalizeScore(_s: CycleState, _p: PodInfo, scores: number[]): Result {
    defaultNormalizeScore(MAX_NODE_SCORE, true, scores);
    return null;
  }

  eventsToRegister() {
    return onNodeChange(ActionType.Add | ActionType.UpdateNodeTaint, (pod, node) => !findMatchingUntoleratedTaint(node.spec?.taints ?? [], pod.spec?.tolerations, isHardTaint));
  }
}

export const newTaintToleration = () => new TaintToleration();
