/**
 * The behaviour every {@link Store} backend must show (etcd v3 semantics), as one node:test
 * suite that backend tests instantiate: `runStoreConformance('sqlite', factory)`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StoreError, type Store, type StoreErrorCode, type WatchEvent } from '../types.js';

export interface StoreFixture {
  store: Store;
  /** The revision of a fresh store: 0, except for a shared etcd (one per test file). */
  baseRevision?: number;
  /** Closes `store` and opens the same data again; absent for backends that keep nothing. */
  reopen?(): Promise<Store>;
  /** Closes whatever is open and removes temporary files; safe to call after a failure. */
  dispose(): Promise<void>;
}

/** Runs the shared suite against stores made by `factory` (a fresh, empty store per test). */
export function runStoreConformance(name: string, factory: () => Promise<StoreFixture>): void {
  /** Runs `fn` with a fresh fixture and always disposes it. */
  const withStore = (fn: (s: Store, fx: StoreFixture) => Promise<void>) => async () => {
    const fx = await factory();
    try {
      await fn(fx.store, fx);
    } finally {
      await fx.dispose();
    }
  };

  describe(`store conformance: ${name}`, () => {
    it('starts empty', withStore(async (s, fx) => {
      const base = await s.revision();
      assert.equal(base, fx.baseRevision ?? 0);
      assert.ok((await s.compactedRevision()) <= base);
      assert.equal(await s.get('/registry/pods/default/a'), undefined);
      assert.deepEqual(await s.list('/registry/'), { items: [], revision: base, more: false });
      assert.deepEqual(await s.list(''), { items: [], revision: base, more: false });
      assert.equal(await s.count('/registry/'), 0);
    }));

    it('creates a key once and bumps the revision on every write', withStore(async (s) => {
      const base = await s.revision();
      const a = await s.create('/registry/pods/default/a', '{"n":1}');
      assert.deepEqual(a, { key: '/registry/pods/default/a', value: '{"n":1}', createRevision: base + 1, modRevision: base + 1 });
      const b = await s.create('/registry/pods/default/b', '{"n":2}');
      assert.equal(b.modRevision, base + 2);
      assert.equal(await s.revision(), base + 2);
      await expectCode(s.create('/registry/pods/default/a', '{"n":3}'), 'KeyExists');
      assert.equal(await s.revision(), base + 2, 'a failed create must not consume a revision');
      assert.deepEqual(await s.get('/registry/pods/default/a'), a);
    }));

    it('updates only at the expected mod revision and reports the current value on conflict', withStore(async (s) => {
      const k = '/registry/configmaps/ns/cm';
      const v1 = await s.create(k, 'v1');
      const v2 = await s.update(k, 'v2', v1.modRevision);
      assert.equal(v2.value, 'v2');
      assert.equal(v2.createRevision, v1.createRevision);
      assert.ok(v2.modRevision > v1.modRevision);
      const err = await expectCode(s.update(k, 'stale', v1.modRevision), 'Conflict');
      assert.deepEqual(err.current, v2);
      assert.deepEqual(await s.get(k), v2);
      await expectCode(s.update('/registry/configmaps/ns/missing', 'x', 1), 'NotFound');
      // Two writers racing from the same read: exactly one wins.
      const results = await Promise.allSettled([s.update(k, 'w1', v2.modRevision), s.update(k, 'w2', v2.modRevision)]);
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
      const loser = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      assert.equal((loser.reason as StoreError).code, 'Conflict');
    }));

    it('deletes with and without an expected revision', withStore(async (s) => {
      const k = '/registry/secrets/ns/s1';
      const c = await s.create(k, 'data');
      const u = await s.update(k, 'data2', c.modRevision);
      await expectCode(s.delete(k, c.modRevision), 'Conflict');
      assert.ok(await s.get(k), 'a conflicting delete must leave the key');
      const d = await s.delete(k, u.modRevision);
      assert.equal(d.value, 'data2');
      assert.equal(d.createRevision, c.createRevision);
      assert.equal(d.modRevision, await s.revision());
      assert.equal(await s.get(k), undefined);
      await expectCode(s.delete(k), 'NotFound');
      await expectCode(s.update(k, 'x', d.modRevision), 'NotFound');
      // Re-creating starts a new life with a new create revision.
      const again = await s.create(k, 'reborn');
      assert.equal(again.createRevision, again.modRevision);
      assert.ok(again.createRevision > d.modRevision);
      const d2 = await s.delete(k);
      assert.equal(d2.value, 'reborn');
    }));

    it('keeps prefixes apart (/a/b/ does not see /a/bc/)', withStore(async (s) => {
      await s.create('/a/b/x', '1');
      await s.create('/a/b/y', '2');
      await s.create('/a/bc/x', '3');
      await s.create('/a/b', '4');
      await s.create('/a/a/z', '5');
      const l = await s.list('/a/b/');
      assert.deepEqual(l.items.map((i) => i.key), ['/a/b/x', '/a/b/y']);
      assert.equal(await s.count('/a/b/'), 2);
      assert.deepEqual((await s.list('/a/')).items.map((i) => i.key), ['/a/a/z', '/a/b', '/a/b/x', '/a/b/y', '/a/bc/x']);
      assert.equal((await s.list('')).items.length, 5);
      await s.delete('/a/b/x');
      assert.deepEqual((await s.list('/a/b/')).items.map((i) => i.key), ['/a/b/y']);
      assert.equal(await s.count('/a/b/'), 1);
    }));

    it('pages with startAfter and limit over a consistent snapshot', withStore(async (s) => {
      const names = Array.from({ length: 23 }, (_, i) => `/registry/pods/ns/p${String(i).padStart(2, '0')}`);
      for (const n of shuffled(names)) await s.create(n, JSON.stringify({ n }));
      await s.create('/registry/pods/nt/other', '{}');
      const seen: string[] = [];
      let startAfter: string | undefined;
      let revision: number | undefined;
      let pages = 0;
      for (;;) {
        const page = await s.list('/registry/pods/ns/', { limit: 10, startAfter, revision });
        pages++;
        assert.ok(page.items.length <= 10);
        seen.push(...page.items.map((i) => i.key));
        revision ??= page.revision;
        assert.equal(page.revision, revision);
        // Writes between pages must not show up in a list pinned to the first revision.
        if (pages === 1) {
          await s.delete(names[15]);
          await s.create('/registry/pods/ns/p99', '{}');
          await s.update(names[20], 'changed', (await s.get(names[20]))!.modRevision);
        }
        if (!page.more) break;
        startAfter = page.items[page.items.length - 1].key;
        assert.ok(pages < 10, 'paging must terminate');
      }
      assert.equal(pages, 3);
      assert.deepEqual(seen, names);
      const pinned = await s.list('/registry/pods/ns/', { revision, startAfter: names[19], limit: 1 });
      assert.equal(pinned.items[0].value, JSON.stringify({ n: names[20] }));
      assert.equal(pinned.more, true);
      const exact = await s.list('/registry/pods/ns/', { startAfter: names[20], limit: 2 });
      assert.deepEqual(exact.items.map((i) => i.key), [names[21], names[22]]);
      assert.equal(exact.more, true, 'p99 follows');
      const last = await s.list('/registry/pods/ns/', { startAfter: names[21], limit: 2 });
      assert.deepEqual(last.items.map((i) => i.key), [names[22], '/registry/pods/ns/p99']);
      assert.equal(last.more, false);
    }));

    it('lists at a past revision', withStore(async (s) => {
      const a1 = await s.create('/r/a', 'a1');
      const b1 = await s.create('/r/b', 'b1');
      const a2 = await s.update('/r/a', 'a2', a1.modRevision);
      const bDel = await s.delete('/r/b');
      await s.create('/r/c', 'c1');
      const at = async (rev: number) => (await s.list('/r/', { revision: rev })).items.map((i) => `${i.key}=${i.value}@${i.modRevision}`);
      assert.deepEqual(await at(a1.modRevision), [`/r/a=a1@${a1.modRevision}`]);
      assert.deepEqual(await at(b1.modRevision), [`/r/a=a1@${a1.modRevision}`, `/r/b=b1@${b1.modRevision}`]);
      assert.deepEqual(await at(a2.modRevision), [`/r/a=a2@${a2.modRevision}`, `/r/b=b1@${b1.modRevision}`]);
      assert.deepEqual(await at(bDel.modRevision), [`/r/a=a2@${a2.modRevision}`]);
      assert.deepEqual(await at(0), [`/r/a=a2@${a2.modRevision}`, `/r/c=c1@${bDel.modRevision + 1}`]);
      assert.equal((await s.list('/r/', { revision: b1.modRevision })).revision, b1.modRevision);
      const future = await s.list('/r/', { revision: bDel.modRevision + 1000 });
      assert.equal(future.revision, bDel.modRevision + 1, 'a future revision reads as now');
      assert.equal(future.items.length, 2);
    }));

    it('watches from now: PUT, PUT with prevValue, DELETE with the deleted value', withStore(async (s) => {
      await s.create('/w/before', 'x');
      const w = collect(s, '/w/', await s.revision());
      try {
        const c = await s.create('/w/k', 'v1');
        const u = await s.update('/w/k', 'v2', c.modRevision);
        const d = await s.delete('/w/k');
        await w.waitFor(3);
        assert.deepEqual(w.events, [
          { type: 'PUT', key: '/w/k', value: 'v1', modRevision: c.modRevision, createRevision: c.modRevision },
          { type: 'PUT', key: '/w/k', value: 'v2', prevValue: 'v1', modRevision: u.modRevision, createRevision: c.modRevision },
          { type: 'DELETE', key: '/w/k', value: 'v2', prevValue: 'v2', modRevision: d.modRevision, createRevision: c.modRevision },
        ]);
      } finally {
        w.cancel();
      }
    }));

    it('watches from the past: replays the log, then goes live without gap or duplicate', withStore(async (s) => {
      const c = await s.create('/h/a', '1');
      await s.update('/h/a', '2', c.modRevision);
      await s.create('/h/b', '3');
      await s.create('/other/x', 'no');
      await s.delete('/h/b');
      const w = collect(s, '/h/', c.modRevision);
      try {
        await s.create('/h/c', 'live');
        await w.waitFor(4);
        assert.deepEqual(w.events.map((e) => `${e.type} ${e.key} ${e.value} ${e.prevValue ?? '-'}`), [
          'PUT /h/a 2 1',
          'PUT /h/b 3 -',
          'DELETE /h/b 3 3',
          'PUT /h/c live -',
        ]);
        const r = c.modRevision;
        assert.deepEqual(w.events.map((e) => e.modRevision), [r + 1, r + 2, r + 4, r + 5]);
        const all = collect(s, '/h/', r - 1);
        try {
          await all.waitFor(5);
          assert.equal(all.events[0].modRevision, r);
        } finally {
          all.cancel();
        }
      } finally {
        w.cancel();
      }
    }));

    it('delivers many concurrent writes in revision order to watchers started mid-stream', withStore(async (s) => {
      const n = 300;
      const base = await s.revision();
      const cRevs: number[] = [];
      const writeC = async (key: string, v: string) => {
        try {
          cRevs.push((await s.create(key, v)).modRevision);
        } catch {
          const kv = await s.get(key);
          if (kv) await s.update(key, v, kv.modRevision).then((r) => cRevs.push(r.modRevision), () => undefined);
        }
      };
      const watchers = [collect(s, '/c/', base)];
      const writes: Promise<unknown>[] = [];
      for (let i = 0; i < n; i++) {
        writes.push(writeC(`/c/${i % 17}`, String(i)));
        writes.push(s.create(`/d/${i}`, 'noise'));
        // Start watchers from various past revisions while writes are in flight.
        if (i % 60 === 30) watchers.push(collect(s, '/c/', Math.floor((base + (await s.revision())) / 2)));
        if (i % 50 === 0) await Promise.resolve();
      }
      await Promise.all(writes);
      const expected = [...cRevs].sort((x, y) => x - y);
      assert.ok(expected.length >= 17);
      // A watcher started after everything, replaying the whole log, is the reference.
      const truth = collect(s, '/c/', base);
      watchers.unshift(truth);
      try {
        for (const w of watchers) {
          const want = expected.filter((r) => r > w.afterRevision);
          await w.waitFor(want.length);
          assert.deepEqual(w.events.map((e) => e.modRevision), want, `watch from ${w.afterRevision}`);
          assert.deepEqual(w.events, truth.events.slice(truth.events.length - want.length));
          assert.deepEqual(w.errors, []);
        }
      } finally {
        for (const w of watchers) w.cancel();
      }
    }));

    it('stops delivering after cancel, and cancel is idempotent', withStore(async (s) => {
      const base = await s.revision();
      const w = collect(s, '/x/', base);
      await s.create('/x/1', 'a');
      await w.waitFor(1);
      w.cancel();
      w.cancel();
      await s.create('/x/2', 'b');
      await sleep(20);
      assert.equal(w.events.length, 1);
      // Cancelling one watcher leaves the others running.
      const w2 = collect(s, '/x/', base);
      const w3 = collect(s, '/x/', base);
      w2.cancel();
      await s.create('/x/3', 'c');
      await w3.waitFor(3);
      assert.equal(w2.events.length, 0);
      w3.cancel();
    }));

    it('fails a watch or a list from a compacted revision', withStore(async (s) => {
      const a = await s.create('/k/a', '1');
      await s.update('/k/a', '2', a.modRevision);
      const b = await s.create('/k/b', '3');
      await s.compact(b.modRevision);
      assert.equal(await s.compactedRevision(), b.modRevision);
      const w = collect(s, '/k/', a.modRevision);
      await w.waitUntil(() => w.errors.length > 0);
      assert.equal(w.errors[0].code, 'Compacted');
      assert.equal(w.errors[0].compactedRevision, b.modRevision);
      await s.create('/k/c', '4');
      await sleep(10);
      assert.equal(w.events.length, 0, 'no events after a Compacted error');
      const err = await expectCode(s.list('/k/', { revision: a.modRevision }), 'Compacted');
      assert.equal(err.compactedRevision, b.modRevision);
      // Exactly the compacted revision is still readable and watchable.
      assert.deepEqual((await s.list('/k/', { revision: b.modRevision })).items.map((i) => i.value), ['2', '3']);
      const ok = collect(s, '/k/', b.modRevision);
      try {
        await ok.waitFor(1);
        assert.equal(ok.events[0].key, '/k/c');
        assert.equal(ok.errors.length, 0);
      } finally {
        ok.cancel();
      }
    }));

    it('compaction keeps every live key and drops deleted ones', withStore(async (s) => {
      const live = new Map<string, string>();
      for (let i = 0; i < 40; i++) {
        const k = `/cmp/${i}`;
        let kv = await s.create(k, `v${i}.0`);
        for (let j = 1; j <= i % 4; j++) kv = await s.update(k, `v${i}.${j}`, kv.modRevision);
        if (i % 5 === 0) await s.delete(k);
        else live.set(k, kv.value);
      }
      const before = await s.list('/cmp/');
      const rev = await s.revision();
      await s.compact(rev);
      const after = await s.list('/cmp/');
      assert.deepEqual(after, before);
      assert.equal(after.items.length, live.size);
      for (const kv of after.items) assert.equal(kv.value, live.get(kv.key));
      assert.equal(await s.count('/cmp/'), live.size);
      assert.equal(await s.revision(), rev, 'compaction does not write a revision');
      // History at and below the compacted revision is gone; live keys still update by CAS.
      const first = after.items[0];
      const up = await s.update(first.key, 'new', first.modRevision);
      assert.equal(up.modRevision, rev + 1);
      const recreated = await s.create('/cmp/0', 'again');
      assert.equal(recreated.createRevision, rev + 2);
      const w = collect(s, '/cmp/', rev);
      try {
        await w.waitFor(2);
        assert.deepEqual(w.events.map((e) => e.modRevision), [rev + 1, rev + 2]);
        assert.equal(w.events[0].prevValue, first.value);
      } finally {
        w.cancel();
      }
      await s.compact(rev - 5); // older than the compacted revision: nothing to do
      assert.equal(await s.compactedRevision(), rev);
    }));

    it('fails operations after close and ends watches with Closed', withStore(async (s, fx) => {
      const w = collect(s, '/z/', await s.revision());
      await s.create('/z/a', '1');
      await w.waitFor(1);
      await s.close();
      await w.waitUntil(() => w.errors.length > 0);
      assert.equal(w.errors[0].code, 'Closed');
      await expectCode(s.get('/z/a'), 'Closed');
      await expectCode(s.create('/z/b', '1'), 'Closed');
      await s.close(); // idempotent
      void fx;
    }));

    it('keeps data and the revision across close and reopen', async (t) => {
      const fx = await factory();
      try {
        if (!fx.reopen) {
          t.skip(`${name} keeps nothing across reopen`);
          return;
        }
        let s = fx.store;
        const a = await s.create('/p/a', '{"a":1}');
        await s.create('/p/b', '{"b":1}');
        await s.update('/p/a', '{"a":2}', a.modRevision);
        const gone = await s.create('/p/gone', 'x');
        await s.delete('/p/gone', gone.modRevision);
        const before = await s.list('/p/');
        const rev = await s.revision();
        s = await fx.reopen();
        assert.equal(await s.revision(), rev);
        assert.deepEqual(await s.list('/p/'), before);
        // The tail of the log (a delete) is compacted away; the revision must still not go back.
        await s.compact(rev);
        s = await fx.reopen();
        assert.equal(await s.revision(), rev, 'revision is monotonic even when its row was compacted');
        assert.equal(await s.compactedRevision(), rev);
        const c = await s.create('/p/c', '{}');
        assert.equal(c.modRevision, rev + 1);
        assert.deepEqual((await s.list('/p/')).items.map((i) => i.key), ['/p/a', '/p/b', '/p/c']);
        await expectCode(s.list('/p/', { revision: rev - 1 }), 'Compacted');
      } finally {
        await fx.dispose();
      }
    });
  });
}

