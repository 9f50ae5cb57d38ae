import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DeploymentStrategy } from 'kubernetes-types/apps/v1.js';
import {
  calculateStatus, computeHash, deploymentComplete, deploymentProgressing, deploymentTimedOut, equalIgnoreHash, findActiveOrLatest,
  isSaturated, isScalingEvent, maxSurge, maxUnavailable, newReplicaSetFor, newRSNewReplicas, nextRevision, proportionalScale,
  replicaSetsToCleanUp, resolveFenceposts, setCondition, setNewRSAnnotations, DESIRED_REPLICAS, MAX_REPLICAS, POD_TEMPLATE_HASH,
  REVISION, REVISION_HISTORY, type D, type RS, type Status,
} from './deployment-util.js';

const T0 = Date.parse('2024-01-01T00:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

function dep(replicas: number, strategy: DeploymentStrategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } }, extra: Partial<D['spec']> = {}): D {
  return {
    apiVersion: 'apps/v1', kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', uid: 'd-uid', generation: 1 },
    spec: { replicas, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx:1' }] } }, strategy, ...extra },
  };
}
const rolling = (maxSurge: number | string, maxUnavailable: number | string): DeploymentStrategy => ({ type: 'RollingUpdate', rollingUpdate: { maxSurge, maxUnavailable } });

/** A ReplicaSet `name` of `replicas` (available as given), created `age` seconds after T0, with annotations. */
function rs(name: string, replicas: number, o: { available?: number; created?: number; ann?: Record<string, string>; statusReplicas?: number; generation?: number; observed?: number } = {}): RS {
  return {
    apiVersion: 'apps/v1', kind: 'ReplicaSet',
    metadata: { name, namespace: 'default', uid: `${name}-uid`, creationTimestamp: iso(T0 + (o.created ?? 0) * 1000), annotations: o.ann, generation: o.generation ?? 1 },
    spec: { replicas, selector: { matchLabels: { app: 'web' } } },
    status: { replicas: o.statusReplicas ?? replicas, availableReplicas: o.available ?? replicas, readyReplicas: o.available ?? replicas, observedGeneration: o.observed ?? 1 },
  };
}

test('fenceposts: surge rounds up, unavailable rounds down, both zero → unavailable 1', () => {
  const cases: Array<[number, number | string, number | string, { surge: number; unavailable: number }]> = [
    [10, '25%', '25%', { surge: 3, unavailable: 2 }],
    [3, '0%', '0%', { surge: 0, unavailable: 1 }],
    [3, 2, 0, { surge: 2, unavailable: 0 }],
    [1, '25%', '25%', { surge: 1, unavailable: 0 }],
    [10, '100%', '100%', { surge: 10, unavailable: 10 }],
  ];
  for (const [replicas, s, u, want] of cases) assert.deepEqual(resolveFenceposts(dep(replicas, rolling(s, u))), want, `${replicas} ${s} ${u}`);
  // Recreate has no surge or unavailability; zero replicas none unavailable; never more unavailable than replicas.
  assert.deepEqual([maxSurge(dep(10, { type: 'Recreate' })), maxUnavailable(dep(10, { type: 'Recreate' }))], [0, 0]);
  assert.equal(maxUnavailable(dep(0, rolling(1, 5))), 0);
  assert.equal(maxUnavailable(dep(2, rolling(1, 5))), 2);
  assert.throws(() => resolveFenceposts(dep(3, rolling('x', 1))), /invalid value for IntOrString/);
});

test('template hash: safe alphabet, stable, changed by the collision count; equality ignores the hash label', () => {
  const t = dep(1).spec!.template;
  assert.match(computeHash(t), /^[bcdfghjklmnpqrstvwxz2456789]+$/);
  assert.equal(computeHash(t), computeHash(structuredClone(t)));
  assert.notEqual(computeHash(t, 1), computeHash(t));
  assert.notEqual(computeHash(t, 1), computeHash(t, 2));
  const hashed = structuredClone(t);
  hashed.metadata!.labels![POD_TEMPLATE_HASH] = 'abc';
  assert.ok(equalIgnoreHash(t, hashed));
  assert.ok(equalIgnoreHash({ metadata: { labels: { [POD_TEMPLATE_HASH]: 'x' } } }, {}));
  hashed.spec!.containers[0].image = 'nginx:2';
  assert.ok(!equalIgnoreHash(t, hashed));
});

test('newReplicaSetFor: name, selector and labels carry the hash; owned by the Deployment; zero replicas', () => {
  const d = dep(3, undefined, { minReadySeconds: 5 });
  d.status = { collisionCount: 2 };
  const r = newReplicaSetFor(d);
  const hash = computeHash(d.spec!.template, 2);
  assert.equal(r.metadata!.name, `web-${hash}`);
  assert.deepEqual(r.spec!.selector.matchLabels, { app: 'web', [POD_TEMPLATE_HASH]: hash });
  assert.deepEqual(r.spec!.template!.metadata!.labels, { app: 'web', [POD_TEMPLATE_HASH]: hash });
  assert.deepEqual(r.metadata!.labels, r.spec!.template!.metadata!.labels);
  assert.deepEqual(r.metadata!.ownerReferences, [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'd-uid', controller: true, blockOwnerDeletion: true }]);
  assert.deepEqual([r.spec!.replicas, r.spec!.minReadySeconds], [0, 5]);
  assert.equal(d.spec!.template.metadata!.labels![POD_TEMPLATE_HASH], undefined, 'the Deployment is not touched');
});

