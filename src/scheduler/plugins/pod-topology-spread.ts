/**
 * PodTopologySpread: keeps matching pods evenly spread over topology domains.
 * DoNotSchedule constraints filter (skew = pods in this domain + self - global minimum
 * must not exceed maxSkew; fewer domains than minDomains makes the minimum 0);
 * ScheduleAnyway constraints score (fewer matching pods in the domain is better).
 */
import type { Pod, TopologySpreadConstraint } from 'kubernetes-types/core/v1.js';
import { newRequirement, selectorFromLabelSelector, selectorFromRequirements, type Selector } from '../../api/labels.js';
import { podMatchesNodeSelectorAndAffinity, requiredNodeAffinity } from '../../api/scheduling/node-affinity.js';
import { findMatchingUntoleratedTaint, isHardTaint } from '../../api/scheduling/taints.js';
import {
  ActionType,
  MAX_NODE_SCORE,
  Status,
  type CycleState,
  type EnqueueExtensions,
  type FilterPlugin,
  type NodeLister,
  type PreFilterExtensions,
  type PreFilterPlugin,
  type PreScorePlugin,
  type Result,
  type ScorePlugin,
  type StateData,
} from '../framework.js';
import { PodInfo, selectorKey, type NodeInfo } from '../node-info.js';
import type { PodCountQuery } from '../pod-count-index.js';
import { asPod } from './helpers.js';

export const NAME = 'PodTopologySpread';
export const ERR_REASON_CONSTRAINTS_NOT_MATCH = "node(s) didn't match pod topology spread constraints";
export const ERR_REASON_NODE_LABEL_NOT_MATCH = ERR_REASON_CONSTRAINTS_NOT_MATCH + ' (missing required label)';
const HOSTNAME = 'kubernetes.io/hostname';

const SKEW_REJECT = Status.unschedulable(NAME, ERR_REASON_CONSTRAINTS_NOT_MATCH);
const LABEL_REJECT = Status.unresolvable(NAME, ERR_REASON_NODE_LABEL_NOT_MATCH);

/** A spread constraint with its selector parsed (upstream topologySpreadConstraint). */
export interface Constraint {
  maxSkew: number;
  topologyKey: string;
  selector: Selector;
  minDomains: number;
  honorNodeAffinity: boolean;
  honorNodeTaints: boolean;
}

function toConstraint(pod: Pod, c: TopologySpreadConstraint): Constraint {
  let selector = selectorFromLabelSelector(c.labelSelector ?? null);
  const labels = pod.metadata?.labels ?? {};
  const extra = (c.matchLabelKeys ?? []).filter((k) => k in labels).map((k) => newRequirement(k, 'in', [labels[k]]));
  if (extra.length > 0 && !selector.matchesNothing()) selector = selectorFromRequirements([...selector.requirements(), ...extra]);
  return {
    maxSkew: c.maxSkew,
    topologyKey: c.topologyKey,
    selector,
    minDomains: c.minDomains ?? 1,
    honorNodeAffinity: (c.nodeAffinityPolicy ?? 'Honor') === 'Honor',
    honorNodeTaints: c.nodeTaintsPolicy === 'Honor',
  };
}

const parsed = new WeakMap<Pod, { hard: Constraint[]; soft: Constraint[] }>();

/** The pod's DoNotSchedule (hard) and ScheduleAnyway (soft) constraints, parsed once per pod object. */
export function constraintsOf(pod: Pod): { hard: Constraint[]; soft: Constraint[] } {
  let c = parsed.get(pod);
  if (!c) {
    const all = pod.spec?.topologySpreadConstraints ?? [];
    c = {
      hard: all.filter((x) => x.whenUnsatisfiable === 'DoNotSchedule').map((x) => toConstraint(pod, x)),
      soft: all.filter((x) => x.whenUnsatisfiable === 'ScheduleAnyway').map((x) => toConstraint(pod, x)),
    };
    parsed.set(pod, c);
  }
  return c;
}

