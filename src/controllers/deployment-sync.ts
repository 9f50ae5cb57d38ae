/**
 * The Deployment sync steps that write to the API, after upstream
 * pkg/controller/deployment/sync.go: finding or creating the new ReplicaSet (with the
 * revision annotations and collision handling), scaling one ReplicaSet, the scale-only sync
 * of paused Deployments and replica-count changes (proportional scaling), cleaning up old
 * ReplicaSets, the paused condition and status writes. The decisions come from
 * deployment-util.ts; the rollout strategies build on these steps.
 */
import type { Pod } from 'kubernetes-types/core/v1.js';
import { isReason } from '../api/errors.js';
import type { Clock } from '../util/clock.js';
import type { EventRecorder } from '../client/events.js';
import type { Informer } from '../client/informer.js';
import { DEPLOYMENTS, REPLICASETS } from '../client/resources.js';
import type { Client, KObject } from '../client/types.js';
import {
  activeReplicaSets, calculateStatus, desiredReplicas, equalIgnoreHash, findActiveOrLatest, getCondition, hasProgressDeadline,
  isRolling, isSaturated, isScalingEvent as isScalingEventOf, newCondition, newReplicaSetFor, newRSNewReplicas, nextRevision, proportionalScale, REVISION, replicaSetsToCleanUp,
  sameStatus, setCondition, setNewRSAnnotations, setReplicasAnnotations, specReplicas, splitReplicaSets, type Cond, type D, type RS, type Status,
} from './deployment-util.js';
import { controllerRef, copy, errText } from './util.js';

/** What the sync steps use: the API, events, the clock and the pod cache (Recreate waits on pods). */
export interface DeploymentSyncContext {
  client: Client;
  recorder: EventRecorder;
  clock: Clock;
  podInf: Informer<Pod & KObject>;
}

/** One sync's Deployment (replaced by what the server returns after each write) and its wish to be looked at again. */
export interface SyncState { d: D; requeueAfterMs?: number }

/** Writes the status subresource and keeps what the server returned; a Deployment gone meanwhile is fine. */
export async function writeStatus(c: DeploymentSyncContext, st: SyncState, s: Status): Promise<void> {
  const next: D = { ...st.d, status: s };
  try {
    st.d = await c.client.update<D>(DEPLOYMENTS, st.d.metadata!.namespace, next, { subresource: 'status' });
  } catch (err) {
    if (!isReason(err, 'NotFound')) throw err;
  }
}

/** Sets one condition on a copy of the status and writes it. */
async function writeCondition(c: DeploymentSyncContext, st: SyncState, cond: Cond): Promise<void> {
  const s = copy(st.d.status ?? {}) as Status;
  setCondition(s, cond);
  await writeStatus(c, st, s);
}

async function setDeploymentRevision(c: DeploymentSyncContext, st: SyncState, revision: string): Promise<void> {
  if (st.d.metadata?.annotations?.[REVISION] === revision) return;
  // Through the status subresource, as upstream's UpdateStatus: annotations change without bumping generation.
  st.d = await c.client.patch<D>(DEPLOYMENTS, st.d.metadata!.namespace, st.d.metadata!.name!, 'merge', { metadata: { annotations: { [REVISION]: revision } } }, { subresource: 'status' });
}

/**
 * upstream getAllReplicaSetsAndSyncRevision: the ReplicaSet of the current template (created
 * when `createIfMissing`, sized by newRSNewReplicas) and the old ones, with revision
 * annotations brought up to date on both the new ReplicaSet and the Deployment.
 */
