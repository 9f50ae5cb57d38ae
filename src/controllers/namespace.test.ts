import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Namespace } from 'kubernetes-types/core/v1.js';
import { CONFIGMAPS, DEPLOYMENTS, NAMESPACES, PODS } from '../client/resources.js';
import { newNamespaceController } from './namespace.js';
import { harness } from './testing/harness.js';

test('deleting a namespace empties it, then it is finalized away', async () => {
  const h = harness({ namespacedResources: [DEPLOYMENTS, PODS, CONFIGMAPS] });
  await h.client.create(NAMESPACES, undefined, { metadata: { name: 'team' } });
  await h.client.create(NAMESPACES, undefined, { metadata: { name: 'other' } });
  await h.client.create(PODS, 'team', { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'x' }] } });
  await h.client.create(CONFIGMAPS, 'team', { metadata: { name: 'held', finalizers: ['example.com/hold'] } });
  await h.client.create(DEPLOYMENTS, 'team', { metadata: { name: 'd' }, spec: { selector: { matchLabels: { app: 'd' } }, template: { metadata: { labels: { app: 'd' } }, spec: { containers: [{ name: 'c', image: 'x' }] } } } });
  await h.client.create(PODS, 'other', { metadata: { name: 'keep' }, spec: { containers: [{ name: 'c', image: 'x' }] } });
  h.start(newNamespaceController(h.ctx));
  await h.settle();
  await h.client.delete(NAMESPACES, undefined, 'team');
  await h.settle();
  assert.equal(h.client.objects(PODS, 'team').length, 0);
  assert.equal(h.client.objects(DEPLOYMENTS, 'team').length, 0);
  const ns = h.client.peek<Namespace>(NAMESPACES, undefined, 'team')!;
  assert.equal(ns.status!.phase, 'Terminating');
  const c = ns.status!.conditions!.find((x) => x.type === 'NamespaceContentRemaining')!;
  assert.equal(c.status, 'True');
  assert.match(c.message!, /configmaps has 1 resource instances/);
  // The finalizer on the configmap is removed by its owner; the namespace then goes.
  await h.client.patch(CONFIGMAPS, 'team', 'held', 'merge', { metadata: { finalizers: null } });
  await h.clock.advance(2000);
  await h.settle();
  assert.equal(h.client.peek(NAMESPACES, undefined, 'team'), undefined);
  assert.ok(h.client.peek(PODS, 'other', 'keep'), 'other namespaces untouched');
  assert.ok(h.client.peek(NAMESPACES, undefined, 'other'));
  h.stop();
});
