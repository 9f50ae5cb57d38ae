import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CollectingSink, memoryApi, until } from './testing/memory-api.js';

const podBody = (name: string, labels: Record<string, string> = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels },
  spec: { containers: [{ name: 'c', image: 'nginx' }] },
});

test('public paths need no token; everything else does', async () => {
  const api = await memoryApi();
  try {
    assert.equal((await api.request('GET', '/healthz', { headers: { authorization: '' } })).status, 200);
    assert.equal((await api.request('GET', '/api/v1/pods', { headers: { authorization: '' } })).status, 401);
    assert.equal((await api.request('GET', '/api/v1/nothings')).status, 404);
    assert.equal((await api.request('GET', '/api/v1/namespaces/default/pods/a/nosuchsub')).status, 404);
    assert.equal((await api.request('GET', '/api/v1/namespaces/default/nodes')).status, 404, 'cluster-scoped under a namespace');
  } finally {
    api.close();
  }
});

test('create, get and list pods as JSON and as a table', async () => {
  const api = await memoryApi();
  try {
    const created = await api.request('POST', '/api/v1/namespaces/default/pods', { body: podBody('a', { app: 'x' }) });
    assert.equal(created.status, 201);
    assert.equal(created.body.status.phase, 'Pending');
    await api.request('POST', '/api/v1/namespaces/default/pods', { body: podBody('b') });

    const got = await api.request('GET', '/api/v1/namespaces/default/pods/a');
    assert.equal(got.status, 200);
    assert.equal(got.body.metadata.resourceVersion, created.body.metadata.resourceVersion);

    const list = await api.request('GET', '/api/v1/pods', { query: { labelSelector: 'app=x' } });
    assert.equal(list.body.kind, 'PodList');
    assert.deepEqual(list.body.items.map((p: any) => p.metadata.name), ['a']);
    assert.equal(list.body.metadata.resourceVersion, String(api.cache.revision()));

    const byField = await api.request('GET', '/api/v1/namespaces/default/pods', { query: { fieldSelector: 'metadata.name=b' } });
    assert.deepEqual(byField.body.items.map((p: any) => p.metadata.name), ['b']);
    assert.equal((await api.request('GET', '/api/v1/pods', { query: { fieldSelector: 'spec.nope=1' } })).status, 400);

    const tbl = await api.request('GET', '/api/v1/namespaces/default/pods', { headers: { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' } });
    assert.equal(tbl.body.kind, 'Table');
    assert.deepEqual(tbl.body.rows.map((r: any) => r.cells[0]), ['a', 'b']);
  } finally {
    api.close();
  }
});

test('list pages with limit and continue, every page at the first page revision', async () => {
  const api = await memoryApi();
  try {
    for (const n of ['a', 'b', 'c']) await api.request('POST', '/api/v1/namespaces/default/configmaps', { body: { metadata: { name: n } } });
    const p1 = await api.request('GET', '/api/v1/namespaces/default/configmaps', { query: { limit: '2' } });
    assert.deepEqual(p1.body.items.map((o: any) => o.metadata.name), ['a', 'b']);
    await api.request('POST', '/api/v1/namespaces/default/configmaps', { body: { metadata: { name: 'd' } } });
    const p2 = await api.request('GET', '/api/v1/namespaces/default/configmaps', { query: { limit: '2', continue: p1.body.metadata.continue } });
    assert.deepEqual(p2.body.items.map((o: any) => o.metadata.name), ['c', 'd']);
    assert.equal(p2.body.metadata.resourceVersion, p1.body.metadata.resourceVersion);
    assert.equal((await api.request('GET', '/api/v1/namespaces/default/configmaps', { query: { continue: 'garbage' } })).status, 400);
  } finally {
    api.close();
  }
});

test('bodies: YAML is accepted; bad JSON, wrong kind and wrong apiVersion are 400s', async () => {
  const api = await memoryApi();
  try {
    const yaml = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-yaml\ndata:\n  k: v\n';
    const ok = await api.request('POST', '/api/v1/namespaces/default/configmaps', { body: yaml, headers: { 'content-type': 'application/yaml' } });
    assert.equal(ok.status, 201);
    assert.equal(ok.body.data.k, 'v');
    assert.equal((await api.request('POST', '/api/v1/namespaces/default/configmaps', { body: '{nope' })).status, 400);
    assert.equal((await api.request('POST', '/api/v1/namespaces/default/configmaps', { body: { kind: 'Secret', metadata: { name: 'x' } } })).status, 400);
    assert.equal((await api.request('POST', '/api/v1/namespaces/default/configmaps', { body: { apiVersion: 'apps/v1', metadata: { name: 'x' } } })).status, 400);
    assert.equal((await api.request('POST', '/api/v1/namespaces/default/configmaps', { body: '[]' })).status, 400);
    assert.equal((await api.request('POST', '/api/v1/namespaces/default/configmaps', { body: 'x', headers: { 'content-type': 'text/plain' } })).status, 415);
  } finally {
    api.close();
  }
});

test('update, merge patch and server-side apply (which creates)', async () => {
  const api = await memoryApi();
  try {
    const base = '/api/v1/namespaces/default/configmaps';
    const c = await api.request('POST', base, { body: { metadata: { name: 'a' }, data: { x: '1' } } });
    const put = await api.request('PUT', `${base}/a`, { body: { metadata: { name: 'a', resourceVersion: c.body.metadata.resourceVersion }, data: { x: '2' } } });
    assert.equal(put.status, 200);
    assert.equal((await api.request('PUT', `${base}/a`, { body: { metadata: { name: 'a', resourceVersion: c.body.metadata.resourceVersion }, data: {} } })).status, 409);
    const patched = await api.request('PATCH', `${base}/a`, { body: { data: { y: '3' } }, headers: { 'content-type': 'application/merge-patch+json' } });
    assert.deepEqual(patched.body.data, { x: '2', y: '3' });
    const applied = await api.request('PATCH', `${base}/new`, {
      body: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: new\ndata:\n  z: "9"\n',
      headers: { 'content-type': 'application/apply-patch+yaml' },
      query: { fieldManager: 'test' },
    });
    assert.equal(applied.status, 201);
    assert.equal(applied.body.data.z, '9');
  } finally {
    api.close();
  }
});

test('delete answers a Status, except for pods (strategy.returnDeletedObject); deletecollection lists what went', async () => {
  const api = await memoryApi();
  try {
    await api.request('POST', '/api/v1/namespaces/default/configmaps', { body: { metadata: { name: 'a', labels: { k: 'v' } } } });
    await api.request('POST', '/api/v1/namespaces/default/configmaps', { body: { metadata: { name: 'b' } } });
    const del = await api.request('DELETE', '/api/v1/namespaces/default/configmaps/b');
    assert.equal(del.body.kind, 'Status');
    assert.equal(del.body.status, 'Success');

    await api.request('POST', '/api/v1/namespaces/default/pods', { body: podBody('p') });
    const delPod = await api.request('DELETE', '/api/v1/namespaces/default/pods/p');
    assert.equal(delPod.status, 200);
    assert.equal(delPod.body.kind, 'Pod');

    const coll = await api.request('DELETE', '/api/v1/namespaces/default/configmaps', { query: { labelSelector: 'k=v' } });
    assert.equal(coll.body.kind, 'ConfigMapList');
    assert.deepEqual(coll.body.items.map((o: any) => o.metadata.name), ['a']);
  } finally {
    api.close();
  }
});

test('binding: pods/NAME/binding and POST bindings (ResourceDef.createAs) assign a node once', async () => {
  const api = await memoryApi();
  try {
    await api.request('POST', '/api/v1/namespaces/default/pods', { body: podBody('a') });
    await api.request('POST', '/api/v1/namespaces/default/pods', { body: podBody('b') });
    const missing = await api.request('POST', '/api/v1/namespaces/default/pods/a/binding', { body: { metadata: { name: 'a' } } });
    assert.equal(missing.status, 422);
    const bound = await api.request('POST', '/api/v1/namespaces/default/pods/a/binding', { body: { metadata: { name: 'a' }, target: { kind: 'Node', name: 'n1' } } });
    assert.equal(bound.status, 201);
    assert.equal(bound.body.status, 'Success');
    const again = await api.request('POST', '/api/v1/namespaces/default/pods/a/binding', { body: { metadata: { name: 'a' }, target: { name: 'n2' } } });
    assert.equal(again.status, 409);
    assert.match(again.body.message, /already assigned to node "n1"/);

    const viaBindings = await api.request('POST', '/api/v1/namespaces/default/bindings', { body: { metadata: { name: 'b' }, target: { name: 'n2' } } });
    assert.equal(viaBindings.status, 201);
    const b = await api.request('GET', '/api/v1/namespaces/default/pods/b');
    assert.equal(b.body.spec.nodeName, 'n2');
  } finally {
    api.close();
  }
});

test('scale subresource reads and writes spec.replicas; eviction deletes', async () => {
  const api = await memoryApi();
  try {
    const dep = {
      metadata: { name: 'web' },
      spec: { replicas: 2, selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } },
    };
    await api.request('POST', '/apis/apps/v1/namespaces/default/deployments', { body: dep });
    const scale = await api.request('GET', '/apis/apps/v1/namespaces/default/deployments/web/scale');
    assert.equal(scale.body.kind, 'Scale');
    assert.equal(scale.body.spec.replicas, 2);
    assert.equal(scale.body.status.selector, 'a=b');
    const put = await api.request('PUT', '/apis/apps/v1/namespaces/default/deployments/web/scale', { body: { ...scale.body, spec: { replicas: 5 } } });
    assert.equal(put.body.spec.replicas, 5);
    const patched = await api.request('PATCH', '/apis/apps/v1/namespaces/default/deployments/web/scale', { body: { spec: { replicas: 1 } }, headers: { 'content-type': 'application/merge-patch+json' } });
    assert.equal(patched.body.spec.replicas, 1);
    assert.equal((await api.request('PUT', '/apis/apps/v1/namespaces/default/deployments/web/scale', { body: { spec: { replicas: -1 } } })).status, 422);

    await api.request('POST', '/api/v1/namespaces/default/pods', { body: podBody('victim') });
    const ev = await api.request('POST', '/api/v1/namespaces/default/pods/victim/eviction', { body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'victim' } } });
    assert.equal(ev.status, 201);
    assert.equal((await api.request('GET', '/api/v1/namespaces/default/pods/victim')).status, 404);
  } finally {
    api.close();
  }
});

