/**
 * Incremental counts of pods per topology domain, so that inter-pod affinity and topology
 * spreading cost O(matching questions), not O(all pods), per scheduling cycle — the work
 * upstream's PreFilter redoes for every pod (scheduler_perf's affinity workloads) is done
 * here once per pod arrival or departure.
 *
 * Two indexes live here:
 *  - {@link PodCountIndex} answers "how many pods matching Q are in each domain of key K"
 *    for questions the plugins ask (an incoming pod's affinity terms, its spread
 *    constraints). A question is counted by a full scan the first time it is asked and kept
 *    up to date afterwards; the least recently asked are dropped beyond a capacity.
 *  - {@link PlacedTermIndex} groups the (anti-)affinity terms of pods already placed by
 *    term, with per-domain counts, so "which existing pods repel or attract this pod" is
 *    one match per distinct term.
 *
 * Both see only nodes the informer knows (NodeInfo.node set), as the plugins' scans did.
 */
import { termMatches, type AffinityTerm, type NodeInfo, type PodInfo } from './node-info.js';

/** A question: the pods matching `matches`, counted per value of `topologyKey`. */
export interface PodCountQuery {
  /** Identity: two queries with the same key must count the same pods the same way. */
  readonly key: string;
  readonly topologyKey: string;
  /** Only nodes carrying every one of these labels take part (they always include topologyKey). */
  readonly requiredNodeKeys: readonly string[];
  /** When set, only pods in these namespaces can match (lets a pod event skip the query cheaply). */
  readonly namespaces?: ReadonlySet<string>;
  matches(pod: PodInfo, namespaceLabels: Record<string, string>): boolean;
}

/** One topology domain of a query: how many eligible nodes it has and how many matching pods. */
export interface DomainCount {
  nodes: number;
  pods: number;
}

/** What the indexes read: the listed nodes and namespace labels. */
export interface IndexSource {
  list(): readonly NodeInfo[];
  namespaceLabels(namespace: string): Record<string, string>;
}

interface QueryEntry {
  query: PodCountQuery;
  domains: Map<string, DomainCount>;
}

function eligible(query: PodCountQuery, labels: Record<string, string>): boolean {
  for (const k of query.requiredNodeKeys) if (labels[k] === undefined) return false;
  return true;
}

/** Counts of pods matching the plugins' questions, per topology domain, kept current incrementally. */
export class PodCountIndex {
  // A Map iterates in insertion order: re-inserting on use makes the first entry the least recently used.
  private readonly entries = new Map<string, QueryEntry>();

  constructor(
    private readonly source: IndexSource,
    private readonly capacity = 1024,
  ) {}

  /** Per-domain counts for the query: built by one scan on first use, then maintained. */
  counts(query: PodCountQuery): ReadonlyMap<string, Readonly<DomainCount>> {
    const hit = this.entries.get(query.key);
    if (hit) {
      this.entries.delete(query.key);
      this.entries.set(query.key, hit);
      return hit.domains;
    }
    const entry: QueryEntry = { query, domains: new Map() };
    for (const ni of this.source.list()) this.applyNode(entry, ni, ni.labels, 1);
    this.entries.set(query.key, entry);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as string);
    return entry.domains;
  }

  /** Number of questions currently maintained. */
  get size(): number {
    return this.entries.size;
  }

  /** A pod was placed on a listed node. */
  podAdded(pod: PodInfo, ni: NodeInfo): void {
    this.applyPod(pod, ni, 1);
  }

  /** A pod left a listed node. */
  podRemoved(pod: PodInfo, ni: NodeInfo): void {
    this.applyPod(pod, ni, -1);
  }

  /** A node (with its pods) joins the listed nodes, or leaves them, with these labels. */
  nodeChanged(ni: NodeInfo, labels: Record<string, string>, sign: 1 | -1): void {
    for (const entry of this.entries.values()) this.applyNode(entry, ni, labels, sign);
  }

  /** Namespace labels changed: namespace selectors may now select other pods. */
  clear(): void {
    this.entries.clear();
  }

  private applyPod(pod: PodInfo, ni: NodeInfo, sign: 1 | -1): void {
    if (this.entries.size === 0) return;
    const nsLabels = this.source.namespaceLabels(pod.namespace);
    for (const { query, domains } of this.entries.values()) {
      if (query.namespaces && !query.namespaces.has(pod.namespace)) continue;
      if (!eligible(query, ni.labels) || !query.matches(pod, nsLabels)) continue;
      const d = domains.get(ni.labels[query.topologyKey]);
      if (d) d.pods += sign;
    }
  }

  private applyNode(entry: QueryEntry, ni: NodeInfo, labels: Record<string, string>, sign: 1 | -1): void {
    const { query, domains } = entry;
    if (!eligible(query, labels)) return;
    const value = labels[query.topologyKey];
    let d = domains.get(value);
    if (!d) domains.set(value, (d = { nodes: 0, pods: 0 }));
    d.nodes += sign;
    for (const pod of ni.pods) {
      if (query.namespaces && !query.namespaces.has(pod.namespace)) continue;
      if (query.matches(pod, this.source.namespaceLabels(pod.namespace))) d.pods += sign;
    }
    if (d.nodes <= 0) domains.delete(value);
  }
}

