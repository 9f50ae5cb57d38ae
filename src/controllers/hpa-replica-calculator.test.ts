import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from 'kubernetes-types/core/v1.js';
import {
  calcAverageValueReplicas, calcExternalReplicas, calcObjectReplicas, calcPerPodReplicas, calcUtilizationReplicas,
  groupPods, usageRatioReplicas, type CalcOptions, type PodMetrics,
} from './hpa-replica-calculator.js';

// Cases after upstream replica_calculator_test.go (one container per pod, so levels are per pod).
const NOW = Date.parse('2024-01-01T01:00:00Z');
const OPTS: CalcOptions = { tolerance: 0.1, cpuInitializationPeriodMs: 120_000, delayOfInitialReadinessStatusMs: 10_000, now: NOW };
const COOL = NOW - 180_000; // started before the cpu initialisation period
const HOT = NOW; // started now: its sample began before readiness
const iso = (ms: number) => new Date(ms).toISOString();

interface PodSpec { ready?: boolean; phase?: string; start?: number; deleting?: boolean; request?: string }

function pods(specs: PodSpec[]): Pod[] {
  return specs.map((s, i) => ({
    metadata: { name: `p${i}`, ...(s.deleting ? { deletionTimestamp: iso(NOW) } : {}) },
    spec: { containers: [{ name: 'c', image: 'x', ...(s.request === '' ? {} : { resources: { requests: { cpu: s.request ?? '1' } } }) }] },
    status: {
      phase: s.phase ?? 'Running',
      startTime: iso(s.start ?? COOL),
      // The Ready condition changed when the pod started, as in upstream's fixtures.
      conditions: [{ type: 'Ready', status: s.ready === false ? 'False' : 'True', lastTransitionTime: iso(s.start ?? COOL) }],
    },
  }));
}

/** Samples of p0, p1, … (milli), taken just now over a minute. */
const levels = (vs: number[]): PodMetrics => new Map(vs.map((v, i) => [`p${i}`, { value: v, timestamp: NOW, windowMs: 60_000 }]));

const n = (k: number, s: PodSpec = {}) => Array.from({ length: k }, () => ({ ...s }));

test('calcUtilizationReplicas: upstream resource cases', () => {
  const cases: Array<{ name: string; current: number; pods: PodSpec[]; levels: number[]; target: number; replicas: number; utilization: number; raw: number }> = [
    { name: 'ScaleUp', current: 3, pods: n(3), levels: [300, 500, 700], target: 30, replicas: 5, utilization: 50, raw: 500 },
    { name: 'ScaleUpUnreadyLessScale', current: 3, pods: [{ ready: false }, {}, {}], levels: [300, 500, 700], target: 30, replicas: 4, utilization: 60, raw: 600 },
    { name: 'ScaleUpHotCpuLessScale', current: 3, pods: [{ start: HOT }, {}, {}], levels: [300, 500, 700], target: 30, replicas: 4, utilization: 60, raw: 600 },
    { name: 'ScaleUpUnreadyNoScale', current: 3, pods: [{}, { ready: false }, { ready: false }], levels: [400, 500, 700], target: 30, replicas: 3, utilization: 40, raw: 400 },
    { name: 'ScaleUpIgnoresFailedPods', current: 2, pods: [{}, {}, { ready: false, phase: 'Failed' }, { ready: false, phase: 'Failed' }], levels: [500, 700], target: 30, replicas: 4, utilization: 60, raw: 600 },
    { name: 'ScaleDown', current: 5, pods: n(5), levels: [100, 300, 500, 250, 250], target: 50, replicas: 3, utilization: 28, raw: 280 },
    { name: 'ScaleDownExcludeUnreadyPods', current: 5, pods: [{}, {}, {}, { ready: false }, { ready: false }], levels: [100, 300, 500, 250, 250], target: 50, replicas: 2, utilization: 30, raw: 300 },
    { name: 'ScaleDownIgnoreHotCpuPods', current: 5, pods: [{}, {}, {}, { start: HOT }, { start: HOT }], levels: [100, 300, 500, 250, 250], target: 50, replicas: 2, utilization: 30, raw: 300 },
    { name: 'ScaleDownIgnoresFailedPods', current: 5, pods: [...n(5), ...n(2, { ready: false, phase: 'Failed' })], levels: [100, 300, 500, 250, 250], target: 50, replicas: 3, utilization: 28, raw: 280 },
    { name: 'ScaleDownIgnoresDeletionPods', current: 5, pods: [...n(5), ...n(2, { ready: false, deleting: true })], levels: [100, 300, 500, 250, 250], target: 50, replicas: 3, utilization: 28, raw: 280 },
    { name: 'Tolerance', current: 3, pods: [{ request: '0.9' }, { request: '1.0' }, { request: '1.1' }], levels: [1010, 1030, 1020], target: 100, replicas: 3, utilization: 102, raw: 1020 },
    { name: 'SuperfluousMetrics', current: 4, pods: n(4), levels: [4000, 9500, 3000, 7000, 3200, 2000], target: 100, replicas: 24, utilization: 587, raw: 5875 },
    { name: 'MissingMetrics', current: 4, pods: n(4), levels: [400, 95], target: 100, replicas: 3, utilization: 24, raw: 247 },
    { name: 'MissingMetricsNoChangeEq', current: 2, pods: n(2), levels: [1000], target: 100, replicas: 2, utilization: 100, raw: 1000 },
    { name: 'MissingMetricsNoChangeGt', current: 2, pods: n(2), levels: [1900], target: 100, replicas: 2, utilization: 190, raw: 1900 },
    { name: 'MissingMetricsNoChangeLt', current: 2, pods: n(2), levels: [600], target: 100, replicas: 2, utilization: 60, raw: 600 },
    { name: 'MissingMetricsUnreadyChange', current: 3, pods: [{ ready: false }, {}, {}], levels: [100, 450], target: 50, replicas: 3, utilization: 45, raw: 450 },
    { name: 'MissingMetricsHotCpuNoChange', current: 3, pods: [{ start: HOT }, {}, {}], levels: [100, 450], target: 50, replicas: 3, utilization: 45, raw: 450 },
    { name: 'MissingMetricsUnreadyScaleUp', current: 3, pods: [{ ready: false }, {}, {}], levels: [100, 2000], target: 50, replicas: 4, utilization: 200, raw: 2000 },
    { name: 'MissingMetricsHotCpuScaleUp', current: 3, pods: [{ ready: false, start: HOT }, {}, {}], levels: [100, 2000], target: 50, replicas: 4, utilization: 200, raw: 2000 },
    { name: 'MissingMetricsUnreadyScaleDown', current: 4, pods: [{ ready: false }, {}, {}, {}], levels: [100, 100, 100], target: 50, replicas: 3, utilization: 10, raw: 100 },
    { name: 'DuringRollingUpdateWithMaxSurge', current: 2, pods: n(3), levels: [100, 100], target: 50, replicas: 2, utilization: 10, raw: 100 },
  ];
  for (const c of cases) {
    const r = calcUtilizationReplicas(c.current, c.target, 'cpu', pods(c.pods), levels(c.levels), OPTS);
    assert.deepEqual(r, { replicas: c.replicas, utilization: c.utilization, rawAverage: c.raw }, c.name);
  }
});

