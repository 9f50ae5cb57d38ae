import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CollectingSink, memoryApi } from './testing/memory-api.js';
import { FRESHNESS_TIMEOUT_MS } from './watch-cache.js';

const base = '/api/v1/namespaces/default/configmaps';

function assertTooLarge(status: any, requested: number, current: number): void {
  assert.equal(status.code, 504);
  assert.equal(status.reason, 'Timeout');
  assert.equal(status.message, `Timeout: Too large resource version: ${requested}, current: ${current}`);
  assert.equal(status.details.retryAfterSeconds, 1);
  assert.deepEqual(status.details.causes, [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }]);
}

test('watch from a future resourceVersion waits, then ends with the 504 ResourceVersionTooLarge ERROR event', async () => {
  const api = await memoryApi();
  try {
    await api.request('POST', base, { body: { metadata: { name: 'a' } } });
    const current = api.cache.revision();
    const res = await api.request('GET', base, { query: { watch: '1', resourceVersion: String(current + 10) } });
    assert.equal(res.status, 200);
    const sink = new CollectingSink();
    res.raw.stream!(sink);
    await api.clock.advance(FRESHNESS_TIMEOUT_MS - 1);
    assert.deepEqual(sink.events(), [], 'still waiting just before the timeout');
    assert.equal(sink.ended, false);
    await api.clock.advance(1);
    const events = sink.events();
    assert.equal(events.length, 1);
    assert.equal(events[0].type, 'ERROR');
    assertTooLarge(events[0].object, current + 10, current);
    assert.equal(sink.ended, true);
  } finally {
    api.close();
  }
});

test('watch from a future resourceVersion proceeds normally when the write arrives within the wait', async () => {
  const api = await memoryApi();
  try {
    const current = api.cache.revision();
    const res = await api.request('GET', base, { query: { watch: '1', resourceVersion: String(current + 1) } });
    const sink = new CollectingSink();
    res.raw.stream!(sink);
    await api.clock.advance(1000);
    // The write that makes current+1 exist: the watch starts after it, as a watch from N does.
    await api.request('POST', base, { body: { metadata: { name: 'at' } } });
    await api.clock.advance(0);
    await api.request('POST', base, { body: { metadata: { name: 'after' } } });
    await api.clock.advance(FRESHNESS_TIMEOUT_MS * 2);
    assert.deepEqual(sink.events().map((e) => `${e.type} ${e.object.metadata?.name}`), ['ADDED after']);
    assert.equal(sink.ended, false, 'no timeout once the version was reached');
    assert.equal(api.clock.pending(), 0, 'the wait left no timer behind');
    sink.close();
  } finally {
    api.close();
  }
});

test('list and get at a future resourceVersion: 504 after the wait, or the fresh answer when the write arrives', async () => {
  const api = await memoryApi();
  try {
    await api.request('POST', base, { body: { metadata: { name: 'a' } } });
    const current = api.cache.revision();

    const list = api.request('GET', base, { query: { resourceVersion: String(current + 5), resourceVersionMatch: 'NotOlderThan' } });
    const get = api.request('GET', `${base}/a`, { query: { resourceVersion: String(current + 5) } });
    await api.clock.advance(FRESHNESS_TIMEOUT_MS);
    const [l, g] = await Promise.all([list, get]);
    assert.equal(l.status, 504);
    assertTooLarge(l.body, current + 5, current);
    assert.equal(g.status, 504);
    assertTooLarge(g.body, current + 5, current);

    const fresh = api.request('GET', base, { query: { resourceVersion: String(current + 1) } });
    await api.clock.advance(500);
    await api.request('POST', base, { body: { metadata: { name: 'b' } } });
    const f = await fresh;
    assert.equal(f.status, 200);
    assert.deepEqual(f.body.items.map((o: any) => o.metadata.name), ['a', 'b']);
    assert.equal(f.body.metadata.resourceVersion, String(current + 1));

    // A version already reached is answered at once (no wait, no timer).
    const now = await api.request('GET', base, { query: { resourceVersion: String(current), resourceVersionMatch: 'NotOlderThan' } });
    assert.equal(now.status, 200);
    assert.equal(api.clock.pending(), 0);
  } finally {
    api.close();
  }
});

