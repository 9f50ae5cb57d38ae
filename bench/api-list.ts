/**
 * api-list: `skiff server --no-controllers` with 10,000 pods stored; lists them as JSON and as a
 * Table (kubectl's Accept header), several runs each, reporting the median (and min/max) wall
 * time of the whole request (to the last byte) and the body size.
 * Env/args: PODS (10000), RUNS (7).
 * Prints {"bench":"api-list", json_median_ms, table_median_ms, ...}.
 */
import { startCluster } from '../test/support/cluster.js';
import { LoadClient, createPods, ensureDefaultServiceAccount, intArg, log, podManifest, round } from './support.js';

const PODS = intArg('PODS', 10_000);
const RUNS = intArg('RUNS', 7);
const TABLE_ACCEPT = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const c = await startCluster({ args: ['--name', 'bapilist', '--no-controllers', '--registry-port', 'off'] });
try {
  const client = new LoadClient(c.kubeconfig, 32);
  await ensureDefaultServiceAccount(client);
  log(`creating ${PODS} pods`);
  const { failures } = await createPods(client, PODS, 32, (i) => podManifest(`p-${i}`));
  const measure = async (accept: string, path: string) => {
    const times: number[] = [];
    let bytes = 0;
    let items = 0;
    for (let r = 0; r < RUNS + 1; r++) {
      const t = performance.now();
      const res = await client.request('GET', path, undefined, { accept });
      const ms = performance.now() - t;
      if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${res.body.slice(0, 300)}`);
      bytes = res.body.length;
      const parsed = JSON.parse(res.body);
      items = (parsed.items ?? parsed.rows).length;
      if (r > 0) times.push(ms); // the first run warms caches and code paths
    }
    return { median_ms: round(median(times)), min_ms: round(Math.min(...times)), max_ms: round(Math.max(...times)), mb: round(bytes / 1e6, 2), items };
  };
  log('listing');
  const json = await measure('application/json', '/api/v1/namespaces/default/pods');
  const table = await measure(TABLE_ACCEPT, '/api/v1/namespaces/default/pods');
  const jsonAll = await measure('application/json', '/api/v1/pods');
  const tableLimit = await measure(TABLE_ACCEPT, '/api/v1/namespaces/default/pods?limit=500');
  client.close();
  console.log(
    JSON.stringify({
      bench: 'api-list',
      pods: PODS,
      create_failures: failures,
      runs: RUNS,
      json_median_ms: json.median_ms,
      table_median_ms: table.median_ms,
      json,
      table,
      json_all_namespaces: jsonAll,
      table_limit_500: tableLimit,
      target_json_ms: 100,
      target_table_ms: 150,
    }),
  );
} finally {
  await c.destroy();
}
process.exit(0);
