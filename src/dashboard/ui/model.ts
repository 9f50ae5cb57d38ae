/**
 * The dashboard's decisions, kept free of the DOM so they are unit-tested: what a pod's row
 * says (as `kubectl get pods` says it), what a node has allocated, which ReplicaSet a rollback
 * goes to and what it patches, how a workload is restarted.
 */
import { milliValue, value } from '../../api/quantity.js';
import type { K } from './api.js';

/** `5s`, `3m`, `2h`, `4d`, as kubectl prints ages. */
export function age(timestamp: string | undefined, now = Date.now()): string {
  if (!timestamp) return '';
  const s = Math.max(0, Math.floor((now - Date.parse(timestamp)) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

/** The row `kubectl get pods` prints for a pod. */
export interface PodRow {
  namespace: string;
  name: string;
  ready: string;
  status: string;
  restarts: number;
  node: string;
  ip: string;
  created: string;
}

/**
 * The STATUS column as kubectl computes it: a waiting or terminated container's reason wins over
 * the phase (CrashLoopBackOff, ErrImagePull, Completed), Terminating when being deleted.
 */
export function podStatus(pod: K): string {
  if (pod.metadata?.deletionTimestamp) return 'Terminating';
  let reason: string = pod.status?.reason || pod.status?.phase || 'Pending';
  const init: K[] = pod.status?.initContainerStatuses ?? [];
  for (const [i, c] of init.entries()) {
    if (c.state?.terminated?.exitCode === 0) continue;
    if (c.state?.terminated) return `Init:${c.state.terminated.reason || 'Error'}`;
    if (c.state?.waiting?.reason && c.state.waiting.reason !== 'PodInitializing') return `Init:${c.state.waiting.reason}`;
    return `Init:${i}/${init.length}`;
  }
  for (const c of [...((pod.status?.containerStatuses ?? []) as K[])].reverse()) {
    if (c.state?.waiting?.reason) reason = c.state.waiting.reason;
    else if (c.state?.terminated) reason = c.state.terminated.reason || (c.state.terminated.signal ? `Signal:${c.state.terminated.signal}` : `ExitCode:${c.state.terminated.exitCode}`);
  }
  return reason;
}

/** A pod as its list row. */
export function podRow(pod: K): PodRow {
  const statuses: K[] = pod.status?.containerStatuses ?? [];
  const total = (pod.spec?.containers ?? []).length;
  return {
    namespace: pod.metadata?.namespace ?? '',
    name: pod.metadata?.name ?? '',
    ready: `${statuses.filter((c) => c.ready).length}/${total}`,
    status: podStatus(pod),
    restarts: statuses.reduce((n, c) => n + (c.restartCount ?? 0), 0),
    node: pod.spec?.nodeName ?? '',
    ip: pod.status?.podIP ?? '',
    created: pod.metadata?.creationTimestamp ?? '',
  };
}

/** Pods counted by phase (a pod being deleted still counts in its phase). */
export function phaseCounts(pods: Iterable<K>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of pods) {
    const phase = p.status?.phase ?? 'Pending';
    out[phase] = (out[phase] ?? 0) + 1;
  }
  return out;
}

/** A pod's requests as the scheduler counts them: the sum of its containers, or its largest init container if more. */
export function podRequests(pod: K): { cpuMilli: number; memory: number } {
  const sum = (cs: K[] | undefined, f: (r: K) => number) => (cs ?? []).reduce((n, c) => n + f(c.resources?.requests ?? {}), 0);
  const max = (cs: K[] | undefined, f: (r: K) => number) => (cs ?? []).reduce((n, c) => Math.max(n, f(c.resources?.requests ?? {})), 0);
  const cpu = (r: K) => milliValue(r.cpu);
  const mem = (r: K) => value(r.memory);
  return {
    cpuMilli: Math.max(sum(pod.spec?.containers, cpu), max(pod.spec?.initContainers, cpu)),
    memory: Math.max(sum(pod.spec?.containers, mem), max(pod.spec?.initContainers, mem)),
  };
}

/** One node's line on the overview. */
export interface NodeUse {
  name: string;
  ready: boolean;
  cpuMilli: { allocatable: number; requested: number };
  memory: { allocatable: number; requested: number };
  pods: { allocatable: number; running: number };
}

/** Allocation per node: the requests of the non-terminated pods bound to it, against its allocatable. */
export function nodeUsage(nodes: Iterable<K>, pods: Iterable<K>): NodeUse[] {
  const byNode = new Map<string, NodeUse>();
  for (const n of nodes) {
    const alloc = n.status?.allocatable ?? n.status?.capacity ?? {};
    byNode.set(n.metadata.name, {
      name: n.metadata.name,
      ready: (n.status?.conditions ?? []).some((c: K) => c.type === 'Ready' && c.status === 'True'),
      cpuMilli: { allocatable: milliValue(alloc.cpu), requested: 0 },
      memory: { allocatable: value(alloc.memory), requested: 0 },
      pods: { allocatable: value(alloc.pods), running: 0 },
    });
  }
  for (const p of pods) {
    const u = byNode.get(p.spec?.nodeName ?? '');
    if (!u || p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed') continue;
    const r = podRequests(p);
    u.cpuMilli.requested += r.cpuMilli;
    u.memory.requested += r.memory;
    u.pods.running++;
  }
  return [...byNode.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** Bytes in binary units (`512Mi`, `3.8Gi`). */
export function bytes(n: number): string {
  const units = ['', 'Ki', 'Mi', 'Gi', 'Ti'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i && n < 10 ? n.toFixed(1) : Math.round(n)}${units[i]}`;
}

/** The revision annotation the Deployment controller stamps on its ReplicaSets. */
export const REVISION = 'deployment.kubernetes.io/revision';

/** The ReplicaSets a Deployment owns, newest revision first. */
export function ownedReplicaSets(deployment: K, replicaSets: Iterable<K>): K[] {
  const uid = deployment.metadata?.uid;
  return [...replicaSets]
    .filter((rs) => (rs.metadata?.ownerReferences ?? []).some((o: K) => o.uid === uid && o.controller))
    .sort((a, b) => Number(b.metadata?.annotations?.[REVISION] ?? 0) - Number(a.metadata?.annotations?.[REVISION] ?? 0));
}

/**
 * `kubectl rollout undo` to the previous revision: the JSON patch that puts the second-newest
 * ReplicaSet's pod template back on the Deployment (without the controller's pod-template-hash
 * label), or an error message when there is no previous revision.
 */
export function rollbackPatch(deployment: K, replicaSets: Iterable<K>): { ops: unknown[]; revision: string } | { error: string } {
  const owned = ownedReplicaSets(deployment, replicaSets);
  if (owned.length < 2) return { error: `no rollout history found for deployment "${deployment.metadata?.name}"` };
  const prev = owned[1];
  const template = structuredClone(prev.spec?.template ?? {});
  if (template.metadata?.labels) delete template.metadata.labels['pod-template-hash'];
  return { ops: [{ op: 'replace', path: '/spec/template', value: template }], revision: String(prev.metadata?.annotations?.[REVISION] ?? '') };
}

/** `kubectl rollout restart`: the merge patch that stamps the pod template, so every pod is replaced. */
export function restartPatch(now = new Date()): K {
  return { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': now.toISOString().replace(/\.\d{3}Z$/, 'Z') } } } } };
}

/** One line of a pod's history, from the Timeline API or from its Events. */
export interface TimelineEntry {
  time: string;
  type: string;
  reason: string;
  message: string;
  source?: string;
  count?: number;
}

/** Events as timeline entries, oldest first (the fallback while an object has no Timeline). */
export function eventsAsTimeline(events: Iterable<K>): TimelineEntry[] {
  return [...events]
    .map((e) => ({
      time: e.lastTimestamp || e.eventTime || e.firstTimestamp || e.metadata?.creationTimestamp || '',
      type: e.type ?? 'Normal',
      reason: e.reason ?? '',
      message: e.message ?? '',
      source: e.source?.component ?? e.reportingComponent ?? '',
      count: e.count,
    }))
    .sort((a, b) => a.time.localeCompare(b.time));
}

/** Substring filter over a row's visible columns; every word must match somewhere. */
export function matches(haystack: string, filter: string): boolean {
  const words = filter.toLowerCase().split(/\s+/).filter(Boolean);
  const h = haystack.toLowerCase();
  return words.every((w) => h.includes(w));
}

/** The window of rows a virtualized list renders: the visible ones plus some overscan. */
export function visibleRange(scrollTop: number, viewport: number, rowHeight: number, count: number, overscan = 10): { start: number; end: number } {
  const start = Math.max(0, Math.floor(scrollTop / rowHeight) - overscan);
  const end = Math.min(count, Math.ceil((scrollTop + viewport) / rowHeight) + overscan);
  return { start, end };
}