/** Pods on the node in `ns` matching the selector; terminating pods are not counted. */
export function countPodsMatchSelector(pods: readonly PodInfo[], selector: Selector, ns: string): number {
  let n = 0;
  for (const p of pods) {
    if (p.namespace !== ns || p.pod.metadata?.deletionTimestamp) continue;
    if (selector.matches(p.labels)) n++;
  }
  return n;
}

function hasAllKeys(labels: Record<string, string>, cs: readonly Constraint[]): boolean {
  for (const c of cs) if (labels[c.topologyKey] === undefined) return false;
  return true;
}

/** Upstream matchNodeInclusionPolicies. */
function nodeIncluded(c: Constraint, pod: Pod, ni: NodeInfo): boolean {
  if (c.honorNodeAffinity && !podMatchesNodeSelectorAndAffinity(pod, ni)) return false;
  if (c.honorNodeTaints && findMatchingUntoleratedTaint(ni.taints, pod.spec?.tolerations, isHardTaint)) return false;
  return true;
}

/**
 * Whether a constraint's counts can come from the snapshot's index: every node with the
 * topology keys takes part unless node inclusion policies depend on this pod.
 */
function indexable(c: Constraint, pod: Pod): boolean {
  return !c.honorNodeTaints && !(c.honorNodeAffinity && requiredNodeAffinity(pod));
}

function topologyKeys(cs: readonly Constraint[]): string[] {
  return [...new Set(cs.map((c) => c.topologyKey))].sort();
}

/** Pods in `namespace` the constraint selects, not terminating, on nodes carrying all `keys`. */
function spreadQuery(c: Constraint, namespace: string, keys: readonly string[]): PodCountQuery {
  return {
    key: ['spread', namespace, selectorKey(c.selector), c.topologyKey, keys.join(',')].join('\u0000'),
    topologyKey: c.topologyKey,
    requiredNodeKeys: keys,
    namespaces: new Set([namespace]),
    matches: (p) => p.namespace === namespace && !p.pod.metadata?.deletionTimestamp && c.selector.matches(p.labels),
  };
}

class PreFilterState implements StateData {
  constructor(
    readonly constraints: Constraint[],
    /** Per constraint: topology value → matching pods. */
    readonly tpValueToMatchNum: Map<string, number>[],
  ) {}

  clone(): PreFilterState {
    return new PreFilterState(
      this.constraints,
      this.tpValueToMatchNum.map((m) => new Map(m)),
    );
  }

  // Filter asks for the minimum once per node; it changes only when preemption's what-ifs add or remove pods.
  private minimums: (number | undefined)[] = [];

  /** Global minimum for constraint i (0 while there are fewer domains than minDomains). */
  minMatchNum(i: number): number {
    const cached = this.minimums[i];
    if (cached !== undefined) return cached;
    const m = this.tpValueToMatchNum[i];
    let min = Infinity;
    if (m.size >= this.constraints[i].minDomains) for (const v of m.values()) if (v < min) min = v;
    return (this.minimums[i] = min === Infinity ? 0 : min);
  }

  /** Adds `delta` matching pods to a domain of constraint i. */
  bump(i: number, value: string, delta: number): void {
    this.tpValueToMatchNum[i].set(value, (this.tpValueToMatchNum[i].get(value) ?? 0) + delta);
    this.minimums[i] = undefined;
  }
}

class PreScoreState implements StateData {
  constructor(
    readonly constraints: Constraint[],
    readonly ignoredNodes: Set<string>,
    readonly pairCounts: Map<string, number>[],
    readonly weights: number[],
  ) {}
  clone() {
    return this;
  }
}

const PRE_FILTER_KEY = 'PreFilter' + NAME;
const PRE_SCORE_KEY = 'PreScore' + NAME;

export class PodTopologySpread implements PreFilterPlugin, FilterPlugin, PreScorePlugin, ScorePlugin, EnqueueExtensions {
  readonly name = NAME;

