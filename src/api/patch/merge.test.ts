import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StatusError } from '../errors.js';
import { applyMergePatch, createMergePatch } from './merge.js';

test('RFC 7386 examples', () => {
  // The test cases from RFC 7386 appendix A.
  const cases: Array<[unknown, unknown, unknown]> = [
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: 'b', c: null }, { a: 'b' }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ];
  for (const [target, patch, want] of cases) {
    assert.deepEqual(applyMergePatch(target, patch), want, `${JSON.stringify(target)} + ${JSON.stringify(patch)}`);
  }
});

test('kubectl scale/label bodies; inputs untouched', () => {
  const live = { metadata: { name: 'web', labels: { app: 'web', old: 'x' } }, spec: { replicas: 1, template: { spec: { containers: [{ name: 'a' }] } } } };
  const before = structuredClone(live);
  const out = applyMergePatch<typeof live>(live, { metadata: { labels: { old: null, env: 'prod' } }, spec: { replicas: 3 } });
  assert.deepEqual(out.metadata.labels, { app: 'web', env: 'prod' });
  assert.equal(out.spec.replicas, 3);
  assert.deepEqual(live, before);
  out.spec.template.spec.containers[0].name = 'changed';
  assert.equal(live.spec.template.spec.containers[0].name, 'a');
});

test('a non-object patch is 400 Invalid JSON Patch', () => {
  for (const p of [null, [], 'x', 3]) {
    assert.throws(() => applyMergePatch({}, p), (e: unknown) => e instanceof StatusError && e.code === 400 && e.message === 'Invalid JSON Patch');
  }
});

test('createMergePatch round-trips', () => {
  const a = { a: 1, b: { c: 2, d: 3 }, l: [1, 2] };
  const b = { a: 1, b: { c: 5 }, l: [1], n: 'x' };
  const p = createMergePatch(a, b);
  assert.deepEqual(p, { b: { c: 5, d: null }, l: [1], n: 'x' });
  assert.deepEqual(applyMergePatch(a, p), b);
});
