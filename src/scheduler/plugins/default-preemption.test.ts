import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Scheduler } from '../scheduler.js';
import { makeNode, makePod, RecordingHost } from '../testing/builders.js';

function setup() {
  const host = new RecordingHost();
  const sched = new Scheduler(host, { random: () => 0 });
  host.scheduler = sched;
  return { host, sched };
}

describe('DefaultPreemption', () => {
  it('picks the node whose victims have the lowest priority', async () => {
    const { host, sched } = setup();
    sched.addNode(makeNode('n1', { cpu: '1' }));
    sched.addNode(makeNode('n2', { cpu: '1' }));
    sched.addPod(makePod('v5', { cpu: '1', priority: 5, nodeName: 'n1' }));
    sched.addPod(makePod('v2', { cpu: '1', priority: 2, nodeName: 'n2' }));
    sched.addPod(makePod('boss', { cpu: '1', priority: 100 }));
    await sched.drain();
    assert.deepEqual(host.evicted, ['v2']);
    assert.equal(host.nominated.get('boss'), 'n2');
  });

  it('prefers fewer victims when priorities tie', async () => {
    const { host, sched } = setup();
    sched.addNode(makeNode('n1', { cpu: '2' }));
    sched.addNode(makeNode('n2', { cpu: '2' }));
    sched.addPod(makePod('a', { cpu: '1', priority: 1, nodeName: 'n1' }));
    sched.addPod(makePod('b', { cpu: '1', priority: 1, nodeName: 'n1' }));
    sched.addPod(makePod('c', { cpu: '2', priority: 1, nodeName: 'n2' }));
    sched.addPod(makePod('boss', { cpu: '2', priority: 100 }));
    await sched.drain();
    assert.deepEqual(host.evicted, ['c']);
  });

  it('reprieves pods that need not go', async () => {
    const { host, sched } = setup();
    sched.addNode(makeNode('n1', { cpu: '4' }));
    sched.addPod(makePod('keep', { cpu: '2', priority: 3, nodeName: 'n1' }));
    sched.addPod(makePod('go', { cpu: '2', priority: 1, nodeName: 'n1' }));
    sched.addPod(makePod('boss', { cpu: '2', priority: 100 }));
    await sched.drain();
    assert.deepEqual(host.evicted, ['go']);
  });

  it('explains why preemption cannot help', async () => {
    const { host, sched } = setup();
    sched.addNode(makeNode('n1', { cpu: '1' }));
    sched.addNode(makeNode('n2', { cpu: '1', taints: [{ key: 'x', value: 'y', effect: 'NoSchedule' }] }));
    sched.addPod(makePod('peer', { cpu: '1', priority: 100, nodeName: 'n1' }));
    sched.addPod(makePod('boss', { cpu: '1', priority: 100 }));
    await sched.drain();
    assert.equal(
      host.reports.get('boss'),
      '0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint {x: y}. ' +
        'preemption: 0/2 nodes are available: 1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling.',
    );
  });

  it('keeps the nominated room from being taken by a lower-priority pod', async () => {
    const { host, sched } = setup();
    host.evict = async (v) => {
      host.evicted.push(v.metadata!.name!); // deletion not delivered yet: the victim is still terminating
    };
    sched.addNode(makeNode('n1', { cpu: '2' }));
    sched.addPod(makePod('victim', { cpu: '2', priority: 0, nodeName: 'n1' }));
    sched.addPod(makePod('boss', { cpu: '2', priority: 100 }));
    await sched.drain();
    assert.equal(host.nominated.get('boss'), 'n1');
    sched.deletePod(makePod('victim', { cpu: '2', priority: 0, nodeName: 'n1' }));
    sched.addPod(makePod('sneaky', { cpu: '1', priority: 1 }));
    await sched.drain();
    assert.equal(host.binds.has('sneaky'), false, 'room is held for the nominated preemptor');
  });
});