export async function getAllReplicaSets(c: DeploymentSyncContext, st: SyncState, rsList: RS[], createIfMissing: boolean): Promise<{ newRS?: RS; oldRSs: RS[] }> {
  const d = st.d;
  const now = c.clock.now();
  const { existing, oldRSs } = splitReplicaSets(d, rsList);
  const newRevision = nextRevision(oldRSs);
  if (existing) {
    const rsCopy = copy(existing) as RS;
    const annotationsChanged = setNewRSAnnotations(d, rsCopy, newRevision, true);
    const mrsChanged = (rsCopy.spec?.minReadySeconds ?? 0) !== (d.spec?.minReadySeconds ?? 0);
    let newRS: RS = existing;
    if (annotationsChanged || mrsChanged) {
      (rsCopy.spec as { minReadySeconds?: number }).minReadySeconds = d.spec?.minReadySeconds;
      newRS = await c.client.update<RS>(REPLICASETS, rsCopy.metadata!.namespace, rsCopy);
    }
    await setDeploymentRevision(c, st, newRS.metadata?.annotations?.[REVISION] ?? newRevision);
    if (hasProgressDeadline(st.d) && !getCondition(st.d.status, 'Progressing')) {
      await writeCondition(c, st, newCondition('Progressing', 'True', 'FoundNewReplicaSet', `Found new replica set "${newRS.metadata!.name}"`, now));
    }
    return { newRS, oldRSs };
  }
  if (!createIfMissing) return { oldRSs };
  const rs = newReplicaSetFor(d);
  const replicas = newRSNewReplicas(d, [...oldRSs, rs], rs);
  (rs.spec as { replicas?: number }).replicas = replicas;
  setNewRSAnnotations(d, rs, newRevision, false);
  let createdRS: RS;
  try {
    createdRS = await c.client.create<RS>(REPLICASETS, d.metadata!.namespace, rs);
  } catch (err) {
    if (isReason(err, 'AlreadyExists')) {
      let found: RS | undefined;
      try { found = await c.client.get<RS>(REPLICASETS, d.metadata!.namespace, rs.metadata!.name!); } catch { /* fall through */ }
      if (found && controllerRef(found)?.uid === d.metadata!.uid && equalIgnoreHash(found.spec?.template, d.spec?.template)) {
        return { newRS: found, oldRSs };
      }
      // A different ReplicaSet holds our name: bump collisionCount so the next hash differs.
      const s = copy(st.d.status ?? {}) as Status;
      s.collisionCount = (s.collisionCount ?? 0) + 1;
      await writeStatus(c, st, s);
      throw err;
    }
    if (hasProgressDeadline(d)) {
      await writeCondition(c, st, newCondition('Progressing', 'False', 'ReplicaSetCreateError', `Failed to create new replica set "${rs.metadata!.name}": ${errText(err)}`, now));
    }
    c.recorder.event(d, 'Warning', 'FailedCreate', `Failed to create new replica set "${rs.metadata!.name}": ${errText(err)}`);
    throw err;
  }
  if (replicas > 0) c.recorder.event(d, 'Normal', 'ScalingReplicaSet', `Scaled up replica set ${createdRS.metadata!.name} from 0 to ${replicas}`);
  await setDeploymentRevision(c, st, newRevision);
  if (hasProgressDeadline(st.d)) {
    await writeCondition(c, st, newCondition('Progressing', 'True', 'NewReplicaSetCreated', `Created new replica set "${createdRS.metadata!.name}"`, now));
  }
  return { newRS: createdRS, oldRSs };
}

/** upstream scaleReplicaSetAndRecordEvent: sizes one ReplicaSet (refreshing its replica annotations) and records ScalingReplicaSet. */
export async function scaleReplicaSet(c: DeploymentSyncContext, st: SyncState, rs: RS, newScale: number, op?: 'up' | 'down'): Promise<{ scaled: boolean; rs: RS }> {
  const d = st.d;
  const sizeChanged = specReplicas(rs) !== newScale;
  const rsCopy = copy(rs) as RS;
  const annChanged = setReplicasAnnotations(rsCopy, d);
  if (!sizeChanged && !annChanged) return { scaled: false, rs };
  const oldScale = specReplicas(rs);
  (rsCopy.spec as { replicas?: number }).replicas = newScale;
  const updated = await c.client.update<RS>(REPLICASETS, rsCopy.metadata!.namespace, rsCopy);
  if (sizeChanged) {
    const dir = op ?? (newScale > oldScale ? 'up' : 'down');
    c.recorder.event(d, 'Normal', 'ScalingReplicaSet', `Scaled ${dir} replica set ${updated.metadata!.name} from ${oldScale} to ${newScale}`);
  }
  return { scaled: sizeChanged, rs: updated };
}

