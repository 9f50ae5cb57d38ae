import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { ContainerRecord } from './model.js';
import { containerState, humanDuration, matchesFilters, parseFilters, statusText } from './views.js';

const rec = (over: Partial<ContainerRecord['state']> = {}, labels: Record<string, string> = {}): ContainerRecord => ({
  id: 'ab'.repeat(32),
  name: 'web',
  created: '2026-01-01T00:00:00Z',
  image: 'busybox',
  imageRef: 'docker.io/library/busybox:latest',
  imageId: 'sha256:' + 'c'.repeat(64),
  path: 'sh',
  args: [],
  config: { Labels: labels },
  hostConfig: {},
  networks: {},
  state: { desired: 'running', restartCount: 1, exitCode: 0, ...over },
});

const pod = (status: object): Pod => ({ metadata: { name: 'web' }, status: { containerStatuses: [{ name: 'container', image: '', imageID: '', ready: true, restartCount: 2, ...status }] } });

test('state from the pod: running, exited with its code, restarting in back-off; restarts add up', () => {
  const running = containerState(rec(), pod({ state: { running: { startedAt: '2026-01-01T00:00:01Z' } } }));
  assert.equal(running.Status, 'running');
  assert.equal(running.restartCount, 3);
  const exited = containerState(rec(), pod({ state: { terminated: { exitCode: 3, finishedAt: '2026-01-01T00:00:02Z' } } }));
  assert.deepEqual([exited.Status, exited.ExitCode, exited.Running], ['exited', 3, false]);
  const backoff = containerState(rec(), pod({ state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 2 } } }));
  assert.deepEqual([backoff.Status, backoff.ExitCode, backoff.Restarting], ['restarting', 2, true]);
  const stopped = containerState(rec({ desired: 'stopped', exitCode: 137, finishedAt: '2026-01-01T00:00:03Z' }), undefined);
  assert.deepEqual([stopped.Status, stopped.ExitCode], ['exited', 137]);
  assert.equal(containerState(rec({ desired: 'created' }), undefined).Status, 'created');
});

test('status text as docker ps prints it', () => {
  const now = Date.parse('2026-01-01T00:02:30Z');
  assert.equal(statusText({ ...containerState(rec(), pod({ state: { running: { startedAt: '2026-01-01T00:00:00Z' } } })) }, now), 'Up 2 minutes');
  assert.equal(statusText(containerState(rec(), pod({ state: { terminated: { exitCode: 1, finishedAt: '2026-01-01T00:02:27Z' } } })), now), 'Exited (1) 3 seconds ago');
  assert.deepEqual([humanDuration(500), humanDuration(1000), humanDuration(119_000), humanDuration(3 * 3600_000)], ['Less than a second', '1 second', 'About a minute', '3 hours']);
});

test('filters: both encodings; labels are ANDed, names are alternatives; unknown filters are 400s', () => {
  assert.deepEqual(parseFilters('{"name":{"web":true}}'), { name: ['web'] });
  assert.deepEqual(parseFilters('{"name":["web","db"]}'), { name: ['web', 'db'] });
  assert.throws(() => parseFilters('{nope'), /invalid filter/);
  const r = rec({}, { a: '1', b: '2' });
  assert.equal(matchesFilters(r, undefined, { name: ['db', 'we'] }), true);
  assert.equal(matchesFilters(r, undefined, { label: ['a=1', 'b=2'] }), true);
  assert.equal(matchesFilters(r, undefined, { label: ['a=1', 'b=3'] }), false);
  assert.equal(matchesFilters(r, undefined, { status: ['exited'] }), true);
  assert.equal(matchesFilters(r, undefined, { ancestor: ['busybox'] }), true);
  assert.throws(() => matchesFilters(r, undefined, { colour: ['red'] }), /invalid filter 'colour'/);
});
