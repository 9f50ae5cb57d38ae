/**
 * The scheduler's cache of the cluster (upstream internal/cache + Snapshot). The
 * scheduling cycle is synchronous, so plugins read this cache directly instead of a
 * per-cycle copy: informer events and bind results are applied between cycles.
 *
 * Assumed pods (bound by us, informer not yet caught up) are counted immediately so
 * the next cycle does not hand out the same room twice.
 */
import type { Namespace, Node, Pod } from 'kubernetes-types/core/v1.js';
import type { NodeLister } from './framework.js';
import { NodeInfo, PodInfo } from './node-info.js';
import { PlacedTermIndex, PodCountIndex, type DomainCount, type PlacedTerm, type PlacedTermKind, type PodCountQuery } from './pod-count-index.js';

interface PodState {
  info: PodInfo;
  nodeName: string;
  assumed: boolean;
  /** Clock time after which an assumed pod whose binding finished is dropped (0 = never). */
  deadline: number;
  bindingFinished: boolean;
}

/** Whether a pod no longer holds node resources (upstream: terminal pods are not counted). */
export function isTerminal(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed';
}

export class Snapshot implements NodeLister {
  private nodes = new Map<string, NodeInfo>();
  private nodeList: NodeInfo[] = [];
  private listDirty = false;
  private podStates = new Map<string, PodState>();
  private withAffinity = new Set<NodeInfo>();
  private withRequiredAnti = new Set<NodeInfo>();
  private affinityList: NodeInfo[] | undefined;
  private antiList: NodeInfo[] | undefined;
  private nsLabels = new Map<string, Record<string, string>>();
  private readonly counts = new PodCountIndex(this);
  private readonly placedTerms: Record<PlacedTermKind, PlacedTermIndex> = {
    requiredAffinity: new PlacedTermIndex('requiredAffinity'),
    requiredAntiAffinity: new PlacedTermIndex('requiredAntiAffinity'),
    preferredAffinity: new PlacedTermIndex('preferredAffinity'),
    preferredAntiAffinity: new PlacedTermIndex('preferredAntiAffinity'),
  };

  // --- NodeLister

  list(): readonly NodeInfo[] {
    if (this.listDirty) {
      this.nodeList = [...this.nodes.values()].filter((n) => n.node !== undefined);
      this.listDirty = false;
    }
    return this.nodeList;
  }

  get(name: string): NodeInfo | undefined {
    return this.nodes.get(name);
  }

  havePodsWithAffinityList(): readonly NodeInfo[] {
    return (this.affinityList ??= [...this.withAffinity].filter((n) => n.node !== undefined));
  }

  havePodsWithRequiredAntiAffinityList(): readonly NodeInfo[] {
    return (this.antiList ??= [...this.withRequiredAnti].filter((n) => n.node !== undefined));
  }

  podCounts(query: PodCountQuery): ReadonlyMap<string, Readonly<DomainCount>> {
    return this.counts.counts(query);
  }

  termsOfPlacedPods(kind: PlacedTermKind): Iterable<PlacedTerm> {
    return this.placedTerms[kind].terms();
  }

  namespaceLabels(ns: string): Record<string, string> {
    let l = this.nsLabels.get(ns);
    if (!l) {
      // Without a namespace informer, fall back to the label every namespace carries.
      l = { 'kubernetes.io/metadata.name': ns };
      this.nsLabels.set(ns, l);
    }
    return l;
  }

  // --- nodes

  get numNodes(): number {
    return this.list().length;
  }

  addNode(node: Node): NodeInfo {
    const name = node.metadata?.name ?? '';
    let ni = this.nodes.get(name);
    if (!ni) {
      ni = new NodeInfo(name, node);
      this.nodes.set(name, ni);
      if (!this.listDirty) this.nodeList.push(ni);
      this.indexNode(ni, ni.labels, 1);
    } else {
      const wasListed = ni.node !== undefined;
      const oldLabels = ni.labels;
      ni.setNode(node);
      if (!wasListed) {
        this.listDirty = true;
        this.indexNode(ni, ni.labels, 1);
      } else if (!sameLabels(oldLabels, ni.labels)) {
        this.indexNode(ni, oldLabels, -1);
        this.indexNode(ni, ni.labels, 1);
      }
    }
    this.affinityList = this.antiList = undefined;
    return ni;
  }

  updateNode(node: Node): NodeInfo {
    return this.addNode(node);
  }

  removeNode(node: Node | string): void {
    const name = typeof node === 'string' ? node : (node.metadata?.name ?? '');
    const ni = this.nodes.get(name);
    if (!ni) return;
    // Pods may still be reported on a deleted node; keep their NodeInfo until they go (as upstream).
    if (ni.node) this.indexNode(ni, ni.labels, -1);
    ni.node = undefined;
    if (ni.pods.length === 0) this.dropNode(ni);
    this.listDirty = true;
    this.affinityList = this.antiList = undefined;
  }

  /** A listed node's pods enter (+1) or leave (-1) the indexes under these labels. */
  private indexNode(ni: NodeInfo, labels: Record<string, string>, sign: 1 | -1): void {
    this.counts.nodeChanged(ni, labels, sign);
    if (ni.podsWithAffinity.length === 0) return;
    for (const index of Object.values(this.placedTerms)) index.nodeChanged(ni, labels, sign);
  }

