import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StatusError } from '../api/errors.js';
import type { KObject } from '../api/registry.js';
import { memoryApi } from './testing/memory-api.js';

const reason = (r: string, code?: number) => (err: unknown) => err instanceof StatusError && err.reason === r && (code === undefined || err.code === code);

test('create fills server-set metadata, defaults and prepareForCreate, and stores the object', async () => {
  const api = await memoryApi();
  try {
    const deployments = api.def('Deployment', 'apps');
    const created = await api.storage.create(
      deployments,
      'default',
      { metadata: { name: 'web', resourceVersion: '99', uid: 'client-uid' }, spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } } },
      api.ctx,
    );
    const md = created.metadata!;
    assert.equal(created.apiVersion, 'apps/v1');
    assert.equal(created.kind, 'Deployment');
    assert.equal(md.namespace, 'default');
    assert.notEqual(md.uid, 'client-uid');
    assert.equal(md.creationTimestamp, '2024-01-01T00:00:00Z', 'from the injected clock');
    assert.equal(md.generation, 1);
    assert.equal((created.spec as { replicas: number }).replicas, 1, 'defaulted');
    const cached = api.cache.get(deployments, 'default', 'web')!;
    assert.equal(String(cached.rv), md.resourceVersion, 'read-your-writes: the cache has it when create returns');
  } finally {
    api.close();
  }
});

test('create refuses duplicates, missing names, missing or terminating namespaces; generateName makes a name', async () => {
  const api = await memoryApi();
  try {
    const cms = api.def('ConfigMap');
    await api.storage.create(cms, 'default', { metadata: { name: 'a' } }, api.ctx);
    await assert.rejects(api.storage.create(cms, 'default', { metadata: { name: 'a' } }, api.ctx), reason('AlreadyExists', 409));
    await assert.rejects(api.storage.create(cms, 'default', { metadata: {} }, api.ctx), reason('Invalid', 422));
    await assert.rejects(api.storage.create(cms, 'nowhere', { metadata: { name: 'a' } }, api.ctx), reason('NotFound', 404));
    await assert.rejects(api.storage.create(cms, 'default', { metadata: { name: 'b', namespace: 'other' } }, api.ctx), reason('BadRequest', 400));
    const gen = await api.storage.create(cms, 'default', { metadata: { generateName: 'cfg-' } }, api.ctx);
    assert.match(gen.metadata!.name!, /^cfg-[a-z0-9]{5}$/);

    const ns = api.def('Namespace');
    await api.storage.create(ns, '', { metadata: { name: 'doomed' } }, api.ctx);
    await api.storage.delete(ns, '', 'doomed', {}, api.ctx);
    await assert.rejects(api.storage.create(cms, 'doomed', { metadata: { name: 'x' } }, api.ctx), reason('Forbidden', 403));
  } finally {
    api.close();
  }
});

test('dry-run create validates without writing', async () => {
  const api = await memoryApi();
  try {
    const cms = api.def('ConfigMap');
    const rev = api.cache.revision();
    const obj = await api.storage.create(cms, 'default', { metadata: { name: 'dry' } }, { ...api.ctx, dryRun: true });
    assert.equal(obj.metadata?.name, 'dry');
    assert.equal(api.cache.get(cms, 'default', 'dry'), undefined);
    assert.equal(api.cache.revision(), rev);
  } finally {
    api.close();
  }
});

