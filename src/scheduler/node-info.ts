/**
 * Per-pod and per-node aggregates the plugins read on every cycle (upstream
 * framework.PodInfo / NodeInfo / Resource). Everything a filter needs is computed
 * once, when a pod or node enters the cache, so a scheduling cycle never re-parses
 * quantities or walks a node's pods to add up requests.
 */
import type { Container, Node, Pod, PodAffinityTerm, Taint, WeightedPodAffinityTerm } from 'kubernetes-types/core/v1.js';
import { milliValue, value } from '../api/quantity.js';
import { selectorFromLabelSelector, type Selector } from '../api/labels.js';

/** Upstream schedutil.DefaultMilliCPURequest: what a container without a cpu request counts as when scoring. */
export const DEFAULT_MILLI_CPU_REQUEST = 100;
/** Upstream schedutil.DefaultMemoryRequest (200 MiB). */
export const DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024;

/** Resources the scheduler tracks by name, beyond cpu/memory/ephemeral-storage/pods. */
export function isScalarResourceName(name: string): boolean {
  // Extended resources are domain-prefixed; hugepages and attachable volumes are native scalars.
  return name.includes('/') || name.startsWith('hugepages-') || name.startsWith('attachable-volumes-');
}

/** A set of resource amounts: cpu in millicores, the rest in base units. */
export class Resource {
  milliCPU = 0;
  memory = 0;
  ephemeralStorage = 0;
  allowedPodNumber = 0;
  scalar: Map<string, number> | undefined;

  /** Builds a Resource from a ResourceList (e.g. node allocatable). */
  static fromList(rl: Record<string, string | number> | undefined): Resource {
    const r = new Resource();
    if (!rl) return r;
    for (const [name, q] of Object.entries(rl)) r.addNamed(name, name === 'cpu' ? milliValue(q) : value(q));
    return r;
  }

  /** Adds `amount` (millicores for cpu) of the named resource. */
  addNamed(name: string, amount: number): void {
    switch (name) {
      case 'cpu':
        this.milliCPU += amount;
        break;
      case 'memory':
        this.memory += amount;
        break;
      case 'ephemeral-storage':
        this.ephemeralStorage += amount;
        break;
      case 'pods':
        this.allowedPodNumber += amount;
        break;
      default:
        if (isScalarResourceName(name)) {
          this.scalar ??= new Map();
          this.scalar.set(name, (this.scalar.get(name) ?? 0) + amount);
        }
    }
  }

  getNamed(name: string): number {
    switch (name) {
      case 'cpu':
        return this.milliCPU;
      case 'memory':
        return this.memory;
      case 'ephemeral-storage':
        return this.ephemeralStorage;
      case 'pods':
        return this.allowedPodNumber;
      default:
        return this.scalar?.get(name) ?? 0;
    }
  }

  /** this += sign * o */
  add(o: Resource, sign = 1): void {
    this.milliCPU += sign * o.milliCPU;
    this.memory += sign * o.memory;
    this.ephemeralStorage += sign * o.ephemeralStorage;
    this.allowedPodNumber += sign * o.allowedPodNumber;
    if (o.scalar) {
      this.scalar ??= new Map();
      for (const [k, v] of o.scalar) this.scalar.set(k, (this.scalar.get(k) ?? 0) + sign * v);
    }
  }

  clone(): Resource {
    const r = new Resource();
    r.add(this);
    return r;
  }

  isZero(): boolean {
    return this.milliCPU === 0 && this.memory === 0 && this.ephemeralStorage === 0 && (!this.scalar || this.scalar.size === 0);
  }
}

type Amounts = Map<string, number>;

function containerAmounts(c: Container, nonZero: boolean): Amounts {
  const m: Amounts = new Map();
  const req = c.resources?.requests;
  if (req) for (const [name, q] of Object.entries(req)) m.set(name, name === 'cpu' ? milliValue(q) : value(q));
  if (nonZero) {
    if (!m.has('cpu')) m.set('cpu', DEFAULT_MILLI_CPU_REQUEST);
    if (!m.has('memory')) m.set('memory', DEFAULT_MEMORY_REQUEST);
  }
  return m;
}

function addInto(dst: Amounts, src: Amounts): void {
  for (const [k, v] of src) dst.set(k, (dst.get(k) ?? 0) + v);
}

function maxInto(dst: Amounts, src: Amounts): void {
  for (const [k, v] of src) if (v > (dst.get(k) ?? 0)) dst.set(k, v);
}

/**
 * Effective pod requests as upstream resourcehelper.PodRequests: the sum of app
 * containers (plus sidecars, i.e. init containers with restartPolicy Always), or the
 * largest init-container step if bigger, plus pod overhead. With `nonZero`, containers
 * missing a cpu/memory request count as 100m / 200Mi (used only for scoring).
 */
