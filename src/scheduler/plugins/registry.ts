/** The in-tree plugin registry and upstream's default profile (plugins, order, score weights). */
import type { PluginConfig, Registry } from '../framework.js';
import { newBalancedAllocation, NAME as BALANCED } from './balanced-allocation.js';
import { newDefaultPreemption, NAME as PREEMPTION } from './default-preemption.js';
import { newInterPodAffinity, NAME as INTER_POD } from './inter-pod-affinity.js';
import { newNodeAffinity, NAME as NODE_AFFINITY } from './node-affinity.js';
import { newNodeName, NAME as NODE_NAME } from './node-name.js';
import { newNodePorts, NAME as NODE_PORTS } from './node-ports.js';
import { newNodeResourcesFit, NAME as FIT } from './node-resources-fit.js';
import { newNodeUnschedulable, NAME as UNSCHEDULABLE } from './node-unschedulable.js';
import { newPodTopologySpread, NAME as SPREAD } from './pod-topology-spread.js';
import { newTaintToleration, NAME as TAINT } from './taint-toleration.js';
import { newVolumeBinding, NAME as VOLUME_BINDING } from './volume-binding.js';
import { newVolumeRestrictions, NAME as VOLUME_RESTRICTIONS } from './volume-restrictions.js';

/** Every in-tree plugin by name. */
export const inTreeRegistry: Registry = {
  [UNSCHEDULABLE]: newNodeUnschedulable,
  [NODE_NAME]: newNodeName,
  [TAINT]: newTaintToleration,
  [NODE_AFFINITY]: newNodeAffinity,
  [NODE_PORTS]: newNodePorts,
  [FIT]: newNodeResourcesFit,
  [SPREAD]: newPodTopologySpread,
  [INTER_POD]: newInterPodAffinity,
  [PREEMPTION]: newDefaultPreemption,
  [BALANCED]: newBalancedAllocation,
  [VOLUME_RESTRICTIONS]: newVolumeRestrictions,
  [VOLUME_BINDING]: newVolumeBinding,
};

/**
 * Upstream's default profile (getDefaultPlugins) minus NodeVolumeLimits, VolumeZone and ImageLocality, in the
 * same order, so filters run cheapest-first like upstream and weights match.
 */
export function defaultPlugins(): PluginConfig[] {
  return [
    { name: UNSCHEDULABLE },
    { name: NODE_NAME },
    { name: TAINT, weight: 3 },
    { name: NODE_AFFINITY, weight: 2 },
    { name: NODE_PORTS },
    { name: FIT, weight: 1 },
    { name: VOLUME_RESTRICTIONS },
    { name: VOLUME_BINDING },
    { name: SPREAD, weight: 2 },
    { name: INTER_POD, weight: 2 },
    { name: PREEMPTION },
    { name: BALANCED, weight: 1 },
  ];
}
