/**
 * The scheduler loop (upstream pkg/scheduler scheduleOne). It is fed cluster state by
 * plain method calls (the lead wires informers to them) and acts through an injected
 * {@link SchedulerHost}; it never talks to an API client or store itself.
 *
 * One pod is scheduled at a time, synchronously, against the cache; the chosen node is
 * "assumed" immediately and binding runs asynchronously so the next cycle does not wait
 * for the API round trip.
 */
import type { Namespace, Node, Pod } from 'kubernetes-types/core/v1.js';
import { realClock, type Clock } from '../util/clock.js';
import {
  ActionType,
  Framework,
  type ClusterEvent,
  type PluginConfig,
  type Registry,
  type StorageLister,
} from './framework.js';
import { PodInfo } from './node-info.js';
import { defaultPlugins, inTreeRegistry } from './plugins/registry.js';
import { SchedulingQueue, type QueuedPodInfo } from './queue.js';
import { isTerminal, Snapshot } from './snapshot.js';

/** How the scheduler acts on the cluster. Implementations make the API calls. */
export interface SchedulerHost {
  /** POST pods/NAME/binding; rejects on failure (e.g. conflict); the scheduler then forgets the assumed pod and requeues it. */
  bind(pod: Pod, nodeName: string): Promise<void>;
  /**
   * Record why a pod could not be scheduled: FailedScheduling event + PodScheduled=False
   * (reason Unschedulable). `message` is upstream's, e.g. "0/5 nodes are available: 3 Insufficient cpu, ...".
   */
  reportUnschedulable(pod: Pod, message: string): Promise<void>;
  /** Preemption: delete a victim (naming the preemptor). */
  evict?(victim: Pod, preemptor: Pod): Promise<void>;
  /** Preemption: set status.nominatedNodeName ('' clears it). */
  nominate?(pod: Pod, nodeName: string): Promise<void>;
  clock?: Clock;
}

export interface SchedulerOptions {
  /** Pods whose spec.schedulerName differs are ignored. Default 'default-scheduler'. */
  schedulerName?: string;
  /** 0/undefined = adaptive (upstream default). */
  percentageOfNodesToScore?: number;
  /**
   * The profile's plugins: a full list (replaces the default profile), or changes to
   * the default profile.
   */
  plugins?: PluginConfig[] | { enabled?: PluginConfig[]; disabled?: string[] };
  /** Out-of-tree plugin factories, merged over the in-tree registry. */
  registry?: Registry;
  clock?: Clock;
  /** PVCs, PVs and StorageClasses for the volume plugins (the host passes informer-backed listers). */
  storage?: StorageLister;
  /** Tie-breaking randomness (tests inject a deterministic one). */
  random?: () => number;
  podInitialBackoffMs?: number;
  podMaxBackoffMs?: number;
  podMaxInUnschedulablePodsMs?: number;
  /** How long the loop runs cycles back to back before yielding to I/O. Default 20 ms. */
  timeSliceMs?: number;
  /** Called on host failures (bind, report, evict); defaults to console.error. */
  onError?: (err: unknown, pod: Pod, during: 'bind' | 'report' | 'evict' | 'nominate') => void;
}

/** Counters for tests, benchmarks and metrics. */
export interface SchedulerStats {
  attempts: number;
  scheduled: number;
  unschedulable: number;
  errors: number;
  bindFailures: number;
  preemptions: number;
}

function resolvePlugins(p: SchedulerOptions['plugins']): PluginConfig[] {
  if (Array.isArray(p)) return p;
  const base = defaultPlugins();
  if (!p) return base;
  const disabled = new Set(p.disabled ?? []);
  const all = disabled.has('*') ? [] : base.filter((c) => !disabled.has(c.name));
  for (const e of p.enabled ?? []) {
    const i = all.findIndex((c) => c.name === e.name);
    if (i >= 0) all[i] = { ...all[i], ...e };
    else all.push(e);
  }
  return all;
}

const sameJSON = (a: unknown, b: unknown) => a === b || JSON.stringify(a) === JSON.stringify(b);

/** Which node properties an update changed (upstream nodeSchedulingPropertiesChange). 0 = nothing the scheduler cares about. */
export function nodeUpdateActions(oldNode: Node, newNode: Node): number {
  let a = 0;
  if (!sameJSON(oldNode.status?.allocatable, newNode.status?.allocatable)) a |= ActionType.UpdateNodeAllocatable;
  if (!sameJSON(oldNode.metadata?.labels, newNode.metadata?.labels)) a |= ActionType.UpdateNodeLabel;
  if (!sameJSON(oldNode.spec?.taints, newNode.spec?.taints) || !!oldNode.spec?.unschedulable !== !!newNode.spec?.unschedulable) {
    a |= ActionType.UpdateNodeTaint;
  }
  // Heartbeat timestamps change constantly; only type/status transitions matter.
  const cond = (n: Node) => (n.status?.conditions ?? []).map((c) => `${c.type}=${c.status}`).join(',');
  if (cond(oldNode) !== cond(newNode)) a |= ActionType.UpdateNodeCondition;
  if (!sameJSON(oldNode.metadata?.annotations, newNode.metadata?.annotations)) a |= ActionType.UpdateNodeAnnotation;
  return a;
}

