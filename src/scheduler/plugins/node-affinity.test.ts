import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NodeSelectorRequirement } from 'kubernetes-types/core/v1.js';
import { CycleState } from '../framework.js';
import { NodeInfo, PodInfo } from '../node-info.js';
import { makeNode, makePod } from '../testing/builders.js';
import { NodeAffinity } from './node-affinity.js';

const pl = new NodeAffinity();
const node = (name: string, labels: Record<string, string>) => new NodeInfo(name, makeNode(name, { labels }));
const required = (...exprs: NodeSelectorRequirement[]) =>
  makePod('p', { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: exprs }] } } } });
const fits = (pod: ReturnType<typeof makePod>, n: NodeInfo) => pl.filter(new CycleState(), PodInfo.of(pod), n) === null;

describe('NodeAffinity', () => {
  it('applies nodeSelector with the upstream reason', () => {
    const pod = makePod('p', { nodeSelector: { disk: 'ssd' } });
    assert.ok(fits(pod, node('a', { disk: 'ssd' })));
    assert.deepEqual(pl.filter(new CycleState(), PodInfo.of(pod), node('b', { disk: 'hdd' }))?.reasons, ["node(s) didn't match Pod's node affinity/selector"]);
  });

  it('supports In, NotIn, Exists, DoesNotExist, Gt and Lt', () => {
    const n = node('a', { zone: 'z1', gen: '5' });
    assert.ok(fits(required({ key: 'zone', operator: 'In', values: ['z1', 'z2'] }), n));
    assert.ok(!fits(required({ key: 'zone', operator: 'NotIn', values: ['z1'] }), n));
    assert.ok(fits(required({ key: 'missing', operator: 'NotIn', values: ['x'] }), n));
    assert.ok(fits(required({ key: 'zone', operator: 'Exists' }), n));
    assert.ok(fits(required({ key: 'missing', operator: 'DoesNotExist' }), n));
    assert.ok(fits(required({ key: 'gen', operator: 'Gt', values: ['4'] }), n));
    assert.ok(!fits(required({ key: 'gen', operator: 'Lt', values: ['5'] }), n));
    assert.ok(!fits(required({ key: 'zone', operator: 'Gt', values: ['1'] }), n), 'non-numeric label never matches Gt');
  });

  it('ORs terms, ANDs expressions, and matches metadata.name fields', () => {
    const pod = makePod('p', {
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [
              { matchExpressions: [{ key: 'zone', operator: 'In', values: ['z1'] }, { key: 'ssd', operator: 'Exists' }] },
              { matchFields: [{ key: 'metadata.name', operator: 'In', values: ['special'] }] },
            ],
          },
        },
      },
    });
    assert.ok(fits(pod, node('a', { zone: 'z1', ssd: '' })));
    assert.ok(!fits(pod, node('b', { zone: 'z1' })));
    assert.ok(fits(pod, node('special', {})));
  });

  it('narrows the candidate nodes when every term pins metadata.name', () => {
    const pod = makePod('p', {
      affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n1', 'n2'] }] }] } } },
    });
    const r = pl.preFilter(new CycleState(), PodInfo.of(pod));
    assert.deepEqual(r && 'nodeNames' in r ? [...r.nodeNames] : r, ['n1', 'n2']);
  });

  it('scores preferred terms by weight, normalized to 100', () => {
    const pod = PodInfo.of(
      makePod('p', {
        affinity: {
          nodeAffinity: {
            preferredDuringSchedulingIgnoredDuringExecution: [
              { weight: 20, preference: { matchExpressions: [{ key: 'zone', operator: 'In', values: ['z1'] }] } },
              { weight: 60, preference: { matchExpressions: [{ key: 'ssd', operator: 'Exists' }] } },
            ],
          },
        },
      }),
    );
    const st = new CycleState();
    assert.equal(pl.preScore(st, pod), null);
    const nodes = [node('a', { zone: 'z1' }), node('b', { ssd: '' }), node('c', { zone: 'z1', ssd: '' }), node('d', {})];
    const scores = nodes.map((n) => pl.score(st, pod, n));
    assert.deepEqual(scores, [20, 60, 80, 0]);
    pl.normalizeScore(st, pod, scores);
    assert.deepEqual(scores, [25, 75, 100, 0]);
  });
});
