/**
 * The scheduling queue (upstream internal/queue PriorityQueue):
 *  - activeQ: pods ready to be tried, highest spec.priority first, then oldest;
 *  - backoffQ: pods waiting out a per-pod exponential backoff (1 s doubling to 10 s);
 *  - unschedulable pods: parked until a cluster event that one of the plugins which
 *    rejected them registered for (or the 5-minute leftover flush) moves them back.
 * It also tracks nominated pods (preemptors waiting for victims to go).
 */
import type { Pod } from 'kubernetes-types/core/v1.js';
import { realClock, type Clock, type Timer } from '../util/clock.js';
import { eventMatches, type ClusterEvent, type ClusterEventWithHint, type Nominator } from './framework.js';
import { KeyedHeap } from './heap.js';
import { PodInfo } from './node-info.js';

/** A pod in the queue with its scheduling history. */
export interface QueuedPodInfo {
  podInfo: PodInfo;
  readonly key: string;
  /** When the pod was last (re)queued; backoff counts from here. */
  timestamp: number;
  /** When the pod was first queued. */
  readonly initialAttemptTimestamp: number;
  /** Scheduling attempts so far. */
  attempts: number;
  /** Plugins that rejected the pod in its last attempt. */
  unschedulablePlugins: Set<string>;
  /** Ordering key among equal priorities: creation time, else first-queued time. */
  readonly sortTime: number;
  readonly seq: number;
  /** Pod has schedulingGates: it waits in the unschedulable pool until they are removed. */
  gated: boolean;
}

export interface QueueOptions {
  clock?: Clock;
  podInitialBackoffMs?: number;
  podMaxBackoffMs?: number;
  /** Pods parked longer than this are retried even without an event (upstream 5 min). */
  podMaxInUnschedulablePodsMs?: number;
  /** Plugin name → events that may make a pod it rejected schedulable. */
  pluginEvents?: Map<string, ClusterEventWithHint[]>;
}

/** Wildcard event used by the periodic flush and by {@link SchedulingQueue.moveAllToActiveOrBackoffQueue} callers that want everything back. */
export const UNSCHEDULABLE_TIMEOUT: ClusterEvent = { resource: '*', action: ~0, label: 'UnschedulableTimeout' };

function creationMillis(pod: Pod): number | undefined {
  const ts = pod.metadata?.creationTimestamp;
  if (!ts) return undefined;
  const t = Date.parse(ts);
  return Number.isNaN(t) ? undefined : t;
}

function isGated(pod: Pod): boolean {
  return (pod.spec?.schedulingGates?.length ?? 0) > 0;
}

/** Whether an update touches more than status/resourceVersion (upstream isPodUpdated). */
export function isPodUpdated(oldPod: Pod, newPod: Pod): boolean {
  const strip = (p: Pod) =>
    JSON.stringify([p.spec, p.metadata?.labels, p.metadata?.annotations, p.metadata?.ownerReferences, p.metadata?.deletionTimestamp]);
  return strip(oldPod) !== strip(newPod);
}

export class SchedulingQueue implements Nominator {
  private readonly clock: Clock;
  private readonly initialBackoff: number;
  private readonly maxBackoff: number;
  private readonly maxInUnschedulable: number;
  private pluginEvents: Map<string, ClusterEventWithHint[]>;
  private readonly activeQ: KeyedHeap<QueuedPodInfo>;
  private readonly backoffQ: KeyedHeap<QueuedPodInfo>;
  private readonly unschedulable = new Map<string, QueuedPodInfo>();
  private readonly inFlight = new Map<string, QueuedPodInfo>();
  private readonly nominatedByNode = new Map<string, PodInfo[]>();
  private readonly nominatedNodeOf = new Map<string, string>();
  private waiters: (() => void)[] = [];
  private seq = 0;
  /** The pending timer of each periodic flush. */
  private timers: Timer[] = [];
  private closed = false;

