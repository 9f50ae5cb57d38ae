/**
 * The scheduling framework (upstream pkg/scheduler/framework): plugin interfaces for
 * each extension point, the per-cycle state, statuses with reasons, and the runner
 * that filters nodes, scores the feasible ones and explains failures.
 */
import type { PersistentVolume, PersistentVolumeClaim, Pod } from 'kubernetes-types/core/v1.js';
import type { StorageClass } from 'kubernetes-types/storage/v1.js';
import type { NodeInfo, PodInfo } from './node-info.js';
import type { DomainCount, PlacedTerm, PlacedTermKind, PodCountQuery } from './pod-count-index.js';

/** Status codes, as upstream framework.Code. */
export enum Code {
  Success = 0,
  Error = 1,
  Unschedulable = 2,
  UnschedulableAndUnresolvable = 3,
  Wait = 4,
  Skip = 5,
}

/** A plugin verdict. `null` stands for Success on hot paths (no allocation). */
export class Status {
  constructor(
    readonly code: Code,
    readonly reasons: readonly string[] = [],
    /** Name of the plugin that produced it. */
    readonly plugin = '',
  ) {}

  static unschedulable(plugin: string, ...reasons: string[]): Status {
    return new Status(Code.Unschedulable, reasons, plugin);
  }

  static unresolvable(plugin: string, ...reasons: string[]): Status {
    return new Status(Code.UnschedulableAndUnresolvable, reasons, plugin);
  }

  static error(plugin: string, message: string): Status {
    return new Status(Code.Error, [message], plugin);
  }

  static readonly skip = new Status(Code.Skip);

  isSuccess(): boolean {
    return this.code === Code.Success;
  }

  /** Unschedulable or UnschedulableAndUnresolvable. */
  isRejected(): boolean {
    return this.code === Code.Unschedulable || this.code === Code.UnschedulableAndUnresolvable;
  }

  message(): string {
    return this.reasons.join(', ');
  }
}

/** Success is `null`; anything else is a Status. */
export type Result = Status | null;

/** Whether a result is Success (null or a Success status). */
export function isSuccess(r: Result | undefined): boolean {
  return r == null || r.code === Code.Success;
}

// ---------------------------------------------------------------------------
// Cluster events (upstream framework.ClusterEvent / ActionType)

/** Bit flags describing what changed; a registration matches an event when the bits overlap. */
export const ActionType = {
  Add: 1 << 0,
  Delete: 1 << 1,
  UpdateNodeAllocatable: 1 << 2,
  UpdateNodeLabel: 1 << 3,
  UpdateNodeTaint: 1 << 4,
  UpdateNodeCondition: 1 << 5,
  UpdateNodeAnnotation: 1 << 6,
  UpdatePodLabel: 1 << 7,
  UpdatePodScaleDown: 1 << 8,
  UpdatePodTolerations: 1 << 9,
  UpdateNamespaceLabel: 1 << 10,
  Update: 0,
  All: 0,
} as const;
(ActionType as { Update: number }).Update =
  ActionType.UpdateNodeAllocatable |
  ActionType.UpdateNodeLabel |
  ActionType.UpdateNodeTaint |
  ActionType.UpdateNodeCondition |
  ActionType.UpdateNodeAnnotation |
  ActionType.UpdatePodLabel |
  ActionType.UpdatePodScaleDown |
  ActionType.UpdatePodTolerations |
  ActionType.UpdateNamespaceLabel;
(ActionType as { All: number }).All = ActionType.Add | ActionType.Delete | ActionType.Update;

/** 'Pod' events concern pods other than the one being queued (normally assigned pods). */
export type EventResource = 'Node' | 'Pod' | 'Namespace' | 'PersistentVolumeClaim' | 'PersistentVolume' | 'StorageClass' | '*';

export interface ClusterEvent {
  resource: EventResource;
  action: number;
  /** For logs/metrics, e.g. "NodeAdd". */
  label?: string;
}

export type QueueingHint = 'Queue' | 'QueueSkip';

/**
 * A function deciding whether an event may make `pod` schedulable (upstream
 * QueueingHintFn). Without one, any matching event requeues the pod.
 */
export type QueueingHintFn = (pod: Pod, oldObj: unknown, newObj: unknown) => QueueingHint;

