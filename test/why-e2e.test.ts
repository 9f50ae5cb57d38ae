/**
 * The why-timeline end to end on `skiff server` with simulated nodes: a pod that asks for more CPU
 * than any node has gets a Timeline whose FailedScheduling entry names the reason, served as a
 * real resource (kubectl get / explain), and `skiff why` prints it with a diagnosis; a
 * Deployment's rollout is explained with its ReplicaSet and pods.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, manifestFile, startCluster, startSim, type SimProcess, type TestCluster } from './support/cluster.js';
import { skiffCli } from './support/e2e.js';

let c: TestCluster;
let sim: SimProcess;

before(async () => {
  c = await startCluster({ args: ['--name', 'whye2e'] });
  sim = await startSim(c.kubeconfig, ['--nodes', '3', '--cpu', '2', '--prefix', 'why-', '--lease-interval', '1']);
  await eventually(() => c.kubectl(['get', 'sa', 'default']).code === 0, 20_000, 'default service account');
});

after(async () => {
  await sim?.stop();
  await c?.destroy();
});

const why = (target: string, ...args: string[]) => skiffCli(['why', target, '--kubeconfig', c.kubeconfig, ...args]);

describe('skiff why', { timeout: 120_000 }, () => {
  test('a pod asking for more CPU than any node has: FailedScheduling in its Timeline, diagnosis from skiff why', async () => {
    c.k(['apply', '-f', manifestFile(`apiVersion: v1
kind: Pod
metadata: {name: greedy}
spec:
  containers:
  - name: app
    image: busybox
    resources: {requests: {cpu: "8"}}
`)]);
    const tl = await eventually(() => {
      const r = c.kubectl(['get', 'timeline', 'pod.greedy', '-o', 'json']);
      if (r.code !== 0) return undefined;
      const t = JSON.parse(r.stdout);
      return t.entries?.some((e: { reason: string }) => e.reason === 'FailedScheduling') ? t : undefined;
    }, 30_000, 'a FailedScheduling entry in timeline pod.greedy');
    assert.equal(tl.apiVersion, 'skiff.dev/v1');
    assert.deepEqual({ kind: tl.involvedObject.kind, name: tl.involvedObject.name, namespace: tl.involvedObject.namespace }, { kind: 'Pod', name: 'greedy', namespace: 'default' });
    const fs = tl.entries.find((e: { reason: string }) => e.reason === 'FailedScheduling');
    assert.equal(fs.type, 'Warning');
    assert.equal(fs.source, 'scheduler');
    assert.match(fs.message, /^0\/3 nodes are available: 3 Insufficient cpu/);
    assert.match(tl.diagnosis.summary, /no node has 8 CPU free/);

    const r = why('pod/greedy');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Pod default\/greedy \(not scheduled\): Pending$/m);
    assert.match(r.stdout, /^TIME\s+TYPE\s+SOURCE\s+REASON\s+MESSAGE$/m);
    assert.match(r.stdout, /Warning\s+scheduler\s+FailedScheduling\s+0\/3 nodes are available: 3 Insufficient cpu/);
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines.at(-2)!, /^Diagnosis: no node has 8 CPU free for pod greedy/);
    assert.match(lines.at(-1)!, /^Next: +lower the CPU request or add a node/);

    // A real resource: listed with its columns, explained from the served schema.
    assert.match(c.k(['get', 'timelines']), /pod\.greedy\s+pod\/greedy\s+\d+\s+FailedScheduling\s+no node has 8 CPU free/);
    assert.match(c.k(['explain', 'timelines.entries']), /reason\s+<string>/);
    const unknown = why('service/web');
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /explains pods, deployments and replicasets, not "service"/);
    const missing = why('pod/nope');
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /pods "nope" not found in namespace default/);
  });

  test('a deployment\'s rollout: its ReplicaSet, its pods and their last entries, healthy at the end', async () => {
    c.k(['create', 'deployment', 'web', '--image=busybox', '--replicas=2']);
    await eventually(() => c.k(['get', 'deploy', 'web', '-o', 'jsonpath={.status.availableReplicas}']) === '2', 30_000, 'deployment web available');
    const r = await eventually(() => {
      const x = why('deployment/web');
      return x.code === 0 && /Diagnosis: healthy/.test(x.stdout) ? x : undefined;
    }, 20_000, 'skiff why deployment/web to say healthy') as { stdout: string };
    assert.match(r.stdout, /^Deployment default\/web: 2\/2 ready/m);
    assert.match(r.stdout, /^ReplicaSet web-[a-z0-9]+ \(revision 1\): 2\/2 ready$/m);
    const pods = r.stdout.match(/^ {2}Pod web-[a-z0-9]+-[a-z0-9]+ \(Running on why-\d+\): healthy/gm) ?? [];
    assert.equal(pods.length, 2, r.stdout);
    assert.match(r.stdout, /scheduler\s+Scheduled\s+Successfully assigned default\/web-/);
    assert.match(r.stdout.trimEnd().split('\n').at(-2)!, /^Diagnosis: healthy: Deployment web has 2\/2 replicas available$/);
    // The deployment's own timeline records the controller's scaling.
    // (Written by the recorder at most once a second per object, so it may trail `skiff why`.)
    await eventually(() => {
      const r = c.kubectl(['get', 'timeline', 'deployment.web', '-o', 'json']);
      if (r.code !== 0) return undefined;
      const tl = JSON.parse(r.stdout) as { entries: { reason: string; source: string }[] };
      return tl.entries.some((e) => e.reason === 'ScalingReplicaSet' && e.source === 'controller/deployment') || undefined;
    }, 20_000, 'the deployment timeline to record the ScalingReplicaSet event');
  });
});
