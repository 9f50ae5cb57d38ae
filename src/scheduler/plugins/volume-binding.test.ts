// Tests for VolumeBinding and VolumeRestrictions: per-plugin tables, then the scheduler loop with a storage lister.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock } from '../../util/clock.js';
import { Code, CycleState, Status, type Result } from '../framework.js';
import { NodeInfo, PodInfo } from '../node-info.js';
import { Scheduler } from '../scheduler.js';
import { FakeStorage, makeClaim, makeClass, makeNode, makePod, makeVolume, RecordingHost, type PodSpecLite } from '../testing/builders.js';
import { VolumeBinding } from './volume-binding.js';
import { VolumeRestrictions } from './volume-restrictions.js';
import { Snapshot } from '../snapshot.js';

const nodeInfo = (name: string, labels: Record<string, string> = {}) => new NodeInfo(name, makeNode(name, { labels }));

function storage(): FakeStorage {
  const s = new FakeStorage();
  s.classes.push(makeClass('local-path'), makeClass('fast', { volumeBindingMode: 'Immediate' }), makeClass('static', { provisioner: 'kubernetes.io/no-provisioner' }));
  return s;
}

/** PreFilter, then Filter on each node; returns the PreFilter rejection or per-node verdicts. */
function run(s: FakeStorage, pod: PodSpecLite, nodes: NodeInfo[]): { pre?: Result | 'skip'; nodes?: Record<string, string> } {
  const pl = new VolumeBinding(s);
  const st = new CycleState();
  const pi = PodInfo.of(makePod('p', pod));
  const pre = pl.preFilter(st, pi);
  if (pre instanceof Status && pre.code === Code.Skip) return { pre: 'skip' };
  if (pre instanceof Status) return { pre };
  const out: Record<string, string> = {};
  for (const n of nodes) out[n.name] = pl.filter(st, pi, n)?.message() ?? 'ok';
  return { nodes: out };
}

