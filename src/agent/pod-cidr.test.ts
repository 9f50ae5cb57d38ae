import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Node } from 'kubernetes-types/core/v1.js';
import { TestClient } from '../apiserver/testing/test-api.js';
import { NODES } from '../client/resources.js';
import { FakeClock, flushAsync } from '../util/clock.js';
import { awaitPodCidr } from './pod-cidr.js';

test('registers the node, waits for its pod range and returns it', async () => {
  const clock = new FakeClock('2024-01-01T00:00:00Z');
  const client = new TestClient({ clock });
  await client.started;
  let got: string | undefined;
  const waiting = awaitPodCidr({ client, nodeName: 'n1', clock, pollMs: 100 }).then((c) => { got = c; });
  await flushAsync(20);
  const n = await client.get<Node>(NODES, undefined, 'n1');
  assert.equal(n.spec?.podCIDR, undefined);
  await clock.advance(100);
  assert.equal(got, undefined);
  await client.update(NODES, undefined, { ...n, spec: { podCIDR: '10.42.7.0/24', podCIDRs: ['10.42.7.0/24'] } });
  await clock.advance(100);
  await waiting;
  assert.equal(got, '10.42.7.0/24');
});

test('a node that already has a range gets it at once; with a timeout and none given it is a clear error', async () => {
  const clock = new FakeClock('2024-01-01T00:00:00Z');
  const client = new TestClient({ clock });
  await client.create(NODES, undefined, { metadata: { name: 'has' }, spec: { podCIDR: '10.42.3.0/24' } });
  assert.equal(await awaitPodCidr({ client, nodeName: 'has', clock }), '10.42.3.0/24');
  const failing = awaitPodCidr({ client, nodeName: 'none', clock, pollMs: 100, timeoutMs: 200 });
  const check = assert.rejects(failing, /node none got no spec\.podCIDR in 200 ms: is the server running with --cluster-cidr\?/);
  for (let i = 0; i < 5; i++) { await flushAsync(20); await clock.advance(100); }
  await check;
});