test('revisions: the next one, annotations copied, history kept', () => {
  assert.equal(nextRevision([]), '1');
  assert.equal(nextRevision([rs('a', 0, { ann: { [REVISION]: '3' } }), rs('b', 0, { ann: { [REVISION]: 'x' } })]), '4');
  const d = dep(4, rolling(1, 1));
  d.metadata!.annotations = { team: 'web', [REVISION]: '9', 'kubectl.kubernetes.io/last-applied-configuration': '{}' };
  const fresh = rs('a', 0);
  assert.ok(setNewRSAnnotations(d, fresh, '1', false));
  assert.deepEqual(fresh.metadata!.annotations, { team: 'web', [REVISION]: '1', [DESIRED_REPLICAS]: '4', [MAX_REPLICAS]: '5' });
  // An old ReplicaSet that becomes current again keeps where it was in its history.
  const back = rs('b', 0, { ann: { team: 'web', [REVISION]: '2', [REVISION_HISTORY]: '1' } });
  assert.ok(setNewRSAnnotations(d, back, '5', true));
  assert.deepEqual([back.metadata!.annotations![REVISION], back.metadata!.annotations![REVISION_HISTORY]], ['5', '1,2']);
  assert.equal(setNewRSAnnotations(d, back, '5', true), false, 'nothing more to change');
  assert.equal(setNewRSAnnotations(d, back, '4', true), false, 'revisions never go down');
});

test('newRSNewReplicas: upstream cases', () => {
  const cases: Array<{ name: string; d: D; newRS: number; want: number }> = [
    { name: 'can not scale up beyond the surge', d: dep(1, rolling(1, 0)), newRS: 5, want: 5 },
    { name: 'scale up to the desired count', d: dep(6, rolling(10, 0)), newRS: 2, want: 6 },
    { name: 'scale up within the surge', d: dep(6, rolling(2, 0)), newRS: 2, want: 3 },
    { name: 'recreate: the desired count', d: dep(3, { type: 'Recreate' }), newRS: 1, want: 3 },
  ];
  for (const c of cases) {
    const n = rs('new', c.newRS);
    assert.equal(newRSNewReplicas(c.d, [n, rs('old', 5)], n), c.want, c.name);
  }
});

test('proportionalScale spreads a replica change by size; the biggest takes the rounding', () => {
  // 10 → 20 replicas mid-rollout with maxSurge 3: old 8 and new 5 were sized for 13.
  const ann = { [MAX_REPLICAS]: '13' };
  let r = proportionalScale(dep(20, rolling(3, 2)), [rs('old', 8, { ann }), rs('new', 5, { ann, created: 10 })]);
  assert.deepEqual(r.sizes.map((x) => [x.rs.metadata!.name, x.size]), [['old', 14], ['new', 9]]);
  assert.equal(r.direction, 'up');
  // And down to 5.
  const ann23 = { [MAX_REPLICAS]: '23' };
  r = proportionalScale(dep(5, rolling(3, 2)), [rs('old', 14, { ann: ann23 }), rs('new', 9, { ann: ann23, created: 10 })]);
  assert.deepEqual(r.sizes.map((x) => [x.rs.metadata!.name, x.size]), [['old', 5], ['new', 3]]);
  assert.equal(r.direction, 'down');
  // Three equal sets sized for 3, now 4: each share rounds to nothing, the newest takes the leftover.
  const ann3 = { [MAX_REPLICAS]: '3' };
  r = proportionalScale(dep(4, rolling(0, 1)), [rs('a', 1, { ann: ann3 }), rs('b', 1, { ann: ann3, created: 20 }), rs('c', 1, { ann: ann3, created: 10 })]);
  assert.deepEqual(r.sizes.map((x) => [x.rs.metadata!.name, x.size]), [['b', 2], ['c', 1], ['a', 1]]);
  // Scaled to zero: everything goes.
  r = proportionalScale(dep(0, rolling(1, 1)), [rs('a', 3, { ann: ann3 }), rs('b', 2, { ann: ann3 })]);
  assert.deepEqual(r.sizes.map((x) => x.size), [0, 0]);
  // Nothing to add: sizes stay.
  r = proportionalScale(dep(4, rolling(1, 1)), [rs('a', 3), rs('b', 2)]);
  assert.deepEqual(r.sizes.map((x) => x.size), [3, 2]);
});

