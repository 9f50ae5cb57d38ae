import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isReason } from '../api/errors.js';
import { FakeClock, flushAsync } from './clock.js';
import { FakeClient } from './fake.js';
import { CONFIGMAPS, DEPLOYMENTS, NAMESPACES, PODS } from './resources.js';
import type { KObject, WatchEvent } from './types.js';

test('create fills uid, resourceVersion, generation and generateName', async () => {
  const c = new FakeClient({ clock: new FakeClock() });
  const p = await c.create<KObject>(PODS, 'default', { metadata: { generateName: 'web-' }, spec: {} });
  assert.match(p.metadata!.name!, /^web-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
  assert.ok(p.metadata!.uid);
  assert.equal(p.metadata!.generation, 1);
  assert.equal(p.metadata!.creationTimestamp, '2024-01-01T00:00:00Z');
  await assert.rejects(c.create(PODS, 'default', { metadata: { name: p.metadata!.name } }), (e) => isReason(e, 'AlreadyExists'));
});

test('stale resourceVersion conflicts; spec change bumps generation, status does not', async () => {
  const c = new FakeClient();
  const d = await c.create<KObject>(DEPLOYMENTS, 'default', { metadata: { name: 'web' }, spec: { replicas: 1 } });
  const d2 = await c.update<KObject>(DEPLOYMENTS, 'default', { ...d, spec: { replicas: 2 } });
  assert.equal(d2.metadata!.generation, 2);
  await assert.rejects(c.update(DEPLOYMENTS, 'default', { ...d, spec: { replicas: 3 } }), (e) => isReason(e, 'Conflict'));
  const d3 = await c.update<KObject>(DEPLOYMENTS, 'default', { ...d2, status: { replicas: 2 } }, { subresource: 'status' });
  assert.equal(d3.metadata!.generation, 2);
  assert.deepEqual(d3.status, { replicas: 2 });
  const d4 = await c.patch<KObject>(DEPLOYMENTS, 'default', 'web', 'merge', { spec: { paused: true } });
  assert.equal(d4.metadata!.generation, 3);
  assert.deepEqual(d4.status, { replicas: 2 }, 'main-resource patch keeps status');
});

test('list and watch honour label selectors, and watch replays from a resourceVersion', async () => {
  const c = new FakeClient();
  await c.create(CONFIGMAPS, 'default', { metadata: { name: 'a', labels: { app: 'x' } } });
  const l = await c.list<KObject>(CONFIGMAPS, 'default', { labelSelector: 'app=x' });
  assert.equal(l.items.length, 1);
  await c.create(CONFIGMAPS, 'default', { metadata: { name: 'b', labels: { app: 'y' } } });
  await c.create(CONFIGMAPS, 'default', { metadata: { name: 'c', labels: { app: 'x' } } });
  const events: WatchEvent<KObject>[] = [];
  const w = c.watch<KObject>(CONFIGMAPS, 'default', { resourceVersion: l.metadata.resourceVersion, labelSelector: 'app=x' }, (e) => events.push(e), () => {});
  await c.patch(CONFIGMAPS, 'default', 'b', 'merge', { metadata: { labels: { app: 'x' } } });
  await c.patch(CONFIGMAPS, 'default', 'a', 'merge', { metadata: { labels: { app: 'z' } } });
  await flushAsync();
  assert.deepEqual(events.map((e) => `${e.type} ${e.object.metadata!.name}`), ['ADDED c', 'ADDED b', 'DELETED a']);
  w.cancel();
});

test('a watch from a compacted resourceVersion ends with 410 Expired', async () => {
  const c = new FakeClient();
  await c.create(CONFIGMAPS, 'default', { metadata: { name: 'a' } });
  c.compact();
  let closed: Error | undefined;
  c.watch(CONFIGMAPS, undefined, { resourceVersion: '1' }, () => {}, (e) => { closed = e; });
  await c.create(CONFIGMAPS, 'default', { metadata: { name: 'b' } });
  c.compact();
  c.watch(CONFIGMAPS, undefined, { resourceVersion: '1' }, () => {}, (e) => { closed = e; });
  await flushAsync();
  assert.ok(isReason(closed, 'Expired'));
});

test('finalizers hold deletion; removing the last finalizer deletes', async () => {
  const c = new FakeClient();
  await c.create(CONFIGMAPS, 'default', { metadata: { name: 'a', finalizers: ['x/y'] } });
  const d = await c.delete<KObject>(CONFIGMAPS, 'default', 'a', { propagationPolicy: 'Foreground' });
  assert.ok(d.metadata!.deletionTimestamp);
  assert.deepEqual(d.metadata!.finalizers, ['x/y', 'foregroundDeletion']);
  await c.patch(CONFIGMAPS, 'default', 'a', 'merge', { metadata: { finalizers: null } });
  assert.equal(c.peek(CONFIGMAPS, 'default', 'a'), undefined);
});

test('namespaces go Terminating and vanish once finalized', async () => {
  const c = new FakeClient();
  await c.create(NAMESPACES, undefined, { metadata: { name: 'n' } });
  const ns = await c.delete<KObject>(NAMESPACES, undefined, 'n');
  assert.equal((ns.status as { phase: string }).phase, 'Terminating');
  await c.update(NAMESPACES, undefined, { ...ns, spec: { finalizers: [] } }, { subresource: 'finalize' });
  assert.equal(c.peek(NAMESPACES, undefined, 'n'), undefined);
});
