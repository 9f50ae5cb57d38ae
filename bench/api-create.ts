/**
 * api-create: 32 concurrent keep-alive HTTPS clients create 20,000 pods against `skiff server`
 * (with --no-controllers by default so only the API server works; CONTROLLERS=1 keeps them);
 * then the server is killed with SIGKILL, restarted, and every acknowledged pod must be there.
 * The ceiling: the same client against a bare node:https echo server (same certificate) that
 * reads the body and answers 201 with it.
 * Env/args: PODS (20000), CONCURRENCY (32), ECHO_REQUESTS (20000), CONTROLLERS (0).
 * Prints {"bench":"api-create", creates_per_s, p50_ms, p99_ms, durable, echo_req_per_s, ...}.
 */
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { startCluster } from '../test/support/cluster.js';
import { LoadClient, ensureDefaultServiceAccount, intArg, log, percentile, pool, podManifest, round } from './support.js';

const TOTAL = intArg('PODS', 20_000);
const CONCURRENCY = intArg('CONCURRENCY', 32);
const ECHO = intArg('ECHO_REQUESTS', 20_000);
const controllers = intArg('CONTROLLERS', 0) === 1;

async function load(client: LoadClient, total: number, path: string, body: (i: number) => unknown): Promise<{ secs: number; lat: number[]; ok: Set<number>; failures: number }> {
  const lat: number[] = [];
  const ok = new Set<number>();
  let failures = 0;
  const t0 = performance.now();
  await pool(total, CONCURRENCY, async (i) => {
    const s = performance.now();
    try {
      const r = await client.request('POST', path, body(i));
      lat.push(performance.now() - s);
      if (r.status === 201) ok.add(i);
      else if (++failures < 4) log(`POST ${i}: ${r.status} ${r.body.slice(0, 200)}`);
    } catch (err) {
      if (++failures < 4) log(`POST ${i}: ${(err as Error).message}`);
    }
  });
  const secs = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  return { secs, lat, ok, failures };
}

const c = await startCluster({ args: ['--name', 'bapicreate', ...(controllers ? [] : ['--no-controllers'])] });
let again: Awaited<ReturnType<typeof startCluster>> | undefined;
try {
  const client = new LoadClient(c.kubeconfig, CONCURRENCY);
  await ensureDefaultServiceAccount(client);
  // Warm up TLS sessions and code paths.
  await pool(200, CONCURRENCY, async (i) => {
    await client.request('POST', '/api/v1/namespaces/default/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `warm-${i}` } });
  });
  log(`creating ${TOTAL} pods with ${CONCURRENCY} clients`);
  const run = await load(client, TOTAL, '/api/v1/namespaces/default/pods', (i) => podManifest(`p-${i}`));
  client.close();
  log(`${round(TOTAL / run.secs)} creates/s; kill -9 and restart`);
  await c.stop('SIGKILL');
  again = await startCluster({ dataDir: c.dataDir, args: ['--name', 'bapicreate', '--no-controllers'] });
  const check = new LoadClient(again.kubeconfig, 1);
  const list = JSON.parse((await check.request('GET', '/api/v1/namespaces/default/pods')).body) as { items: { metadata: { name: string } }[] };
  check.close();
  await again.stop();
  const present = new Set(list.items.map((p) => p.metadata.name));
  let missing = 0;
  for (const i of run.ok) if (!present.has(`p-${i}`)) missing++;

  // The ceiling: a bare node https server with the same certificate and the same client.
  const pki = join(c.dataDir, 'pki');
  const echo = https.createServer({ cert: readFileSync(join(pki, 'apiserver.crt')), key: readFileSync(join(pki, 'apiserver.key')), keepAliveTimeout: 30_000 }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (d) => chunks.push(d));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      res.writeHead(201, { 'content-type': 'application/json', 'content-length': body.length });
      res.end(body);
    });
  });
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  const echoClient = new LoadClient({ server: `https://127.0.0.1:${(echo.address() as AddressInfo).port}`, caPem: readFileSync(join(pki, 'ca.crt'), 'utf8') }, CONCURRENCY);
  await load(echoClient, 500, '/', (i) => podManifest(`w-${i}`));
  log(`echo ceiling: ${ECHO} requests`);
  const e = await load(echoClient, ECHO, '/', (i) => podManifest(`p-${i}`));
  echoClient.close();
  echo.close();

  console.log(
    JSON.stringify({
      bench: 'api-create',
      pods: TOTAL,
      concurrency: CONCURRENCY,
      controllers,
      creates_per_s: round(TOTAL / run.secs),
      p50_ms: round(percentile(run.lat, 50), 2),
      p99_ms: round(percentile(run.lat, 99), 2),
      failures: run.failures,
      after_kill9_present: list.items.length,
      acknowledged_missing: missing,
      durable: missing === 0,
      echo_req_per_s: round(ECHO / e.secs),
      echo_p99_ms: round(percentile(e.lat, 99), 2),
      ratio_to_ceiling: round(TOTAL / run.secs / (ECHO / e.secs), 3),
    }),
  );
} catch (err) {
  log(c.output().slice(-3000));
  throw err;
} finally {
  await again?.destroy().catch(() => {});
  await c.destroy();
}
process.exit(0);
