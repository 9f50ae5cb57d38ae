import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject } from '../client/types.js';
import { CONFIGMAPS, DEPLOYMENTS, PODS, REPLICASETS } from '../client/resources.js';
import { newGarbageCollector } from './garbage-collector.js';
import { harness } from './testing/harness.js';

const resources = [DEPLOYMENTS, REPLICASETS, PODS, CONFIGMAPS];
const podSpec = { containers: [{ name: 'c', image: 'x' }] };
const workload = { selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: podSpec } };

async function chain(h: ReturnType<typeof harness>) {
  const d = await h.client.create<KObject>(DEPLOYMENTS, 'default', { metadata: { name: 'web' }, spec: workload });
  const ref = (o: KObject, kind: string, apiVersion = 'apps/v1') => [{ apiVersion, kind, name: o.metadata!.name!, uid: o.metadata!.uid!, controller: true, blockOwnerDeletion: true }];
  const rs = await h.client.create<KObject>(REPLICASETS, 'default', { metadata: { name: 'web-1', ownerReferences: ref(d, 'Deployment') }, spec: workload });
  for (const n of ['a', 'b']) await h.client.create(PODS, 'default', { metadata: { name: `web-1-${n}`, ownerReferences: ref(rs, 'ReplicaSet') }, spec: podSpec });
  return { d, rs };
}

test('background: deleting the owner deletes dependents transitively', async () => {
  const h = harness({ gcResources: resources });
  await chain(h);
  await h.client.create(PODS, 'default', { metadata: { name: 'unrelated' }, spec: podSpec });
  h.start(newGarbageCollector(h.ctx));
  await h.settle();
  assert.equal(h.client.objects(PODS).length, 3, 'nothing deleted while owners live');
  await h.client.delete(DEPLOYMENTS, 'default', 'web', { propagationPolicy: 'Background' });
  await h.settle();
  assert.equal(h.client.objects(REPLICASETS).length, 0);
  assert.deepEqual(h.client.objects(PODS).map((p) => p.metadata!.name), ['unrelated']);
  h.stop();
});

test('dependents of an owner that vanished before the collector started are deleted', async () => {
  const h = harness({ gcResources: resources });
  await chain(h);
  await h.client.delete(DEPLOYMENTS, 'default', 'web');
  h.start(newGarbageCollector(h.ctx));
  await h.settle();
  assert.equal(h.client.objects(REPLICASETS).length, 0);
  assert.equal(h.client.objects(PODS).length, 0);
  h.stop();
});

test('foreground: the owner stays (with its finalizer) until blocking dependents are gone', async () => {
  const h = harness({ gcResources: resources });
  await chain(h);
  // A finalizer on one pod keeps it around, so the foreground chain must wait for it.
  await h.client.patch(PODS, 'default', 'web-1-a', 'merge', { metadata: { finalizers: ['test/hold'] } });
  h.start(newGarbageCollector(h.ctx));
  await h.settle();
  await h.client.delete(DEPLOYMENTS, 'default', 'web', { propagationPolicy: 'Foreground' });
  await h.settle();
  const d = h.client.peek<KObject>(DEPLOYMENTS, 'default', 'web');
  assert.ok(d?.metadata?.deletionTimestamp, 'deployment waits');
  assert.deepEqual(d!.metadata!.finalizers, ['foregroundDeletion']);
  assert.ok(h.client.peek<KObject>(REPLICASETS, 'default', 'web-1')?.metadata?.deletionTimestamp, 'rs waits too');
  assert.equal(h.client.peek(PODS, 'default', 'web-1-b'), undefined);
  await h.client.patch(PODS, 'default', 'web-1-a', 'merge', { metadata: { finalizers: null } });
  await h.settle();
  assert.equal(h.client.peek(PODS, 'default', 'web-1-a'), undefined);
  assert.equal(h.client.peek(REPLICASETS, 'default', 'web-1'), undefined);
  assert.equal(h.client.peek(DEPLOYMENTS, 'default', 'web'), undefined);
  h.stop();
});

test('orphan: dependents lose their ownerReference and survive; the owner goes', async () => {
  const h = harness({ gcResources: resources });
  await chain(h);
  h.start(newGarbageCollector(h.ctx));
  await h.settle();
  await h.client.delete(REPLICASETS, 'default', 'web-1', { propagationPolicy: 'Orphan' });
  await h.settle();
  assert.equal(h.client.peek(REPLICASETS, 'default', 'web-1'), undefined);
  const pods = h.client.objects<KObject>(PODS);
  assert.equal(pods.length, 2);
  for (const p of pods) assert.equal(p.metadata!.ownerReferences, undefined);
  assert.ok(h.client.peek(DEPLOYMENTS, 'default', 'web'));
  h.stop();
});

test('a dependent with one live and one dead owner keeps living and drops the dead reference', async () => {
  const h = harness({ gcResources: resources });
  const a = await h.client.create<KObject>(CONFIGMAPS, 'default', { metadata: { name: 'a' } });
  const b = await h.client.create<KObject>(CONFIGMAPS, 'default', { metadata: { name: 'b' } });
  const r = (o: KObject) => ({ apiVersion: 'v1', kind: 'ConfigMap', name: o.metadata!.name!, uid: o.metadata!.uid! });
  await h.client.create(CONFIGMAPS, 'default', { metadata: { name: 'dep', ownerReferences: [r(a), r(b)] } });
  h.start(newGarbageCollector(h.ctx));
  await h.settle();
  await h.client.delete(CONFIGMAPS, 'default', 'a');
  await h.settle();
  const dep = h.client.peek<KObject>(CONFIGMAPS, 'default', 'dep')!;
  assert.deepEqual(dep.metadata!.ownerReferences!.map((x) => x.name), ['b']);
  await h.client.delete(CONFIGMAPS, 'default', 'b');
  await h.settle();
  assert.equal(h.client.peek(CONFIGMAPS, 'default', 'dep'), undefined);
  h.stop();
});
