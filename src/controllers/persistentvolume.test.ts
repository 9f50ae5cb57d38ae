import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Node, PersistentVolume, PersistentVolumeClaim, Pod } from 'kubernetes-types/core/v1.js';
import type { StorageClass } from 'kubernetes-types/storage/v1.js';
import { NODES, PERSISTENT_VOLUME_CLAIMS, PERSISTENT_VOLUMES, PODS, STORAGE_CLASSES } from '../client/resources.js';
import { newPersistentVolumeController } from './persistentvolume.js';
import { isReleased } from './pv-binding.js';
import { findMatchingVolume, volumeMismatch } from '../api/storage/volume-matching.js';
import { harness, type TestClient } from './testing/harness.js';

const pv = (name: string, size: string, extra: Partial<PersistentVolume['spec']> = {}, labels?: Record<string, string>): PersistentVolume => ({
  apiVersion: 'v1', kind: 'PersistentVolume',
  metadata: { name, labels },
  spec: { capacity: { storage: size }, accessModes: ['ReadWriteOnce'], persistentVolumeReclaimPolicy: 'Retain', storageClassName: 'manual', hostPath: { path: `/tmp/${name}` }, ...extra },
});
const pvc = (name: string, size: string, extra: Partial<PersistentVolumeClaim['spec']> = {}): PersistentVolumeClaim => ({
  apiVersion: 'v1', kind: 'PersistentVolumeClaim',
  metadata: { name, namespace: 'default' },
  spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: size } }, storageClassName: 'manual', ...extra },
});
const claim = (c: TestClient, name: string) => c.peek<PersistentVolumeClaim>(PERSISTENT_VOLUME_CLAIMS, 'default', name);
const volume = (c: TestClient, name: string) => c.peek<PersistentVolume>(PERSISTENT_VOLUMES, undefined, name);

test('matching: class, access modes, capacity and selector; the smallest volume that fits wins', () => {
  const vols = [pv('big', '10Gi'), pv('small', '1Gi'), pv('mid', '5Gi'), pv('rwx', '2Gi', { accessModes: ['ReadWriteMany'] }), pv('fast', '1Gi', { storageClassName: 'fast' })];
  assert.equal(findMatchingVolume(pvc('c', '2Gi'), vols)?.metadata?.name, 'mid');
  assert.equal(findMatchingVolume(pvc('c', '1Gi', { accessModes: ['ReadWriteMany'] }), vols)?.metadata?.name, 'rwx');
  assert.equal(findMatchingVolume(pvc('c', '20Gi'), vols), undefined);
  assert.equal(findMatchingVolume(pvc('c', '1Gi', { storageClassName: 'fast' }), vols)?.metadata?.name, 'fast');
  assert.equal(findMatchingVolume(pvc('c', '1Gi', { volumeName: 'big' }), vols)?.metadata?.name, 'big');
  const labelled = [pv('a', '1Gi', {}, { tier: 'gold' }), pv('b', '1Gi')];
  assert.equal(findMatchingVolume(pvc('c', '1Gi', { selector: { matchLabels: { tier: 'gold' } } }), labelled)?.metadata?.name, 'a');
  assert.equal(volumeMismatch(pv('x', '1Gi'), pvc('c', '2Gi')), 'requested PV is too small');
  // A volume pre-bound to another claim is not taken.
  const taken = pv('t', '1Gi', { claimRef: { namespace: 'default', name: 'other' } });
  assert.equal(findMatchingVolume(pvc('c', '1Gi'), [taken]), undefined);
  const withUid = { ...pvc('c', '1Gi'), metadata: { name: 'c', namespace: 'default', uid: 'u2' } };
  assert.equal(isReleased(pv('r', '1Gi', { claimRef: { namespace: 'default', name: 'c', uid: 'u1' } }), withUid), true);
  assert.equal(isReleased(pv('r', '1Gi', { claimRef: { namespace: 'default', name: 'c', uid: 'u2' } }), withUid), false);
});

