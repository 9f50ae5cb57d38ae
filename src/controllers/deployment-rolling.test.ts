import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { deadlineRequeueAfter, rolloutStatus } from './deployment-progress.js';
import { oldPodsRunning } from './deployment-recreate.js';
import { maxScaledDown, newReplicaSetTarget, planHealthyScaleDown, planUnhealthyCleanup } from './deployment-rolling.js';
import type { D, RS } from './deployment-util.js';

const T0 = Date.parse('2024-01-01T00:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

function dep(replicas: number, maxSurge: number, maxUnavailable: number, progressDeadlineSeconds?: number): D {
  return {
    metadata: { name: 'web', namespace: 'default', uid: 'd-uid', generation: 1 },
    spec: { replicas, selector: {}, template: {}, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge, maxUnavailable } }, progressDeadlineSeconds },
  };
}
const rs = (name: string, replicas: number, available = replicas, statusReplicas = replicas): RS => ({
  metadata: { name, uid: `${name}-uid` },
  spec: { replicas, selector: {} },
  status: { replicas: statusReplicas, availableReplicas: available, readyReplicas: available },
});

test('newReplicaSetTarget: never above the desired count, otherwise within the surge', () => {
  assert.equal(newReplicaSetTarget(dep(3, 1, 1), [], rs('new', 5)), 3);
  assert.equal(newReplicaSetTarget(dep(10, 2, 0), [rs('old', 10)], rs('new', 0)), 2);
  assert.equal(newReplicaSetTarget(dep(10, 2, 0), [rs('old', 10)], rs('new', 2)), 2, 'surge used up');
  assert.equal(newReplicaSetTarget(dep(10, 2, 0), [rs('old', 8)], rs('new', 2)), 4);
});

test('maxScaledDown: availability budget minus the new set\'s unavailable replicas (upstream TestReconcileOldReplicaSets)', () => {
  const cases = [
    { name: 'all old available, budget 2', d: dep(10, 0, 2), old: [rs('old', 10)], n: rs('new', 0), want: 2 },
    { name: 'new replicas not yet available eat the budget', d: dep(10, 2, 2), old: [rs('old', 10)], n: rs('new', 2, 0), want: 2 },
    { name: 'no budget', d: dep(10, 2, 0), old: [rs('old', 10)], n: rs('new', 2, 0), want: 0 },
    { name: 'new available frees old ones', d: dep(10, 2, 0), old: [rs('old', 10)], n: rs('new', 2, 2), want: 2 },
  ];
  for (const c of cases) assert.equal(maxScaledDown(c.d, c.old, c.n), c.want, c.name);
});

test('planUnhealthyCleanup: unavailable old replicas go first, oldest first, up to the limit (upstream TestCleanupUnhealthyReplicas)', () => {
  const cases = [
    { name: 'two unhealthy, limit 1', old: [rs('a', 10, 8)], limit: 1, want: [{ index: 0, size: 9 }] },
    { name: 'two unhealthy, limit 3', old: [rs('a', 10, 8)], limit: 3, want: [{ index: 0, size: 8 }] },
    { name: 'all healthy', old: [rs('a', 10, 10)], limit: 3, want: [] },
    { name: 'across sets, skipping empty and healthy ones', old: [rs('a', 0), rs('b', 3, 3), rs('c', 4, 1), rs('d', 2, 0)], limit: 4, want: [{ index: 2, size: 1 }, { index: 3, size: 1 }] },
    { name: 'no budget', old: [rs('a', 10, 8)], limit: 0, want: [] },
  ];
  for (const c of cases) assert.deepEqual(planUnhealthyCleanup(c.old, c.limit), c.want, c.name);
});

test('planHealthyScaleDown: only what keeps availability at desired − maxUnavailable', () => {
  const cases = [
    { name: 'available 12 of min 8: 4 go', d: dep(10, 2, 2), old: [rs('a', 3), rs('b', 7)], n: rs('new', 2), want: [{ index: 0, size: 0 }, { index: 1, size: 6 }] },
    { name: 'at the minimum: none go', d: dep(10, 2, 2), old: [rs('a', 6)], n: rs('new', 4, 2), want: [] },
    { name: 'empty sets are skipped', d: dep(4, 1, 1), old: [rs('a', 0), rs('b', 4)], n: rs('new', 1), want: [{ index: 1, size: 2 }] },
  ];
  for (const c of cases) assert.deepEqual(planHealthyScaleDown(c.d, c.old, c.n), c.want, c.name);
});