  constructor(opts: QueueOptions = {}) {
    this.clock = opts.clock ?? realClock;
    this.initialBackoff = opts.podInitialBackoffMs ?? 1000;
    this.maxBackoff = opts.podMaxBackoffMs ?? 10_000;
    this.maxInUnschedulable = opts.podMaxInUnschedulablePodsMs ?? 5 * 60_000;
    this.pluginEvents = opts.pluginEvents ?? new Map();
    this.activeQ = new KeyedHeap<QueuedPodInfo>(
      (q) => q.key,
      (a, b) => {
        const pa = a.podInfo.priority;
        const pb = b.podInfo.priority;
        if (pa !== pb) return pa > pb;
        if (a.sortTime !== b.sortTime) return a.sortTime < b.sortTime;
        return a.seq < b.seq;
      },
    );
    this.backoffQ = new KeyedHeap<QueuedPodInfo>(
      (q) => q.key,
      (a, b) => this.backoffExpiry(a) < this.backoffExpiry(b),
    );
  }

  setPluginEvents(m: Map<string, ClusterEventWithHint[]>): void {
    this.pluginEvents = m;
  }

  // --- sizes and introspection

  get activeCount(): number {
    return this.activeQ.size;
  }

  get backoffCount(): number {
    return this.backoffQ.size;
  }

  get unschedulableCount(): number {
    return this.unschedulable.size;
  }

  /** Where a pod currently sits, for tests and debugging. */
  whereIs(key: string): 'active' | 'backoff' | 'unschedulable' | 'inflight' | undefined {
    if (this.activeQ.has(key)) return 'active';
    if (this.backoffQ.has(key)) return 'backoff';
    if (this.unschedulable.has(key)) return 'unschedulable';
    if (this.inFlight.has(key)) return 'inflight';
    return undefined;
  }

  /** All pending pods (active, backoff, unschedulable). */
  pendingPods(): Pod[] {
    return [
      ...this.activeQ.values().map((q) => q.podInfo.pod),
      ...this.backoffQ.values().map((q) => q.podInfo.pod),
      ...[...this.unschedulable.values()].map((q) => q.podInfo.pod),
    ];
  }

  // --- backoff

  /** Upstream calculateBackoffDuration: initial * 2^(attempts-1), capped. */
  backoffDuration(q: QueuedPodInfo): number {
    let d = this.initialBackoff;
    for (let i = 1; i < q.attempts; i++) {
      d *= 2;
      if (d >= this.maxBackoff) return this.maxBackoff;
    }
    return d;
  }

  backoffExpiry(q: QueuedPodInfo): number {
    return q.timestamp + this.backoffDuration(q);
  }

  private isBackingOff(q: QueuedPodInfo): boolean {
    return q.attempts > 0 && this.backoffExpiry(q) > this.clock.now();
  }

  // --- adding / updating / deleting pods (from the informer)

  private newQueued(pi: PodInfo): QueuedPodInfo {
    const now = this.clock.now();
    return {
      podInfo: pi,
      key: pi.key,
      timestamp: now,
      initialAttemptTimestamp: now,
      attempts: 0,
      unschedulablePlugins: new Set(),
      sortTime: creationMillis(pi.pod) ?? now,
      seq: this.seq++,
      gated: isGated(pi.pod),
    };
  }

  private pushActive(q: QueuedPodInfo): void {
    if (q.gated) {
      this.unschedulable.set(q.key, q);
      return;
    }
    this.activeQ.push(q);
    if (this.waiters.length > 0) {
      const w = this.waiters;
      this.waiters = [];
      for (const f of w) f();
    }
  }

  /** A new unscheduled pod. */
  add(pod: Pod): void {
    const pi = PodInfo.of(pod);
    if (this.inFlight.has(pi.key) || this.activeQ.has(pi.key)) return;
    this.backoffQ.delete(pi.key);
    this.unschedulable.delete(pi.key);
    this.updateNomination(pi);
    this.pushActive(this.newQueued(pi));
  }