/** What an update of an assigned pod changed, for requeueing others. */
export function assignedPodUpdateActions(oldPod: Pod, newPod: Pod): number {
  let a = 0;
  if (!sameJSON(oldPod.metadata?.labels, newPod.metadata?.labels)) a |= ActionType.UpdatePodLabel;
  const o = PodInfo.of(oldPod).request;
  const n = PodInfo.of(newPod).request;
  if (n.milliCPU < o.milliCPU || n.memory < o.memory || n.ephemeralStorage < o.ephemeralStorage) a |= ActionType.UpdatePodScaleDown;
  return a;
}

export class Scheduler {
  readonly snapshot = new Snapshot();
  readonly queue: SchedulingQueue;
  readonly framework: Framework;
  readonly schedulerName: string;
  readonly stats: SchedulerStats = { attempts: 0, scheduled: 0, unschedulable: 0, errors: 0, bindFailures: 0, preemptions: 0 };
  private readonly clock: Clock;
  private readonly timeSliceMs: number;
  private readonly onError: NonNullable<SchedulerOptions['onError']>;
  private readonly pending = new Set<Promise<unknown>>();
  private running = false;
  private loopDone: Promise<void> | undefined;

  constructor(
    private readonly host: SchedulerHost,
    opts: SchedulerOptions = {},
  ) {
    this.clock = opts.clock ?? host.clock ?? realClock;
    this.schedulerName = opts.schedulerName ?? 'default-scheduler';
    this.timeSliceMs = opts.timeSliceMs ?? 20;
    this.onError = opts.onError ?? ((err, pod, during) => console.error(`scheduler: ${during} ${pod.metadata?.namespace}/${pod.metadata?.name}:`, err));
    this.queue = new SchedulingQueue({
      clock: this.clock,
      podInitialBackoffMs: opts.podInitialBackoffMs,
      podMaxBackoffMs: opts.podMaxBackoffMs,
      podMaxInUnschedulablePodsMs: opts.podMaxInUnschedulablePodsMs,
    });
    this.framework = new Framework({
      snapshot: this.snapshot,
      nominator: this.queue,
      storage: opts.storage,
      plugins: resolvePlugins(opts.plugins),
      registry: { ...inTreeRegistry, ...(opts.registry ?? {}) },
      percentageOfNodesToScore: opts.percentageOfNodesToScore,
      random: opts.random,
    });
    this.queue.setPluginEvents(this.framework.eventsToRegister());
  }

  // --- cluster state (objects are read-only: never mutated here)

  addNode(node: Node): void {
    this.snapshot.addNode(node);
    this.moveOnEvent({ resource: 'Node', action: ActionType.Add, label: 'NodeAdd' }, undefined, node);
  }

  updateNode(oldNode: Node | undefined, node: Node): void {
    this.snapshot.updateNode(node);
    const action = oldNode ? nodeUpdateActions(oldNode, node) : ActionType.Update;
    if (action !== 0) this.moveOnEvent({ resource: 'Node', action, label: 'NodeUpdate' }, oldNode, node);
  }

  deleteNode(node: Node): void {
    this.snapshot.removeNode(node);
    this.moveOnEvent({ resource: 'Node', action: ActionType.Delete, label: 'NodeDelete' }, node, undefined);
  }

  addNamespace(ns: Namespace): void {
    this.snapshot.setNamespace(ns);
    this.moveOnEvent({ resource: 'Namespace', action: ActionType.Add, label: 'NamespaceAdd' }, undefined, ns);
  }

  updateNamespace(_old: Namespace | undefined, ns: Namespace): void {
    this.snapshot.setNamespace(ns);
    this.moveOnEvent({ resource: 'Namespace', action: ActionType.UpdateNamespaceLabel, label: 'NamespaceUpdate' }, _old, ns);
  }

  deleteNamespace(ns: Namespace): void {
    this.snapshot.deleteNamespace(ns);
  }

