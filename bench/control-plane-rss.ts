/**
 * control-plane-rss: RSS of `skiff server` and of `skiff sim` (separate processes) with 5,000
 * simulated nodes and 10,000 pods bound and running, after ~2 s settling (/proc/PID/status).
 * Env/args: NODES (5000), PODS (10000), SETTLE_MS (2000).
 * Prints {"bench":"control-plane-rss", server_rss_mb, sim_rss_mb, total_rss_mb, ...}.
 */
import { startCluster } from '../test/support/cluster.js';
import { LoadClient, createPods, intArg, log, podManifest, round, rssMb, sleep, startSimProcess, trackPods } from './support.js';

const NODES = intArg('NODES', 5000);
const PODS = intArg('PODS', 10_000);
const SETTLE_MS = intArg('SETTLE_MS', 2000);

const c = await startCluster({ args: ['--name', 'bcprss', '--registry-port', 'off'] });
let sim: Awaited<ReturnType<typeof startSimProcess>> | undefined;
try {
  const idleServer = rssMb(c.proc.pid!);
  sim = await startSimProcess(c.kubeconfig, ['--nodes', String(NODES), '--prefix', 'rss-']);
  log(`${NODES} sim nodes ready in ${round(sim.readyMs / 1000)} s`);
  await sleep(SETTLE_MS);
  const nodesOnly = { server: rssMb(c.proc.pid!), sim: rssMb(sim.proc.pid!) };
  const client = new LoadClient(c.kubeconfig, 32);
  for (let i = 0; i < 100 && (await client.request('GET', '/api/v1/namespaces/default/serviceaccounts/default')).status !== 200; i++) await sleep(100);
  const rv = JSON.parse((await client.request('GET', '/api/v1/namespaces/default/pods?limit=1')).body).metadata.resourceVersion;
  const tr = trackPods(client, rv);
  await tr.ready;
  const { failures } = await createPods(client, PODS, 32, (i) => podManifest(`p-${i}`));
  const deadline = Date.now() + 150_000;
  while (tr.running.size < PODS - failures && Date.now() < deadline) await sleep(100);
  tr.close();
  client.close();
  await sleep(SETTLE_MS);
  const server = rssMb(c.proc.pid!);
  const simRss = rssMb(sim.proc.pid!);
  console.log(
    JSON.stringify({
      bench: 'control-plane-rss',
      nodes: NODES,
      pods: PODS,
      running: tr.running.size,
      server_rss_mb: server,
      sim_rss_mb: simRss,
      total_rss_mb: round(server + simRss),
      server_idle_rss_mb: idleServer,
      with_nodes_only: nodesOnly,
      target_total_mb: 500,
    }),
  );
} catch (err) {
  log(c.output().slice(-2000));
  throw err;
} finally {
  await sim?.stop();
  await c.destroy();
}
process.exit(0);
