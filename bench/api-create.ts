/**
 * api-create: 32 concurrent keep-alive HTTPS clients create 20,000 pods against `skiff server`;
 * then the server is killed with SIGKILL, restarted, and every acknowledged pod must be there.
 * Prints {"bench":"api-create", creates_per_s, p50_ms, p99_ms, durable, ...}.
 */
import { startCluster } from '../test/support/cluster.js';
import { LoadClient, percentile, pool, podManifest, round } from './support.js';

const TOTAL = Number(process.env.PODS ?? 20_000);
const CONCURRENCY = 32;

const c = await startCluster();
try {
  const client = new LoadClient(c.kubeconfig, CONCURRENCY);
  // Warm up TLS sessions and code paths.
  await pool(200, CONCURRENCY, async (i) => {
    await client.request('POST', '/api/v1/namespaces/default/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `warm-${i}` } });
  });
  const lat: number[] = [];
  let failures = 0;
  const t0 = performance.now();
  await pool(TOTAL, CONCURRENCY, async (i) => {
    const s = performance.now();
    const r = await client.request('POST', '/api/v1/namespaces/default/pods', podManifest(`p-${i}`));
    lat.push(performance.now() - s);
    if (r.status !== 201) failures++;
  });
  const secs = (performance.now() - t0) / 1000;
  client.close();
  lat.sort((a, b) => a - b);
  await c.stop('SIGKILL');
  const again = await startCluster({ dataDir: c.dataDir });
  const check = new LoadClient(again.kubeconfig, 1);
  const list = JSON.parse((await check.request('GET', '/api/v1/namespaces/default/pods')).body);
  check.close();
  await again.stop();
  console.log(
    JSON.stringify({
      bench: 'api-create',
      pods: TOTAL,
      concurrency: CONCURRENCY,
      creates_per_s: round(TOTAL / secs),
      p50_ms: round(percentile(lat, 50), 2),
      p99_ms: round(percentile(lat, 99), 2),
      failures,
      after_kill9_present: list.items.length,
      durable: list.items.length === TOTAL - failures,
    }),
  );
} finally {
  await c.destroy();
}
