/** Small helpers shared by plugins (upstream plugins/helper). */
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { MAX_NODE_SCORE, type ClusterEventWithHint, type QueueingHint, type QueueingHintFn } from '../framework.js';

/**
 * Scales scores so the highest becomes maxPriority (upstream DefaultNormalizeScore);
 * with `reverse`, lower raw scores are better.
 */
export function defaultNormalizeScore(maxPriority: number, reverse: boolean, scores: number[]): void {
  let max = 0;
  for (const s of scores) if (s > max) max = s;
  if (max === 0) {
    if (reverse) scores.fill(maxPriority);
    return;
  }
  for (let i = 0; i < scores.length; i++) {
    let s = Math.trunc((maxPriority * scores[i]) / max);
    if (reverse) s = maxPriority - s;
    scores[i] = s;
  }
}

export { MAX_NODE_SCORE };

/** Narrowing helpers for event objects handed to queueing hints. */
export function asNode(o: unknown): Node | undefined {
  return o && typeof o === 'object' ? (o as Node) : undefined;
}

export function asPod(o: unknown): Pod | undefined {
  return o && typeof o === 'object' ? (o as Pod) : undefined;
}

/** 'Queue' when `yes`, else 'QueueSkip'. */
export const queueIf = (yes: boolean): QueueingHint => (yes ? 'Queue' : 'QueueSkip');

/**
 * The queueing hint of a plugin that looks at one node: a Node event requeues the pod when
 * the node is unknown or `mayFit` says the changed node could now take it.
 */
export function nodeEventHint(mayFit: (pod: Pod, node: Node) => boolean): QueueingHintFn {
  return (pod, _old, obj) => {
    const node = asNode(obj);
    return queueIf(!node || mayFit(pod, node));
  };
}

/** The events of a plugin that only a Node change (one of `action`) can make a rejected pod pass. */
export function onNodeChange(action: number, mayFit: (pod: Pod, node: Node) => boolean): ClusterEventWithHint[] {
  return [{ event: { resource: 'Node', action }, hint: nodeEventHint(mayFit) }];
}
