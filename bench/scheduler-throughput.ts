/**
 * scheduler-throughput: `skiff server` (scheduler + controllers) and `skiff sim --nodes N` in a
 * separate process; 32 clients create PODS bare pods (10m cpu); time from the first create to
 * the last bind (observed through a pod watch). Scenarios (SCENARIOS, comma separated):
 *   plain5k   — 5,000 nodes, plain pods
 *   plain1k   — 1,000 nodes, plain pods
 *   affinity  — 5,000 nodes, pods in groups of 100 (label group=i%G) with required pod
 *               anti-affinity on hostname within the group and a zone topology spread
 *               constraint (maxSkew 1, DoNotSchedule) within the group
 * Env/args: SERVER_ARGS (extra `skiff server` flags, e.g. `--disable-controllers timeline`), SCENARIOS (plain5k,plain1k,affinity), PODS (10000), NODES_LARGE (5000), NODES_SMALL (1000), GROUP (100).
 * Prints {"bench":"scheduler-throughput", <scenario>: {pods_per_s, ...}, ...}.
 */
import { startCluster } from '../test/support/cluster.js';
import { LoadClient, createPods, intArg, log, round, sleep, startSimProcess, trackPods } from './support.js';

const PODS = intArg('PODS', 10_000);
const LARGE = intArg('NODES_LARGE', 5000);
const SMALL = intArg('NODES_SMALL', 1000);
const GROUP = intArg('GROUP', 100);
const scenarios = (process.env.SCENARIOS ?? 'plain5k,plain1k,affinity').split(',').filter(Boolean);

function pod(i: number, affinity: boolean): unknown {
  const labels: Record<string, string> = { app: 'sched-bench' };
  const spec: Record<string, unknown> = {
    containers: [{ name: 'main', image: 'busybox:1.36', resources: { requests: { cpu: '10m', memory: '16Mi' } } }],
  };
  if (affinity) {
    const g = String(i % Math.max(1, Math.ceil(PODS / GROUP)));
    labels.group = g;
    spec.affinity = { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { group: g } }, topologyKey: 'kubernetes.io/hostname' }] } };
    spec.topologySpreadConstraints = [{ maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { group: g } } }];
  }
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: `p-${i}`, labels }, spec };
}

async function run(name: string, nodes: number, affinity: boolean): Promise<Record<string, unknown>> {
  const c = await startCluster({ args: ['--name', `bsched${name}`, '--registry-port', 'off', ...(process.env.SERVER_ARGS?.split(' ').filter(Boolean) ?? [])] });
  let sim: Awaited<ReturnType<typeof startSimProcess>> | undefined;
  try {
    sim = await startSimProcess(c.kubeconfig, ['--nodes', String(nodes), '--prefix', `s${name}-`, '--pods', '110']);
    log(`${name}: ${nodes} sim nodes ready in ${round(sim.readyMs / 1000)} s`);
    const client = new LoadClient(c.kubeconfig, 32);
    // The serviceaccount controller creates "default" shortly after start.
    for (let i = 0; i < 100 && (await client.request('GET', '/api/v1/namespaces/default/serviceaccounts/default')).status !== 200; i++) await sleep(100);
    const rv = JSON.parse((await client.request('GET', '/api/v1/namespaces/default/pods?limit=1')).body).metadata.resourceVersion;
    const tr = trackPods(client, rv);
    await tr.ready;
    const { t0, failures } = await createPods(client, PODS, 32, (i) => pod(i, affinity));
    const createSecs = (performance.now() - t0) / 1000;
    const deadline = performance.now() + 150_000;
    while (tr.bound.size < PODS - failures && performance.now() < deadline) await sleep(50);
    const last = Math.max(...tr.bound.values());
    const secs = (last - t0) / 1000;
    tr.close();
    client.close();
    const res = {
      nodes,
      pods: PODS,
      create_failures: failures,
      bound: tr.bound.size,
      creates_per_s: round(PODS / createSecs),
      seconds: round(secs, 2),
      pods_per_s: round(tr.bound.size / secs),
      sim_ready_s: round(sim.readyMs / 1000, 1),
    };
    log(`${name}: ${JSON.stringify(res)}`);
    return res;
  } catch (err) {
    log(c.output().slice(-2000));
    throw err;
  } finally {
    await sim?.stop();
    await c.destroy();
  }
}

const out: Record<string, unknown> = { bench: 'scheduler-throughput', target_pods_per_s: 1500 };
for (const s of scenarios) {
  if (s === 'plain5k') out.plain_5k_nodes = await run('a', LARGE, false);
  else if (s === 'plain1k') out.plain_1k_nodes = await run('b', SMALL, false);
  else if (s === 'affinity') out.affinity_spread_5k_nodes = await run('c', LARGE, true);
  else throw new Error(`unknown scenario ${s}`);
}
console.log(JSON.stringify(out));
process.exit(0);
