/**
 * Rollout progress, after upstream pkg/controller/deployment/progress.go: the Progressing
 * condition (NewReplicaSetAvailable, ReplicaSetUpdated, ProgressDeadlineExceeded), the
 * ReplicaFailure condition copied from the ReplicaSets, and when to look again so that a
 * stuck rollout notices its deadline without further events. `rolloutStatus` and
 * `deadlineRequeueAfter` decide; `syncRolloutStatus` writes.
 */
import { rfc3339 } from '../util/clock.js';
import {
  calculateStatus, deploymentComplete, deploymentProgressing, deploymentTimedOut, getCondition, hasProgressDeadline, newCondition,
  removeCondition, sameStatus, setCondition, type D, type RS, type Status,
} from './deployment-util.js';
import { writeStatus, type DeploymentSyncContext, type SyncState } from './deployment-sync.js';

/** upstream syncRolloutStatus's computation: the status a rollout step leaves, at `now`. */
export function rolloutStatus(d: D, all: readonly (RS | undefined)[], newRS: RS | undefined, now: number): Status {
  const s = calculateStatus(all, newRS, d, now);
  if (!hasProgressDeadline(d)) removeCondition(s, 'Progressing');
  const current = getCondition(d.status, 'Progressing');
  const isComplete = s.replicas === s.updatedReplicas && current?.reason === 'NewReplicaSetAvailable';
  const rsName = newRS?.metadata?.name ?? '';
  if (hasProgressDeadline(d) && !isComplete) {
    if (deploymentComplete(d, s)) {
      setCondition(s, newCondition('Progressing', 'True', 'NewReplicaSetAvailable', `ReplicaSet "${rsName}" has successfully progressed.`, now));
    } else if (deploymentProgressing(d, s)) {
      // Progress refreshes lastUpdateTime (the deadline is measured from it) but keeps the transition time.
      const c = newCondition('Progressing', 'True', 'ReplicaSetUpdated', `ReplicaSet "${rsName}" is progressing.`, now);
      if (current?.status === 'True') c.lastTransitionTime = current.lastTransitionTime;
      removeCondition(s, 'Progressing');
      setCondition(s, c);
    } else if (deploymentTimedOut(d, s, now)) {
      setCondition(s, newCondition('Progressing', 'False', 'ProgressDeadlineExceeded', `ReplicaSet "${rsName}" has timed out progressing.`, now));
    }
  }
  const failure = all.map((rs) => rs?.status?.conditions?.find((c) => c.type === 'ReplicaFailure' && c.status === 'True')).find(Boolean);
  if (failure) setCondition(s, { type: 'ReplicaFailure', status: failure.status, reason: failure.reason, message: failure.message, lastUpdateTime: rfc3339(now), lastTransitionTime: failure.lastTransitionTime ?? rfc3339(now) });
  else removeCondition(s, 'ReplicaFailure');
  return s;
}

/**
 * upstream requeueStuckDeployment: without further events a stuck rollout would never be
 * looked at again, so it asks to be synced a second after its deadline. `d` is the
 * Deployment as last written, `s` the status just computed.
 */
export function deadlineRequeueAfter(d: D, s: Status, now: number): number | undefined {
  const c = getCondition(d.status, 'Progressing');
  if (!hasProgressDeadline(d) || !c) return undefined;
  if (deploymentComplete(d, s) || c.reason === 'ProgressDeadlineExceeded') return undefined;
  const after = Date.parse(c.lastUpdateTime ?? '') + d.spec!.progressDeadlineSeconds! * 1000 - now;
  return after < 1000 ? 1000 : after + 1000;
}

/** upstream syncRolloutStatus: writes the rollout status, records a missed deadline once, and schedules the deadline check. */
export async function syncRolloutStatus(c: DeploymentSyncContext, st: SyncState, all: (RS | undefined)[], newRS: RS | undefined): Promise<void> {
  const now = c.clock.now();
  const s = rolloutStatus(st.d, all, newRS, now);
  if (!sameStatus(st.d.status, s)) {
    const prevTimedOut = getCondition(st.d.status, 'Progressing')?.reason === 'ProgressDeadlineExceeded';
    await writeStatus(c, st, s);
    if (!prevTimedOut && getCondition(s, 'Progressing')?.reason === 'ProgressDeadlineExceeded') {
      c.recorder.event(st.d, 'Warning', 'ProgressDeadlineExceeded', `Deployment "${st.d.metadata!.name}" has timed out progressing.`);
    }
  }
  const after = deadlineRequeueAfter(st.d, s, now);
  if (after !== undefined) st.requeueAfterMs = after;
}