export interface ClusterEventWithHint {
  event: ClusterEvent;
  hint?: QueueingHintFn;
}

/** Whether a registered event covers an incoming one. */
export function eventMatches(registered: ClusterEvent, ev: ClusterEvent): boolean {
  return (registered.resource === '*' || ev.resource === '*' || registered.resource === ev.resource) && (registered.action & ev.action) !== 0;
}

// ---------------------------------------------------------------------------
// Plugins

/** Everything a plugin may look at besides the pod: the cluster snapshot. */
export interface NodeLister {
  /** Nodes that exist (informer has the Node object), in stable order. */
  list(): readonly NodeInfo[];
  get(name: string): NodeInfo | undefined;
  /** Nodes with at least one pod that has (anti-)affinity. */
  havePodsWithAffinityList(): readonly NodeInfo[];
  /** Nodes with at least one pod that has required anti-affinity. */
  havePodsWithRequiredAntiAffinityList(): readonly NodeInfo[];
  /** Labels of a namespace (at least kubernetes.io/metadata.name). */
  namespaceLabels(ns: string): Record<string, string>;
  /** Pods matching the query per topology domain of listed nodes, kept current between cycles. */
  podCounts(query: PodCountQuery): ReadonlyMap<string, Readonly<DomainCount>>;
  /** The distinct (anti-)affinity terms of one kind carried by placed pods, with pods per domain. */
  termsOfPlacedPods(kind: PlacedTermKind): Iterable<PlacedTerm>;
}

/**
 * The storage objects volume plugins look at (upstream: the PVC, PV and StorageClass listers
 * of the informer factory). The scheduler host backs it with informers.
 */
export interface StorageLister {
  claim(namespace: string, name: string): PersistentVolumeClaim | undefined;
  volume(name: string): PersistentVolume | undefined;
  volumes(): readonly PersistentVolume[];
  storageClass(name: string): StorageClass | undefined;
}

/** A lister with no storage objects (schedulers run without informers, e.g. in tests). */
export const NO_STORAGE: StorageLister = { claim: () => undefined, volume: () => undefined, volumes: () => [], storageClass: () => undefined };

export interface Plugin {
  readonly name: string;
}

/** Data a plugin stores in the cycle state must be cloneable for preemption's what-ifs. */
export interface StateData {
  clone(): StateData;
}

/** Per-cycle scratch space shared by a plugin's extension points (upstream CycleState). */
export class CycleState {
  private data = new Map<string, StateData>();
  /** Plugins whose PreFilter returned Skip: their Filter is not run this cycle. */
  readonly skipFilterPlugins = new Set<string>();
  /** Plugins whose PreScore returned Skip: their Score is not run this cycle. */
  readonly skipScorePlugins = new Set<string>();

  read<T extends StateData>(key: string): T | undefined {
    return this.data.get(key) as T | undefined;
  }

  write(key: string, v: StateData): void {
    this.data.set(key, v);
  }

  clone(): CycleState {
    const c = new CycleState();
    for (const [k, v] of this.data) c.data.set(k, v.clone());
    for (const s of this.skipFilterPlugins) c.skipFilterPlugins.add(s);
    for (const s of this.skipScorePlugins) c.skipScorePlugins.add(s);
    return c;
  }
}

/** Restricts the nodes later phases look at (e.g. NodeAffinity on metadata.name). */
export interface PreFilterResult {
  nodeNames: ReadonlySet<string>;
}

/** Updates PreFilter state when preemption adds/removes a pod on a node copy. */
export interface PreFilterExtensions {
  addPod(state: CycleState, podToSchedule: PodInfo, podToAdd: PodInfo, nodeInfo: NodeInfo): Result;
  removePod(state: CycleState, podToSchedule: PodInfo, podToRemove: PodInfo, nodeInfo: NodeInfo): Result;
}

export interface PreFilterPlugin extends Plugin {
  /** Returning Status.skip disables this plugin's Filter for the cycle. */
  preFilter(state: CycleState, pod: PodInfo, nodes: NodeLister): Result | PreFilterResult;
  preFilterExtensions?(): PreFilterExtensions | undefined;
}

export interface FilterPlugin extends Plugin {
  filter(state: CycleState, pod: PodInfo, nodeInfo: NodeInfo): Result;
}