test('scaling decisions: scaling event, active-or-latest, saturation', () => {
  const d = dep(5, rolling(1, 1));
  assert.ok(isScalingEvent(d, [rs('a', 3, { ann: { [DESIRED_REPLICAS]: '3' } })]));
  assert.ok(!isScalingEvent(d, [rs('a', 5, { ann: { [DESIRED_REPLICAS]: '5' } }), rs('b', 0, { ann: { [DESIRED_REPLICAS]: '3' } })]));
  assert.ok(!isScalingEvent(d, [rs('a', 5)]));
  const a = rs('a', 0);
  const b = rs('b', 0, { created: 10 });
  assert.equal(findActiveOrLatest(undefined, [b, a]), b, 'none active: the newest');
  assert.equal(findActiveOrLatest(a, [b]), a, 'none active: the new one');
  assert.equal(findActiveOrLatest(a, [rs('c', 2)])?.metadata!.name, 'c', 'the one active');
  assert.equal(findActiveOrLatest(rs('n', 1), [rs('c', 2)]), undefined, 'two active');
  assert.equal(findActiveOrLatest(undefined, []), undefined);
  assert.ok(isSaturated(d, rs('n', 5, { ann: { [DESIRED_REPLICAS]: '5' } })));
  assert.ok(!isSaturated(d, rs('n', 5, { ann: { [DESIRED_REPLICAS]: '5' }, available: 4 })));
  assert.ok(!isSaturated(d, undefined));
});

test('replicaSetsToCleanUp: oldest revisions beyond the limit, only when fully scaled down and observed', () => {
  const old = [
    rs('r3', 0, { ann: { [REVISION]: '3' } }),
    rs('r1', 0, { ann: { [REVISION]: '1' } }),
    rs('r2', 0, { ann: { [REVISION]: '2' }, statusReplicas: 1 }),
    rs('r0', 0, { ann: { [REVISION]: '0' }, generation: 2, observed: 1 }),
  ];
  const names = (limit: number | undefined) => replicaSetsToCleanUp(dep(1, undefined, { revisionHistoryLimit: limit }), old).map((r) => r.metadata!.name);
  assert.deepEqual(names(1), ['r1']); // r0 not yet observed, r2 still has a pod
  assert.deepEqual(names(3), []);
  assert.deepEqual(names(0), ['r1', 'r3']);
  assert.deepEqual(names(undefined), []);
});

test('calculateStatus, completeness, progress and the deadline', () => {
  const d = dep(4, rolling(1, 1), { progressDeadlineSeconds: 60 });
  const oldRS = rs('old', 1, { available: 1 });
  const newRS = rs('new', 4, { available: 2, statusReplicas: 3 });
  const s = calculateStatus([oldRS, newRS], newRS, d, T0);
  assert.deepEqual(
    [s.observedGeneration, s.replicas, s.updatedReplicas, s.availableReplicas, s.unavailableReplicas],
    [1, 4, 3, 3, 2]);
  assert.deepEqual(s.conditions, [{ type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.', lastUpdateTime: iso(T0), lastTransitionTime: iso(T0) }]);
  assert.equal(calculateStatus([rs('new', 4, { available: 2 })], undefined, d, T0).conditions![0].reason, 'MinimumReplicasUnavailable');
  assert.ok(!deploymentComplete(d, s));
  assert.ok(deploymentComplete(d, { observedGeneration: 1, replicas: 4, updatedReplicas: 4, availableReplicas: 4 }));
  assert.ok(!deploymentComplete(d, { observedGeneration: 0, replicas: 4, updatedReplicas: 4, availableReplicas: 4 }), 'spec not observed yet');
  d.status = { replicas: 4, updatedReplicas: 2, availableReplicas: 3 };
  assert.ok(deploymentProgressing(d, s), 'more updated replicas');
  assert.ok(!deploymentProgressing(d, { replicas: 4, updatedReplicas: 2, availableReplicas: 3 }));
  // Timed out once the last progress is older than the deadline.
  const progressing: Status = {};
  setCondition(progressing, { type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated', lastUpdateTime: iso(T0), lastTransitionTime: iso(T0) });
  assert.ok(!deploymentTimedOut(d, progressing, T0 + 60_000));
  assert.ok(deploymentTimedOut(d, progressing, T0 + 60_001));
  setCondition(progressing, { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', lastUpdateTime: iso(T0) });
  assert.ok(!deploymentTimedOut(d, progressing, T0 + 120_000), 'a finished rollout never times out');
  assert.equal(progressing.conditions![0].lastTransitionTime, iso(T0), 'same status keeps the transition time');
});