test('a resourceVersion that is not an unsigned integer is 400 for list, get and watch', async () => {
  const api = await memoryApi();
  try {
    await api.request('POST', base, { body: { metadata: { name: 'a' } } });
    const cases: [string, Record<string, string>, string][] = [
      [base, { resourceVersion: 'abc' }, 'invalid syntax'],
      [`${base}/a`, { resourceVersion: '-1' }, 'invalid syntax'],
      [base, { watch: '1', resourceVersion: 'x' }, 'invalid syntax'],
      [base, { resourceVersion: '18446744073709551616' }, 'value out of range'],
    ];
    for (const [path, query, why] of cases) {
      const r = await api.request('GET', path, { query });
      const q = JSON.stringify(query.resourceVersion);
      assert.equal(r.status, 400, `${path} ${JSON.stringify(query)}`);
      assert.equal(r.body.reason, 'BadRequest');
      assert.equal(r.body.message, `invalid resource version: resourceVersion: Invalid value: ${q}: strconv.ParseUint: parsing ${q}: ${why}`);
    }
  } finally {
    api.close();
  }
});

test('resourceVersionMatch is checked as upstream ValidateListOptions', async () => {
  const api = await memoryApi();
  try {
    let r = await api.request('GET', base, { query: { resourceVersion: '1', resourceVersionMatch: 'Newest' } });
    assert.equal(r.status, 422);
    assert.equal(r.body.message, 'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Unsupported value: "Newest": supported values: "Exact", "NotOlderThan", ""');
    r = await api.request('GET', base, { query: { resourceVersionMatch: 'NotOlderThan' } });
    assert.equal(r.status, 422);
    assert.equal(r.body.message, 'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided');
  } finally {
    api.close();
  }
});

test('a negative limit means no limit, as upstream', async () => {
  const api = await memoryApi();
  try {
    for (const n of ['a', 'b', 'c']) await api.request('POST', base, { body: { metadata: { name: n } } });
    const r = await api.request('GET', base, { query: { limit: '-1' } });
    assert.equal(r.status, 200);
    assert.equal(r.body.items.length, 3);
    assert.equal(r.body.metadata.continue, undefined);
  } finally {
    api.close();
  }
});

test('fieldManager longer than 128 bytes or with non-printable characters is 422 and nothing is written', async () => {
  const api = await memoryApi();
  try {
    let r = await api.request('POST', base, { body: { metadata: { name: 'long' } }, query: { fieldManager: 'm'.repeat(129) } });
    assert.equal(r.status, 422);
    assert.equal(r.body.reason, 'Invalid');
    assert.equal(r.body.message, 'CreateOptions.meta.k8s.io "" is invalid: fieldManager: Too long: may not be more than 128 bytes');
    assert.equal((await api.request('GET', `${base}/long`)).status, 404);
    // Bytes, not characters: 65 two-byte characters are 130 bytes.
    r = await api.request('POST', base, { body: { metadata: { name: 'long' } }, query: { fieldManager: 'é'.repeat(65) } });
    assert.equal(r.status, 422);

    assert.equal((await api.request('POST', base, { body: { metadata: { name: 'ok' } }, query: { fieldManager: 'm'.repeat(128) } })).status, 201);
    r = await api.request('PATCH', `${base}/ok`, {
      body: { data: { k: 'v' } },
      headers: { 'content-type': 'application/merge-patch+json' },
      query: { fieldManager: 'a\u0001b' },
    });
    assert.equal(r.status, 422);
    assert.equal(r.body.message, 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Invalid value: "a\\u0001b": invalid character U+0001 (at position 1)');
    assert.equal((await api.request('GET', `${base}/ok`)).body.data, undefined, 'the patch was not applied');
    r = await api.request('PUT', `${base}/ok`, { body: { metadata: { name: 'ok' } }, query: { fieldManager: 'x\u00a0' } });
    assert.equal(r.status, 422);
    assert.match(r.body.message, /^UpdateOptions\.meta\.k8s\.io "" is invalid: fieldManager: Invalid value: .*invalid character U\+00A0 \(at position 1\)$/);
  } finally {
    api.close();
  }
});
