import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StatusError } from '../errors.js';
import { applyPatch, patchTypeOf } from './index.js';

const live = { kind: 'Deployment', spec: { replicas: 1, template: { spec: { containers: [{ name: 'a', image: 'x' }, { name: 'b', image: 'y' }] } } } };

test('dispatches on Content-Type and decodes the body', () => {
  assert.equal((applyPatch('application/merge-patch+json', live, '{"spec":{"replicas":3}}') as any).spec.replicas, 3);
  assert.equal((applyPatch('application/json-patch+json; charset=utf-8', live, '[{"op":"replace","path":"/spec/replicas","value":4}]') as any).spec.replicas, 4);
  const smp = applyPatch('application/strategic-merge-patch+json', live, Buffer.from('{"spec":{"template":{"spec":{"containers":[{"name":"b","image":"z"}]}}}}')) as any;
  assert.deepEqual(smp.spec.template.spec.containers.map((c: any) => c.image), ['x', 'z']);
  const ssa = applyPatch('application/apply-patch+yaml', undefined, 'kind: Deployment\nspec:\n  replicas: 2\n') as any;
  assert.deepEqual(ssa, { kind: 'Deployment', spec: { replicas: 2 } });
});

test('unknown patch media types are 415, undecodable bodies 400', () => {
  assert.throws(() => patchTypeOf('application/json'), (e: unknown) => e instanceof StatusError && e.code === 415 && /accepted media types include: application\/json-patch\+json/.test(e.message));
  assert.throws(() => applyPatch('application/merge-patch+json', live, '{nope'), (e: unknown) => e instanceof StatusError && e.code === 400);
});