  /** The unscheduled pod changed. Spec/label changes give an unschedulable pod another try. */
  update(oldPod: Pod | undefined, newPod: Pod): void {
    const pi = PodInfo.of(newPod);
    const key = pi.key;
    this.updateNomination(pi);
    const inActive = this.activeQ.get(key);
    if (inActive) {
      inActive.podInfo = pi;
      inActive.gated = isGated(newPod);
      this.activeQ.delete(key);
      this.pushActive(inActive);
      return;
    }
    const inBackoff = this.backoffQ.get(key);
    if (inBackoff) {
      inBackoff.podInfo = pi;
      this.backoffQ.push(inBackoff);
      return;
    }
    const parked = this.unschedulable.get(key);
    if (parked) {
      parked.podInfo = pi;
      if (!oldPod || isPodUpdated(oldPod, newPod)) {
        parked.gated = isGated(newPod);
        if (parked.gated) return;
        this.unschedulable.delete(key);
        if (this.isBackingOff(parked)) this.backoffQ.push(parked);
        else this.pushActive(parked);
      }
      return;
    }
    const flying = this.inFlight.get(key);
    if (flying) {
      flying.podInfo = pi;
      return;
    }
    this.pushActive(this.newQueued(pi));
  }

  delete(pod: Pod): void {
    const key = PodInfo.keyOf(pod);
    this.activeQ.delete(key);
    this.backoffQ.delete(key);
    this.unschedulable.delete(key);
    this.inFlight.delete(key);
    this.deleteNominatedPodIfExists(key);
  }

  /** Moves named pods straight to activeQ (upstream Activate). */
  activate(pods: Pod[]): void {
    for (const pod of pods) {
      const key = PodInfo.keyOf(pod);
      const q = this.unschedulable.get(key) ?? this.backoffQ.get(key);
      if (!q || q.gated) continue;
      this.unschedulable.delete(key);
      this.backoffQ.delete(key);
      this.pushActive(q);
    }
  }

  // --- the scheduling loop's side

  /** Takes the next pod to schedule (non-blocking). The pod is in flight until {@link done}. */
  pop(): QueuedPodInfo | undefined {
    const q = this.activeQ.pop();
    if (!q) return undefined;
    q.attempts++;
    q.unschedulablePlugins = new Set();
    this.inFlight.set(q.key, q);
    return q;
  }

