import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NodeSelectorRequirement, Pod } from 'kubernetes-types/core/v1.js';
import { nodeSelectorMatcher, nodeSelectorTermMatcher, nodeView, podMatchesNodeSelectorAndAffinity, requiredNodeAffinity } from './node-affinity.js';

const node = (name: string, labels: Record<string, string> = {}) => ({ name, labels });
const expr = (...matchExpressions: NodeSelectorRequirement[]) => nodeSelectorTermMatcher({ matchExpressions });

test('requirement operators: In, NotIn, Exists, DoesNotExist, Gt, Lt', () => {
  const n = node('a', { zone: 'z1', gen: '5' });
  assert.ok(expr({ key: 'zone', operator: 'In', values: ['z1', 'z2'] })(n));
  assert.ok(!expr({ key: 'zone', operator: 'In', values: ['z2'] })(n));
  assert.ok(!expr({ key: 'zone', operator: 'NotIn', values: ['z1'] })(n));
  assert.ok(expr({ key: 'missing', operator: 'NotIn', values: ['x'] })(n), 'NotIn matches a missing label');
  assert.ok(expr({ key: 'zone', operator: 'Exists' })(n));
  assert.ok(expr({ key: 'missing', operator: 'DoesNotExist' })(n));
  assert.ok(expr({ key: 'gen', operator: 'Gt', values: ['4'] })(n));
  assert.ok(!expr({ key: 'gen', operator: 'Lt', values: ['5'] })(n));
  assert.ok(!expr({ key: 'zone', operator: 'Gt', values: ['1'] })(n), 'a non-numeric label never matches Gt');
  assert.ok(!expr({ key: 'gen', operator: 'Gt', values: ['1', '2'] })(n), 'Gt needs exactly one value');
  assert.ok(!expr({ key: 'zone', operator: 'Near', values: ['z1'] })(n), 'an unknown operator matches nothing');
});

test('terms: expressions ANDed, terms ORed, an empty term matches nothing, fields only metadata.name', () => {
  const sel = nodeSelectorMatcher([
    { matchExpressions: [{ key: 'zone', operator: 'In', values: ['z1'] }, { key: 'ssd', operator: 'Exists' }] },
    { matchFields: [{ key: 'metadata.name', operator: 'In', values: ['special'] }] },
  ]);
  assert.ok(sel(node('a', { zone: 'z1', ssd: '' })));
  assert.ok(!sel(node('b', { zone: 'z1' })));
  assert.ok(sel(node('special')));
  assert.ok(!nodeSelectorTermMatcher({})(node('a')));
  assert.ok(!nodeSelectorMatcher([])(node('a')));
  assert.ok(!nodeSelectorTermMatcher({ matchFields: [{ key: 'metadata.uid', operator: 'In', values: ['a'] }] })(node('a')));
  assert.ok(!nodeSelectorTermMatcher({ matchFields: [{ key: 'metadata.name', operator: 'Exists' }] })(node('a')));
});

test('a pod requires its nodeSelector AND its required node affinity', () => {
  const pod: Pod = {
    spec: {
      containers: [],
      nodeSelector: { disk: 'ssd' },
      affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['z1'] }] }] } } },
    },
  };
  assert.ok(podMatchesNodeSelectorAndAffinity(pod, node('a', { disk: 'ssd', zone: 'z1' })));
  assert.ok(!podMatchesNodeSelectorAndAffinity(pod, node('b', { disk: 'ssd', zone: 'z2' })));
  assert.ok(!podMatchesNodeSelectorAndAffinity(pod, node('c', { disk: 'hdd', zone: 'z1' })));
  assert.equal(requiredNodeAffinity(pod), requiredNodeAffinity(pod), 'compiled once per pod object');
});

test('a pod with no node constraints fits every node', () => {
  const pod: Pod = { spec: { containers: [], nodeSelector: {} } };
  assert.equal(requiredNodeAffinity(pod), undefined);
  assert.ok(podMatchesNodeSelectorAndAffinity(pod, node('any')));
});

test('nodeView reads name and labels of an API Node', () => {
  assert.deepEqual(nodeView({ metadata: { name: 'n1', labels: { a: 'b' } } }), node('n1', { a: 'b' }));
  assert.deepEqual(nodeView({}), node(''));
});
