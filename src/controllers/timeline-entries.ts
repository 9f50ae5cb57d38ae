/**
 * The pure half of the timeline recorder: what entries an Event, a pod status change, a node
 * condition change or a workload status change adds to an object's Timeline, and how new
 * entries merge into the bounded history (oldest first, repeats counted).
 */
import type { ContainerStatus, Node, Pod } from 'kubernetes-types/core/v1.js';
import type { KObject, Obj } from '../api/registry.js';

/** One line of a Timeline (the skiff.dev/v1 contract). */
export interface TimelineEntry {
  time: string;
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  source: string;
  count?: number;
}

/** A skiff.dev/v1 Timeline. */
export interface Timeline extends KObject {
  involvedObject: { kind: string; name: string; namespace: string; uid?: string };
  entries: TimelineEntry[];
  diagnosis?: { summary: string; next: string };
}

/** Entries kept per object. */
export const MAX_TIMELINE_ENTRIES = 200;
/** How far back from the end a repeat is looked for to merge with. */
const MERGE_WINDOW = 20;

/** `pod.web-abc12`: the Timeline's name for an object. */
export function timelineName(kind: string, name: string): string {
  return `${kind.toLowerCase()}.${name}`;
}

/** A core/v1 Event as far as the timeline reads it. */
export interface EventLike extends KObject {
  involvedObject?: { kind?: string; name?: string; namespace?: string; uid?: string };
  reason?: string;
  message?: string;
  type?: string;
  count?: number;
  source?: { component?: string; host?: string };
  reportingComponent?: string;
  reportingInstance?: string;
  firstTimestamp?: string;
  lastTimestamp?: string;
  eventTime?: string;
  series?: { count?: number; lastObservedTime?: string };
}

const CONTROLLER_SUFFIX = /-controller$/;

/** Who reported an event, in the timeline's words: 'scheduler', 'agent/NODE', 'controller/replicaset'. */
export function eventSource(ev: EventLike): string {
  const component = ev.source?.component || ev.reportingComponent || '';
  const host = ev.source?.host || ev.reportingInstance || '';
  if (component === 'kubelet') return host ? `agent/${host}` : 'agent';
  if (/scheduler$/.test(component)) return 'scheduler';
  if (CONTROLLER_SUFFIX.test(component)) return `controller/${component.replace(CONTROLLER_SUFFIX, '')}`;
  return component || 'unknown';
}

/** When the event last happened, ms since the epoch (0 when it carries no time). */
export function eventTime(ev: EventLike): number {
  const t = ev.series?.lastObservedTime ?? ev.lastTimestamp ?? ev.eventTime ?? ev.firstTimestamp ?? ev.metadata?.creationTimestamp;
  return t ? Date.parse(t) || 0 : 0;
}

/** How many times the event has happened. */
export function eventCount(ev: EventLike): number {
  return Math.max(1, ev.series?.count ?? ev.count ?? 1);
}

/**
 * The entry an event adds, or undefined when it adds nothing new. `seenCount` is the count this
 * recorder last took from the same Event object (undefined: never seen, e.g. after a restart,
 * when `existing` — the stored entries — tells whether it was already recorded). Events carry
 * second-precision times, so one observed as it happens is stamped `now` (millisecond order
 * among the status entries recorded alongside).
 */
export function entryFromEvent(ev: EventLike, seenCount: number | undefined, existing: readonly TimelineEntry[], now: number): TimelineEntry | undefined {
  const count = eventCount(ev);
  const at = eventTime(ev) || now;
  const entry: TimelineEntry = {
    time: rfc3339Ms(now - at < 2000 && now >= at ? now : at),
    type: ev.type === 'Warning' ? 'Warning' : 'Normal',
    reason: ev.reason ?? '',
    message: String(ev.message ?? '').trim(),
    source: eventSource(ev),
  };
  let delta: number;
  if (seenCount !== undefined) delta = count - seenCount;
  else {
    const recorded = existing.slice(-MERGE_WINDOW * 2).some((e) => sameKind(e, entry) && Date.parse(e.time) >= Math.floor(at / 1000) * 1000);
    delta = recorded ? 0 : count;
  }
  if (delta <= 0) return undefined;
  if (delta > 1) entry.count = delta;
  return entry;
}