export interface PostFilterResult {
  nominatedNodeName?: string;
  /** Pods to delete so the pod fits on the nominated node. */
  victims?: Pod[];
}

export interface PostFilterPlugin extends Plugin {
  postFilter(state: CycleState, pod: PodInfo, diagnosis: Diagnosis): { result?: PostFilterResult; status: Result };
}

export interface PreScorePlugin extends Plugin {
  /** Returning Status.skip disables this plugin's Score for the cycle. */
  preScore(state: CycleState, pod: PodInfo, nodes: readonly NodeInfo[]): Result;
}

/** Scores lie in [0, MAX_NODE_SCORE] after normalization. */
export const MAX_NODE_SCORE = 100;

export interface ScorePlugin extends Plugin {
  score(state: CycleState, pod: PodInfo, nodeInfo: NodeInfo): number;
  /** Rescales raw scores (in place) to [0, 100]. */
  normalizeScore?(state: CycleState, pod: PodInfo, scores: number[], nodes: readonly NodeInfo[]): Result;
}

export interface ReservePlugin extends Plugin {
  reserve(state: CycleState, pod: PodInfo, nodeName: string): Result;
  unreserve(state: CycleState, pod: PodInfo, nodeName: string): void;
}

export interface EnqueueExtensions extends Plugin {
  /** Events that could make a pod this plugin rejected schedulable. */
  eventsToRegister(): ClusterEventWithHint[];
}

/** Pods nominated (by preemption) to run on a node, for filtering with nominated pods. */
export interface Nominator {
  nominatedPodsForNode(nodeName: string): readonly PodInfo[];
}

/** What plugins get from the framework (upstream framework.Handle). */
export interface Handle {
  readonly snapshot: NodeLister;
  readonly nominator: Nominator;
  readonly storage: StorageLister;
  runFilterPlugins(state: CycleState, pod: PodInfo, nodeInfo: NodeInfo): Result;
  runFilterPluginsWithNominatedPods(state: CycleState, pod: PodInfo, nodeInfo: NodeInfo): Result;
  runPreFilterExtensionAddPod(state: CycleState, pod: PodInfo, podToAdd: PodInfo, nodeInfo: NodeInfo): Result;
  runPreFilterExtensionRemovePod(state: CycleState, pod: PodInfo, podToRemove: PodInfo, nodeInfo: NodeInfo): Result;
}

export type PluginFactory = (args: unknown, handle: Handle) => Plugin;

/** Plugin name → factory. */
export type Registry = Record<string, PluginFactory>;

/** One enabled plugin of a profile; weight only matters for Score. */
export interface PluginConfig {
  name: string;
  weight?: number;
  args?: unknown;
}

function has<K extends string>(p: Plugin, method: K): p is Plugin & Record<K, (...a: never[]) => unknown> {
  return typeof (p as unknown as Record<string, unknown>)[method] === 'function';
}

// ---------------------------------------------------------------------------
// Failure explanation

/** Why a pod did not fit (upstream framework.Diagnosis). */
export interface Diagnosis {
  /** Per-node verdicts of the nodes that were evaluated. */
  nodeToStatus: Map<string, Status>;
  /** Verdict for nodes absent from nodeToStatus (e.g. excluded by a PreFilterResult). */
  absentNodesStatus?: Status;
  unschedulablePlugins: Set<string>;
  preFilterMsg?: string;
  postFilterMsg?: string;
}

/** Message prefix, as upstream NoNodeAvailableMsg. */
export const NO_NODE_AVAILABLE_MSG = '0/%v nodes are available';
/** Upstream ErrNoNodesAvailable. */
export const ERR_NO_NODES_AVAILABLE = 'no nodes available to schedule pods';

/**
 * A pod fit no node. The message matches upstream FitError.Error():
 * "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't match Pod's node
 * affinity/selector. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod."
 */
export class FitError {
  constructor(
    readonly pod: Pod,
    readonly numAllNodes: number,
    readonly diagnosis: Diagnosis,
  ) {}

