/**
 * InterPodAffinity: required pod affinity / anti-affinity of the incoming pod and the
 * required anti-affinity of pods already running decide where a pod may go; preferred
 * terms (both ways) and existing pods' required affinity shape the score.
 * Counting is per topology domain (topologyKey=value), as upstream.
 */
import type { Pod } from 'kubernetes-types/core/v1.js';
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
import { PodInfo, termMatches, type AffinityTerm, type NodeInfo } from '../node-info.js';
import { asPod } from './helpers.js';
import { allTermsQueries, termQuery, type PlacedTermKind } from '../pod-count-index.js';

export const NAME = 'InterPodAffinity';
export const ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH = "node(s) didn't satisfy existing pods anti-affinity rules";
export const ERR_REASON_AFFINITY_RULES_NOT_MATCH = "node(s) didn't match pod affinity rules";
export const ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH = "node(s) didn't match pod anti-affinity rules";

const AFFINITY_REJECT = Status.unresolvable(NAME, ERR_REASON_AFFINITY_RULES_NOT_MATCH);
const ANTI_REJECT = Status.unschedulable(NAME, ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH);
const EXISTING_ANTI_REJECT = Status.unschedulable(NAME, ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH);

export interface InterPodAffinityArgs {
  /** Weight given to existing pods' required affinity terms matching the incoming pod (upstream default 1). */
  hardPodAffinityWeight?: number;
  ignorePreferredTermsOfExistingPods?: boolean;
}

/** Topology pair key: "key\0value". */
const pair = (k: string, v: string) => k + '\u0000' + v;

/** Counts of matching pods per topology pair (upstream topologyToMatchedTermCount). */
class Counts extends Map<string, number> {
  bump(labels: Record<string, string>, topologyKey: string, delta: number): void {
    const v = labels[topologyKey];
    if (v === undefined) return;
    const k = pair(topologyKey, v);
    const n = (this.get(k) ?? 0) + delta;
    if (n === 0) this.delete(k);
    else this.set(k, n);
  }

  add(key: string, n: number): void {
    this.set(key, (this.get(key) ?? 0) + n);
  }
}

function isEmpty(items: Iterable<unknown>): boolean {
  for (const _ of items) return false;
  return true;
}

function podMatchesAllTerms(terms: readonly AffinityTerm[], pod: PodInfo, nsLabels: Record<string, string>): boolean {
  if (terms.length === 0) return false;
  for (const t of terms) if (!termMatches(t, pod, nsLabels)) return false;
  return true;
}

class PreFilterState implements StateData {
  constructor(
    readonly pod: PodInfo,
    readonly nsLabels: Record<string, string>,
    readonly existingAntiAffinityCounts: Counts,
    readonly affinityCounts: Counts,
    readonly antiAffinityCounts: Counts,
  ) {}

  clone(): PreFilterState {
    return new PreFilterState(
      this.pod,
      this.nsLabels,
      new Counts(this.existingAntiAffinityCounts),
      new Counts(this.affinityCounts),
      new Counts(this.antiAffinityCounts),
    );
  }

  /** Accounts for `other` appearing (+1) or disappearing (-1) on `node` (upstream updateWithPod). */
  updateWithPod(other: PodInfo, node: NodeInfo, delta: number, lister: NodeLister): void {
    for (const t of other.requiredAntiAffinityTerms) {
      if (termMatches(t, this.pod, this.nsLabels)) this.existingAntiAffinityCounts.bump(node.labels, t.topologyKey, delta);
    }
    const otherNs = lister.namespaceLabels(other.namespace);
    if (podMatchesAllTerms(this.pod.requiredAffinityTerms, other, otherNs)) {
      for (const t of this.pod.requiredAffinityTerms) this.affinityCounts.bump(node.labels, t.topologyKey, delta);
    }
    for (const t of this.pod.requiredAntiAffinityTerms) {
      if (termMatches(t, other, otherNs)) this.antiAffinityCounts.bump(node.labels, t.topologyKey, delta);
    }
  }
}

class PreScoreState implements StateData {
  constructor(readonly topologyScore: Map<string, Map<string, number>>) {}
  clone() {
    return this;
  }
}

const PRE_FILTER_KEY = 'PreFilter' + NAME;
const PRE_SCORE_KEY = 'PreScore' + NAME;

export class InterPodAffinity implements PreFilterPlugin, FilterPlugin, PreScorePlugin, ScorePlugin, EnqueueExtensions {
  readonly name = NAME;
  private readonly hardPodAffinityWeight: number;
  private readonly ignorePreferredTermsOfExistingPods: boolean;