export function podRequests(pod: Pod, nonZero: boolean): Amounts {
  const spec = pod.spec;
  const reqs: Amounts = new Map();
  if (!spec) return reqs;
  for (const c of spec.containers ?? []) addInto(reqs, containerAmounts(c, nonZero));
  const sidecars: Amounts = new Map();
  const initMax: Amounts = new Map();
  for (const c of spec.initContainers ?? []) {
    const own = containerAmounts(c, nonZero);
    let step: Amounts;
    if (c.restartPolicy === 'Always') {
      addInto(reqs, own);
      addInto(sidecars, own);
      step = sidecars;
    } else {
      // A regular init container runs alongside every sidecar started before it.
      step = new Map(own);
      addInto(step, sidecars);
    }
    maxInto(initMax, step);
  }
  maxInto(reqs, initMax);
  if (spec.overhead) {
    for (const [name, q] of Object.entries(spec.overhead)) reqs.set(name, (reqs.get(name) ?? 0) + (name === 'cpu' ? milliValue(q) : value(q)));
  }
  return reqs;
}

/** A pod (anti-)affinity term with its selectors parsed once (upstream framework.AffinityTerm). */
export interface AffinityTerm {
  /** Identity of the term (namespaces, selectors, topology key): equal keys select the same pods the same way. */
  key: string;
  namespaces: ReadonlySet<string>;
  /** null selects no namespace (the term lists namespaces or relies on the pod's own). */
  namespaceSelector: Selector | null;
  selector: Selector;
  topologyKey: string;
}

export interface WeightedAffinityTerm extends AffinityTerm {
  weight: number;
}

/** Whether `pod` (in a namespace with `nsLabels`) is selected by the term. */
export function termMatches(t: AffinityTerm, pod: PodInfo, nsLabels: Record<string, string>): boolean {
  if (t.namespaces.has(pod.namespace) || (t.namespaceSelector !== null && t.namespaceSelector.matches(nsLabels))) {
    return t.selector.matches(pod.labels);
  }
  return false;
}

function toTerm(namespace: string, term: PodAffinityTerm): AffinityTerm {
  const namespaces =
    (term.namespaces?.length ?? 0) === 0 && term.namespaceSelector == null ? new Set([namespace]) : new Set(term.namespaces ?? []);
  const namespaceSelector = term.namespaceSelector == null ? null : selectorFromLabelSelector(term.namespaceSelector);
  const selector = selectorFromLabelSelector(term.labelSelector ?? null);
  return {
    key: [[...namespaces].sort().join(','), namespaceSelector ? selectorKey(namespaceSelector) : '-', selectorKey(selector), term.topologyKey].join('\u0000'),
    namespaces,
    namespaceSelector,
    selector,
    topologyKey: term.topologyKey,
  };
}

/** A canonical string for a selector; the one that matches nothing differs from the one that matches everything. */
export function selectorKey(selector: Selector): string {
  return selector.matchesNothing() ? '\u0001nothing' : selector.toString();
}

function toWeighted(namespace: string, terms: WeightedPodAffinityTerm[] | undefined): WeightedAffinityTerm[] {
  return (terms ?? []).map((t) => ({ ...toTerm(namespace, t.podAffinityTerm), weight: t.weight }));
}

/** A host port a pod claims; ip defaults to 0.0.0.0 and protocol to TCP. */
export interface HostPort {
  ip: string;
  protocol: string;
  port: number;
}

const EMPTY_LABELS: Record<string, string> = Object.freeze({}) as Record<string, string>;
const NO_TERMS: never[] = [];

/**
 * A pod plus everything derived from it that scheduling needs. Pods are read-only,
 * so the derivation is cached per object ({@link PodInfo.of}).
 */
export class PodInfo {
  readonly pod: Pod;
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly priority: number;
  /** Requests used by NodeResourcesFit. */
  readonly request: Resource;
  /** Requests with 100m/200Mi defaults, used by scoring. */
  readonly nonZeroMilliCPU: number;
  readonly nonZeroMemory: number;
  readonly hostPorts: readonly HostPort[];
  readonly requiredAffinityTerms: readonly AffinityTerm[];
  readonly requiredAntiAffinityTerms: readonly AffinityTerm[];
  readonly preferredAffinityTerms: readonly WeightedAffinityTerm[];
  readonly preferredAntiAffinityTerms: readonly WeightedAffinityTerm[];
  /** Set when an affinity selector could not be parsed; the pod is then unschedulable. */
  readonly parseError: string | undefined;

  private static cache = new WeakMap<Pod, PodInfo>();

