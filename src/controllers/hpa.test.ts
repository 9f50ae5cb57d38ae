import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEPLOYMENTS, HORIZONTAL_POD_AUTOSCALERS, PODS } from '../client/resources.js';
import { rfc3339 } from '../util/clock.js';
import { harness, type Harness } from './testing/harness.js';
import { POD_METRICS, parseDurationMs } from './hpa-metrics.js';
import { newHorizontalPodAutoscalerController, type HpaController } from './hpa.js';

import type { Obj } from '../api/registry.js';
const HOUR = 3_600_000;

interface Env {
  h: Harness;
  c: HpaController;
  setUsage(pod: string, cpu: string, memory?: string): Promise<void>;
  addPod(name: string, opts?: { startedAgoMs?: number; readyAgoMs?: number; ready?: boolean; phase?: string; cpuRequest?: string }): Promise<void>;
  hpa(): Obj;
  replicas(): number;
  sync(): Promise<void>;
}

async function env(opts: { replicas?: number; hpa?: Obj; pods?: number } = {}): Promise<Env> {
  const h = harness();
  const { client, clock } = h;
  await client.create(DEPLOYMENTS, 'default', {
    metadata: { name: 'busy' },
    spec: { replicas: opts.replicas ?? 1, selector: { matchLabels: { app: 'busy' } }, template: { metadata: { labels: { app: 'busy' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } },
  });
  const addPod: Env['addPod'] = async (name, o = {}) => {
    const now = clock.now();
    await client.create(PODS, 'default', {
      metadata: { name, labels: { app: 'busy' } },
      spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'busybox', resources: o.cpuRequest === '' ? {} : { requests: { cpu: o.cpuRequest ?? '100m', memory: '64Mi' } } }] },
    });
    await client.patch(PODS, 'default', name, 'merge', {
      status: {
        phase: o.phase ?? 'Running',
        startTime: rfc3339(now - (o.startedAgoMs ?? HOUR)),
        conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True', lastTransitionTime: rfc3339(now - (o.readyAgoMs ?? HOUR)) }],
      },
    }, { subresource: 'status' });
  };
  for (let i = 0; i < (opts.pods ?? opts.replicas ?? 1); i++) await addPod(`busy-${i}`);
  const setUsage: Env['setUsage'] = async (pod, cpu, memory = '10Mi') => {
    const m = { metadata: { name: pod, namespace: 'default', labels: { app: 'busy' } }, timestamp: rfc3339(clock.now()), window: '15s', containers: [{ name: 'c', usage: { cpu, memory } }] };
    try {
      await client.delete(POD_METRICS, 'default', pod);
    } catch { /* not there yet */ }
    await client.create(POD_METRICS, 'default', m);
  };
  await client.create(HORIZONTAL_POD_AUTOSCALERS, 'default', {
    metadata: { name: 'busy' },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'busy' },
      minReplicas: 1,
      maxReplicas: 3,
      metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } }],
      ...(opts.hpa ?? {}),
    },
  });
  const c = newHorizontalPodAutoscalerController(h.ctx, { syncPeriodSeconds: 15 });
  return {
    h, c, setUsage, addPod,
    hpa: () => h.client.peek<Obj>(HORIZONTAL_POD_AUTOSCALERS, 'default', 'busy')!,
    replicas: () => h.client.peek<Obj>(DEPLOYMENTS, 'default', 'busy')!.spec.replicas,
    async sync() {
      await h.clock.advance(15_000);
      await h.settle();
    },
  };
}

const cond = (hpa: Obj, type: string) => (hpa.status?.conditions ?? []).find((c: Obj) => c.type === type);

