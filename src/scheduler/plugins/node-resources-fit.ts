/**
 * NodeResourcesFit: the node must have room for the pod's requests (cpu, memory,
 * ephemeral-storage, extended resources) and a free pod slot. Scoring follows the
 * configured strategy; the default, LeastAllocated, favours emptier nodes.
 */
import type { Pod } from 'kubernetes-types/core/v1.js';
import {
  ActionType,
  Code,
  MAX_NODE_SCORE,
  Status,
  type CycleState,
  type EnqueueExtensions,
  type FilterPlugin,
  type PreScorePlugin,
  type Result,
  type ScorePlugin,
} from '../framework.js';
import { PodInfo, Resource, type NodeInfo } from '../node-info.js';
import { asPod, nodeEventHint, queueIf } from './helpers.js';

export const NAME = 'NodeResourcesFit';

/** Why the pod does not fit, as upstream InsufficientResource. */
export interface InsufficientResource {
  resourceName: string;
  reason: string;
  requested: number;
  used: number;
  capacity: number;
  /** Even an empty node could not hold the request: preemption cannot help. */
  unresolvable: boolean;
}

/** The resources every Resource counts in a field of its own, in upstream's order. */
const BUILTIN_RESOURCES = [
  ['cpu', 'milliCPU'],
  ['memory', 'memory'],
  ['ephemeral-storage', 'ephemeralStorage'],
] as const;

function insufficient(resourceName: string, requested: number, used: number, capacity: number): InsufficientResource {
  return { resourceName, reason: `Insufficient ${resourceName}`, requested, used, capacity, unresolvable: requested > capacity };
}

/** Upstream fitsRequest: every resource the node lacks, in upstream's order. */
export function fitsRequest(podRequest: Resource, nodeInfo: NodeInfo): InsufficientResource[] {
  const out: InsufficientResource[] = [];
  const alloc = nodeInfo.allocatable;
  const used = nodeInfo.requested;
  const allowedPods = alloc.allowedPodNumber;
  if (nodeInfo.pods.length + 1 > allowedPods) {
    out.push({ resourceName: 'pods', reason: 'Too many pods', requested: 1, used: nodeInfo.pods.length, capacity: allowedPods, unresolvable: false });
  }
  if (podRequest.milliCPU === 0 && podRequest.memory === 0 && podRequest.ephemeralStorage === 0 && (!podRequest.scalar || podRequest.scalar.size === 0)) {
    return out;
  }
  for (const [resourceName, field] of BUILTIN_RESOURCES) {
    const q = podRequest[field];
    if (q > 0 && q > alloc[field] - used[field]) out.push(insufficient(resourceName, q, used[field], alloc[field]));
  }
  if (podRequest.scalar) {
    for (const [name, q] of podRequest.scalar) {
      if (q === 0) continue;
      const a = alloc.scalar?.get(name) ?? 0;
      const u = used.scalar?.get(name) ?? 0;
      if (q > a - u) out.push(insufficient(name, q, u, a));
    }
  }
  return out;
}

/** Allocation-free "does it fit at all" check for the common case; details come from fitsRequest. */
function fitsQuick(req: Resource, ni: NodeInfo): boolean {
  const alloc = ni.allocatable;
  const used = ni.requested;
  if (ni.pods.length + 1 > alloc.allowedPodNumber) return false;
  if (req.milliCPU > 0 && req.milliCPU > alloc.milliCPU - used.milliCPU) return false;
  if (req.memory > 0 && req.memory > alloc.memory - used.memory) return false;
  if (req.ephemeralStorage > 0 && req.ephemeralStorage > alloc.ephemeralStorage - used.ephemeralStorage) return false;
  return !req.scalar || req.scalar.size === 0;
}

export type ScoringStrategy = 'LeastAllocated' | 'MostAllocated';

export interface NodeResourcesFitArgs {
  scoringStrategy?: { type?: ScoringStrategy; resources?: { name: string; weight: number }[] };
}

/** Upstream leastRequestedScore. */
export function leastRequestedScore(requested: number, capacity: number): number {
  if (capacity === 0 || requested > capacity) return 0;
  return Math.trunc(((capacity - requested) * MAX_NODE_SCORE) / capacity);
}

/** Upstream mostRequestedScore. */
export function mostRequestedScore(requested: number, capacity: number): number {
  if (capacity === 0) return 0;
  if (requested > capacity) requested = capacity;
  return Math.trunc((requested * MAX_NODE_SCORE) / capacity);
}

/**
 * Allocatable and requested-after-placement for one resource, as upstream
 * calculateResourceAllocatableRequest. `useRequested` false uses non-zero defaults.
 */
