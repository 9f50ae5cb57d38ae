import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DockerRouter, queryFlag, type DockerRoute } from './route.js';

const route = (method: DockerRoute['method'], path: string): DockerRoute => ({ method, path, handle: async () => ({ status: 200, body: path }) });

test('image names with slashes and colons match greedy parameters', () => {
  const router = new DockerRouter([route('POST', '/images/{name*}/push'), route('GET', '/images/{name*}/json'), route('DELETE', '/images/{name*}')]);
  assert.deepEqual(router.match('POST', '/images/localhost:5000/x/push')?.params, { name: 'localhost:5000/x' });
  assert.deepEqual(router.match('GET', '/images/localhost:5000/x:latest/json')?.params, { name: 'localhost:5000/x:latest' });
  assert.deepEqual(router.match('DELETE', '/images/library/busybox')?.params, { name: 'library/busybox' });
  assert.equal(router.match('GET', '/images/x/push'), undefined);
});

test('plain parameters stop at a slash; HEAD is served by GET routes', () => {
  const router = new DockerRouter([route('GET', '/containers/{id}/json'), route('GET', '/_ping')]);
  assert.deepEqual(router.match('GET', '/containers/abc/json')?.params, { id: 'abc' });
  assert.equal(router.match('GET', '/containers/a/b/json'), undefined);
  assert.ok(router.match('HEAD', '/_ping'));
});

test('query flags accept the CLI and docker-py spellings', () => {
  const q = new URLSearchParams('a=1&b=False&c=True&d=0&e=');
  assert.deepEqual(['a', 'b', 'c', 'd', 'e', 'f'].map((n) => queryFlag(q, n)), [true, false, true, false, false, false]);
});