test('scales up on cpu utilization above target, clamped to maxReplicas, with status and event', async () => {
  const e = await env();
  await e.setUsage('busy-0', '500m');
  e.h.start(e.c);
  await e.h.settle();
  assert.equal(e.replicas(), 3);
  const hpa = e.hpa();
  assert.equal(hpa.status.currentReplicas, 1);
  assert.equal(hpa.status.desiredReplicas, 3);
  assert.ok(hpa.status.lastScaleTime);
  assert.deepEqual(hpa.status.currentMetrics, [{ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: 500, averageValue: '500m' } } }]);
  assert.equal(cond(hpa, 'AbleToScale').reason, 'SucceededRescale');
  assert.equal(cond(hpa, 'ScalingActive').reason, 'ValidMetricFound');
  assert.equal(cond(hpa, 'ScalingLimited').status, 'True');
  assert.equal(cond(hpa, 'ScalingLimited').reason, 'TooManyReplicas');
  assert.deepEqual(e.h.recorder.events, ['Normal SuccessfulRescale New size: 3; reason: cpu resource utilization (percentage of request) above target']);
  e.h.stop();
});

test('within tolerance nothing changes; the next sync comes a sync period later', async () => {
  const e = await env({ replicas: 2, hpa: { metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 100 } } }] } });
  await e.setUsage('busy-0', '105m');
  await e.setUsage('busy-1', '100m');
  e.h.start(e.c);
  await e.h.settle();
  assert.equal(e.replicas(), 2);
  assert.equal(e.hpa().status.desiredReplicas, 2);
  assert.equal(e.hpa().status.currentMetrics[0].resource.current.averageUtilization, 102);
  assert.equal(cond(e.hpa(), 'ScalingLimited').reason, 'DesiredWithinRange');
  // Usage doubles: after one sync period the HPA scales.
  await e.setUsage('busy-0', '200m');
  await e.setUsage('busy-1', '200m');
  await e.h.clock.advance(14_000);
  await e.h.settle();
  assert.equal(e.replicas(), 2, 'not before the sync period');
  await e.sync();
  assert.equal(e.replicas(), 3);
  e.h.stop();
});

test('scale-down waits for the 300 s stabilization window', async () => {
  const e = await env({ replicas: 3 });
  for (const p of ['busy-0', 'busy-1', 'busy-2']) await e.setUsage(p, '50m');
  e.h.start(e.c);
  await e.h.settle();
  assert.equal(e.replicas(), 3, '100% of 50%: recommends 6, limited to 3');
  for (const p of ['busy-0', 'busy-1', 'busy-2']) await e.setUsage(p, '5m');
  await e.sync();
  assert.equal(e.replicas(), 3, 'held by the earlier recommendation');
  assert.equal(cond(e.hpa(), 'AbleToScale').reason, 'ScaleDownStabilized');
  for (let i = 0; i < 19; i++) await e.sync();
  assert.equal(e.replicas(), 1);
  assert.ok(e.h.recorder.events.includes('Normal SuccessfulRescale New size: 1; reason: All metrics below target'));
  e.h.stop();
});

test('no metrics: ScalingActive False and a warning, no scaling', async () => {
  const e = await env();
  e.h.start(e.c);
  await e.h.settle();
  assert.equal(e.replicas(), 1);
  const sa = cond(e.hpa(), 'ScalingActive');
  assert.equal(sa.status, 'False');
  assert.equal(sa.reason, 'FailedGetResourceMetric');
  assert.match(sa.message, /the HPA was unable to compute the replica count: failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from resource metrics API/);
  assert.ok(e.h.recorder.events.some((x) => x.startsWith('Warning FailedComputeMetricsReplicas invalid metrics (1 invalid out of 1)')));
  assert.deepEqual(e.hpa().status.currentMetrics, [{ type: '' }]);
  e.h.stop();
});

test('missing requests are an error; AverageValue targets need none', async () => {
  const e = await env({ pods: 0, hpa: { metrics: [{ type: 'Resource', resource: { name: 'memory', target: { type: 'AverageValue', averageValue: '20Mi' } } }] } });
  await e.addPod('busy-0', { cpuRequest: '' });
  await e.setUsage('busy-0', '10m', '60Mi');
  e.h.start(e.c);
  await e.h.settle();
  assert.equal(e.replicas(), 3);
  assert.equal(e.hpa().status.currentMetrics[0].resource.current.averageValue, String(60 * 1024 * 1024));
  assert.ok(e.h.recorder.events.includes('Normal SuccessfulRescale New size: 3; reason: memory resource above target'));
  e.h.stop();
});