  constructor(private readonly lister: NodeLister) {}

  preFilter(state: CycleState, pod: PodInfo, nodes: NodeLister): Result {
    const cs = constraintsOf(pod.pod).hard;
    if (cs.length === 0) return Status.skip;
    if (cs.every((c) => indexable(c, pod.pod))) {
      const keys = topologyKeys(cs);
      const counts = cs.map((c) => {
        const m = new Map<string, number>();
        for (const [value, d] of nodes.podCounts(spreadQuery(c, pod.namespace, keys))) m.set(value, d.pods);
        return m;
      });
      state.write(PRE_FILTER_KEY, new PreFilterState(cs, counts));
      return null;
    }
    const counts = cs.map(() => new Map<string, number>());
    for (const ni of nodes.list()) {
      if (!hasAllKeys(ni.labels, cs)) continue;
      for (let i = 0; i < cs.length; i++) {
        const c = cs[i];
        if (!nodeIncluded(c, pod.pod, ni)) continue;
        const v = ni.labels[c.topologyKey];
        counts[i].set(v, (counts[i].get(v) ?? 0) + countPodsMatchSelector(ni.pods, c.selector, pod.namespace));
      }
    }
    state.write(PRE_FILTER_KEY, new PreFilterState(cs, counts));
    return null;
  }

  preFilterExtensions(): PreFilterExtensions {
    const upd = (state: CycleState, pod: PodInfo, other: PodInfo, ni: NodeInfo, delta: number): Result => {
      const s = state.read<PreFilterState>(PRE_FILTER_KEY);
      if (!s || other.namespace !== pod.namespace || !hasAllKeys(ni.labels, s.constraints)) return null;
      s.constraints.forEach((c, i) => {
        if (!nodeIncluded(c, pod.pod, ni) || !c.selector.matches(other.labels)) return;
        s.bump(i, ni.labels[c.topologyKey], delta);
      });
      return null;
    };
    return {
      addPod: (state, pod, other, ni) => upd(state, pod, other, ni, 1),
      removePod: (state, pod, other, ni) => upd(state, pod, other, ni, -1),
    };
  }

  filter(state: CycleState, pod: PodInfo, nodeInfo: NodeInfo): Result {
    const s = state.read<PreFilterState>(PRE_FILTER_KEY);
    if (!s) return Status.error(NAME, 'reading PreFilterPodTopologySpread from cycle state: not found');
    for (let i = 0; i < s.constraints.length; i++) {
      const c = s.constraints[i];
      const v = nodeInfo.labels[c.topologyKey];
      if (v === undefined) return LABEL_REJECT;
      const self = c.selector.matches(pod.labels) ? 1 : 0;
      const skew = (s.tpValueToMatchNum[i].get(v) ?? 0) + self - s.minMatchNum(i);
      if (skew > c.maxSkew) return SKEW_REJECT;
    }
    return null;
  }

