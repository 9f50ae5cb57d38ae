import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Endpoints, Pod, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { ENDPOINTS, ENDPOINT_SLICES, PODS, SERVICES } from '../client/resources.js';
import { newEndpointsController } from './endpoints.js';
import { newEndpointSliceController } from './endpointslice.js';
import { harness, type Harness } from './testing/harness.js';

const svc = (name: string, spec: Service['spec'] = {}): Service => ({
  apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default', labels: { tier: 'web' } },
  spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' as unknown as number }], ...spec },
});

async function addPod(h: Harness, name: string, ip: string, ready: boolean, extra: Partial<Pod['spec']> = {}, containerPort = 8080): Promise<void> {
  await h.client.create<Pod>(PODS, 'default', {
    apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', labels: { app: 'web' } },
    spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'x', ports: [{ name: 'http', containerPort }] }], ...extra },
  });
  await setStatus(h, name, ip, ready);
}

async function setStatus(h: Harness, name: string, ip: string, ready: boolean): Promise<void> {
  await h.client.patch(PODS, 'default', name, 'merge', {
    status: { phase: 'Running', podIP: ip, podIPs: [{ ip }], conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
  }, { subresource: 'status' });
}

test('Endpoints: ready/not-ready addresses, named ports per pod, terminating excluded, publishNotReadyAddresses', async () => {
  const h = harness();
  h.start(newEndpointsController(h.ctx));
  await h.client.create(SERVICES, 'default', svc('web'));
  await addPod(h, 'a', '10.0.0.2', true);
  await addPod(h, 'b', '10.0.0.3', false);
  await addPod(h, 'c', '10.0.0.4', true, {}, 9090); // same name, other number: its own subset
  await h.client.create<Pod>(PODS, 'default', { metadata: { name: 'noip', labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'x' }] } });
  await h.settle();
  let ep = h.client.peek<Endpoints>(ENDPOINTS, 'default', 'web')!;
  assert.equal(ep.metadata!.labels!.tier, 'web');
  assert.deepEqual(ep.subsets!.map((s) => ({ a: s.addresses?.map((x) => x.ip), n: s.notReadyAddresses?.map((x) => x.ip), p: s.ports!.map((p) => p.port) })), [
    { a: ['10.0.0.2'], n: ['10.0.0.3'], p: [8080] },
    { a: ['10.0.0.4'], n: undefined, p: [9090] },
  ]);
  const a = ep.subsets![0].addresses![0];
  assert.deepEqual({ ...a, targetRef: { ...a.targetRef, uid: undefined } }, { ip: '10.0.0.2', nodeName: 'n1', targetRef: { kind: 'Pod', namespace: 'default', name: 'a', uid: undefined } });
  assert.equal(ep.subsets![0].ports![0].name, 'http');

  // A terminating pod leaves; publishNotReadyAddresses puts not-ready pods into addresses.
  await h.client.patch(PODS, 'default', 'c', 'merge', { metadata: { finalizers: ['x'] } });
  await h.client.delete(PODS, 'default', 'c');
  await h.settle();
  assert.deepEqual(h.client.peek<Endpoints>(ENDPOINTS, 'default', 'web')!.subsets!.length, 1);
  // publishNotReadyAddresses publishes not-ready (and, as upstream, terminating) pods as addresses.
  await h.client.patch(PODS, 'default', 'c', 'merge', { metadata: { finalizers: null } });
  await h.client.patch(SERVICES, 'default', 'web', 'merge', { spec: { publishNotReadyAddresses: true } });
  await h.settle();
  ep = h.client.peek<Endpoints>(ENDPOINTS, 'default', 'web')!;
  assert.deepEqual(ep.subsets!.map((s) => [s.addresses?.map((x) => x.ip), s.notReadyAddresses]), [[['10.0.0.2', '10.0.0.3'], undefined]]);

  // Headless without ports publishes bare addresses; deleting the Service deletes the Endpoints.
  await h.client.create(SERVICES, 'default', svc('hl', { clusterIP: 'None', ports: [] }));
  await h.settle();
  const hl = h.client.peek<Endpoints>(ENDPOINTS, 'default', 'hl')!;
  assert.equal(hl.metadata!.labels!['service.kubernetes.io/headless'], '');
  assert.deepEqual(hl.subsets![0].addresses!.map((x) => x.ip), ['10.0.0.2']);
  assert.equal(hl.subsets![0].ports, undefined);
  await h.client.delete(SERVICES, 'default', 'web');
  await h.settle();
  assert.equal(h.client.peek(ENDPOINTS, 'default', 'web'), undefined);
  // Selector-less Services are the user's business.
  await h.client.create(SERVICES, 'default', svc('manual', { selector: undefined }));
  await h.settle();
  assert.equal(h.client.peek(ENDPOINTS, 'default', 'manual'), undefined);
  h.stop();
});

