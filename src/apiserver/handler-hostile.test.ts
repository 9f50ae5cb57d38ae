/**
 * Hostile query parameters (issue 12): a value upstream refuses is refused here before the
 * verb runs, and the stored objects are exactly as they were.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { memoryApi, type MemoryApi } from './testing/memory-api.js';

const CM = '/api/v1/namespaces/default/configmaps';

async function names(api: MemoryApi, path = CM): Promise<string[]> {
  return (await api.request('GET', path)).body.items.map((o: any) => o.metadata.name);
}

test('dryRun other than All is 422 naming dryRun for every write verb, and nothing changes', async () => {
  const api = await memoryApi();
  try {
    const created = await api.request('POST', CM, { body: { metadata: { name: 'keep' }, data: { a: '1' } } });
    assert.equal(created.status, 201);
    const rv = created.body.metadata.resourceVersion;
    const storeRev = api.cache.revision();
    const cases: [string, string, string, unknown, Record<string, string>?][] = [
      ['POST', CM, 'CreateOptions', { metadata: { name: 'new' } }],
      ['PUT', `${CM}/keep`, 'UpdateOptions', { metadata: { name: 'keep' }, data: { a: '2' } }],
      ['PATCH', `${CM}/keep`, 'PatchOptions', { data: { a: '3' } }, { 'content-type': 'application/merge-patch+json' }],
      ['DELETE', `${CM}/keep`, 'DeleteOptions', undefined],
      ['DELETE', CM, 'DeleteOptions', undefined],
    ];
    for (const [method, path, kind, body, headers] of cases) {
      const r = await api.request(method, path, { body, headers, query: { dryRun: 'Maybe' } });
      assert.equal(r.status, 422, `${method} ${path}`);
      assert.equal(r.body.reason, 'Invalid');
      assert.equal(r.body.message, `${kind}.meta.k8s.io "" is invalid: dryRun: Unsupported value: ["Maybe"]: supported values: "All"`);
    }
    // dryRun inside a DeleteOptions body is held to the same rule.
    const inBody = await api.request('DELETE', `${CM}/keep`, { body: { kind: 'DeleteOptions', apiVersion: 'v1', dryRun: ['Maybe'] } });
    assert.equal(inBody.status, 422);
    assert.match(inBody.body.message, /dryRun: Unsupported value/);

    assert.equal(api.cache.revision(), storeRev, 'no write reached the store');
    const after = await api.request('GET', `${CM}/keep`);
    assert.equal(after.body.metadata.resourceVersion, rv);
    assert.deepEqual(after.body.data, { a: '1' });
    assert.deepEqual(await names(api), ['keep']);

    // dryRun=All still works and still changes nothing; reads ignore the parameter.
    assert.equal((await api.request('DELETE', `${CM}/keep`, { query: { dryRun: 'All' } })).status, 200);
    assert.equal((await api.request('GET', `${CM}/keep`, { query: { dryRun: 'Maybe' } })).status, 200);
    assert.equal(api.cache.revision(), storeRev);
  } finally {
    api.close();
  }
});

test('list and deletecollection refuse an unparsable limit or continue with 400 and delete nothing', async () => {
  const api = await memoryApi();
  try {
    for (const n of ['a', 'b', 'c']) await api.request('POST', CM, { body: { metadata: { name: n } } });
    for (const method of ['GET', 'DELETE']) {
      for (const limit of ['abc', '1.5', '1e3', ' 1']) {
        const r = await api.request(method, CM, { query: { limit } });
        assert.equal(r.status, 400, `${method} limit=${limit}`);
        assert.equal(r.body.message, `strconv.ParseInt: parsing ${JSON.stringify(limit)}: invalid syntax`);
      }
      const r = await api.request(method, CM, { query: { continue: 'garbage' } });
      assert.equal(r.status, 400, `${method} continue=garbage`);
      assert.equal(r.body.message, 'invalid continue token');
    }
    assert.deepEqual(await names(api), ['a', 'b', 'c']);
    assert.equal((await api.request('GET', CM, { query: { limit: '' } })).status, 200, 'an empty limit is no limit');

    // A valid limit bounds a collection delete to one page, as upstream's List inside DeleteCollection.
    const del = await api.request('DELETE', CM, { query: { limit: '2' } });
    assert.equal(del.status, 200);
    assert.deepEqual(del.body.items.map((o: any) => o.metadata.name), ['a', 'b']);
    assert.deepEqual(await names(api), ['c']);
  } finally {
    api.close();
  }
});

test('a cluster-wide DELETE of a namespaced collection is 405 and deletes nothing', async () => {
  const api = await memoryApi({ namespaces: ['default', 'other'] });
  try {
    await api.request('POST', CM, { body: { metadata: { name: 'a' } } });
    await api.request('POST', '/api/v1/namespaces/other/configmaps', { body: { metadata: { name: 'b' } } });
    for (const path of ['/api/v1/configmaps', '/api/v1/pods', '/apis/apps/v1/deployments']) {
      const r = await api.request('DELETE', path);
      assert.equal(r.status, 405, path);
      assert.equal(r.body.reason, 'MethodNotAllowed');
      assert.equal(r.body.message, 'the server does not allow this method on the requested resource');
    }
    assert.deepEqual(await names(api, '/api/v1/configmaps'), ['a', 'b']);
    // Cluster-scoped collections are still deletable (upstream registers them at the root).
    assert.equal((await api.request('DELETE', '/apis/storage.k8s.io/v1/storageclasses')).status, 200);
  } finally {
    api.close();
  }
});
