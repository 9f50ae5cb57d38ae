import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StatusError } from '../errors.js';
import { applyJsonPatch } from './json.js';

const dep = { metadata: { name: 'web', resourceVersion: '7', labels: { app: 'web' } }, spec: { replicas: 1, template: { spec: { containers: [{ name: 'a', image: 'nginx:1' }] } } } };

test('applies RFC 6902 operations without touching the input', () => {
  const before = structuredClone(dep);
  const out = applyJsonPatch<typeof dep>(dep, [
    { op: 'test', path: '/metadata/resourceVersion', value: '7' },
    { op: 'replace', path: '/spec/replicas', value: 3 },
    { op: 'add', path: '/metadata/labels/tier', value: 'fe' },
    { op: 'remove', path: '/metadata/labels/app' },
    { op: 'add', path: '/spec/template/spec/containers/-', value: { name: 'b', image: 'busybox' } },
    { op: 'copy', from: '/spec/template/spec/containers/0/image', path: '/metadata/labels/img' },
    { op: 'move', from: '/metadata/labels/img', path: '/metadata/labels/image' },
  ]);
  assert.equal(out.spec.replicas, 3);
  assert.deepEqual(out.metadata.labels, { tier: 'fe', image: 'nginx:1' });
  assert.deepEqual(out.spec.template.spec.containers.map((c) => c.name), ['a', 'b']);
  assert.deepEqual(dep, before);
});

const is = (code: number) => (e: unknown) => e instanceof StatusError && e.code === code;

test('a failed test op or a missing path is 422 Invalid, as upstream', () => {
  assert.throws(() => applyJsonPatch(dep, [{ op: 'test', path: '/metadata/resourceVersion', value: '6' }]), (e: unknown) =>
    is(422)(e) && (e as StatusError).reason === 'Invalid' && (e as StatusError).message === 'the server rejected our request due to an error in our request' && /test operation failed/.test(String((e as Error).cause)),
  );
  assert.throws(() => applyJsonPatch(dep, [{ op: 'remove', path: '/spec/nope' }]), is(422));
  assert.throws(() => applyJsonPatch(dep, [{ op: 'replace', path: '/spec/nope/deeper', value: 1 }]), is(422));
  assert.throws(() => applyJsonPatch(dep, [{ op: 'add', path: '/spec/template/spec/containers/9', value: {} }]), is(422));
});

test('malformed operations are 400 BadRequest', () => {
  for (const ops of [{ op: 'add' }, [{ op: 'frob', path: '/a' }], [{ op: 'add', path: '/a' }], [{ op: 'move', path: '/a' }], [{ op: 'add', path: 'a', value: 1 }], ['x'], [{ op: '_get', path: '/a' }]]) {
    assert.throws(() => applyJsonPatch(dep, ops), is(400), JSON.stringify(ops));
  }
});
