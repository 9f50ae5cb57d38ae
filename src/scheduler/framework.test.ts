import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Code, FitError, Framework, numFeasibleNodesToFind, Status, type FilterPlugin, type Registry, type ScorePlugin } from './framework.js';
import { PodInfo } from './node-info.js';
import { Snapshot } from './snapshot.js';
import { makeNode, makePod } from './testing/builders.js';

describe('numFeasibleNodesToFind', () => {
  it('matches upstream: all below 100, adaptive percentage, floor of 100', () => {
    assert.equal(numFeasibleNodesToFind(undefined, 50), 50);
    assert.equal(numFeasibleNodesToFind(undefined, 100), 100); // 49% of 100 = 49 → raised to 100
    assert.equal(numFeasibleNodesToFind(undefined, 1000), 420); // 50 - 8 = 42%
    assert.equal(numFeasibleNodesToFind(undefined, 5000), 500); // 50 - 40 = 10%
    assert.equal(numFeasibleNodesToFind(undefined, 6000), 300); // 50 - 48 = 2% → 5%
    assert.equal(numFeasibleNodesToFind(30, 1000), 300);
    assert.equal(numFeasibleNodesToFind(100, 1000), 1000);
  });
});

describe('FitError', () => {
  const pod = makePod('p');
  it('counts reasons per node and sorts them', () => {
    const fe = new FitError(pod, 5, {
      nodeToStatus: new Map([
        ['a', Status.unschedulable('NodeResourcesFit', 'Insufficient cpu', 'Insufficient memory')],
        ['b', Status.unschedulable('NodeResourcesFit', 'Insufficient cpu')],
        ['c', Status.unresolvable('TaintToleration', 'node(s) had untolerated taint {dedicated: gpu}')],
        ['d', Status.unresolvable('TaintToleration', 'node(s) had untolerated taint {dedicated: gpu}')],
        ['e', Status.unresolvable('NodeUnschedulable', 'node(s) were unschedulable')],
      ]),
      unschedulablePlugins: new Set(),
    });
    assert.equal(
      fe.message(),
      '0/5 nodes are available: 1 Insufficient memory, 1 node(s) were unschedulable, 2 Insufficient cpu, 2 node(s) had untolerated taint {dedicated: gpu}.',
    );
  });

  it('uses the PreFilter message alone when PreFilter rejected, and appends the PostFilter message', () => {
    const st = Status.unresolvable('X', 'pre says no');
    const fe = new FitError(pod, 2, {
      nodeToStatus: new Map([
        ['a', st],
        ['b', st],
      ]),
      unschedulablePlugins: new Set(['X']),
      preFilterMsg: 'pre says no',
      postFilterMsg: 'preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.',
    });
    assert.equal(fe.message(), '0/2 nodes are available: pre says no. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.');
  });

  it('attributes the absent-nodes status to nodes not evaluated', () => {
    const fe = new FitError(pod, 4, {
      nodeToStatus: new Map([['a', Status.unschedulable('F', 'Insufficient cpu')]]),
      absentNodesStatus: Status.unresolvable('P', 'Preemption is not helpful for scheduling'),
      unschedulablePlugins: new Set(),
    });
    assert.equal(fe.message(), '0/4 nodes are available: 1 Insufficient cpu, 3 Preemption is not helpful for scheduling.');
  });
});

function frameworkWith(registry: Registry, names: { name: string; weight?: number }[], nodes: number, opts: { pct?: number } = {}) {
  const snap = new Snapshot();
  for (let i = 0; i < nodes; i++) snap.addNode(makeNode(`n${i}`));
  return { snap, fw: new Framework({ snapshot: snap, plugins: names, registry, percentageOfNodesToScore: opts.pct, random: () => 0.99 }) };
}

describe('Framework', () => {
  it('stops filtering once enough feasible nodes are found and rotates the start node', () => {
    const seen: string[] = [];
    const registry: Registry = {
      Count: () => ({ name: 'Count', filter: (_s, _p, ni) => (seen.push(ni.name), null) }) as FilterPlugin,
    };
    const { fw } = frameworkWith(registry, [{ name: 'Count' }], 200, { pct: 50 });
    const r = fw.schedulePod(PodInfo.of(makePod('p')));
    assert.equal(r.kind, 'scheduled');
    assert.equal(seen.length, 100);
    assert.equal(seen[0], 'n0');
    seen.length = 0;
    fw.schedulePod(PodInfo.of(makePod('q')));
    assert.equal(seen[0], 'n100');
  });

  it('weights scores and picks the best node', () => {
    const registry: Registry = {
      Likes5: () => ({ name: 'Likes5', score: (_s, _p, ni) => (ni.name === 'n5' ? 10 : 0) }) as ScorePlugin,
      Likes7: () => ({ name: 'Likes7', score: (_s, _p, ni) => (ni.name === 'n7' ? 10 : 0) }) as ScorePlugin,
    };
    const { fw } = frameworkWith(registry, [{ name: 'Likes5', weight: 1 }, { name: 'Likes7', weight: 3 }], 10);
    const r = fw.schedulePod(PodInfo.of(makePod('p')));
    assert.equal(r.kind === 'scheduled' && r.nodeName, 'n7');
  });

  it('skips Filter of a plugin whose PreFilter returned Skip', () => {
    const registry: Registry = {
      Skipper: () => ({ name: 'Skipper', preFilter: () => Status.skip, filter: () => Status.unschedulable('Skipper', 'never') }),
    };
    const { fw } = frameworkWith(registry, [{ name: 'Skipper' }], 3);
    assert.equal(fw.schedulePod(PodInfo.of(makePod('p'))).kind, 'scheduled');
  });

  it('records per-node statuses and the rejecting plugins', () => {
    const registry: Registry = {
      OddOnly: () => ({ name: 'OddOnly', filter: (_s, _p, ni) => (Number(ni.name.slice(1)) % 2 ? null : Status.unschedulable('OddOnly', 'even node')) }) as FilterPlugin,
      Never: () => ({ name: 'Never', filter: () => Status.unresolvable('Never', 'no') }) as FilterPlugin,
    };
    const { fw } = frameworkWith(registry, [{ name: 'OddOnly' }, { name: 'Never' }], 4);
    const r = fw.schedulePod(PodInfo.of(makePod('p')));
    assert.equal(r.kind, 'unschedulable');
    if (r.kind !== 'unschedulable') return;
    assert.equal(r.fitError.message(), '0/4 nodes are available: 2 even node, 2 no.');
    assert.deepEqual([...r.fitError.diagnosis.unschedulablePlugins].sort(), ['Never', 'OddOnly']);
    assert.equal(r.fitError.diagnosis.nodeToStatus.get('n0')?.code, Code.Unschedulable);
  });

  it('reports no nodes as upstream ErrNoNodesAvailable', () => {
    const { fw } = frameworkWith({}, [], 0);
    const r = fw.schedulePod(PodInfo.of(makePod('p')));
    assert.equal(r.kind === 'unschedulable' && r.fitError.message(), 'no nodes available to schedule pods');
  });

  it('rejects an unknown plugin name', () => {
    assert.throws(() => frameworkWith({}, [{ name: 'Nope' }], 1), /plugin "Nope" does not exist/);
  });
});
