/**
 * The timeline recorder: follows Events, Pods, Nodes, ReplicaSets and Deployments and appends
 * what happened to each Pod, ReplicaSet and Deployment to its skiff.dev/v1 Timeline — a bounded
 * history (timeline-entries.ts) that outlives the Events, with a diagnosis (diagnosis.ts).
 *
 * Entries are computed as changes arrive (every intermediate state the watch delivers counts),
 * parked per Timeline, and written by the workers at most once per `coalesceMs` per object
 * (the work queue's addAfter keeps the earliest due time, so a burst is one write). A first
 * sight of an object (start-up relist) is only turned into entries when no Timeline of that
 * uid exists yet, and an Event already in the Timeline is not added twice, so restarts do not
 * duplicate history. A deleted object's Timeline gets a Deleted entry and is removed
 * `retentionSeconds` later.
 */
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { isReason } from '../api/errors.js';
import { INDEX_NODE, INDEX_OWNER_UID, splitKey } from '../client/informer.js';
import { DEPLOYMENTS, EVENTS, NODES, PODS, REPLICASETS, TIMELINES } from '../client/resources.js';
import type { KObject, ResourceRef } from '../client/types.js';
import { QueueController, type ReconcileResult } from './base.js';
import { diagnose, isHealthy, type Diagnosis } from './diagnosis.js';
import {
  deletedEntry, entryFromEvent, eventCount, mergeEntries, newTimeline, nodeEntries, podEntries, rfc3339Ms, timelineName, workloadEntries,
  type EventLike, type Timeline, type TimelineEntry,
} from './timeline-entries.js';
import type { Controller, ControllerContext } from './types.js';

/** Annotation holding when the Timeline's object was deleted (the Timeline goes `retention` later). */
export const DELETED_AT_ANNOTATION = 'skiff.dev/object-deleted-at';

/** The kinds that get a Timeline, with the resource their objects live in. */
const KINDS: Record<string, ResourceRef> = { Pod: PODS, ReplicaSet: REPLICASETS, Deployment: DEPLOYMENTS };

export interface TimelineOptions {
  /** Least time between two writes of one Timeline (default 1000 ms). */
  coalesceMs?: number;
  /** How long a Timeline outlives its object (default 3600 s). */
  retentionSeconds?: number;
}

interface Pending {
  kind: string;
  namespace: string;
  name: string;
  /** Entries and Events (with when they were observed) since the last write, in arrival order. */
  items: ({ entry: TimelineEntry } | { ev: EventLike; at: number })[];
  /** A first sight of the object: its entries count only if no Timeline of its uid exists. */
  initial?: KObject;
  initialAt?: number;
  deleted?: { uid?: string; at: number };
}