  message(): string {
    const d = this.diagnosis;
    let msg = `0/${this.numAllNodes} nodes are available:`;
    if (d.preFilterMsg) {
      msg += ` ${d.preFilterMsg}.`;
    } else {
      // When PreFilter rejected, every node carries that same status; counting it again would duplicate it.
      const counts = new Map<string, number>();
      for (const st of d.nodeToStatus.values()) for (const r of st.reasons) counts.set(r, (counts.get(r) ?? 0) + 1);
      const absent = this.numAllNodes - d.nodeToStatus.size;
      if (absent > 0 && d.absentNodesStatus) for (const r of d.absentNodesStatus.reasons) counts.set(r, (counts.get(r) ?? 0) + absent);
      const parts = [...counts].map(([r, n]) => `${n} ${r}`);
      // Go's sort.Strings orders by bytes; plain < does the same on these ASCII strings.
      parts.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      if (parts.length > 0) msg += ` ${parts.join(', ')}.`;
    }
    if (d.postFilterMsg) msg += ` ${d.postFilterMsg}`;
    return msg;
  }
}

/**
 * How many feasible nodes to look for before scoring (upstream numFeasibleNodesToFind):
 * all nodes below 100; otherwise `percentage`% (adaptive 50 - n/125, at least 5%) but at least 100.
 */
export function numFeasibleNodesToFind(percentageOfNodesToScore: number | undefined, numAllNodes: number): number {
  const MIN_NODES = 100;
  const MIN_PERCENT = 5;
  if (numAllNodes < MIN_NODES) return numAllNodes;
  let pct = percentageOfNodesToScore ?? 0;
  if (pct <= 0) {
    pct = 50 - Math.trunc(numAllNodes / 125);
    if (pct < MIN_PERCENT) pct = MIN_PERCENT;
  }
  const n = Math.trunc((numAllNodes * pct) / 100);
  return n < MIN_NODES ? MIN_NODES : n;
}

// ---------------------------------------------------------------------------
// Runner

export type ScheduleOutcome =
  | { kind: 'scheduled'; nodeName: string; evaluatedNodes: number; feasibleNodes: number; state: CycleState }
  | { kind: 'unschedulable'; fitError: FitError; state: CycleState }
  | { kind: 'error'; message: string; plugin?: string };

export interface FrameworkOptions {
  snapshot: NodeLister;
  nominator?: Nominator;
  /** Claims, volumes and classes for the volume plugins; none when absent. */
  storage?: StorageLister;
  /** Enabled plugins in extension-point order (filters run in this order). */
  plugins: PluginConfig[];
  registry: Registry;
  /** 0/undefined = adaptive, as upstream. */
  percentageOfNodesToScore?: number;
  /** Tie-breaking among equal best scores; injectable for deterministic tests. */
  random?: () => number;
}

const NO_NOMINATED: Nominator = { nominatedPodsForNode: () => [] };

/** Holds one profile's plugins and runs them (upstream frameworkImpl + schedulePod). */
export class Framework implements Handle {
  readonly snapshot: NodeLister;
  readonly nominator: Nominator;
  readonly storage: StorageLister;
  readonly plugins: Plugin[] = [];
  readonly preFilterPlugins: PreFilterPlugin[] = [];
  readonly filterPlugins: FilterPlugin[] = [];
  readonly postFilterPlugins: PostFilterPlugin[] = [];
  readonly preScorePlugins: PreScorePlugin[] = [];
  readonly scorePlugins: { plugin: ScorePlugin; weight: number }[] = [];
  readonly reservePlugins: ReservePlugin[] = [];
  readonly percentageOfNodesToScore: number | undefined;
  private readonly random: () => number;
  /** Rotates where the next cycle starts filtering so load spreads over all nodes (upstream nextStartNodeIndex). */
  nextStartNodeIndex = 0;

