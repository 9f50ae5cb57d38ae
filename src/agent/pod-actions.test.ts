import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Container, Pod, PodSpec } from 'kubernetes-types/core/v1.js';
import { FakeClock } from '../util/clock.js';
import { Labels, type ContainerStatus, type PodSandboxStatus } from '../runtime/types.js';
import { Backoff } from './backoff.js';
import { containerHash, HASH_ANNOTATION } from './container-spec.js';
import { computePodActions, computeTermination, liveSandbox, sortInstances, VOLUME_RESYNC_MS, type PodActions } from './pod-actions.js';

const UID = 'uid-1';
const SB = 'sb-live';

function mkPod(spec: Partial<PodSpec>, extra: { phase?: string; grace?: number } = {}): Pod {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name: 'p', namespace: 'ns', uid: UID, ...(extra.grace !== undefined ? { deletionGracePeriodSeconds: extra.grace } : {}) },
    spec: { containers: [], ...spec },
    status: extra.phase ? { phase: extra.phase } : {},
  };
}
const ctr = (name: string, more: Partial<Container> = {}): Container => ({ name, image: 'busybox', ...more });

let seq = 0;
/** One runtime instance of container `spec`; in the live sandbox, restart count 0, current spec hash unless told. */
function inst(spec: Container, state: ContainerStatus['state'], o: { exitCode?: number; sandbox?: string; rc?: number; hash?: string; finishedAt?: number } = {}): ContainerStatus {
  seq++;
  return {
    id: `${spec.name}-${seq}`, sandboxId: o.sandbox ?? SB, name: spec.name, image: 'busybox', state, pid: state === 'running' ? 100 + seq : 0,
    exitCode: o.exitCode ?? (state === 'exited' ? 0 : undefined),
    createdAt: new Date(seq * 1000),
    finishedAt: o.finishedAt !== undefined ? new Date(o.finishedAt) : undefined,
    logPath: '/dev/null',
    labels: { [Labels.containerName]: spec.name, [Labels.podUid]: UID },
    annotations: { [Labels.restartCount]: String(o.rc ?? 0), [HASH_ANNOTATION]: o.hash ?? containerHash(spec) },
  };
}
const sandbox = (id = SB, state: PodSandboxStatus['state'] = 'ready', netnsPath = ''): PodSandboxStatus =>
  ({ id, state, netnsPath, ip: '10.0.0.2', hostname: 'p', createdAt: new Date(0), config: { name: 'p', namespace: 'ns', uid: UID }, labels: {}, annotations: {} });

/** The decision in a compact, comparable form. */
function summary(a: PodActions) {
  return {
    kill: a.kill.map((k) => `${k.name}:${k.reason}:${k.graceSeconds}`),
    createSandbox: a.createSandbox,
    start: a.start.map((s) => `${s.init ? 'init/' : ''}${s.container.name}:${s.reason}`),
    backOff: a.backOff.map((b) => b.name),
    initialized: a.initialized,
    failed: a.failedMessage,
    syncVolumes: a.syncVolumes,
  };
}

const none = { kill: [] as string[], createSandbox: false, start: [] as string[], backOff: [] as string[], initialized: true, failed: undefined, syncVolumes: false };

const app = ctr('app');
const app2 = ctr('app2');
const init1 = ctr('init1');
const init2 = ctr('init2');
const sidecar = ctr('side', { restartPolicy: 'Always' });

interface Case {
  name: string;
  pod: Pod;
  containers?: ContainerStatus[];
  /** Default: a live sandbox SB. */
  sandbox?: PodSandboxStatus | null;
  /** Back-off keys (container names) that failed once at `now - 1 s` (so they wait 10 s). */
  inBackOff?: string[];
  /** Container ids whose startup probe passed. */
  started?: string[];
  volumesSyncedAt?: number;
  want: Partial<ReturnType<typeof summary>>;
}

const NOW = Date.parse('2024-01-01T00:10:00Z');