/** Asserts that `p` rejects with a StoreError of `code` and returns it. */
export async function expectCode(p: Promise<unknown>, code: StoreErrorCode): Promise<StoreError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof StoreError, `expected StoreError ${code}, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return err;
  }
  assert.fail(`expected StoreError ${code}, but the call succeeded`);
}

export interface Collector {
  afterRevision: number;
  events: WatchEvent[];
  errors: StoreError[];
  cancel(): void;
  waitFor(n: number, timeoutMs?: number): Promise<void>;
  waitUntil(pred: () => boolean, timeoutMs?: number): Promise<void>;
}

/** Watches `prefix` and records everything delivered, checking order as it goes. */
export function collect(s: Store, prefix: string, afterRevision: number): Collector {
  const events: WatchEvent[] = [];
  const errors: StoreError[] = [];
  const cancel = s.watch(prefix, afterRevision, {
    onEvents(batch) {
      assert.ok(batch.length > 0, 'no empty batches');
      for (const e of batch) {
        const prev = events.at(-1)?.modRevision ?? afterRevision;
        if (e.modRevision <= prev) errors.push(new StoreError('Conflict', `out of order: ${e.modRevision} after ${prev}`));
        if (!e.key.startsWith(prefix)) errors.push(new StoreError('Conflict', `key ${e.key} outside ${prefix}`));
        events.push(e);
      }
    },
    onError(err) {
      errors.push(err);
    },
  });
  const waitUntil = async (pred: () => boolean, timeoutMs = 5000) => {
    const deadline = Date.now() + timeoutMs;
    while (!pred()) {
      if (Date.now() > deadline) {
        throw new Error(`watch on ${prefix} from ${afterRevision}: condition not met in ${timeoutMs} ms; ` +
          `got ${events.length} events (last rev ${events.at(-1)?.modRevision}), errors: ${errors.map((e) => e.message).join('; ')}`);
      }
      await sleep(2);
    }
  };
  return { afterRevision, events, errors, cancel, waitUntil, waitFor: (n, ms) => waitUntil(() => events.length >= n, ms) };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function shuffled<T>(xs: T[]): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}