  /** The (cached) PodInfo for a pod object. */
  static of(pod: Pod): PodInfo {
    let pi = PodInfo.cache.get(pod);
    if (!pi) {
      pi = new PodInfo(pod);
      PodInfo.cache.set(pod, pi);
    }
    return pi;
  }

  /** Key used throughout the scheduler: the uid, or namespace/name for objects without one. */
  static keyOf(pod: Pod): string {
    return pod.metadata?.uid || `${pod.metadata?.namespace ?? 'default'}/${pod.metadata?.name ?? ''}`;
  }

  private constructor(pod: Pod, from?: PodInfo) {
    this.pod = pod;
    this.key = PodInfo.keyOf(pod);
    this.namespace = pod.metadata?.namespace ?? 'default';
    this.name = pod.metadata?.name ?? '';
    this.labels = pod.metadata?.labels ?? EMPTY_LABELS;
    this.priority = pod.spec?.priority ?? 0;
    if (from) {
      this.request = from.request;
      this.nonZeroMilliCPU = from.nonZeroMilliCPU;
      this.nonZeroMemory = from.nonZeroMemory;
      this.hostPorts = from.hostPorts;
      this.requiredAffinityTerms = from.requiredAffinityTerms;
      this.requiredAntiAffinityTerms = from.requiredAntiAffinityTerms;
      this.preferredAffinityTerms = from.preferredAffinityTerms;
      this.preferredAntiAffinityTerms = from.preferredAntiAffinityTerms;
      this.parseError = from.parseError;
      return;
    }
    const req = new Resource();
    for (const [k, v] of podRequests(pod, false)) req.addNamed(k, v);
    this.request = req;
    const nz = podRequests(pod, true);
    this.nonZeroMilliCPU = nz.get('cpu') ?? 0;
    this.nonZeroMemory = nz.get('memory') ?? 0;
    const ports: HostPort[] = [];
    for (const c of [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]) {
      for (const p of c.ports ?? []) {
        if (p.hostPort && p.hostPort > 0) ports.push({ ip: p.hostIP || '0.0.0.0', protocol: p.protocol || 'TCP', port: p.hostPort });
      }
    }
    this.hostPorts = ports;
    const aff = pod.spec?.affinity;
    let req1: AffinityTerm[] = NO_TERMS;
    let req2: AffinityTerm[] = NO_TERMS;
    let pref1: WeightedAffinityTerm[] = NO_TERMS;
    let pref2: WeightedAffinityTerm[] = NO_TERMS;
    let err: string | undefined;
    if (aff?.podAffinity || aff?.podAntiAffinity) {
      try {
        const ns = this.namespace;
        req1 = (aff.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []).map((t) => toTerm(ns, t));
        req2 = (aff.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []).map((t) => toTerm(ns, t));
        pref1 = toWeighted(ns, aff.podAffinity?.preferredDuringSchedulingIgnoredDuringExecution);
        pref2 = toWeighted(ns, aff.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution);
      } catch (e) {
        err = `invalid pod affinity: ${(e as Error).message}`;
        req1 = req2 = NO_TERMS;
        pref1 = pref2 = NO_TERMS;
      }
    }
    this.requiredAffinityTerms = req1;
    this.requiredAntiAffinityTerms = req2;
    this.preferredAffinityTerms = pref1;
    this.preferredAntiAffinityTerms = pref2;
    this.parseError = err;
  }

  /** The same pod as bound to `nodeName` (what the cache holds for an assumed pod). */
  assignedTo(nodeName: string): PodInfo {
    const pod: Pod = { ...this.pod, spec: { ...this.pod.spec!, nodeName } };
    const pi = new PodInfo(pod, this);
    PodInfo.cache.set(pod, pi);
    return pi;
  }

  get nodeName(): string | undefined {
    return this.pod.spec?.nodeName || undefined;
  }

  /** Any pod (anti-)affinity, required or preferred. */
  get hasAffinity(): boolean {
    return (
      this.requiredAffinityTerms.length > 0 ||
      this.requiredAntiAffinityTerms.length > 0 ||
      this.preferredAffinityTerms.length > 0 ||
      this.preferredAntiAffinityTerms.length > 0
    );
  }
}

/** Host ports in use on a node: ip → set of "protocol/port". */
export class HostPortInfo {
  private byIP = new Map<string, Map<string, number>>();

  add(p: HostPort, delta = 1): void {
    let m = this.byIP.get(p.ip);
    if (!m) this.byIP.set(p.ip, (m = new Map()));
    const k = `${p.protocol}/${p.port}`;
    const n = (m.get(k) ?? 0) + delta;
    if (n <= 0) {
      m.delete(k);
      if (m.size === 0) this.byIP.delete(p.ip);
    } else m.set(k, n);
  }

