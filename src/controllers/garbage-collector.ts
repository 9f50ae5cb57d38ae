/**
 * Garbage collector, after upstream pkg/controller/garbagecollector: follows ownerReferences
 * across a configurable list of resources.
 *  - A dependent whose owners are all gone is deleted (Background, or Foreground when an
 *    owner waits for it); references to owners that are gone are removed if other owners live.
 *  - An owner carrying the `foregroundDeletion` finalizer gets its dependents deleted first;
 *    the finalizer is removed once no dependent with blockOwnerDeletion=true remains.
 *  - An owner carrying the `orphan` finalizer has its ownerReferences stripped from its
 *    dependents, then the finalizer removed.
 * Owners are looked up in the caches by uid; one missing from the cache is confirmed absent
 * with a live GET before anything is deleted, so a slow cache never causes a wrong deletion.
 */
import { isReason } from '../api/errors.js';
import { parseApiVersion } from '../api/registry.js';
import { keyOf, type Informer } from '../client/informer.js';
import { GC_RESOURCES } from '../client/resources.js';
import type { KObject, OwnerReferenceLike, ResourceRef } from '../client/types.js';
import { QueueController, type ReconcileResult } from './base.js';
import type { Controller, ControllerContext } from './types.js';

const INDEX_ANY_OWNER = 'gc-owner-uids';
const FOREGROUND = 'foregroundDeletion';
const ORPHAN = 'orphan';

const rkey = (r: ResourceRef) => `${r.group}/${r.resource}`;
const gvk = (apiVersion: string, kind: string) => `${parseApiVersion(apiVersion).group}/${kind}`;

/** The garbage collector plus handles tests use. */
export interface GarbageCollector extends Controller {
  readonly queue: QueueController['queue'];
}

