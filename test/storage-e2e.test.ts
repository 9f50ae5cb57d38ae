/**
 * Storage end to end (issue 12) on a real node: the default `local-path` StorageClass, a claim
 * provisioned on the node its first pod lands on, data that outlives the pod, a StatefulSet's
 * claims, and reclaim on delete. Real kubectl, real runc pods. Needs root.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, manifestFile, startCluster, type TestCluster } from './support/cluster.js';
import { importBusybox, resetDataDir, upIdentity, waitNodeReady, waitPod } from './support/e2e.js';
import { canRunAsRoot as canRun, rootOnly } from './support/root.js';

const IMG = 'busybox:storage';
let dataDir: string;
let c: TestCluster;

const writer = (name: string, command: string) => `apiVersion: v1
kind: Pod
metadata: {name: ${name}}
spec:
  terminationGracePeriodSeconds: 0
  restartPolicy: Never
  containers:
  - name: c
    image: ${IMG}
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", ${JSON.stringify(command)}]
    volumeMounts: [{name: data, mountPath: /data}]
  volumes: [{name: data, persistentVolumeClaim: {claimName: data}}]
`;

before(async () => {
  if (!canRun) return;
  const id = upIdentity('st');
  dataDir = mkdtempSync(join(tmpdir(), 'skiff-storage-e2e-'));
  await importBusybox(dataDir, { [IMG]: 'v1\n' });
  c = await startCluster({ command: 'up', dataDir, args: id.args });
  await waitNodeReady(c, id.nodeName);
  await eventually(() => c.kubectl(['get', 'sa', 'default']).code === 0, 20_000, 'default service account');
});

after(async () => {
  if (!canRun) return;
  await c?.destroy();
  if (dataDir) {
    resetDataDir(dataDir);
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('a claim of the default class is provisioned where its pod runs, keeps data across pods, and goes with the claim', rootOnly, async () => {
  await eventually(() => /local-path \(default\)\s+skiff.dev\/local-path\s+Delete\s+WaitForFirstConsumer\s+true/.test(c.kubectl(['get', 'sc']).stdout), 20_000, 'the default StorageClass');
  c.k(['apply', '-f', manifestFile(`apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 64Mi}}
`)]);
  // No consumer yet: the claim waits, as upstream's WaitForFirstConsumer.
  await eventually(() => /WaitForFirstConsumer/.test(c.kubectl(['describe', 'pvc', 'data']).stdout), 20_000, 'WaitForFirstConsumer event');
  assert.match(c.k(['get', 'pvc', 'data', '-o', 'jsonpath={.status.phase}']), /Pending/);

  c.k(['apply', '-f', manifestFile(writer('first', 'echo kept > /data/file'))]);
  await waitPod(c, 'first', (p) => p.status?.phase === 'Succeeded', 60_000, 'the writer to finish');
  const pvName = c.k(['get', 'pvc', 'data', '-o', 'jsonpath={.spec.volumeName}']);
  assert.match(c.k(['get', 'pvc', 'data', '-o', 'jsonpath={.status.phase}']), /Bound/);
  const hostDir = c.k(['get', 'pv', pvName, '-o', 'jsonpath={.spec.hostPath.path}']);
  assert.ok(hostDir.startsWith(join(dataDir, 'storage') + '/'), hostDir);
  assert.equal(readFileSync(join(hostDir, 'file'), 'utf8'), 'kept\n');

  c.k(['delete', 'pod', 'first', '--wait=true']);
  c.k(['apply', '-f', manifestFile(writer('second', 'cat /data/file'))]);
  await waitPod(c, 'second', (p) => p.status?.phase === 'Succeeded', 60_000, 'the reader to finish');
  assert.equal(c.k(['logs', 'second']).trim(), 'kept');

  // While a pod uses it, a deleted claim is held by kubernetes.io/pvc-protection.
  c.k(['apply', '-f', manifestFile(writer('holder', 'sleep 1000'))]);
  await waitPod(c, 'holder', (p) => p.status?.phase === 'Running', 60_000, 'the holder to run');
  c.k(['delete', 'pvc', 'data', '--wait=false']);
  await new Promise((r) => setTimeout(r, 1500));
  assert.match(c.k(['get', 'pvc', 'data', '-o', 'jsonpath={.metadata.finalizers}']), /kubernetes.io\/pvc-protection/);
  c.k(['delete', 'pod', 'holder', 'second', '--wait=true']);
  await eventually(() => c.kubectl(['get', 'pvc', 'data']).code !== 0, 30_000, 'the claim to go once unused');
  await eventually(() => c.kubectl(['get', 'pv', pvName]).code !== 0, 30_000, 'reclaim policy Delete to remove the volume');
});

test('a StatefulSet’s pods get their own claims back when recreated', rootOnly, async () => {
  c.k(['apply', '-f', manifestFile(`apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 2
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      terminationGracePeriodSeconds: 0
      containers:
      - name: c
        image: ${IMG}
        imagePullPolicy: IfNotPresent
        command: ["sh", "-c", "[ -f /data/id ] || hostname > /data/id; exec sleep 1000"]
        volumeMounts: [{name: data, mountPath: /data}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 16Mi}}
`)]);
  await waitPod(c, 'db-1', (p) => p.status?.phase === 'Running', 90_000, 'db-1 to run');
  assert.match(c.k(['get', 'pvc', 'data-db-0', 'data-db-1', '-o', 'jsonpath={.items[*].status.phase}']), /^Bound Bound$/);
  const before = c.k(['get', 'pod', 'db-0', '-o', 'jsonpath={.metadata.uid}']);
  c.k(['delete', 'pod', 'db-0', '--wait=true']);
  await waitPod(c, 'db-0', (p) => p.status?.phase === 'Running' && p.metadata.uid !== before, 90_000, 'db-0 to come back');
  assert.equal(c.k(['exec', 'db-0', '--', 'cat', '/data/id']).trim(), 'db-0');
  assert.equal(c.k(['exec', 'db-1', '--', 'cat', '/data/id']).trim(), 'db-1');
});
