/**
 * `skiff why pod/NAME` and `skiff why deployment/NAME`: the object's Timeline (what the timeline
 * controller recorded), ordered, then the one-line diagnosis and what to do next. For a
 * Deployment (or ReplicaSet) also its ReplicaSets and their pods, each with its last entries.
 */
import type { Pod } from 'kubernetes-types/core/v1.js';
import { isReason } from '../api/errors.js';
import type { KObject } from '../api/registry.js';
import { EVENTS, DEPLOYMENTS, PODS, REPLICASETS, TIMELINES } from '../client/resources.js';
import type { Client, ResourceRef } from '../client/types.js';
import { diagnose, isHealthy, type Diagnosis } from '../controllers/diagnosis.js';
import { entryFromEvent, mergeEntries, timelineName, type EventLike, type Timeline, type TimelineEntry } from '../controllers/timeline-entries.js';

const KIND_ALIASES: Record<string, { kind: string; ref: ResourceRef }> = {
  pod: { kind: 'Pod', ref: PODS }, pods: { kind: 'Pod', ref: PODS }, po: { kind: 'Pod', ref: PODS },
  deployment: { kind: 'Deployment', ref: DEPLOYMENTS }, deployments: { kind: 'Deployment', ref: DEPLOYMENTS }, deploy: { kind: 'Deployment', ref: DEPLOYMENTS },
  replicaset: { kind: 'ReplicaSet', ref: REPLICASETS }, replicasets: { kind: 'ReplicaSet', ref: REPLICASETS }, rs: { kind: 'ReplicaSet', ref: REPLICASETS },
};

/** "pod/web", "deploy/web" or "web" (a pod) → kind and name. */
export function parseTarget(target: string): { kind: string; ref: ResourceRef; name: string } {
  const i = target.indexOf('/');
  const type = i < 0 ? 'pod' : target.slice(0, i).toLowerCase().replace(/\.(apps|v1|apps\/v1)$/, '');
  const name = i < 0 ? target : target.slice(i + 1);
  const k = KIND_ALIASES[type];
  if (!k) throw new Error(`skiff why explains pods, deployments and replicasets, not "${type}" (use pod/NAME or deployment/NAME)`);
  if (!name) throw new Error(`give a name: ${type}/NAME`);
  return { ...k, name };
}

async function getOrUndefined<T>(client: Client, ref: ResourceRef, ns: string, name: string): Promise<T | undefined> {
  try {
    return await client.get<T>(ref, ns, name);
  } catch (err) {
    if (isReason(err, 'NotFound')) return undefined;
    throw err;
  }
}

/** The recorded entries of an object; without a Timeline (no recorder running), its current Events. */
async function entriesOf(client: Client, kind: string, ns: string, name: string): Promise<{ entries: TimelineEntry[]; fromEvents: boolean }> {
  const tl = await getOrUndefined<Timeline>(client, TIMELINES, ns, timelineName(kind, name));
  if (tl) return { entries: tl.entries ?? [], fromEvents: false };
  const evs = await client.list<EventLike>(EVENTS, ns, { fieldSelector: `involvedObject.kind=${kind},involvedObject.name=${name}` });
  const now = Date.now();
  const entries = evs.items.map((ev) => entryFromEvent(ev, undefined, [], now)).filter((e): e is TimelineEntry => !!e);
  return { entries: mergeEntries([], entries.sort((a, b) => Date.parse(a.time) - Date.parse(b.time))), fromEvents: true };
}

