/**
 * watch-fanout: `skiff server --no-controllers`; 100 HTTP watch streams on configmaps (spread
 * over worker threads so the readers are not the bottleneck); one writer creates configmaps at
 * 1,000/s for 5 s, each carrying its send time; latency = receive time − send time.
 * Env/args: WATCHERS (100), RATE (1000), SECONDS (5), READER_THREADS (2).
 * Prints {"bench":"watch-fanout", p50_ms, p99_ms, delivered, expected, ...}.
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { LoadClient, intArg, log, percentile, round, sleep } from './support.js';

const now = () => performance.timeOrigin + performance.now();

if (!isMainThread) {
  // Reader thread: opens its share of watches, records latencies, reports when told to stop.
  const { kubeconfig, count, rv } = workerData as { kubeconfig: string; count: number; rv: string };
  const client = new LoadClient(kubeconfig, count + 1);
  const lat: number[] = [];
  let other = 0;
  const watches = Array.from({ length: count }, () =>
    client.watch(`/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=${rv}`, (line) => {
      const t = now();
      const i = line.indexOf('"sent":"');
      if (i < 0 || !line.startsWith('{"type":"ADDED"')) { other++; return; }
      lat.push(t - Number(line.slice(i + 8, line.indexOf('"', i + 8))));
    }),
  );
  await Promise.all(watches.map((w) => w.ready));
  parentPort!.postMessage({ ready: true });
  parentPort!.on('message', () => {
    for (const w of watches) w.close();
    client.close();
    parentPort!.postMessage({ lat, other });
  });
} else {
  const { startCluster } = await import('../test/support/cluster.js');
  const WATCHERS = intArg('WATCHERS', 100);
  const RATE = intArg('RATE', 1000);
  const SECONDS = intArg('SECONDS', 5);
  const THREADS = intArg('READER_THREADS', 2);
  const c = await startCluster({ args: ['--name', 'bwatchfan', '--no-controllers', '--registry-port', 'off'] });
  try {
    const client = new LoadClient(c.kubeconfig, 64);
    const rv = JSON.parse((await client.request('GET', '/api/v1/namespaces/default/configmaps')).body).metadata.resourceVersion;
    const workers = Array.from({ length: THREADS }, (_, k) => {
      const count = Math.floor(WATCHERS / THREADS) + (k < WATCHERS % THREADS ? 1 : 0);
      return new Worker(new URL(import.meta.url), { workerData: { kubeconfig: c.kubeconfig, count, rv } });
    });
    await Promise.all(workers.map((w) => new Promise((r) => w.once('message', r))));
    log(`${WATCHERS} watches open; writing ${RATE}/s for ${SECONDS} s`);
    const total = RATE * SECONDS;
    let sent = 0;
    let inFlight = 0;
    let failures = 0;
    let maxInFlight = 0;
    const t0 = performance.now();
    const writeLat: number[] = [];
    const one = async (i: number) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      const s = performance.now();
      try {
        const r = await client.request('POST', '/api/v1/namespaces/default/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `w-${i}` }, data: { sent: String(now()) } });
        if (r.status !== 201) failures++;
      } catch {
        failures++;
      }
      writeLat.push(performance.now() - s);
      inFlight--;
    };
    const pending: Promise<void>[] = [];
    // Open-loop pacing: every 2 ms, send what the schedule says is due (capped at 256 in flight).
    while (sent < total && performance.now() - t0 < SECONDS * 1000 * 3) {
      const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * RATE));
      while (sent < due && inFlight < 256) pending.push(one(sent++));
      await sleep(2);
    }
    await Promise.all(pending);
    const writeSecs = (performance.now() - t0) / 1000;
    await sleep(1000); // let the last events arrive
    const results = await Promise.all(
      workers.map((w) => new Promise<{ lat: number[]; other: number }>((r) => { w.once('message', r); w.postMessage('stop'); })),
    );
    await Promise.all(workers.map((w) => w.terminate()));
    client.close();
    const lat = results.flatMap((r) => r.lat).sort((a, b) => a - b);
    writeLat.sort((a, b) => a - b);
    console.log(
      JSON.stringify({
        bench: 'watch-fanout',
        watchers: WATCHERS,
        target_rate: RATE,
        achieved_write_rate: round(sent / writeSecs),
        writes: sent,
        write_failures: failures,
        write_p99_ms: round(percentile(writeLat, 99)),
        max_writes_in_flight: maxInFlight,
        expected_events: (sent - failures) * WATCHERS,
        delivered: lat.length,
        p50_ms: round(percentile(lat, 50)),
        p99_ms: round(percentile(lat, 99)),
        max_ms: round(lat[lat.length - 1] ?? NaN),
        target_p99_ms: 50,
      }),
    );
  } catch (err) {
    log(c.output().slice(-3000));
    throw err;
  } finally {
    await c.destroy();
  }
  process.exit(0);
}
