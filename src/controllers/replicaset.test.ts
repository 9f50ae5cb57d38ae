import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { ReplicaSet } from 'kubernetes-types/apps/v1.js';
import { StatusError } from '../api/errors.js';
import { PODS, REPLICASETS } from '../client/resources.js';
import { comparePodsForDeletion, newReplicaSetController } from './replicaset.js';
import { harness, makePodsReady } from './testing/harness.js';

const rsObj = (replicas: number, extra: Partial<ReplicaSet['spec']> = {}): ReplicaSet => ({
  apiVersion: 'apps/v1', kind: 'ReplicaSet',
  metadata: { name: 'web', namespace: 'default' },
  spec: { replicas, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } }, ...extra },
});

const ownedPods = (h: ReturnType<typeof harness>) => h.client.objects<Pod>(PODS, 'default').filter((p) => p.metadata?.ownerReferences?.some((r) => r.name === 'web' && r.controller));

test('scales up to spec.replicas with generated names, owner refs and status', async () => {
  const h = harness();
  h.start(newReplicaSetController(h.ctx));
  await h.client.create(REPLICASETS, 'default', rsObj(5));
  await h.settle();
  const pods = ownedPods(h);
  assert.equal(pods.length, 5);
  assert.equal(h.client.count('create', 'pods'), 5, 'never double-creates');
  for (const p of pods) {
    assert.match(p.metadata!.name!, /^web-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    assert.deepEqual(p.metadata!.labels, { app: 'web' });
    const ref = p.metadata!.ownerReferences![0];
    assert.equal(ref.kind, 'ReplicaSet');
    assert.equal(ref.blockOwnerDeletion, true);
  }
  let rs = h.client.peek<ReplicaSet>(REPLICASETS, 'default', 'web')!;
  assert.deepEqual({ ...rs.status }, { replicas: 5, fullyLabeledReplicas: 5, readyReplicas: 0, availableReplicas: 0, observedGeneration: 1 });
  await makePodsReady(h.client, h.clock);
  await h.settle();
  rs = h.client.peek<ReplicaSet>(REPLICASETS, 'default', 'web')!;
  assert.equal(rs.status!.readyReplicas, 5);
  assert.equal(rs.status!.availableReplicas, 5);
  assert.ok(h.recorder.events.includes(`Normal SuccessfulCreate Created pod: ${ownedPods(h)[0].metadata!.name}`));
  h.stop();
});

test('availableReplicas waits for minReadySeconds', async () => {
  const h = harness();
  h.start(newReplicaSetController(h.ctx));
  await h.client.create(REPLICASETS, 'default', rsObj(2, { minReadySeconds: 10 }));
  await h.settle();
  await makePodsReady(h.client, h.clock);
  await h.settle();
  assert.equal(h.client.peek<ReplicaSet>(REPLICASETS, 'default', 'web')!.status!.availableReplicas, 0);
  await h.clock.advance(11_000);
  await h.settle();
  assert.equal(h.client.peek<ReplicaSet>(REPLICASETS, 'default', 'web')!.status!.availableReplicas, 2);
  h.stop();
});

test('creates in slow-start batches and reports ReplicaFailure when creation fails', async () => {
  const h = harness();
  let creates = 0;
  h.client.prependReactor((a) => {
    if (a.verb === 'create' && a.resource === 'pods' && ++creates > 2) return new StatusError(403, 'Forbidden', 'pods "web-" is forbidden: exceeded quota');
  });
  const c = newReplicaSetController(h.ctx);
  h.start(c);
  await h.client.create(REPLICASETS, 'default', rsObj(10));
  await h.settle();
  // Batch 1 (1 pod) succeeds, batch 2 (2 pods) has a failure: stop; no batch of 4. Later
  // syncs (triggered by the pod and status events) each start again with a batch of one,
  // so a failing template costs a few requests, not ten.
  assert.ok(creates >= 3 && creates <= 5, `attempted ${creates} creates`);
  assert.equal(ownedPods(h).length, 2);
  const rs = h.client.peek<ReplicaSet>(REPLICASETS, 'default', 'web')!;
  const cond = rs.status!.conditions!.find((x) => x.type === 'ReplicaFailure')!;
  assert.equal(cond.status, 'True');
  assert.equal(cond.reason, 'FailedCreate');
  assert.match(cond.message!, /exceeded quota/);
  assert.ok(h.recorder.events.some((e) => e.startsWith('Warning FailedCreate Error creating: pods "web-" is forbidden')));
  h.stop();
});

test('scale down deletes unassigned, then pending, then not-ready pods first', async () => {
  const h = harness();
  const c = newReplicaSetController(h.ctx);
  h.start(c);
  await h.client.create(REPLICASETS, 'default', rsObj(5));
  await h.settle();
  const pods = ownedPods(h);
  // pods[0] stays unassigned; pods[1] assigned+Pending; pods[2] Running not ready; pods[3], pods[4] Running ready.
  const set = async (p: Pod, node: string | undefined, status: Pod['status']) => {
    if (node) await h.client.patch(PODS, 'default', p.metadata!.name!, 'merge', { spec: { nodeName: node } });
    await h.client.patch(PODS, 'default', p.metadata!.name!, 'merge', { status }, { subresource: 'status' });
  };
  await set(pods[1], 'n1', { phase: 'Pending' });
  await set(pods[2], 'n1', { phase: 'Running', conditions: [{ type: 'Ready', status: 'False' }] });
  await set(pods[3], 'n1', { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2024-01-01T00:00:00Z' }] });
  await set(pods[4], 'n1', { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2024-01-01T00:00:00Z' }] });
  await h.settle();
  const names = (ps: Pod[]) => ps.map((p) => p.metadata!.name).sort();
  await h.client.patch(REPLICASETS, 'default', 'web', 'merge', { spec: { replicas: 2 } });
  await h.settle();
  assert.deepEqual(names(ownedPods(h)), names([pods[3], pods[4]]));
  await h.client.patch(REPLICASETS, 'default', 'web', 'merge', { spec: { replicas: 0 } });
  await h.settle();
  assert.equal(ownedPods(h).length, 0);
  assert.equal(h.client.peek<ReplicaSet>(REPLICASETS, 'default', 'web')!.status!.replicas, 0);
  h.stop();
});

test('deletion ranking: more restarts and newer pods go first', () => {
  const p = (created: string, restarts: number): Pod => ({
    metadata: { creationTimestamp: created }, spec: { nodeName: 'n', containers: [{ name: 'c', image: 'x' }] },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2024-01-01T00:00:00Z' }], containerStatuses: [{ name: 'c', image: 'i', imageID: '', ready: true, restartCount: restarts }] },
  });
  const old = p('2024-01-01T00:00:00Z', 0);
  const young = p('2024-01-02T00:00:00Z', 0);
  const crashy = p('2024-01-01T00:00:00Z', 5);
  assert.deepEqual([old, young, crashy].sort((a, b) => comparePodsForDeletion(a, b)), [crashy, young, old]);
  // Doubled-up pods (higher rank) go before others.
  assert.ok(comparePodsForDeletion(old, young, 3, 1) < 0);
});

test('adopts matching orphans and releases pods whose labels stop matching', async () => {
  const h = harness();
  await h.client.create(PODS, 'default', { metadata: { name: 'orphan', labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'x' }] } });
  await h.client.create(PODS, 'default', { metadata: { name: 'other', labels: { app: 'db' } }, spec: { containers: [{ name: 'c', image: 'x' }] } });
  h.start(newReplicaSetController(h.ctx));
  await h.client.create(REPLICASETS, 'default', rsObj(2));
  await h.settle();
  const rs = h.client.peek<ReplicaSet>(REPLICASETS, 'default', 'web')!;
  const orphan = h.client.peek<Pod>(PODS, 'default', 'orphan')!;
  assert.equal(orphan.metadata!.ownerReferences![0].uid, rs.metadata!.uid);
  assert.equal(orphan.metadata!.ownerReferences![0].controller, true);
  assert.equal(h.client.peek<Pod>(PODS, 'default', 'other')!.metadata!.ownerReferences, undefined);
  assert.equal(ownedPods(h).length, 2, 'adopted pod counts: only one new pod');
  // Relabel the orphan: it is released and replaced.
  await h.client.patch(PODS, 'default', 'orphan', 'merge', { metadata: { labels: { app: 'debug' } } });
  await h.settle();
  assert.equal(h.client.peek<Pod>(PODS, 'default', 'orphan')!.metadata!.ownerReferences, undefined);
  assert.equal(ownedPods(h).length, 2);
  assert.equal(h.client.count('create', 'pods') - 2, 2);
  h.stop();
});
