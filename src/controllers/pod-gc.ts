/**
 * Pod garbage collector, after upstream pkg/controller/podgc: periodically force-deletes
 * pods bound to nodes that no longer exist (confirmed with a live GET), terminating pods
 * that were never scheduled, and the oldest terminated (Succeeded/Failed) pods beyond
 * terminatedPodGCThreshold (12,500).
 */
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { isReason } from '../api/errors.js';
import { keyOf } from '../client/informer.js';
import { NODES, PODS } from '../client/resources.js';
import type { KObject } from '../client/types.js';
import { QueueController, type ReconcileResult } from './base.js';
import type { Controller, ControllerContext } from './types.js';

type P = Pod & KObject;
const KEY = 'gc';

/** Creates the pod GC controller. */
export function newPodGCController(ctx: ControllerContext): Controller & { readonly queue: QueueController['queue'] } {
  const { client } = ctx;
  const threshold = ctx.options.terminatedPodGCThreshold ?? 12_500;
  const period = (ctx.options.podGCPeriodSeconds ?? 20) * 1000;
  const podInf = ctx.informers.informerFor<P>(PODS);
  const nodeInf = ctx.informers.informerFor<Node & KObject>(NODES);
  const qc = new QueueController('pod-gc', ctx, [podInf, nodeInf], reconcile);
  const q = qc.queue;
  q.add(KEY);
  // A node's deletion is the common reason for orphaned pods: react at once, not a period later.
  nodeInf.addEventHandler({ onDelete: () => q.add(KEY) });

  const forceDelete = async (p: P) => {
    try {
      await client.delete(PODS, p.metadata!.namespace, p.metadata!.name!, { gracePeriodSeconds: 0, preconditions: { uid: p.metadata!.uid } });
    } catch (err) {
      if (!isReason(err, 'NotFound') && !isReason(err, 'Conflict')) throw err;
    }
  };

  async function reconcile(): Promise<ReconcileResult> {
    const pods = podInf.list();
    // Terminated pods beyond the threshold, oldest first.
    if (threshold > 0) {
      const terminated = pods.filter((p) => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed');
      const excess = terminated.length - threshold;
      if (excess > 0) {
        terminated.sort((a, b) => (Date.parse(a.metadata?.creationTimestamp ?? '') || 0) - (Date.parse(b.metadata?.creationTimestamp ?? '') || 0));
        for (const p of terminated.slice(0, excess)) await forceDelete(p);
      }
    }
    // Pods on nodes that are gone.
    const missing = new Map<string, boolean>();
    for (const p of pods) {
      const node = p.spec?.nodeName;
      if (!node || nodeInf.get(undefined, node)) continue;
      if (!missing.has(node)) {
        try { await client.get(NODES, undefined, node); missing.set(node, false); } catch (err) {
          if (!isReason(err, 'NotFound')) throw err;
          missing.set(node, true);
        }
      }
      if (missing.get(node)) {
        ctx.log?.(`pod-gc: deleting ${keyOf(p)} bound to missing node ${node}`);
        await forceDelete(p);
      }
    }
    // Terminating pods that were never scheduled: no kubelet will ever finish them.
    for (const p of pods) if (p.metadata?.deletionTimestamp && !p.spec?.nodeName) await forceDelete(p);
    return { requeueAfterMs: period };
  }

  return qc;
}
