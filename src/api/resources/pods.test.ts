import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StatusError } from '../errors.js';
import type { KObject } from '../registry.js';
import { bindPodToNode, podGracePeriod } from './pods.js';

const pod = (spec: Record<string, unknown>, status: Record<string, unknown> = {}, deletionTimestamp?: string): KObject => ({ metadata: { name: 'p', deletionTimestamp }, spec, status });
const code = (c: number) => (err: unknown) => err instanceof StatusError && err.code === c;

test('graceful deletion: only pods on a node that have not finished wait, for the requested or their own period', () => {
  assert.equal(podGracePeriod(pod({}), undefined), 0, 'unscheduled');
  assert.equal(podGracePeriod(pod({ nodeName: 'n' }, { phase: 'Succeeded' }), 10), 0, 'finished');
  assert.equal(podGracePeriod(pod({ nodeName: 'n' }), undefined), 30, 'default');
  assert.equal(podGracePeriod(pod({ nodeName: 'n', terminationGracePeriodSeconds: 5 }), undefined), 5);
  assert.equal(podGracePeriod(pod({ nodeName: 'n', terminationGracePeriodSeconds: 5 }), 0), 0, 'the request wins');
  assert.throws(() => podGracePeriod(pod({ nodeName: 'n' }), -1), code(400));
});

test('binding assigns a node once, never to a pod being deleted, and needs a target', () => {
  assert.equal((bindPodToNode(pod({}), { target: { name: 'n1' } }).spec as { nodeName: string }).nodeName, 'n1');
  assert.throws(() => bindPodToNode(pod({ nodeName: 'n1' }), { target: { name: 'n2' } }), code(409));
  assert.throws(() => bindPodToNode(pod({}, {}, '2024-01-01T00:00:00Z'), { target: { name: 'n2' } }), code(409));
  assert.throws(() => bindPodToNode(pod({}), {}), code(422));
});