const cases: Case[] = [
  {
    name: 'new pod: create the sandbox, set up volumes, start every container',
    pod: mkPod({ containers: [app, app2] }), sandbox: null,
    want: { createSandbox: true, start: ['app:NotCreated', 'app2:NotCreated'], syncVolumes: true },
  },
  {
    name: 'everything running: nothing to do (volumes refreshed once the resync interval passed)',
    pod: mkPod({ containers: [app] }), containers: [inst(app, 'running')], volumesSyncedAt: NOW - VOLUME_RESYNC_MS - 1,
    want: { syncVolumes: true },
  },
  {
    name: 'everything running and volumes fresh: nothing at all',
    pod: mkPod({ containers: [app] }), containers: [inst(app, 'running')],
    want: {},
  },
  {
    name: 'created but never started: start it',
    pod: mkPod({ containers: [app] }), containers: [inst(app, 'created')],
    want: { start: ['app:NotStarted'], syncVolumes: true },
  },
  {
    name: 'restartPolicy Always restarts a completed container',
    pod: mkPod({ containers: [app] }), containers: [inst(app, 'exited', { exitCode: 0 })],
    want: { start: ['app:Restart'], syncVolumes: true },
  },
  {
    name: 'restartPolicy OnFailure restarts a failed container',
    pod: mkPod({ containers: [app], restartPolicy: 'OnFailure' }), containers: [inst(app, 'exited', { exitCode: 1 })],
    want: { start: ['app:Restart'], syncVolumes: true },
  },
  {
    name: 'restartPolicy OnFailure leaves a completed container',
    pod: mkPod({ containers: [app], restartPolicy: 'OnFailure' }), containers: [inst(app, 'exited', { exitCode: 0 })],
    want: {},
  },
  {
    name: 'restartPolicy Never leaves a failed container',
    pod: mkPod({ containers: [app], restartPolicy: 'Never' }), containers: [inst(app, 'exited', { exitCode: 2 })],
    want: {},
  },
  {
    name: 'a crash inside its back-off waits (CrashLoopBackOff), the others carry on',
    pod: mkPod({ containers: [app, app2] }), containers: [inst(app, 'exited', { exitCode: 1, finishedAt: NOW - 1000 }), inst(app2, 'exited', { exitCode: 1 })],
    inBackOff: ['app'],
    want: { start: ['app2:Restart'], backOff: ['app'], syncVolumes: true },
  },
  {
    name: 'a probe-killed container (exit 137) restarts under Always',
    pod: mkPod({ containers: [app] }), containers: [inst(app, 'exited', { exitCode: 137 })],
    want: { start: ['app:Restart'], syncVolumes: true },
  },
  {
    name: 'changed spec: kill with the pod grace period and start again',
    pod: mkPod({ containers: [app], terminationGracePeriodSeconds: 7 }), containers: [inst(app, 'running', { hash: 'old' })],
    want: { kill: ['app:SpecChanged:7'], start: ['app:SpecChanged'], syncVolumes: true },
  },
  {
    name: 'sandbox gone (reboot): what still runs there is killed at once, without a grace period',
    pod: mkPod({ containers: [app] }), sandbox: null, containers: [inst(app, 'running', { sandbox: 'sb-old' })],
    // The instance still reads "running" in this snapshot, so the restart waits for the next sync.
    want: { kill: ['app:SandboxGone:0'] },
  },
  {
    name: 'sandbox gone and the container exited: a new sandbox and a restart',
    pod: mkPod({ containers: [app] }), sandbox: null, containers: [inst(app, 'exited', { sandbox: 'sb-old', exitCode: 137 })],
    want: { createSandbox: true, start: ['app:Restart'], syncVolumes: true },
  },
  {
    name: 'init containers run first, one at a time',
    pod: mkPod({ initContainers: [init1, init2], containers: [app] }), sandbox: null,
    want: { createSandbox: true, start: ['init/init1:NotCreated'], initialized: false, syncVolumes: true },
  },
  {
    name: 'the next init container after the first completed',
    pod: mkPod({ initContainers: [init1, init2], containers: [app] }), containers: [inst(init1, 'exited', { exitCode: 0 })],
    want: { start: ['init/init2:NotCreated'], initialized: false, syncVolumes: true },
  },
  {
    name: 'a running init container blocks everything after it',
    pod: mkPod({ initContainers: [init1, init2], containers: [app] }), containers: [inst(init1, 'running')],
    want: { initialized: false },
  },
  {
    name: 'all init containers done: the app containers start',
    pod: mkPod({ initContainers: [init1, init2], containers: [app] }), containers: [inst(init1, 'exited'), inst(init2, 'exited')],
    want: { start: ['app:NotCreated'], syncVolumes: true },
  },
  {
    name: 'a failed init container restarts (policy Always) before anything else',
    pod: mkPod({ initContainers: [init1], containers: [app] }), containers: [inst(init1, 'exited', { exitCode: 1 })],
    want: { start: ['init/init1:Restart'], initialized: false, syncVolumes: true },
  },
  {
    name: 'a failed init container in back-off waits',
    pod: mkPod({ initContainers: [init1], containers: [app] }), containers: [inst(init1, 'exited', { exitCode: 1, finishedAt: NOW - 1000 })], inBackOff: ['init1'],
    want: { backOff: ['init1'], initialized: false },
  },
  {
    name: 'a failed init container under restartPolicy Never fails the pod',
    pod: mkPod({ initContainers: [init1], containers: [app], restartPolicy: 'Never' }), containers: [inst(init1, 'exited', { exitCode: 3 })],
    want: { initialized: false, failed: 'init container init1 failed with exit code 3' },
  },
  {
    name: 'init containers from an old sandbox run again in the new one',
    pod: mkPod({ initContainers: [init1], containers: [app] }), containers: [inst(init1, 'exited', { sandbox: 'sb-old' }), inst(app, 'exited', { sandbox: 'sb-old', exitCode: 137 })],
    want: { start: ['init/init1:NotCreated'], initialized: false, syncVolumes: true },
  },
  {
    name: 'a sidecar that runs but has not passed its startup probe holds the next init container',
    pod: mkPod({ initContainers: [sidecar, init1], containers: [app] }), containers: [inst(sidecar, 'running')],
    want: { initialized: false },
  },
  {
    name: 'a started sidecar lets the init containers go on',
    pod: mkPod({ initContainers: [sidecar, init1], containers: [app] }), containers: [{ ...inst(sidecar, 'running'), id: 'side-started' }], started: ['side-started'],
    want: { start: ['init/init1:NotCreated'], initialized: false, syncVolumes: true },
  },
  {
    name: 'an exited sidecar restarts even after success, whatever the pod policy',
    pod: mkPod({ initContainers: [sidecar], containers: [app], restartPolicy: 'Never' }), containers: [inst(sidecar, 'exited', { exitCode: 0 }), inst(app, 'running')],
    want: { start: ['init/side:Restart'], initialized: false, syncVolumes: true },
  },
  {
    name: 'a pod the API already calls Succeeded starts nothing and refreshes no volumes',
    pod: mkPod({ containers: [app] }, { phase: 'Succeeded' }), containers: [inst(app, 'exited')], volumesSyncedAt: 0,
    want: {},
  },
  {
    name: 'a Failed pod still has its strays outside the sandbox killed',
    pod: mkPod({ containers: [app] }, { phase: 'Failed' }), sandbox: null, containers: [inst(app, 'running', { sandbox: 'sb-old' })],
    want: { kill: ['app:SandboxGone:0'] },
  },
];

