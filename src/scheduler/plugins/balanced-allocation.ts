/**
 * NodeResourcesBalancedAllocation: favours nodes whose cpu and memory utilisation
 * would stay close to each other after placing the pod (1 - std deviation of fractions).
 */
import { MAX_NODE_SCORE, type CycleState, type ScorePlugin } from '../framework.js';
import type { NodeInfo, PodInfo } from '../node-info.js';
import { allocatableAndRequested } from './node-resources-fit.js';

export const NAME = 'NodeResourcesBalancedAllocation';

export interface BalancedAllocationArgs {
  resources?: { name: string; weight?: number }[];
}

/** Upstream balancedResourceScorer. */
export function balancedResourceScore(requested: number[], allocatable: number[]): number {
  const fractions: number[] = [];
  let total = 0;
  for (let i = 0; i < requested.length; i++) {
    if (allocatable[i] === 0) continue;
    let f = requested[i] / allocatable[i];
    if (f > 1) f = 1;
    total += f;
    fractions.push(f);
  }
  let std = 0;
  if (fractions.length === 2) {
    std = Math.abs((fractions[0] - fractions[1]) / 2);
  } else if (fractions.length > 2) {
    const mean = total / fractions.length;
    let sum = 0;
    for (const f of fractions) sum += (f - mean) * (f - mean);
    std = Math.sqrt(sum / fractions.length);
  }
  return Math.trunc((1 - std) * MAX_NODE_SCORE);
}

export class BalancedAllocation implements ScorePlugin {
  readonly name = NAME;
  private readonly resources: string[];

  constructor(args?: BalancedAllocationArgs) {
    this.resources = (args?.resources ?? [{ name: 'cpu' }, { name: 'memory' }]).map((r) => r.name);
    this.cpuMemOnly = this.resources.length === 2 && this.resources[0] === 'cpu' && this.resources[1] === 'memory';
  }
  private readonly cpuMemOnly: boolean;

  score(_s: CycleState, pod: PodInfo, nodeInfo: NodeInfo): number {
    if (this.cpuMemOnly) {
      // Default resources without per-call allocations; same arithmetic as balancedResourceScore.
      const ac = nodeInfo.allocatable.milliCPU;
      const am = nodeInfo.allocatable.memory;
      if (ac === 0 || am === 0) {
        return balancedResourceScore([nodeInfo.requested.milliCPU + pod.request.milliCPU, nodeInfo.requested.memory + pod.request.memory], [ac, am]);
      }
      const fc = Math.min(1, (nodeInfo.requested.milliCPU + pod.request.milliCPU) / ac);
      const fm = Math.min(1, (nodeInfo.requested.memory + pod.request.memory) / am);
      return Math.trunc((1 - Math.abs((fc - fm) / 2)) * MAX_NODE_SCORE);
    }
    const req: number[] = [];
    const alloc: number[] = [];
    for (const r of this.resources) {
      // Upstream scores balance on actual requests (useRequested), not the non-zero defaults.
      const [a, q] = allocatableAndRequested(nodeInfo, pod, r, true);
      alloc.push(a);
      req.push(q);
    }
    return balancedResourceScore(req, alloc);
  }
}

export const newBalancedAllocation = (args: unknown) => new BalancedAllocation(args as BalancedAllocationArgs | undefined);
