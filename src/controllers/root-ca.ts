/**
 * Root CA publisher, after upstream pkg/controller/certificates/rootcacertpublisher: every
 * active namespace gets the ConfigMap `kube-root-ca.crt` whose `ca.crt` is the cluster CA,
 * so pods can verify the API server (the projected service-account volume mounts it). A
 * ConfigMap that is changed or deleted is put back.
 */
import type { ConfigMap, Namespace } from 'kubernetes-types/core/v1.js';
import { isReason } from '../api/errors.js';
import type { Informer } from '../client/informer.js';
import { CONFIGMAPS, NAMESPACES } from '../client/resources.js';
import type { KObject } from '../client/types.js';
import { QueueController, type ReconcileResult } from './base.js';
import type { Controller, ControllerContext } from './types.js';
import { copy } from './util.js';

type CM = ConfigMap & KObject;

export const ROOT_CA_CONFIGMAP = 'kube-root-ca.crt';
const DESCRIPTION_ANNOTATION = 'kubernetes.io/description';
/** Upstream's description, word for word. */
const DESCRIPTION = 'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.';

export interface RootCaOptions {
  /** The cluster CA certificate(s), PEM. */
  caPem: string;
}

/** Creates the root CA publisher; wire as `(ctx) => newRootCaController(ctx, { caPem })`. */
export function newRootCaController(ctx: ControllerContext, opts: RootCaOptions): Controller & { readonly queue: QueueController['queue'] } {
  const { client } = ctx;
  const nsInf = ctx.informers.informerFor<Namespace & KObject>(NAMESPACES);
  const cmInf = ctx.informers.informerFor<CM>(CONFIGMAPS);
  const qc = new QueueController('root-ca-cert-publisher', ctx, [nsInf as Informer<KObject>, cmInf as unknown as Informer<KObject>], sync);
  const q = qc.queue;
  nsInf.addEventHandler({ onAdd: (n) => q.add(n.metadata!.name!), onUpdate: (_o, n) => q.add(n.metadata!.name!) });
  const onCm = (cm: CM) => { if (cm.metadata?.name === ROOT_CA_CONFIGMAP) q.add(cm.metadata.namespace!); };
  cmInf.addEventHandler({ onUpdate: (_o, cm) => onCm(cm), onDelete: onCm });

  async function sync(ns: string): Promise<ReconcileResult> {
    const n = nsInf.get(undefined, ns);
    if (!n || n.metadata?.deletionTimestamp || n.status?.phase === 'Terminating') return;
    const cur = cmInf.get(ns, ROOT_CA_CONFIGMAP);
    if (!cur) {
      try {
        await client.create<CM>(CONFIGMAPS, ns, {
          apiVersion: 'v1', kind: 'ConfigMap',
          metadata: { name: ROOT_CA_CONFIGMAP, namespace: ns, annotations: { [DESCRIPTION_ANNOTATION]: DESCRIPTION } },
          data: { 'ca.crt': opts.caPem },
        });
      } catch (err) {
        // AlreadyExists: the cache is behind. Forbidden/NotFound: the namespace is going away.
        if (!isReason(err, 'AlreadyExists') && !isReason(err, 'Forbidden') && !isReason(err, 'NotFound')) throw err;
      }
      return;
    }
    const data = cur.data ?? {};
    if (data['ca.crt'] === opts.caPem && Object.keys(data).length === 1 && cur.metadata?.annotations?.[DESCRIPTION_ANNOTATION] === DESCRIPTION) return;
    const next = copy(cur) as CM;
    next.data = { 'ca.crt': opts.caPem };
    next.metadata = { ...next.metadata, annotations: { ...(next.metadata?.annotations ?? {}), [DESCRIPTION_ANNOTATION]: DESCRIPTION } };
    try { await client.update(CONFIGMAPS, ns, next); } catch (err) {
      if (!isReason(err, 'NotFound')) throw err;
    }
  }

  return qc;
}
