/**
 * ServiceAccounts controller, after upstream pkg/controller/serviceaccount: every active
 * namespace has a `default` ServiceAccount; it is created when a namespace appears and
 * re-created if deleted.
 */
import type { Namespace, ServiceAccount } from 'kubernetes-types/core/v1.js';
import { isReason } from '../api/errors.js';
import { NAMESPACES, SERVICE_ACCOUNTS } from '../client/resources.js';
import type { KObject } from '../client/types.js';
import { QueueController, type ReconcileResult } from './base.js';
import type { Controller, ControllerContext } from './types.js';

const NAME = 'default';

/** Creates the service account controller. */
export function newServiceAccountController(ctx: ControllerContext): Controller & { readonly queue: QueueController['queue'] } {
  const { client } = ctx;
  const nsInf = ctx.informers.informerFor<Namespace & KObject>(NAMESPACES);
  const saInf = ctx.informers.informerFor<ServiceAccount & KObject>(SERVICE_ACCOUNTS);
  const qc = new QueueController('serviceaccount', ctx, [nsInf, saInf], reconcile);
  const q = qc.queue;
  nsInf.addEventHandler({ onAdd: (n) => q.add(n.metadata!.name!), onUpdate: (_o, n) => q.add(n.metadata!.name!) });
  saInf.addEventHandler({ onDelete: (sa) => { if (sa.metadata?.name === NAME) q.add(sa.metadata.namespace!); } });

  async function reconcile(ns: string): Promise<ReconcileResult> {
    const n = nsInf.get(undefined, ns);
    if (!n || n.metadata?.deletionTimestamp || n.status?.phase === 'Terminating') return;
    if (saInf.get(ns, NAME)) return;
    try {
      await client.create<ServiceAccount>(SERVICE_ACCOUNTS, ns, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: NAME, namespace: ns } });
    } catch (err) {
      // AlreadyExists: our cache is behind. Forbidden: the namespace started terminating.
      if (!isReason(err, 'AlreadyExists') && !isReason(err, 'Forbidden') && !isReason(err, 'NotFound')) throw err;
    }
  }

  return qc;
}