test('update: optimistic concurrency, status separation, generation, no-op writes nothing', async () => {
  const api = await memoryApi();
  try {
    const deployments = api.def('Deployment', 'apps');
    const spec = { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } };
    const v1 = await api.storage.create(deployments, 'default', { metadata: { name: 'web' }, spec }, api.ctx);

    // A stale resourceVersion is a conflict.
    const stale = { ...v1, metadata: { ...v1.metadata, resourceVersion: '1' } };
    await assert.rejects(api.storage.update(deployments, 'default', 'web', stale, api.ctx), reason('Conflict', 409));

    // The main resource ignores status; a spec change bumps generation.
    const v2 = await api.storage.update(deployments, 'default', 'web', (d: KObject) => ({ ...d, spec: { ...(d.spec as object), replicas: 3 }, status: { replicas: 42 } }), api.ctx);
    assert.equal(v2.metadata?.generation, 2);
    assert.equal((v2.status as { replicas?: number } | undefined)?.replicas, undefined);

    // The status subresource changes only status and keeps generation.
    const v3 = await api.storage.update(deployments, 'default', 'web', (d: KObject) => ({ ...d, spec: { ...(d.spec as object), replicas: 7 }, status: { replicas: 3 } }), api.ctx, 'status');
    assert.equal((v3.status as { replicas: number }).replicas, 3);
    assert.equal((v3.spec as { replicas: number }).replicas, 3);
    assert.equal(v3.metadata?.generation, 2);

    // Writing the same object again is a no-op: same resourceVersion, no new revision.
    const rev = api.cache.revision();
    const same = await api.storage.update(deployments, 'default', 'web', (d: KObject) => d, api.ctx);
    assert.equal(same.metadata?.resourceVersion, v3.metadata?.resourceVersion);
    assert.equal(api.cache.revision(), rev);

    await assert.rejects(api.storage.update(deployments, 'default', 'nope', (d: KObject) => d, api.ctx), reason('NotFound', 404));
    await assert.rejects(api.storage.update(deployments, 'default', 'web', { metadata: { name: 'other' } }, api.ctx), reason('BadRequest', 400));
  } finally {
    api.close();
  }
});

test('delete without finalizers removes the object; preconditions are checked', async () => {
  const api = await memoryApi();
  try {
    const cms = api.def('ConfigMap');
    const cm = await api.storage.create(cms, 'default', { metadata: { name: 'a' } }, api.ctx);
    await assert.rejects(api.storage.delete(cms, 'default', 'a', { preconditions: { uid: 'wrong' } }, api.ctx), reason('Conflict', 409));
    const { obj, pending } = await api.storage.delete(cms, 'default', 'a', { preconditions: { uid: cm.metadata!.uid } }, api.ctx);
    assert.equal(pending, false);
    assert.equal(obj.metadata?.uid, cm.metadata!.uid);
    assert.equal(api.cache.get(cms, 'default', 'a'), undefined);
    await assert.rejects(api.storage.delete(cms, 'default', 'a', {}, api.ctx), reason('NotFound', 404));
  } finally {
    api.close();
  }
});

test('finalizers hold a deleted object until the last one is removed; propagation policies add theirs', async () => {
  const api = await memoryApi();
  try {
    const cms = api.def('ConfigMap');
    await api.storage.create(cms, 'default', { metadata: { name: 'held', finalizers: ['example.com/x'] } }, api.ctx);
    const first = await api.storage.delete(cms, 'default', 'held', { propagationPolicy: 'Foreground' }, api.ctx);
    assert.equal(first.pending, true);
    assert.equal(first.obj.metadata?.deletionTimestamp, '2024-01-01T00:00:00Z');
    assert.deepEqual(first.obj.metadata?.finalizers, ['example.com/x', 'foregroundDeletion']);
    assert.ok(api.cache.get(cms, 'default', 'held'));

    await api.storage.update(cms, 'default', 'held', (o: KObject) => ({ ...o, metadata: { ...o.metadata, finalizers: ['foregroundDeletion'] } }), api.ctx);
    assert.ok(api.cache.get(cms, 'default', 'held'), 'still one finalizer');
    await api.storage.update(cms, 'default', 'held', (o: KObject) => ({ ...o, metadata: { ...o.metadata, finalizers: [] } }), api.ctx);
    assert.equal(api.cache.get(cms, 'default', 'held'), undefined, 'gone with its last finalizer');

    await api.storage.create(cms, 'default', { metadata: { name: 'orphaned' } }, api.ctx);
    const orphan = await api.storage.delete(cms, 'default', 'orphaned', { orphanDependents: true }, api.ctx);
    assert.deepEqual(orphan.obj.metadata?.finalizers, ['orphan']);
  } finally {
    api.close();
  }
});