  constructor(
    private readonly lister: NodeLister,
    args?: InterPodAffinityArgs,
  ) {
    this.hardPodAffinityWeight = args?.hardPodAffinityWeight ?? 1;
    this.ignorePreferredTermsOfExistingPods = args?.ignorePreferredTermsOfExistingPods ?? false;
  }

  preFilter(state: CycleState, pod: PodInfo, nodes: NodeLister): Result {
    const placedAnti = nodes.termsOfPlacedPods('requiredAntiAffinity');
    if (pod.requiredAffinityTerms.length === 0 && pod.requiredAntiAffinityTerms.length === 0 && isEmpty(placedAnti)) return Status.skip;
    const nsLabels = nodes.namespaceLabels(pod.namespace);
    // Counts come from the snapshot's indexes: one match per distinct term, not per placed pod.
    const existing = new Counts();
    for (const { term, domains } of placedAnti) {
      if (termMatches(term, pod, nsLabels)) for (const [value, n] of domains) existing.add(pair(term.topologyKey, value), n);
    }
    const aff = new Counts();
    if (pod.requiredAffinityTerms.length > 0) {
      for (const query of allTermsQueries(pod.requiredAffinityTerms)) {
        for (const [value, d] of nodes.podCounts(query)) if (d.pods > 0) aff.add(pair(query.topologyKey, value), d.pods);
      }
    }
    const anti = new Counts();
    for (const t of pod.requiredAntiAffinityTerms) {
      for (const [value, d] of nodes.podCounts(termQuery(t))) if (d.pods > 0) anti.add(pair(t.topologyKey, value), d.pods);
    }
    state.write(PRE_FILTER_KEY, new PreFilterState(pod, nsLabels, existing, aff, anti));
    return null;
  }

  preFilterExtensions(): PreFilterExtensions {
    const upd = (state: CycleState, other: PodInfo, ni: NodeInfo, delta: number): Result => {
      state.read<PreFilterState>(PRE_FILTER_KEY)?.updateWithPod(other, ni, delta, this.lister);
      return null;
    };
    return {
      addPod: (state, _pod, other, ni) => upd(state, other, ni, 1),
      removePod: (state, _pod, other, ni) => upd(state, other, ni, -1),
    };
  }

  filter(state: CycleState, pod: PodInfo, nodeInfo: NodeInfo): Result {
    const s = state.read<PreFilterState>(PRE_FILTER_KEY);
    if (!s) return Status.error(NAME, 'reading PreFilterInterPodAffinity from cycle state: not found');
    if (!this.satisfyPodAffinity(s, pod, nodeInfo)) return AFFINITY_REJECT;
    if (!satisfyPodAntiAffinity(s, pod, nodeInfo)) return ANTI_REJECT;
    if (!satisfyExistingPodsAntiAffinity(s, nodeInfo)) return EXISTING_ANTI_REJECT;
    return null;
  }

  private satisfyPodAffinity(s: PreFilterState, pod: PodInfo, ni: NodeInfo): boolean {
    let podsExist = true;
    for (const t of pod.requiredAffinityTerms) {
      const v = ni.labels[t.topologyKey];
      if (v === undefined) return false; // every topology label must exist on the node
      if ((s.affinityCounts.get(pair(t.topologyKey, v)) ?? 0) <= 0) podsExist = false;
    }
    if (podsExist) return true;
    // The first pod of a group with affinity to itself must not wait forever: allow it
    // when no pod anywhere matches and the pod matches its own terms.
    return s.affinityCounts.size === 0 && podMatchesAllTerms(pod.requiredAffinityTerms, pod, s.nsLabels);
  }

