import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Deployment } from 'kubernetes-types/apps/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { FakeClock, flushAsync } from '../util/clock.js';
import { TestClient } from '../apiserver/testing/test-api.js';
import { DEPLOYMENTS, EVENTS, PODS, SERVICE_ACCOUNTS } from '../client/resources.js';
import { startControllerManager } from './manager.js';

test('the manager runs the controllers: a deployment gets pods and a namespace its default ServiceAccount', async () => {
  const clock = new FakeClock();
  const client = new TestClient({ clock });
  const mgr = startControllerManager({ client, clock });
  await mgr.started;
  await client.create<Deployment>(DEPLOYMENTS, 'default', {
    metadata: { name: 'web' },
    spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } },
  });
  for (let i = 0; i < 20; i++) await flushAsync();
  assert.equal(client.objects<Pod>(PODS, 'default').length, 2);
  assert.ok(client.peek(SERVICE_ACCOUNTS, 'default', 'default'));
  assert.ok(client.objects(EVENTS).length > 0, 'events are written');
  await mgr.stop();
});

test('with leader election only one of two managers runs controllers', async () => {
  const clock = new FakeClock();
  const client = new TestClient({ clock });
  const a = startControllerManager({ client, clock, leaderElection: { identity: 'a' } });
  await clock.advance(0);
  const b = startControllerManager({ client, clock, leaderElection: { identity: 'b' } });
  await clock.advance(5000);
  assert.ok(a.running().length > 0);
  assert.deepEqual(b.running(), []);
  await a.stop();
  await clock.advance(5000);
  assert.ok(b.running().length > 0, 'b takes over after a releases');
  await b.stop();
});