  private indexPod(pod: PodInfo, ni: NodeInfo, sign: 1 | -1): void {
    if (!ni.node) return;
    if (sign > 0) this.counts.podAdded(pod, ni);
    else this.counts.podRemoved(pod, ni);
    if (!pod.hasAffinity) return;
    for (const index of Object.values(this.placedTerms)) {
      if (sign > 0) index.podAdded(pod, ni.labels);
      else index.podRemoved(pod, ni.labels);
    }
  }

  private dropNode(ni: NodeInfo): void {
    this.nodes.delete(ni.name);
    this.withAffinity.delete(ni);
    this.withRequiredAnti.delete(ni);
  }

  // --- namespaces

  setNamespace(ns: Namespace): void {
    const name = ns.metadata?.name ?? '';
    const labels = { 'kubernetes.io/metadata.name': name, ...(ns.metadata?.labels ?? {}) };
    const old = this.nsLabels.get(name);
    this.nsLabels.set(name, labels);
    // Namespace selectors may now pick other pods: recount what was asked.
    if (!old || !sameLabels(old, labels)) this.counts.clear();
  }

  deleteNamespace(ns: Namespace): void {
    this.nsLabels.delete(ns.metadata?.name ?? '');
    this.counts.clear();
  }

  // --- pods

  private nodeInfoFor(name: string): NodeInfo {
    let ni = this.nodes.get(name);
    if (!ni) {
      ni = new NodeInfo(name);
      this.nodes.set(name, ni);
    }
    return ni;
  }

  private place(info: PodInfo, nodeName: string): void {
    const ni = this.nodeInfoFor(nodeName);
    ni.addPod(info);
    this.indexPod(info, ni, 1);
    if (info.hasAffinity && !this.withAffinity.has(ni)) {
      this.withAffinity.add(ni);
      this.affinityList = undefined;
    }
    if (info.requiredAntiAffinityTerms.length > 0 && !this.withRequiredAnti.has(ni)) {
      this.withRequiredAnti.add(ni);
      this.antiList = undefined;
    }
  }

  private unplace(key: string, nodeName: string): void {
    const ni = this.nodes.get(nodeName);
    if (!ni) return;
    const pi = ni.removePod(key);
    if (pi) this.indexPod(pi, ni, -1);
    if (pi?.hasAffinity && ni.podsWithAffinity.length === 0) {
      this.withAffinity.delete(ni);
      this.affinityList = undefined;
    }
    if (pi && pi.requiredAntiAffinityTerms.length > 0 && ni.podsWithRequiredAntiAffinity.length === 0) {
      this.withRequiredAnti.delete(ni);
      this.antiList = undefined;
    }
    if (!ni.node && ni.pods.length === 0) this.dropNode(ni);
  }

  /** The node an assigned or assumed pod occupies, if we know it. */
  nodeOf(key: string): string | undefined {
    return this.podStates.get(key)?.nodeName;
  }

  isAssumed(key: string): boolean {
    return this.podStates.get(key)?.assumed ?? false;
  }

  /**
   * An assigned pod seen by the informer (add or update). Confirms an assumed pod;
   * terminal pods release their room.
   */
  upsertPod(pod: Pod): void {
    const key = PodInfo.keyOf(pod);
    const nodeName = pod.spec?.nodeName;
    const cur = this.podStates.get(key);
    if (!nodeName || isTerminal(pod)) {
      if (cur) this.removePodByKey(key);
      return;
    }
    if (cur) this.unplace(key, cur.nodeName);
    const info = PodInfo.of(pod);
    this.place(info, nodeName);
    this.podStates.set(key, { info, nodeName, assumed: false, deadline: 0, bindingFinished: true });
  }

  removePod(pod: Pod): void {
    this.removePodByKey(PodInfo.keyOf(pod));
  }

  removePodByKey(key: string): void {
    const cur = this.podStates.get(key);
    if (!cur) return;
    this.unplace(key, cur.nodeName);
    this.podStates.delete(key);
  }

  /** Counts `pod` on `nodeName` right away, before the bind is confirmed. Returns the assumed info. */
  assumePod(pod: PodInfo, nodeName: string): PodInfo {
    const info = pod.assignedTo(nodeName);
    const cur = this.podStates.get(pod.key);
    if (cur) this.unplace(pod.key, cur.nodeName);
    this.place(info, nodeName);
    this.podStates.set(pod.key, { info, nodeName, assumed: true, deadline: 0, bindingFinished: false });
    return info;
  }

  /** Undoes {@link assumePod} (binding failed). Confirmed pods are left alone. */
  forgetPod(key: string): void {
    const cur = this.podStates.get(key);
    if (cur?.assumed) this.removePodByKey(key);
  }

  /** Marks binding done; with ttlMs > 0 the assumption expires if the informer never confirms it. */
  finishBinding(key: string, now: number, ttlMs: number): void {
    const cur = this.podStates.get(key);
    if (!cur?.assumed) return;
    cur.bindingFinished = true;
    cur.deadline = ttlMs > 0 ? now + ttlMs : 0;
  }

  /** Drops assumed pods whose binding finished and whose deadline passed; returns their keys. */
  cleanupExpiredAssumedPods(now: number): string[] {
    const expired: string[] = [];
    for (const [key, st] of this.podStates) {
      if (st.assumed && st.bindingFinished && st.deadline > 0 && st.deadline <= now) expired.push(key);
    }
    for (const k of expired) this.removePodByKey(k);
    return expired;
  }

  /** Number of pods counted (assigned + assumed). */
  get numPods(): number {
    return this.podStates.size;
  }
}

function sameLabels(a: Record<string, string>, b: Record<string, string>): boolean {
  if (a === b) return true;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const k of keys) if (a[k] !== b[k]) return false;
  return true;
}
