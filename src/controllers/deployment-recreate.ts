/**
 * The Recreate strategy, after upstream pkg/controller/deployment/recreate.go: scale every
 * old ReplicaSet to zero, wait until none of their pods runs any more, then create (or
 * scale up) the new ReplicaSet at full size.
 */
import type { Pod } from 'kubernetes-types/core/v1.js';
import { INDEX_OWNER_UID } from '../client/informer.js';
import { deploymentComplete, desiredReplicas, specReplicas, sumStatus, type RS } from './deployment-util.js';
import { syncRolloutStatus } from './deployment-progress.js';
import { cleanupDeployment, getAllReplicaSets, scaleReplicaSet, type DeploymentSyncContext, type SyncState } from './deployment-sync.js';

/** upstream oldPodsRunning: old ReplicaSets still report replicas, or one of their pods has not terminated. */
export function oldPodsRunning(oldRSs: readonly RS[], podsOf: (rs: RS) => readonly Pod[]): boolean {
  return sumStatus(oldRSs, 'replicas') > 0
    || oldRSs.some((rs) => podsOf(rs).some((p) => p.status?.phase !== 'Failed' && p.status?.phase !== 'Succeeded'));
}

/** upstream rolloutRecreate: one step of a Recreate rollout. */
export async function rolloutRecreate(c: DeploymentSyncContext, st: SyncState, rsList: RS[]): Promise<void> {
  let { newRS, oldRSs } = await getAllReplicaSets(c, st, rsList, false);
  let scaledDown = false;
  for (let i = 0; i < oldRSs.length; i++) {
    if (specReplicas(oldRSs[i]) === 0) continue;
    const r = await scaleReplicaSet(c, st, oldRSs[i], 0);
    oldRSs[i] = r.rs;
    scaledDown ||= r.scaled;
  }
  if (scaledDown) { await syncRolloutStatus(c, st, [...oldRSs, newRS], newRS); return; }
  if (oldPodsRunning(oldRSs, (rs) => c.podInf.byIndex(INDEX_OWNER_UID, rs.metadata!.uid!))) {
    await syncRolloutStatus(c, st, [...oldRSs, newRS], newRS);
    return;
  }
  if (!newRS) ({ newRS, oldRSs } = await getAllReplicaSets(c, st, rsList, true));
  const r = await scaleReplicaSet(c, st, newRS!, desiredReplicas(st.d));
  newRS = r.rs;
  if (deploymentComplete(st.d, st.d.status)) await cleanupDeployment(c, st, oldRSs);
  await syncRolloutStatus(c, st, [...oldRSs, newRS], newRS);
}