  /** Resolves when activeQ has a pod (or the queue is closed). */
  waitForPod(): Promise<void> {
    if (this.activeQ.size > 0 || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** The cycle for this pod is over (scheduled, or requeued via addUnschedulableIfNotPresent). */
  done(key: string): void {
    this.inFlight.delete(key);
  }

  /**
   * Requeues a pod whose attempt failed: errors wait out their backoff; rejected pods
   * park until a relevant event. No-op if the pod was deleted or re-added meanwhile.
   */
  addUnschedulableIfNotPresent(q: QueuedPodInfo, unschedulablePlugins: Iterable<string>, opts: { error?: boolean } = {}): void {
    const key = q.key;
    const wasInFlight = this.inFlight.delete(key);
    if (!wasInFlight || this.activeQ.has(key) || this.backoffQ.has(key) || this.unschedulable.has(key)) return;
    q.timestamp = this.clock.now();
    q.unschedulablePlugins = new Set(unschedulablePlugins);
    if (opts.error) this.backoffQ.push(q);
    else this.unschedulable.set(key, q);
  }

  /** Requeues a pod after a failed bind: it waits out its backoff, then retries. */
  requeueAfterBindFailure(pod: Pod, attempts = 1): void {
    const pi = PodInfo.of(pod);
    if (this.activeQ.has(pi.key) || this.backoffQ.has(pi.key) || this.unschedulable.has(pi.key)) return;
    const q = this.newQueued(pi);
    q.attempts = attempts;
    this.backoffQ.push(q);
  }

  private podMatchesEvent(q: QueuedPodInfo, ev: ClusterEvent, oldObj: unknown, newObj: unknown): boolean {
    if (ev.resource === '*') return true;
    // Nobody claimed the rejection (e.g. no nodes at all): any event may help.
    if (q.unschedulablePlugins.size === 0) return true;
    for (const plugin of q.unschedulablePlugins) {
      const regs = this.pluginEvents.get(plugin);
      if (!regs) continue;
      for (const r of regs) {
        if (!eventMatches(r.event, ev)) continue;
        if (!r.hint) return true;
        try {
          if (r.hint(q.podInfo.pod, oldObj, newObj) === 'Queue') return true;
        } catch {
          return true; // a failing hint must not strand the pod
        }
      }
    }
    return false;
  }

  /** A cluster event happened: unschedulable pods it may help go to activeQ (or backoffQ if still backing off). */
  moveAllToActiveOrBackoffQueue(ev: ClusterEvent, oldObj?: unknown, newObj?: unknown, filter?: (q: QueuedPodInfo) => boolean): number {
    if (this.unschedulable.size === 0) return 0;
    const moving: QueuedPodInfo[] = [];
    for (const q of this.unschedulable.values()) {
      if (q.gated) continue;
      if (filter && !filter(q)) continue;
      if (this.podMatchesEvent(q, ev, oldObj, newObj)) moving.push(q);
    }
    for (const q of moving) {
      this.unschedulable.delete(q.key);
      if (this.isBackingOff(q)) this.backoffQ.push(q);
      else this.pushActive(q);
    }
    return moving.length;
  }

  /** Moves pods whose backoff has expired to activeQ (upstream runs this every second). */
  flushBackoffQCompleted(): number {
    const now = this.clock.now();
    let n = 0;
    for (;;) {
      const top = this.backoffQ.peek();
      if (!top || this.backoffExpiry(top) > now) break;
      this.backoffQ.pop();
      this.pushActive(top);
      n++;
    }
    return n;
  }

  /** Retries pods parked longer than the limit (upstream runs this every 30 s). */
  flushUnschedulablePodsLeftover(): number {
    const now = this.clock.now();
    return this.moveAllToActiveOrBackoffQueue(UNSCHEDULABLE_TIMEOUT, undefined, undefined, (q) => now - q.timestamp > this.maxInUnschedulable);
  }

  /** Starts the periodic flushes on the queue's clock. */
  run(): void {
    this.closed = false;
    const every = (ms: number, fn: () => void) => {
      // Each flush re-arms its own slot, so the list holds one live timer per flush.
      const slot = this.timers.length;
      const tick = () => {
        if (this.closed) return;
        fn();
        this.timers[slot] = this.clock.setTimeout(tick, ms);
      };
      this.timers.push(this.clock.setTimeout(tick, ms));
    };
    every(1000, () => this.flushBackoffQCompleted());
    every(30_000, () => this.flushUnschedulablePodsLeftover());
  }

  /** Stops the flushes and wakes any waiter. */
  close(): void {
    this.closed = true;
    for (const t of this.timers) t.cancel();
    this.timers = [];
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  // --- nominated pods

  private updateNomination(pi: PodInfo): void {
    const nn = pi.pod.status?.nominatedNodeName;
    const cur = this.nominatedNodeOf.get(pi.key);
    if (nn) {
      if (cur !== nn || !this.nominatedByNode.get(nn)?.some((p) => p.pod === pi.pod)) this.addNominatedPod(pi, nn);
    } else if (cur) {
      // Keep a nomination we made ourselves until the status update that records it arrives.
      const list = this.nominatedByNode.get(cur);
      const idx = list?.findIndex((p) => p.key === pi.key) ?? -1;
      if (list && idx >= 0) list[idx] = pi;
    }
  }

  /** Records that `pi` is expected to run on `nodeName` (after preemption). */
  addNominatedPod(pi: PodInfo, nodeName: string): void {
    this.deleteNominatedPodIfExists(pi.key);
    this.nominatedNodeOf.set(pi.key, nodeName);
    let list = this.nominatedByNode.get(nodeName);
    if (!list) this.nominatedByNode.set(nodeName, (list = []));
    list.push(pi);
  }

  deleteNominatedPodIfExists(key: string): void {
    const node = this.nominatedNodeOf.get(key);
    if (node === undefined) return;
    this.nominatedNodeOf.delete(key);
    const list = this.nominatedByNode.get(node);
    if (!list) return;
    const rest = list.filter((p) => p.key !== key);
    if (rest.length === 0) this.nominatedByNode.delete(node);
    else this.nominatedByNode.set(node, rest);
  }

  nominatedPodsForNode(nodeName: string): readonly PodInfo[] {
    if (this.nominatedByNode.size === 0) return NONE;
    return this.nominatedByNode.get(nodeName) ?? NONE;
  }

  nominatedNodeFor(key: string): string | undefined {
    return this.nominatedNodeOf.get(key);
  }
}

const NONE: readonly PodInfo[] = [];
