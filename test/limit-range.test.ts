/** End-to-end: LimitRange admission on `skiff server`, driven by the real kubectl — defaults land in new pods, out-of-range pods and claims get 403. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { manifestFile, startCluster, type TestCluster } from './support/cluster.js';

let c: TestCluster;

before(async () => {
  c = await startCluster();
  c.k(['create', 'namespace', 'capped']);
  c.k(['apply', '-n', 'capped', '-f', manifestFile(`apiVersion: v1
kind: LimitRange
metadata: {name: caps}
spec:
  limits:
  - type: Container
    default: {cpu: 500m, memory: 256Mi}
    defaultRequest: {cpu: 100m}
    max: {cpu: "2"}
  - type: PersistentVolumeClaim
    max: {storage: 5Gi}
`)]);
});
after(async () => {
  await c?.destroy();
});

const podWith = (name: string, resources: string) => `apiVersion: v1
kind: Pod
metadata: {name: ${name}}
spec:
  containers: [{name: app, image: busybox, resources: ${resources}}]
`;

test('a LimitRange default lands in a new pod, with the limit-ranger annotation', () => {
  c.k(['apply', '-n', 'capped', '-f', manifestFile(podWith('plain', '{}'))]);
  const p = JSON.parse(c.k(['get', 'pod', 'plain', '-n', 'capped', '-o', 'json']));
  assert.deepEqual(p.spec.containers[0].resources, { requests: { cpu: '100m', memory: '256Mi' }, limits: { cpu: '500m', memory: '256Mi' } });
  assert.equal(p.metadata.annotations['kubernetes.io/limit-ranger'], 'LimitRanger plugin set: cpu, memory request for container app; cpu, memory limit for container app');
  // The stored LimitRange shows upstream's item defaults.
  const lr = JSON.parse(c.k(['get', 'limitrange', 'caps', '-n', 'capped', '-o', 'json']));
  assert.deepEqual(lr.spec.limits[0].defaultRequest, { cpu: '100m', memory: '256Mi' });
});

test('a pod above the max is refused with 403 and upstream wording; nothing is stored', () => {
  const r = c.kubectl(['apply', '-n', 'capped', '-f', manifestFile(podWith('greedy', '{limits: {cpu: "3"}}'))]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /Error from server \(Forbidden\).*pods "greedy" is forbidden: maximum cpu usage per Container is 2, but limit is 3/);
  assert.equal(c.kubectl(['get', 'pod', 'greedy', '-n', 'capped']).code, 1);
});

test('a claim above the PersistentVolumeClaim max is refused', () => {
  const r = c.kubectl(['apply', '-n', 'capped', '-f', manifestFile(`apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: huge}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 10Gi}}}
`)]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /persistentvolumeclaims "huge" is forbidden: maximum storage usage per PersistentVolumeClaim is 5Gi, but request is 10Gi/);
});

test('namespaces without a LimitRange are untouched', () => {
  c.k(['apply', '-f', manifestFile(podWith('free', '{}'))]);
  const p = JSON.parse(c.k(['get', 'pod', 'free', '-o', 'json']));
  assert.equal(p.spec.containers[0].resources.limits, undefined);
  assert.equal(p.metadata.annotations?.['kubernetes.io/limit-ranger'], undefined);
});
