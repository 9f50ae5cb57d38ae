import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock } from '../util/clock.js';
import { Scheduler } from './scheduler.js';
import { makeNode, makePod, RecordingHost } from './testing/builders.js';

function setup(opts: ConstructorParameters<typeof Scheduler>[1] = {}) {
  const host = new RecordingHost();
  const clock = new FakeClock();
  const sched = new Scheduler(host, { clock, random: () => 0.5, ...opts });
  host.scheduler = sched;
  /** Lets backoff expire and schedules whatever became active. */
  const retry = async () => {
    await clock.advance(1000);
    sched.queue.flushBackoffQCompleted();
    await sched.drain();
  };
  return { host, clock, sched, retry };
}

function countBy(binds: Map<string, string>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of binds.values()) out[n] = (out[n] ?? 0) + 1;
  return out;
}

describe('Scheduler', () => {
  it('spreads 30 equal pods evenly over 3 nodes (least allocated)', async () => {
    const { host, sched } = setup();
    for (const n of ['a', 'b', 'c']) sched.addNode(makeNode(n, { cpu: '4', memory: '8Gi' }));
    for (let i = 0; i < 30; i++) sched.addPod(makePod(`p${i}`, { cpu: '100m', memory: '128Mi' }));
    await sched.drain();
    assert.equal(host.binds.size, 30);
    assert.deepEqual(countBy(host.binds), { a: 10, b: 10, c: 10 });
    assert.equal(host.reports.size, 0);
  });

  it('does not overcommit: assumed pods count before the bind is confirmed', async () => {
    const { host, sched } = setup();
    host.scheduler = undefined; // binds never confirmed by an informer
    sched.addNode(makeNode('a', { cpu: '1' }));
    for (let i = 0; i < 3; i++) sched.addPod(makePod(`p${i}`, { cpu: '400m' }));
    await sched.drain();
    assert.equal(host.binds.size, 2);
    assert.equal(host.reports.get('p2'), '0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.');
  });

  it('explains a pod too big for every node with the aggregated upstream message', async () => {
    const { host, sched } = setup();
    for (const n of ['a', 'b', 'c']) sched.addNode(makeNode(n, { cpu: '2', memory: '4Gi' }));
    sched.addPod(makePod('huge', { cpu: '8', memory: '1Gi' }));
    await sched.drain();
    assert.equal(host.binds.size, 0);
    assert.equal(
      host.reports.get('huge'),
      '0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.',
    );
    assert.equal(sched.queue.whereIs('uid-default-huge'), 'unschedulable');
  });

  it('counts mixed reasons, sorted, as upstream', async () => {
    const { host, sched } = setup();
    sched.addNode(makeNode('ssd', { cpu: '2', labels: { disk: 'ssd' } }));
    sched.addNode(makeNode('hdd1', { cpu: '2', labels: { disk: 'hdd' } }));
    sched.addNode(makeNode('hdd2', { cpu: '2' }));
    sched.addPod(makePod('running', { cpu: '1500m', nodeName: 'ssd' }));
    sched.addPod(makePod('want-ssd', { cpu: '1', nodeSelector: { disk: 'ssd' } }));
    await sched.drain();
    assert.equal(
      host.reports.get('want-ssd'),
      "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't match Pod's node affinity/selector. " +
        'preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling.',
    );
  });

  it('keeps pods off tainted nodes unless they tolerate the taint', async () => {
    const { host, sched, retry } = setup();
    sched.addNode(makeNode('gpu', { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] }));
    sched.addPod(makePod('plain', { cpu: '100m' }));
    sched.addPod(makePod('tolerant', { cpu: '100m', tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }] }));
    await sched.drain();
    assert.equal(host.binds.get('tolerant'), 'gpu');
    assert.equal(host.binds.has('plain'), false);
    assert.equal(
      host.reports.get('plain'),
      '0/1 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.',
    );
    // A node the pod can use appears: the parked pod is retried on that event.
    sched.addNode(makeNode('plain-node'));
    await retry();
    assert.equal(host.binds.get('plain'), 'plain-node');
  });

  it('preemption evicts only the lowest-priority pods needed, nominates, then schedules', async () => {
    const { host, sched, retry } = setup();
    sched.addNode(makeNode('n1', { cpu: '3' }));
    sched.addPod(makePod('low', { cpu: '1', priority: 1, nodeName: 'n1' }));
    sched.addPod(makePod('lower', { cpu: '1', priority: 0, nodeName: 'n1' }));
    sched.addPod(makePod('mid', { cpu: '1', priority: 5, nodeName: 'n1' }));
    sched.addPod(makePod('high', { cpu: '1', priority: 10 }));
    await sched.drain();
    assert.deepEqual(host.evicted, ['lower']);
    assert.equal(host.nominated.get('high'), 'n1');
    assert.equal(sched.stats.preemptions, 1);
    assert.equal(host.reports.get('high'), '0/1 nodes are available: 1 Insufficient cpu.');
    // The victim's deletion requeued the preemptor; it binds once its backoff is over.
    await retry();
    assert.equal(host.binds.get('high'), 'n1');
  });

  it('does not preempt pods of equal or higher priority, nor for preemptionPolicy Never', async () => {
    const { host, sched } = setup();
    sched.addNode(makeNode('n1', { cpu: '1' }));
    sched.addPod(makePod('busy', { cpu: '1', priority: 10, nodeName: 'n1' }));
    sched.addPod(makePod('peer', { cpu: '1', priority: 10 }));
    sched.addPod(makePod('polite', { cpu: '1', priority: 100, preemptionPolicy: 'Never' }));
    await sched.drain();
    assert.deepEqual(host.evicted, []);
    assert.match(host.reports.get('peer')!, /1 No preemption victims found for incoming pod\.$/);
    assert.equal(host.reports.get('polite'), '0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never.');
  });

  it('schedules higher priority first', async () => {
    const { host, sched } = setup();
    sched.addNode(makeNode('n1', { cpu: '1' }));
    sched.addPod(makePod('first-low', { cpu: '1', priority: 1, preemptionPolicy: 'Never' }));
    sched.addPod(makePod('later-high', { cpu: '1', priority: 50 }));
    await sched.drain();
    assert.equal(host.binds.get('later-high'), 'n1');
    assert.equal(host.binds.has('first-low'), false);
  });

  it('ignores pods for other schedulers and terminal pods', async () => {
    const { host, sched } = setup();
    sched.addNode(makeNode('n1', { cpu: '1' }));
    sched.addPod(makePod('other', { schedulerName: 'my-scheduler' }));
    sched.addPod(makePod('done', { cpu: '1', nodeName: 'n1', phase: 'Succeeded' }));
    sched.addPod(makePod('mine', { cpu: '1' }));
    await sched.drain();
    assert.equal(host.binds.has('other'), false);
    assert.equal(host.binds.get('mine'), 'n1');
  });

  it('frees the room and retries after a failed bind', async () => {
    const { host, sched, clock } = setup({ onError: () => {} });
    sched.addNode(makeNode('n1', { cpu: '1' }));
    let fail = true;
    host.failBind = () => fail;
    sched.addPod(makePod('p', { cpu: '1' }));
    await sched.drain();
    assert.equal(sched.stats.bindFailures, 1);
    assert.equal(sched.snapshot.get('n1')!.requested.milliCPU, 0);
    assert.equal(sched.queue.whereIs('uid-default-p'), 'backoff');
    fail = false;
    await clock.advance(1000);
    sched.queue.flushBackoffQCompleted();
    await sched.drain();
    assert.equal(host.binds.get('p'), 'n1');
  });

  it('frees resources when an assigned pod is deleted and retries parked pods', async () => {
    const { host, sched, retry } = setup();
    sched.addNode(makeNode('n1', { cpu: '1' }));
    const blocker = makePod('blocker', { cpu: '1', nodeName: 'n1', priority: 10 });
    sched.addPod(blocker);
    sched.addPod(makePod('waiting', { cpu: '1' }));
    await sched.drain();
    assert.equal(sched.queue.whereIs('uid-default-waiting'), 'unschedulable');
    sched.deletePod(blocker);
    assert.equal(sched.queue.whereIs('uid-default-waiting'), 'backoff');
    await retry();
    assert.equal(host.binds.get('waiting'), 'n1');
  });

  it('a node-affinity rejection is not retried on an unrelated node event', async () => {
    const { sched } = setup();
    sched.addNode(makeNode('n1'));
    sched.addPod(makePod('picky', { nodeSelector: { zone: 'z9' } }));
    await sched.drain();
    sched.addNode(makeNode('n2', { labels: { zone: 'z1' } }));
    assert.equal(sched.queue.whereIs('uid-default-picky'), 'unschedulable');
    sched.addNode(makeNode('n3', { labels: { zone: 'z9' } }));
    // Moved, but still inside its 1 s backoff.
    assert.equal(sched.queue.whereIs('uid-default-picky'), 'backoff');
  });

  it('runs on its own with start()/stop()', async () => {
    const host = new RecordingHost();
    const sched = new Scheduler(host);
    host.scheduler = sched;
    sched.addNode(makeNode('n1'));
    sched.start();
    for (let i = 0; i < 5; i++) sched.addPod(makePod(`p${i}`, { cpu: '100m' }));
    for (let i = 0; i < 50 && host.binds.size < 5; i++) await new Promise((r) => setTimeout(r, 5));
    await sched.stop();
    assert.equal(host.binds.size, 5);
  });
});
