import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore } from '../store/memory.js';
import { defaultRegistry } from '../api/resources/index.js';
import { StatusError } from '../api/errors.js';
import { FRESHNESS_TIMEOUT_MS, WatchCache, type CacheEvent } from './watch-cache.js';
import { FakeClock } from '../util/clock.js';
import { storageKey } from './storage-keys.js';

const registry = defaultRegistry();
const pods = registry.byKind('', 'Pod')!;
const nodes = registry.byKind('', 'Node')!;
const deployments = registry.byKind('apps', 'Deployment')!;

const obj = (name: string, namespace?: string, extra: Record<string, unknown> = {}) => JSON.stringify({ metadata: { name, namespace }, ...extra });

test('start loads every object and sets its resourceVersion from the store', async () => {
  const store = new MemoryStore();
  await store.create(storageKey(pods, 'b', 'p2'), obj('p2', 'b'));
  const a = await store.create(storageKey(pods, 'a', 'p1'), obj('p1', 'a'));
  await store.create(storageKey(nodes, undefined, 'n1'), obj('n1'));
  await store.create('/unrelated/key', '{}');
  const cache = new WatchCache(store, registry);
  await cache.start();
  try {
    const p1 = cache.get(pods, 'a', 'p1')!;
    assert.equal(p1.rv, a.modRevision);
    assert.equal(p1.obj.metadata?.resourceVersion, String(a.modRevision));
    assert.equal(JSON.parse(p1.json).metadata.resourceVersion, String(a.modRevision));
    assert.deepEqual([p1.namespace, p1.name], ['a', 'p1']);
    const n1 = cache.get(nodes, '', 'n1')!;
    assert.deepEqual([n1.namespace, n1.name], ['', 'n1']);
    assert.deepEqual(cache.list(pods, '').map((o) => `${o.namespace}/${o.name}`), ['a/p1', 'b/p2'], 'sorted by namespace then name');
    assert.deepEqual(cache.list(pods, 'b').map((o) => o.name), ['p2']);
    assert.deepEqual(cache.list(deployments, ''), []);
    assert.equal(cache.revision(), await store.revision());
  } finally {
    cache.stop();
  }
});

test('a watch gets held events after its revision, then live ones, for its namespace only', async () => {
  const store = new MemoryStore();
  const cache = new WatchCache(store, registry);
  await cache.start();
  try {
    const first = await store.create(storageKey(pods, 'a', 'p1'), obj('p1', 'a'));
    await store.create(storageKey(pods, 'b', 'p2'), obj('p2', 'b'));
    const upd = await store.update(storageKey(pods, 'a', 'p1'), obj('p1', 'a', { spec: { x: 1 } }), first.modRevision);
    await cache.waitFor(upd.modRevision);

    const seen: CacheEvent[] = [];
    const cancel = cache.watch(pods, first.modRevision, { namespace: 'a', onEvent: (e) => seen.push(e) });
    assert.deepEqual(seen.map((e) => e.type), ['MODIFIED'], 'replays only events after the revision, in the namespace');
    assert.equal(seen[0].previous?.rv, first.modRevision);

    const del = await store.delete(storageKey(pods, 'a', 'p1'), upd.modRevision);
    await cache.waitFor(del.modRevision);
    assert.deepEqual(seen.map((e) => e.type), ['MODIFIED', 'DELETED']);
    assert.equal(seen[1].rv, del.modRevision);
    assert.equal(seen[1].previous?.obj.spec && (seen[1].previous.obj.spec as { x: number }).x, 1);
    assert.equal(cache.get(pods, 'a', 'p1'), undefined);

    cancel();
    await store.create(storageKey(pods, 'a', 'p3'), obj('p3', 'a'));
    await cache.waitFor(del.modRevision + 1);
    assert.equal(seen.length, 2, 'no events after cancel');
  } finally {
    cache.stop();
  }
});

test('a watch from before the held window is expired (410)', async () => {
  const store = new MemoryStore();
  const cache = new WatchCache(store, registry, { historySize: 3 });
  await cache.start();
  try {
    const start = cache.revision();
    let last = 0;
    for (let i = 0; i < 6; i++) last = (await store.create(storageKey(pods, 'a', `p${i}`), obj(`p${i}`, 'a'))).modRevision;
    await cache.waitFor(last);
    assert.throws(
      () => cache.watch(pods, start, { namespace: '', onEvent: () => {} }),
      (err: unknown) => err instanceof StatusError && err.code === 410 && err.reason === 'Expired',
    );
    const seen: CacheEvent[] = [];
    cache.watch(pods, last - 2, { namespace: '', onEvent: (e) => seen.push(e) })();
    assert.deepEqual(seen.map((e) => e.current.name), ['p4', 'p5']);
  } finally {
    cache.stop();
  }
});

test('waitFor resolves once the cache has applied the revision', async () => {
  const store = new MemoryStore();
  const cache = new WatchCache(store, registry);
  await cache.start();
  try {
    const waiting = cache.waitFor(cache.revision() + 1);
    let done = false;
    void waiting.then(() => (done = true));
    await new Promise((r) => setImmediate(r));
    assert.equal(done, false);
    await store.create(storageKey(nodes, undefined, 'n1'), obj('n1'));
    await waiting;
    assert.ok(cache.get(nodes, '', 'n1'));
  } finally {
    cache.stop();
  }
});

test('waitUntilFresh resolves when the revision arrives within the wait, else rejects with 504 after it (fake clock)', async () => {
  const store = new MemoryStore();
  const clock = new FakeClock();
  const cache = new WatchCache(store, registry, { clock });
  await cache.start();
  try {
    const rev = cache.revision();
    await cache.waitUntilFresh(rev); // already there: no timer
    assert.equal(clock.pending(), 0);

    const arrives = cache.waitUntilFresh(rev + 1);
    await clock.advance(FRESHNESS_TIMEOUT_MS - 1);
    await store.create(storageKey(nodes, undefined, 'n1'), obj('n1'));
    await arrives;
    assert.equal(clock.pending(), 0, 'the timeout was cancelled');

    let settled = false;
    const never = cache.waitUntilFresh(rev + 100).then(
      () => undefined,
      (err: unknown) => err,
    );
    void never.finally(() => (settled = true));
    await clock.advance(FRESHNESS_TIMEOUT_MS - 1);
    assert.equal(settled, false);
    await clock.advance(1);
    const failure = await never;
    assert.ok(failure instanceof StatusError);
    assert.equal(failure.code, 504);
    assert.equal(failure.message, `Timeout: Too large resource version: ${rev + 100}, current: ${rev + 1}`);
    assert.deepEqual(failure.details?.causes, [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }]);
    // A later write does not resolve the abandoned waiter twice or throw.
    await store.create(storageKey(nodes, undefined, 'n2'), obj('n2'));
  } finally {
    cache.stop();
  }
});

test('a watcher that throws does not stop delivery to the others', async () => {
  const store = new MemoryStore();
  const cache = new WatchCache(store, registry);
  await cache.start();
  const errors = console.error;
  console.error = () => {};
  try {
    const seen: string[] = [];
    cache.watch(pods, cache.revision(), { namespace: '', onEvent: () => { throw new Error('boom'); } });
    cache.watch(pods, cache.revision(), { namespace: '', onEvent: (e) => seen.push(e.current.name) });
    const kv = await store.create(storageKey(pods, 'a', 'p1'), obj('p1', 'a'));
    await cache.waitFor(kv.modRevision);
    assert.deepEqual(seen, ['p1']);
  } finally {
    console.error = errors;
    cache.stop();
  }
});
