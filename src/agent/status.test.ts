import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ContainerStatus as K } from 'kubernetes-types/core/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { podPhase } from './status.js';

const run: K = { name: 'a', image: '', imageID: '', ready: true, restartCount: 0, state: { running: {} } };
const ok: K = { ...run, state: { terminated: { exitCode: 0 } } };
const bad: K = { ...run, state: { terminated: { exitCode: 1 } } };
const crashLoop: K = { ...run, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 1 } } };
const creating: K = { ...run, state: { waiting: { reason: 'ContainerCreating' } } };
const pod = (restartPolicy: string): Pod => ({ spec: { restartPolicy, containers: [] } });

test('getPhase', () => {
  assert.equal(podPhase(pod('Always'), [run, creating], true, false), 'Pending');
  assert.equal(podPhase(pod('Always'), [run, ok], true, false), 'Running');
  assert.equal(podPhase(pod('Always'), [crashLoop], true, false), 'Running');
  assert.equal(podPhase(pod('Never'), [ok, ok], true, false), 'Succeeded');
  assert.equal(podPhase(pod('Never'), [ok, bad], true, false), 'Failed');
  assert.equal(podPhase(pod('OnFailure'), [bad], true, false), 'Running');
  assert.equal(podPhase(pod('Never'), [], false, true), 'Failed');
  assert.equal(podPhase(pod('Always'), [], false, false), 'Pending');
});
