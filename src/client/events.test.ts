import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../util/clock.js';
import { Recorder, type CoreEvent } from './events.js';
import { TestClient } from '../apiserver/testing/test-api.js';
import { EVENTS } from './resources.js';

const deploy = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'default', uid: 'u1', resourceVersion: '7' } };

test('records an Event a user sees in describe', async () => {
  const clock = new FakeClock('2024-05-01T10:00:00Z');
  const c = new TestClient({ clock });
  const r = new Recorder(c, { component: 'deployment-controller', clock });
  r.event(deploy, 'Normal', 'ScalingReplicaSet', 'Scaled up replica set web-abc12 from 0 to 3');
  await r.flush();
  const [ev] = c.objects<CoreEvent>(EVENTS, 'default');
  assert.equal(ev.reason, 'ScalingReplicaSet');
  assert.equal(ev.type, 'Normal');
  assert.equal(ev.count, 1);
  assert.equal(ev.source.component, 'deployment-controller');
  assert.deepEqual(ev.involvedObject, { kind: 'Deployment', namespace: 'default', name: 'web', uid: 'u1', apiVersion: 'apps/v1', resourceVersion: '7' });
  assert.equal(ev.firstTimestamp, '2024-05-01T10:00:00Z');
  assert.match(ev.metadata!.name!, /^web\.[0-9a-f]+$/);
});

test('repeats within 10 minutes are aggregated, later ones are new Events', async () => {
  const clock = new FakeClock('2024-05-01T10:00:00Z');
  const c = new TestClient({ clock });
  const r = new Recorder(c, { component: 'x', clock });
  r.event(deploy, 'Warning', 'FailedCreate', 'quota exceeded');
  await r.flush();
  await clock.advance(60_000);
  r.event(deploy, 'Warning', 'FailedCreate', 'quota exceeded');
  r.event(deploy, 'Warning', 'FailedCreate', 'something else');
  await r.flush();
  let evs = c.objects<CoreEvent>(EVENTS, 'default');
  assert.equal(evs.length, 2);
  const agg = evs.find((e) => e.message === 'quota exceeded')!;
  assert.equal(agg.count, 2);
  assert.equal(agg.firstTimestamp, '2024-05-01T10:00:00Z');
  assert.equal(agg.lastTimestamp, '2024-05-01T10:01:00Z');
  await clock.advance(11 * 60_000);
  r.event(deploy, 'Warning', 'FailedCreate', 'quota exceeded');
  await r.flush();
  evs = c.objects<CoreEvent>(EVENTS, 'default');
  assert.equal(evs.length, 3);
});
