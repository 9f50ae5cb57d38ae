/**
 * up-to-ready (root): `skiff up` on an existing data dir (already initialised by a first up and a
 * clean stop) to node Ready: time from spawn to the "node … ready" line, and to
 * status.conditions Ready=True observed through the API (polled every 10 ms from the moment
 * the API server is ready). Several restarts, median.
 * Env/args: RESTARTS (5).
 * Prints {"bench":"up-to-ready", ready_line_ms, api_ready_ms, ...}.
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { SKIFF_MAIN } from '../test/support/cluster.js';
import { LoadClient, intArg, killAndWait, log, prepareUpDataDir, resetNode, round, sleep, startUp } from './support.js';

const RESTARTS = intArg('RESTARTS', 5);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const dataDir = await prepareUpDataDir();
// First start initialises PKI, store and node; then a clean stop.
const first = await startUp('ur', 93, { dataDir });
const name = first.name;
const pkiArgs = ['--name', name, '--node-name', name, '--pod-cidr', '10.93.0.0/24', '--service-cidr', '10.153.0.0/16', '--agent-port', '0', '--registry-port', '0', '--lb-pool', `127.${100 + (process.pid % 100)}.7.0/24`];
first.client.close();
await killAndWait(first.c.proc);
const lineMs: number[] = [];
const apiMs: number[] = [];
const serverMs: number[] = [];
try {
  for (let r = 0; r < RESTARTS; r++) {
    const t0 = performance.now();
    const proc = spawn(process.execPath, [SKIFF_MAIN, 'up', '--data-dir', dataDir, '--port', '0', ...pkiArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let server: string | undefined;
    let tLine = NaN;
    let tServer = NaN;
    proc.stdout!.on('data', (d) => {
      out += d;
      const m = /ready at (https:\/\/\S+)/.exec(out);
      if (m && !server) { server = m[1]; tServer = performance.now() - t0; }
      if (Number.isNaN(tLine) && /node \S+ ready in/.test(out)) tLine = performance.now() - t0;
    });
    proc.stderr!.on('data', (d) => (out += d));
    try {
      const deadline = performance.now() + 30_000;
      while (!server && performance.now() < deadline) await sleep(2);
      if (!server) throw new Error(`no API server:\n${out}`);
      const client = new LoadClient(join(dataDir, 'kubeconfig'), 2);
      let tApi = NaN;
      // A restarted node may still carry Ready=True from before; wait for a heartbeat newer than this start.
      const since = Date.now() - (performance.now() - t0);
      while (performance.now() < deadline) {
        const res = await client.request('GET', `/api/v1/nodes/${name}`).catch(() => undefined);
        if (res?.status === 200) {
          const cond = (JSON.parse(res.body).status?.conditions ?? []).find((x: { type: string }) => x.type === 'Ready');
          if (cond?.status === 'True' && Date.parse(cond.lastHeartbeatTime) >= Math.floor(since / 1000) * 1000) { tApi = performance.now() - t0; break; }
        }
        await sleep(10);
      }
      client.close();
      while (Number.isNaN(tLine) && performance.now() < deadline) await sleep(5);
      if (/node did not start/.test(out)) log(`restart ${r}: ${/the node did not start.*/.exec(out)?.[0]}`);
      lineMs.push(tLine);
      apiMs.push(tApi);
      serverMs.push(tServer);
      log(`restart ${r + 1}: API ${round(tServer)} ms, node line ${round(tLine)} ms, Ready via API ${round(tApi)} ms`);
    } finally {
      await killAndWait(proc);
    }
  }
  console.log(
    JSON.stringify({
      bench: 'up-to-ready',
      restarts: RESTARTS,
      api_server_ready_ms: round(median(serverMs)),
      ready_line_ms: round(median(lineMs)),
      api_ready_ms: round(median(apiMs)),
      all_ready_line_ms: lineMs.map((x) => round(x)),
      all_api_ready_ms: apiMs.map((x) => round(x)),
      note: 'times from spawn of the process (includes Node start and module loading)',
      target_ms: 1000,
    }),
  );
} finally {
  resetNode(dataDir);
  rmSync(dataDir, { recursive: true, force: true });
}
process.exit(0);