/** upstream scale: brings the ReplicaSets to the Deployment's replica count without rolling. */
async function scale(c: DeploymentSyncContext, st: SyncState, newRS: RS | undefined, oldRSs: RS[]): Promise<{ newRS?: RS; oldRSs: RS[] }> {
  const d = st.d;
  const desired = desiredReplicas(d);
  const replace = (rs: RS) => {
    if (newRS && rs.metadata!.uid === newRS.metadata!.uid) newRS = rs;
    else oldRSs = oldRSs.map((o) => (o.metadata!.uid === rs.metadata!.uid ? rs : o));
  };
  // One active (or else the newest) ReplicaSet: it gets the full count.
  const only = findActiveOrLatest(newRS, oldRSs);
  if (only) {
    if (specReplicas(only) !== desired) replace((await scaleReplicaSet(c, st, only, desired)).rs);
    return { newRS, oldRSs };
  }
  const act = activeReplicaSets([...oldRSs, ...(newRS ? [newRS] : [])]);
  if (act.length === 0) return { newRS, oldRSs };
  // A saturated new ReplicaSet: old ones go to zero.
  if (isSaturated(d, newRS)) {
    for (const o of activeReplicaSets(oldRSs)) replace((await scaleReplicaSet(c, st, o, 0)).rs);
    return { newRS, oldRSs };
  }
  if (!isRolling(d)) return { newRS, oldRSs };
  const { sizes, direction } = proportionalScale(d, act);
  for (const { rs, size } of sizes) replace((await scaleReplicaSet(c, st, rs, size, direction)).rs);
  return { newRS, oldRSs };
}

/** upstream sync: paused Deployments and replica-count changes scale only, with no new ReplicaSet. */
export async function syncScale(c: DeploymentSyncContext, st: SyncState, rsList: RS[]): Promise<void> {
  const got = await getAllReplicaSets(c, st, rsList, false);
  const all = await scale(c, st, got.newRS, got.oldRSs);
  if (st.d.spec?.paused) await cleanupDeployment(c, st, all.oldRSs);
  await syncStatusOnly(c, st, [...all.oldRSs, all.newRS], all.newRS);
}

/** upstream isScalingEvent over the Deployment's current ReplicaSets. */
export async function isScalingEvent(c: DeploymentSyncContext, st: SyncState, rsList: RS[]): Promise<boolean> {
  const { newRS, oldRSs } = await getAllReplicaSets(c, st, rsList, false);
  return isScalingEventOf(st.d, [...oldRSs, ...(newRS ? [newRS] : [])]);
}

/** upstream cleanupDeployment: deletes the oldest unused ReplicaSets beyond revisionHistoryLimit. */
export async function cleanupDeployment(c: DeploymentSyncContext, st: SyncState, oldRSs: RS[]): Promise<void> {
  for (const rs of replicaSetsToCleanUp(st.d, oldRSs)) {
    try { await c.client.delete(REPLICASETS, rs.metadata!.namespace, rs.metadata!.name!); } catch (err) { if (!isReason(err, 'NotFound')) throw err; }
  }
}

/** upstream syncDeploymentStatus: counts and Available only (no progress bookkeeping). */
export async function syncStatusOnly(c: DeploymentSyncContext, st: SyncState, all: (RS | undefined)[], newRS: RS | undefined): Promise<void> {
  const s = calculateStatus(all, newRS, st.d, c.clock.now());
  if (!sameStatus(st.d.status, s)) await writeStatus(c, st, s);
}

/** upstream checkPausedConditions: Progressing Unknown DeploymentPaused / DeploymentResumed. */
export async function checkPausedConditions(c: DeploymentSyncContext, st: SyncState): Promise<void> {
  if (!hasProgressDeadline(st.d)) return;
  const cond = getCondition(st.d.status, 'Progressing');
  if (cond?.reason === 'ProgressDeadlineExceeded') return;
  const paused = !!st.d.spec?.paused;
  const now = c.clock.now();
  if (paused && cond?.reason !== 'DeploymentPaused') {
    await writeCondition(c, st, newCondition('Progressing', 'Unknown', 'DeploymentPaused', 'Deployment is paused', now));
  } else if (!paused && cond?.reason === 'DeploymentPaused') {
    await writeCondition(c, st, newCondition('Progressing', 'Unknown', 'DeploymentResumed', 'Deployment is resumed', now));
  }
}