/** Creates the garbage collector over `ctx.options.gcResources` (default GC_RESOURCES). */
export function newGarbageCollector(ctx: ControllerContext): GarbageCollector {
  const { client } = ctx;
  const resources = ctx.options.gcResources ?? GC_RESOURCES;
  const informers = new Map<string, Informer<KObject>>();
  const byKind = new Map<string, ResourceRef>();
  const uidIndex = new Map<string, { ref: ResourceRef; key: string }>();
  const qc = new QueueController('garbagecollector', ctx, [], reconcile);
  const q = qc.queue;
  const itemKey = (r: ResourceRef, o: KObject) => `${rkey(r)}|${keyOf(o)}`;

  const dependentsOf = (uid: string): Array<{ ref: ResourceRef; obj: KObject }> => {
    const out: Array<{ ref: ResourceRef; obj: KObject }> = [];
    for (const r of resources) for (const o of informers.get(rkey(r))!.byIndex(INDEX_ANY_OWNER, uid)) out.push({ ref: r, obj: o });
    return out;
  };

  for (const r of resources) {
    const inf = ctx.informers.informerFor<KObject>(r);
    informers.set(rkey(r), inf);
    byKind.set(`${r.group}/${r.kind}`, r);
    inf.addIndexer(INDEX_ANY_OWNER, (o) => (o.metadata?.ownerReferences ?? []).map((x) => x.uid));
    const interesting = (o: KObject) => !!o.metadata?.ownerReferences?.length || !!o.metadata?.deletionTimestamp;
    inf.addEventHandler({
      onAdd: (o) => {
        if (o.metadata?.uid) uidIndex.set(o.metadata.uid, { ref: r, key: keyOf(o) });
        if (interesting(o)) q.add(itemKey(r, o));
      },
      onUpdate: (_old, o) => {
        if (interesting(o)) q.add(itemKey(r, o));
        // A dependent may have been waiting for this owner's foreground deletion to be visible.
        if (o.metadata?.deletionTimestamp) for (const d of dependentsOf(o.metadata.uid!)) q.add(itemKey(d.ref, d.obj));
      },
      onDelete: (o) => {
        const uid = o.metadata?.uid;
        if (!uid) return;
        if (uidIndex.get(uid)?.key === keyOf(o)) uidIndex.delete(uid);
        for (const d of dependentsOf(uid)) q.add(itemKey(d.ref, d.obj));
        // An owner waiting in foreground may now be free.
        for (const ref of o.metadata?.ownerReferences ?? []) {
          const owner = uidIndex.get(ref.uid);
          if (owner) q.add(`${rkey(owner.ref)}|${owner.key}`);
        }
      },
    });
  }
  qc.addInformers(...informers.values());

  function lookup(key: string): { ref: ResourceRef; obj: KObject } | undefined {
    const bar = key.indexOf('|');
    const inf = informers.get(key.slice(0, bar));
    const obj = inf?.getByKey(key.slice(bar + 1));
    return inf && obj ? { ref: inf.ref, obj } : undefined;
  }

  /** 'solid' (alive), 'waiting' (being deleted in foreground), 'gone' or 'unknown' (kind not watched). */
  async function ownerState(dep: KObject, ref: OwnerReferenceLike): Promise<'solid' | 'waiting' | 'gone' | 'unknown'> {
    const hit = uidIndex.get(ref.uid);
    let owner: KObject | undefined = hit ? informers.get(rkey(hit.ref))!.getByKey(hit.key) : undefined;
    if (!owner) {
      const r = byKind.get(gvk(ref.apiVersion, ref.kind));
      if (!r) return 'unknown';
      // Not in the cache: ask the server before concluding it is gone.
      try {
        owner = await client.get<KObject>(r, r.namespaced ? dep.metadata?.namespace : undefined, ref.name);
      } catch (err) {
        if (isReason(err, 'NotFound')) return 'gone';
        throw err;
      }
      if (owner.metadata?.uid !== ref.uid) return 'gone';
    }
    if (owner.metadata?.deletionTimestamp && owner.metadata.finalizers?.includes(FOREGROUND)) return 'waiting';
    return 'solid';
  }

  async function removeFinalizer(ref: ResourceRef, o: KObject, fin: string): Promise<void> {
    const rest = (o.metadata?.finalizers ?? []).filter((f) => f !== fin);
    await client.patch(ref, o.metadata?.namespace, o.metadata!.name!, 'merge', { metadata: { finalizers: rest.length ? rest : null, resourceVersion: o.metadata!.resourceVersion } });
  }

  async function deleteObj(ref: ResourceRef, o: KObject, policy: 'Background' | 'Foreground'): Promise<void> {
    try {
      await client.delete(ref, o.metadata?.namespace, o.metadata!.name!, { propagationPolicy: policy, preconditions: { uid: o.metadata!.uid } });
    } catch (err) {
      if (!isReason(err, 'NotFound') && !isReason(err, 'Conflict')) throw err;
    }
  }

  async function reconcile(key: string): Promise<ReconcileResult> {
    const item = lookup(key);
    if (!item) return;
    const { ref, obj } = item;
    const md = obj.metadata!;
    const fins = md.finalizers ?? [];
    if (md.deletionTimestamp && fins.includes(ORPHAN)) {
      for (const d of dependentsOf(md.uid!)) {
        const refs = (d.obj.metadata?.ownerReferences ?? []).filter((r) => r.uid !== md.uid);
        try {
          await client.patch(d.ref, d.obj.metadata?.namespace, d.obj.metadata!.name!, 'merge', { metadata: { ownerReferences: refs.length ? refs : null, resourceVersion: d.obj.metadata!.resourceVersion } });
        } catch (err) { if (!isReason(err, 'NotFound')) throw err; }
      }
      await removeFinalizer(ref, obj, ORPHAN);
      return;
    }
    if (md.deletionTimestamp && fins.includes(FOREGROUND)) {
      const deps = dependentsOf(md.uid!);
      for (const d of deps) {
        if (d.obj.metadata?.deletionTimestamp) continue;
        await deleteObj(d.ref, d.obj, 'Foreground');
      }
      const blocking = deps.filter((d) => d.obj.metadata?.ownerReferences?.some((r) => r.uid === md.uid && r.blockOwnerDeletion));
      if (blocking.length === 0) await removeFinalizer(ref, obj, FOREGROUND);
      // Otherwise the dependents' deletions wake us up again.
      return;
    }
    if (md.deletionTimestamp) return;
    const owners = md.ownerReferences ?? [];
    if (!owners.length) return;
    const states = await Promise.all(owners.map((o) => ownerState(obj, o)));
    if (states.includes('unknown')) return;
    const solid = states.filter((s) => s === 'solid').length;
    const gone = owners.filter((_o, i) => states[i] === 'gone');
    const waiting = owners.filter((_o, i) => states[i] === 'waiting');
    if (solid > 0) {
      if (gone.length || waiting.length) {
        // Keep the object for its live owners; drop dangling references and stop blocking owners that wait.
        const refs = owners.filter((_o, i) => states[i] !== 'gone').map((o) => (waiting.includes(o) ? { ...o, blockOwnerDeletion: false } : o));
        await client.patch(ref, md.namespace, md.name!, 'merge', { metadata: { ownerReferences: refs, resourceVersion: md.resourceVersion } });
      }
      return;
    }
    const hasDependents = dependentsOf(md.uid!).length > 0;
    await deleteObj(ref, obj, waiting.length && hasDependents ? 'Foreground' : 'Background');
  }

  return qc as GarbageCollector;
}
