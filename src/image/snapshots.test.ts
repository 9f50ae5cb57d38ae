import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256Digest } from './oci.js';
import { SnapshotStore } from './snapshots.js';

/** Runs `body` with a SnapshotStore in a temp dir that is removed afterwards. */
async function withSnapshots(body: (snaps: SnapshotStore) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-snap-test-'));
  try {
    await body(new SnapshotStore(join(dir, 'snapshots')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('install fills a snapshot once; two installers of the same layer both succeed', async () => {
  await withSnapshots(async (snaps) => {
    const diffId = sha256Digest('layer');
    let fills = 0;
    const fill = (text: string) => async (fsDir: string) => {
      fills++;
      mkdirSync(fsDir);
      writeFileSync(join(fsDir, 'f'), text);
    };
    const [a, b] = await Promise.all([snaps.install(diffId, fill('one')), snaps.install(diffId, fill('two'))]);
    assert.equal(a, snaps.path(diffId));
    assert.equal(b, a);
    assert.match(readFileSync(join(a, 'f'), 'utf8'), /^(one|two)$/);
    assert.equal(await snaps.install(diffId, fill('three')), a);
    assert.equal(fills, 2, 'an existing snapshot is not filled again');
    assert.deepEqual(readdirSync(snaps.dir), [diffId.slice(7)], 'no temp dirs left');
  });
});

test('a failed fill leaves nothing behind', async () => {
  await withSnapshots(async (snaps) => {
    await assert.rejects(snaps.install(sha256Digest('x'), async () => { throw new Error('corrupt'); }), /corrupt/);
    assert.deepEqual(readdirSync(snaps.dir), []);
  });
});

test('pruneExcept keeps listed diffIDs and snapshot dirs in use', async () => {
  await withSnapshots(async (snaps) => {
    const ids = ['a', 'b', 'c'].map((s) => sha256Digest(s));
    for (const id of ids) await snaps.install(id, async (fs) => mkdirSync(fs));
    const removed = await snaps.pruneExcept([ids[0]!], [snaps.path(ids[1]!)]);
    assert.deepEqual(removed, [ids[2]!.slice(7)]);
    assert.ok(existsSync(snaps.path(ids[0]!)) && existsSync(snaps.path(ids[1]!)) && !existsSync(snaps.path(ids[2]!)));
  });
});
