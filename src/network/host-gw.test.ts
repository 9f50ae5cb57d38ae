import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Node } from 'kubernetes-types/core/v1.js';
import { desiredHostRoutes, diffHostRoutes } from './host-gw.js';

const node = (name: string, ip: string | undefined, cidr?: string): Node => ({
  metadata: { name },
  spec: cidr ? { podCIDR: cidr, podCIDRs: [cidr] } : {},
  status: ip ? { addresses: [{ type: 'InternalIP', address: ip }, { type: 'Hostname', address: name }] } : {},
});

test('a route to every other node with a pod range, via its InternalIP', () => {
  const nodes = [node('a', '10.251.0.2', '10.42.0.0/24'), node('b', '10.251.0.3', '10.42.1.0/24'), node('c', '10.251.0.4', '10.42.2.0/24'), node('new', '10.251.0.5')];
  assert.deepEqual(desiredHostRoutes(nodes, 'a', new Set(['10.251.0.2']), '10.42.0.0/24'), [
    { dst: '10.42.1.0/24', via: '10.251.0.3' },
    { dst: '10.42.2.0/24', via: '10.251.0.4' },
  ]);
});

test('nodes on this host (loopback or a local address) and malformed ranges get no route', () => {
  const nodes = [node('lo', '127.0.0.1', '10.42.1.0/24'), node('same-host', '192.168.1.9', '10.42.2.0/24'), node('bad', '10.251.0.7', 'nope'), node('noip', undefined, '10.42.4.0/24'),
    node('mine-too', '10.251.0.8', '10.42.0.0/24')];
  assert.deepEqual(desiredHostRoutes(nodes, 'a', new Set(['192.168.1.9']), '10.42.0.0/24'), []);
});

test('the diff adds new and moved routes and removes those of vanished nodes', () => {
  const cur = [{ dst: '10.42.1.0/24', via: '10.251.0.3' }, { dst: '10.42.2.0/24', via: '10.251.0.4' }, { dst: '10.42.3.0/24', via: '10.251.0.5' }];
  const want = [{ dst: '10.42.1.0/24', via: '10.251.0.3' }, { dst: '10.42.2.0/24', via: '10.251.0.9' }, { dst: '10.42.4.0/24', via: '10.251.0.6' }];
  assert.deepEqual(diffHostRoutes(cur, want), {
    add: [{ dst: '10.42.2.0/24', via: '10.251.0.9' }, { dst: '10.42.4.0/24', via: '10.251.0.6' }],
    remove: [{ dst: '10.42.3.0/24', via: '10.251.0.5' }],
  });
});
