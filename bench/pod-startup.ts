/**
 * pod-startup (root, runc): `skiff up` with the busybox fixture image.
 *  - sequential: SEQ pods one at a time, create → Running (container started) and → Ready.
 *  - parallel: PAR pods created at once, create → Ready per pod (p50/p99), and BIG pods at once.
 *  - floor, in the same run: PAR sandboxes in parallel, each `ip netns add` + CNI ADD
 *    (/usr/lib/cni/bridge + host-local, own bridge and subnet) + overlay mount + `runc run -d`
 *    of the same busybox rootfs (`sleep 3600`); floor = wall time until all PAR are started.
 * Env/args: SEQ (20), PAR (20), BIG (100).
 * Prints {"bench":"pod-startup", seq_running_p50_ms, seq_ready_p50_ms, par_ready_p99_ms, floor_ms, ratio, big_...}.
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { writeBusyboxRootfs } from '../src/image/bootstrap-rootfs.js';
import { BENCH_IMAGE, LoadClient, intArg, log, percentile, round, startUp, waitFor } from './support.js';

const SEQ = intArg('SEQ', 20);
const PAR = intArg('PAR', 20);
const BIG = intArg('BIG', 100);
const run = promisify(execFile);

function pod(name: string): unknown {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { app: 'startup' } },
    spec: { terminationGracePeriodSeconds: 0, automountServiceAccountToken: false, containers: [{ name: 'main', image: BENCH_IMAGE, command: ['sleep', '3600'] }] },
  };
}

/** Watches pods and records the first time each is Ready. */
function trackReady(client: LoadClient, rv: string) {
  const ready = new Map<string, number>();
  const started = new Map<string, number>();
  const w = client.watch(`/api/v1/namespaces/default/pods?watch=1&resourceVersion=${rv}`, (line) => {
    const t = performance.now();
    if (!line) return;
    const ev = JSON.parse(line);
    const name = ev.object?.metadata?.name;
    if (!name || ev.type === 'DELETED') return;
    if (!started.has(name) && ev.object.status?.containerStatuses?.some((s: { state?: { running?: unknown } }) => s.state?.running)) started.set(name, t);
    if (!ready.has(name) && ev.object.status?.conditions?.some((x: { type: string; status: string }) => x.type === 'Ready' && x.status === 'True')) ready.set(name, t);
  });
  return { ready, started, close: w.close, ready$: w.ready };
}

async function deleteAll(client: LoadClient): Promise<void> {
  await client.request('DELETE', '/api/v1/namespaces/default/pods?labelSelector=app%3Dstartup', { apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 0 });
  await waitFor(async () => JSON.parse((await client.request('GET', '/api/v1/namespaces/default/pods?labelSelector=app%3Dstartup')).body).items.length === 0, 120_000, 'pods deleted', 200);
}

async function batch(client: LoadClient, prefix: string, n: number): Promise<number[]> {
  const rv = JSON.parse((await client.request('GET', '/api/v1/namespaces/default/pods?limit=1')).body).metadata.resourceVersion;
  const tr = trackReady(client, rv);
  await tr.ready$;
  const sent = new Map<string, number>();
  await Promise.all(Array.from({ length: n }, async (_, i) => {
    const name = `${prefix}-${i}`;
    sent.set(name, performance.now());
    const r = await client.request('POST', '/api/v1/namespaces/default/pods', pod(name));
    if (r.status !== 201) throw new Error(`create ${name}: ${r.status} ${r.body.slice(0, 300)}`);
  }));
  await waitFor(() => tr.ready.size >= n, 120_000, `${n} pods Ready (${prefix})`, 10).catch((e) => log(String(e)));
  tr.close();
  return [...sent].map(([name, t]) => (tr.ready.get(name) ?? NaN) - t).sort((a, b) => a - b);
}

