import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { entryFromEvent, eventSource, mergeEntries, nodeEntries, podEntries, timelineName, workloadEntries, type EventLike, type TimelineEntry } from './timeline-entries.js';

const T0 = Date.parse('2024-01-01T00:00:00Z');
const at = (s: number) => new Date(T0 + s * 1000).toISOString();
const entry = (s: number, reason: string, extra: Partial<TimelineEntry> = {}): TimelineEntry => ({ time: at(s), type: 'Normal', reason, message: reason, source: 'scheduler', ...extra });

test('timeline names are <kind lower-case>.<name>', () => {
  assert.equal(timelineName('Pod', 'web-7d9f-abc12'), 'pod.web-7d9f-abc12');
  assert.equal(timelineName('Deployment', 'web'), 'deployment.web');
});

test('event sources in the timeline\'s words', () => {
  const cases: [EventLike['source'], string][] = [
    [{ component: 'default-scheduler' }, 'scheduler'],
    [{ component: 'kubelet', host: 'node-1' }, 'agent/node-1'],
    [{ component: 'replicaset-controller' }, 'controller/replicaset'],
    [{ component: 'deployment-controller' }, 'controller/deployment'],
    [{ component: 'skiff-thing' }, 'skiff-thing'],
  ];
  for (const [source, want] of cases) assert.equal(eventSource({ source }), want, JSON.stringify(source));
});

test('entries from events: new, repeated (count delta), already recorded after a restart', () => {
  const ev: EventLike = {
    metadata: { uid: 'e1' }, type: 'Warning', reason: 'FailedScheduling', message: '0/3 nodes are available: 3 Insufficient cpu.',
    source: { component: 'default-scheduler' }, count: 1, lastTimestamp: '2024-01-01T00:00:10Z',
  };
  const now = T0 + 10_400;
  const first = entryFromEvent(ev, undefined, [], now)!;
  assert.deepEqual(first, { time: new Date(now).toISOString(), type: 'Warning', reason: 'FailedScheduling', message: ev.message, source: 'scheduler' }, 'observed live: stamped with ms precision');
  assert.equal(entryFromEvent({ ...ev, count: 1 }, 1, [first], now), undefined, 'same count again adds nothing');
  assert.equal(entryFromEvent({ ...ev, count: 4, lastTimestamp: '2024-01-01T00:00:40Z' }, 1, [first], T0 + 40_000)!.count, 3, 'the delta since last seen');
  // After a restart the recorder has no memory of the event: the stored entries tell.
  assert.equal(entryFromEvent(ev, undefined, [first], T0 + 500_000), undefined, 'already in the timeline');
  const old = entryFromEvent({ ...ev, count: 5 }, undefined, [], T0 + 500_000)!;
  assert.equal(old.time, '2024-01-01T00:00:10.000Z', 'an old event keeps its own time');
  assert.equal(old.count, 5);
});

test('merging: time order, repeats counted and moved to their latest time, bounded', () => {
  const a = [entry(1, 'Scheduled'), entry(2, 'Pulled'), entry(3, 'BackOff', { type: 'Warning' })];
  const merged = mergeEntries(a, [entry(5, 'BackOff', { type: 'Warning' }), entry(4, 'Started')]);
  assert.deepEqual(merged.map((e) => `${e.reason}${e.count ? `x${e.count}` : ''}@${Date.parse(e.time) / 1000 - T0 / 1000}`), ['Scheduled@1', 'Pulled@2', 'Started@4', 'BackOffx2@5']);
  assert.equal(a.length, 3, 'inputs are not changed');
  const early = mergeEntries(a, [entry(0, 'Created', { source: 'api' })]);
  assert.equal(early[0]!.reason, 'Created', 'an older entry is inserted in order');
  const many = Array.from({ length: 250 }, (_, i) => entry(i, `R${i}`));
  const bounded = mergeEntries([], many, 200);
  assert.equal(bounded.length, 200);
  assert.equal(bounded[0]!.reason, 'R50', 'the oldest are dropped');
});

