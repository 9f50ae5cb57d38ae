/**
 * End to end: resource metrics and autoscaling on a real node. One `skiff up` runs a busybox
 * Deployment spinning a CPU (`while :; do :; done`, request 100m); `kubectl top node` and
 * `kubectl top pod` show its usage from metrics.k8s.io, and `kubectl autoscale` scales the
 * Deployment up. Needs root, runc, CNI plugins, nftables. The HPA syncs every 3 s here
 * (SKIFF_HPA_SYNC_SECONDS) instead of 15 s.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, manifestFile, startCluster, type TestCluster } from './support/cluster.js';
import { importBusybox, resetDataDir, upIdentity, waitNodeReady, type UpIdentity } from './support/e2e.js';
import { rootOnly } from './support/root.js';

const IMG = 'busybox:metrics';
const ENV = { SKIFF_HPA_SYNC_SECONDS: '3' };

let id: UpIdentity;
let dataDir: string;
let c: TestCluster | undefined;

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata: {name: busy}
spec:
  replicas: 1
  selector: {matchLabels: {app: busy}}
  template:
    metadata: {labels: {app: busy}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: spin
        image: ${IMG}
        imagePullPolicy: IfNotPresent
        command: ["sh", "-c", "while :; do :; done"]
        resources: {requests: {cpu: 100m, memory: 16Mi}}
`;

/** CPU of a `kubectl top` cell ("250m", "1") in millicores. */
function milli(cell: string): number {
  return cell.endsWith('m') ? Number(cell.slice(0, -1)) : Number(cell) * 1000;
}

describe('metrics and autoscaling on a real node', { ...rootOnly, timeout: 150_000 }, () => {
  before(async () => {
    id = upIdentity('mx');
    dataDir = mkdtempSync(join(tmpdir(), 'skiff-metrics-'));
    await importBusybox(dataDir, { [IMG]: 'metrics\n' });
    c = await startCluster({ command: 'up', dataDir, args: id.args, env: ENV });
    await waitNodeReady(c, id.nodeName);
    c.k(['apply', '-f', manifestFile(deployment)]);
    await eventually(() => {
      const r = c!.kubectl(['get', 'pods', '-l', 'app=busy', '-o', 'jsonpath={.items[*].status.phase}']);
      return r.code === 0 && r.stdout.trim() === 'Running';
    }, 40_000, 'the busy pod Running');
  });

  after(async () => {
    try {
      await c?.destroy();
    } finally {
      const out = resetDataDir(dataDir);
      if (process.env.SKIFF_TEST_VERBOSE) console.log(out);
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test('the metrics API is discovered', () => {
    const out = c!.k(['api-resources', '--api-group=metrics.k8s.io', '--no-headers']);
    assert.match(out, /^nodes\s+metrics\.k8s\.io\/v1beta1\s+false\s+NodeMetrics/m);
    assert.match(out, /^pods\s+metrics\.k8s\.io\/v1beta1\s+true\s+PodMetrics/m);
  });

  test('kubectl top node shows the node with CPU and memory', async () => {
    const line = (await eventually(() => {
      const r = c!.kubectl(['top', 'node', '--no-headers']);
      return r.code === 0 ? r.stdout.split('\n').find((l) => l.startsWith(id.nodeName)) : undefined;
    }, 20_000, 'kubectl top node'))!;
    // NAME CPU(cores) CPU% MEMORY(bytes) MEMORY%
    const [, cpu, cpuPct, mem, memPct] = line.trim().split(/\s+/);
    assert.ok(milli(cpu) >= 100, `node cpu ${cpu} includes the spinning pod`);
    assert.match(cpuPct, /^\d+%$/);
    assert.match(mem, /^\d+Mi$/);
    assert.match(memPct, /^\d+%$/);
  });

  test('kubectl top pod shows the busy pod using CPU', async () => {
    const line = (await eventually(() => {
      const r = c!.kubectl(['top', 'pod', '-l', 'app=busy', '--no-headers']);
      const l = r.code === 0 ? r.stdout.split('\n').find((x) => x.startsWith('busy-')) : undefined;
      return l && milli(l.trim().split(/\s+/)[1]) >= 50 ? l : undefined;
    }, 45_000, 'kubectl top pod showing the spinning pod'))!;
    const [, cpu, mem] = line.trim().split(/\s+/);
    assert.ok(milli(cpu) >= 50, `pod cpu ${cpu}`);
    assert.match(mem, /^\d+Mi$/);
    const containers = c!.k(['top', 'pod', '-l', 'app=busy', '--containers', '--no-headers']);
    assert.match(containers, /busy-\S+\s+spin\s+\d+m?\s+\d+Mi/);
    const raw = JSON.parse(c!.k(['get', '--raw', '/apis/metrics.k8s.io/v1beta1/namespaces/default/pods']));
    assert.equal(raw.kind, 'PodMetricsList');
    assert.equal(raw.items[0].containers[0].name, 'spin');
    assert.match(raw.items[0].window, /^[\d.]+m?s$/);
  });

  test('kubectl autoscale scales the Deployment up on CPU', async () => {
    c!.k(['autoscale', 'deploy', 'busy', '--min=1', '--max=3', '--cpu-percent=50']);
    const targets = (await eventually(() => {
      const r = c!.kubectl(['get', 'hpa', 'busy', '--no-headers']);
      const m = /cpu: (\d+)%\/50%/.exec(r.stdout);
      return m ? m[0] : undefined;
    }, 60_000, 'kubectl get hpa TARGETS with the current utilization'))!;
    assert.ok(Number(/(\d+)%/.exec(targets)![1]) > 50, targets);
    await eventually(() => c!.kubectl(['get', 'deploy', 'busy', '-o', 'jsonpath={.spec.replicas}']).stdout.trim() === '3', 60_000, 'the Deployment scaled to 3');
    const hpa = JSON.parse(c!.k(['get', 'hpa.v2.autoscaling', 'busy', '-o', 'json']));
    assert.equal(hpa.status.desiredReplicas, 3);
    assert.ok(hpa.status.lastScaleTime);
    const events = c!.k(['get', 'events', '--field-selector', 'involvedObject.kind=HorizontalPodAutoscaler,involvedObject.name=busy', '-o', 'jsonpath={.items[*].message}']);
    assert.match(events, /New size: 3; reason: cpu resource utilization \(percentage of request\) above target/);
  });
});
