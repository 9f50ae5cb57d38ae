import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Node } from 'kubernetes-types/core/v1.js';
import { NODES } from '../client/resources.js';
import { newNodeIpamController } from './node-ipam.js';
import { harness } from './testing/harness.js';

const podCidrs = (h: ReturnType<typeof harness>) =>
  Object.fromEntries(h.client.objects<Node>(NODES).map((n) => [n.metadata!.name, `${n.spec?.podCIDR}|${(n.spec?.podCIDRs ?? []).join(',')}`]));

test('nodes get the next free range, keep the one they have, and a deleted node frees its range', async () => {
  const h = harness();
  await h.client.create(NODES, undefined, { metadata: { name: 'has' }, spec: { podCIDR: '10.42.0.0/24', podCIDRs: ['10.42.0.0/24'] } });
  await h.client.create(NODES, undefined, { metadata: { name: 'a' } });
  h.start(newNodeIpamController(h.ctx, { clusterCidr: '10.42.0.0/16' }));
  await h.settle();
  assert.deepEqual(podCidrs(h), { has: '10.42.0.0/24|10.42.0.0/24', a: '10.42.1.0/24|10.42.1.0/24' });
  await h.client.create(NODES, undefined, { metadata: { name: 'b' } });
  await h.settle();
  assert.equal(podCidrs(h).b, '10.42.2.0/24|10.42.2.0/24');
  h.stop();
});

test('a full cluster CIDR leaves the node without a range and says CIDRNotAvailable; a freed range goes to it', async () => {
  const h = harness();
  await h.client.create(NODES, undefined, { metadata: { name: 'a' } });
  await h.client.create(NODES, undefined, { metadata: { name: 'b' } });
  h.start(newNodeIpamController(h.ctx, { clusterCidr: '10.42.0.0/24', nodeCidrMaskSize: 25 }));
  await h.settle();
  await h.client.create(NODES, undefined, { metadata: { name: 'c' } });
  await h.settle();
  const before = podCidrs(h);
  assert.equal(before.c, 'undefined|');
  assert.deepEqual([before.a, before.b].sort(), ['10.42.0.0/25|10.42.0.0/25', '10.42.0.128/25|10.42.0.128/25']);
  assert.ok(h.recorder.events.includes('Normal CIDRNotAvailable Node c status is now: CIDRNotAvailable'), h.recorder.events.join('\n'));
  const freed = h.client.objects<Node>(NODES).find((n) => n.metadata!.name === 'a')!.spec!.podCIDR;
  await h.client.delete(NODES, undefined, 'a');
  await h.clock.advance(10_000);
  await h.settle();
  assert.equal(podCidrs(h).c, `${freed}|${freed}`);
  h.stop();
});

test('a mask size that does not fit the cluster CIDR is refused', () => {
  const h = harness();
  assert.throws(() => newNodeIpamController(h.ctx, { clusterCidr: '10.42.0.0/16', nodeCidrMaskSize: 12 }), /mask size 12 does not fit/);
  h.stop();
});