for (const c of cases) {
  test(`computePodActions: ${c.name}`, async () => {
    // The back-off entries were recorded 1 s ago.
    const clock = new FakeClock(NOW - 1000);
    const backoff = new Backoff(clock);
    for (const name of c.inBackOff ?? []) backoff.next(`${UID}/${name}`);
    await clock.advance(1000);
    const started = new Set(c.started ?? []);
    const actions = computePodActions({
      pod: c.pod, uid: UID, sandbox: c.sandbox === null ? undefined : (c.sandbox ?? sandbox()), containers: c.containers ?? [], now: NOW,
      backoff, started: (id) => started.has(id), volumesSyncedAt: c.volumesSyncedAt ?? NOW,
    });
    assert.deepEqual(summary(actions), { ...none, ...c.want });
  });
}

test('computePodActions: the back-off wait says how long and when to retry', () => {
  const clock = new FakeClock(NOW - 1000);
  const backoff = new Backoff(clock);
  backoff.next(`${UID}/app`);
  backoff.next(`${UID}/app`); // second crash: 20 s
  const finishedAt = NOW - 1000;
  const a = computePodActions({
    pod: mkPod({ containers: [app] }), uid: UID, sandbox: sandbox(), containers: [inst(app, 'exited', { exitCode: 1, finishedAt })], now: NOW,
    backoff, started: () => false, volumesSyncedAt: NOW,
  });
  assert.equal(a.backOff.length, 1);
  assert.equal(a.backOff[0]!.retryAt, finishedAt + 20_000);
  assert.equal(a.backOff[0]!.message, `back-off 20s restarting failed container=app pod=p_ns(${UID})`);
});