describe('VolumeBinding', () => {
  const ab = () => [nodeInfo('a'), nodeInfo('b')];

  it('skips pods without claims, without looking anything up', () => {
    const s = new FakeStorage();
    s.claim = () => assert.fail('looked up a claim');
    assert.deepEqual(run(s, { volumes: [{ name: 'tmp', emptyDir: {} }] }, ab()), { pre: 'skip' });
    assert.deepEqual(run(s, {}, ab()), { pre: 'skip' });
  });

  const rejections: [string, (s: FakeStorage) => void, string][] = [
    ['a missing claim', () => {}, 'persistentvolumeclaim "data" not found'],
    ['a claim being deleted', (s) => s.claims.push(makeClaim('data', { deleting: true })), 'persistentvolumeclaim "data" is being deleted'],
    ['an unbound claim of an Immediate class', (s) => s.claims.push(makeClaim('data', { storageClassName: 'fast' })), 'pod has unbound immediate PersistentVolumeClaims'],
    ['an unbound claim without a class', (s) => s.claims.push(makeClaim('data', { storageClassName: undefined })), 'pod has unbound immediate PersistentVolumeClaims'],
    ['a claim of a class that does not exist', (s) => s.claims.push(makeClaim('data', { storageClassName: 'gold' })), 'storageclass.storage.k8s.io "gold" not found'],
  ];
  for (const [what, given, message] of rejections) {
    it(`PreFilter rejects ${what} as unresolvable`, () => {
      const s = storage();
      given(s);
      const { pre } = run(s, { claims: ['data'] }, ab());
      assert.ok(pre instanceof Status);
      assert.equal(pre.code, Code.UnschedulableAndUnresolvable);
      assert.equal(pre.message(), message);
    });
  }

  const filters: [string, (s: FakeStorage) => void, Record<string, string>][] = [
    [
      'a bound local volume pins the pod to its node',
      (s) => {
        s.claims.push(makeClaim('data', { volumeName: 'pv1' }));
        s.pvs.push(makeVolume('pv1', { node: 'b', claim: 'default/data' }));
      },
      { a: 'node(s) had volume node affinity conflict', b: 'ok' },
    ],
    [
      'a bound volume without node affinity fits anywhere',
      (s) => {
        s.claims.push(makeClaim('data', { volumeName: 'pv1' }));
        s.pvs.push(makeVolume('pv1', { claim: 'default/data' }));
      },
      { a: 'ok', b: 'ok' },
    ],
    [
      'a claim bound to a volume that is gone fits nowhere',
      (s) => s.claims.push(makeClaim('data', { volumeName: 'gone' })),
      { a: 'node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)', b: 'node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)' },
    ],
    ['an unbound WaitForFirstConsumer claim of a provisioning class fits anywhere', (s) => s.claims.push(makeClaim('data')), { a: 'ok', b: 'ok' }],
    [
      'a claim whose provisioner already chose a node fits only there',
      (s) => s.claims.push(makeClaim('data', { selectedNode: 'a' })),
      { a: 'ok', b: "node(s) didn't find available persistent volumes to bind" },
    ],
    [
      'without a provisioner, only nodes with an Available matching volume fit',
      (s) => {
        s.claims.push(makeClaim('data', { storageClassName: 'static' }));
        s.pvs.push(makeVolume('small', { storageClassName: 'static', node: 'a', storage: '100Mi' }));
        s.pvs.push(makeVolume('taken', { storageClassName: 'static', node: 'a', claim: 'other/x' }));
        s.pvs.push(makeVolume('local-b', { storageClassName: 'static', node: 'b', storage: '2Gi' }));
      },
      { a: "node(s) didn't find available persistent volumes to bind", b: 'ok' },
    ],
    [
      'two claims cannot share one Available volume',
      (s) => {
        s.claims.push(makeClaim('data', { storageClassName: 'static' }), makeClaim('logs', { storageClassName: 'static' }));
        s.pvs.push(makeVolume('a1', { storageClassName: 'static', node: 'a' }), makeVolume('b1', { storageClassName: 'static', node: 'b' }), makeVolume('b2', { storageClassName: 'static', node: 'b' }));
      },
      { a: "node(s) didn't find available persistent volumes to bind", b: 'ok' },
    ],
    [
      "a class's allowedTopologies limit where it provisions",
      (s) => {
        s.classes.push(makeClass('zonal', { allowedTopologies: [{ matchLabelExpressions: [{ key: 'kubernetes.io/hostname', values: ['b'] }] }] }));
        s.claims.push(makeClaim('data', { storageClassName: 'zonal' }));
      },
      { a: "node(s) didn't find available persistent volumes to bind", b: 'ok' },
    ],
  ];
  for (const [what, given, want] of filters) {
    it(`Filter: ${what}`, () => {
      const s = storage();
      given(s);
      const claims = s.claims.map((c) => c.metadata!.name!);
      assert.deepEqual(run(s, { claims }, ab()), { nodes: want });
    });
  }

  it('finds the claims of generic ephemeral volumes as <pod>-<volume>', () => {
    const s = storage();
    const { pre } = run(s, { volumes: [{ name: 'scratch', ephemeral: { volumeClaimTemplate: { spec: {} } } }] }, ab());
    assert.ok(pre instanceof Status);
    assert.equal(pre.message(), 'persistentvolumeclaim "p-scratch" not found');
  });
});

