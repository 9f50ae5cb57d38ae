/** End-to-end: the official JavaScript client (@kubernetes/client-node 1.4) against `skiff server`. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as k8s from '@kubernetes/client-node';
import { eventually, startCluster, type TestCluster } from './support/cluster.js';

const WATCH_CACHE = 20;
let c: TestCluster;
let kc: k8s.KubeConfig;
let core: k8s.CoreV1Api;
let apps: k8s.AppsV1Api;

before(async () => {
  c = await startCluster({ args: ['--no-controllers', '--watch-cache-size', String(WATCH_CACHE)] });
  kc = new k8s.KubeConfig();
  kc.loadFromFile(c.kubeconfig);
  core = kc.makeApiClient(k8s.CoreV1Api);
  apps = kc.makeApiClient(k8s.AppsV1Api);
  for (const name of ['js-crud', 'js-watch', 'js-inf']) await core.createNamespace({ body: { metadata: { name } } });
});
after(async () => {
  await c?.destroy();
});

const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

async function status(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return 200;
  } catch (err) {
    return (err as { code?: number }).code ?? -1;
  }
}

test('CoreV1Api configmap CRUD: create, read, replace, merge and json patch, delete', async () => {
  const namespace = 'js-crud';
  const created = await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'cfg', labels: { app: 'a' } }, data: { k: 'v' } } });
  assert.ok(created.metadata?.uid);
  assert.ok(created.metadata?.creationTimestamp instanceof Date, 'creationTimestamp is parsed as a Date');
  assert.equal(await status(core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'cfg' } } })), 409);

  const read = await core.readNamespacedConfigMap({ name: 'cfg', namespace });
  assert.deepEqual(read.data, { k: 'v' });
  read.data = { k: 'v2', extra: 'x' };
  const replaced = await core.replaceNamespacedConfigMap({ name: 'cfg', namespace, body: read });
  assert.deepEqual(replaced.data, { k: 'v2', extra: 'x' });
  assert.notEqual(replaced.metadata?.resourceVersion, read.metadata?.resourceVersion);
  // A replace carrying the now-stale resourceVersion is a conflict.
  assert.equal(await status(core.replaceNamespacedConfigMap({ name: 'cfg', namespace, body: read })), 409);

  const merged = await core.patchNamespacedConfigMap({ name: 'cfg', namespace, body: { data: { extra: null, m: '1' } } }, mergePatch);
  assert.deepEqual(merged.data, { k: 'v2', m: '1' });
  // json-patch is the client's default for patch*.
  const jp = await core.patchNamespacedConfigMap({ name: 'cfg', namespace, body: [{ op: 'replace', path: '/data/k', value: 'jp' }, { op: 'add', path: '/metadata/labels/x', value: 'y' }] });
  assert.equal(jp.data?.k, 'jp');
  assert.deepEqual(jp.metadata?.labels, { app: 'a', x: 'y' });
  assert.equal(await status(core.patchNamespacedConfigMap({ name: 'cfg', namespace, body: [{ op: 'test', path: '/data/k', value: 'nope' }] })), 422);

  await core.deleteNamespacedConfigMap({ name: 'cfg', namespace });
  assert.equal(await status(core.readNamespacedConfigMap({ name: 'cfg', namespace })), 404);
});

test('AppsV1Api deployment CRUD with defaults, merge patch of replicas, validation', async () => {
  const namespace = 'js-crud';
  const body: k8s.V1Deployment = {
    metadata: { name: 'web', labels: { app: 'web' } },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'main', image: 'nginx:1.25', ports: [{ containerPort: 80 }] }] } },
    },
  };
  const d = await apps.createNamespacedDeployment({ namespace, body });
  assert.equal(d.metadata?.generation, 1);
  assert.equal(d.spec?.strategy?.type, 'RollingUpdate');
  assert.equal(d.spec?.template.spec?.containers[0].ports?.[0].protocol, 'TCP');
  const scaled = await apps.patchNamespacedDeployment({ name: 'web', namespace, body: { spec: { replicas: 4 } } }, mergePatch);
  assert.equal(scaled.spec?.replicas, 4);
  assert.equal(scaled.metadata?.generation, 2);
  const got = await apps.readNamespacedDeployment({ name: 'web', namespace });
  got.spec!.template.spec!.containers[0].image = 'nginx:1.26';
  const rep = await apps.replaceNamespacedDeployment({ name: 'web', namespace, body: got });
  assert.equal(rep.spec?.template.spec?.containers[0].image, 'nginx:1.26');
  const invalid = await status(apps.createNamespacedDeployment({ namespace, body: { ...body, metadata: { name: 'bad' }, spec: { ...body.spec!, replicas: -1 } } }));
  assert.equal(invalid, 422);
  await apps.deleteNamespacedDeployment({ name: 'web', namespace, propagationPolicy: 'Background' });
  assert.equal(await status(apps.readNamespacedDeployment({ name: 'web', namespace })), 404);
});

test('lists filter by label and field selectors', async () => {
  const namespace = 'js-crud';
  for (const [name, tier] of [['l1', 'fe'], ['l2', 'fe'], ['l3', 'be']]) {
    await core.createNamespacedConfigMap({ namespace, body: { metadata: { name, labels: { tier, sel: 'yes' } } } });
  }
  const names = (l: k8s.V1ConfigMapList) => l.items.map((i) => i.metadata!.name).sort();
  assert.deepEqual(names(await core.listNamespacedConfigMap({ namespace, labelSelector: 'tier=fe' })), ['l1', 'l2']);
  assert.deepEqual(names(await core.listNamespacedConfigMap({ namespace, labelSelector: 'sel,tier notin (fe)' })), ['l3']);
  assert.deepEqual(names(await core.listNamespacedConfigMap({ namespace, fieldSelector: 'metadata.name=l2' })), ['l2']);
  assert.deepEqual(names(await core.listNamespacedConfigMap({ namespace, labelSelector: 'sel=yes', fieldSelector: 'metadata.name!=l1' })), ['l2', 'l3']);
  const all = await core.listConfigMapForAllNamespaces({ labelSelector: 'tier=be' });
  assert.deepEqual(all.items.map((i) => `${i.metadata!.namespace}/${i.metadata!.name}`), ['js-crud/l3']);
  assert.ok(all.metadata?.resourceVersion);
  assert.equal(await status(core.listNamespacedConfigMap({ namespace, fieldSelector: 'data.k=v' })), 400);
});

test('Watch receives ADDED, MODIFIED and DELETED, and reports a non-200 reply', async () => {
  const namespace = 'js-watch';
  const events: string[] = [];
  const list = await core.listNamespacedConfigMap({ namespace });
  const watch = new k8s.Watch(kc);
  const ctl = await watch.watch(
    `/api/v1/namespaces/${namespace}/configmaps`,
    { resourceVersion: list.metadata!.resourceVersion },
    (type, obj: k8s.V1ConfigMap) => events.push(`${type} ${obj.metadata?.name} ${obj.data?.v ?? ''}`.trim()),
    () => {},
  );
  await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'w' }, data: { v: '1' } } });
  await core.patchNamespacedConfigMap({ name: 'w', namespace, body: { data: { v: '2' } } }, mergePatch);
  await core.deleteNamespacedConfigMap({ name: 'w', namespace });
  await eventually(() => events.length >= 3, 5000, `watch events, got ${JSON.stringify(events)}`);
  assert.deepEqual(events, ['ADDED w 1', 'MODIFIED w 2', 'DELETED w 2']);
  ctl.abort();

  let err: { statusCode?: number } | undefined;
  await watch.watch(`/api/v1/namespaces/${namespace}/nosuchresource`, {}, () => {}, (e) => (err = e));
  await eventually(() => err, 5000, 'done callback for a bad path');
  assert.equal(err!.statusCode, 404);
});

test('makeInformer survives a 410: it relists and ends with the right cache', async () => {
  const namespace = 'js-inf';
  for (const n of ['keep', 'gone', 'changed']) await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: n }, data: { v: '0' } } });
  const path = `/api/v1/namespaces/${namespace}/configmaps`;
  const informer = k8s.makeInformer(kc, path, () => core.listNamespacedConfigMap({ namespace }));
  // The informer's own Watch, behind a gate: the first stream is closed by the server after
  // 1 s (timeoutSeconds), and the re-watch from the old resourceVersion waits until the
  // history has moved on by more than the watch cache holds.
  const real = new k8s.Watch(kc);
  const watchRvs: string[] = [];
  let openGate!: () => void;
  const gate = new Promise<void>((r) => (openGate = r));
  const inner = informer as unknown as { watch: { watch: k8s.Watch['watch'] } };
  inner.watch = {
    watch: async (p, params, cb, done) => {
      watchRvs.push(String(params.resourceVersion));
      if (watchRvs.length === 1) return real.watch(p, { ...params, timeoutSeconds: 1 }, cb, done);
      await gate;
      return real.watch(p, params, cb, done);
    },
  };
  const errors: unknown[] = [];
  informer.on('error', (e) => errors.push(e));
  const deleted: string[] = [];
  informer.on('delete', (o) => deleted.push(o.metadata!.name!));
  await informer.start();
  await eventually(() => informer.list(namespace).length === 3, 5000, 'initial list');
  await eventually(() => watchRvs.length === 2, 5000, 'the informer to re-watch after the server closed the stream');
  const oldRv = watchRvs[1];

  await core.deleteNamespacedConfigMap({ name: 'gone', namespace });
  await core.patchNamespacedConfigMap({ name: 'changed', namespace, body: { data: { v: '1' } } }, mergePatch);
  for (let i = 0; i < WATCH_CACHE + 5; i++) {
    await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: `n${i}` }, data: { v: String(i) } } });
  }
  // Prove the re-watch is really too old for the server.
  const direct = await fetchWatch(path, oldRv);
  assert.match(direct, /"code":410/);
  assert.match(direct, /"reason":"Expired"/);

  openGate();
  const want = ['changed', 'keep', ...Array.from({ length: WATCH_CACHE + 5 }, (_, i) => `n${i}`)].sort();
  await eventually(() => JSON.stringify(informer.list(namespace).map((o) => o.metadata!.name).sort()) === JSON.stringify(want), 10_000, 'cache after relist');
  assert.equal(informer.get('changed', namespace)?.data?.v, '1');
  assert.deepEqual(deleted, ['gone']);
  // It relisted (empty resourceVersion means "list first") and watches again from the new list.
  await eventually(() => watchRvs.length >= 3, 5000, `watches: ${watchRvs.join(',')}`);
  assert.ok(Number(watchRvs[2]) > Number(oldRv), `re-watch after relist from ${watchRvs[2]}`);
  assert.deepEqual(errors, []);
  // And it keeps following live changes.
  await core.deleteNamespacedConfigMap({ name: 'keep', namespace });
  await eventually(() => !informer.get('keep', namespace), 5000, 'live delete after relist');
  await informer.stop();
});

/** One raw watch from `rv` that ends by itself after a second; returns the body. */
async function fetchWatch(path: string, rv: string): Promise<string> {
  const lines: string[] = [];
  await new Promise<void>((resolve) => {
    void new k8s.Watch(kc).watch(path, { resourceVersion: rv, timeoutSeconds: 1 }, (type, obj) => lines.push(JSON.stringify({ type, object: obj })), () => resolve());
  });
  return lines.join('\n');
}
