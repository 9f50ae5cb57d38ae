import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Pod, TopologySpreadConstraint } from 'kubernetes-types/core/v1.js';
import { CycleState } from '../framework.js';
import { PodInfo } from '../node-info.js';
import { Snapshot } from '../snapshot.js';
import { makeNode, makePod } from '../testing/builders.js';
import { PodTopologySpread } from './pod-topology-spread.js';

const ZONE = 'topology.kubernetes.io/zone';

function cluster(existing: Pod[], extraNode = false) {
  const snap = new Snapshot();
  snap.addNode(makeNode('a1', { labels: { [ZONE]: 'a' } }));
  snap.addNode(makeNode('b1', { labels: { [ZONE]: 'b' } }));
  snap.addNode(makeNode('c1', { labels: { [ZONE]: 'c' } }));
  if (extraNode) snap.addNode(makeNode('nolabel'));
  for (const p of existing) snap.upsertPod(p);
  return snap;
}

const spread = (over: Partial<TopologySpreadConstraint> = {}): TopologySpreadConstraint => ({
  maxSkew: 1,
  topologyKey: ZONE,
  whenUnsatisfiable: 'DoNotSchedule',
  labelSelector: { matchLabels: { app: 'w' } },
  ...over,
});

function filterAll(snap: Snapshot, pod: Pod): Record<string, string> {
  const pl = new PodTopologySpread(snap);
  const st = new CycleState();
  const pi = PodInfo.of(pod);
  pl.preFilter(st, pi, snap);
  const out: Record<string, string> = {};
  for (const ni of snap.list()) out[ni.name] = pl.filter(st, pi, ni)?.reasons.join(',') ?? 'ok';
  return out;
}

const w = (name: string, node: string) => makePod(name, { nodeName: node, labels: { app: 'w' } });

describe('PodTopologySpread', () => {
  it('rejects domains that would exceed maxSkew', () => {
    const snap = cluster([w('1', 'a1'), w('2', 'b1')], true);
    const pod = makePod('new', { labels: { app: 'w' }, topologySpreadConstraints: [spread()] });
    assert.deepEqual(filterAll(snap, pod), {
      a1: "node(s) didn't match pod topology spread constraints",
      b1: "node(s) didn't match pod topology spread constraints",
      c1: 'ok',
      nolabel: "node(s) didn't match pod topology spread constraints (missing required label)",
    });
  });

  it('treats the global minimum as 0 while there are fewer domains than minDomains', () => {
    const snap = cluster([w('1', 'a1'), w('2', 'b1'), w('3', 'c1')]);
    const pod = makePod('new', { labels: { app: 'w' }, topologySpreadConstraints: [spread({ minDomains: 4 })] });
    assert.deepEqual(Object.values(filterAll(snap, pod)), Array(3).fill("node(s) didn't match pod topology spread constraints"));
    const relaxed = makePod('new2', { labels: { app: 'w' }, topologySpreadConstraints: [spread()] });
    assert.deepEqual(Object.values(filterAll(snap, relaxed)), ['ok', 'ok', 'ok']);
  });

  it('only counts nodes the pod could use (nodeAffinityPolicy Honor)', () => {
    const snap = cluster([w('1', 'a1')]);
    const pod = makePod('new', { labels: { app: 'w' }, nodeSelector: { [ZONE]: 'a' }, topologySpreadConstraints: [spread()] });
    // Only zone a is eligible, so its minimum is its own count and the pod may join it.
    assert.equal(filterAll(snap, pod).a1, 'ok');
  });

  it('ScheduleAnyway scores emptier domains higher', () => {
    const snap = cluster([w('1', 'a1'), w('2', 'a1'), w('3', 'b1')]);
    const pl = new PodTopologySpread(snap);
    const pod = PodInfo.of(makePod('new', { labels: { app: 'w' }, topologySpreadConstraints: [spread({ whenUnsatisfiable: 'ScheduleAnyway' })] }));
    const st = new CycleState();
    const nodes = snap.list();
    assert.equal(pl.preScore(st, pod, nodes), null);
    const scores = nodes.map((n) => pl.score(st, pod, n));
    pl.normalizeScore(st, pod, scores, nodes);
    assert.ok(scores[2] > scores[1] && scores[1] > scores[0], `scores ${scores}`);
    assert.equal(scores[2], 100);
  });
});