/** `2024-01-01 12:00:00.123` in local time: what a reader compares with their clock. */
function when(iso: string): string {
  const d = new Date(iso);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

/** The entries as aligned columns: TIME TYPE SOURCE REASON MESSAGE. */
export function formatEntries(entries: readonly TimelineEntry[], indent = ''): string[] {
  if (!entries.length) return [`${indent}(nothing recorded)`];
  const rows = [['TIME', 'TYPE', 'SOURCE', 'REASON', 'MESSAGE'], ...entries.map((e) => [when(e.time), e.type, e.source, e.reason, `${e.message}${e.count && e.count > 1 ? ` (x${e.count})` : ''}`])];
  const widths = [0, 1, 2, 3].map((c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => indent + r.map((v, c) => (c < 4 ? v.padEnd(widths[c]! + 2) : v)).join(''));
}

function diagnosisLines(d: Diagnosis): string[] {
  return [`Diagnosis: ${d.summary}`, `Next:      ${d.next}`];
}

async function whyPod(client: Client, ns: string, name: string, out: string[]): Promise<Diagnosis> {
  const pod = await getOrUndefined<Pod>(client, PODS, ns, name);
  const { entries, fromEvents } = await entriesOf(client, 'Pod', ns, name);
  if (!pod && !entries.length) throw new Error(`pods "${name}" not found in namespace ${ns}, and no timeline of it is kept`);
  const where = pod?.spec?.nodeName ? ` on ${pod.spec.nodeName}` : pod ? ' (not scheduled)' : '';
  out.push(`Pod ${ns}/${name}${where}: ${pod ? (pod.metadata?.deletionTimestamp ? 'Terminating' : pod.status?.phase ?? 'Pending') : 'deleted'}`);
  if (fromEvents) out.push('(no Timeline recorded — is the timeline controller running? — showing the Events still kept)');
  out.push(...formatEntries(entries), '');
  const d = diagnose({ kind: 'Pod', object: pod, entries });
  out.push(...diagnosisLines(d));
  return d;
}

async function whyWorkload(client: Client, kind: 'Deployment' | 'ReplicaSet', ns: string, name: string, out: string[]): Promise<Diagnosis> {
  const ref = kind === 'Deployment' ? DEPLOYMENTS : REPLICASETS;
  const obj = await getOrUndefined<KObject>(client, ref, ns, name);
  const { entries } = await entriesOf(client, kind, ns, name);
  if (!obj && !entries.length) throw new Error(`${ref.resource}.apps "${name}" not found in namespace ${ns}, and no timeline of it is kept`);
  const st = (obj?.status ?? {}) as { replicas?: number; readyReplicas?: number; availableReplicas?: number; updatedReplicas?: number };
  const want = (obj?.spec as { replicas?: number } | undefined)?.replicas ?? 1;
  out.push(obj ? `${kind} ${ns}/${name}: ${st.readyReplicas ?? 0}/${want} ready, ${st.updatedReplicas ?? 0} up to date, ${st.availableReplicas ?? 0} available` : `${kind} ${ns}/${name}: deleted`);
  out.push(...formatEntries(entries), '');
  const pods: { name: string; diagnosis: Diagnosis; healthy: boolean }[] = [];
  if (obj) {
    let sets: KObject[] = [obj];
    if (kind === 'Deployment') {
      const all = await client.list<KObject>(REPLICASETS, ns);
      const rev = (r: KObject) => Number(r.metadata?.annotations?.['deployment.kubernetes.io/revision'] ?? 0);
      sets = all.items.filter((r) => r.metadata?.ownerReferences?.some((o) => o.uid === obj.metadata?.uid)).sort((a, b) => rev(b) - rev(a));
    }
    const allPods = (await client.list<Pod>(PODS, ns)).items;
    for (const rs of sets) {
      const rst = (rs.status ?? {}) as { replicas?: number; readyReplicas?: number };
      const revision = rs.metadata?.annotations?.['deployment.kubernetes.io/revision'];
      if (kind === 'Deployment') out.push(`ReplicaSet ${rs.metadata?.name}${revision ? ` (revision ${revision})` : ''}: ${rst.readyReplicas ?? 0}/${(rs.spec as { replicas?: number } | undefined)?.replicas ?? 0} ready`);
      const mine = allPods.filter((p) => p.metadata?.ownerReferences?.some((o) => o.uid === rs.metadata?.uid));
      for (const p of mine) {
        const pe = await entriesOf(client, 'Pod', ns, p.metadata!.name!);
        const d = diagnose({ kind: 'Pod', object: p, entries: pe.entries });
        pods.push({ name: p.metadata!.name!, diagnosis: d, healthy: isHealthy(d) });
        out.push(`  Pod ${p.metadata!.name} (${p.metadata?.deletionTimestamp ? 'Terminating' : p.status?.phase ?? 'Pending'}${p.spec?.nodeName ? ` on ${p.spec.nodeName}` : ''}): ${d.summary}`);
        out.push(...formatEntries(pe.entries.slice(-4), '    '));
      }
      if (!mine.length) out.push('  (no pods)');
    }
    out.push('');
  }
  const d = diagnose({ kind, object: obj, entries, pods });
  out.push(...diagnosisLines(d));
  return d;
}

/** Everything `skiff why TARGET` prints, as lines, and the diagnosis. */
export async function explain(client: Client, target: string, namespace: string): Promise<{ lines: string[]; diagnosis: Diagnosis }> {
  const t = parseTarget(target);
  const lines: string[] = [];
  const diagnosis = t.kind === 'Pod' ? await whyPod(client, namespace, t.name, lines) : await whyWorkload(client, t.kind as 'Deployment' | 'ReplicaSet', namespace, t.name, lines);
  return { lines, diagnosis };
}
