/**
 * service-throughput (root): HTTP requests/s through a ClusterIP vs straight to the pod IP, with
 * the same Node client (no keep-alive: a new TCP connection per request, CONC in flight) and the
 * same busybox httpd pod, alternating ROUNDS times SECONDS each (pod, svc, pod, svc …).
 * Env/args: CONC (32), SECONDS (3), ROUNDS (2).
 * Prints {"bench":"service-throughput", pod_req_per_s, clusterip_req_per_s, ratio, ...}.
 */
import { httpdService, intArg, log, plainGet, round, startUp } from './support.js';

const CONC = intArg('CONC', 32);
const SECONDS = intArg('SECONDS', 3);
const ROUNDS = intArg('ROUNDS', 2);

async function blast(host: string, port: number): Promise<{ ok: number; errors: number; secs: number }> {
  let ok = 0;
  let errors = 0;
  const t0 = performance.now();
  const end = t0 + SECONDS * 1000;
  await Promise.all(Array.from({ length: CONC }, async () => {
    for (let n = 0; performance.now() < end && n < 1_000_000; n++) {
      try { await plainGet(host, port); ok++; } catch { errors++; }
    }
  }));
  return { ok, errors, secs: (performance.now() - t0) / 1000 };
}

const up = await startUp('st', 94);
try {
  const { clusterIp, podIps } = await httpdService(up.client, 'tput', ['tput-0']);
  const podIp = podIps['tput-0'];
  log(`pod ${podIp}:8080, service ${clusterIp}:80`);
  await blast(podIp, 8080); // warm-up
  const pod = { ok: 0, errors: 0, secs: 0 };
  const svc = { ok: 0, errors: 0, secs: 0 };
  for (let r = 0; r < ROUNDS; r++) {
    for (const [acc, host, port] of [[pod, podIp, 8080], [svc, clusterIp, 80]] as const) {
      const x = await blast(host, port);
      acc.ok += x.ok; acc.errors += x.errors; acc.secs += x.secs;
    }
  }
  const body = await plainGet(clusterIp, 80);
  const podRate = pod.ok / pod.secs;
  const svcRate = svc.ok / svc.secs;
  console.log(JSON.stringify({
    bench: 'service-throughput', client: 'node http, no keep-alive', concurrency: CONC,
    pod_req_per_s: round(podRate), clusterip_req_per_s: round(svcRate), ratio: round(svcRate / podRate, 3),
    pod_errors: pod.errors, clusterip_errors: svc.errors, served_by: body.trim(), target_ratio: 0.9,
  }));
} catch (err) {
  log(up.c.output().slice(-3000));
  throw err;
} finally {
  await up.cleanup();
}
process.exit(0);
