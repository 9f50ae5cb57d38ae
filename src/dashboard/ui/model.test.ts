import { test } from 'node:test';
import assert from 'node:assert/strict';
import { age, bytes, eventsAsTimeline, matches, nodeUsage, phaseCounts, podRow, podStatus, restartPatch, rollbackPatch, visibleRange } from './model.js';

const pod = (name: string, extra: Record<string, any> = {}) => ({
  metadata: { name, namespace: 'default', creationTimestamp: '2026-01-01T00:00:00Z' },
  spec: { nodeName: 'n1', containers: [{ name: 'c', resources: { requests: { cpu: '250m', memory: '64Mi' } } }] },
  status: { phase: 'Running', podIP: '10.1.0.5', containerStatuses: [{ name: 'c', ready: true, restartCount: 2, state: { running: {} } }] },
  ...extra,
});

test('a pod row reads as kubectl get pods prints it', () => {
  assert.deepEqual(podRow(pod('a')), { namespace: 'default', name: 'a', ready: '1/1', status: 'Running', restarts: 2, node: 'n1', ip: '10.1.0.5', created: '2026-01-01T00:00:00Z' });
  const crashing = pod('b', { status: { phase: 'Running', containerStatuses: [{ name: 'c', ready: false, restartCount: 5, state: { waiting: { reason: 'CrashLoopBackOff' } } }] } });
  assert.equal(podStatus(crashing), 'CrashLoopBackOff');
  assert.equal(podStatus({ ...pod('c'), metadata: { name: 'c', deletionTimestamp: 'x' } }), 'Terminating');
  assert.equal(podStatus({ status: { phase: 'Succeeded', containerStatuses: [{ state: { terminated: { reason: 'Completed', exitCode: 0 } } }] } }), 'Completed');
  assert.equal(podStatus({ status: { phase: 'Pending', initContainerStatuses: [{ state: { waiting: { reason: 'PodInitializing' } } }, { state: {} }] } }), 'Init:0/2');
  assert.equal(podStatus({ status: { phase: 'Pending' } }), 'Pending');
});

test('node allocation sums the requests of the non-terminated pods bound to each node', () => {
  const nodes = [
    { metadata: { name: 'n1' }, status: { allocatable: { cpu: '2', memory: '1Gi', pods: '110' }, conditions: [{ type: 'Ready', status: 'True' }] } },
    { metadata: { name: 'n2' }, status: { allocatable: { cpu: '1', memory: '512Mi', pods: '10' } } },
  ];
  const done = pod('done', { status: { phase: 'Succeeded' } });
  const init = pod('init', { spec: { nodeName: 'n1', containers: [{ name: 'c' }], initContainers: [{ name: 'i', resources: { requests: { cpu: '1' } } }] } });
  const [n1, n2] = nodeUsage(nodes, [pod('a'), pod('b'), done, init]);
  assert.deepEqual(n1, { name: 'n1', ready: true, cpuMilli: { allocatable: 2000, requested: 1500 }, memory: { allocatable: 1 << 30, requested: 128 << 20 }, pods: { allocatable: 110, running: 3 } });
  assert.equal(n2.ready, false);
  assert.equal(n2.pods.running, 0);
  assert.deepEqual(phaseCounts([pod('a'), done, { status: {} }]), { Running: 1, Succeeded: 1, Pending: 1 });
});

test('roll back puts the previous revision\'s template back, without the pod-template-hash label', () => {
  const deployment = { metadata: { name: 'web', uid: 'd1' } };
  const rs = (rev: number, image: string, owner = 'd1') => ({
    metadata: { name: `web-${rev}`, annotations: { 'deployment.kubernetes.io/revision': String(rev) }, ownerReferences: [{ uid: owner, controller: true }] },
    spec: { template: { metadata: { labels: { app: 'web', 'pod-template-hash': `h${rev}` } }, spec: { containers: [{ name: 'c', image }] } } },
  });
  const p = rollbackPatch(deployment, [rs(1, 'v1'), rs(3, 'v3'), rs(2, 'v2'), rs(9, 'other', 'd2')]);
  assert.ok(!('error' in p));
  assert.equal(p.revision, '2');
  assert.deepEqual(p.ops, [{ op: 'replace', path: '/spec/template', value: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'v2' }] } } }]);
  assert.deepEqual(rollbackPatch(deployment, [rs(1, 'v1')]), { error: 'no rollout history found for deployment "web"' });
});

test('restart stamps the template as kubectl rollout restart does', () => {
  assert.deepEqual(restartPatch(new Date('2026-12-03T14:00:00.123Z')), { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': '2026-12-03T14:00:00Z' } } } } });
});

test('events become a timeline, oldest first', () => {
  const t = eventsAsTimeline([
    { type: 'Warning', reason: 'FailedScheduling', message: '0/1 nodes are available: 1 Insufficient cpu.', lastTimestamp: '2026-01-01T00:00:05Z', source: { component: 'default-scheduler' }, count: 3 },
    { type: 'Normal', reason: 'Created', message: 'made', eventTime: '2026-01-01T00:00:01.000000Z', reportingComponent: 'kubelet' },
  ]);
  assert.deepEqual(t.map((e) => [e.reason, e.source, e.count]), [['Created', 'kubelet', undefined], ['FailedScheduling', 'default-scheduler', 3]]);
});

test('small helpers: ages, sizes, filters, the virtualized window', () => {
  const now = Date.parse('2026-01-01T10:00:00Z');
  assert.equal(age('2026-01-01T09:59:30Z', now), '30s');
  assert.equal(age('2026-01-01T09:30:00Z', now), '30m');
  assert.equal(age('2026-01-01T05:00:00Z', now), '5h');
  assert.equal(age('2025-12-25T10:00:00Z', now), '7d');
  assert.equal(bytes(3.5 * 1024 ** 3), '3.5Gi');
  assert.equal(bytes(512 * 1024 ** 2), '512Mi');
  assert.equal(matches('default web-1 Running n1', 'web run'), true);
  assert.equal(matches('default web-1 Running n1', 'web pending'), false);
  assert.deepEqual(visibleRange(0, 560, 28, 1000), { start: 0, end: 30 });
  assert.deepEqual(visibleRange(28 * 500, 560, 28, 1000), { start: 490, end: 530 });
  assert.deepEqual(visibleRange(28 * 995, 560, 28, 1000), { start: 985, end: 1000 });
});