  /**
   * A PersistentVolumeClaim, PersistentVolume or StorageClass changed: pods a volume plugin
   * rejected may fit now. The caches themselves are read through `storage`.
   */
  storageChanged(resource: 'PersistentVolumeClaim' | 'PersistentVolume' | 'StorageClass', action: number, oldObj: unknown, newObj: unknown): void {
    this.moveOnEvent({ resource, action, label: `${resource}${action === ActionType.Add ? 'Add' : action === ActionType.Delete ? 'Delete' : 'Update'}` }, oldObj, newObj);
  }

  /** Whether this scheduler is responsible for an unassigned pod. */
  responsibleFor(pod: Pod): boolean {
    return (pod.spec?.schedulerName || 'default-scheduler') === this.schedulerName;
  }

  addPod(pod: Pod): void {
    if (pod.spec?.nodeName) {
      if (isTerminal(pod)) return;
      this.queue.delete(pod);
      this.snapshot.upsertPod(pod);
      this.moveOnEvent({ resource: 'Pod', action: ActionType.Add, label: 'AssignedPodAdd' }, undefined, pod);
      return;
    }
    if (!this.responsibleFor(pod) || isTerminal(pod)) return;
    // Our bind is in flight; the informer has not seen spec.nodeName yet.
    if (this.snapshot.isAssumed(PodInfo.keyOf(pod))) return;
    this.queue.add(pod);
  }

  updatePod(oldPod: Pod | undefined, pod: Pod): void {
    const key = PodInfo.keyOf(pod);
    if (pod.spec?.nodeName) {
      // Unassigned → assigned is our bind being confirmed (or another scheduler's bind).
      const wasAssigned = !!oldPod?.spec?.nodeName;
      if (!wasAssigned) this.queue.delete(pod);
      this.snapshot.upsertPod(pod);
      if (isTerminal(pod)) {
        if (!oldPod || !isTerminal(oldPod)) this.moveOnEvent({ resource: 'Pod', action: ActionType.Delete, label: 'AssignedPodDelete' }, pod, undefined);
        return;
      }
      if (!wasAssigned) {
        this.moveOnEvent({ resource: 'Pod', action: ActionType.Add, label: 'AssignedPodAdd' }, undefined, pod);
      } else if (oldPod) {
        const action = assignedPodUpdateActions(oldPod, pod);
        if (action !== 0) this.moveOnEvent({ resource: 'Pod', action, label: 'AssignedPodUpdate' }, oldPod, pod);
      }
      return;
    }
    if (!this.responsibleFor(pod) || isTerminal(pod)) {
      this.queue.delete(pod);
      return;
    }
    if (this.snapshot.isAssumed(key)) return;
    this.queue.update(oldPod, pod);
  }

  deletePod(pod: Pod): void {
    const key = PodInfo.keyOf(pod);
    this.queue.delete(pod);
    if (this.snapshot.nodeOf(key) !== undefined) {
      this.snapshot.removePodByKey(key);
      this.moveOnEvent({ resource: 'Pod', action: ActionType.Delete, label: 'AssignedPodDelete' }, pod, undefined);
    }
  }

  private moveOnEvent(ev: ClusterEvent, oldObj: unknown, newObj: unknown): void {
    this.queue.moveAllToActiveOrBackoffQueue(ev, oldObj, newObj);
  }

  // --- the loop

  /**
   * Runs one scheduling cycle synchronously. Returns false when activeQ was empty.
   * Binding continues asynchronously.
   */
  scheduleOne(): boolean {
    const q = this.queue.pop();
    if (!q) return false;
    const pi = q.podInfo;
    const pod = pi.pod;
    if (pod.metadata?.deletionTimestamp) {
      this.queue.done(q.key);
      return true;
    }
    this.stats.attempts++;
    const outcome = this.framework.schedulePod(pi);
    if (outcome.kind === 'scheduled') {
      const { nodeName, state } = outcome;
      const assumed = this.snapshot.assumePod(pi, nodeName);
      const reserve = this.framework.runReservePluginsReserve(state, assumed, nodeName);
      if (reserve && !reserve.isSuccess()) {
        this.framework.runReservePluginsUnreserve(state, assumed, nodeName);
        this.snapshot.forgetPod(q.key);
        this.stats.errors++;
        this.queue.addUnschedulableIfNotPresent(q, reserve.plugin ? [reserve.plugin] : [], { error: !reserve.isRejected() });
        this.report(pod, reserve.message());
        return true;
      }
      this.queue.done(q.key);
      this.queue.deleteNominatedPodIfExists(q.key);
      this.stats.scheduled++;
      this.bindAsync(q, pod, nodeName, () => this.framework.runReservePluginsUnreserve(state, assumed, nodeName));
      return true;
    }
    if (outcome.kind === 'error') {
      this.stats.errors++;
      this.queue.addUnschedulableIfNotPresent(q, [], { error: true });
      this.report(pod, outcome.message);
      return true;
    }
    this.stats.unschedulable++;
    const { fitError, state } = outcome;
    const d = fitError.diagnosis;
    if (fitError.numAllNodes > 0 && this.framework.postFilterPlugins.length > 0) {
      const pf = this.framework.runPostFilterPlugins(state, pi, d);
      if (pf.status && pf.status.isRejected() && pf.status.reasons.length > 0) d.postFilterMsg = pf.status.message();
      // Park the pod before evicting: a host may deliver the victims' deletion synchronously,
      // and that event must find the preemptor waiting for it.
      this.queue.addUnschedulableIfNotPresent(q, d.unschedulablePlugins);
      const nominated = pf.result?.nominatedNodeName;
      if (nominated) this.preempt(pi, nominated, pf.result?.victims ?? []);
      else if (nominated === '' && (pod.status?.nominatedNodeName || this.queue.nominatedNodeFor(q.key))) {
        this.queue.deleteNominatedPodIfExists(q.key);
        if (pod.status?.nominatedNodeName) this.track(this.host.nominate?.(pod, ''), pod, 'nominate');
      }
    } else {
      this.queue.addUnschedulableIfNotPresent(q, d.unschedulablePlugins);
    }
    this.report(pod, fitError.message());
    return true;
  }

