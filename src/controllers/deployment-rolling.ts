/**
 * The RollingUpdate strategy, after upstream pkg/controller/deployment/rolling.go: grow the
 * new ReplicaSet within maxSurge, shrink old ones within maxUnavailable (unhealthy replicas
 * first, as removing them costs no availability), and report progress. The sizes are
 * planned by the pure functions here; `rolloutRolling` applies them.
 */
import {
  byCreation, deploymentComplete, desiredReplicas, maxUnavailable, newRSNewReplicas, specReplicas, sumSpec, sumStatus, type D, type RS,
} from './deployment-util.js';
import { syncRolloutStatus } from './deployment-progress.js';
import { cleanupDeployment, getAllReplicaSets, scaleReplicaSet, type DeploymentSyncContext, type SyncState } from './deployment-sync.js';

/** A ReplicaSet of the old list (by index) and the size to give it. */
export interface ScaleStep { index: number; size: number }

/** upstream reconcileNewReplicaSet: the size the new ReplicaSet should have now. */
export function newReplicaSetTarget(d: D, oldRSs: readonly RS[], newRS: RS): number {
  const desired = desiredReplicas(d);
  if (specReplicas(newRS) > desired) return desired;
  return newRSNewReplicas(d, [...oldRSs, newRS], newRS);
}

/**
 * How many old replicas may go now (upstream reconcileOldReplicaSets' maxScaledDown): all
 * replicas minus the minimum available minus the new ReplicaSet's unavailable ones, which
 * may never become available.
 */
export function maxScaledDown(d: D, oldRSs: readonly RS[], newRS: RS): number {
  const minAvailable = desiredReplicas(d) - maxUnavailable(d);
  const newUnavailable = specReplicas(newRS) - (newRS.status?.availableReplicas ?? 0);
  return sumSpec([...oldRSs, newRS]) - minAvailable - newUnavailable;
}

/** upstream cleanupUnhealthyReplicas: scale old ReplicaSets (oldest first) down by their unavailable replicas, up to `limit` in all. */
export function planUnhealthyCleanup(oldRSs: readonly RS[], limit: number): ScaleStep[] {
  const steps: ScaleStep[] = [];
  let total = 0;
  for (let i = 0; i < oldRSs.length && total < limit; i++) {
    const rs = oldRSs[i];
    const avail = rs.status?.availableReplicas ?? 0;
    if (specReplicas(rs) === 0 || specReplicas(rs) === avail) continue;
    const n = Math.min(limit - total, specReplicas(rs) - avail);
    steps.push({ index: i, size: specReplicas(rs) - n });
    total += n;
  }
  return steps;
}

/** upstream scaleDownOldReplicaSetsForRollingUpdate: take healthy old replicas (oldest first) while availability stays at the minimum. */
export function planHealthyScaleDown(d: D, oldRSs: readonly RS[], newRS: RS): ScaleStep[] {
  const minAvailable = desiredReplicas(d) - maxUnavailable(d);
  const available = sumStatus([...oldRSs, newRS], 'availableReplicas');
  if (available <= minAvailable) return [];
  const toScale = available - minAvailable;
  const steps: ScaleStep[] = [];
  let done = 0;
  for (let i = 0; i < oldRSs.length && done < toScale; i++) {
    const rs = oldRSs[i];
    if (specReplicas(rs) === 0) continue;
    const n = Math.min(specReplicas(rs), toScale - done);
    steps.push({ index: i, size: specReplicas(rs) - n });
    done += n;
  }
  return steps;
}

/** Removed replicas of a plan. */
const removed = (oldRSs: readonly RS[], steps: readonly ScaleStep[]) => steps.reduce((n, s) => n + specReplicas(oldRSs[s.index]) - s.size, 0);

/** upstream rolloutRolling: one step of a rolling update. */
export async function rolloutRolling(c: DeploymentSyncContext, st: SyncState, rsList: RS[]): Promise<void> {
  const got = await getAllReplicaSets(c, st, rsList, true);
  const newRS = got.newRS!;
  let oldRSs = got.oldRSs;
  // Scale up the new ReplicaSet, if we can.
  if (specReplicas(newRS) !== desiredReplicas(st.d)) {
    const r = await scaleReplicaSet(c, st, newRS, newReplicaSetTarget(st.d, oldRSs, newRS));
    if (r.scaled) { await syncRolloutStatus(c, st, [...oldRSs, r.rs], r.rs); return; }
  }
  // Scale down old ReplicaSets, if we can.
  if (sumSpec(oldRSs) > 0) {
    const limit = maxScaledDown(st.d, oldRSs, newRS);
    if (limit > 0) {
      oldRSs = [...oldRSs].sort(byCreation);
      let total = 0;
      for (const plan of [() => planUnhealthyCleanup(oldRSs, limit), () => planHealthyScaleDown(st.d, oldRSs, newRS)]) {
        // The second plan sees the sizes the first one left.
        const steps = plan();
        total += removed(oldRSs, steps);
        for (const s of steps) oldRSs[s.index] = (await scaleReplicaSet(c, st, oldRSs[s.index], s.size)).rs;
      }
      if (total > 0) { await syncRolloutStatus(c, st, [...oldRSs, newRS], newRS); return; }
    }
  }
  if (deploymentComplete(st.d, st.d.status)) await cleanupDeployment(c, st, oldRSs);
  await syncRolloutStatus(c, st, [...oldRSs, newRS], newRS);
}
