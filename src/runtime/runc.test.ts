import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImageStore } from '../image/store.js';
import { writeBusyboxRootfs } from '../image/bootstrap-rootfs.js';
import { CniNetwork } from '../network/cni.js';
import { RuncRuntime } from './runc.js';
import type { ContainerSpec } from './types.js';
import { canRunAsRoot, rootOnly } from '../../test/support/root.js';

let dataDir: string;
let cni: CniNetwork;
let rt: RuncRuntime;
let layers: string[];
const suffix = randomBytes(3).toString('hex');

before(async () => {
  if (!canRunAsRoot) return;
  dataDir = mkdtempSync(join(tmpdir(), 'skiff-runc-test-'));
  const images = ImageStore.open(dataDir);
  const tarPath = join(dataDir, 'busybox.tar');
  await writeBusyboxRootfs(tarPath);
  await images.importRootfs(tarPath, 'busybox');
  layers = await images.unpack('busybox');
  // 10.234.1.0 – 10.234.127.255 is this file's share of the test range.
  cni = new CniNetwork({ name: `skiff-rt${suffix}`, bridge: `skr${suffix}`, subnet: `10.234.${randomInt(1, 128)}.0/24`, dataDir: join(dataDir, 'cni') });
  rt = new RuncRuntime({ dataDir, cni, namePrefix: `skifft${suffix}` });
});

after(async () => {
  if (!canRunAsRoot) return;
  const r = new RuncRuntime({ dataDir, cni, namePrefix: `skifft${suffix}` });
  for (const s of await r.listPodSandboxes()) await r.removePodSandbox(s.id).catch((e) => console.error('cleanup', e));
  for (const c of await r.listContainers()) await r.removeContainer(c.id).catch((e) => console.error('cleanup', e));
  // Belt and braces: anything runc still knows under our root, and any mount left under the data dir.
  const list = spawnSync('runc', ['--root', r.runcRoot, 'list', '-q'], { encoding: 'utf8' });
  for (const id of list.stdout.split('\n').filter(Boolean)) spawnSync('runc', ['--root', r.runcRoot, 'delete', '-f', id]);
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4] ?? '').filter((m) => m.startsWith(dataDir));
  for (const m of mounts.reverse()) spawnSync('umount', ['-l', m]);
  await cni.teardown();
  rmSync(dataDir, { recursive: true, force: true });
});

function spec(name: string, command: string[], extra: Partial<ContainerSpec> = {}): ContainerSpec {
  return { name, image: 'docker.io/library/busybox:latest', rootfsLayers: layers, command, labels: { 'io.kubernetes.container.name': name }, ...extra };
}

async function pod(name: string) {
  return rt.runPodSandbox({ name, namespace: 'default', uid: randomBytes(8).toString('hex'), hostname: name, labels: { 'io.kubernetes.pod.name': name } });
}

async function runToExit(sandboxId: string, s: ContainerSpec) {
  const id = await rt.createContainer(sandboxId, s);
  await rt.startContainer(id);
  const st = await rt.waitContainer(id, 15_000);
  return { id, st: st! };
}

function httpGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: 1000 }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(body));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

