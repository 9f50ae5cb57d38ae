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

test('an eviction honours deleteOptions.dryRun All and refuses any other value', async () => {
  const api = await memoryApi();
  try {
    const P = '/api/v1/namespaces/default/pods';
    await api.request('POST', P, { body: { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } });
    const eviction = (dryRun: string[]) => ({ apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'p' }, deleteOptions: { dryRun } });
    const maybe = await api.request('POST', `${P}/p/eviction`, { body: eviction(['Maybe']) });
    assert.equal(maybe.status, 422);
    assert.match(maybe.body.message, /dryRun: Unsupported value: \["Maybe"\]/);
    assert.equal((await api.request('POST', `${P}/p/eviction`, { body: eviction(['All']) })).status, 201);
    const pod = await api.request('GET', `${P}/p`);
    assert.equal(pod.status, 200);
    assert.equal(pod.body.metadata.deletionTimestamp, undefined, 'a dry-run eviction deletes nothing');
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

const template = { metadata: { labels: { app: 'x' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } };
const REPLICATED: [string, string, (replicas: unknown) => unknown][] = [
  ['Deployment.apps', '/apis/apps/v1/namespaces/default/deployments', (replicas) => ({ metadata: { name: 'w' }, spec: { replicas, selector: { matchLabels: { app: 'x' } }, template } })],
  ['ReplicaSet.apps', '/apis/apps/v1/namespaces/default/replicasets', (replicas) => ({ metadata: { name: 'w' }, spec: { replicas, selector: { matchLabels: { app: 'x' } }, template } })],
  ['StatefulSet.apps', '/apis/apps/v1/namespaces/default/statefulsets', (replicas) => ({ metadata: { name: 'w' }, spec: { replicas, serviceName: 'w', selector: { matchLabels: { app: 'x' } }, template } })],
  ['ReplicationController', '/api/v1/namespaces/default/replicationcontrollers', (replicas) => ({ metadata: { name: 'w' }, spec: { replicas, selector: { app: 'x' }, template } })],
];

test('spec.replicas outside int32 or not an integer is refused naming the field, on create, update and scale; nothing stored', async () => {
  const api = await memoryApi();
  try {
    // Not an int32 at all: upstream's typed decoding refuses the body (400) before validation.
    const undecodable: [unknown, string][] = [
      [1e23, 'json: cannot unmarshal number 1e+23 into Go struct field'],
      [2147483648, 'json: cannot unmarshal number 2147483648 into Go struct field'],
      [2.5, 'json: cannot unmarshal number 2.5 into Go struct field'],
      ['three', 'json: cannot unmarshal string into Go struct field'],
    ];
    for (const [kind, path, body] of REPLICATED) {
      const goKind = kind.split('.')[0];
      // ReplicationController has no published schema (so no typed decoding): its validation answers 422.
      const typed = goKind !== 'ReplicationController';
      for (const [replicas, detail] of undecodable) {
        const r = await api.request('POST', path, { body: body(replicas) });
        assert.equal(r.status, typed ? 400 : 422, `${kind} replicas=${String(replicas)}`);
        if (typed) assert.equal(r.body.message, `${goKind} in version "v1" cannot be handled as a ${goKind}: ${detail} ${goKind}Spec.spec.replicas of type int32`);
        else assert.match(r.body.message, /^ReplicationController "w" is invalid: spec\.replicas: Invalid value/);
      }
      const negative = await api.request('POST', path, { body: body(-1) });
      assert.equal(negative.status, 422);
      assert.equal(negative.body.message, `${kind} "w" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0`);
      assert.equal((await api.request('GET', `${path}/w`)).status, 404, `no ${kind} stored`);

      // The largest int32 is fine; raising it past the range by update, patch or scale is not.
      const ok = await api.request('POST', path, { body: body(2147483647) });
      assert.equal(ok.status, 201, `${kind}: ${JSON.stringify(ok.body.message)}`);
      const rv = ok.body.metadata.resourceVersion;
      const put = await api.request('PUT', `${path}/w`, { body: { ...ok.body, spec: { ...ok.body.spec, replicas: 2147483648 } } });
      assert.equal(put.status, typed ? 400 : 422);
      const patch = await api.request('PATCH', `${path}/w`, { body: { spec: { replicas: 2.5 } }, headers: { 'content-type': 'application/merge-patch+json' } });
      assert.equal(patch.status, typed ? 400 : 422);
      assert.match(patch.body.message, typed ? /cannot unmarshal number 2\.5 into Go struct field \w+Spec\.spec\.replicas of type int32/ : /spec\.replicas: Invalid value: 2\.5: must be an integer/);
      const scale = await api.request('PATCH', `${path}/w/scale`, { body: { spec: { replicas: 1e23 } }, headers: { 'content-type': 'application/merge-patch+json' } });
      assert.equal(scale.status, 422);
      assert.equal(scale.body.message, 'Scale.autoscaling "w" is invalid: spec.replicas: Invalid value: 1e+23: must be less than or equal to 2147483647');
      const after = await api.request('GET', `${path}/w`);
      assert.equal(after.body.metadata.resourceVersion, rv, `${kind} unchanged`);
      assert.equal(after.body.spec.replicas, 2147483647);
    }
  } finally {
    api.close();
  }
});

test('ConfigMap and Secret data over 1 MiB is 422 with the size limit, and nothing is stored or changed', async () => {
  const api = await memoryApi();
  try {
    const MiB = 1024 * 1024;
    // Exactly at the limit is allowed; one byte over (here a two-byte character) is not.
    assert.equal((await api.request('POST', CM, { body: { metadata: { name: 'max' }, data: { a: 'x'.repeat(MiB - 1), b: 'y' } } })).status, 201);
    const big = await api.request('POST', CM, { body: { metadata: { name: 'big' }, data: { a: 'x'.repeat(MiB - 1), b: 'é' } } });
    assert.equal(big.status, 422);
    assert.equal(big.body.message, 'ConfigMap "big" is invalid: Too long: must have at most 1048576 bytes');
    const bin = await api.request('POST', CM, { body: { metadata: { name: 'bin' }, data: { a: 'x'.repeat(MiB / 2) }, binaryData: { b: Buffer.alloc(MiB / 2 + 1).toString('base64') } } });
    assert.equal(bin.status, 422, 'data and binaryData count together');
    const grow = await api.request('PATCH', `${CM}/max`, { body: { data: { c: 'z' } }, headers: { 'content-type': 'application/merge-patch+json' } });
    assert.equal(grow.status, 422);
    assert.deepEqual(Object.keys((await api.request('GET', `${CM}/max`)).body.data), ['a', 'b']);

    const S = '/api/v1/namespaces/default/secrets';
    const secret = await api.request('POST', S, { body: { metadata: { name: 's' }, data: { a: Buffer.alloc(MiB + 1).toString('base64') } } });
    assert.equal(secret.status, 422);
    assert.equal(secret.body.message, 'Secret "s" is invalid: data: Too long: must have at most 1048576 bytes');
    const viaString = await api.request('POST', S, { body: { metadata: { name: 's' }, stringData: { a: 'x'.repeat(MiB + 1) } } });
    assert.equal(viaString.status, 422, 'stringData counts once folded into data');
    assert.equal((await api.request('POST', S, { body: { metadata: { name: 's' }, data: { a: Buffer.alloc(MiB).toString('base64') } } })).status, 201);
    assert.deepEqual((await names(api)).sort(), ['max']);
    assert.equal((await api.request('GET', `${S}/s`)).status, 200);
  } finally {
    api.close();
  }
});

test('metadata.generation that is not an integer is 400 and nothing is stored', async () => {
  const api = await memoryApi();
  try {
    const r = await api.request('POST', CM, { body: { metadata: { name: 'g', generation: 'abc' } } });
    assert.equal(r.status, 400);
    assert.equal(r.body.message, 'ConfigMap in version "v1" cannot be handled as a ConfigMap: json: cannot unmarshal string into Go struct field ObjectMeta.metadata.generation of type int64');
    assert.equal((await api.request('GET', `${CM}/g`)).status, 404);
    const ok = await api.request('POST', CM, { body: { metadata: { name: 'g' } } });
    const put = await api.request('PUT', `${CM}/g`, { body: { ...ok.body, metadata: { ...ok.body.metadata, generation: 2.5 } } });
    assert.equal(put.status, 400);
    assert.match(put.body.message, /cannot unmarshal number 2\.5 into Go struct field ObjectMeta\.metadata\.generation/);
    assert.equal((await api.request('GET', `${CM}/g`)).body.metadata.resourceVersion, ok.body.metadata.resourceVersion);
  } finally {
    api.close();
  }
});