const basePod = (status: Pod['status'], extra: Partial<Pod> = {}): Pod => ({
  metadata: { name: 'web', namespace: 'default', uid: 'u1', creationTimestamp: '2024-01-01T00:00:00Z', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-1', uid: 'rs', controller: true }] },
  spec: { nodeName: 'n1', containers: [{ name: 'app', image: 'busybox' }] },
  status,
  ...extra,
});

test('pod status changes: created, sandbox/IP, exits with codes, OOM, waiting reasons, readiness, eviction, deletion', () => {
  const now = T0 + 1000;
  const reasons = (es: TimelineEntry[]) => es.map((e) => `${e.type[0]} ${e.reason}: ${e.message}`);
  const p0 = basePod({ phase: 'Pending' });
  assert.deepEqual(reasons(podEntries(undefined, p0, now)), ['N Created: Pod created by ReplicaSet web-1']);
  const p1 = basePod({ phase: 'Pending', podIP: '10.42.0.5' });
  assert.deepEqual(reasons(podEntries(p0, p1, now)), ['N SandboxReady: Pod sandbox and network set up; pod IP 10.42.0.5']);
  const running = { running: { startedAt: '2024-01-01T00:00:01Z' } };
  const p2 = basePod({ phase: 'Running', podIP: '10.42.0.5', conditions: [{ type: 'Ready', status: 'True' }], containerStatuses: [{ name: 'app', image: 'busybox', imageID: '', ready: true, restartCount: 0, state: running }] });
  assert.deepEqual(reasons(podEntries(p1, p2, now)), ['N Ready: Pod is Ready: every container is running and passes its readiness probe']);
  const oom = { terminated: { exitCode: 137, reason: 'OOMKilled', startedAt: '2024-01-01T00:00:01Z', finishedAt: '2024-01-01T00:00:04Z', containerID: 'runc://a' } };
  const p3 = basePod({
    phase: 'Running', podIP: '10.42.0.5', conditions: [{ type: 'Ready', status: 'False', message: 'containers with unready status: [app]' }],
    containerStatuses: [{ name: 'app', image: 'busybox', imageID: '', ready: false, restartCount: 1, lastState: oom, state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 10s restarting failed container=app' } } }],
  });
  assert.deepEqual(reasons(podEntries(p2, p3, T0 + 4500)), [
    'W OOMKilled: Container app exited with code 137 (OOMKilled) after 3s',
    'W CrashLoopBackOff: Container app: back-off 10s restarting failed container=app',
    'W NotReady: Pod is no longer Ready: containers with unready status: [app]',
  ]);
  assert.deepEqual(podEntries(p3, structuredClone(p3), T0 + 5000), [], 'no change, no entries');
  const exit1 = { terminated: { exitCode: 1, reason: 'Error', finishedAt: '2024-01-01T00:00:09Z', containerID: 'runc://b' } };
  const p4 = basePod({ ...p3.status, containerStatuses: [{ ...p3.status!.containerStatuses![0]!, lastState: exit1 }] });
  assert.deepEqual(reasons(podEntries(p3, p4, T0 + 9100)), ['W Exited: Container app exited with code 1 (Error)']);
  const evicted = basePod({ phase: 'Failed', reason: 'Evicted', message: 'The node was low on resource: memory.' });
  assert.deepEqual(reasons(podEntries(p2, evicted, now)).filter((r) => r.includes('Evicted')), ['W Evicted: Pod failed: The node was low on resource: memory.']);
  const deleting = basePod(p2.status, { metadata: { ...p2.metadata, deletionTimestamp: at(9), deletionGracePeriodSeconds: 30 } });
  assert.deepEqual(reasons(podEntries(p2, deleting, now)), ['N Terminating: Pod is being deleted (grace period 30s)']);
});

test('node condition changes and new taints, for the pods on the node', () => {
  const node = (ready: string, taints: NonNullable<Node['spec']>['taints'] = []): Node => ({ metadata: { name: 'n1' }, spec: { taints }, status: { conditions: [{ type: 'Ready', status: ready, reason: ready === 'True' ? 'KubeletReady' : 'NodeStatusUnknown' }] } });
  assert.deepEqual(nodeEntries(undefined, node('True'), T0), [], 'first sight says nothing');
  const down = nodeEntries(node('True'), node('Unknown', [{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' }]), T0);
  assert.deepEqual(down.map((e) => `${e.type} ${e.reason} ${e.source}`), ['Warning NodeNotReady node/n1', 'Warning NodeTainted node/n1']);
  assert.match(down[0]!.message, /Ready is now Unknown \(NodeStatusUnknown\)/);
  assert.equal(nodeEntries(node('Unknown'), node('True'), T0)[0]!.reason, 'NodeReady');
});

test('workload changes: scaling, replicas ready, conditions', () => {
  const dep = (replicas: number, ready: number, conditions: object[] = []) => ({ metadata: { name: 'web', namespace: 'default' }, spec: { replicas }, status: { readyReplicas: ready, conditions } });
  assert.deepEqual(workloadEntries('Deployment', dep(2, 0), dep(2, 2), T0).map((e) => e.reason), ['ReplicasReady']);
  assert.deepEqual(workloadEntries('Deployment', dep(2, 2), dep(3, 2), T0).map((e) => `${e.reason}: ${e.message}`), ['Scaled: Deployment scaled from 2 to 3 replicas', 'ReplicasNotReady: 2/3 replicas ready']);
  const stuck = dep(2, 0, [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'ReplicaSet "web-1" has timed out progressing.' }]);
  const es = workloadEntries('Deployment', dep(2, 0, [{ type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated' }]), stuck, T0);
  assert.deepEqual(es.map((e) => `${e.type} ${e.reason}`), ['Warning ProgressDeadlineExceeded']);
});