test('busybox httpd in a pod is reachable on the pod IP', rootOnly, async () => {
  const sb = await pod('web');
  const id = await rt.createContainer(sb.id, spec('httpd', ['httpd', '-f', '-p', '8080', '-h', '/www']));
  assert.equal((await rt.containerStatus(id))?.state, 'created');
  await rt.startContainer(id);
  const st = await rt.containerStatus(id);
  assert.equal(st?.state, 'running');
  assert.ok(st!.pid > 0 && st!.startedAt);
  let body = '';
  for (let i = 0; i < 50 && !body; i++) {
    body = await httpGet(`http://${sb.ip}:8080/index.html`).catch(() => '');
    if (!body) await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(body, 'hello from skiff\n');
  const stats = await rt.stats(id);
  assert.ok(stats && stats.cpuUsageNanos > 0 && stats.memoryWorkingSetBytes > 0, JSON.stringify(stats));
  await rt.removePodSandbox(sb.id);
  assert.equal(await rt.containerStatus(id), undefined);
  assert.equal(spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.includes(sb.id.slice(0, 16)), false);
});

test('logs are written in CRI format with stream tags; exit codes and reasons are reported', rootOnly, async () => {
  const sb = await pod('logs');
  const { id, st } = await runToExit(sb.id, spec('echo', ['sh', '-c', 'echo hello; echo oops >&2; printf partial']));
  assert.equal(st.state, 'exited');
  assert.equal(st.exitCode, 0);
  assert.equal(st.reason, 'Completed');
  const lines = readFileSync(rt.logPath(id), 'utf8').trim().split('\n');
  const ts = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z /;
  assert.ok(lines.every((l) => ts.test(l)), lines.join('\n'));
  const body = lines.map((l) => l.replace(ts, ''));
  assert.ok(body.includes('stdout F hello'), body.join('\n'));
  assert.ok(body.includes('stderr F oops'));
  assert.ok(body.includes('stdout F partial'));

  const three = await runToExit(sb.id, spec('three', ['sh', '-c', 'exit 3']));
  assert.equal(three.st.exitCode, 3);
  assert.equal(three.st.reason, 'Error');
  assert.ok(three.st.finishedAt! >= three.st.startedAt!);

  const bad = await rt.createContainer(sb.id, spec('bad', ['/no/such/binary']));
  await assert.rejects(rt.startContainer(bad), /no\/such\/binary|no such file/i);
  assert.equal((await rt.containerStatus(bad))?.reason, 'StartError');
});

test('a memory hog over its 20 MiB limit ends OOMKilled', rootOnly, async () => {
  const sb = await pod('oom');
  const { st } = await runToExit(sb.id, spec('hog', ['sh', '-c', 'head -c 200000000 /dev/zero | tail'], { resources: { memoryLimitBytes: 20 * 1024 * 1024 } }));
  assert.equal(st.state, 'exited');
  assert.equal(st.reason, 'OOMKilled');
  assert.equal(st.exitCode, 137);
});

test('exec sees the pod hostname; stop sends SIGTERM then SIGKILL after the timeout', rootOnly, async () => {
  const sb = await pod('exec-pod');
  const id = await rt.createContainer(sb.id, spec('sleeper', ['sleep', '1000']));
  await rt.startContainer(id);
  const r = await rt.execSync(id, ['sh', '-c', 'echo $HOSTNAME; hostname; echo err >&2; exit 4']);
  assert.equal(r.stdout.toString(), 'exec-pod\nexec-pod\n');
  assert.equal(r.stderr.toString(), 'err\n');
  assert.equal(r.exitCode, 4);
  const slow = await rt.execSync(id, ['sleep', '30'], 1);
  assert.equal(slow.timedOut, true);

  const sess = await rt.exec(id, { cmd: ['cat'], stdin: true });
  let got = '';
  sess.stdout.on('data', (d) => (got += d));
  sess.stdin!.end('ping\n');
  assert.equal(await sess.exitCode, 0);
  assert.equal(got, 'ping\n');

  const tty = await rt.exec(id, { cmd: ['sh', '-c', 'tty; exit 5'], tty: true });
  let ttyOut = '';
  tty.stdout.on('data', (d) => (ttyOut += d));
  assert.equal(await tty.exitCode, 5);
  assert.match(ttyOut, /\/dev\/pts\/\d+/);

  // `sleep` as PID 1 ignores SIGTERM (no handler in an init process): only SIGKILL ends it.
  const t0 = Date.now();
  await rt.stopContainer(id, 1);
  const st = await rt.containerStatus(id);
  assert.ok(Date.now() - t0 >= 900, 'waited for the grace period');
  assert.equal(st?.state, 'exited');
  assert.equal(st?.exitCode, 137);

  // A process that handles SIGTERM exits at once with its own code.
  const polite = await rt.createContainer(sb.id, spec('polite', ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 0.1; done']));
  await rt.startContainer(polite);
  await rt.stopContainer(polite, 10);
  // Exit code 0, not 137: SIGTERM ended it before the 10 s grace period ran out.
  assert.equal((await rt.containerStatus(polite))?.exitCode, 0);
});

test('a new runtime object adopts running containers (agent restart)', rootOnly, async () => {
  const sb = await pod('adopt');
  const id = await rt.createContainer(sb.id, spec('long', ['sh', '-c', 'trap "exit 7" TERM; echo started; while true; do sleep 0.1; done'], { labels: { app: `adopt-${suffix}` }, annotations: { 'io.kubernetes.container.restartCount': '2' } }));
  await rt.startContainer(id);
  const before = await rt.containerStatus(id);

  const rt2 = new RuncRuntime({ dataDir, cni, namePrefix: `skifft${suffix}` });
  const found = await rt2.listContainers({ labels: { app: `adopt-${suffix}` } });
  assert.equal(found.length, 1);
  assert.equal(found[0]!.id, id);
  assert.equal(found[0]!.state, 'running');
  assert.equal(found[0]!.pid, before!.pid);
  assert.equal(found[0]!.annotations['io.kubernetes.container.restartCount'], '2');
  const sbs = await rt2.listPodSandboxes({ labels: { 'io.kubernetes.pod.name': 'adopt' } });
  assert.deepEqual(sbs.map((s) => [s.id, s.ip, s.state]), [[sb.id, sb.ip, 'ready']]);
  assert.equal((await rt2.execSync(id, ['echo', 'still here'])).stdout.toString(), 'still here\n');
  await rt2.stopContainer(id, 5);
  const st = await rt2.containerStatus(id);
  assert.equal(st?.state, 'exited');
  assert.equal(st?.exitCode, 7, 'the exit code is recorded by the shim, not by the runtime object that started it');
  assert.match(readFileSync(rt2.logPath(id), 'utf8'), /stdout F started/);
});

test('create+start+delete cost', rootOnly, async (t) => {
  const sb = await pod('cost');
  const cpu = () => {
    const f = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * 10; // utime+stime+cutime+cstime, ms at 100 Hz
  };
  const n = 5;
  const c0 = cpu();
  const t0 = Date.now();
  for (let i = 0; i < n; i++) {
    const { id, st } = await runToExit(sb.id, spec(`c${i}`, ['true']));
    assert.equal(st.exitCode, 0);
    await rt.removeContainer(id);
  }
  const ms = (Date.now() - t0) / n;
  const cpuMs = (cpu() - c0) / n;
  t.diagnostic(`per container create+start+wait+delete: ${ms.toFixed(0)} ms wall, ~${cpuMs.toFixed(0)} ms CPU (this process + reaped children)`);
  writeFileSync(join(dataDir, 'cost.txt'), `${ms} ${cpuMs}\n`);
});

test('runProcess runs one process to completion in a given root, streaming its output', rootOnly, async () => {
  const root = join(dataDir, 'process-root');
  mkdirSync(root);
  assert.equal(spawnSync('tar', ['-x', '-f', join(dataDir, 'busybox.tar'), '-C', root]).status, 0);
  mkdirSync(join(root, 'work'));
  const out: Record<'stdout' | 'stderr', string> = { stdout: '', stderr: '' };
  const { exitCode } = await rt.runProcess({
    rootfs: root,
    args: ['sh', '-c', 'echo "$GREETING from $(pwd) as $(id -u):$(id -g) on $(hostname)"; echo oops >&2; echo made > made.txt; ip link | grep -c ^[0-9]; exit 3'],
    env: ['GREETING=hello'],
    cwd: '/work',
    user: { uid: 0, gid: 0 },
    network: 'none',
    hostname: 'buildbox',
    onOutput: (chunk, stream) => (out[stream] += chunk.toString()),
  });
  assert.equal(exitCode, 3);
  assert.equal(out.stdout, 'hello from /work as 0:0 on buildbox\n1\n', 'only loopback with network none');
  assert.equal(out.stderr, 'oops\n');
  assert.equal(readFileSync(join(root, 'work', 'made.txt'), 'utf8'), 'made\n', 'writes land in the given root');
  assert.deepEqual(spawnSync('runc', ['--root', rt.runcRoot, 'list', '-q'], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l.includes('-run-')), []);
});