test('computePodActions: a restart carries the newest instance as the prior one (restart count, back-off)', () => {
  const older = inst(app, 'exited', { rc: 0, exitCode: 1 });
  const newer = inst(app, 'exited', { rc: 1, exitCode: 1 });
  const a = computePodActions({
    pod: mkPod({ containers: [app] }), uid: UID, sandbox: sandbox(), containers: [older, newer], now: NOW,
    backoff: new Backoff(new FakeClock(NOW)), started: () => false, volumesSyncedAt: NOW,
  });
  assert.equal(a.start[0]!.prior?.id, newer.id);
});

test('computePodActions: a container both stray and changed is killed once, at once', () => {
  const stray = inst(app, 'running', { sandbox: 'sb-old', hash: 'old' });
  const a = computePodActions({
    pod: mkPod({ containers: [app] }), uid: UID, sandbox: sandbox(), containers: [stray], now: NOW,
    backoff: new Backoff(new FakeClock(NOW)), started: () => false, volumesSyncedAt: NOW,
  });
  assert.deepEqual(a.kill.map((k) => `${k.name}:${k.reason}:${k.graceSeconds}`), ['app:SandboxGone:0']);
  assert.deepEqual(a.start.map((s) => s.reason), ['SpecChanged']);
});

test('liveSandbox: ready and its network namespace still there', () => {
  const lost = sandbox('a', 'ready', '/run/netns/lost');
  const stopped = sandbox('b', 'notready');
  const ok = sandbox('c', 'ready', '/run/netns/ok');
  assert.equal(liveSandbox([lost, stopped, ok], (p) => p === '/run/netns/ok')?.id, 'c');
  assert.equal(liveSandbox([lost, stopped], () => false), undefined);
  assert.equal(liveSandbox([sandbox('h', 'ready', '')], () => false)?.id, 'h', 'host network: no namespace to check');
});

test('sortInstances: newest first by restart count, then creation', () => {
  const a = inst(app, 'exited', { rc: 1 });
  const b = inst(app, 'exited', { rc: 0 });
  const c = inst(app, 'running', { rc: 1 });
  assert.deepEqual(sortInstances([a, b, c]).map((x) => x.id), [c.id, a.id, b.id]);
});

test('computeTermination: app containers first, sidecars last, with what is left of the grace period', () => {
  const pod = mkPod({ initContainers: [sidecar], containers: [app, app2], terminationGracePeriodSeconds: 30 }, { grace: 10 });
  const running = [inst(sidecar, 'running'), inst(app, 'running'), inst(app2, 'exited')];
  const plan = computeTermination(pod, running, 3_500);
  assert.equal(plan.graceSeconds, 7);
  assert.deepEqual(plan.groups.map((g) => g.map((c) => c.name)), [['app'], ['side']]);
  assert.equal(computeTermination(pod, running, 60_000).graceSeconds, 0);
});
