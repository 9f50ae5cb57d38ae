/**
 * DefaultTolerationSeconds admission: pods tolerate the not-ready and unreachable NoExecute
 * taints for 300 s unless they say otherwise, so a node outage evicts them after five minutes.
 */
import type { AdmissionPlugin } from '../objects.js';

type Toleration = { key?: string; operator?: string; value?: string; effect?: string; tolerationSeconds?: number };

export const NOT_READY_TAINT = 'node.kubernetes.io/not-ready';
export const UNREACHABLE_TAINT = 'node.kubernetes.io/unreachable';

export function defaultTolerationsAdmission(seconds = 300): AdmissionPlugin {
  return (op, def, obj) => {
    if (op !== 'CREATE' || def.kind !== 'Pod' || def.group !== '') return;
    const spec = (obj.spec ??= {}) as { tolerations?: Toleration[] };
    const tolerations = (spec.tolerations ??= []);
    // A toleration that already matches the taint (by key, or an empty-key Exists) wins.
    const covers = (key: string) =>
      tolerations.some((t) => (t.key === key || (!t.key && t.operator === 'Exists')) && (!t.effect || t.effect === 'NoExecute'));
    for (const key of [NOT_READY_TAINT, UNREACHABLE_TAINT]) {
      if (!covers(key)) tolerations.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: seconds });
    }
  };
}
