/**
 * Operator commands end to end on a real node (`skiff up`, runc, CNI): image commands find the
 * cluster's store through SKIFF_DATA_DIR and the kubeconfig context; a pod pulled from the
 * built-in registry shows Scheduled → Pulled (with duration and size) → Started in its timeline
 * and `skiff why`; `skiff status` shows the node and the pods; `skiff down` stops the cluster
 * and its containers, and `skiff up` with no flags but the data dir brings the same cluster
 * back with its objects.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SKIFF_MAIN, eventually, manifestFile, startCluster, type TestCluster } from './support/cluster.js';
import { freePort } from './support/ports.js';
import { condition, importBusybox, resetDataDir, skiffCli, skiffCliAsync, upIdentity, waitNodeReady, waitPod, type UpIdentity } from './support/e2e.js';
import { canRunAsRoot as canRun, rootOnly } from './support/root.js';

let id: UpIdentity;
let dataDir: string;
let c: TestCluster;
let port: number;
let again: ChildProcess | undefined;
let againOut = '';

before(async () => {
  if (!canRun) return;
  id = upIdentity('op');
  dataDir = mkdtempSync(join(tmpdir(), 'skiff-operator-e2e-'));
  await importBusybox(dataDir, { 'busybox:op': 'op\n' });
  port = await freePort();
  c = await startCluster({ command: 'up', dataDir, port, args: id.args });
  await waitNodeReady(c, id.nodeName);
  await eventually(() => c.kubectl(['get', 'sa', 'default']).code === 0, 20_000, 'default service account');
});

after(async () => {
  if (!canRun) return;
  if (again && again.exitCode === null && again.signalCode === null) {
    const exited = new Promise((r) => again!.once('exit', r));
    again.kill('SIGTERM');
    await exited;
  }
  await c?.destroy();
  if (dataDir) {
    const out = resetDataDir(dataDir);
    if (!/node reset done/.test(out)) console.error(`skiff reset: ${out}`);
    rmSync(dataDir, { recursive: true, force: true });
  }
});

const ready = (p: any) => p.status?.phase === 'Running' && condition(p, 'Ready') === 'True';
/** The built-in registry's address, from what the running `skiff up` wrote about itself. */
const registry = () => (JSON.parse(readFileSync(join(dataDir, 'run.json'), 'utf8')) as { registry: string }).registry;

