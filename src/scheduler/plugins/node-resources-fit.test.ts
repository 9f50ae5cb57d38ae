import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Code, CycleState } from '../framework.js';
import { NodeInfo, PodInfo } from '../node-info.js';
import { makeNode, makePod } from '../testing/builders.js';
import { BalancedAllocation, balancedResourceScore } from './balanced-allocation.js';
import { NodeResourcesFit, leastRequestedScore } from './node-resources-fit.js';

const node = (spec: Parameters<typeof makeNode>[1], pods: ReturnType<typeof makePod>[] = []) => {
  const n = makeNode('n', spec);
  const x = new NodeInfo('n', n);
  for (const p of pods) x.addPod(PodInfo.of(p));
  return x;
};
const fit = new NodeResourcesFit();
const filter = (pod: ReturnType<typeof makePod>, ni: NodeInfo) => fit.filter(new CycleState(), PodInfo.of(pod), ni);

describe('NodeResourcesFit filter', () => {
  it('reports every insufficient resource with upstream wording', () => {
    const ni = node({ cpu: '2', memory: '1Gi', extra: { 'ephemeral-storage': '10Gi', 'example.com/foo': '1' } }, [makePod('x', { cpu: '1500m', memory: '512Mi' })]);
    const st = filter(makePod('p', { cpu: '1', memory: '1Gi', requests: { 'ephemeral-storage': '20Gi', 'example.com/foo': '2' } }), ni);
    assert.deepEqual(st?.reasons, ['Insufficient cpu', 'Insufficient memory', 'Insufficient ephemeral-storage', 'Insufficient example.com/foo']);
  });
  it('is Unschedulable when evicting could help, UnschedulableAndUnresolvable when the node is too small', () => {
    const ni = node({ cpu: '2' }, [makePod('x', { cpu: '1500m' })]);
    assert.equal(filter(makePod('p', { cpu: '1' }), ni)?.code, Code.Unschedulable);
    assert.equal(filter(makePod('p', { cpu: '3' }), ni)?.code, Code.UnschedulableAndUnresolvable);
  });
  it('says Too many pods when the pod slots are used up, even for request-less pods', () => {
    const ni = node({ pods: 1 }, [makePod('x')]);
    assert.deepEqual(filter(makePod('p'), ni)?.reasons, ['Too many pods']);
  });
  it('fits when there is room', () => {
    assert.equal(filter(makePod('p', { cpu: '1', memory: '1Gi' }), node({ cpu: '2', memory: '2Gi' })), null);
  });
});

describe('LeastAllocated and BalancedAllocation scores', () => {
  it('prefers the emptier node', () => {
    const pod = PodInfo.of(makePod('p', { cpu: '1', memory: '1Gi' }));
    const empty = node({ cpu: '4', memory: '4Gi' });
    const half = node({ cpu: '4', memory: '4Gi' }, [makePod('x', { cpu: '2', memory: '2Gi' })]);
    const st = new CycleState();
    // (4-1)/4 → 75 for both resources on the empty node; (4-3)/4 → 25 on the half-full one.
    assert.equal(fit.score(st, pod, empty), 75);
    assert.equal(fit.score(st, pod, half), 25);
    assert.equal(leastRequestedScore(5, 4), 0);
  });
  it('uses 100m / 200Mi defaults for pods without requests', () => {
    const pod = PodInfo.of(makePod('p'));
    // cpu: (1000-100)*100/1000 = 90; memory: (1000Mi-200Mi)/1000Mi = 80 → (90+80)/2 = 85.
    assert.equal(fit.score(new CycleState(), pod, node({ cpu: '1', memory: '1000Mi' })), 85);
  });
  it('balanced allocation favours equal cpu and memory fractions', () => {
    assert.equal(balancedResourceScore([1, 1], [2, 2]), 100);
    assert.equal(balancedResourceScore([2, 0], [2, 2]), 50);
    const ba = new BalancedAllocation();
    const pod = PodInfo.of(makePod('p', { cpu: '1', memory: '1Gi' }));
    assert.equal(ba.score(new CycleState(), pod, node({ cpu: '2', memory: '2Gi' })), 100);
    assert.equal(ba.score(new CycleState(), pod, node({ cpu: '2', memory: '8Gi' })), 81); // |0.5-0.125|/2 = 0.1875
  });
});