/** RFC 3339 with milliseconds. */
export function rfc3339Ms(ms: number): string {
  return new Date(ms).toISOString();
}

function sameKind(a: TimelineEntry, b: TimelineEntry): boolean {
  return a.reason === b.reason && a.message === b.message && a.source === b.source && a.type === b.type;
}

/**
 * Merges `added` into `existing` (neither is changed): a repeat of one of the last entries is
 * moved to its new time with the counts summed, anything else is inserted in time order; the
 * oldest entries beyond `max` are dropped.
 */
export function mergeEntries(existing: readonly TimelineEntry[], added: readonly TimelineEntry[], max = MAX_TIMELINE_ENTRIES): TimelineEntry[] {
  const out = existing.map((e) => ({ ...e }));
  for (const a of added) {
    let entry: TimelineEntry = { ...a };
    for (let i = out.length - 1; i >= Math.max(0, out.length - MERGE_WINDOW); i--) {
      if (sameKind(out[i]!, a)) {
        const [prev] = out.splice(i, 1);
        entry = { ...a, count: (prev!.count ?? 1) + (a.count ?? 1) };
        if (Date.parse(prev!.time) > Date.parse(entry.time)) entry.time = prev!.time;
        break;
      }
    }
    const t = Date.parse(entry.time);
    let at = out.length;
    while (at > 0 && Date.parse(out[at - 1]!.time) > t) at--;
    out.splice(at, 0, entry);
  }
  return out.length > max ? out.slice(out.length - max) : out;
}

function containerStatuses(p: Pod | undefined): Map<string, ContainerStatus> {
  const m = new Map<string, ContainerStatus>();
  for (const c of [...(p?.status?.initContainerStatuses ?? []), ...(p?.status?.containerStatuses ?? [])]) m.set(c.name, c);
  return m;
}

function condition(o: { status?: { conditions?: Obj[] } } | undefined, type: string): Obj | undefined {
  return o?.status?.conditions?.find((c) => c.type === type);
}

/** "exited with code 137 (OOMKilled) after 3s": a terminated state in words. */
export function describeExit(t: { exitCode?: number; reason?: string; signal?: number; startedAt?: string; finishedAt?: string; message?: string }): string {
  const parts = [`exited with code ${t.exitCode ?? 0}`];
  if (t.reason) parts.push(`(${t.reason})`);
  if (t.startedAt && t.finishedAt) {
    const ms = Date.parse(t.finishedAt) - Date.parse(t.startedAt);
    if (ms >= 0) parts.push(`after ${ms < 1000 ? `${ms}ms` : `${Math.round(ms / 1000)}s`}`);
  }
  const msg = t.message?.trim();
  return msg ? `${parts.join(' ')}: ${msg.slice(0, 300)}` : parts.join(' ');
}

