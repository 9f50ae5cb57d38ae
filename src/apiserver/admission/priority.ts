/**
 * Priority admission: resolves spec.priorityClassName into spec.priority and
 * spec.preemptionPolicy (or applies the global default class), as upstream's plugin does.
 */
import { forbidden } from '../../api/errors.js';
import type { Obj, Registry } from '../../api/registry.js';
import type { AdmissionPlugin } from '../objects.js';
import type { WatchCache } from '../watch-cache.js';


/** The classes every cluster has. */
export const SYSTEM_PRIORITY_CLASSES = [
  { name: 'system-node-critical', value: 2000001000, description: 'Used for system critical pods that must not be moved from their current node.' },
  { name: 'system-cluster-critical', value: 2000000000, description: 'Used for system critical pods that must run in the cluster, but can be moved to another node if necessary.' },
];

export function priorityAdmission(cache: WatchCache, registry: Registry): AdmissionPlugin {
  const pcDef = registry.byKind('scheduling.k8s.io', 'PriorityClass')!;
  return (op, def, obj) => {
    if (op !== 'CREATE' || def.kind !== 'Pod' || def.group !== '') return;
    const spec = (obj.spec ??= {}) as Obj;
    let pc: Obj | undefined;
    if (spec.priorityClassName) {
      pc = cache.get(pcDef, '', spec.priorityClassName)?.obj as Obj | undefined;
      if (!pc) throw forbidden({ group: '', resource: 'pods' }, obj.metadata?.name ?? '', `no PriorityClass with name ${spec.priorityClassName} was found`);
    } else {
      pc = cache.list(pcDef, '').map((c) => c.obj as Obj).find((c) => c.globalDefault);
      if (pc) spec.priorityClassName = pc.metadata.name;
    }
    if (spec.priority !== undefined && pc && spec.priority !== pc.value) {
      throw forbidden({ group: '', resource: 'pods' }, obj.metadata?.name ?? '', 'the integer value of priority must not be provided in pod spec; priority admission controller computed ' + pc.value + ' from the given PriorityClass name');
    }
    spec.priority = pc ? pc.value : 0;
    spec.preemptionPolicy ??= pc?.preemptionPolicy ?? 'PreemptLowerPriority';
  };
}