test('calcUtilizationReplicas: errors', () => {
  assert.throws(() => calcUtilizationReplicas(1, 100, 'cpu', [], new Map(), OPTS), /no pods returned by selector/);
  assert.throws(() => calcUtilizationReplicas(1, 100, 'cpu', pods([{ request: '' }]), levels([200]), OPTS), /missing request for cpu in container c of Pod p0/);
  assert.throws(() => calcUtilizationReplicas(3, 100, 'cpu', pods(n(3)), new Map(), OPTS), /did not receive metrics for targeted pods/);
});

test('the tolerance is calibrated as upstream TestReplicaCalcComputedToleranceAlgImplementation', () => {
  // Ten pods each use 150m of about 300m requested (50 %); a target just beyond the tolerance scales down, one within does not.
  const requests = [400, 200, 310, 290, 302, 298, 301, 299, 300, 300].map((m) => ({ request: `${m}m` }));
  const target = (extra: number) => Math.trunc((1 / (2 * (1 - OPTS.tolerance)) + extra) * 100);
  const usage = levels(Array(10).fill(150));
  // Target 56 %: 50/56 is 0.893, beyond the tolerance, so ceil(0.893 × 10) = 9.
  assert.equal(target(0.01), 56);
  assert.equal(calcUtilizationReplicas(10, target(0.01), 'cpu', pods(requests), usage, OPTS).replicas, 9);
  // Target 55 %: 50/55 is 0.909, within it.
  assert.equal(target(0.004), 55);
  assert.equal(calcUtilizationReplicas(10, target(0.004), 'cpu', pods(requests), usage, OPTS).replicas, 10);
});

test('calcAverageValueReplicas: pods metrics and AverageValue targets', () => {
  const cases = [
    { name: 'ScaleUpCM', current: 3, levels: [20000, 10000, 30000], target: 15000, replicas: 4, average: 20000 },
    { name: 'ScaleDownCM', current: 5, levels: [12000, 12000, 12000, 12000, 12000], target: 20000, replicas: 3, average: 12000 },
    { name: 'ToleranceCM', current: 3, levels: [20000, 21000, 21000], target: 20000, replicas: 3, average: 20666 },
    // A missing pod on a scale-down counts as using the target: 4 pods at (2×5000+2×20000)/4.
    { name: 'MissingMetricsScaleDown', current: 4, levels: [5000, 5000], target: 20000, replicas: 3, average: 5000 },
  ];
  for (const c of cases) {
    const r = calcAverageValueReplicas(c.current, c.target, '', pods(n(c.current)), levels(c.levels), OPTS);
    assert.deepEqual(r, { replicas: c.replicas, average: c.average }, c.name);
  }
});