/** The container exits and waiting reasons a pod status change shows (the agent's events cover the rest). */
function containerEntries(old: Pod | undefined, cur: Pod, time: string, source: string): TimelineEntry[] {
  const out: TimelineEntry[] = [];
  const before = containerStatuses(old);
  for (const [name, c] of containerStatuses(cur)) {
    const prev = before.get(name);
    // An exit: a terminated state (current, or last after a restart) not seen before.
    const exits = [c.lastState?.terminated, c.state?.terminated].filter((t): t is NonNullable<typeof t> => !!t);
    const seen = new Set([prev?.lastState?.terminated, prev?.state?.terminated].filter(Boolean).map((t) => `${t!.containerID ?? ''}|${t!.finishedAt ?? ''}|${t!.exitCode}`));
    for (const t of exits) {
      const key = `${t.containerID ?? ''}|${t.finishedAt ?? ''}|${t.exitCode}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const failed = (t.exitCode ?? 0) !== 0 || t.reason === 'OOMKilled';
      out.push({
        time: t.finishedAt && Date.parse(t.finishedAt) > Date.parse(time) - 5000 ? time : (t.finishedAt ?? time),
        type: failed ? 'Warning' : 'Normal',
        reason: t.reason === 'OOMKilled' ? 'OOMKilled' : failed ? 'Exited' : 'Completed',
        message: `Container ${name} ${describeExit(t)}`,
        source,
      });
    }
    const w = c.state?.waiting;
    if (w?.reason && !['ContainerCreating', 'PodInitializing'].includes(w.reason) && (prev?.state?.waiting?.reason !== w.reason || prev?.state?.waiting?.message !== w.message)) {
      out.push({ time, type: 'Warning', reason: w.reason, message: `Container ${name}: ${w.message || w.reason}`, source });
    }
  }
  return out;
}

/**
 * Entries for a pod's change from `old` (undefined: first seen) to `cur`: created, sandbox and
 * network ready (pod IP), container exits with exit codes and OOM kills, waiting reasons
 * (CrashLoopBackOff, ImagePullBackOff, CreateContainerConfigError), readiness, the final
 * phase, evictions and deletion.
 */
export function podEntries(old: Pod | undefined, cur: Pod, now: number): TimelineEntry[] {
  const time = rfc3339Ms(now);
  const node = cur.spec?.nodeName;
  const agent = node ? `agent/${node}` : 'agent';
  const out: TimelineEntry[] = [];
  if (!old) {
    const owner = cur.metadata?.ownerReferences?.find((r) => r.controller) ?? cur.metadata?.ownerReferences?.[0];
    const created = cur.metadata?.creationTimestamp;
    out.push({
      // The second-precision creation time sorts before anything that followed it.
      time: created ? rfc3339Ms(Date.parse(created)) : time,
      type: 'Normal',
      reason: 'Created',
      message: owner ? `Pod created by ${owner.kind} ${owner.name}` : 'Pod created',
      source: owner ? `controller/${owner.kind.toLowerCase()}` : 'api',
    });
  }
  const ip = cur.status?.podIP;
  if (ip && ip !== old?.status?.podIP) {
    out.push({ time, type: 'Normal', reason: 'SandboxReady', message: `Pod sandbox and network set up; pod IP ${ip}${cur.spec?.hostNetwork ? ' (host network)' : ''}`, source: agent });
  }
  out.push(...containerEntries(old, cur, time, agent));
  const ready = condition(cur as never, 'Ready');
  const wasReady = condition(old as never, 'Ready');
  if (ready && (ready.status !== wasReady?.status) && (ready.status === 'True' || wasReady?.status === 'True')) {
    out.push(ready.status === 'True'
      ? { time, type: 'Normal', reason: 'Ready', message: 'Pod is Ready: every container is running and passes its readiness probe', source: agent }
      : { time, type: 'Warning', reason: 'NotReady', message: `Pod is no longer Ready${ready.message ? `: ${ready.message}` : ''}`, source: agent });
  }
  const phase = cur.status?.phase;
  if (phase !== old?.status?.phase && (phase === 'Succeeded' || phase === 'Failed')) {
    const reason = cur.status?.reason;
    out.push({
      time,
      type: phase === 'Failed' ? 'Warning' : 'Normal',
      reason: reason === 'Evicted' ? 'Evicted' : phase,
      message: `Pod ${phase === 'Failed' ? 'failed' : 'succeeded'}${cur.status?.message ? `: ${cur.status.message}` : ''}`,
      source: agent,
    });
  }
  if (cur.metadata?.deletionTimestamp && !old?.metadata?.deletionTimestamp) {
    out.push({ time, type: 'Normal', reason: 'Terminating', message: `Pod is being deleted (grace period ${cur.metadata.deletionGracePeriodSeconds ?? 0}s)`, source: 'api' });
  }
  return out;
}

/** The entry a deleted object's timeline ends with. */
export function deletedEntry(kind: string, now: number): TimelineEntry {
  return { time: rfc3339Ms(now), type: 'Normal', reason: 'Deleted', message: `${kind} deleted`, source: 'api' };
}

/** Node conditions whose changes matter to the pods on the node. */
const NODE_CONDITIONS = ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure', 'NetworkUnavailable'];

/** Entries (for the pods on it) when a node's conditions or taints change. */
export function nodeEntries(old: Node | undefined, cur: Node, now: number): TimelineEntry[] {
  if (!old) return [];
  const time = rfc3339Ms(now);
  const name = cur.metadata?.name ?? '';
  const out: TimelineEntry[] = [];
  for (const type of NODE_CONDITIONS) {
    const c = condition(cur as never, type);
    const was = condition(old as never, type);
    if (!c || c.status === was?.status) continue;
    const bad = type === 'Ready' ? c.status !== 'True' : c.status === 'True';
    out.push({
      time,
      type: bad ? 'Warning' : 'Normal',
      reason: type === 'Ready' ? (c.status === 'True' ? 'NodeReady' : 'NodeNotReady') : `Node${type}`,
      message: `Node ${name} condition ${type} is now ${c.status}${c.reason ? ` (${c.reason})` : ''}${c.message ? `: ${c.message}` : ''}`,
      source: `node/${name}`,
    });
  }
  const taints = (n: Node | undefined) => new Set((n?.spec?.taints ?? []).map((t) => `${t.key}${t.value ? `=${t.value}` : ''}:${t.effect}`));
  const before = taints(old);
  for (const t of taints(cur)) if (!before.has(t)) out.push({ time, type: 'Warning', reason: 'NodeTainted', message: `Node ${name} was tainted ${t}`, source: `node/${name}` });
  return out;
}

/** Entries for a Deployment's or ReplicaSet's status change: replica counts and conditions. */
export function workloadEntries(kind: string, old: KObject | undefined, cur: KObject, now: number): TimelineEntry[] {
  const time = rfc3339Ms(now);
  const source = `controller/${kind.toLowerCase()}`;
  const out: TimelineEntry[] = [];
  if (!old) {
    out.push({ time: cur.metadata?.creationTimestamp ? rfc3339Ms(Date.parse(cur.metadata.creationTimestamp)) : time, type: 'Normal', reason: 'Created', message: `${kind} created`, source: 'api' });
    return out;
  }
  const st = (o: KObject) => (o.status ?? {}) as Obj;
  const spec = (o: KObject) => (o.spec ?? {}) as Obj;
  if (spec(cur).replicas !== spec(old).replicas) {
    out.push({ time, type: 'Normal', reason: 'Scaled', message: `${kind} scaled from ${spec(old).replicas ?? 1} to ${spec(cur).replicas ?? 1} replicas`, source: 'api' });
  }
  const want = spec(cur).replicas ?? 1;
  const ready = st(cur).readyReplicas ?? 0;
  const wasReady = st(old).readyReplicas ?? 0;
  if ((ready === want) !== (wasReady === (spec(old).replicas ?? 1))) {
    out.push({ time, type: ready === want ? 'Normal' : 'Warning', reason: ready === want ? 'ReplicasReady' : 'ReplicasNotReady', message: `${ready}/${want} replicas ready`, source });
  }
  for (const c of (st(cur).conditions ?? []) as Obj[]) {
    const was = ((st(old).conditions ?? []) as Obj[]).find((x) => x.type === c.type);
    if (was && was.status === c.status && was.reason === c.reason) continue;
    if (!was && c.status === 'True' && c.type !== 'ReplicaFailure') continue; // the first conditions say nothing new
    const bad = (c.type === 'ReplicaFailure' && c.status === 'True') || (c.type !== 'ReplicaFailure' && c.status !== 'True');
    out.push({ time, type: bad ? 'Warning' : 'Normal', reason: c.reason ?? c.type, message: `${c.type} is ${c.status}${c.message ? `: ${c.message}` : ''}`, source });
  }
  return out;
}

/** The Timeline object for `obj` with `entries`, as first created. */
export function newTimeline(kind: string, obj: KObject, entries: TimelineEntry[]): Timeline {
  const md = obj.metadata ?? {};
  return {
    apiVersion: 'skiff.dev/v1',
    kind: 'Timeline',
    metadata: { name: timelineName(kind, md.name ?? ''), namespace: md.namespace },
    involvedObject: { kind, name: md.name ?? '', namespace: md.namespace ?? '', ...(md.uid ? { uid: md.uid } : {}) },
    entries,
  };
}