test('a claim binds to a hand-made volume; deleting it releases the volume, which Retain keeps and Delete removes', async () => {
  const h = harness();
  h.start(newPersistentVolumeController(h.ctx));
  await h.client.create(PERSISTENT_VOLUMES, undefined, pv('keep', '1Gi'));
  await h.client.create(PERSISTENT_VOLUMES, undefined, pv('gone', '3Gi', { persistentVolumeReclaimPolicy: 'Delete' }));
  await h.client.create(PERSISTENT_VOLUME_CLAIMS, 'default', pvc('a', '500Mi'));
  await h.client.create(PERSISTENT_VOLUME_CLAIMS, 'default', pvc('b', '2Gi'));
  await h.settle();
  assert.equal(claim(h.client, 'a')?.spec?.volumeName, 'keep');
  assert.equal(claim(h.client, 'a')?.status?.phase, 'Bound');
  assert.equal(claim(h.client, 'a')?.status?.capacity?.storage, '1Gi');
  assert.equal(claim(h.client, 'a')?.metadata?.annotations?.['pv.kubernetes.io/bind-completed'], 'yes');
  assert.deepEqual(claim(h.client, 'a')?.metadata?.finalizers, ['kubernetes.io/pvc-protection']);
  assert.equal(volume(h.client, 'keep')?.status?.phase, 'Bound');
  assert.equal(volume(h.client, 'keep')?.spec?.claimRef?.name, 'a');
  assert.equal(claim(h.client, 'b')?.spec?.volumeName, 'gone');

  await h.client.delete(PERSISTENT_VOLUME_CLAIMS, 'default', 'a');
  await h.client.delete(PERSISTENT_VOLUME_CLAIMS, 'default', 'b');
  await h.settle();
  assert.equal(claim(h.client, 'a'), undefined, 'no pod uses the claim, so protection lets it go');
  assert.equal(volume(h.client, 'keep')?.status?.phase, 'Released');
  assert.equal(volume(h.client, 'gone'), undefined);
  h.stop();
});

test('WaitForFirstConsumer: the default local-path class provisions on the node a consuming pod is placed on', async () => {
  const h = harness();
  h.start(newPersistentVolumeController(h.ctx));
  const node: Node = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1', annotations: { 'skiff.dev/storage-dir': '/data/n1/storage' } } };
  await h.client.create(NODES, undefined, node);
  await h.client.create(PERSISTENT_VOLUME_CLAIMS, 'default', pvc('data', '1Gi', { storageClassName: undefined }));
  await h.settle();
  const sc = h.client.peek<StorageClass>(STORAGE_CLASSES, undefined, 'local-path')!;
  assert.equal(sc.metadata?.annotations?.['storageclass.kubernetes.io/is-default-class'], 'true');
  assert.equal(sc.volumeBindingMode, 'WaitForFirstConsumer');
  assert.equal(claim(h.client, 'data')?.spec?.storageClassName, 'local-path', 'a class-less claim gets the default class');
  assert.equal(claim(h.client, 'data')?.status?.phase, 'Pending');
  assert.ok(h.recorder.events.includes('Normal WaitForFirstConsumer waiting for first consumer to be created before binding'));

  const consumer: Pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'db', namespace: 'default' }, spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'busybox' }], volumes: [{ name: 'v', persistentVolumeClaim: { claimName: 'data' } }] } };
  await h.client.create(PODS, 'default', consumer);
  await h.settle();
  const bound = claim(h.client, 'data')!;
  assert.equal(bound.metadata?.annotations?.['volume.kubernetes.io/selected-node'], 'n1');
  assert.equal(bound.status?.phase, 'Bound');
  const made = volume(h.client, bound.spec!.volumeName!)!;
  assert.equal(made.metadata?.name, `pvc-${bound.metadata?.uid}`);
  assert.equal(made.spec?.hostPath?.path, `/data/n1/storage/pvc-${bound.metadata?.uid}_default_data`);
  assert.deepEqual(made.spec?.nodeAffinity?.required?.nodeSelectorTerms?.[0]?.matchExpressions?.[0]?.values, ['n1']);
  assert.equal(made.spec?.persistentVolumeReclaimPolicy, 'Delete');
  assert.ok(h.recorder.events.some((e) => e.startsWith('Normal ProvisioningSucceeded Successfully provisioned volume pvc-')));

  // pvc-protection: deleting the claim while the pod uses it leaves it Terminating.
  await h.client.delete(PERSISTENT_VOLUME_CLAIMS, 'default', 'data');
  await h.settle();
  assert.ok(claim(h.client, 'data')?.metadata?.deletionTimestamp);
  await h.client.delete(PODS, 'default', 'db', { gracePeriodSeconds: 0 });
  await h.settle();
  assert.equal(claim(h.client, 'data'), undefined);
  assert.equal(volume(h.client, made.metadata!.name!), undefined, 'reclaim policy Delete removes the provisioned volume');
  h.stop();
});
