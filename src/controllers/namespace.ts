/**
 * Namespace controller, after upstream pkg/controller/namespace: when a namespace is being
 * deleted (deletionTimestamp set, phase Terminating) it deletes every object of every
 * namespaced resource in it, reports what remains in status conditions, and once the
 * namespace is empty removes the `kubernetes` finalizer through `namespaces/NAME/finalize`,
 * after which the API server removes the namespace.
 */
import type { Namespace, NamespaceCondition } from 'kubernetes-types/core/v1.js';
import { isReason } from '../api/errors.js';
import { rfc3339 } from '../util/clock.js';
import { keyOf } from '../client/informer.js';
import { NAMESPACED_RESOURCES, NAMESPACES } from '../client/resources.js';
import type { KObject } from '../client/types.js';
import { QueueController, type ReconcileResult } from './base.js';
import type { Controller, ControllerContext } from './types.js';
import { errText } from './util.js';

type NS = Namespace & KObject;
const FINALIZER = 'kubernetes';

/** Creates the namespace controller; `ctx.options.namespacedResources` lists what it empties. */
export function newNamespaceController(ctx: ControllerContext): Controller & { readonly queue: QueueController['queue'] } {
  const { client, clock } = ctx;
  const resources = ctx.options.namespacedResources ?? NAMESPACED_RESOURCES;
  const nsInf = ctx.informers.informerFor<NS>(NAMESPACES);
  const qc = new QueueController('namespace', ctx, [nsInf], reconcile);
  const q = qc.queue;
  const enqueue = (ns: NS) => { if (ns.metadata?.deletionTimestamp) q.add(keyOf(ns)); };
  nsInf.addEventHandler({ onAdd: enqueue, onUpdate: (_o, n) => enqueue(n) });

  async function setConditions(ns: NS, conds: NamespaceCondition[]): Promise<void> {
    const cur = ns.status?.conditions ?? [];
    const types = ['NamespaceDeletionDiscoveryFailure', 'NamespaceDeletionGroupVersionParsingFailure', 'NamespaceDeletionContentFailure', 'NamespaceContentRemaining', 'NamespaceFinalizersRemaining'];
    const next: NamespaceCondition[] = types.map((t) => {
      const c = conds.find((x) => x.type === t) ?? { type: t, status: 'False', reason: t === 'NamespaceContentRemaining' ? 'ContentRemoved' : t === 'NamespaceFinalizersRemaining' ? 'ContentHasNoFinalizers' : t === 'NamespaceDeletionContentFailure' ? 'ContentDeleted' : 'ResourcesDiscovered', message: t === 'NamespaceContentRemaining' ? 'All content successfully removed' : t === 'NamespaceFinalizersRemaining' ? 'All content-preserving finalizers finished' : t === 'NamespaceDeletionContentFailure' ? 'All content successfully deleted, may be waiting on finalization' : 'All resources successfully discovered' };
      const old = cur.find((x) => x.type === t);
      return { ...c, lastTransitionTime: old && old.status === c.status ? old.lastTransitionTime : rfc3339(clock.now()) };
    });
    const strip = (cs: readonly NamespaceCondition[]) => JSON.stringify(cs.map(({ lastTransitionTime: _t, ...r }) => r));
    if (strip(cur) === strip(next)) return;
    try {
      await client.update(NAMESPACES, undefined, { ...ns, status: { ...ns.status, conditions: next } }, { subresource: 'status' });
    } catch (err) { if (!isReason(err, 'NotFound') && !isReason(err, 'Conflict')) throw err; }
  }

  async function reconcile(key: string): Promise<ReconcileResult> {
    const ns = nsInf.getByKey(key);
    if (!ns?.metadata?.deletionTimestamp) return;
    if (!(ns.spec?.finalizers ?? []).includes(FINALIZER)) return;
    const name = ns.metadata.name!;
    const remaining = new Map<string, number>();
    const finalizersLeft = new Map<string, number>();
    const failures: string[] = [];
    for (const r of resources) {
      let items: KObject[];
      try {
        items = (await client.list<KObject>(r, name)).items;
      } catch (err) {
        if (isReason(err, 'NotFound') || isReason(err, 'MethodNotAllowed')) continue;
        failures.push(`${r.resource}: ${errText(err)}`);
        continue;
      }
      for (const o of items) {
        const qn = r.group ? `${r.resource}.${r.group}` : r.resource;
        remaining.set(qn, (remaining.get(qn) ?? 0) + 1);
        for (const f of o.metadata?.finalizers ?? []) finalizersLeft.set(f, (finalizersLeft.get(f) ?? 0) + 1);
        if (o.metadata?.deletionTimestamp) continue;
        try {
          await client.delete(r, name, o.metadata!.name!, { propagationPolicy: 'Background' });
        } catch (err) {
          if (!isReason(err, 'NotFound')) failures.push(`${r.resource}/${o.metadata!.name}: ${errText(err)}`);
        }
      }
    }
    // Deletions may have completed at once; count again what is really left.
    let left = 0;
    const leftBy = new Map<string, number>();
    for (const r of resources) {
      if (!remaining.has(r.group ? `${r.resource}.${r.group}` : r.resource)) continue;
      try {
        const n = (await client.list<KObject>(r, name)).items.length;
        if (n) { left += n; leftBy.set(r.group ? `${r.resource}.${r.group}` : r.resource, n); }
      } catch { /* counted on the next pass */ }
    }
    const conds: NamespaceCondition[] = [];
    if (failures.length) conds.push({ type: 'NamespaceDeletionContentFailure', status: 'True', reason: 'ContentDeletionFailed', message: `Failed to delete all resource types, ${failures.length} remaining: ${failures.join(', ')}` });
    if (left) conds.push({ type: 'NamespaceContentRemaining', status: 'True', reason: 'SomeResourcesRemain', message: `Some resources are remaining: ${[...leftBy].map(([k, n]) => `${k} has ${n} resource instances`).join(', ')}` });
    if (left && finalizersLeft.size) conds.push({ type: 'NamespaceFinalizersRemaining', status: 'True', reason: 'SomeFinalizersRemain', message: `Some content in the namespace has finalizers remaining: ${[...finalizersLeft].map(([k, n]) => `${k} in ${n} resource instances`).join(', ')}` });
    if (left || failures.length) {
      await setConditions(ns, conds);
      // Content with finalizers or graceful deletion takes time: look again shortly.
      return { requeueAfterMs: 2000 };
    }
    const finalizers = (ns.spec?.finalizers ?? []).filter((f) => f !== FINALIZER);
    try {
      await client.update(NAMESPACES, undefined, { ...ns, spec: { ...ns.spec, finalizers } }, { subresource: 'finalize' });
    } catch (err) {
      if (!isReason(err, 'NotFound')) throw err;
    }
  }

  return qc;
}
