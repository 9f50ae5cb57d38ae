import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { Snapshot } from './snapshot.js';
import { PodInfo, termMatches } from './node-info.js';
import { allTermsQueries, termQuery, type PlacedTermKind, type PodCountQuery } from './pod-count-index.js';
import { makeNode, makePod } from './testing/builders.js';

/** A seeded generator, so a failure reproduces. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** What the index must equal: a scan over every listed node's pods, as the plugins did before. */
function scan(snapshot: Snapshot, query: PodCountQuery): Map<string, { nodes: number; pods: number }> {
  const out = new Map<string, { nodes: number; pods: number }>();
  for (const ni of snapshot.list()) {
    if (query.requiredNodeKeys.some((k) => ni.labels[k] === undefined)) continue;
    const v = ni.labels[query.topologyKey];
    const d = out.get(v) ?? { nodes: 0, pods: 0 };
    d.nodes++;
    for (const p of ni.pods) if (query.matches(p, snapshot.namespaceLabels(p.namespace))) d.pods++;
    out.set(v, d);
  }
  return out;
}

function scanPlaced(snapshot: Snapshot, kind: PlacedTermKind, probe: PodInfo): Map<string, number> {
  const out = new Map<string, number>();
  const termsOf = (p: PodInfo) =>
    ({ requiredAffinity: p.requiredAffinityTerms, requiredAntiAffinity: p.requiredAntiAffinityTerms, preferredAffinity: p.preferredAffinityTerms, preferredAntiAffinity: p.preferredAntiAffinityTerms })[kind];
  for (const ni of snapshot.list()) {
    for (const p of ni.pods) {
      for (const t of termsOf(p)) {
        const v = ni.labels[t.topologyKey];
        if (v === undefined || !termMatches(t, probe, snapshot.namespaceLabels(probe.namespace))) continue;
        const k = `${t.topologyKey}=${v}`;
        out.set(k, (out.get(k) ?? 0) + ('weight' in t ? (t as { weight: number }).weight : 1));
      }
    }
  }
  return out;
}

function fromIndex(snapshot: Snapshot, kind: PlacedTermKind, probe: PodInfo): Map<string, number> {
  const out = new Map<string, number>();
  for (const { term, weight, domains } of snapshot.termsOfPlacedPods(kind)) {
    if (!termMatches(term, probe, snapshot.namespaceLabels(probe.namespace))) continue;
    for (const [v, n] of domains) {
      const k = `${term.topologyKey}=${v}`;
      out.set(k, (out.get(k) ?? 0) + weight * n);
    }
  }
  return out;
}

const zones = ['a', 'b', 'c'];
const groups = ['g0', 'g1', 'g2', 'g3'];

function randomPod(rnd: () => number, i: number): Pod {
  const group = groups[Math.floor(rnd() * groups.length)];
  const term = { labelSelector: { matchLabels: { group } }, topologyKey: rnd() < 0.5 ? 'kubernetes.io/hostname' : 'zone' };
  const kind = Math.floor(rnd() * 4);
  const affinity =
    kind === 0
      ? { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term] } }
      : kind === 1
        ? { podAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 1 + Math.floor(rnd() * 5), podAffinityTerm: term }] } }
        : kind === 2
          ? { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term] } }
          : undefined;
  return makePod(`p${i}`, { namespace: rnd() < 0.8 ? 'default' : 'other', labels: { group, app: rnd() < 0.5 ? 'web' : 'db' }, affinity });
}

test('incremental counts equal a full scan after random pod, node and label churn', () => {
  const rnd = random(7);
  const snapshot = new Snapshot();
  const nodeLabels = (_i: number): Record<string, string> => (rnd() < 0.9 ? { zone: zones[Math.floor(rnd() * zones.length)] } : {});
  for (let i = 0; i < 12; i++) snapshot.addNode(makeNode(`n${i}`, { labels: nodeLabels(i) }));
  const probes = [0, 1, 2, 3].map((i) => PodInfo.of(randomPod(rnd, 1000 + i)));
  const queries: PodCountQuery[] = [];
  for (const p of probes) {
    for (const t of [...p.requiredAffinityTerms, ...p.requiredAntiAffinityTerms]) queries.push(termQuery(t));
    if (p.requiredAffinityTerms.length > 0) queries.push(...allTermsQueries(p.requiredAffinityTerms));
  }
  queries.push({ key: 'web-by-zone', topologyKey: 'zone', requiredNodeKeys: ['zone', 'kubernetes.io/hostname'], namespaces: new Set(['default']), matches: (p) => p.namespace === 'default' && p.labels.app === 'web' });
  const pods: Pod[] = [];
  for (let step = 0; step < 600; step++) {
    const r = rnd();
    if (r < 0.45 || pods.length === 0) {
      const pod = randomPod(rnd, step);
      pod.spec!.nodeName = `n${Math.floor(rnd() * 14)}`; // n12, n13 do not exist yet: pods on unknown nodes
      pods.push(pod);
      snapshot.upsertPod(pod);
    } else if (r < 0.7) {
      const [pod] = pods.splice(Math.floor(rnd() * pods.length), 1);
      snapshot.removePod(pod);
    } else if (r < 0.8) {
      const pod = pods[Math.floor(rnd() * pods.length)];
      pod.metadata!.labels = { ...pod.metadata!.labels, app: pod.metadata!.labels!.app === 'web' ? 'db' : 'web' };
      const copy = structuredClone(pod);
      pods[pods.indexOf(pod)] = copy;
      snapshot.upsertPod(copy);
    } else if (r < 0.9) {
      const i = Math.floor(rnd() * 14);
      snapshot.addNode(makeNode(`n${i}`, { labels: nodeLabels(i) }));
    } else if (r < 0.95) {
      snapshot.removeNode(`n${Math.floor(rnd() * 14)}`);
    } else {
      snapshot.setNamespace({ metadata: { name: 'other', labels: { team: rnd() < 0.5 ? 'x' : 'y' } } });
    }
    // Ask every few steps, so some queries are built early and maintained, others built late.
    if (step % 7 === 0) {
      for (const q of queries) assert.deepEqual(new Map([...snapshot.podCounts(q)].map(([k, v]) => [k, { ...v }])), scan(snapshot, q), `query ${q.key} at step ${step}`);
      for (const kind of ['requiredAffinity', 'requiredAntiAffinity', 'preferredAffinity', 'preferredAntiAffinity'] as const) {
        for (const probe of probes) assert.deepEqual(fromIndex(snapshot, kind, probe), scanPlaced(snapshot, kind, probe), `${kind} at step ${step}`);
      }
    }
  }
});

test('least recently asked questions are dropped beyond capacity and rebuilt on demand', async () => {
  const { PodCountIndex } = await import('./pod-count-index.js');
  const snapshot = new Snapshot();
  snapshot.addNode(makeNode('n0', { labels: { zone: 'a' } }));
  snapshot.upsertPod(makePod('p', { nodeName: 'n0', labels: { app: 'web' } }));
  const index = new PodCountIndex(snapshot, 2);
  const q = (key: string): PodCountQuery => ({ key, topologyKey: 'zone', requiredNodeKeys: ['zone'], matches: (p) => p.labels.app === 'web' });
  index.counts(q('a'));
  index.counts(q('b'));
  index.counts(q('a'));
  index.counts(q('c'));
  assert.equal(index.size, 2);
  assert.deepEqual(index.counts(q('b')).get('a'), { nodes: 1, pods: 1 });
});
