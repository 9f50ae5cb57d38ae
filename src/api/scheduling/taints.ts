/**
 * Which taints a pod's tolerations tolerate, as upstream's v1.Toleration.ToleratesTaint and
 * component-helpers/scheduling/corev1. The scheduler's TaintToleration, NodeUnschedulable
 * and PodTopologySpread plugins and the DaemonSet controller all decide with these.
 */
import type { Taint, Toleration } from 'kubernetes-types/core/v1.js';

/** Whether one toleration tolerates the taint: same effect (or any), same key (or any), and value per operator. */
export function toleratesTaint(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  switch (t.operator ?? '') {
    case '':
    case 'Equal':
      return (t.value ?? '') === (taint.value ?? '');
    case 'Exists':
      return true;
    default:
      return false;
  }
}

/** Whether any of the tolerations tolerates the taint. */
export function tolerationsTolerateTaint(tolerations: readonly Toleration[] | undefined, taint: Taint): boolean {
  if (!tolerations) return false;
  for (const t of tolerations) if (toleratesTaint(t, taint)) return true;
  return false;
}

/** The first taint passing `include` that no toleration tolerates. */
export function findMatchingUntoleratedTaint(
  taints: readonly Taint[],
  tolerations: readonly Toleration[] | undefined,
  include: (t: Taint) => boolean,
): Taint | undefined {
  for (const taint of taints) {
    if (!include(taint)) continue;
    if (!tolerationsTolerateTaint(tolerations, taint)) return taint;
  }
  return undefined;
}

/** NoSchedule and NoExecute: the taints that keep a pod off a node (PreferNoSchedule only scores). */
export const isHardTaint = (t: Taint): boolean => t.effect === 'NoSchedule' || t.effect === 'NoExecute';