/** Which terms of placed pods a {@link PlacedTermIndex} groups. */
export type PlacedTermKind = 'requiredAffinity' | 'requiredAntiAffinity' | 'preferredAffinity' | 'preferredAntiAffinity';

/** A distinct term carried by placed pods, with how many carry it per domain of its topology key. */
export interface PlacedTerm {
  readonly term: AffinityTerm;
  /** The term's weight (preferred terms); 1 for required ones. */
  readonly weight: number;
  /** topology value → pods carrying the term in that domain. */
  readonly domains: ReadonlyMap<string, number>;
}

function termsOf(pod: PodInfo, kind: PlacedTermKind): readonly (AffinityTerm & { weight?: number })[] {
  switch (kind) {
    case 'requiredAffinity':
      return pod.requiredAffinityTerms;
    case 'requiredAntiAffinity':
      return pod.requiredAntiAffinityTerms;
    case 'preferredAffinity':
      return pod.preferredAffinityTerms;
    case 'preferredAntiAffinity':
      return pod.preferredAntiAffinityTerms;
  }
}

/**
 * The (anti-)affinity terms of one kind carried by pods on listed nodes, grouped by
 * identical term and weight: "which placed pods attract or repel this pod" then costs one
 * match per distinct term instead of one per placed pod.
 */
export class PlacedTermIndex {
  private readonly byKey = new Map<string, { term: AffinityTerm; weight: number; domains: Map<string, number> }>();

  constructor(readonly kind: PlacedTermKind) {}

  /** Every distinct term with its per-domain counts (iterable more than once). */
  terms(): Iterable<PlacedTerm> {
    return this.view;
  }

  private readonly view: Iterable<PlacedTerm> = { [Symbol.iterator]: () => this.byKey.values() };

  podAdded(pod: PodInfo, labels: Record<string, string>): void {
    this.apply(pod, labels, 1);
  }

  podRemoved(pod: PodInfo, labels: Record<string, string>): void {
    this.apply(pod, labels, -1);
  }

  /** A node's pods join or leave the listed nodes with these labels. */
  nodeChanged(ni: NodeInfo, labels: Record<string, string>, sign: 1 | -1): void {
    for (const pod of ni.podsWithAffinity) this.apply(pod, labels, sign);
  }

  private apply(pod: PodInfo, labels: Record<string, string>, sign: 1 | -1): void {
    for (const term of termsOf(pod, this.kind)) {
      const value = labels[term.topologyKey];
      if (value === undefined) continue;
      const weight = term.weight ?? 1;
      const key = weight === 1 ? term.key : `${term.key}\u0000${weight}`;
      let group = this.byKey.get(key);
      if (!group) this.byKey.set(key, (group = { term, weight, domains: new Map() }));
      const n = (group.domains.get(value) ?? 0) + sign;
      if (n > 0) group.domains.set(value, n);
      else group.domains.delete(value);
      if (group.domains.size === 0) this.byKey.delete(key);
    }
  }
}

/** A query counting pods that match one affinity term. */
export function termQuery(term: AffinityTerm): PodCountQuery {
  return {
    key: 'term\u0000' + term.key,
    topologyKey: term.topologyKey,
    requiredNodeKeys: [term.topologyKey],
    namespaces: term.namespaceSelector ? undefined : term.namespaces,
    matches: (pod, nsLabels) => termMatches(term, pod, nsLabels),
  };
}

/** Queries counting pods that match every one of the terms, one per term's topology key. */
export function allTermsQueries(terms: readonly AffinityTerm[]): PodCountQuery[] {
  const key = terms.map((t) => t.key).join('\u0002');
  const anyNamespace = terms.some((t) => t.namespaceSelector);
  const namespaces = anyNamespace ? undefined : intersect(terms.map((t) => t.namespaces));
  const matches = (pod: PodInfo, nsLabels: Record<string, string>) => {
    for (const t of terms) if (!termMatches(t, pod, nsLabels)) return false;
    return true;
  };
  return terms.map((t) => ({ key: `all\u0000${key}\u0000${t.topologyKey}`, topologyKey: t.topologyKey, requiredNodeKeys: [t.topologyKey], namespaces, matches }));
}

function intersect(sets: readonly ReadonlySet<string>[]): ReadonlySet<string> {
  const [first, ...rest] = sets;
  return new Set([...first].filter((x) => rest.every((s) => s.has(x))));
}
