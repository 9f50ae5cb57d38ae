import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { collect, expectCode, runStoreConformance } from './testing/conformance.js';
import { SqliteStore } from './sqlite.js';
import { FakeClock } from '../util/clock.js';
import type { Store } from './types.js';

function tempDb(): { path: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-sqlite-'));
  return { path: join(dir, 'state.db'), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

runStoreConformance('sqlite', async () => {
  const { path, cleanup } = tempDb();
  let store: Store = SqliteStore.open(path, { compactBatch: 7 });
  return {
    store,
    async reopen() {
      await store.close();
      store = SqliteStore.open(path, { compactBatch: 7 });
      return store;
    },
    async dispose() {
      await store.close();
      cleanup();
    },
  };
});

describe('SqliteStore specifics', () => {
  it('uses one kine table whose unique index forbids forking a key\'s history', async () => {
    const { path, cleanup } = tempDb();
    const s = SqliteStore.open(path);
    try {
      const a = await s.create('/registry/pods/ns/a', '{}');
      await s.update('/registry/pods/ns/a', '{"v":2}', a.modRevision);
      // A second writer (another connection) that read the same predecessor cannot commit.
      const other = new Database(path);
      try {
        assert.equal(other.pragma('journal_mode', { simple: true }), 'wal');
        assert.equal(other.pragma('auto_vacuum', { simple: true }), 2, 'auto_vacuum=INCREMENTAL');
        const insert = other.prepare(
          'INSERT INTO kine (name, created, deleted, create_revision, prev_revision, value, old_value) VALUES (?, 0, 0, ?, ?, ?, ?)',
        );
        assert.throws(() => insert.run('/registry/pods/ns/a', a.createRevision, a.modRevision, '{"by":"other"}', '{}'), {
          code: 'SQLITE_CONSTRAINT_UNIQUE',
        });
        const tables = other.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'kine%' ORDER BY name").pluck().all();
        assert.deepEqual(tables, ['kine', 'kine_meta']);
      } finally {
        other.close();
      }
      assert.equal((await s.get('/registry/pods/ns/a'))?.value, '{"v":2}');
    } finally {
      await s.close();
      cleanup();
    }
  });

  it('compacts automatically on the timer, keeping the last compactRetain revisions', async () => {
    const { path, cleanup } = tempDb();
    const clock = new FakeClock();
    const s = SqliteStore.open(path, { compactRetain: 50, compactIntervalMs: 1000, clock });
    try {
      let kv = await s.create('/auto/k', '0');
      for (let i = 1; i < 120; i++) kv = await s.update('/auto/k', String(i), kv.modRevision);
      await s.create('/auto/z', 'z');
      assert.equal(await s.compactedRevision(), 0);
      await clock.advance(1000);
      const target = 121 - 50;
      for (let i = 0; i < 200 && (await s.compactedRevision()) < target; i++) await new Promise((r) => setTimeout(r, 2));
      assert.equal(await s.compactedRevision(), target);
      await expectCode(s.list('/auto/', { revision: target - 1 }), 'Compacted');
      assert.deepEqual((await s.list('/auto/')).items.map((i) => i.value), ['119', 'z']);
      const w = collect(s, '/auto/', target);
      try {
        await w.waitFor(50);
        assert.equal(w.events[0].modRevision, target + 1);
      } finally {
        w.cancel();
      }
      const raw = new Database(path, { readonly: true });
      try {
        const rows = (raw.prepare('SELECT COUNT(*) AS n FROM kine').get() as { n: number }).n;
        // Revisions target..121: the row at the target survives as /auto/k's value at the target.
        assert.equal(rows, 51);
      } finally {
        raw.close();
      }
    } finally {
      await s.close();
      assert.equal(clock.pending(), 0, 'close stops the timer');
      cleanup();
    }
  });

  it('compacts on its own after a burst of writes, without waiting for the timer', async () => {
    const { path, cleanup } = tempDb();
    const s = SqliteStore.open(path, { compactRetain: 20, compactIntervalMs: 0, compactBatch: 10 });
    try {
      let kv = await s.create('/burst/k', '0');
      for (let i = 1; i < 60; i++) kv = await s.update('/burst/k', String(i), kv.modRevision);
      for (let i = 0; i < 200 && (await s.compactedRevision()) === 0; i++) await new Promise((r) => setTimeout(r, 2));
      const compacted = await s.compactedRevision();
      assert.ok(compacted > 0 && compacted <= 60 - 20, `compacted to ${compacted}`);
      assert.equal((await s.get('/burst/k'))?.value, '59');
    } finally {
      await s.close();
      cleanup();
    }
  });

  it('keeps the file bounded under churn', async () => {
    const { path, cleanup } = tempDb();
    const s = SqliteStore.open(path, { compactRetain: 100, compactIntervalMs: 0 });
    const big = JSON.stringify({ data: 'x'.repeat(4000) });
    try {
      for (let i = 0; i < 300; i++) await s.create(`/churn/${i}`, big);
      for (let i = 0; i < 300; i++) await s.delete(`/churn/${i}`);
      const fileSize = () => statSync(path).size + statSync(`${path}-wal`).size;
      const peak = fileSize();
      await s.maintain();
      assert.equal(statSync(`${path}-wal`).size, 0, 'WAL truncated');
      // Only the last 100 revisions remain: tombstones carrying one 4 kB value (two pages) each.
      const size = fileSize();
      assert.ok(size < 1_200_000 && size < peak / 4, `file is ${size} bytes after compaction and vacuum (peak ${peak})`);
      assert.equal(await s.count('/churn/'), 0);
    } finally {
      await s.close();
      cleanup();
    }
  });

  it('pages through many keys created one after another (throughput is bench/store-throughput)', async () => {
    const { path, cleanup } = tempDb();
    const s = SqliteStore.open(path);
    try {
      const value = JSON.stringify({ kind: 'Pod', metadata: { name: 'p', namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } });
      for (let r = 0; r < 2; r++) {
        for (let i = 0; i < 2000; i++) await s.create(`/registry/pods/default/p-${r}-${i}`, value);
      }
      assert.equal(await s.count('/registry/pods/default/'), 4000);
      const page = await s.list('/registry/pods/default/', { limit: 500, startAfter: '/registry/pods/default/p-0-5' });
      assert.equal(page.items.length, 500);
      assert.equal(page.more, true);
      assert.ok(page.items.every((kv) => kv.key > '/registry/pods/default/p-0-5'), 'the page starts after the given key');
    } finally {
      await s.close();
      cleanup();
    }
  });
});
