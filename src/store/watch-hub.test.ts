import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StoreError, type WatchEvent } from './types.js';
import { WatchHub, type HistorySource } from './watch-hub.js';

/** A log whose history reads are slow (async, paged) so live writes land mid-replay. */
function fakeLog() {
  const log: WatchEvent[] = [];
  let compacted = 0;
  let reads = 0;
  const source: HistorySource = {
    currentRevision: () => log.length,
    compactedRevision: () => compacted,
    async readHistory(prefix, after, upTo, limit) {
      reads++;
      await new Promise((r) => setTimeout(r, 2));
      if (after < compacted) throw new StoreError('Compacted', `compacted at ${compacted}`, undefined, compacted);
      return log.filter((e) => e.modRevision > after && e.modRevision <= upTo && e.key.startsWith(prefix)).slice(0, limit);
    },
  };
  const hub = new WatchHub(source, { replayPageSize: 3 });
  const write = (key: string) => {
    const ev: WatchEvent = { type: 'PUT', key, value: `v${log.length + 1}`, modRevision: log.length + 1, createRevision: log.length + 1 };
    log.push(ev);
    hub.publish([ev]);
  };
  return { hub, write, log, compactTo: (r: number) => (compacted = r), reads: () => reads };
}

const until = async (pred: () => boolean) => {
  for (let i = 0; i < 1000 && !pred(); i++) await new Promise((r) => setTimeout(r, 2));
  assert.ok(pred(), 'condition not met in time');
};

describe('WatchHub', () => {
  it('replays in pages while live writes arrive, then continues live without gap or duplicate', async () => {
    const { hub, write, reads } = fakeLog();
    for (let i = 0; i < 20; i++) write(i % 2 ? '/a/x' : '/b/y');
    const got: number[] = [];
    hub.watch('/a/', 4, { onEvents: (evs) => got.push(...evs.map((e) => e.modRevision)) });
    // Writes during the replay (each page read takes a few ms).
    for (let i = 0; i < 10; i++) {
      write('/a/x');
      await new Promise((r) => setTimeout(r, 1));
    }
    await until(() => got.length === 8 + 10);
    const want = [6, 8, 10, 12, 14, 16, 18, 20, ...Array.from({ length: 10 }, (_, i) => 21 + i)];
    assert.deepEqual(got, want);
    assert.ok(reads() >= 3, 'history was read in several pages');
    write('/a/z');
    await until(() => got.length === 19);
    assert.equal(got.at(-1), 31);
  });

  it('fails the watch when history is compacted during the replay', async () => {
    const { hub, write, compactTo } = fakeLog();
    for (let i = 0; i < 12; i++) write('/a/x');
    const errors: StoreError[] = [];
    const got: number[] = [];
    hub.watch('/a/', 0, { onEvents: (evs) => got.push(...evs.map((e) => e.modRevision)), onError: (e) => errors.push(e) });
    compactTo(2); // lands while the replay is still reading history from revision 0
    await until(() => errors.length === 1);
    assert.equal(errors[0].code, 'Compacted');
    const seen = got.length;
    write('/a/x');
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(got.length, seen, 'nothing after the error');
    assert.equal(hub.size, 0);
  });

  it('ends a watch whose handler throws, without disturbing other watchers', async () => {
    const { hub, write } = fakeLog();
    const errors: StoreError[] = [];
    const good: number[] = [];
    hub.watch('/', 0, { onEvents: () => { throw new Error('boom'); }, onError: (e) => errors.push(e) });
    hub.watch('/', 0, { onEvents: (evs) => good.push(...evs.map((e) => e.modRevision)) });
    write('/a');
    write('/b');
    await until(() => good.length === 2);
    assert.equal(errors.length, 1);
    assert.match(errors[0].message, /handler threw: boom/);
    assert.equal(hub.size, 1);
    hub.close();
    assert.equal(hub.size, 0);
  });
});