test('pods still initialising are not counted for cpu; replicas below min are raised; zero disables', async () => {
  const e = await env({ pods: 0, replicas: 1 });
  // Started 20 s ago, Ready 10 s ago: a 15 s sample taken now began before readiness.
  await e.addPod('busy-0', { startedAgoMs: 20_000, readyAgoMs: 10_000 });
  await e.setUsage('busy-0', '900m');
  e.h.start(e.c);
  await e.h.settle();
  assert.equal(e.replicas(), 1);
  assert.match(cond(e.hpa(), 'ScalingActive').message, /did not receive metrics for targeted pods/);
  await e.h.clock.advance(10_000);
  await e.setUsage('busy-0', '900m'); // taken 20 s after readiness: more than a window
  await e.h.clock.advance(5_000);
  await e.h.settle();
  assert.equal(e.replicas(), 3);
  e.h.stop();

  const z = await env({ replicas: 0, pods: 0 });
  z.h.start(z.c);
  await z.h.settle();
  assert.equal(z.replicas(), 0);
  assert.equal(cond(z.hpa(), 'ScalingActive').reason, 'ScalingDisabled');
  await assert.rejects(z.h.client.patch(HORIZONTAL_POD_AUTOSCALERS, 'default', 'busy', 'merge', { spec: { minReplicas: 0 } }), /minReplicas/);
  await z.h.settle();
  z.h.stop();

  const lo = await env({ replicas: 1, hpa: { minReplicas: 2 } });
  lo.h.start(lo.c);
  await lo.h.settle();
  assert.equal(lo.replicas(), 2);
  assert.ok(lo.h.recorder.events.includes('Normal SuccessfulRescale New size: 2; reason: Current number of replicas below Spec.MinReplicas'));
  lo.h.stop();
});

test('behavior: scale-up policies limit the rate', async () => {
  const e = await env({ hpa: { maxReplicas: 10, behavior: { scaleUp: { stabilizationWindowSeconds: 0, selectPolicy: 'Max', policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }] } } } });
  await e.setUsage('busy-0', '1');
  e.h.start(e.c);
  await e.h.settle();
  assert.equal(e.replicas(), 2);
  assert.equal(cond(e.hpa(), 'ScalingLimited').reason, 'ScaleUpLimit');
  await e.addPod('busy-1');
  await e.setUsage('busy-0', '1');
  await e.setUsage('busy-1', '1');
  await e.sync();
  assert.equal(e.replicas(), 2, 'one pod per 60 s');
  for (let i = 0; i < 3; i++) await e.sync();
  assert.equal(e.replicas(), 3);
  e.h.stop();
});

test('unknown targets and custom metrics are reported', async () => {
  const e = await env({ hpa: { scaleTargetRef: { apiVersion: 'example.com/v1', kind: 'Widget', name: 'w' } } });
  e.h.start(e.c);
  await e.h.settle();
  assert.equal(cond(e.hpa(), 'AbleToScale').reason, 'FailedGetScale');
  assert.ok(e.h.recorder.events.some((x) => x.startsWith('Warning FailedGetScale no matches for kind "Widget"')));
  e.h.stop();
  const p = await env({ hpa: { metrics: [{ type: 'Pods', pods: { metric: { name: 'qps' }, target: { type: 'AverageValue', averageValue: '10' } } }] } });
  p.h.start(p.c);
  await p.h.settle();
  assert.equal(cond(p.hpa(), 'ScalingActive').reason, 'FailedGetPodsMetric');
  p.h.stop();
});

test('PodMetrics windows are Go durations', () => {
  assert.equal(parseDurationMs('1m5.5s'), 65_500);
  assert.equal(parseDurationMs('10.025s'), 10_025);
  assert.equal(parseDurationMs(undefined), 0);
  assert.equal(parseDurationMs('soon'), 0);
});