  preScore(state: CycleState, pod: PodInfo, filtered: readonly NodeInfo[]): Result {
    const cs = constraintsOf(pod.pod).soft;
    // Upstream falls back to cluster-level default constraints built from Services/ReplicaSets; we have no such listers.
    if (cs.length === 0) return Status.skip;
    const ignored = new Set<string>();
    const pairCounts = cs.map(() => new Map<string, number>());
    let kept = 0;
    for (const ni of filtered) {
      if (!hasAllKeys(ni.labels, cs)) {
        ignored.add(ni.name);
        continue;
      }
      kept++;
      cs.forEach((c, i) => {
        if (c.topologyKey !== HOSTNAME) pairCounts[i].set(ni.labels[c.topologyKey], 0);
      });
    }
    if (kept === 0) return Status.skip;
    const weights = cs.map((c, i) => Math.log((c.topologyKey === HOSTNAME ? kept : pairCounts[i].size) + 2));
    if (cs.some((c) => c.topologyKey !== HOSTNAME) && cs.every((c) => indexable(c, pod.pod))) {
      const keys = topologyKeys(cs);
      cs.forEach((c, i) => {
        if (c.topologyKey === HOSTNAME) return;
        for (const [value, d] of this.lister.podCounts(spreadQuery(c, pod.namespace, keys))) {
          const cur = pairCounts[i].get(value);
          if (cur !== undefined) pairCounts[i].set(value, cur + d.pods);
        }
      });
    } else if (cs.some((c) => c.topologyKey !== HOSTNAME)) {
      for (const ni of this.lister.list()) {
        if (!hasAllKeys(ni.labels, cs)) continue;
        cs.forEach((c, i) => {
          if (c.topologyKey === HOSTNAME) return;
          const v = ni.labels[c.topologyKey];
          const cur = pairCounts[i].get(v);
          if (cur === undefined || !nodeIncluded(c, pod.pod, ni)) return;
          pairCounts[i].set(v, cur + countPodsMatchSelector(ni.pods, c.selector, pod.namespace));
        });
      }
    }
    state.write(PRE_SCORE_KEY, new PreScoreState(cs, ignored, pairCounts, weights));
    return null;
  }

  score(state: CycleState, pod: PodInfo, nodeInfo: NodeInfo): number {
    const s = state.read<PreScoreState>(PRE_SCORE_KEY);
    if (!s || s.ignoredNodes.has(nodeInfo.name)) return 0;
    let score = 0;
    s.constraints.forEach((c, i) => {
      const v = nodeInfo.labels[c.topologyKey];
      if (v === undefined) return;
      const cnt = c.topologyKey === HOSTNAME ? countPodsMatchSelector(nodeInfo.pods, c.selector, pod.namespace) : (s.pairCounts[i].get(v) ?? 0);
      score += cnt * s.weights[i] + (c.maxSkew - 1);
    });
    return Math.round(score);
  }

  normalizeScore(state: CycleState, _p: PodInfo, scores: number[], nodes: readonly NodeInfo[]): Result {
    const s = state.read<PreScoreState>(PRE_SCORE_KEY);
    if (!s) return null;
    let min = Infinity;
    let max = 0;
    for (let i = 0; i < scores.length; i++) {
      if (s.ignoredNodes.has(nodes[i].name)) continue;
      if (scores[i] < min) min = scores[i];
      if (scores[i] > max) max = scores[i];
    }
    for (let i = 0; i < scores.length; i++) {
      if (s.ignoredNodes.has(nodes[i].name)) scores[i] = 0;
      else if (max === 0) scores[i] = MAX_NODE_SCORE;
      else scores[i] = Math.trunc((MAX_NODE_SCORE * (max + min - scores[i])) / max);
    }
    return null;
  }

  eventsToRegister() {
    return [
      {
        event: { resource: 'Pod' as const, action: ActionType.Add | ActionType.UpdatePodLabel | ActionType.Delete },
        hint: (pod: Pod, oldObj: unknown, newObj: unknown) => {
          const changed = asPod(newObj) ?? asPod(oldObj);
          if (!changed) return 'Queue' as const;
          const other = PodInfo.of(changed);
          const me = PodInfo.of(pod);
          if (other.namespace !== me.namespace) return 'QueueSkip' as const;
          const { hard, soft } = constraintsOf(pod);
          const old = asPod(oldObj);
          const matches = (p: Pod | undefined) => !!p && [...hard, ...soft].some((c) => c.selector.matches(p.metadata?.labels));
          return matches(changed) || matches(old) ? ('Queue' as const) : ('QueueSkip' as const);
        },
      },
      { event: { resource: 'Node' as const, action: ActionType.Add | ActionType.Delete | ActionType.UpdateNodeLabel | ActionType.UpdateNodeTaint } },
    ];
  }
}

export const newPodTopologySpread = (_args: unknown, handle: { snapshot: NodeLister }) => new PodTopologySpread(handle.snapshot);
