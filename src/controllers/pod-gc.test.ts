import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { NODES, PODS } from '../client/resources.js';
import { newPodGCController } from './pod-gc.js';
import { harness } from './testing/harness.js';

test('deletes pods on vanished nodes and the oldest terminated pods beyond the threshold', async () => {
  const h = harness({ terminatedPodGCThreshold: 2 });
  await h.client.create(NODES, undefined, { metadata: { name: 'alive' } });
  await h.client.create(NODES, undefined, { metadata: { name: 'doomed' } });
  await h.client.create(PODS, 'default', { metadata: { name: 'on-alive' }, spec: { nodeName: 'alive', containers: [{ name: 'c', image: 'x' }] } });
  await h.client.create(PODS, 'default', { metadata: { name: 'on-doomed' }, spec: { nodeName: 'doomed', containers: [{ name: 'c', image: 'x' }] } });
  for (const [i, name] of ['done-1', 'done-2', 'done-3'].entries()) {
    await h.clock.advance(1000 * (i + 1));
    const p = await h.client.create<Pod>(PODS, 'default', { metadata: { name }, spec: { nodeName: 'alive', containers: [{ name: 'c', image: 'x' }] } });
    await h.client.update(PODS, 'default', { ...p, status: { phase: 'Succeeded' } }, { subresource: 'status' });
  }
  h.start(newPodGCController(h.ctx));
  await h.settle();
  const names = () => h.client.objects<Pod>(PODS).map((p) => p.metadata!.name).sort();
  assert.deepEqual(names(), ['done-2', 'done-3', 'on-alive', 'on-doomed']);
  await h.client.delete(NODES, undefined, 'doomed');
  await h.settle();
  assert.deepEqual(names(), ['done-2', 'done-3', 'on-alive']);
  h.stop();
});
