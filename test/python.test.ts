/** End-to-end: the official Python client (Debian's python3-kubernetes 22) against `skiff server` with a simulated node. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startCluster, startSim, type SimProcess, type TestCluster } from './support/cluster.js';

/** The script lives in the source tree (test/python/), found from dist/test/ or test/. */
const SCRIPT = fileURLToPath(new URL(import.meta.url.includes('/dist/') ? '../../test/python/client.py' : './python/client.py', import.meta.url));

let c: TestCluster;
let sim: SimProcess;

before(async () => {
  c = await startCluster();
  sim = await startSim(c.kubeconfig, ['--nodes', '1', '--cpu', '4', '--memory', '8Gi', '--prefix', 'py', '--lease-interval', '1']);
});
after(async () => {
  await sim?.stop();
  await c?.destroy();
});

function runPython(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn('/usr/bin/python3', [SCRIPT, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HOME: c.dataDir } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => p.kill('SIGKILL'), 60_000);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

test('python kubernetes client: CRUD, selectors, watch, deployment and pods deserialize', async () => {
  const r = await runPython([c.kubeconfig, 'py']);
  assert.equal(r.code, 0, `python failed:\n${r.stderr}\n${r.stdout}`);
  const o = JSON.parse(r.stdout);

  assert.deepEqual(o.cm_created.uid, true);
  assert.equal(o.cm_created.ts_type, 'datetime');
  assert.equal(o.cm_duplicate, 409);
  assert.deepEqual(o.cm_replaced, { a: '1', b: '2' });
  assert.equal(o.cm_stale_replace, 409);
  assert.deepEqual(o.cm_smp, { b: '2', c: '3' });
  assert.deepEqual(o.cm_jsonpatch, { b: '2', c: '3', d: '4' });
  assert.deepEqual(o.list_label, ['cfg']);
  assert.deepEqual(o.list_label_set, ['other']);
  assert.deepEqual(o.list_field, ['other']);
  assert.equal(o.list_bad_field, 400);
  assert.equal(o.cm_after_delete, 404);

  assert.deepEqual(o.watch, [
    ['ADDED', 'w', '1'],
    ['MODIFIED', 'w', '2'],
    ['DELETED', 'w', '2'],
  ]);
  assert.ok(o.watch_seconds < 4, `watch stopped after the third event, not at the timeout (${o.watch_seconds} s)`);

  assert.deepEqual(o.dep_created, { generation: 1, strategy: 'RollingUpdate', max_surge: '25%' });
  assert.equal(o.dep_status.observed, 1);
  assert.equal(o.dep_status.ready, 2);
  assert.deepEqual(o.dep_status.conditions, [
    ['Available', 'True'],
    ['Progressing', 'True'],
  ]);
  assert.equal(o.dep_status_read, 2);
  assert.equal(o.dep_pods.length, 2);
  for (const p of o.dep_pods) {
    assert.equal(p.phase, 'Running');
    assert.equal(p.node, true);
    assert.deepEqual(p.statuses, [['main', true, 0, true]]);
  }

  assert.deepEqual(o.pod_created, { restart_policy: 'Always', dns_policy: 'ClusterFirst' });
  assert.deepEqual(o.pod_labels, { role: 'bare', extra: 'yes' });
  assert.deepEqual(o.pod_field, ['bare']);
  assert.equal(o.pod_after_delete, 404);
});
