import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { rfc3339 } from '../util/clock.js';
import { EVENTS, NODES, PODS, TIMELINES } from '../client/resources.js';
import type { KObject } from '../client/types.js';
import { newTimelineController, DELETED_AT_ANNOTATION } from './timeline.js';
import type { Timeline } from './timeline-entries.js';
import { harness, type Harness } from './testing/harness.js';

const writes = (h: Harness) => h.client.count('create', 'timelines') + h.client.count('update', 'timelines');

async function event(h: Harness, pod: Pod, reason: string, message: string, o: { type?: string; component?: string; host?: string; count?: number; name?: string } = {}): Promise<string> {
  const name = o.name ?? `${pod.metadata!.name}.${reason.toLowerCase()}${Math.random().toString(16).slice(2, 8)}`;
  const ts = rfc3339(h.clock.now());
  const ev = {
    apiVersion: 'v1', kind: 'Event', metadata: { name, namespace: 'default' },
    involvedObject: { kind: 'Pod', name: pod.metadata!.name, namespace: 'default', uid: pod.metadata!.uid },
    reason, message, type: o.type ?? 'Normal', source: { component: o.component ?? 'default-scheduler', ...(o.host ? { host: o.host } : {}) },
    count: o.count ?? 1, firstTimestamp: ts, lastTimestamp: ts,
  };
  if (o.name && h.client.peek(EVENTS, 'default', o.name)) {
    await h.client.patch(EVENTS, 'default', o.name, 'merge', { count: o.count, lastTimestamp: ts });
  } else await h.client.create(EVENTS, 'default', ev);
  return name;
}

test('a pod\'s timeline: scheduling failure with reasons, then binding, pull, start; writes coalesced per second', async () => {
  const h = harness();
  await h.client.create<Node>(NODES, undefined, { metadata: { name: 'n1' }, status: { conditions: [{ type: 'Ready', status: 'True' }] } });
  h.start(newTimelineController(h.ctx, { coalesceMs: 1000 }));
  await h.settle();
  const pod = await h.client.create<Pod>(PODS, 'default', { metadata: { name: 'big' }, spec: { containers: [{ name: 'app', image: 'busybox', resources: { requests: { cpu: '64' } } }] } });
  const msg = '0/3 nodes are available: 2 Insufficient cpu, 1 node(s) had untolerated taint {dedicated: gpu}. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.';
  const evName = await event(h, pod, 'FailedScheduling', msg, { type: 'Warning' });
  await h.settle();
  assert.equal(writes(h), 0, 'nothing is written before the coalescing window ends');
  // Three more scheduling attempts inside the window: one write.
  for (const count of [2, 3, 4]) {
    await h.clock.advance(200);
    await event(h, pod, 'FailedScheduling', msg, { type: 'Warning', count, name: evName });
  }
  await h.clock.advance(1000);
  await h.settle();
  assert.equal(writes(h), 1, 'one write for the burst');
  let tl = h.client.peek<Timeline>(TIMELINES, 'default', 'pod.big')!;
  assert.deepEqual(tl.involvedObject, { kind: 'Pod', name: 'big', namespace: 'default', uid: pod.metadata!.uid });
  assert.deepEqual(tl.entries.map((e) => `${e.type} ${e.source} ${e.reason}${e.count ? ` x${e.count}` : ''}`), ['Normal api Created', 'Warning scheduler FailedScheduling x4']);
  assert.equal(tl.entries[1]!.message, msg);
  assert.match(tl.diagnosis!.summary, /^no node has 64 CPU free for pod big/);

  // The pod is bound and starts on n1.
  await h.clock.advance(5000);
  const bound = await h.client.update<Pod>(PODS, 'default', { ...h.client.peek<Pod>(PODS, 'default', 'big')!, spec: { ...pod.spec!, nodeName: 'n1' } });
  await event(h, bound, 'Scheduled', 'Successfully assigned default/big to n1');
  await h.clock.advance(100);
  await event(h, bound, 'Pulled', 'Successfully pulled image "busybox" in 1.2s (1.2s including waiting). Image size: 2150000 bytes.', { component: 'kubelet', host: 'n1' });
  await event(h, bound, 'Started', 'Started container app', { component: 'kubelet', host: 'n1' });
  await h.clock.advance(100);
  await h.client.update(PODS, 'default', {
    ...h.client.peek<Pod>(PODS, 'default', 'big')!,
    status: { phase: 'Running', podIP: '10.42.0.9', conditions: [{ type: 'Ready', status: 'True' }], containerStatuses: [{ name: 'app', image: 'busybox', imageID: '', ready: true, restartCount: 0, state: { running: {} } }] },
  }, { subresource: 'status' });
  await h.clock.advance(1000);
  await h.settle();
  assert.equal(writes(h), 2);
  tl = h.client.peek<Timeline>(TIMELINES, 'default', 'pod.big')!;
  assert.deepEqual(tl.entries.slice(2).map((e) => `${e.source} ${e.reason}`), ['scheduler Scheduled', 'agent/n1 Pulled', 'agent/n1 Started', 'agent/n1 SandboxReady', 'agent/n1 Ready']);
  assert.equal(tl.diagnosis!.summary, 'healthy: pod big is running and ready on n1');

  // The node goes NotReady: the pod's timeline says so.
  await h.clock.advance(5000);
  await h.client.update(NODES, undefined, { ...h.client.peek<Node>(NODES, undefined, 'n1')!, status: { conditions: [{ type: 'Ready', status: 'Unknown', reason: 'NodeStatusUnknown' }] } }, { subresource: 'status' });
  await h.clock.advance(1000);
  await h.settle();
  tl = h.client.peek<Timeline>(TIMELINES, 'default', 'pod.big')!;
  assert.equal(tl.entries.at(-1)!.reason, 'NodeNotReady');
  h.stop();
});