  /** Whether `p` collides: 0.0.0.0 conflicts with every address on the same protocol/port. */
  conflicts(p: HostPort): boolean {
    const k = `${p.protocol}/${p.port}`;
    if (p.ip === '0.0.0.0') {
      for (const m of this.byIP.values()) if (m.has(k)) return true;
      return false;
    }
    return !!this.byIP.get(p.ip)?.has(k) || !!this.byIP.get('0.0.0.0')?.has(k);
  }

  get size(): number {
    return this.byIP.size;
  }

  clone(): HostPortInfo {
    const c = new HostPortInfo();
    for (const [ip, m] of this.byIP) c.byIP.set(ip, new Map(m));
    return c;
  }
}

let generation = 0;

/** Cluster-level aggregates for one node: the node, its pods and what they request. */
export class NodeInfo {
  node: Node | undefined;
  readonly name: string;
  labels: Record<string, string> = EMPTY_LABELS;
  taints: readonly Taint[] = NO_TERMS;
  unschedulable = false;
  allocatable = new Resource();
  /** Sum of pod requests (fit). */
  requested = new Resource();
  /** Sum of non-zero pod requests (scoring). */
  nonZeroMilliCPU = 0;
  nonZeroMemory = 0;
  pods: PodInfo[] = [];
  podsWithAffinity: PodInfo[] = [];
  podsWithRequiredAntiAffinity: PodInfo[] = [];
  usedPorts = new HostPortInfo();
  /** Bumped on every change; lets callers cache per-node derived data. */
  generation = ++generation;
  private index = new Map<string, number>();

  constructor(name: string, node?: Node) {
    this.name = name;
    if (node) this.setNode(node);
  }

  setNode(node: Node): void {
    this.node = node;
    this.labels = node.metadata?.labels ?? EMPTY_LABELS;
    this.taints = node.spec?.taints ?? NO_TERMS;
    this.unschedulable = !!node.spec?.unschedulable;
    this.allocatable = Resource.fromList(node.status?.allocatable ?? node.status?.capacity);
    this.generation = ++generation;
  }

  hasPod(key: string): boolean {
    return this.index.has(key);
  }

  addPod(pi: PodInfo): void {
    if (this.index.has(pi.key)) this.removePod(pi.key);
    this.index.set(pi.key, this.pods.length);
    this.pods.push(pi);
    if (pi.hasAffinity) this.podsWithAffinity.push(pi);
    if (pi.requiredAntiAffinityTerms.length > 0) this.podsWithRequiredAntiAffinity.push(pi);
    this.account(pi, 1);
  }

  /** Removes the pod with this key; returns it, or undefined when absent. */
  removePod(key: string): PodInfo | undefined {
    const i = this.index.get(key);
    if (i === undefined) return undefined;
    const pi = this.pods[i];
    const last = this.pods.length - 1;
    if (i !== last) {
      this.pods[i] = this.pods[last];
      this.index.set(this.pods[i].key, i);
    }
    this.pods.pop();
    this.index.delete(key);
    if (pi.hasAffinity) this.podsWithAffinity = this.podsWithAffinity.filter((p) => p.key !== key);
    if (pi.requiredAntiAffinityTerms.length > 0) this.podsWithRequiredAntiAffinity = this.podsWithRequiredAntiAffinity.filter((p) => p.key !== key);
    this.account(pi, -1);
    return pi;
  }

  private account(pi: PodInfo, sign: 1 | -1): void {
    this.requested.add(pi.request, sign);
    this.nonZeroMilliCPU += sign * pi.nonZeroMilliCPU;
    this.nonZeroMemory += sign * pi.nonZeroMemory;
    for (const p of pi.hostPorts) this.usedPorts.add(p, sign);
    this.generation = ++generation;
  }

  /** An independent copy (used by preemption to try removing victims). */
  clone(): NodeInfo {
    const c = new NodeInfo(this.name);
    c.node = this.node;
    c.labels = this.labels;
    c.taints = this.taints;
    c.unschedulable = this.unschedulable;
    c.allocatable = this.allocatable;
    c.requested = this.requested.clone();
    c.nonZeroMilliCPU = this.nonZeroMilliCPU;
    c.nonZeroMemory = this.nonZeroMemory;
    c.pods = this.pods.slice();
    c.index = new Map(this.index);
    c.podsWithAffinity = this.podsWithAffinity.slice();
    c.podsWithRequiredAntiAffinity = this.podsWithRequiredAntiAffinity.slice();
    c.usedPorts = this.usedPorts.clone();
    return c;
  }
}