describe('operator commands on a real node', { skip: rootOnly.skip, timeout: 240_000 }, () => {
  test('image commands use the store named by SKIFF_DATA_DIR or the kubeconfig context, and say so', () => {
    const env = { SKIFF_DATA_DIR: dataDir };
    const listed = skiffCli(['images'], { env });
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^busybox\s+op\s+/m);
    assert.match(listed.stderr, new RegExp(`using the image store in ${dataDir} \\(SKIFF_DATA_DIR\\)`));
    const tagged = skiffCli(['tag', 'busybox:op', `${registry()}/op/bb:1`], { env });
    assert.equal(tagged.code, 0, tagged.stderr);
    const pushed = skiffCli(['push', `${registry()}/op/bb:1`], { env });
    assert.equal(pushed.code, 0, pushed.stderr);
    // The cluster's own kubeconfig records its data dir: no flag, no variable needed.
    const viaContext = skiffCli(['images', '-q'], { env: { KUBECONFIG: c.kubeconfig, SKIFF_DATA_DIR: '' } });
    assert.equal(viaContext.code, 0, viaContext.stderr);
    assert.match(viaContext.stderr, new RegExp(`using the image store in ${dataDir} \\(kubeconfig context "${id.name}"`));
    assert.equal(new Set(viaContext.stdout.trim().split('\n')).size, 1, 'busybox:op and its registry tag are one image');
    assert.match(c.k(['config', 'view', '-o', 'jsonpath={.contexts[0].context.extensions[0].name}']), /^skiff\.dev\/data-dir$/, 'kubectl reads the kubeconfig with the extension');
  });

  test('a pod pulled from the registry: Scheduled → Pulled (duration, size) → Started in its timeline and in skiff why', async () => {
    c.k(['apply', '-f', manifestFile(`apiVersion: v1
kind: Pod
metadata: {name: hello}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: ${registry()}/op/bb:1
    imagePullPolicy: Always
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done"]
`)]);
    await waitPod(c, 'hello', ready, 60_000, 'Running and Ready');
    const tl = await eventually(() => {
      const r = c.kubectl(['get', 'timeline', 'pod.hello', '-o', 'json']);
      const t = r.code === 0 ? JSON.parse(r.stdout) : undefined;
      return t?.entries?.some((e: { reason: string }) => e.reason === 'Ready') ? t : undefined;
    }, 20_000, 'timeline pod.hello to show Ready');
    const reasons: string[] = tl.entries.map((e: { reason: string }) => e.reason);
    const order = ['Created', 'Scheduled', 'Pulling', 'Pulled', 'Started', 'Ready'].map((r) => reasons.indexOf(r));
    assert.ok(order.every((i, k) => i >= 0 && (k === 0 || i > order[k - 1]!)), `entries in order: ${reasons.join(', ')}`);
    const pulled = tl.entries.find((e: { reason: string }) => e.reason === 'Pulled');
    assert.equal(pulled.source, `agent/${id.nodeName}`);
    assert.match(pulled.message, new RegExp(`^Successfully pulled image "${registry().replace(/\./g, '\\.')}/op/bb:1" in [\\d.]+m?s \\([\\d.]+m?s including waiting\\)\\. Image size: \\d+ bytes\\.$`));
    assert.ok(reasons.includes('SandboxReady'), 'sandbox and network setup is recorded');
    const r = skiffCli(['why', 'pod/hello', '--kubeconfig', c.kubeconfig]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /scheduler\s+Scheduled\s+Successfully assigned default\/hello/);
    assert.match(r.stdout, new RegExp(`agent/${id.nodeName}\\s+Pulled\\s+Successfully pulled image`));
    assert.match(r.stdout, /Started\s+Started container app/);
    assert.match(r.stdout, new RegExp(`^Diagnosis: healthy: pod hello is running and ready on ${id.nodeName}$`, 'm'));
  });

  test('skiff status shows the running cluster, its node and pods by phase', async () => {
    const r = skiffCli(['status', '--data-dir', dataDir]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /^skiff is running \(pid \d+, `skiff up`/m);
    assert.match(r.stdout, new RegExp(`^API server: +https://127\\.0\\.0\\.1:${port} `, 'm'));
    assert.match(r.stdout, /^Nodes: +1 \(1 Ready\)$/m);
    assert.match(r.stdout, new RegExp(`^  ${id.nodeName}  Ready  ${id.podCidr.replace(/\./g, '\\.')}  1 pods$`, 'm'));
    assert.match(r.stdout, /^Pods: +1 \(1 Running\)$/m);
    assert.match(r.stdout, new RegExp(`^Store: +${dataDir}/state\\.db \\d`, 'm'));
    assert.match(r.stdout, new RegExp(`^Registry: +${registry().replace(/\./g, '\\.')}$`, 'm'));
    assert.match(r.stdout, new RegExp(`^Dashboard: +https://127\\.0\\.0\\.1:${port}/ui/$`, 'm'));
    await eventually(() => /Next steps:[^]*skiff down/.test(c.output()), 5000, 'the next steps printed by skiff up');
    assert.match(c.output(), new RegExp(`export KUBECONFIG=${dataDir}/kubeconfig`));
    assert.match(c.output(), new RegExp(`export DOCKER_HOST=unix://${dataDir}/docker\\.sock`));
  });

  test('skiff down stops the cluster and its containers; skiff up brings the same cluster back', async () => {
    c.k(['create', 'configmap', 'keep', '--from-literal=k=v']);
    // Asynchronously: this process is the parent of `skiff up` and must be free to see it exit.
    const down = await skiffCliAsync(['down', '--data-dir', dataDir], { timeoutMs: 150_000 });
    assert.equal(down.code, 0, down.stderr + down.stdout);
    assert.match(down.stdout, /^stopped; the cluster's state is kept in/m);
    assert.ok(c.proc.exitCode !== null || c.proc.signalCode !== null, 'the skiff up process is gone');
    assert.match(c.output(), /stopped \(1 pod sandbox\(es\) stopped\)/);
    const runc = JSON.parse(readFileSync(join(dataDir, 'runtime', 'sandboxes', readSandbox(dataDir), 'sandbox.json'), 'utf8'));
    assert.equal(runc.state, 'notready', 'the pod sandbox is stopped');
    assert.match(skiffCli(['status', '--data-dir', dataDir]).stdout, /^skiff is not running on /m);

    // Only the data dir: port, name, node name, CIDRs come from config.json.
    again = spawn(process.execPath, [SKIFF_MAIN, 'up', '--data-dir', dataDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    again.stdout!.on('data', (d) => (againOut += d));
    again.stderr!.on('data', (d) => (againOut += d));
    await eventually(() => /node \S+ ready in/.test(againOut) || again!.exitCode !== null, 60_000, 'skiff up again');
    assert.match(againOut, new RegExp(`API server ready at https://127\\.0\\.0\\.1:${port} `), againOut);
    assert.match(againOut, /same settings as the last run/);
    assert.equal(c.k(['get', 'configmap', 'keep', '-o', 'jsonpath={.data.k}']), 'v');
    assert.equal(c.k(['get', 'node', '-o', 'jsonpath={.items[*].metadata.name}']), id.nodeName);
    await waitPod(c, 'hello', ready, 60_000, 'Running again after skiff up');
  });
});

function readSandbox(dir: string): string {
  return readdirSync(join(dir, 'runtime', 'sandboxes'))[0]!;
}
