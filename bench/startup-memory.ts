/**
 * startup-memory: `skiff server --no-controllers` from spawn to its "ready" line, with an empty
 * data dir and with 10,000 pods stored (several starts each, median), and RSS (/proc/PID/status)
 * after ~2 s idle in both cases.
 * Env/args: PODS (10000), STARTS (3), SETTLE_MS (2000).
 * Prints {"bench":"startup-memory", empty_ready_ms, pods_ready_ms, empty_rss_mb, pods_rss_mb, ...}.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LoadClient, createPods, ensureDefaultServiceAccount, intArg, killAndWait, log, podManifest, rssMb, sleep, spawnServer, round } from './support.js';

const PODS = intArg('PODS', 10_000);
const STARTS = intArg('STARTS', 3);
const SETTLE_MS = intArg('SETTLE_MS', 2000);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ARGS = ['--no-controllers', '--name', 'bstartmem'];

/** Starts the server STARTS times on dataDir; returns median times and the RSS of the last start after settling. */
async function starts(dataDir: string, fresh: boolean, whileUp?: (kubeconfig: string) => Promise<void>) {
  const wall: number[] = [];
  const self: number[] = [];
  let rss = NaN;
  for (let i = 0; i < STARTS; i++) {
    const dir = fresh ? mkdtempSync(join(tmpdir(), 'skiff-bench-sm-')) : dataDir;
    const s = spawnServer(dir, ARGS);
    try {
      const r = await s.ready;
      wall.push(r.wallMs);
      self.push(r.selfMs);
      if (i === STARTS - 1) {
        await sleep(SETTLE_MS);
        rss = rssMb(s.proc.pid!);
        if (whileUp) await whileUp(join(dir, 'kubeconfig'));
      }
    } finally {
      await killAndWait(s.proc);
      if (fresh) rmSync(dir, { recursive: true, force: true });
    }
  }
  return { ready_ms: round(median(wall)), self_reported_ms: round(median(self)), all_ms: wall.map((x) => round(x)), rss_mb: rss };
}

const dataDir = mkdtempSync(join(tmpdir(), 'skiff-bench-sm-'));
try {
  log('empty data dir starts');
  // First start: creates the CA, certificates and tokens as well.
  const fresh = await starts(dataDir, true);
  // Restart with an empty store: what `skiff server` costs every time after the first.
  const emptyDir = mkdtempSync(join(tmpdir(), 'skiff-bench-sm-'));
  const empty = await starts(emptyDir, false);
  rmSync(emptyDir, { recursive: true, force: true });
  // Populate: first start on dataDir creates the PKI; fill it with pods.
  log(`storing ${PODS} pods`);
  const s = spawnServer(dataDir, ARGS);
  let rssLoaded = NaN;
  try {
    await s.ready;
    const client = new LoadClient(join(dataDir, 'kubeconfig'), 32);
    await ensureDefaultServiceAccount(client);
    await createPods(client, PODS, 32, (i) => podManifest(`p-${i}`));
    client.close();
    await sleep(SETTLE_MS);
    rssLoaded = rssMb(s.proc.pid!);
  } finally {
    await killAndWait(s.proc);
  }
  log('starts with pods stored');
  let listOk = false;
  const withPods = await starts(dataDir, false, async (kc) => {
    const client = new LoadClient(kc, 1);
    const r = await client.request('GET', '/api/v1/namespaces/default/pods?limit=1');
    listOk = r.status === 200;
    client.close();
  });
  console.log(
    JSON.stringify({
      bench: 'startup-memory',
      pods: PODS,
      empty_ready_ms: empty.ready_ms,
      first_start_with_pki_ms: fresh.ready_ms,
      pods_ready_ms: withPods.ready_ms,
      empty_rss_mb: empty.rss_mb,
      pods_rss_mb: withPods.rss_mb,
      rss_after_creating_pods_mb: rssLoaded,
      empty,
      first_start: fresh,
      with_pods: withPods,
      serving_after_restart: listOk,
      targets: { empty_ready_ms: 300, pods_ready_ms: 1000, empty_rss_mb: 80, pods_rss_mb: 250 },
    }),
  );
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
process.exit(0);
