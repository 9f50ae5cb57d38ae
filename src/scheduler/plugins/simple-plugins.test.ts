// Tests for the small filter plugins (NodeName, NodeUnschedulable, NodePorts, TaintToleration).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CycleState, MAX_NODE_SCORE } from '../framework.js';
import { NodeInfo, PodInfo } from '../node-info.js';
import { makeNode, makePod } from '../testing/builders.js';
import { NodeName } from './node-name.js';
import { NodePorts } from './node-ports.js';
import { NodeUnschedulable } from './node-unschedulable.js';
import { TaintToleration } from './taint-toleration.js';

const ni = (n: ReturnType<typeof makeNode>, pods: ReturnType<typeof makePod>[] = []) => {
  const x = new NodeInfo(n.metadata!.name!, n);
  for (const p of pods) x.addPod(PodInfo.of(p));
  return x;
};

describe('NodeName', () => {
  it('only fits the named node', () => {
    const pl = new NodeName();
    const pod = PodInfo.of(makePod('p', { nodeName: 'a' }));
    assert.equal(pl.filter(new CycleState(), pod, ni(makeNode('a'))), null);
    assert.deepEqual(pl.filter(new CycleState(), pod, ni(makeNode('b')))?.reasons, ["node(s) didn't match the requested node name"]);
  });
});

describe('NodeUnschedulable', () => {
  const cordoned = ni(makeNode('a', { unschedulable: true }));
  it('rejects cordoned nodes', () => {
    assert.deepEqual(new NodeUnschedulable().filter(new CycleState(), PodInfo.of(makePod('p')), cordoned)?.reasons, ['node(s) were unschedulable']);
  });
  it('admits pods tolerating node.kubernetes.io/unschedulable', () => {
    const pod = makePod('p', { tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }] });
    assert.equal(new NodeUnschedulable().filter(new CycleState(), PodInfo.of(pod), cordoned), null);
  });
});

describe('NodePorts', () => {
  it('rejects a node where the host port is taken', () => {
    const pl = new NodePorts();
    const node = ni(makeNode('a'), [makePod('web', { nodeName: 'a', hostPorts: [8080] })]);
    const st = new CycleState();
    const pod = PodInfo.of(makePod('p', { hostPorts: [8080] }));
    assert.equal(pl.preFilter(st, pod), null);
    assert.deepEqual(pl.filter(st, pod, node)?.reasons, ["node(s) didn't have free ports for the requested pod ports"]);
    assert.equal(pl.filter(st, PodInfo.of(makePod('q', { hostPorts: [9090] })), node), null);
    assert.equal(pl.preFilter(st, PodInfo.of(makePod('none')))?.code, 5 /* Skip */);
  });
});

describe('TaintToleration', () => {
  const pl = new TaintToleration();
  const tainted = ni(makeNode('a', { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] }));
  it('rejects untolerated NoSchedule taints with the upstream message', () => {
    const st = pl.filter(new CycleState(), PodInfo.of(makePod('p')), tainted);
    assert.deepEqual(st?.reasons, ['node(s) had untolerated taint {dedicated: gpu}']);
    assert.equal(st?.code, 3 /* UnschedulableAndUnresolvable */);
  });
  it('accepts Equal and Exists tolerations; a wrong value does not tolerate', () => {
    const eq = makePod('eq', { tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }] });
    const ex = makePod('ex', { tolerations: [{ key: 'dedicated', operator: 'Exists' }] });
    const wrong = makePod('wrong', { tolerations: [{ key: 'dedicated', value: 'cpu' }] });
    assert.equal(pl.filter(new CycleState(), PodInfo.of(eq), tainted), null);
    assert.equal(pl.filter(new CycleState(), PodInfo.of(ex), tainted), null);
    assert.notEqual(pl.filter(new CycleState(), PodInfo.of(wrong), tainted), null);
  });
  it('ignores PreferNoSchedule in filtering but scores it down', () => {
    const soft = ni(makeNode('s', { taints: [{ key: 'k', value: 'v', effect: 'PreferNoSchedule' }] }));
    const clean = ni(makeNode('c'));
    const st = new CycleState();
    const pod = PodInfo.of(makePod('p'));
    assert.equal(pl.filter(st, pod, soft), null);
    pl.preScore(st, pod);
    const scores = [pl.score(st, pod, soft), pl.score(st, pod, clean)];
    pl.normalizeScore(st, pod, scores);
    assert.deepEqual(scores, [0, MAX_NODE_SCORE]);
  });
});
