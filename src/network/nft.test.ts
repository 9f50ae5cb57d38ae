import { test } from 'node:test';
import assert from 'node:assert/strict';
import { run } from '../util/exec.js';
import { nftLibraryLoaded, runNft } from './nft.js';
import { rootOnly } from '../../test/support/root.js';

const table = `skiff-nfttest-${process.pid}`;

async function listTable(): Promise<string | undefined> {
  const r = await run('nft', ['list', 'table', 'ip', table]);
  return r.code === 0 ? r.stdout.toString() : undefined;
}

test('nft transactions run in this process, atomically, with nft’s error text', rootOnly, async (t) => {
  t.after(() => run('nft', ['delete', 'table', 'ip', table]));
  assert.equal(nftLibraryLoaded(), true, 'libnftables.so.1 should load through koffi (package nftables installs it)');
  await runNft(`add table ip ${table}\nadd chain ip ${table} c\nadd map ip ${table} m { type ipv4_addr : verdict; }\n`);
  assert.match((await listTable()) ?? '', /chain c/);

  // One bad line: nothing of the script is applied, and the error names the problem.
  await assert.rejects(runNft(`add chain ip ${table} d\nadd rule ip ${table} nosuchchain accept\n`), /nft: Error: Could not process rule: No such file or directory/);
  assert.doesNotMatch((await listTable()) ?? '', /chain d/);

  // Concurrent callers are serialized on the one context, and each sees its own result.
  const results = await Promise.allSettled([
    runNft(`add chain ip ${table} e\n`),
    runNft(`add rule ip ${table} missing accept\n`),
    runNft(`add chain ip ${table} f\n`),
  ]);
  assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
  assert.match((await listTable()) ?? '', /chain e[\s\S]*chain f|chain f[\s\S]*chain e/);
});