test('pods: a bound pod is deleted gracefully, an unbound one at once (strategy.checkGracefulDelete)', async () => {
  const api = await memoryApi();
  try {
    const pods = api.def('Pod');
    const pod = (name: string, nodeName?: string) => ({ metadata: { name }, spec: { nodeName, containers: [{ name: 'c', image: 'nginx' }] } });
    await api.storage.create(pods, 'default', pod('bound', 'n1'), api.ctx);
    await api.storage.create(pods, 'default', pod('unbound'), api.ctx);

    const graceful = await api.storage.delete(pods, 'default', 'bound', {}, api.ctx);
    assert.equal(graceful.pending, true);
    assert.equal(graceful.obj.metadata?.deletionGracePeriodSeconds, 30);
    assert.equal(graceful.obj.metadata?.deletionTimestamp, '2024-01-01T00:00:30Z');
    // The kubelet confirms with grace period 0.
    const confirmed = await api.storage.delete(pods, 'default', 'bound', { gracePeriodSeconds: 0 }, api.ctx);
    assert.equal(confirmed.pending, false);
    assert.equal(api.cache.get(pods, 'default', 'bound'), undefined);

    const now = await api.storage.delete(pods, 'default', 'unbound', {}, api.ctx);
    assert.equal(now.pending, false);

    await api.storage.create(pods, 'default', pod('neg', 'n1'), api.ctx);
    await assert.rejects(api.storage.delete(pods, 'default', 'neg', { gracePeriodSeconds: -1 }, api.ctx), reason('BadRequest', 400));
  } finally {
    api.close();
  }
});

test('namespaces: delete marks Terminating and spec.finalizers hold it until finalize clears them', async () => {
  const api = await memoryApi();
  try {
    const ns = api.def('Namespace');
    await api.storage.create(ns, '', { metadata: { name: 'team' } }, api.ctx);
    const { obj, pending } = await api.storage.delete(ns, '', 'team', {}, api.ctx);
    assert.equal(pending, true);
    assert.equal((obj.status as { phase: string }).phase, 'Terminating');
    assert.deepEqual((obj.spec as { finalizers: string[] }).finalizers, ['kubernetes']);

    // A main-resource update cannot drop spec.finalizers; finalize can.
    await api.storage.update(ns, '', 'team', (o: KObject) => ({ ...o, spec: { finalizers: [] } }), api.ctx);
    assert.ok(api.cache.get(ns, '', 'team'));
    await api.storage.update(ns, '', 'team', (o: KObject) => ({ ...o, spec: { finalizers: [] } }), api.ctx, 'finalize');
    assert.equal(api.cache.get(ns, '', 'team'), undefined);
  } finally {
    api.close();
  }
});

test('admission plugins see creates and may refuse them', async () => {
  const api = await memoryApi();
  try {
    const cms = api.def('ConfigMap');
    const seen: string[] = [];
    api.storage.addAdmission((op, def, obj) => {
      seen.push(`${op} ${def.kind} ${obj.metadata?.name}`);
      if (obj.metadata?.name === 'refused') throw new StatusError(403, 'Forbidden', 'no');
    });
    await api.storage.create(cms, 'default', { metadata: { name: 'ok' } }, api.ctx);
    await assert.rejects(api.storage.create(cms, 'default', { metadata: { name: 'refused' } }, api.ctx), reason('Forbidden'));
    await api.storage.delete(cms, 'default', 'ok', {}, api.ctx);
    assert.deepEqual(seen, ['CREATE ConfigMap ok', 'CREATE ConfigMap refused', 'DELETE ConfigMap ok']);
  } finally {
    api.close();
  }
});
