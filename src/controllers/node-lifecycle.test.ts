import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { rfc3339Micro } from '../util/clock.js';
import { LEASES, NODES, PODS } from '../client/resources.js';
import { newNodeLifecycleController, TAINT_UNREACHABLE, TAINT_UNSCHEDULABLE } from './node-lifecycle.js';
import { harness } from './testing/harness.js';

const taintsOf = (n: Node) => (n.spec?.taints ?? []).map((t) => `${t.key}:${t.effect}`).sort();

test('a silent node goes Unknown and tainted; pods leave as their tolerations expire; it recovers', async () => {
  const h = harness({ nodeMonitorGracePeriodSeconds: 50 });
  const renew = () => h.client.patch(LEASES, 'kube-node-lease', 'n1', 'merge', { spec: { renewTime: rfc3339Micro(h.clock.now()) } });
  await h.client.create(NODES, undefined, { metadata: { name: 'n1' }, spec: {} });
  await h.client.update(NODES, undefined, { ...h.client.peek<Node>(NODES, undefined, 'n1'), status: { conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady' }, { type: 'MemoryPressure', status: 'False' }] } }, { subresource: 'status' });
  await h.client.create(LEASES, 'kube-node-lease', { metadata: { name: 'n1' }, spec: { holderIdentity: 'n1', leaseDurationSeconds: 40, renewTime: rfc3339Micro(h.clock.now()) } });
  const unreachable = (seconds?: number) => [{ key: TAINT_UNREACHABLE, operator: 'Exists', effect: 'NoExecute', ...(seconds !== undefined ? { tolerationSeconds: seconds } : {}) }];
  // Admission gives every pod a 300 s toleration unless it states its own: 0 s is none at all.
  await h.client.create(PODS, 'default', { metadata: { name: 'none' }, spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'x' }], tolerations: unreachable(0) } });
  await h.client.create(PODS, 'default', { metadata: { name: 'sixty' }, spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'x' }], tolerations: unreachable(60) } });
  await h.client.create(PODS, 'default', { metadata: { name: 'forever' }, spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'x' }], tolerations: unreachable() } });
  h.start(newNodeLifecycleController(h.ctx));
  await h.settle();
  // The kubelet renews every 10 s: nothing happens.
  for (let i = 0; i < 6; i++) { await h.clock.advance(10_000); await renew(); }
  await h.settle();
  assert.deepEqual(taintsOf(h.client.peek<Node>(NODES, undefined, 'n1')!), []);
  // It stops. After 50 s without a renewal the node is Unknown and tainted.
  await h.clock.advance(45_000);
  assert.equal(h.client.peek<Node>(NODES, undefined, 'n1')!.status!.conditions![0].status, 'True');
  await h.clock.advance(6_000); // t=111 s; the grace period ran out at 110 s, when the taint was added
  await h.settle();
  let n = h.client.peek<Node>(NODES, undefined, 'n1')!;
  const ready = n.status!.conditions!.find((c) => c.type === 'Ready')!;
  assert.deepEqual([ready.status, ready.reason, ready.message], ['Unknown', 'NodeStatusUnknown', 'Kubelet stopped posting node status.']);
  assert.equal(n.status!.conditions!.find((c) => c.type === 'MemoryPressure')!.status, 'Unknown');
  assert.deepEqual(taintsOf(n), [`${TAINT_UNREACHABLE}:NoExecute`, `${TAINT_UNREACHABLE}:NoSchedule`]);
  const names = () => h.client.objects<Pod>(PODS).map((p) => p.metadata!.name).sort();
  assert.deepEqual(names(), ['forever', 'sixty'], 'a pod without toleration is evicted at once');
  await h.clock.advance(58_000); // t=169 s: 59 s after the taint
  assert.deepEqual(names(), ['forever', 'sixty']);
  await h.clock.advance(2_000);
  await h.settle();
  assert.deepEqual(names(), ['forever']);
  // The kubelet comes back: Ready=True again, taints go.
  await renew();
  n = h.client.peek<Node>(NODES, undefined, 'n1')!;
  await h.client.update(NODES, undefined, { ...n, status: { conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady' }] } }, { subresource: 'status' });
  await h.settle();
  assert.deepEqual(taintsOf(h.client.peek<Node>(NODES, undefined, 'n1')!), []);
  // Cordon.
  await h.client.patch(NODES, undefined, 'n1', 'merge', { spec: { unschedulable: true } });
  await h.settle();
  assert.deepEqual(taintsOf(h.client.peek<Node>(NODES, undefined, 'n1')!), [`${TAINT_UNSCHEDULABLE}:NoSchedule`]);
  h.stop();
});