/** Creates the timeline controller. */
export function newTimelineController(ctx: ControllerContext, opts: TimelineOptions = {}): Controller & { readonly queue: QueueController['queue'] } {
  const { client, clock } = ctx;
  const coalesceMs = opts.coalesceMs ?? 1000;
  const retentionMs = (opts.retentionSeconds ?? 3600) * 1000;
  const podInf = ctx.informers.informerFor<Pod & KObject>(PODS);
  const nodeInf = ctx.informers.informerFor<Node & KObject>(NODES);
  const rsInf = ctx.informers.informerFor(REPLICASETS);
  const depInf = ctx.informers.informerFor(DEPLOYMENTS);
  const evInf = ctx.informers.informerFor<EventLike>(EVENTS);
  const tlInf = ctx.informers.informerFor<Timeline>(TIMELINES);
  const informerOf = { Pod: podInf, ReplicaSet: rsInf, Deployment: depInf } as Record<string, typeof rsInf>;
  const qc = new QueueController('timeline', ctx, [podInf, nodeInf, rsInf, depInf, evInf, tlInf], reconcile);
  const q = qc.queue;
  const pending = new Map<string, Pending>();
  /** Count last taken from each Event (by uid). */
  const seenEvents = new Map<string, number>();
  /** What this controller last wrote, newer than the informer's copy until the watch catches up. */
  const written = new Map<string, Timeline>();
  const SWEEP = '\u0000sweep';

  const keyFor = (kind: string, namespace: string, name: string) => `${namespace}/${timelineName(kind, name)}`;
  const slot = (kind: string, namespace: string, name: string): Pending => {
    const key = keyFor(kind, namespace, name);
    let p = pending.get(key);
    if (!p) pending.set(key, (p = { kind, namespace, name, items: [] }));
    q.addAfter(key, coalesceMs);
    return p;
  };
  const record = (kind: string, obj: KObject, entries: TimelineEntry[]) => {
    const md = obj.metadata ?? {};
    if (!entries.length || !md.namespace || !md.name) return;
    slot(kind, md.namespace, md.name).items.push(...entries.map((entry) => ({ entry })));
  };

  // Pods: first sight, every status change, deletion.
  podInf.addEventHandler({
    onAdd: (p) => { if (p.metadata?.namespace) Object.assign(slot('Pod', p.metadata.namespace, p.metadata.name!), { initial: p, initialAt: clock.now() }); },
    onUpdate: (old, p) => record('Pod', p, podEntries(old, p, clock.now())),
    onDelete: (p) => markDeleted('Pod', p),
  });
  for (const [kind, inf] of [['ReplicaSet', rsInf], ['Deployment', depInf]] as const) {
    inf.addEventHandler({
      onAdd: (o) => { if (o.metadata?.namespace) Object.assign(slot(kind, o.metadata.namespace, o.metadata.name!), { initial: o, initialAt: clock.now() }); },
      onUpdate: (old, o) => record(kind, o, workloadEntries(kind, old, o, clock.now())),
      onDelete: (o) => markDeleted(kind, o),
    });
  }
  // A node's condition changes go to the timelines of the pods on it.
  nodeInf.addEventHandler({
    onUpdate: (old, n) => {
      const entries = nodeEntries(old, n, clock.now());
      if (!entries.length) return;
      for (const p of podInf.byIndex(INDEX_NODE, n.metadata!.name!)) {
        if (p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed') record('Pod', p, entries);
      }
    },
  });
  const onEvent = (ev: EventLike) => {
    const io = ev.involvedObject;
    if (!io?.kind || !KINDS[io.kind] || !io.name) return;
    const ns = io.namespace || ev.metadata?.namespace;
    if (!ns) return;
    slot(io.kind, ns, io.name).items.push({ ev, at: clock.now() });
  };
  evInf.addEventHandler({
    onAdd: onEvent,
    onUpdate: (_old, ev) => onEvent(ev),
    onDelete: (ev) => { if (ev.metadata?.uid) seenEvents.delete(ev.metadata.uid); },
  });
  // Forget our copy of a Timeline once the cache has caught up with it.
  const caughtUp = (t: Timeline) => {
    const key = `${t.metadata?.namespace}/${t.metadata?.name}`;
    const mine = written.get(key);
    if (mine && Number(t.metadata?.resourceVersion) >= Number(mine.metadata?.resourceVersion)) written.delete(key);
  };
  tlInf.addEventHandler({
    onAdd: caughtUp,
    onUpdate: (_old, t) => caughtUp(t),
    onDelete: (t) => written.delete(`${t.metadata?.namespace}/${t.metadata?.name}`),
  });
  // Once everything is listed: find timelines whose objects went while nobody watched.
  q.add(SWEEP);

  function markDeleted(kind: string, obj: KObject): void {
    const md = obj.metadata ?? {};
    if (!md.namespace || !md.name) return;
    const p = slot(kind, md.namespace, md.name);
    p.items.push({ entry: deletedEntry(kind, clock.now()) });
    p.deleted = { uid: md.uid, at: clock.now() };
  }

  function current(key: string): Timeline | undefined {
    const mine = written.get(key);
    const { namespace, name } = splitKey(key);
    const cached = tlInf.get(namespace, name);
    if (!mine) return cached;
    if (cached && Number(cached.metadata?.resourceVersion) >= Number(mine.metadata?.resourceVersion)) {
      written.delete(key);
      return cached;
    }
    return mine;
  }

  /** The pods of a ReplicaSet, or of a Deployment's ReplicaSets, each with its diagnosis. */
  function podDiagnoses(kind: string, owner: KObject): { name: string; diagnosis: Diagnosis; healthy: boolean }[] {
    const uid = owner.metadata?.uid;
    if (!uid) return [];
    const rsUids = kind === 'Deployment' ? rsInf.byIndex(INDEX_OWNER_UID, uid).map((r) => r.metadata!.uid!) : [uid];
    return rsUids.flatMap((u) => podInf.byIndex(INDEX_OWNER_UID, u)).map((p) => {
      const tl = current(keyFor('Pod', p.metadata!.namespace!, p.metadata!.name!));
      const d = diagnose({ kind: 'Pod', object: p, entries: tl?.entries ?? [] });
      return { name: p.metadata!.name!, diagnosis: d, healthy: isHealthy(d) };
    });
  }

  async function sweep(): Promise<ReconcileResult> {
    const now = clock.now();
    for (const t of tlInf.list()) {
      const kind = t.involvedObject?.kind;
      const inf = kind ? informerOf[kind] : undefined;
      if (!inf) continue;
      const key = `${t.metadata!.namespace}/${t.metadata!.name}`;
      const deletedAt = Date.parse(t.metadata?.annotations?.[DELETED_AT_ANNOTATION] ?? '');
      const live = inf.get(t.metadata!.namespace, t.involvedObject.name);
      if (!live && Number.isNaN(deletedAt) && !pending.has(key)) markDeleted(kind!, { metadata: { namespace: t.metadata!.namespace, name: t.involvedObject.name, uid: t.involvedObject.uid } });
      else if (!live && !Number.isNaN(deletedAt)) q.addAfter(key, deletedAt + retentionMs - now);
    }
    return { requeueAfterMs: Math.min(retentionMs, 10 * 60_000) };
  }

  async function reconcile(key: string): Promise<ReconcileResult> {
    if (key === SWEEP) return sweep();
    const p = pending.get(key);
    pending.delete(key);
    const { namespace, name: tlName } = splitKey(key);
    const now = clock.now();
    const existing = current(key);
    if (!p) {
      // Nothing new: only the end of a deleted object's retention brings a key here.
      const deletedAt = Date.parse(existing?.metadata?.annotations?.[DELETED_AT_ANNOTATION] ?? '');
      if (!existing || Number.isNaN(deletedAt)) return;
      if (now < deletedAt + retentionMs) return { requeueAfterMs: deletedAt + retentionMs - now };
      try {
        await client.delete(TIMELINES, namespace, tlName, { preconditions: { uid: existing.metadata?.uid } });
      } catch (err) {
        if (!isReason(err, 'NotFound') && !isReason(err, 'Conflict')) throw err;
      }
      written.delete(key);
      return;
    }
    try {
      await write(key, p, existing, now);
    } catch (err) {
      // The namespace is going away (or gone): there is nowhere to keep the history.
      if (isReason(err, 'Forbidden') || (isReason(err, 'NotFound') && !existing)) return;
      // Put the entries back in front of anything that arrived meanwhile and try again.
      const later = pending.get(key);
      pending.set(key, later ? { ...p, items: [...p.items, ...later.items], initial: p.initial ?? later.initial, initialAt: p.initialAt ?? later.initialAt, deleted: later.deleted ?? p.deleted } : p);
      if (isReason(err, 'Conflict') || isReason(err, 'AlreadyExists') || isReason(err, 'NotFound')) written.delete(key);
      throw err;
    }
    return p.deleted ? { requeueAfterMs: retentionMs } : undefined;
  }

  async function write(key: string, p: Pending, existing: Timeline | undefined, now: number): Promise<void> {
    const inf = informerOf[p.kind]!;
    const live = inf.get(p.namespace, p.name);
    const uid = live?.metadata?.uid ?? p.deleted?.uid ?? p.initial?.metadata?.uid;
    const added: TimelineEntry[] = [];
    if (p.initial && !(existing && existing.involvedObject?.uid === p.initial.metadata?.uid)) {
      const at = p.initialAt ?? now;
      added.unshift(...(p.kind === 'Pod' ? podEntries(undefined, p.initial as Pod, at) : workloadEntries(p.kind, undefined, p.initial, at)));
    }
    const storedEntries = existing?.entries ?? [];
    for (const item of p.items) {
      if ('entry' in item) {
        added.push(item.entry);
        continue;
      }
      const evUid = item.ev.metadata?.uid ?? '';
      const e = entryFromEvent(item.ev, seenEvents.get(evUid), storedEntries, item.at);
      seenEvents.set(evUid, eventCount(item.ev));
      if (e) added.push(e);
    }
    if (!added.length && !p.deleted) return;
    const entries = mergeEntries(storedEntries, added);
    const diagnosis = diagnose({ kind: p.kind, object: live, entries, pods: p.kind === 'Pod' || !live ? undefined : podDiagnoses(p.kind, live) });
    const annotations = { ...(existing?.metadata?.annotations ?? {}) };
    if (live) delete annotations[DELETED_AT_ANNOTATION];
    else if (p.deleted) annotations[DELETED_AT_ANNOTATION] ??= rfc3339Ms(p.deleted.at);
    const base = existing ? structuredClone(existing) : newTimeline(p.kind, { metadata: { namespace: p.namespace, name: p.name, uid } }, []);
    const next: Timeline = {
      ...base,
      metadata: { ...base.metadata, annotations: Object.keys(annotations).length ? annotations : undefined },
      involvedObject: { kind: p.kind, name: p.name, namespace: p.namespace, ...(uid ? { uid } : {}) },
      entries,
      diagnosis,
    };
    if (!next.metadata!.annotations) delete next.metadata!.annotations;
    const saved = existing ? await client.update<Timeline>(TIMELINES, p.namespace, next) : await client.create<Timeline>(TIMELINES, p.namespace, next);
    written.set(key, saved);
  }

  return qc;
}
