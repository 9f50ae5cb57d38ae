/**
 * End-to-end: scheduling with volumes on `skiff server` + `skiff sim`, driven by the real kubectl —
 * a pod waits for its claim, a WaitForFirstConsumer claim is provisioned where its pod lands, a
 * bound local volume pins its pods to its node, and ReadWriteOncePod admits one pod.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, manifestFile, startCluster, startSim, type SimProcess, type TestCluster } from './support/cluster.js';

let c: TestCluster;
const sims: SimProcess[] = [];

before(async () => {
  c = await startCluster();
  sims.push(await startSim(c.kubeconfig, ['--nodes', '3', '--cpu', '4', '--memory', '8Gi', '--prefix', 'v', '--lease-interval', '1']));
  await eventually(() => (JSON.parse(c.k(['get', 'nodes', '-o', 'json'])).items as unknown[]).length === 3, 20_000, 'three sim nodes');
});
after(async () => {
  for (const s of sims) await s.stop();
  await c?.destroy();
});

const pod = (name: string, claim: string) => `apiVersion: v1
kind: Pod
metadata: {name: ${name}}
spec:
  containers: [{name: c, image: busybox, volumeMounts: [{name: data, mountPath: /data}]}]
  volumes: [{name: data, persistentVolumeClaim: {claimName: ${claim}}}]
`;

const claim = (name: string, extra = '', modes = 'ReadWriteOnce') => `apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: ${name}}
spec:
  accessModes: [${modes}]
  resources: {requests: {storage: 1Gi}}
${extra}`;

/** A hand-made local volume on `node`, pre-bound to `claimName`. */
const localVolume = (name: string, node: string, claimName: string, modes = 'ReadWriteOnce') => `apiVersion: v1
kind: PersistentVolume
metadata: {name: ${name}}
spec:
  capacity: {storage: 1Gi}
  accessModes: [${modes}]
  hostPath: {path: /tmp/${name}}
  claimRef: {namespace: default, name: ${claimName}}
  nodeAffinity:
    required:
      nodeSelectorTerms: [{matchExpressions: [{key: kubernetes.io/hostname, operator: In, values: [${node}]}]}]
`;

const nodeOf = (name: string) => c.k(['get', 'pod', name, '-o', 'jsonpath={.spec.nodeName}']);

async function failedScheduling(name: string): Promise<string> {
  return String(
    await eventually(() => {
      const d = c.k(['describe', 'pod', name]);
      return /FailedScheduling/.test(d) && d;
    }, 20_000, `FailedScheduling for ${name}`),
  );
}

describe('scheduling with volumes', () => {
  test('a pod waits for its claim, then lands and its WaitForFirstConsumer claim is provisioned there', async () => {
    c.k(['apply', '-f', manifestFile(pod('early', 'data'))]);
    assert.match(await failedScheduling('early'), /0\/3 nodes are available: persistentvolumeclaim "data" not found\./);
    assert.equal(c.k(['get', 'pod', 'early', '-o', 'jsonpath={.status.phase}']), 'Pending');
    assert.equal(nodeOf('early'), '');

    c.k(['apply', '-f', manifestFile(claim('data'))]);
    const node = String(await eventually(() => nodeOf('early'), 30_000, 'pod scheduled after its claim appeared'));
    await eventually(() => c.k(['get', 'pvc', 'data', '-o', 'jsonpath={.status.phase}']) === 'Bound', 30_000, 'claim Bound');
    const pv = c.k(['get', 'pvc', 'data', '-o', 'jsonpath={.spec.volumeName}']);
    assert.equal(c.k(['get', 'pv', pv, '-o', 'jsonpath={.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values[0]}']), node);
    c.k(['delete', 'pod', 'early', '--wait=false']);
  });

  test('pods using a claim bound to a local volume all land on that volume node', async () => {
    c.k(['apply', '-f', manifestFile(localVolume('pinned-pv', 'v1', 'pinned') + '---\n' + claim('pinned', '  storageClassName: ""\n'))]);
    await eventually(() => c.k(['get', 'pvc', 'pinned', '-o', 'jsonpath={.status.phase}']) === 'Bound', 30_000, 'static claim Bound');
    for (const n of ['pin-a', 'pin-b', 'pin-c', 'pin-d']) c.k(['apply', '-f', manifestFile(pod(n, 'pinned'))]);
    for (const n of ['pin-a', 'pin-b', 'pin-c', 'pin-d']) {
      assert.equal(await eventually(() => nodeOf(n), 30_000, `${n} scheduled`), 'v1');
    }
    c.k(['delete', 'pod', 'pin-a', 'pin-b', 'pin-c', 'pin-d', '--wait=false']);
  });

  test('a ReadWriteOncePod claim admits one pod; the second waits with the upstream message', async () => {
    c.k(['apply', '-f', manifestFile(localVolume('solo-pv', 'v2', 'solo', 'ReadWriteOncePod') + '---\n' + claim('solo', '  storageClassName: ""\n', 'ReadWriteOncePod'))]);
    await eventually(() => c.k(['get', 'pvc', 'solo', '-o', 'jsonpath={.status.phase}']) === 'Bound', 30_000, 'RWOP claim Bound');
    c.k(['apply', '-f', manifestFile(pod('solo-1', 'solo'))]);
    assert.equal(await eventually(() => nodeOf('solo-1'), 30_000, 'first user scheduled'), 'v2');
    c.k(['apply', '-f', manifestFile(pod('solo-2', 'solo'))]);
    assert.match(
      await failedScheduling('solo-2'),
      /0\/3 nodes are available: .*node has pod using PersistentVolumeClaim with the same name and ReadWriteOncePod access mode/,
    );
    assert.equal(nodeOf('solo-2'), '');
    c.k(['delete', 'pod', 'solo-1', 'solo-2', '--wait=false']);
  });
});
