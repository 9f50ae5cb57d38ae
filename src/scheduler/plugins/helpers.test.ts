import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Node } from 'kubernetes-types/core/v1.js';
import { ActionType } from '../framework.js';
import { makeNode, makePod } from '../testing/builders.js';
import { defaultNormalizeScore, onNodeChange, queueIf } from './helpers.js';
import { NodeAffinity } from './node-affinity.js';
import { NodeUnschedulable } from './node-unschedulable.js';
import { TaintToleration } from './taint-toleration.js';

test('onNodeChange requeues for an unknown node object or one that may fit, and skips the rest', () => {
  const [reg] = onNodeChange(ActionType.Add, (_pod, node) => node.metadata?.name === 'good');
  assert.deepEqual(reg.event, { resource: 'Node', action: ActionType.Add });
  const pod = makePod('p');
  assert.equal(reg.hint!(pod, undefined, makeNode('good')), 'Queue');
  assert.equal(reg.hint!(pod, undefined, makeNode('bad')), 'QueueSkip');
  assert.equal(reg.hint!(pod, undefined, undefined), 'Queue');
  assert.equal(queueIf(true), 'Queue');
  assert.equal(queueIf(false), 'QueueSkip');
});

test('node plugins hint from the changed node: labels, taints, cordon', () => {
  const hint = (pl: { eventsToRegister(): { hint?: (...a: never[]) => string }[] }, pod: ReturnType<typeof makePod>, node: Node) =>
    (pl.eventsToRegister()[0].hint as (p: unknown, o: unknown, n: unknown) => string)(pod, undefined, node);
  const wantsSsd = makePod('p', { nodeSelector: { disk: 'ssd' } });
  assert.equal(hint(new NodeAffinity(), wantsSsd, makeNode('a', { labels: { disk: 'ssd' } })), 'Queue');
  assert.equal(hint(new NodeAffinity(), wantsSsd, makeNode('b', { labels: { disk: 'hdd' } })), 'QueueSkip');
  const tainted = makeNode('t');
  tainted.spec = { ...tainted.spec, taints: [{ key: 'k', effect: 'NoSchedule' }] };
  assert.equal(hint(new TaintToleration(), makePod('p'), tainted), 'QueueSkip');
  assert.equal(hint(new TaintToleration(), makePod('p', { tolerations: [{ key: 'k', operator: 'Exists' }] }), tainted), 'Queue');
  const cordoned = makeNode('c');
  cordoned.spec = { ...cordoned.spec, unschedulable: true };
  assert.equal(hint(new NodeUnschedulable(), makePod('p'), cordoned), 'QueueSkip');
  assert.equal(hint(new NodeUnschedulable(), makePod('p'), makeNode('d')), 'Queue');
});

test('defaultNormalizeScore scales to the maximum, reversed when lower is better', () => {
  const s = [0, 5, 10];
  defaultNormalizeScore(100, false, s);
  assert.deepEqual(s, [0, 50, 100]);
  const r = [0, 5, 10];
  defaultNormalizeScore(100, true, r);
  assert.deepEqual(r, [100, 50, 0]);
  const z = [0, 0];
  defaultNormalizeScore(100, true, z);
  assert.deepEqual(z, [100, 100]);
});
