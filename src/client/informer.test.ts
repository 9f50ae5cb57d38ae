import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSelector } from '../api/labels.js';
import { FakeClock, flushAsync } from '../util/clock.js';
import { TestClient } from '../apiserver/testing/test-api.js';
import { Informer, INDEX_NODE, INDEX_OWNER_UID, SharedInformerFactory } from './informer.js';
import { CONFIGMAPS, NAMESPACES, PODS } from './resources.js';
import type { KObject } from './types.js';

/** The real API server (in process) with namespaces a and b. */
async function api(opts: ConstructorParameters<typeof TestClient>[0] = {}): Promise<TestClient> {
  const c = new TestClient(opts);
  for (const name of ['a', 'b']) await c.create(NAMESPACES, undefined, { metadata: { name } });
  return c;
}

test('lists, then follows the watch; handlers see add/update/delete; cache is frozen', async () => {
  const clock = new FakeClock();
  const c = await api({ clock });
  await c.create(CONFIGMAPS, 'a', { metadata: { name: 'one', labels: { app: 'x' } } });
  const inf = new Informer<KObject>(c, CONFIGMAPS, { clock });
  const seen: string[] = [];
  inf.addEventHandler({
    onAdd: (o) => seen.push(`add ${o.metadata!.name}`),
    onUpdate: (_o, n) => seen.push(`update ${n.metadata!.name}`),
    onDelete: (o) => seen.push(`delete ${o.metadata!.name}`),
  });
  inf.start();
  await inf.waitForSync();
  assert.ok(inf.hasSynced());
  await c.create(CONFIGMAPS, 'b', { metadata: { name: 'two' } });
  await c.patch(CONFIGMAPS, 'a', 'one', 'merge', { data: { k: 'v' } });
  await c.delete(CONFIGMAPS, 'b', 'two');
  await flushAsync();
  assert.deepEqual(seen, ['add one', 'add two', 'update one', 'delete two']);
  const one = inf.get('a', 'one')!;
  assert.deepEqual(one.data, { k: 'v' });
  assert.equal(one.kind, 'ConfigMap');
  assert.throws(() => { (one.metadata as { name: string }).name = 'z'; }, TypeError);
  assert.equal(inf.list('a', parseSelector('app=x')).length, 1);
  assert.equal(inf.list(undefined, parseSelector('app=y')).length, 0);
  inf.stop();
});

test('relists on 410 Expired and reconciles changes missed meanwhile', async () => {
  const clock = new FakeClock();
  // A one-event watch cache: two writes later, a watch from before them is 410 Expired.
  const c = await api({ clock, watchCacheSize: 1 });
  await c.create(CONFIGMAPS, 'a', { metadata: { name: 'one' } });
  const inf = new Informer<KObject>(c, CONFIGMAPS, { clock });
  const deleted: string[] = [];
  inf.addEventHandler({ onDelete: (o) => deleted.push(o.metadata!.name!) });
  inf.start();
  await inf.waitForSync();
  // The connection drops and stays refused while changes happen and history moves on.
  const unhook = c.prependReactor((a) => (a.verb === 'watch' ? new Error('connection refused') : undefined));
  c.closeWatches(new Error('connection reset'));
  await flushAsync();
  await c.delete(CONFIGMAPS, 'a', 'one');
  await c.create(CONFIGMAPS, 'a', { metadata: { name: 'two' } });
  unhook();
  const lists = c.count('list');
  await clock.advance(60_000);
  assert.ok(c.count('list') > lists, 'relisted after 410 Expired');
  assert.deepEqual(deleted, ['one']);
  assert.ok(inf.get('a', 'two'));
  inf.stop();
});

test('resumes a cleanly ended watch from the last resourceVersion without losing events', async () => {
  const c = await api();
  const inf = new Informer<KObject>(c, CONFIGMAPS);
  inf.start();
  await inf.waitForSync();
  c.closeWatches();
  await c.create(CONFIGMAPS, 'a', { metadata: { name: 'late' } });
  await flushAsync();
  assert.ok(inf.get('a', 'late'));
  assert.equal(c.count('list'), 1, 'no relist needed');
  inf.stop();
});

test('owner-uid and node indexes', async () => {
  const c = await api();
  const containers = [{ name: 'c', image: 'x' }];
  await c.create(PODS, 'a', { metadata: { name: 'p1', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'u1', controller: true }] }, spec: { nodeName: 'n1', containers } });
  await c.create(PODS, 'a', { metadata: { name: 'p2' }, spec: { nodeName: 'n1', containers } });
  const f = new SharedInformerFactory(c);
  const inf = f.informerFor<KObject>(PODS);
  assert.equal(f.informerFor(PODS), inf, 'one informer per resource');
  f.start();
  await f.waitForSync();
  assert.deepEqual(inf.byIndex(INDEX_OWNER_UID, 'u1').map((p) => p.metadata!.name), ['p1']);
  assert.deepEqual(inf.byIndex(INDEX_NODE, 'n1').map((p) => p.metadata!.name).sort(), ['p1', 'p2']);
  await c.patch(PODS, 'a', 'p1', 'merge', { metadata: { ownerReferences: null } });
  await flushAsync();
  assert.deepEqual(inf.byIndex(INDEX_OWNER_UID, 'u1'), []);
  f.stop();
});