  constructor(opts: FrameworkOptions) {
    this.snapshot = opts.snapshot;
    this.nominator = opts.nominator ?? NO_NOMINATED;
    this.storage = opts.storage ?? NO_STORAGE;
    this.percentageOfNodesToScore = opts.percentageOfNodesToScore;
    this.random = opts.random ?? Math.random;
    for (const cfg of opts.plugins) {
      const factory = opts.registry[cfg.name];
      if (!factory) throw new Error(`plugin "${cfg.name}" does not exist`);
      const p = factory(cfg.args, this);
      this.plugins.push(p);
      if (has(p, 'preFilter')) this.preFilterPlugins.push(p as unknown as PreFilterPlugin);
      if (has(p, 'filter')) this.filterPlugins.push(p as unknown as FilterPlugin);
      if (has(p, 'postFilter')) this.postFilterPlugins.push(p as unknown as PostFilterPlugin);
      if (has(p, 'preScore')) this.preScorePlugins.push(p as unknown as PreScorePlugin);
      if (has(p, 'score')) {
        const weight = cfg.weight ?? 1;
        if (weight > 0) this.scorePlugins.push({ plugin: p as unknown as ScorePlugin, weight });
      }
      if (has(p, 'reserve')) this.reservePlugins.push(p as unknown as ReservePlugin);
    }
  }

  /** Each plugin's registered events (for the queue's requeue decisions). */
  eventsToRegister(): Map<string, ClusterEventWithHint[]> {
    const m = new Map<string, ClusterEventWithHint[]>();
    for (const p of this.plugins) if (has(p, 'eventsToRegister')) m.set(p.name, (p as unknown as EnqueueExtensions).eventsToRegister());
    return m;
  }

  /** PreFilter: returns a rejection, or the node names allowed (undefined = all). */
  runPreFilterPlugins(state: CycleState, pod: PodInfo): { status: Result; nodeNames?: ReadonlySet<string>; plugins: string[] } {
    let nodeNames: Set<string> | undefined;
    const restricting: string[] = [];
    for (const p of this.preFilterPlugins) {
      const r = p.preFilter(state, pod, this.snapshot);
      if (r === null || r === undefined) continue;
      if (r instanceof Status) {
        if (r.code === Code.Skip) {
          state.skipFilterPlugins.add(p.name);
          continue;
        }
        if (r.code === Code.Success) continue;
        return { status: r.plugin ? r : new Status(r.code, r.reasons, p.name), plugins: [p.name] };
      }
      restricting.push(p.name);
      nodeNames = nodeNames ? new Set([...nodeNames].filter((n) => r.nodeNames.has(n))) : new Set(r.nodeNames);
      if (nodeNames.size === 0) {
        const msg = `node(s) didn't satisfy plugin(s) [${restricting.join(' ')}] simultaneously`;
        return { status: Status.unresolvable(p.name, msg), plugins: restricting };
      }
    }
    return { status: null, nodeNames, plugins: restricting };
  }

  runFilterPlugins(state: CycleState, pod: PodInfo, nodeInfo: NodeInfo): Result {
    const skip = state.skipFilterPlugins;
    const fps = this.filterPlugins;
    for (let i = 0; i < fps.length; i++) {
      const p = fps[i];
      if (skip.size > 0 && skip.has(p.name)) continue;
      const r = p.filter(state, pod, nodeInfo);
      if (r !== null && r !== undefined && r.code !== Code.Success) return r;
    }
    return null;
  }

  /**
   * Filters as if higher-or-equal priority pods nominated to this node were already
   * running there (so a preemptor's reserved room is not taken), then without them.
   */
  runFilterPluginsWithNominatedPods(state: CycleState, pod: PodInfo, nodeInfo: NodeInfo): Result {
    const nominated = this.nominator.nominatedPodsForNode(nodeInfo.name);
    if (nominated.length > 0) {
      let ni: NodeInfo | undefined;
      let st: CycleState | undefined;
      for (const np of nominated) {
        if (np.key === pod.key || np.priority < pod.priority) continue;
        ni ??= nodeInfo.clone();
        st ??= state.clone();
        ni.addPod(np);
        const r = this.runPreFilterExtensionAddPod(st, pod, np, ni);
        if (!isSuccess(r)) return r;
      }
      if (ni && st) {
        const r = this.runFilterPlugins(st, pod, ni);
        if (!isSuccess(r)) return r;
      }
    }
    return this.runFilterPlugins(state, pod, nodeInfo);
  }

  runPreFilterExtensionAddPod(state: CycleState, pod: PodInfo, podToAdd: PodInfo, nodeInfo: NodeInfo): Result {
    for (const p of this.preFilterPlugins) {
      if (state.skipFilterPlugins.has(p.name)) continue;
      const ext = p.preFilterExtensions?.();
      if (!ext) continue;
      const r = ext.addPod(state, pod, podToAdd, nodeInfo);
      if (!isSuccess(r)) return r;
    }
    return null;
  }

