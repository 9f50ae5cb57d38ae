import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { CycleState, type Result } from '../framework.js';
import { PodInfo } from '../node-info.js';
import { Snapshot } from '../snapshot.js';
import { makeNode, makePod } from '../testing/builders.js';
import { InterPodAffinity } from './inter-pod-affinity.js';

const HOST = 'kubernetes.io/hostname';
const ZONE = 'topology.kubernetes.io/zone';

function cluster(existing: Pod[]) {
  const snap = new Snapshot();
  snap.addNode(makeNode('a1', { labels: { [ZONE]: 'a' } }));
  snap.addNode(makeNode('a2', { labels: { [ZONE]: 'a' } }));
  snap.addNode(makeNode('b1', { labels: { [ZONE]: 'b' } }));
  for (const p of existing) snap.upsertPod(p);
  return snap;
}

function filterAll(snap: Snapshot, pod: Pod): Record<string, string> {
  const pl = new InterPodAffinity(snap);
  const st = new CycleState();
  const pi = PodInfo.of(pod);
  const pre = pl.preFilter(st, pi, snap);
  const out: Record<string, string> = {};
  for (const ni of snap.list()) {
    const r: Result = pre && pre.code === 5 ? null : pl.filter(st, pi, ni);
    out[ni.name] = r ? r.reasons.join(',') : 'ok';
  }
  return out;
}

const term = (app: string, topologyKey: string) => ({ topologyKey, labelSelector: { matchLabels: { app } } });

describe('InterPodAffinity', () => {
  it('required affinity: only domains that hold a matching pod', () => {
    const snap = cluster([makePod('db', { nodeName: 'a1', labels: { app: 'db' } })]);
    const pod = makePod('web', { affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term('db', ZONE)] } } });
    assert.deepEqual(filterAll(snap, pod), { a1: 'ok', a2: 'ok', b1: "node(s) didn't match pod affinity rules" });
  });

  it('lets the first pod of a self-affine group go anywhere', () => {
    const snap = cluster([]);
    const pod = makePod('w', { labels: { app: 'w' }, affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term('w', ZONE)] } } });
    assert.deepEqual(filterAll(snap, pod), { a1: 'ok', a2: 'ok', b1: 'ok' });
  });

  it('required anti-affinity of the incoming pod', () => {
    const snap = cluster([makePod('w0', { nodeName: 'a1', labels: { app: 'w' } })]);
    const pod = makePod('w1', { labels: { app: 'w' }, affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term('w', HOST)] } } });
    assert.deepEqual(filterAll(snap, pod), { a1: "node(s) didn't match pod anti-affinity rules", a2: 'ok', b1: 'ok' });
  });

  it("respects existing pods' anti-affinity", () => {
    const loner = makePod('loner', { nodeName: 'b1', labels: { app: 'loner' }, affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term('noisy', ZONE)] } } });
    const snap = cluster([loner]);
    assert.deepEqual(filterAll(snap, makePod('n', { labels: { app: 'noisy' } })), {
      a1: 'ok',
      a2: 'ok',
      b1: "node(s) didn't satisfy existing pods anti-affinity rules",
    });
    assert.deepEqual(filterAll(snap, makePod('q', { labels: { app: 'quiet' } })), { a1: 'ok', a2: 'ok', b1: 'ok' });
  });

  it('only matches pods in the same namespace unless namespaces are listed', () => {
    const snap = cluster([makePod('db', { namespace: 'other', nodeName: 'a1', labels: { app: 'db' } })]);
    const same = makePod('web', { affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term('db', ZONE)] } } });
    assert.equal(filterAll(snap, same).a1, "node(s) didn't match pod affinity rules");
    const listed = makePod('web2', { affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ ...term('db', ZONE), namespaces: ['other'] }] } } });
    assert.equal(filterAll(snap, listed).a1, 'ok');
    const anyNs = makePod('web3', { affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ ...term('db', ZONE), namespaceSelector: {} }] } } });
    assert.equal(filterAll(snap, anyNs).a1, 'ok');
  });

  it('scores preferred affinity up and preferred anti-affinity down', () => {
    const snap = cluster([makePod('cache', { nodeName: 'a1', labels: { app: 'cache' } }), makePod('batch', { nodeName: 'b1', labels: { app: 'batch' } })]);
    const pl = new InterPodAffinity(snap);
    const pod = PodInfo.of(
      makePod('web', {
        affinity: {
          podAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 50, podAffinityTerm: term('cache', ZONE) }] },
          podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 50, podAffinityTerm: term('batch', HOST) }] },
        },
      }),
    );
    const st = new CycleState();
    assert.equal(pl.preScore(st, pod), null);
    const nodes = snap.list();
    const scores = nodes.map((n) => pl.score(st, pod, n));
    assert.deepEqual(scores, [50, 50, -50]);
    pl.normalizeScore(st, pod, scores);
    assert.deepEqual(scores, [100, 100, 0]);
  });
});
