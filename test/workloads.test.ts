/**
 * End-to-end: `skiff server` + `skiff sim` driven by the real kubectl — Jobs run to completion,
 * a DaemonSet lands one pod per node, a StatefulSet comes up in order with stable names.
 * (CronJob timing is covered by unit tests with a fake clock: a real minute is too slow.)
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, manifestFile, startCluster, startSim, type SimProcess, type TestCluster } from './support/cluster.js';

let c: TestCluster;
let sim: SimProcess | undefined;

before(async () => {
  c = await startCluster();
  sim = await startSim(c.kubeconfig, ['--nodes', '3', '--prefix', 'w', '--lease-interval', '1', '--job-duration', '1']);
});
after(async () => {
  await sim?.stop();
  await c?.destroy();
});

const json = (args: string[]) => JSON.parse(c.k([...args, '-o', 'json']));

describe('workloads', () => {
  test('kubectl create job runs to completion and kubectl wait sees it', async () => {
    c.k(['create', 'job', 'hello', '--image=busybox:1', '--', 'echo', 'hi']);
    c.k(['wait', '--for=condition=complete', 'job/hello', '--timeout=30s']);
    const job = json(['get', 'job', 'hello']);
    assert.equal(job.status.succeeded, 1);
    assert.ok(job.status.completionTime);
    assert.ok(job.status.conditions.some((x: any) => x.type === 'SuccessCriteriaMet' && x.status === 'True'));
    const pods = json(['get', 'pods', '-l', 'batch.kubernetes.io/job-name=hello']).items;
    assert.equal(pods.length, 1);
    assert.equal(pods[0].status.phase, 'Succeeded');
    assert.match(c.k(['get', 'job', 'hello']), /hello\s+Complete\s+1\/1/);
    assert.match(c.k(['describe', 'job', 'hello']), /SuccessfulCreate.*Created pod: hello-/);
  });

  test('an Indexed job with parallelism runs every index once', async () => {
    c.k(['apply', '-f', manifestFile(`apiVersion: batch/v1
kind: Job
metadata: {name: idx}
spec:
  completions: 4
  parallelism: 2
  completionMode: Indexed
  template:
    spec:
      restartPolicy: Never
      containers: [{name: main, image: busybox:1, command: [sh, -c, 'echo $JOB_COMPLETION_INDEX']}]
`)]);
    c.k(['wait', '--for=condition=complete', 'job/idx', '--timeout=60s']);
    const job = json(['get', 'job', 'idx']);
    assert.equal(job.status.completedIndexes, '0-3');
    assert.equal(job.status.succeeded, 4);
    const idx = json(['get', 'pods', '-l', 'batch.kubernetes.io/job-name=idx']).items
      .map((p: any) => p.metadata.annotations['batch.kubernetes.io/job-completion-index']).sort();
    assert.deepEqual(idx, ['0', '1', '2', '3']);
  });

  test('a DaemonSet lands one pod per node', async () => {
    c.k(['apply', '-f', manifestFile(`apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers: [{name: main, image: busybox:1}]
`)]);
    c.k(['rollout', 'status', 'ds/agent', '--timeout=60s']);
    const pods = json(['get', 'pods', '-l', 'app=agent']).items;
    assert.deepEqual(pods.map((p: any) => p.spec.nodeName).sort(), ['w0', 'w1', 'w2']);
    const ds = json(['get', 'ds', 'agent']);
    assert.equal(ds.status.desiredNumberScheduled, 3);
    assert.equal(ds.status.numberReady, 3);
    assert.equal(ds.status.updatedNumberScheduled, 3);
  });

  test('a StatefulSet of 3 comes up in order with stable names', async () => {
    c.k(['apply', '-f', manifestFile(`apiVersion: v1
kind: Service
metadata: {name: db}
spec: {clusterIP: None, selector: {app: db}, ports: [{port: 5432}]}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 3
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: main, image: busybox:1}]
`)]);
    c.k(['rollout', 'status', 'sts/db', '--timeout=60s']);
    const pods = json(['get', 'pods', '-l', 'app=db']).items;
    assert.deepEqual(pods.map((p: any) => p.metadata.name).sort(), ['db-0', 'db-1', 'db-2']);
    // Each pod was created only after its predecessor was ready.
    const created = (n: string) => Date.parse(pods.find((p: any) => p.metadata.name === n).metadata.creationTimestamp);
    assert.ok(created('db-0') <= created('db-1') && created('db-1') <= created('db-2'));
    for (const p of pods) {
      assert.equal(p.spec.hostname, p.metadata.name);
      assert.equal(p.spec.subdomain, 'db');
    }
    // A deleted member comes back under the same name.
    const uid = pods.find((p: any) => p.metadata.name === 'db-1').metadata.uid;
    c.k(['delete', 'pod', 'db-1', '--wait=false']);
    await eventually(() => {
      const p = json(['get', 'pods', '-l', 'app=db']).items.find((x: any) => x.metadata.name === 'db-1');
      return p && p.metadata.uid !== uid && p.status.phase === 'Running';
    }, 30_000, 'db-1 recreated');
    const sts = json(['get', 'sts', 'db']);
    assert.equal(sts.status.currentRevision, sts.status.updateRevision);
  });
});