test('object and external metrics: one value for the whole target', () => {
  const ready3 = pods(n(3));
  assert.deepEqual(calcObjectReplicas(3, 20666, 20000, ready3, 0.1), { replicas: 3, usage: 20666 }, 'ToleranceCMObject');
  assert.deepEqual(calcObjectReplicas(3, 20000, 15000, ready3, 0.1), { replicas: 4, usage: 20000 }, 'ScaleUpCMObject');
  // Only running, ready pods count.
  assert.deepEqual(calcObjectReplicas(3, 20000, 15000, pods([{}, {}, { ready: false }]), 0.1), { replicas: 3, usage: 20000 });
  assert.deepEqual(calcPerPodReplicas(4, 20166, 5000, 0.1), { replicas: 4, usage: 5042 }, 'TolerancePerPodCMObject');
  assert.deepEqual(calcPerPodReplicas(3, 20000, 5000, 0.1), { replicas: 4, usage: 6667 }, 'ScaleUpPerPodCMObject');
  assert.deepEqual(calcExternalReplicas(3, [8600], 8888, ready3, 0.1), { replicas: 3, usage: 8600 }, 'ToleranceCMExternal');
  assert.deepEqual(calcExternalReplicas(1, [4000, 4600], 4400, pods(n(1)), 0.1), { replicas: 2, usage: 8600 }, 'ScaleUpCMExternal');
  assert.deepEqual(calcPerPodReplicas(3, 8600, 2900, 0.1), { replicas: 3, usage: 2867 }, 'TolerancePerPodCMExternal');
  assert.deepEqual(calcPerPodReplicas(3, 8600, 2150, 0.1), { replicas: 4, usage: 2867 }, 'ScaleUpPerPodCMExternal');
  // From zero replicas the ratio itself is the count.
  assert.equal(usageRatioReplicas(0, 1.5, () => assert.fail('no pods to count'), 0.1), 2);
  assert.throws(() => calcObjectReplicas(3, 20000, 15000, [], 0.1), /no pods returned by selector/);
});

test('groupPods sorts pods as upstream', () => {
  const cases: Array<{ name: string; pods: PodSpec[]; levels: number[]; resource: string; ready: number; unready: string[]; missing: string[]; ignored: string[] }> = [
    { name: 'void', pods: [], levels: [], resource: 'cpu', ready: 0, unready: [], missing: [], ignored: [] },
    { name: 'a ready pod, memory', pods: [{}], levels: [1], resource: 'memory', ready: 1, unready: [], missing: [], ignored: [] },
    { name: 'unready pods count for memory', pods: [{ ready: false, start: HOT }], levels: [1], resource: 'memory', ready: 1, unready: [], missing: [], ignored: [] },
    { name: 'hot cpu pod', pods: [{ start: HOT }], levels: [1], resource: 'cpu', ready: 0, unready: ['p0'], missing: [], ignored: [] },
    { name: 'never ready after the readiness delay is unready', pods: [{ ready: false }], levels: [1], resource: 'cpu', ready: 0, unready: ['p0'], missing: [], ignored: [] },
    { name: 'pending is unready', pods: [{ phase: 'Pending' }], levels: [1], resource: 'memory', ready: 0, unready: ['p0'], missing: [], ignored: [] },
    { name: 'failed and deleted are ignored', pods: [{ phase: 'Failed' }, { deleting: true }], levels: [1, 1], resource: 'cpu', ready: 0, unready: [], missing: [], ignored: ['p0', 'p1'] },
    { name: 'no sample is missing', pods: [{}, {}], levels: [1], resource: 'cpu', ready: 1, unready: [], missing: ['p1'], ignored: [] },
  ];
  for (const c of cases) {
    const g = groupPods(pods(c.pods), levels(c.levels), c.resource, OPTS);
    assert.deepEqual({ ready: g.readyPodCount, unready: [...g.unready], missing: [...g.missing], ignored: [...g.ignored] },
      { ready: c.ready, unready: c.unready, missing: c.missing, ignored: c.ignored }, c.name);
  }
  // Ready 20 s ago within the initialisation period: a 15 s sample taken now is trusted, a 60 s one is not.
  const warm = pods([{ start: NOW - 60_000 }]);
  warm[0].status!.conditions![0].lastTransitionTime = iso(NOW - 20_000);
  assert.equal(groupPods(warm, new Map([['p0', { value: 1, timestamp: NOW, windowMs: 15_000 }]]), 'cpu', OPTS).readyPodCount, 1);
  assert.equal(groupPods(warm, new Map([['p0', { value: 1, timestamp: NOW, windowMs: 60_000 }]]), 'cpu', OPTS).readyPodCount, 0);
});