describe('VolumeRestrictions', () => {
  function setup() {
    const s = storage();
    s.claims.push(makeClaim('solo', { accessModes: ['ReadWriteOncePod'] }), makeClaim('shared'));
    const snap = new Snapshot();
    snap.addNode(makeNode('a'));
    snap.addNode(makeNode('b'));
    return { s, snap, pl: new VolumeRestrictions(s) };
  }

  it('rejects a second pod using a ReadWriteOncePod claim on every node, with the upstream message', () => {
    const { snap, pl } = setup();
    snap.upsertPod(makePod('first', { claims: ['solo'], nodeName: 'a' }));
    const st = new CycleState();
    const pod = PodInfo.of(makePod('second', { claims: ['solo'] }));
    assert.equal(pl.preFilter(st, pod, snap), null);
    for (const n of ['a', 'b']) {
      const r = pl.filter(st);
      assert.equal(r?.code, Code.Unschedulable, n);
      assert.equal(r?.message(), 'node has pod using PersistentVolumeClaim with the same name and ReadWriteOncePod access mode');
    }
  });

  it('admits the pod once the other user is removed (as preemption would)', () => {
    const { snap, pl } = setup();
    snap.upsertPod(makePod('first', { claims: ['solo'], nodeName: 'a' }));
    const st = new CycleState();
    const pod = PodInfo.of(makePod('second', { claims: ['solo'] }));
    pl.preFilter(st, pod, snap);
    const ni = snap.get('a')!;
    pl.preFilterExtensions().removePod(st, pod, ni.pods[0], ni);
    assert.equal(pl.filter(st), null);
  });

  it('lets pods share claims of other access modes, and skips pods without ReadWriteOncePod claims', () => {
    const { snap, pl } = setup();
    snap.upsertPod(makePod('first', { claims: ['shared'], nodeName: 'a' }));
    const r = pl.preFilter(new CycleState(), PodInfo.of(makePod('second', { claims: ['shared'] })), snap);
    assert.equal(r?.code, Code.Skip);
    assert.equal(pl.preFilter(new CycleState(), PodInfo.of(makePod('plain')), snap)?.code, Code.Skip);
  });
});

describe('Scheduler with volumes', () => {
  function setup() {
    const s = storage();
    const host = new RecordingHost();
    const clock = new FakeClock();
    const sched = new Scheduler(host, { clock, random: () => 0.5, storage: s });
    host.scheduler = sched;
    for (const n of ['a', 'b', 'c']) sched.addNode(makeNode(n));
    return { s, host, sched, clock };
  }

  it('keeps a pod Pending until its claim exists, then schedules it on the claim event', async () => {
    const { s, host, sched, clock } = setup();
    sched.addPod(makePod('web', { claims: ['data'] }));
    await sched.drain();
    assert.equal(host.binds.size, 0);
    assert.match(host.reports.get('web') ?? '', /^0\/3 nodes are available: persistentvolumeclaim "data" not found\./);
    assert.equal(sched.queue.whereIs('uid-default-web'), 'unschedulable');
    const claim = makeClaim('data');
    s.claims.push(claim);
    sched.storageChanged('PersistentVolumeClaim', 1, undefined, claim);
    assert.equal(sched.queue.whereIs('uid-default-web'), 'backoff');
    await clock.advance(1000);
    sched.queue.flushBackoffQCompleted();
    await sched.drain();
    assert.ok(host.binds.has('web'));
  });

  it('places a pod whose claim is bound to a local volume on that volume node', async () => {
    const { s, host, sched } = setup();
    s.claims.push(makeClaim('data', { volumeName: 'pv1' }));
    s.pvs.push(makeVolume('pv1', { node: 'c', claim: 'default/data' }));
    for (let i = 0; i < 5; i++) sched.addPod(makePod(`p${i}`, { claims: ['data'] }));
    await sched.drain();
    assert.deepEqual([...host.binds.values()], ['c', 'c', 'c', 'c', 'c']);
  });

  it('explains a volume node affinity conflict node by node when other constraints exclude the volume node', async () => {
    const { s, host, sched } = setup();
    s.claims.push(makeClaim('data', { volumeName: 'pv1' }));
    s.pvs.push(makeVolume('pv1', { node: 'c', claim: 'default/data' }));
    sched.addPod(makePod('big', { claims: ['data'], nodeSelector: { 'kubernetes.io/hostname': 'a' } }));
    await sched.drain();
    assert.equal(
      host.reports.get('big')?.split('.')[0],
      "0/3 nodes are available: 1 node(s) had volume node affinity conflict, 2 node(s) didn't match Pod's node affinity/selector",
    );
  });
});