  private preempt(pi: PodInfo, nodeName: string, victims: Pod[]): void {
    this.stats.preemptions++;
    // Lower-priority pods nominated to the same node may no longer fit there: un-nominate them.
    for (const other of this.queue.nominatedPodsForNode(nodeName).slice()) {
      if (other.key === pi.key || other.priority >= pi.priority) continue;
      this.queue.deleteNominatedPodIfExists(other.key);
      if (other.pod.status?.nominatedNodeName) this.track(this.host.nominate?.(other.pod, ''), other.pod, 'nominate');
    }
    this.queue.addNominatedPod(pi, nodeName);
    for (const v of victims) {
      if (v.metadata?.deletionTimestamp) continue; // already going
      this.track(this.host.evict?.(v, pi.pod), v, 'evict');
    }
    this.track(this.host.nominate?.(pi.pod, nodeName), pi.pod, 'nominate');
  }

  private bindAsync(q: QueuedPodInfo, pod: Pod, nodeName: string, unreserve: () => void): void {
    let p: Promise<void>;
    try {
      p = this.host.bind(pod, nodeName);
    } catch (e) {
      p = Promise.reject(e);
    }
    const done = p.then(
      () => this.snapshot.finishBinding(q.key, this.clock.now(), 0),
      (err) => {
        this.stats.bindFailures++;
        unreserve();
        this.snapshot.forgetPod(q.key);
        // The room we held is free again: others may now fit.
        this.moveOnEvent({ resource: 'Pod', action: ActionType.Delete, label: 'AssignedPodDelete' }, pod, undefined);
        this.queue.requeueAfterBindFailure(pod, q.attempts);
        this.onError(err, pod, 'bind');
      },
    );
    this.pending.add(done);
    void done.finally(() => this.pending.delete(done));
  }

  private report(pod: Pod, message: string): void {
    this.track(this.host.reportUnschedulable(pod, message), pod, 'report');
  }

  private track(p: Promise<void> | undefined, pod: Pod, during: 'bind' | 'report' | 'evict' | 'nominate'): void {
    if (!p) return;
    const done = p.catch((err) => this.onError(err, pod, during));
    this.pending.add(done);
    void done.finally(() => this.pending.delete(done));
  }

  /** Starts the loop and the queue's periodic flushes. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.queue.run();
    this.loopDone = this.loop();
  }

  private async loop(): Promise<void> {
    while (this.running) {
      await this.queue.waitForPod();
      if (!this.running) break;
      const deadline = performance.now() + this.timeSliceMs;
      while (this.running && this.scheduleOne()) {
        if (performance.now() >= deadline) break;
      }
      // Let informer events and bind results in before the next slice.
      await new Promise<void>((r) => setImmediate(r));
    }
  }

  /** Stops the loop and waits for in-flight host calls. */
  async stop(): Promise<void> {
    this.running = false;
    this.queue.close();
    await this.loopDone;
    await this.settle();
  }

  /** Waits until all in-flight host calls have settled. */
  async settle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /** Schedules until activeQ is empty and every bind has settled (tests, benchmarks). */
  async drain(): Promise<void> {
    for (;;) {
      while (this.scheduleOne()) {
        /* keep going */
      }
      await this.settle();
      if (this.queue.activeCount === 0) return;
    }
  }
}
