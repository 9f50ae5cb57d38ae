import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConfigMap } from 'kubernetes-types/core/v1.js';
import { CONFIGMAPS, NAMESPACES } from '../client/resources.js';
import { newRootCaController } from './root-ca.js';
import { harness } from './testing/harness.js';

test('publishes kube-root-ca.crt into every namespace and repairs it', async () => {
  const h = harness();
  const pem = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n';
  h.start(newRootCaController(h.ctx, { caPem: pem }));
  await h.client.create(NAMESPACES, undefined, { metadata: { name: 'a' } });
  await h.client.create(NAMESPACES, undefined, { metadata: { name: 'b' } });
  await h.settle();
  for (const ns of ['a', 'b']) assert.equal(h.client.peek<ConfigMap>(CONFIGMAPS, ns, 'kube-root-ca.crt')!.data!['ca.crt'], pem);
  const cm = h.client.peek<ConfigMap>(CONFIGMAPS, 'a', 'kube-root-ca.crt')!;
  await h.client.update(CONFIGMAPS, 'a', { ...cm, data: { 'ca.crt': 'tampered' } });
  await h.client.delete(CONFIGMAPS, 'b', 'kube-root-ca.crt');
  await h.settle();
  for (const ns of ['a', 'b']) assert.equal(h.client.peek<ConfigMap>(CONFIGMAPS, ns, 'kube-root-ca.crt')!.data!['ca.crt'], pem);
  h.stop();
});