test('a restarted recorder adds nothing twice; a deleted pod\'s timeline goes after the retention', async () => {
  const h = harness();
  const c1 = newTimelineController(h.ctx, { coalesceMs: 1000, retentionSeconds: 60 });
  h.start(c1);
  await h.settle();
  const pod = await h.client.create<Pod>(PODS, 'default', { metadata: { name: 'p' }, spec: { containers: [{ name: 'app', image: 'busybox' }] } });
  await event(h, pod, 'FailedScheduling', '0/1 nodes are available: 1 Insufficient memory.', { type: 'Warning' });
  await h.clock.advance(1000);
  await h.settle();
  const before = h.client.peek<Timeline>(TIMELINES, 'default', 'pod.p')!;
  assert.equal(before.entries.length, 2);
  h.stop();

  // A new manager (new informers, no memory) over the same API.
  const { SharedInformerFactory } = await import('../client/informer.js');
  const informers = new SharedInformerFactory(h.client, { clock: h.clock });
  const ctx2 = { ...h.ctx, informers };
  const c2 = newTimelineController(ctx2, { coalesceMs: 1000, retentionSeconds: 60 });
  void c2.run(1);
  informers.start();
  await h.clock.advance(2000);
  await h.settle();
  assert.deepEqual(h.client.peek<Timeline>(TIMELINES, 'default', 'pod.p')!.entries, before.entries, 'the relist adds no duplicate');

  await h.client.delete(PODS, 'default', 'p');
  await h.clock.advance(1000);
  await h.settle();
  const gone = h.client.peek<Timeline>(TIMELINES, 'default', 'pod.p')!;
  assert.ok(gone, 'kept after the pod is deleted');
  assert.equal(gone.entries.at(-1)!.reason, 'Deleted');
  assert.ok(gone.metadata!.annotations![DELETED_AT_ANNOTATION]);
  assert.match(gone.diagnosis!.summary, /no longer exists/);
  await h.clock.advance(61_000);
  await h.settle();
  assert.equal(h.client.peek<KObject>(TIMELINES, 'default', 'pod.p'), undefined, 'removed after the retention');
  c2.stop();
  informers.stop();
});

test('a deleted namespace takes its timelines with it; the recorder does not bring them back', async () => {
  const { newNamespaceController } = await import('./namespace.js');
  const { NAMESPACES } = await import('../client/resources.js');
  const h = harness();
  await h.client.create(NAMESPACES, undefined, { metadata: { name: 'team' } });
  h.start(newTimelineController(h.ctx, { coalesceMs: 1000 }), newNamespaceController(h.ctx));
  await h.settle();
  await h.client.create(PODS, 'team', { metadata: { name: 'p' }, spec: { containers: [{ name: 'app', image: 'busybox' }] } });
  await h.clock.advance(1000);
  await h.settle();
  assert.ok(h.client.peek(TIMELINES, 'team', 'pod.p'));
  await h.client.delete(NAMESPACES, undefined, 'team');
  for (let i = 0; i < 5; i++) {
    await h.clock.advance(2000);
    await h.settle();
  }
  assert.equal(h.client.peek(NAMESPACES, undefined, 'team'), undefined, 'the namespace is finalized away');
  assert.deepEqual(h.client.objects(TIMELINES, 'team'), []);
  h.stop();
});