  runPreFilterExtensionRemovePod(state: CycleState, pod: PodInfo, podToRemove: PodInfo, nodeInfo: NodeInfo): Result {
    for (const p of this.preFilterPlugins) {
      if (state.skipFilterPlugins.has(p.name)) continue;
      const ext = p.preFilterExtensions?.();
      if (!ext) continue;
      const r = ext.removePod(state, pod, podToRemove, nodeInfo);
      if (!isSuccess(r)) return r;
    }
    return null;
  }

  /** Runs PostFilter plugins until one succeeds (upstream: first success wins). */
  runPostFilterPlugins(state: CycleState, pod: PodInfo, diagnosis: Diagnosis): { result?: PostFilterResult; status: Result } {
    const msgs: string[] = [];
    let last: { result?: PostFilterResult; status: Result } = { status: null };
    for (const p of this.postFilterPlugins) {
      const out = p.postFilter(state, pod, diagnosis);
      if (isSuccess(out.status)) return out;
      if (out.status && out.status.code === Code.Error) return out;
      if (out.status && out.status.reasons.length > 0) msgs.push(out.status.message());
      last = out;
    }
    if (this.postFilterPlugins.length === 0) return { status: Status.unschedulable('', ...msgs) };
    return { result: last.result, status: new Status(Code.Unschedulable, msgs.length > 0 ? [msgs.join(', ')] : []) };
  }

  runReservePluginsReserve(state: CycleState, pod: PodInfo, nodeName: string): Result {
    for (const p of this.reservePlugins) {
      const r = p.reserve(state, pod, nodeName);
      if (!isSuccess(r)) return r;
    }
    return null;
  }

  runReservePluginsUnreserve(state: CycleState, pod: PodInfo, nodeName: string): void {
    for (let i = this.reservePlugins.length - 1; i >= 0; i--) this.reservePlugins[i].unreserve(state, pod, nodeName);
  }

  /** One scheduling attempt for `pod` against the snapshot (upstream schedulePod). */
  schedulePod(pod: PodInfo): ScheduleOutcome {
    const state = new CycleState();
    const allNodes = this.snapshot.list();
    if (allNodes.length === 0) {
      const d: Diagnosis = { nodeToStatus: new Map(), unschedulablePlugins: new Set(), preFilterMsg: ERR_NO_NODES_AVAILABLE };
      return { kind: 'unschedulable', fitError: new NoNodesError(pod.pod, d), state };
    }
    if (pod.parseError) return { kind: 'error', message: pod.parseError };
    const diagnosis: Diagnosis = { nodeToStatus: new Map(), unschedulablePlugins: new Set() };

    const pre = this.runPreFilterPlugins(state, pod);
    if (pre.status) {
      if (pre.status.code === Code.Error) return { kind: 'error', message: pre.status.message(), plugin: pre.status.plugin };
      for (const n of allNodes) diagnosis.nodeToStatus.set(n.name, pre.status);
      diagnosis.preFilterMsg = pre.status.message();
      for (const p of pre.plugins) diagnosis.unschedulablePlugins.add(p);
      return { kind: 'unschedulable', fitError: new FitError(pod.pod, allNodes.length, diagnosis), state };
    }

    // A nominated node (from an earlier preemption) is tried first, as upstream evaluateNominatedNode.
    const nominated = pod.pod.status?.nominatedNodeName;
    if (nominated && !pre.nodeNames) {
      const ni = this.snapshot.get(nominated);
      if (ni?.node && isSuccess(this.runFilterPluginsWithNominatedPods(state, pod, ni))) {
        return { kind: 'scheduled', nodeName: nominated, evaluatedNodes: 1, feasibleNodes: 1, state };
      }
    }

    let nodes: readonly NodeInfo[] = allNodes;
    if (pre.nodeNames) {
      const subset: NodeInfo[] = [];
      for (const name of pre.nodeNames) {
        const ni = this.snapshot.get(name);
        if (ni?.node) subset.push(ni);
      }
      nodes = subset;
      diagnosis.absentNodesStatus = Status.unresolvable(pre.plugins[0], `node(s) didn't satisfy plugin(s) [${pre.plugins.join(' ')}]`);
    }

    const feasible = this.findNodesThatPassFilters(state, pod, nodes, diagnosis);
    if (feasible === undefined) {
      const err = [...diagnosis.nodeToStatus.values()].find((s) => s.code === Code.Error);
      return { kind: 'error', message: err?.message() ?? 'filter error', plugin: err?.plugin };
    }
    if (feasible.length === 0) {
      return { kind: 'unschedulable', fitError: new FitError(pod.pod, allNodes.length, diagnosis), state };
    }
    const evaluatedNodes = diagnosis.nodeToStatus.size + feasible.length;
    if (feasible.length === 1) {
      return { kind: 'scheduled', nodeName: feasible[0].name, evaluatedNodes, feasibleNodes: 1, state };
    }
    const totals = this.prioritizeNodes(state, pod, feasible);
    return { kind: 'scheduled', nodeName: this.selectHost(feasible, totals), evaluatedNodes, feasibleNodes: feasible.length, state };
  }

