import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { selectorFromLabelSelector } from '../api/labels.js';
import { PODS, REPLICASETS } from '../client/resources.js';
import type { KObject } from '../client/types.js';
import { claimObjects, selectingControllers } from './controller-ref-manager.js';
import { harness } from './testing/harness.js';
import { resolveControllerRef } from './util.js';

type P = Pod & KObject;

async function setup() {
  const h = harness();
  const owner = await h.client.create<KObject>(REPLICASETS, 'default', {
    metadata: { name: 'web' },
    spec: { replicas: 0, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } },
  });
  const ref = (uid: string, controller = true) => ({ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web', uid, controller });
  const pod = (name: string, app: string, ownerReferences?: unknown[]) =>
    h.client.create(PODS, 'default', { metadata: { name, labels: { app }, ...(ownerReferences ? { ownerReferences } : {}) }, spec: { containers: [{ name: 'c', image: 'busybox' }] } });
  await pod('owned', 'web', [ref(owner.metadata!.uid!)]);
  await pod('owned-relabelled', 'debug', [ref(owner.metadata!.uid!)]);
  await pod('orphan', 'web');
  await pod('orphan-other', 'db');
  await pod('someone-elses', 'web', [ref('other-uid')]);
  const podInf = h.informers.informerFor<P>(PODS);
  h.informers.start();
  await podInf.waitForSync();
  const claim = (o: KObject) => claimObjects({
    client: h.client, owner: o, ownerResource: REPLICASETS, ownerApiVersion: 'apps/v1', ownerKind: 'ReplicaSet',
    informer: podInf, resource: PODS, selector: selectorFromLabelSelector({ matchLabels: { app: 'web' } }),
  });
  const controllerOf = async (name: string) => (await h.client.get<P>(PODS, 'default', name)).metadata?.ownerReferences?.find((r) => r.controller)?.uid;
  return { h, owner, podInf, claim, controllerOf };
}

test('claimObjects keeps matching owned objects, releases the rest and adopts matching orphans', async () => {
  const { h, owner, claim, controllerOf } = await setup();
  const claimed = await claim(owner);
  assert.deepEqual(claimed.map((p) => p.metadata!.name).sort(), ['orphan', 'owned']);
  assert.equal(await controllerOf('orphan'), owner.metadata!.uid);
  assert.equal(await controllerOf('owned-relabelled'), undefined, 'released');
  assert.equal(await controllerOf('orphan-other'), undefined);
  assert.equal(await controllerOf('someone-elses'), 'other-uid');
  h.stop();
});

test('claimObjects adopts nothing for an owner that is gone or being deleted', async () => {
  const { h, owner, claim, controllerOf } = await setup();
  const deleting = { ...owner, metadata: { ...owner.metadata, deletionTimestamp: '2024-01-01T00:00:00Z' } };
  assert.deepEqual((await claim(deleting)).map((p) => p.metadata!.name), ['owned']);
  assert.equal(await controllerOf('owned-relabelled'), owner.metadata!.uid, 'a deleting owner releases nothing either');
  assert.equal(await controllerOf('orphan'), undefined);
  // The cached owner is stale: the server has a different object under its name.
  await h.client.delete(REPLICASETS, 'default', 'web');
  await h.client.create(REPLICASETS, 'default', { metadata: { name: 'web' }, spec: { selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } } });
  assert.deepEqual((await claim(owner)).map((p) => p.metadata!.name), ['owned']);
  assert.equal(await controllerOf('orphan'), undefined);
  h.stop();
});

test('resolveControllerRef: only the same object of the named kind', () => {
  const owner = { metadata: { name: 'web', namespace: 'default', uid: 'u1' } };
  const cache = { get: (ns: string | undefined, name: string) => (ns === 'default' && name === 'web' ? owner : undefined) };
  const child = (kind: string, uid: string, controller = true) => ({ metadata: { namespace: 'default', ownerReferences: [{ apiVersion: 'apps/v1', kind, name: 'web', uid, controller }] } });
  assert.equal(resolveControllerRef(cache, child('ReplicaSet', 'u1'), 'ReplicaSet'), owner);
  assert.equal(resolveControllerRef(cache, child('ReplicaSet', 'u2'), 'ReplicaSet'), undefined, 'replaced under the same name');
  assert.equal(resolveControllerRef(cache, child('Job', 'u1'), 'ReplicaSet'), undefined, 'another kind');
  assert.equal(resolveControllerRef(cache, child('ReplicaSet', 'u1', false), 'ReplicaSet'), undefined, 'not the controller');
  assert.equal(resolveControllerRef(cache, { metadata: {} }, 'ReplicaSet'), undefined);
});

test('selectingControllers: who may adopt an orphan', () => {
  const rs = (name: string, namespace: string, matchLabels?: Record<string, string>) => ({ metadata: { name, namespace }, spec: { selector: { matchLabels } } });
  const all = [rs('web', 'default', { app: 'web' }), rs('all', 'default', {}), rs('db', 'default', { app: 'db' }), rs('web2', 'other', { app: 'web' })];
  const cache = { list: (ns?: string) => all.filter((r) => r.metadata.namespace === ns) };
  const names = selectingControllers(cache, { metadata: { namespace: 'default', labels: { app: 'web' } } }).map((r) => r.metadata.name);
  assert.deepEqual(names, ['web'], 'an empty selector adopts nothing; other namespaces do not count');
});
