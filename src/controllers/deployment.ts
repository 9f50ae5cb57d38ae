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
import { isReason } from '../api/errors.js';
import { selectorFromLabelSelector } from '../api/labels.js';
import { keyOf, splitKey, INDEX_OWNER_UID, type Informer } from '../client/informer.js';
import { DEPLOYMENTS, PODS, REPLICASETS } from '../client/resources.js';
import type { KObject } from '../client/types.js';
import { QueueController, type ReconcileResult } from './base.js';
import { rolloutRecreate } from './deployment-recreate.js';
import { rolloutRolling } from './deployment-rolling.js';
import {
  checkPausedConditions, getAllReplicaSets, isScalingEvent, syncScale, syncStatusOnly, writeStatus, type DeploymentSyncContext, type SyncState,
} from './deployment-sync.js';
import type { D, RS } from './deployment-util.js';
import type { Controller, ControllerContext } from './types.js';
import { controllerRef, copy, newControllerRef } from './util.js';

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

  const deploymentForRS = (rs: RS): D | undefined => {
    const ref = controllerRef(rs);
    if (!ref || ref.kind !== 'Deployment') return undefined;
    const d = dInf.get(rs.metadata?.namespace, ref.name);
    return d && d.metadata?.uid === ref.uid ? d : undefined;
  };
  const enqueueForRS = (rs: RS) => {
    const d = deploymentForRS(rs);
    if (d) { q.add(keyOf(d)); return; }
    if (controllerRef(rs)) return;
    // An orphan: any deployment whose selector matches may adopt it.
    for (const d2 of dInf.list(rs.metadata?.namespace)) {
      const sel = selectorFromLabelSelector(d2.spec?.selector);
      if (!sel.empty() && sel.matches(rs.metadata?.labels)) q.add(keyOf(d2));
    }
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
      const ref = controllerRef(pod);
      if (!ref || ref.kind !== 'ReplicaSet') return;
      const rs = rsInf.get(pod.metadata?.namespace, ref.name);
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
    const rsList = await claimReplicaSets(st.d, sel);
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

  async function claimReplicaSets(d: D, sel: ReturnType<typeof selectorFromLabelSelector>): Promise<RS[]> {
    const uid = d.metadata!.uid!;
    const out: RS[] = [];
    for (const rs of rsInf.byIndex(INDEX_OWNER_UID, uid)) {
      if (sel.matches(rs.metadata?.labels)) { out.push(rs); continue; }
      if (d.metadata?.deletionTimestamp) continue;
      const refs = (rs.metadata?.ownerReferences ?? []).filter((r) => r.uid !== uid);
      try {
        await client.patch(REPLICASETS, rs.metadata!.namespace, rs.metadata!.name!, 'merge', { metadata: { ownerReferences: refs.length ? refs : null, resourceVersion: rs.metadata!.resourceVersion } });
      } catch (err) { if (!isReason(err, 'NotFound')) throw err; }
    }
    if (d.metadata?.deletionTimestamp) return out;
    let canAdopt: boolean | undefined;
    for (const rs of rsInf.list(d.metadata?.namespace, sel)) {
      if (controllerRef(rs) || rs.metadata?.deletionTimestamp) continue;
      if (canAdopt === undefined) {
        try {
          const fresh = await client.get<D>(DEPLOYMENTS, d.metadata!.namespace, d.metadata!.name!);
          canAdopt = fresh.metadata?.uid === uid && !fresh.metadata?.deletionTimestamp;
        } catch { canAdopt = false; }
      }
      if (!canAdopt) break;
      try {
        out.push(await client.patch<RS>(REPLICASETS, rs.metadata!.namespace, rs.metadata!.name!, 'merge', {
          metadata: { ownerReferences: [...(rs.metadata?.ownerReferences ?? []), newControllerRef(d, 'apps/v1', 'Deployment')], resourceVersion: rs.metadata!.resourceVersion },
        }));
      } catch (err) { if (!isReason(err, 'NotFound')) throw err; }
    }
    return out;
  }

  return qc as DeploymentController;
}