test('watch streams the current state, then changes; leaving the selector is DELETED', async () => {
  const api = await memoryApi();
  try {
    const base = '/api/v1/namespaces/default/configmaps';
    await api.request('POST', base, { body: { metadata: { name: 'a', labels: { sel: 'yes' } } } });
    const res = await api.request('GET', base, { query: { watch: 'true', labelSelector: 'sel=yes' } });
    assert.equal(res.status, 200);
    const sink = new CollectingSink();
    res.raw.stream!(sink);
    assert.deepEqual(sink.events().map((e) => `${e.type} ${e.object.metadata?.name}`), ['ADDED a']);

    await api.request('POST', base, { body: { metadata: { name: 'b' } } });
    await api.request('PATCH', `${base}/b`, { body: { metadata: { labels: { sel: 'yes' } } }, headers: { 'content-type': 'application/merge-patch+json' } });
    await api.request('PATCH', `${base}/a`, { body: { metadata: { labels: { sel: 'no' } } }, headers: { 'content-type': 'application/merge-patch+json' } });
    await until(() => sink.events().length >= 3);
    assert.deepEqual(sink.events().map((e) => `${e.type} ${e.object.metadata?.name}`), ['ADDED a', 'ADDED b', 'DELETED a']);
    sink.close();
    await api.request('POST', base, { body: { metadata: { name: 'c', labels: { sel: 'yes' } } } });
    assert.equal(sink.events().length, 3, 'nothing after the client went away');
  } finally {
    api.close();
  }
});

test('watch from an expired resourceVersion sends an ERROR event and ends', async () => {
  const api = await memoryApi({ historySize: 2 });
  try {
    const base = '/api/v1/namespaces/default/configmaps';
    for (const n of ['a', 'b', 'c', 'd']) await api.request('POST', base, { body: { metadata: { name: n } } });
    const res = await api.request('GET', base, { query: { watch: '1', resourceVersion: '1' } });
    const sink = new CollectingSink();
    res.raw.stream!(sink);
    const [e] = sink.events();
    assert.equal(e.type, 'ERROR');
    assert.equal((e.object as any).code, 410);
    assert.equal(sink.ended, true);
    assert.equal((await api.request('GET', base, { query: { watch: '1', resourceVersion: 'x' } })).status, 400);
  } finally {
    api.close();
  }
});
