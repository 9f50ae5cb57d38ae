/**
 * rollout: `skiff server` + `skiff sim --nodes 1000`; a Deployment of 10,000 replicas goes to
 * Available (availableReplicas = replicas), then a full rolling update (new image, default
 * 25%/25% strategy) until every replica is updated and available and no old ones remain.
 * Env/args: REPLICAS (10000), NODES (1000), TIMEOUT_S (170 per phase).
 * Prints {"bench":"rollout", available_s, rolling_update_s, ...}.
 */
import { startCluster } from '../test/support/cluster.js';
import { LoadClient, intArg, log, round, sleep, startSimProcess } from './support.js';

const REPLICAS = intArg('REPLICAS', 10_000);
const NODES = intArg('NODES', 1000);
const TIMEOUT_S = intArg('TIMEOUT_S', 170);

interface DeployStatus { observedGeneration?: number; replicas?: number; updatedReplicas?: number; availableReplicas?: number; readyReplicas?: number }

const c = await startCluster({ args: ['--name', 'brollout', '--registry-port', 'off'] });
let sim: Awaited<ReturnType<typeof startSimProcess>> | undefined;
try {
  sim = await startSimProcess(c.kubeconfig, ['--nodes', String(NODES), '--prefix', 'ro-']);
  log(`${NODES} sim nodes ready in ${round(sim.readyMs / 1000)} s`);
  const client = new LoadClient(c.kubeconfig, 4);
  const path = '/apis/apps/v1/namespaces/default/deployments';
  const get = async () => JSON.parse((await client.request('GET', `${path}/web`)).body) as { metadata: { generation: number }; status?: DeployStatus };
  const timeouts: string[] = [];
  const waitDone = async (what: string) => {
    const t0 = performance.now();
    let last = '';
    while (performance.now() - t0 < TIMEOUT_S * 1000) {
      const d = await get();
      const s = d.status ?? {};
      const line = `${what}: replicas ${s.replicas} updated ${s.updatedReplicas} available ${s.availableReplicas}`;
      if (line !== last && Math.random() < 0.2) log(line);
      last = line;
      if ((s.observedGeneration ?? 0) >= d.metadata.generation && s.replicas === REPLICAS && s.updatedReplicas === REPLICAS && s.availableReplicas === REPLICAS) return (performance.now() - t0) / 1000;
      await sleep(200);
    }
    log(`${what} did not finish in ${TIMEOUT_S} s: ${last}`);
    timeouts.push(`${what}: ${last}`);
    return NaN;
  };
  const dep = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web' },
    spec: {
      replicas: REPLICAS,
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'busybox:1.36', resources: { requests: { cpu: '10m', memory: '16Mi' } } }] } },
    },
  };
  const t0 = performance.now();
  const r = await client.request('POST', path, dep);
  if (r.status !== 201) throw new Error(`create deployment: ${r.status} ${r.body}`);
  const available = await waitDone('create');
  log(`available after ${round(available, 2)} s; rolling update`);
  const t1 = performance.now();
  const p = await client.request('PATCH', `${path}/web`, { spec: { template: { spec: { containers: [{ name: 'web', image: 'busybox:1.37' }] } } } }, { 'content-type': 'application/strategic-merge-patch+json' });
  if (p.status !== 200) throw new Error(`patch: ${p.status} ${p.body}`);
  const updated = await waitDone('update');
  client.close();
  console.log(JSON.stringify({ bench: 'rollout', replicas: REPLICAS, nodes: NODES, available_s: round(available, 2), rolling_update_s: round(updated, 2), total_s: round((performance.now() - t0) / 1000, 2), update_started_after_s: round((t1 - t0) / 1000, 2), timeouts }));
} catch (err) {
  log(c.output().slice(-2000));
  throw err;
} finally {
  await sim?.stop();
  await c.destroy();
}
process.exit(0);