test('EndpointSlices: labels, owner, conditions, 100 per slice, placeholder, minimal churn', async () => {
  const h = harness();
  h.start(newEndpointSliceController(h.ctx, { maxEndpointsPerSlice: 3 }));
  await h.client.create(SERVICES, 'default', svc('web'));
  await h.settle();
  let slices = h.client.objects<EndpointSlice>(ENDPOINT_SLICES, 'default');
  assert.equal(slices.length, 1, 'placeholder');
  assert.deepEqual(slices[0].endpoints, []);
  for (let i = 0; i < 5; i++) await addPod(h, `p${i}`, `10.0.0.${10 + i}`, i !== 1);
  await h.settle();
  slices = h.client.objects<EndpointSlice>(ENDPOINT_SLICES, 'default');
  assert.equal(slices.length, 2);
  const s0 = slices[0];
  assert.match(s0.metadata!.name!, /^web-[a-z0-9]{5}$/);
  assert.equal(s0.metadata!.labels!['kubernetes.io/service-name'], 'web');
  assert.equal(s0.metadata!.labels!['endpointslice.kubernetes.io/managed-by'], 'endpointslice-controller.k8s.io');
  assert.equal(s0.metadata!.ownerReferences![0].kind, 'Service');
  assert.equal(s0.addressType, 'IPv4');
  assert.deepEqual(s0.ports, [{ name: 'http', port: 8080, protocol: 'TCP' }]);
  const all = slices.flatMap((s) => s.endpoints);
  assert.equal(all.length, 5);
  assert.ok(slices.every((s) => s.endpoints.length <= 3));
  const p1 = all.find((e) => e.addresses[0] === '10.0.0.11')!;
  assert.deepEqual(p1.conditions, { ready: false, serving: false, terminating: false });
  assert.equal(p1.nodeName, 'n1');
  assert.equal(p1.targetRef!.name, 'p1');

  // A pod becoming ready updates one slice in place; a terminating pod stays with terminating=true.
  h.client.clearActions();
  await setStatus(h, 'p1', '10.0.0.11', true);
  await h.settle();
  assert.equal(h.client.count('update', 'endpointslices'), 1);
  assert.equal(h.client.count('create', 'endpointslices') + h.client.count('delete', 'endpointslices'), 0);
  await h.client.patch(PODS, 'default', 'p2', 'merge', { metadata: { finalizers: ['x'] } });
  await h.client.delete(PODS, 'default', 'p2');
  await h.settle();
  const p2 = h.client.objects<EndpointSlice>(ENDPOINT_SLICES, 'default').flatMap((s) => s.endpoints).find((e) => e.addresses[0] === '10.0.0.12')!;
  assert.deepEqual(p2.conditions, { ready: false, serving: true, terminating: true });

  // All pods gone: back to one empty placeholder.
  for (let i = 0; i < 5; i++) await h.client.patch(PODS, 'default', `p${i}`, 'merge', { metadata: { finalizers: null } });
  for (let i = 0; i < 5; i++) await h.client.delete(PODS, 'default', `p${i}`).catch(() => undefined);
  await h.settle();
  slices = h.client.objects<EndpointSlice>(ENDPOINT_SLICES, 'default');
  assert.equal(slices.length, 1);
  assert.deepEqual(slices[0].endpoints, []);
  h.stop();
});
