import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Service } from 'kubernetes-types/core/v1.js';
import { SERVICES } from '../client/resources.js';
import { harness } from './testing/harness.js';
import { newLoadBalancerController } from './service-lb.js';

const lb = (name: string, extra: Partial<Service['spec']> = {}): Service => ({
  apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' },
  spec: { type: 'LoadBalancer', ports: [{ port: 80 }], ...extra },
});

test('LoadBalancer Services get distinct pool addresses; requested IPs honoured; released when no longer LoadBalancer', async () => {
  const h = harness();
  h.start(newLoadBalancerController(h.ctx, { pool: '127.0.1.0/29' }));
  await h.client.create(SERVICES, 'default', lb('a'));
  await h.client.create(SERVICES, 'default', lb('b'));
  await h.client.create(SERVICES, 'default', lb('c', { loadBalancerIP: '127.0.1.5' }));
  await h.client.create(SERVICES, 'default', { ...lb('d'), spec: { type: 'ClusterIP', ports: [{ port: 80 }] } });
  await h.settle();
  const ip = (n: string) => h.client.peek<Service>(SERVICES, 'default', n)!.status?.loadBalancer?.ingress?.map((i) => i.ip);
  assert.deepEqual([ip('a'), ip('b'), ip('c'), ip('d')], [['127.0.1.1'], ['127.0.1.2'], ['127.0.1.5'], undefined]);
  await h.client.patch(SERVICES, 'default', 'a', 'merge', { spec: { type: 'NodePort' } });
  await h.settle();
  assert.equal(ip('a'), undefined);
  h.stop();
});