export function allocatableAndRequested(nodeInfo: NodeInfo, pod: PodInfo, resource: string, useRequested: boolean): [number, number] {
  switch (resource) {
    case 'cpu':
      return [nodeInfo.allocatable.milliCPU, (useRequested ? nodeInfo.requested.milliCPU : nodeInfo.nonZeroMilliCPU) + (useRequested ? pod.request.milliCPU : pod.nonZeroMilliCPU)];
    case 'memory':
      return [nodeInfo.allocatable.memory, (useRequested ? nodeInfo.requested.memory : nodeInfo.nonZeroMemory) + (useRequested ? pod.request.memory : pod.nonZeroMemory)];
    default: {
      const podReq = pod.request.getNamed(resource);
      // A scalar resource the pod does not ask for does not influence the score.
      if (podReq === 0 && resource !== 'ephemeral-storage') return [0, 0];
      return [nodeInfo.allocatable.getNamed(resource), nodeInfo.requested.getNamed(resource) + podReq];
    }
  }
}

function statusFor(insufficient: InsufficientResource[]): Status {
  let code = Code.Unschedulable;
  for (const r of insufficient) if (r.unresolvable) code = Code.UnschedulableAndUnresolvable;
  return new Status(code, insufficient.map((r) => r.reason), NAME);
}

export class NodeResourcesFit implements FilterPlugin, PreScorePlugin, ScorePlugin, EnqueueExtensions {
  readonly name = NAME;
  private readonly resources: { name: string; weight: number }[];
  private readonly scorer: (requested: number, capacity: number) => number;
  private statusCache = new Map<string, Status>();

  constructor(args?: NodeResourcesFitArgs) {
    const s = args?.scoringStrategy;
    this.resources = s?.resources ?? [
      { name: 'cpu', weight: 1 },
      { name: 'memory', weight: 1 },
    ];
    this.scorer = s?.type === 'MostAllocated' ? mostRequestedScore : leastRequestedScore;
    this.cpuMemOnly =
      this.resources.length === 2 &&
      this.resources.every((r) => r.weight === 1) &&
      this.resources.some((r) => r.name === 'cpu') &&
      this.resources.some((r) => r.name === 'memory');
  }
  private readonly cpuMemOnly: boolean;

  filter(_s: CycleState, pod: PodInfo, nodeInfo: NodeInfo): Result {
    if (fitsQuick(pod.request, nodeInfo)) return null;
    const insufficient = fitsRequest(pod.request, nodeInfo);
    if (insufficient.length === 0) return null;
    // Reasons repeat across thousands of nodes; share the Status objects.
    let key = '';
    for (const r of insufficient) key += (r.unresolvable ? '!' : '') + r.reason + '|';
    let st = this.statusCache.get(key);
    if (!st) {
      st = statusFor(insufficient);
      if (this.statusCache.size > 1000) this.statusCache.clear();
      this.statusCache.set(key, st);
    }
    return st;
  }

  preScore(): Result {
    return null;
  }

  score(_s: CycleState, pod: PodInfo, nodeInfo: NodeInfo): number {
    if (this.cpuMemOnly) {
      // The default (cpu and memory, weight 1 each) without per-call allocations.
      const ac = nodeInfo.allocatable.milliCPU;
      const am = nodeInfo.allocatable.memory;
      let sum = 0;
      let w = 0;
      if (ac !== 0) {
        sum += this.scorer(nodeInfo.nonZeroMilliCPU + pod.nonZeroMilliCPU, ac);
        w++;
      }
      if (am !== 0) {
        sum += this.scorer(nodeInfo.nonZeroMemory + pod.nonZeroMemory, am);
        w++;
      }
      return w === 0 ? 0 : Math.trunc(sum / w);
    }
    let score = 0;
    let weightSum = 0;
    for (const r of this.resources) {
      const [alloc, req] = allocatableAndRequested(nodeInfo, pod, r.name, false);
      if (alloc === 0) continue;
      score += this.scorer(req, alloc) * r.weight;
      weightSum += r.weight;
    }
    return weightSum === 0 ? 0 : Math.trunc(score / weightSum);
  }

  eventsToRegister() {
    return [
      {
        // Room frees up when an assigned pod goes away or shrinks.
        event: { resource: 'Pod' as const, action: ActionType.Delete | ActionType.UpdatePodScaleDown },
        hint: (_pod: Pod, old: unknown) => {
          const gone = asPod(old);
          return queueIf(!gone || !!gone.spec?.nodeName);
        },
      },
      {
        event: { resource: 'Node' as const, action: ActionType.Add | ActionType.UpdateNodeAllocatable },
        // Only a node big enough for the pod when empty can help.
        hint: nodeEventHint((pod, node) => {
          const alloc = Resource.fromList(node.status?.allocatable ?? node.status?.capacity);
          const req = PodInfo.of(pod).request;
          if (req.milliCPU > alloc.milliCPU || req.memory > alloc.memory || req.ephemeralStorage > alloc.ephemeralStorage) return false;
          if (req.scalar) for (const [k, v] of req.scalar) if (v > (alloc.scalar?.get(k) ?? 0)) return false;
          return true;
        }),
      },
    ];
  }
}

export const newNodeResourcesFit = (args: unknown) => new NodeResourcesFit(args as NodeResourcesFitArgs | undefined);
