/**
 * endpoint-propagation (root): a Service over two busybox httpd pods with a 1 s readiness probe
 * on /ready.html. Each trial deletes ready.html in pod A (kubectl exec) and measures from then:
 *   pod_not_ready_ms   — pod A's Ready condition turns False (probe failure → kubelet status)
 *   slice_ms           — the EndpointSlice marks A not ready (endpointslice controller)
 *   traffic_gone_ms    — probing the ClusterIP every few ms (new connection each) gets only
 *                        pod B from then on (skiff's own proxy has programmed nft)
 * then restores the file and waits for A to serve again.
 * Proxy-internal latency: an extra ServiceProxy in this process (same code, same API, its nft
 * rules applied inside a network namespace this bench creates) reports onSync latencyMs (first
 * change observed → nft programmed) for every sync: p50/p99.
 * Env/args: TRIALS (10).
 * Prints {"bench":"endpoint-propagation", proxy_sync_p99_ms, chain_p99_ms, ...}.
 */
import { execFile, spawnSync } from 'node:child_process';
import { clientFromKubeconfig } from '../src/client/rest.js';
import { ServiceProxy } from '../src/network/proxy.js';
import { httpdService, intArg, log, percentile, plainGet, round, sleep, startUp, waitFor } from './support.js';

const TRIALS = intArg('TRIALS', 10);
const ns = `skbep${process.pid % 10000}`;

const up = await startUp('ep', 95);
let proxy: ServiceProxy | undefined;
spawnSync('ip', ['netns', 'add', ns]);
try {
  const { client, c } = up;
  const { clusterIp, podIps } = await httpdService(client, 'ep', ['ep-a', 'ep-b']);
  log(`service ${clusterIp}: ${JSON.stringify(podIps)}`);
  const syncs: number[] = [];
  proxy = new ServiceProxy({
    client: clientFromKubeconfig(c.kubeconfig),
    tableName: 'skbenchep',
    serviceCidr: '10.155.0.0/16',
    setSysctls: false,
    debounceMs: 10,
    nft: (script) => new Promise<void>((resolve, reject) => {
      const child = execFile('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], (err, _o, e) => (err ? reject(new Error(e || err.message)) : resolve()));
      child.stdin!.end(script);
    }),
    onSync: (i) => syncs.push(i.latencyMs),
  });
  await proxy.start();
  await sleep(500);
  syncs.length = 0;
  const podReady = (name: string) => async () => {
    const o = JSON.parse((await client.request('GET', `/api/v1/namespaces/default/pods/${name}`)).body);
    return o.status?.conditions?.find((x: { type: string }) => x.type === 'Ready')?.status as string;
  };
  const sliceReady = async () => {
    const l = JSON.parse((await client.request('GET', '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Dep')).body);
    for (const s of l.items) for (const e of s.endpoints ?? []) if (e.addresses?.includes(podIps['ep-a'])) return e.conditions?.ready !== false;
    return false;
  };
  const res = { pod: [] as number[], slice: [] as number[], traffic: [] as number[] };
  for (let t = 0; t < TRIALS; t++) {
    const t0 = performance.now();
    const rm = c.kubectl(['exec', 'ep-a', '--', 'rm', '-f', '/www/ready.html']);
    if (rm.code !== 0) throw new Error(`kubectl exec: ${rm.stderr}`);
    let podT = NaN, sliceT = NaN, lastA = performance.now();
    // Poll all three signals until traffic has not reached A for 500 ms and both API signals are seen.
    const deadline = t0 + 20_000;
    const probes = Array.from({ length: 4 }, async () => {
      while (performance.now() < deadline && (Number.isNaN(podT) || Number.isNaN(sliceT) || performance.now() - lastA < 500)) {
        const body = await plainGet(clusterIp, 80, '/', 1000).catch(() => '');
        if (body.trim() === 'ep-a') lastA = performance.now();
        await sleep(2);
      }
    });
    const api = (async () => {
      while (performance.now() < deadline && (Number.isNaN(podT) || Number.isNaN(sliceT))) {
        if (Number.isNaN(podT) && (await podReady('ep-a')()) === 'False') podT = performance.now();
        if (Number.isNaN(sliceT) && !(await sliceReady())) sliceT = performance.now();
        await sleep(5);
      }
    })();
    await Promise.all([...probes, api]);
    res.pod.push(podT - t0);
    res.slice.push(sliceT - t0);
    res.traffic.push(lastA - t0);
    log(`trial ${t + 1}: pod NotReady ${round(podT - t0)} ms, slice ${round(sliceT - t0)} ms, last traffic to A ${round(lastA - t0)} ms`);
    c.kubectl(['exec', 'ep-a', '--', 'sh', '-c', 'echo ok > /www/ready.html']);
    await waitFor(async () => (await podReady('ep-a')()) === 'True' && (await sliceReady()), 20_000, 'ep-a Ready again', 50);
    await waitFor(async () => { for (let i = 0; i < 20; i++) if ((await plainGet(clusterIp, 80)).trim() === 'ep-a') return true; return false; }, 10_000, 'traffic to ep-a again');
  }
  const s = (xs: number[]) => [...xs].sort((a, b) => a - b);
  const sy = s(syncs);
  console.log(JSON.stringify({
    bench: 'endpoint-propagation',
    trials: TRIALS,
    proxy_syncs: sy.length,
    proxy_sync_p50_ms: round(percentile(sy, 50)),
    proxy_sync_p99_ms: round(percentile(sy, 99)),
    pod_not_ready_p50_ms: round(percentile(s(res.pod), 50)),
    slice_not_ready_p50_ms: round(percentile(s(res.slice), 50)),
    chain_p50_ms: round(percentile(s(res.traffic), 50)),
    chain_p99_ms: round(percentile(s(res.traffic), 99)),
    note: 'chain = from the readiness file removal (before kubectl exec) to the last response served by the removed pod; probe period 1 s',
  }));
} catch (err) {
  log(up.c.output().slice(-3000));
  throw err;
} finally {
  await proxy?.stop().catch(() => {});
  spawnSync('ip', ['netns', 'del', ns]);
  await up.cleanup();
}
process.exit(0);
