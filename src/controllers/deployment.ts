/**
 * Deployment controller, after upstream pkg/controller/deployment: owns ReplicaSets named
 * `<deployment>-<pod-template-hash>`, rolls between them (RollingUpdate within
 * maxSurge/maxUnavailable, or Recreate), scales proportionally when the replica count
 * changes mid-rollout, keeps revision annotations (so `rollout history/undo` work: undo
 * brings back a template whose old ReplicaSet is found again and gets the next revision),
 * honours pause, detects a missed progress deadline, cleans up old ReplicaSets beyond
 * revisionHistoryLimit and writes the status `kubectl rollout status` and `wait` read.
 */
import type { Pod } from 'kubernetes-types/core/v1.js';
import { selectorFromLabelSelector } from '../api/labels.js';
import { keyOf, splitKey, type Informer } from '../client/informer.js';
import { DEPLOYMENTS, PODS, REPLICASETS } from '../client/resources.js';
import type { KObject } from '../client/types.js';
import { claimObjects, selectingControllers } from './controller-ref-manager.js';
import { QueueController, type ReconcileResult } from './base.js';
import { rolloutRecreate } from './deployment-recreate.js';
import { rolloutRolling } from './deployment-rolling.js';
import {
  checkPausedConditions, getAllReplicaSets, isScalingEvent, syncScale, syncStatusOnly, writeStatus, type DeploymentSyncContext, type SyncState,
} from './deployment-sync.js';
import type { D, RS } from './deployment-util.js';
import type { Controller, ControllerContext } from './types.js';
import { controllerRef, copy, resolveControllerRef } from './util.js';

type P = Pod & KObject;

/** The Deployment controller plus handles tests use. */
export interface DeploymentController extends Controller {
  readonly queue: QueueController['queue'];
}

/** Creates the Deployment controller. */
export function newDeploymentController(ctx: ControllerContext): DeploymentController {
  const { client, clock } = ctx;
  const dInf = ctx.informers.informerFor<D>(DEPLOYMENTS);
  const rsInf = ctx.informers.informerFor<RS>(REPLICASETS);
  const podInf = ctx.informers.informerFor<P>(PODS);
  const recorder = ctx.recorder('deployment-controller');
  const qc = new QueueController('deployment', ctx, [dInf, rsInf, podInf] as Informer<KObject>[], sync);
  const q = qc.queue;
  const c: DeploymentSyncContext = { client, recorder, clock, podInf };

  const deploymentForRS = (rs: RS): D | undefined => resolveControllerRef(dInf, rs, 'Deployment');
  const enqueueForRS = (rs: RS) => {
    const d = deploymentForRS(rs);
    if (d) { q.add(keyOf(d)); return; }
    if (controllerRef(rs)) return;
    // An orphan: any deployment whose selector matches may adopt it.
    for (const d2 of selectingControllers(dInf, rs)) q.add(keyOf(d2));
  };

  dInf.addEventHandler({ onAdd: (d) => q.add(keyOf(d)), onUpdate: (_o, d) => q.add(keyOf(d)), onDelete: (d) => q.add(keyOf(d)) });
  rsInf.addEventHandler({
    onAdd: enqueueForRS,
    onUpdate: (old, cur) => {
      const oldRef = controllerRef(old);
      if (oldRef && oldRef.uid !== controllerRef(cur)?.uid) enqueueForRS(old);
      enqueueForRS(cur);
    },
    onDelete: (rs) => { const d = deploymentForRS(rs); if (d) q.add(keyOf(d)); },
  });
  // Recreate waits for old pods to be gone, so their deletion must wake the deployment.
  podInf.addEventHandler({
    onDelete: (pod) => {
      const rs = resolveControllerRef(rsInf, pod, 'ReplicaSet');
      const d = rs && deploymentForRS(rs);
      if (d && d.spec?.strategy?.type === 'Recreate') q.add(keyOf(d));
    },
  });

  async function sync(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const cached = dInf.get(namespace, name);
    if (!cached) return;
    // Everything below works on a copy and replaces it with what the server returns.
    const st: SyncState = { d: copy(cached) as D };
    const sel = selectorFromLabelSelector(st.d.spec?.selector);
    if (sel.empty()) {
      recorder.event(st.d, 'Warning', 'SelectingAll', 'This deployment is selecting all pods. A non-empty selector is required.');
      if (st.d.status?.observedGeneration !== st.d.metadata?.generation) {
        await writeStatus(c, st, { ...copy(st.d.status ?? {}), observedGeneration: st.d.metadata?.generation });
      }
      return;
    }
    const rsList = await claimObjects({ client, owner: st.d, ownerResource: DEPLOYMENTS, ownerApiVersion: 'apps/v1', ownerKind: 'Deployment', informer: rsInf, resource: REPLICASETS, selector: sel });
    if (st.d.metadata?.deletionTimestamp) {
      const { newRS, oldRSs } = await getAllReplicaSets(c, st, rsList, false);
      await syncStatusOnly(c, st, [...oldRSs, newRS], newRS);
      return;
    }
    await checkPausedConditions(c, st);
    if (st.d.spec?.paused) { await syncScale(c, st, rsList); return; }
    if (await isScalingEvent(c, st, rsList)) { await syncScale(c, st, rsList); return; }
    if (st.d.spec?.strategy?.type === 'Recreate') await rolloutRecreate(c, st, rsList);
    else await rolloutRolling(c, st, rsList);
    return st.requeueAfterMs !== undefined ? { requeueAfterMs: st.requeueAfterMs } : undefined;
  }

  return qc as DeploymentController;
}
