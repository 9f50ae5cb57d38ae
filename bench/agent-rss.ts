/**
 * agent-rss (root, runc): RSS of the `skiff up` process idle (node Ready, no pods) and with PODS
 * running pods, after settling; the per-container shims/monitors (descendant processes other than
 * the pods' own `sleep`) are reported separately.
 * Env/args: PODS (100), SETTLE_MS (3000).
 * Prints {"bench":"agent-rss", idle_rss_mb, loaded_rss_mb, delta_mb, shims: {...}, ...}.
 */
import { BENCH_IMAGE, descendantsRss, intArg, log, pool, round, rssMb, sleep, startUp, waitFor } from './support.js';

const PODS = intArg('PODS', 100);
const SETTLE_MS = intArg('SETTLE_MS', 3000);

const up = await startUp('ar', 92);
try {
  const { client, c } = up;
  const pid = c.proc.pid!;
  await sleep(SETTLE_MS);
  const idle = rssMb(pid);
  const idleKids = descendantsRss(pid, /^(?!sleep)/);
  log(`idle ${idle} MB; creating ${PODS} pods`);
  await pool(PODS, 16, async (i) => {
    const r = await client.request('POST', '/api/v1/namespaces/default/pods', {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: `rss-${i}`, labels: { app: 'rss' } },
      spec: { terminationGracePeriodSeconds: 0, containers: [{ name: 'main', image: BENCH_IMAGE, command: ['sleep', '3600'] }] },
    });
    if (r.status !== 201) throw new Error(`create: ${r.status} ${r.body.slice(0, 300)}`);
  });
  const t0 = performance.now();
  await waitFor(async () => {
    const items = JSON.parse((await client.request('GET', '/api/v1/namespaces/default/pods?labelSelector=app%3Drss')).body).items as { status?: { phase?: string } }[];
    return items.filter((p) => p.status?.phase === 'Running').length >= PODS;
  }, 180_000, `${PODS} pods Running`, 500);
  const allRunningS = (performance.now() - t0) / 1000;
  await sleep(SETTLE_MS);
  const loaded = rssMb(pid);
  // Everything the agent spawned that is not a container's own process (runc/shim/monitor processes).
  const kids = descendantsRss(pid, /^(?!sleep)/);
  const containers = descendantsRss(pid, /^sleep/);
  await client.request('DELETE', '/api/v1/namespaces/default/pods?labelSelector=app%3Drss', { apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 0 });
  console.log(
    JSON.stringify({
      bench: 'agent-rss',
      pods: PODS,
      idle_rss_mb: idle,
      loaded_rss_mb: loaded,
      delta_mb: round(loaded - idle),
      all_running_s: round(allRunningS, 1),
      shims_idle: idleKids,
      shims_loaded: { count: kids.count, total_mb: kids.mb, per_pod_mb: round(kids.mb / PODS, 2) },
      containers_counted_under_agent: containers.count,
      target_delta_mb: 60,
    }),
  );
} catch (err) {
  log(up.c.output().slice(-3000));
  throw err;
} finally {
  await up.cleanup();
}
process.exit(0);