test('rolloutStatus: Progressing follows the rollout; ReplicaFailure is copied from the ReplicaSets', () => {
  const d = dep(2, 1, 0, 60);
  d.status = { replicas: 2, updatedReplicas: 0, readyReplicas: 2, availableReplicas: 2, conditions: [{ type: 'Progressing', status: 'True', reason: 'NewReplicaSetCreated', lastUpdateTime: iso(T0), lastTransitionTime: iso(T0) }] };
  const old = rs('old', 2);
  // One new replica up: progressing, the update time moves, the transition time stays.
  let s = rolloutStatus(d, [old, rs('new', 1, 0)], rs('new', 1, 0), T0 + 10_000);
  let p = s.conditions!.find((c) => c.type === 'Progressing')!;
  assert.deepEqual([p.status, p.reason, p.message, p.lastUpdateTime, p.lastTransitionTime], ['True', 'ReplicaSetUpdated', 'ReplicaSet "new" is progressing.', iso(T0 + 10_000), iso(T0)]);
  // No progress past the deadline: timed out.
  s = rolloutStatus(d, [old, rs('new', 0)], rs('new', 0), T0 + 61_000);
  p = s.conditions!.find((c) => c.type === 'Progressing')!;
  assert.deepEqual([p.status, p.reason], ['False', 'ProgressDeadlineExceeded']);
  // Done: NewReplicaSetAvailable.
  s = rolloutStatus(d, [rs('old', 0), rs('new', 2)], rs('new', 2), T0 + 61_000);
  p = s.conditions!.find((c) => c.type === 'Progressing')!;
  assert.deepEqual([p.status, p.reason, p.message], ['True', 'NewReplicaSetAvailable', 'ReplicaSet "new" has successfully progressed.']);
  // Without a deadline there is no Progressing condition.
  assert.equal(rolloutStatus(dep(2, 1, 0), [old], undefined, T0).conditions!.find((c) => c.type === 'Progressing'), undefined);
  const failing = rs('new', 1, 0);
  failing.status!.conditions = [{ type: 'ReplicaFailure', status: 'True', reason: 'FailedCreate', message: 'quota', lastTransitionTime: iso(T0) }];
  s = rolloutStatus(d, [old, failing], failing, T0 + 5000);
  assert.deepEqual(s.conditions!.find((c) => c.type === 'ReplicaFailure'), { type: 'ReplicaFailure', status: 'True', reason: 'FailedCreate', message: 'quota', lastUpdateTime: iso(T0 + 5000), lastTransitionTime: iso(T0) });
});

test('deadlineRequeueAfter: a second past the deadline, only while a rollout is under way', () => {
  const d = dep(2, 1, 0, 60);
  d.status = { conditions: [{ type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated', lastUpdateTime: iso(T0) }] };
  const running = { replicas: 2, updatedReplicas: 1, availableReplicas: 1 };
  assert.equal(deadlineRequeueAfter(d, running, T0 + 20_000), 41_000);
  assert.equal(deadlineRequeueAfter(d, running, T0 + 60_500), 1000, 'at least a second');
  assert.equal(deadlineRequeueAfter(d, { observedGeneration: 1, replicas: 2, updatedReplicas: 2, availableReplicas: 2 }, T0), undefined, 'complete');
  assert.equal(deadlineRequeueAfter(dep(2, 1, 0), running, T0), undefined, 'no deadline');
});

test('oldPodsRunning: Recreate waits for reported replicas and for pods that have not terminated', () => {
  const pod = (phase: string): Pod => ({ status: { phase } });
  assert.ok(oldPodsRunning([rs('a', 0, 0, 1)], () => []));
  assert.ok(oldPodsRunning([rs('a', 0, 0, 0)], () => [pod('Running')]));
  assert.ok(!oldPodsRunning([rs('a', 0, 0, 0)], () => [pod('Succeeded'), pod('Failed')]));
  assert.ok(!oldPodsRunning([], () => assert.fail('no sets')));
});
