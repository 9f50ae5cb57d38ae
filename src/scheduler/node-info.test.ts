import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HostPortInfo, NodeInfo, PodInfo, podRequests, DEFAULT_MEMORY_REQUEST } from './node-info.js';
import { Snapshot } from './snapshot.js';
import { makeNode, makePod } from './testing/builders.js';

describe('pod requests', () => {
  it('takes the larger of app containers and the biggest init step, counting sidecars, plus overhead', () => {
    const pod = makePod('p', {
      cpu: '500m',
      memory: '100Mi',
      initContainers: [
        { name: 'sidecar', restartPolicy: 'Always', resources: { requests: { cpu: '200m', memory: '50Mi' } } },
        { name: 'init-big', resources: { requests: { cpu: '1', memory: '10Mi' } } },
      ],
    });
    pod.spec!.overhead = { cpu: '50m' };
    const r = podRequests(pod, false);
    // app 500m + sidecar 200m = 700m; init step = 1000m + running sidecar 200m = 1200m; + 50m overhead.
    assert.equal(r.get('cpu'), 1250);
    // memory: app 100Mi + sidecar 50Mi = 150Mi vs init 10Mi + 50Mi = 60Mi.
    assert.equal(r.get('memory'), 150 * 1024 * 1024);
  });

  it('uses 100m / 200Mi for missing requests only when scoring', () => {
    const pi = PodInfo.of(makePod('p', { cpu: '250m' }));
    assert.equal(pi.request.milliCPU, 250);
    assert.equal(pi.request.memory, 0);
    assert.equal(pi.nonZeroMilliCPU, 250);
    assert.equal(pi.nonZeroMemory, DEFAULT_MEMORY_REQUEST);
    const empty = PodInfo.of(makePod('e'));
    assert.equal(empty.nonZeroMilliCPU, 100);
  });

  it('collects extended resources', () => {
    const pi = PodInfo.of(makePod('p', { requests: { 'example.com/foo': '2' } }));
    assert.equal(pi.request.scalar?.get('example.com/foo'), 2);
  });
});

describe('NodeInfo', () => {
  it('keeps aggregates in step with added and removed pods', () => {
    const ni = new NodeInfo('n', makeNode('n', { cpu: '4' }));
    const a = PodInfo.of(makePod('a', { cpu: '1', hostPorts: [80] }));
    const b = PodInfo.of(makePod('b', { cpu: '500m' }));
    ni.addPod(a);
    ni.addPod(b);
    assert.equal(ni.requested.milliCPU, 1500);
    assert.equal(ni.pods.length, 2);
    assert.ok(ni.usedPorts.conflicts({ ip: '0.0.0.0', protocol: 'TCP', port: 80 }));
    const clone = ni.clone();
    ni.removePod(a.key);
    assert.equal(ni.requested.milliCPU, 500);
    assert.equal(ni.usedPorts.conflicts({ ip: '0.0.0.0', protocol: 'TCP', port: 80 }), false);
    assert.equal(clone.requested.milliCPU, 1500, 'clone is independent');
    assert.equal(ni.allocatable.milliCPU, 4000);
    assert.equal(ni.allocatable.allowedPodNumber, 110);
  });

  it('host ports: 0.0.0.0 clashes with any address, distinct addresses do not clash', () => {
    const h = new HostPortInfo();
    h.add({ ip: '10.0.0.1', protocol: 'TCP', port: 8080 });
    assert.ok(h.conflicts({ ip: '0.0.0.0', protocol: 'TCP', port: 8080 }));
    assert.ok(h.conflicts({ ip: '10.0.0.1', protocol: 'TCP', port: 8080 }));
    assert.equal(h.conflicts({ ip: '10.0.0.2', protocol: 'TCP', port: 8080 }), false);
    assert.equal(h.conflicts({ ip: '10.0.0.1', protocol: 'UDP', port: 8080 }), false);
  });
});

describe('Snapshot', () => {
  it('assumes, confirms and forgets pods', () => {
    const s = new Snapshot();
    s.addNode(makeNode('n', { cpu: '2' }));
    const pod = makePod('p', { cpu: '1' });
    s.assumePod(PodInfo.of(pod), 'n');
    assert.equal(s.get('n')!.requested.milliCPU, 1000);
    assert.ok(s.isAssumed(PodInfo.keyOf(pod)));
    s.forgetPod(PodInfo.keyOf(pod));
    assert.equal(s.get('n')!.requested.milliCPU, 0);
    s.assumePod(PodInfo.of(pod), 'n');
    s.upsertPod({ ...pod, spec: { ...pod.spec!, nodeName: 'n' } });
    assert.equal(s.isAssumed(PodInfo.keyOf(pod)), false);
    s.forgetPod(PodInfo.keyOf(pod)); // confirmed pods are not forgotten
    assert.equal(s.get('n')!.requested.milliCPU, 1000);
  });

  it('releases a pod that became terminal and keeps terminating pods counted', () => {
    const s = new Snapshot();
    s.addNode(makeNode('n'));
    const pod = makePod('p', { cpu: '1', nodeName: 'n' });
    s.upsertPod({ ...pod, metadata: { ...pod.metadata, deletionTimestamp: '2024-01-01T00:00:00Z' } });
    assert.equal(s.get('n')!.requested.milliCPU, 1000);
    s.upsertPod({ ...pod, status: { phase: 'Succeeded' } });
    assert.equal(s.get('n')!.requested.milliCPU, 0);
  });

  it('lists only nodes whose Node object is known', () => {
    const s = new Snapshot();
    s.upsertPod(makePod('early', { nodeName: 'later' }));
    assert.equal(s.list().length, 0);
    s.addNode(makeNode('later'));
    assert.deepEqual(s.list().map((n) => n.name), ['later']);
    assert.equal(s.get('later')!.pods.length, 1);
    s.removeNode('later');
    assert.equal(s.list().length, 0);
  });
});
