/**
 * durability: TRIALS times, `skiff server --no-controllers` runs under write load (16 concurrent
 * creators of pods, each name unique), gets `kill -9` at a random moment, restarts on the same
 * data dir; every write acknowledged with 201 before the kill must be readable afterwards.
 * Env/args: TRIALS (20), CREATORS (16), MIN_MS (300), MAX_MS (1500).
 * Prints {"bench":"durability", trials, acknowledged, missing, ...}; missing must be 0.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LoadClient, ensureDefaultServiceAccount, intArg, killAndWait, log, podManifest, sleep, spawnServer } from './support.js';

const TRIALS = intArg('TRIALS', 20);
const CREATORS = intArg('CREATORS', 16);
const MIN_MS = intArg('MIN_MS', 300);
const MAX_MS = intArg('MAX_MS', 1500);
const ARGS = ['--no-controllers', '--name', 'bdurable'];

const dataDir = mkdtempSync(join(tmpdir(), 'skiff-bench-dur-'));
const acked = new Set<string>();
let attempted = 0;
let missing = 0;
const missingNames: string[] = [];
const perTrial: { acked: number; missing: number; killAfterMs: number }[] = [];
try {
  for (let t = 0; t < TRIALS; t++) {
    const s = spawnServer(dataDir, ARGS);
    await s.ready;
    const client = new LoadClient(join(dataDir, 'kubeconfig'), CREATORS);
    if (t === 0) await ensureDefaultServiceAccount(client);
    // Verify everything acknowledged so far (in earlier trials) is still there.
    const list = JSON.parse((await client.request('GET', '/api/v1/namespaces/default/pods')).body) as { items: { metadata: { name: string } }[] };
    const present = new Set(list.items.map((p) => p.metadata.name));
    let m = 0;
    for (const name of acked) if (!present.has(name)) { m++; if (missingNames.length < 10) missingNames.push(name); }
    missing += m;
    if (t > 0) perTrial[t - 1].missing = m;
    // Write load, then kill -9 at a random moment.
    const before = acked.size;
    let stop = false;
    const killAfter = MIN_MS + Math.floor(Math.random() * (MAX_MS - MIN_MS));
    const creators = Array.from({ length: CREATORS }, async (_, k) => {
      for (let n = 0; !stop && n < 100_000; n++) {
        const name = `t${t}-c${k}-${n}`;
        attempted++;
        try {
          const r = await client.request('POST', '/api/v1/namespaces/default/pods', podManifest(name));
          if (r.status === 201) acked.add(name);
        } catch {
          return; // connection died with the server
        }
      }
    });
    await sleep(killAfter);
    await killAndWait(s.proc, 'SIGKILL');
    stop = true;
    await Promise.all(creators);
    client.close();
    perTrial.push({ acked: acked.size - before, missing: 0, killAfterMs: killAfter });
    log(`trial ${t + 1}/${TRIALS}: ${acked.size - before} acknowledged before kill -9 at ${killAfter} ms; missing from earlier trial: ${m}`);
  }
  // Final check after the last kill.
  const s = spawnServer(dataDir, ARGS);
  await s.ready;
  const client = new LoadClient(join(dataDir, 'kubeconfig'), 1);
  const list = JSON.parse((await client.request('GET', '/api/v1/namespaces/default/pods')).body) as { items: { metadata: { name: string } }[] };
  client.close();
  await killAndWait(s.proc);
  const present = new Set(list.items.map((p) => p.metadata.name));
  let m = 0;
  for (const name of acked) if (!present.has(name)) { m++; if (missingNames.length < 10) missingNames.push(name); }
  missing += m;
  perTrial[TRIALS - 1].missing = m;
  console.log(
    JSON.stringify({
      bench: 'durability',
      trials: TRIALS,
      creators: CREATORS,
      attempted,
      acknowledged: acked.size,
      stored_after_last_restart: list.items.length,
      missing,
      missing_examples: missingNames,
      trials_with_loss: perTrial.filter((p) => p.missing > 0).length,
      ok: missing === 0,
    }),
  );
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
process.exit(0);