/** The machine's floor for `n` sandboxes started in parallel (see header). */
async function floor(n: number): Promise<{ wall_ms: number; per_sandbox_p50_ms: number }> {
  const id = `skbf${process.pid % 10000}`;
  const dir = mkdtempSync(join(tmpdir(), 'skiff-bench-floor-'));
  const runcRoot = join('/run', `${id}-runc`);
  const bridge = `${id}br`;
  const rootfs = join(dir, 'rootfs');
  mkdirSync(rootfs);
  await writeBusyboxRootfs(join(dir, 'rootfs.tar'));
  spawnSync('tar', ['-xf', join(dir, 'rootfs.tar'), '-C', rootfs]);
  const netconf = JSON.stringify({ cniVersion: '1.0.0', name: id, type: 'bridge', bridge, isGateway: true, ipMasq: false, ipam: { type: 'host-local', subnet: '10.99.0.0/24', dataDir: join(dir, 'ipam') } });
  const cni = (cmd: string, i: number) =>
    new Promise<void>((resolve, reject) => {
      const child = execFile('/usr/lib/cni/bridge', [], { env: { ...process.env, CNI_COMMAND: cmd, CNI_CONTAINERID: `${id}-${i}`, CNI_NETNS: `/var/run/netns/${id}-${i}`, CNI_IFNAME: 'eth0', CNI_PATH: '/usr/lib/cni' } }, (err, _o, e) => (err && cmd === 'ADD' ? reject(new Error(`${err.message} ${e}`)) : resolve()));
      child.stdin!.end(netconf);
    });
  spawnSync('runc', ['spec'], { cwd: dir });
  const spec = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  rmSync(join(dir, 'config.json'), { force: true });
  const times: number[] = [];
  const t0 = performance.now();
  try {
    await Promise.all(Array.from({ length: n }, async (_, i) => {
      const s = performance.now();
      const b = join(dir, `b${i}`);
      for (const d of ['upper', 'work', 'rootfs']) mkdirSync(join(b, d), { recursive: true });
      await run('ip', ['netns', 'add', `${id}-${i}`]);
      await cni('ADD', i);
      await run('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${rootfs},upperdir=${join(b, 'upper')},workdir=${join(b, 'work')}`, join(b, 'rootfs')]);
      const cfg = JSON.parse(JSON.stringify(spec));
      cfg.process.terminal = false;
      cfg.process.args = ['sleep', '3600'];
      cfg.root = { path: join(b, 'rootfs'), readonly: false };
      cfg.hostname = `f${i}`;
      cfg.linux.namespaces = cfg.linux.namespaces.map((ns: { type: string }) => (ns.type === 'network' ? { type: 'network', path: `/var/run/netns/${id}-${i}` } : ns));
      cfg.linux.cgroupsPath = `/${id}/c${i}`;
      writeFileSync(join(b, 'config.json'), JSON.stringify(cfg));
      // stdio ignored: a detached container would otherwise hold our pipes open.
      await new Promise<void>((resolve, reject) => {
        const p = spawn('runc', ['--root', runcRoot, 'run', '-d', '--bundle', b, `${id}-${i}`], { stdio: 'ignore' });
        p.on('error', reject);
        p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`runc run exited ${code}`))));
      });
      times.push(performance.now() - s);
    }));
    const wall = performance.now() - t0;
    times.sort((a, b) => a - b);
    return { wall_ms: round(wall), per_sandbox_p50_ms: round(percentile(times, 50)) };
  } finally {
    for (let i = 0; i < n; i++) {
      spawnSync('runc', ['--root', runcRoot, 'delete', '-f', `${id}-${i}`]);
      await cni('DEL', i).catch(() => {});
      spawnSync('umount', [join(dir, `b${i}`, 'rootfs')]);
      spawnSync('ip', ['netns', 'del', `${id}-${i}`]);
    }
    spawnSync('ip', ['link', 'del', bridge]);
    spawnSync('rmdir', [`/sys/fs/cgroup/${id}`]);
    rmSync(runcRoot, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  }
}

const up = await startUp('ps', 91);
try {
  const { client } = up;
  // Warm: one pod (first image unpack/snapshot) not counted.
  await batch(client, 'warm', 1);
  await deleteAll(client);
  log(`sequential: ${SEQ} pods`);
  const seqRunning: number[] = [];
  const seqReady: number[] = [];
  for (let i = 0; i < SEQ; i++) {
    const rv = JSON.parse((await client.request('GET', '/api/v1/namespaces/default/pods?limit=1')).body).metadata.resourceVersion;
    const tr = trackReady(client, rv);
    await tr.ready$;
    const name = `seq-${i}`;
    const t = performance.now();
    const r = await client.request('POST', '/api/v1/namespaces/default/pods', pod(name));
    if (r.status !== 201) throw new Error(`create: ${r.status} ${r.body}`);
    await waitFor(() => tr.ready.has(name), 60_000, `${name} Ready`, 2);
    tr.close();
    seqRunning.push((tr.started.get(name) ?? NaN) - t);
    seqReady.push(tr.ready.get(name)! - t);
  }
  seqRunning.sort((a, b) => a - b);
  seqReady.sort((a, b) => a - b);
  await deleteAll(client);
  log(`parallel: ${PAR} pods`);
  const par = await batch(client, 'par', PAR);
  await deleteAll(client);
  log(`floor: ${PAR} sandboxes with runc + CNI`);
  const fl = await floor(PAR);
  log(`parallel: ${BIG} pods`);
  const big = BIG > 0 ? await batch(client, 'big', BIG) : [];
  await deleteAll(client);
  console.log(
    JSON.stringify({
      bench: 'pod-startup',
      seq_pods: SEQ,
      seq_running_p50_ms: round(percentile(seqRunning, 50)),
      seq_ready_p50_ms: round(percentile(seqReady, 50)),
      seq_ready_p99_ms: round(percentile(seqReady, 99)),
      par_pods: PAR,
      par_ready_p50_ms: round(percentile(par, 50)),
      par_ready_p99_ms: round(percentile(par, 99)),
      floor_ms: fl.wall_ms,
      floor_per_sandbox_p50_ms: fl.per_sandbox_p50_ms,
      ratio_p99_to_floor: round(percentile(par, 99) / fl.wall_ms, 2),
      big_pods: BIG,
      big_ready_p50_ms: round(percentile(big, 50)),
      big_ready_p99_ms: round(percentile(big, 99)),
      big_not_ready: big.filter((x) => Number.isNaN(x)).length,
      targets: { seq_ready_p50_ms: 120, ratio: 1.3 },
    }),
  );
} catch (err) {
  log(up.c.output().slice(-3000));
  throw err;
} finally {
  await up.cleanup();
}
process.exit(0);
