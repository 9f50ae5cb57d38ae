import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StatefulSet, StatefulSetSpec } from 'kubernetes-types/apps/v1.js';
import type { PersistentVolumeClaim, Pod } from 'kubernetes-types/core/v1.js';
import type { TestClient } from './testing/harness.js';
import { PERSISTENT_VOLUME_CLAIMS, PODS, STATEFULSETS } from '../client/resources.js';
import { newStatefulSetController } from './statefulset.js';
import { harness, makePodsReady } from './testing/harness.js';

const ssObj = (spec: Partial<StatefulSetSpec> = {}): StatefulSet => ({
  apiVersion: 'apps/v1', kind: 'StatefulSet',
  metadata: { name: 'db', namespace: 'default' },
  spec: {
    replicas: 3, serviceName: 'db-hl', podManagementPolicy: 'OrderedReady', revisionHistoryLimit: 10,
    selector: { matchLabels: { app: 'db' } },
    updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } },
    template: { metadata: { labels: { app: 'db' } }, spec: { containers: [{ name: 'c', image: 'db:1', volumeMounts: [{ name: 'data', mountPath: '/data' }] }] } },
    volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
    ...spec,
  },
});
const names = (c: TestClient) => c.objects<Pod>(PODS, 'default').filter((p) => !p.metadata?.deletionTimestamp).map((p) => p.metadata!.name!).sort();
const getSS = (c: TestClient) => c.peek<StatefulSet>(STATEFULSETS, 'default', 'db')!;
const pod = (c: TestClient, n: string) => c.peek<Pod>(PODS, 'default', n)!;

test('OrderedReady: pods come up one at a time in order, with identity and claims', async () => {
  const h = harness();
  h.start(newStatefulSetController(h.ctx));
  await h.client.create(STATEFULSETS, 'default', ssObj());
  await h.settle();
  assert.deepEqual(names(h.client), ['db-0']);
  const p0 = pod(h.client, 'db-0');
  assert.equal(p0.spec!.hostname, 'db-0');
  assert.equal(p0.spec!.subdomain, 'db-hl');
  assert.equal(p0.metadata!.labels!['statefulset.kubernetes.io/pod-name'], 'db-0');
  assert.equal(p0.metadata!.labels!['apps.kubernetes.io/pod-index'], '0');
  assert.deepEqual(p0.spec!.volumes, [{ name: 'data', persistentVolumeClaim: { claimName: 'data-db-0' } }]);
  const pvc = h.client.peek<PersistentVolumeClaim>(PERSISTENT_VOLUME_CLAIMS, 'default', 'data-db-0')!;
  assert.deepEqual(pvc.metadata!.labels, { app: 'db' });
  assert.equal(pvc.spec!.resources!.requests!.storage, '1Gi');

  // db-1 only after db-0 is Running and Ready.
  await h.clock.advance(1000);
  await h.settle();
  assert.deepEqual(names(h.client), ['db-0']);
  for (const next of [['db-0', 'db-1'], ['db-0', 'db-1', 'db-2'], ['db-0', 'db-1', 'db-2']]) {
    await makePodsReady(h.client, h.clock);
    await h.settle();
    assert.deepEqual(names(h.client), next);
  }
  const st = getSS(h.client).status!;
  assert.equal(st.replicas, 3);
  assert.equal(st.readyReplicas, 3);
  assert.equal(st.availableReplicas, 3);
  assert.equal(st.updatedReplicas, 3);
  assert.equal(st.currentReplicas, 3);
  assert.equal(st.currentRevision, st.updateRevision);
  assert.match(st.updateRevision!, /^db-[a-z0-9]+$/);
  assert.equal(pod(h.client, 'db-2').metadata!.labels!['controller-revision-hash'], st.updateRevision);
  assert.deepEqual(h.client.objects<PersistentVolumeClaim>(PERSISTENT_VOLUME_CLAIMS, 'default').map((c) => c.metadata!.name), ['data-db-0', 'data-db-1', 'data-db-2']);

  // Scale down removes the highest ordinal first, one at a time; claims are kept.
  h.client.clearActions();
  await h.client.patch(STATEFULSETS, 'default', 'db', 'merge', { spec: { replicas: 1 } });
  await h.settle();
  assert.deepEqual(names(h.client), ['db-0']);
  assert.deepEqual(h.client.actions.filter((a) => a.verb === 'delete').map((a) => a.name), ['db-2', 'db-1']);
  assert.equal(h.client.objects(PERSISTENT_VOLUME_CLAIMS, 'default').length, 3);
  h.stop();
});

test('a deleted pod comes back with the same name', async () => {
  const h = harness();
  h.start(newStatefulSetController(h.ctx));
  await h.client.create(STATEFULSETS, 'default', ssObj({ replicas: 2, podManagementPolicy: 'Parallel' }));
  await h.settle();
  assert.deepEqual(names(h.client), ['db-0', 'db-1'], 'Parallel: all at once');
  const uid = pod(h.client, 'db-1').metadata!.uid;
  await h.client.delete(PODS, 'default', 'db-1');
  await h.settle();
  assert.deepEqual(names(h.client), ['db-0', 'db-1']);
  assert.notEqual(pod(h.client, 'db-1').metadata!.uid, uid);
  h.stop();
});

test('RollingUpdate goes from the highest ordinal down to the partition', async () => {
  const h = harness();
  h.start(newStatefulSetController(h.ctx));
  await h.client.create(STATEFULSETS, 'default', ssObj({ updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 1 } } }));
  for (let i = 0; i < 4; i++) { await h.settle(); await makePodsReady(h.client, h.clock); }
  await h.settle();
  const rev1 = getSS(h.client).status!.currentRevision;
  await h.client.patch(STATEFULSETS, 'default', 'db', 'merge', { spec: { template: { spec: { containers: [{ name: 'c', image: 'db:2' }] } } } });
  await h.settle();
  const image = (n: string) => pod(h.client, n)?.spec!.containers[0].image;
  assert.deepEqual([image('db-0'), image('db-1'), image('db-2')], ['db:1', 'db:1', 'db:2'], 'db-2 first');
  let st = getSS(h.client).status!;
  assert.notEqual(st.updateRevision, rev1);
  assert.equal(st.currentRevision, rev1);
  assert.equal(st.updatedReplicas, 1);
  await makePodsReady(h.client, h.clock);
  await h.settle();
  assert.deepEqual([image('db-0'), image('db-1'), image('db-2')], ['db:1', 'db:2', 'db:2'], 'then db-1, once db-2 is ready');
  await makePodsReady(h.client, h.clock);
  await h.settle();
  assert.equal(image('db-0'), 'db:1', 'the partition keeps db-0');
  st = getSS(h.client).status!;
  assert.equal(st.updatedReplicas, 2);
  assert.equal(st.currentReplicas, 1);
  // A pod below the partition that is deleted comes back at the current revision.
  await h.client.delete(PODS, 'default', 'db-0');
  await h.settle();
  assert.equal(image('db-0'), 'db:1');
  assert.equal(pod(h.client, 'db-0').metadata!.labels!['controller-revision-hash'], rev1);
  h.stop();
});