  /** Filters nodes starting at the rotating index until enough feasible ones are found. */
  findNodesThatPassFilters(state: CycleState, pod: PodInfo, nodes: readonly NodeInfo[], diagnosis: Diagnosis): NodeInfo[] | undefined {
    const n = nodes.length;
    const want = numFeasibleNodesToFind(this.percentageOfNodesToScore, n);
    const feasible: NodeInfo[] = [];
    const start = n > 0 ? this.nextStartNodeIndex % n : 0;
    const noFilters = this.filterPlugins.length === 0;
    let processed = 0;
    let hasNominated = false;
    for (let i = 0; i < n && feasible.length < want; i++) {
      const ni = nodes[(start + i) % n];
      processed++;
      if (noFilters) {
        feasible.push(ni);
        continue;
      }
      // Only pay for nominated-pod handling on nodes that actually have nominated pods.
      hasNominated = this.nominator.nominatedPodsForNode(ni.name).length > 0;
      const r = hasNominated ? this.runFilterPluginsWithNominatedPods(state, pod, ni) : this.runFilterPlugins(state, pod, ni);
      if (r === null || r.code === Code.Success) {
        feasible.push(ni);
      } else {
        diagnosis.nodeToStatus.set(ni.name, r);
        if (r.code === Code.Error) return undefined;
        if (r.plugin) diagnosis.unschedulablePlugins.add(r.plugin);
      }
    }
    this.nextStartNodeIndex = n > 0 ? (start + processed) % n : 0;
    return feasible;
  }

  /** PreScore + Score + NormalizeScore, weighted and summed per node. */
  prioritizeNodes(state: CycleState, pod: PodInfo, nodes: readonly NodeInfo[]): Float64Array {
    const totals = new Float64Array(nodes.length);
    for (const p of this.preScorePlugins) {
      const r = p.preScore(state, pod, nodes);
      if (r && r.code === Code.Skip) state.skipScorePlugins.add(p.name);
    }
    const scores: number[] = new Array(nodes.length);
    for (const { plugin, weight } of this.scorePlugins) {
      if (state.skipScorePlugins.size > 0 && state.skipScorePlugins.has(plugin.name)) continue;
      for (let i = 0; i < nodes.length; i++) scores[i] = plugin.score(state, pod, nodes[i]);
      plugin.normalizeScore?.(state, pod, scores, nodes);
      for (let i = 0; i < nodes.length; i++) totals[i] += scores[i] * weight;
    }
    return totals;
  }

  /** The best-scoring node; ties are broken uniformly at random (reservoir sampling, as upstream). */
  selectHost(nodes: readonly NodeInfo[], totals: Float64Array): string {
    let best = 0;
    let ties = 1;
    for (let i = 1; i < nodes.length; i++) {
      if (totals[i] > totals[best]) {
        best = i;
        ties = 1;
      } else if (totals[i] === totals[best]) {
        ties++;
        if (this.random() * ties < 1) best = i;
      }
    }
    return nodes[best].name;
  }
}

/** Upstream ErrNoNodesAvailable, reported as the pod's unschedulable message. */
export class NoNodesError extends FitError {
  constructor(pod: Pod, d: Diagnosis) {
    super(pod, 0, d);
  }

  override message(): string {
    return ERR_NO_NODES_AVAILABLE;
  }
}