  preScore(state: CycleState, pod: PodInfo): Result {
    const hasConstraints = pod.preferredAffinityTerms.length > 0 || pod.preferredAntiAffinityTerms.length > 0;
    if (this.ignorePreferredTermsOfExistingPods && !hasConstraints) return Status.skip;
    if (!hasConstraints && this.lister.havePodsWithAffinityList().length === 0) return Status.skip;
    const nsLabels = this.lister.namespaceLabels(pod.namespace);
    const topo = new Map<string, Map<string, number>>();
    const add = (key: string, value: string, w: number) => {
      if (w === 0) return;
      let m = topo.get(key);
      if (!m) topo.set(key, (m = new Map()));
      m.set(value, (m.get(value) ?? 0) + w);
    };
    // The incoming pod's preferred terms, against every placed pod they select.
    for (const t of pod.preferredAffinityTerms) {
      for (const [value, d] of this.lister.podCounts(termQuery(t))) add(t.topologyKey, value, t.weight * d.pods);
    }
    for (const t of pod.preferredAntiAffinityTerms) {
      for (const [value, d] of this.lister.podCounts(termQuery(t))) add(t.topologyKey, value, -t.weight * d.pods);
    }
    // Placed pods' terms that select the incoming pod.
    const fromPlaced = (kind: PlacedTermKind, sign: number, weightOf: (w: number) => number) => {
      for (const { term, weight, domains } of this.lister.termsOfPlacedPods(kind)) {
        if (!termMatches(term, pod, nsLabels)) continue;
        for (const [value, n] of domains) add(term.topologyKey, value, sign * weightOf(weight) * n);
      }
    };
    if (this.hardPodAffinityWeight > 0) fromPlaced('requiredAffinity', 1, () => this.hardPodAffinityWeight);
    fromPlaced('preferredAffinity', 1, (w) => w);
    fromPlaced('preferredAntiAffinity', -1, (w) => w);
    if (topo.size === 0) return Status.skip;
    state.write(PRE_SCORE_KEY, new PreScoreState(topo));
    return null;
  }

  score(state: CycleState, _pod: PodInfo, nodeInfo: NodeInfo): number {
    const s = state.read<PreScoreState>(PRE_SCORE_KEY);
    if (!s) return 0;
    let sum = 0;
    for (const [key, values] of s.topologyScore) {
      const v = nodeInfo.labels[key];
      if (v !== undefined) sum += values.get(v) ?? 0;
    }
    return sum;
  }

  normalizeScore(_s: CycleState, _p: PodInfo, scores: number[]): Result {
    let min = Infinity;
    let max = -Infinity;
    for (const x of scores) {
      if (x < min) min = x;
      if (x > max) max = x;
    }
    const diff = max - min;
    for (let i = 0; i < scores.length; i++) scores[i] = diff > 0 ? Math.trunc((MAX_NODE_SCORE * (scores[i] - min)) / diff) : 0;
    return null;
  }

  eventsToRegister() {
    return [
      {
        event: { resource: 'Pod' as const, action: ActionType.Add | ActionType.UpdatePodLabel | ActionType.Delete },
        hint: (pod: Pod, oldObj: unknown, newObj: unknown) => {
          const me = PodInfo.of(pod);
          const added = asPod(newObj);
          const removed = added ? undefined : asPod(oldObj);
          const nsOf = (p: PodInfo) => ({ 'kubernetes.io/metadata.name': p.namespace });
          if (added) {
            // A new match for our required affinity may satisfy it.
            const other = PodInfo.of(added);
            if (me.requiredAffinityTerms.some((t) => termMatches(t, other, nsOf(other)))) return 'Queue' as const;
            return 'QueueSkip' as const;
          }
          if (removed) {
            const other = PodInfo.of(removed);
            if (other.requiredAntiAffinityTerms.length > 0) return 'Queue' as const;
            if (me.requiredAntiAffinityTerms.some((t) => termMatches(t, other, nsOf(other)))) return 'Queue' as const;
            return 'QueueSkip' as const;
          }
          return 'Queue' as const;
        },
      },
      { event: { resource: 'Node' as const, action: ActionType.Add | ActionType.UpdateNodeLabel } },
    ];
  }
}

function satisfyPodAntiAffinity(s: PreFilterState, pod: PodInfo, ni: NodeInfo): boolean {
  if (s.antiAffinityCounts.size === 0) return true;
  for (const t of pod.requiredAntiAffinityTerms) {
    const v = ni.labels[t.topologyKey];
    if (v !== undefined && (s.antiAffinityCounts.get(pair(t.topologyKey, v)) ?? 0) > 0) return false;
  }
  return true;
}

function satisfyExistingPodsAntiAffinity(s: PreFilterState, ni: NodeInfo): boolean {
  if (s.existingAntiAffinityCounts.size === 0) return true;
  for (const k in ni.labels) {
    if ((s.existingAntiAffinityCounts.get(pair(k, ni.labels[k])) ?? 0) > 0) return false;
  }
  return true;
}

export const newInterPodAffinity = (args: unknown, handle: { snapshot: NodeLister }) => new InterPodAffinity(handle.snapshot, args as InterPodAffinityArgs | undefined);
