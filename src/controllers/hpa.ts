/**
 * Horizontal pod autoscaler controller, after upstream pkg/controller/podautoscaler
 * (horizontal.go, replica_calculator.go), autoscaling/v2 semantics. Every sync period (15 s)
 * each HPA reads its target's scale subresource (Deployment, ReplicaSet, StatefulSet,
 * ReplicationController), computes a desired replica count per metric from the resource
 * metrics API (metrics.k8s.io PodMetrics through the Client), takes the largest, stabilizes
 * it (scale-down window 300 s, or behavior's windows and rate policies), clamps it to
 * min/max, updates the scale and writes status (currentReplicas, desiredReplicas,
 * currentMetrics, lastScaleTime, conditions AbleToScale/ScalingActive/ScalingLimited) with
 * SuccessfulRescale events.
 *
 * Supported metric sources: Resource and ContainerResource (cpu, memory; Utilization of the
 * pods' requests or AverageValue). Pods/Object/External need a custom or external metrics API,
 * which skiff does not serve: such metrics are reported invalid as upstream does when those
 * APIs are missing. Pod grouping (ignored, unready, missing pods) and the tolerance follow
 * replica_calculator.go.
 */
import type { Pod } from 'kubernetes-types/core/v1.js';
import { formatLabelSelector, parseSelector, type Selector } from '../api/labels.js';
import { Quantity } from '../api/quantity.js';
import { rfc3339 } from '../client/clock.js';
import { splitKey, keyOf, type Informer } from '../client/informer.js';
import { DEPLOYMENTS, HORIZONTAL_POD_AUTOSCALERS, PODS, REPLICASETS, REPLICATION_CONTROLLERS, STATEFULSETS } from '../client/resources.js';
import type { KObject, ResourceRef } from '../client/types.js';
import { QueueController, type ReconcileResult } from './base.js';
import type { Controller, ControllerContext } from './types.js';
import { copy, errText, podCondition } from './util.js';

import type { Obj } from '../api/registry.js';
type HPA = KObject & { spec?: Obj; status?: Obj };
type P = Pod & KObject;

/** metrics.k8s.io/v1beta1 PodMetrics, listed through the Client. */
export const POD_METRICS: ResourceRef = { group: 'metrics.k8s.io', version: 'v1beta1', resource: 'pods', namespaced: true, kind: 'PodMetrics' };

/** Where pod resource usage comes from (default: the Client's metrics.k8s.io list). */
export interface PodMetricsSource {
  /** PodMetrics objects of the pods matching `selector` in `namespace`. */
  list(namespace: string, selector: string): Promise<KObject[]>;
}

export interface HpaOptions {
  /** Seconds between syncs of one HPA (upstream --horizontal-pod-autoscaler-sync-period 15 s; env SKIFF_HPA_SYNC_SECONDS). */
  syncPeriodSeconds?: number;
  /** Scale-down stabilization window when behavior does not set one (300 s). */
  downscaleStabilizationSeconds?: number;
  /** Ratio change ignored (0.1). */
  tolerance?: number;
  /** CPU samples of pods started this recently are used only once they were taken after readiness (300 s). */
  cpuInitializationPeriodSeconds?: number;
  /** Pods unready for this long after start are treated as not yet ready (30 s). */
  initialReadinessDelaySeconds?: number;
  metrics?: PodMetricsSource;
}

/** The HPA controller plus handles tests use. */
export interface HpaController extends Controller {
  readonly queue: QueueController['queue'];
}

interface PodMetricValue {
  /** Usage in milli-units (millicores, millibytes). */
  value: number;
  timestamp: number;
  windowMs: number;
}

interface Timestamped { recommendation: number; timestamp: number }
interface ScaleEvent { replicaChange: number; timestamp: number }

const DEFAULT_SCALE_UP: Obj = { stabilizationWindowSeconds: 0, selectPolicy: 'Max', policies: [{ type: 'Pods', value: 4, periodSeconds: 15 }, { type: 'Percent', value: 100, periodSeconds: 15 }] };
const DEFAULT_SCALE_DOWN: Obj = { selectPolicy: 'Max', policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }] };

/** The scale subresource a scaleTargetRef names. */
export function scaleTargetResource(ref: Obj | undefined): ResourceRef | undefined {
  const group = String(ref?.apiVersion ?? '').includes('/') ? String(ref?.apiVersion).split('/')[0] : '';
  const byKind: Record<string, ResourceRef> = { Deployment: DEPLOYMENTS, ReplicaSet: REPLICASETS, StatefulSet: STATEFULSETS, ReplicationController: REPLICATION_CONTROLLERS };
  const r = byKind[ref?.kind ?? ''];
  if (!r) return undefined;
  if (group && group !== r.group && !(group === 'extensions' && r.group === 'apps')) return undefined;
  return r;
}

/** Reads a Scale (or, from clients that return the object itself, the scalable object). */
export function readScale(o: Obj): { replicas: number; selector: string } {
  const replicas = Number(o.spec?.replicas ?? 0);
  const sel = o.status?.selector;
  if (typeof sel === 'string') return { replicas, selector: sel };
  const ls = o.spec?.selector;
  if (ls && typeof ls === 'object') return { replicas, selector: formatLabelSelector(ls) };
  return { replicas, selector: '' };
}

/** Sets a condition, keeping lastTransitionTime when the status did not change. */
function setCondition(conds: Obj[], type: string, status: 'True' | 'False', reason: string, message: string, now: number): void {
  const i = conds.findIndex((c) => c.type === type);
  const prev = i >= 0 ? conds[i] : undefined;
  const next = { type, status, lastTransitionTime: prev && prev.status === status ? prev.lastTransitionTime : rfc3339(now), reason, message };
  if (i >= 0) conds[i] = next;
  else conds.push(next);
}

// ---------------------------------------------------------------------------
// Replica calculation (replica_calculator.go)

export interface CalcOptions {
  tolerance: number;
  cpuInitializationPeriodMs: number;
  delayOfInitialReadinessStatusMs: number;
  now: number;
}

/** groupPods: ready count, unready (ignored for cpu while initialising), missing (no metric), ignored (deleted, failed). */
export function groupPods(pods: P[], metrics: Map<string, PodMetricValue>, resource: string, o: CalcOptions) {
  let readyPodCount = 0;
  const unready = new Set<string>();
  const missing = new Set<string>();
  const ignored = new Set<string>();
  for (const pod of pods) {
    const name = pod.metadata?.name ?? '';
    if (pod.metadata?.deletionTimestamp || pod.status?.phase === 'Failed') {
      ignored.add(name);
      continue;
    }
    if (pod.status?.phase === 'Pending') {
      unready.add(name);
      continue;
    }
    const metric = metrics.get(name);
    if (!metric) {
      missing.add(name);
      continue;
    }
    if (resource === 'cpu') {
      let isUnready: boolean;
      const cond = podCondition(pod, 'Ready');
      const start = pod.status?.startTime ? Date.parse(pod.status.startTime) : NaN;
      if (!cond || !Number.isFinite(start)) {
        isUnready = true;
      } else {
        const transition = Date.parse(cond.lastTransitionTime ?? '') || 0;
        if (start + o.cpuInitializationPeriodMs > o.now) {
          // Within the initialisation period: use the sample only if ready and taken a full window after readiness.
          isUnready = cond.status === 'False' || metric.timestamp < transition + metric.windowMs;
        } else {
          // Ignore the sample if the pod is unready and has never been ready.
          isUnready = cond.status === 'False' && start + o.delayOfInitialReadinessStatusMs > transition;
        }
      }
      if (isUnready) {
        unready.add(name);
        continue;
      }
    }
    readyPodCount++;
  }
  return { readyPodCount, unready, missing, ignored };
}

/** Sum of the pods' container requests for `resource` (milli); throws when one is missing. */
export function podRequests(pods: P[], resource: string, container?: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const pod of pods) {
    let sum = 0;
    for (const c of pod.spec?.containers ?? []) {
      if (container && c.name !== container) continue;
      const req = c.resources?.requests?.[resource];
      if (req === undefined) throw new Error(`missing request for ${resource} in container ${c.name} of Pod ${pod.metadata?.name}`);
      sum += Quantity.parse(req).milliValue();
    }
    out.set(pod.metadata?.name ?? '', sum);
  }
  return out;
}

/** GetResourceUtilizationRatio. */
function utilizationRatio(metrics: Map<string, PodMetricValue>, requests: Map<string, number>, targetUtilization: number) {
  let metricsTotal = 0;
  let requestsTotal = 0;
  let n = 0;
  for (const [name, m] of metrics) {
    const r = requests.get(name);
    if (r === undefined) continue;
    metricsTotal += m.value;
    requestsTotal += r;
    n++;
  }
  if (requestsTotal === 0) throw new Error('no metrics returned matched known pods');
  const utilization = Math.trunc((metricsTotal * 100) / requestsTotal);
  return { ratio: utilization / targetUtilization, utilization, rawAverage: Math.trunc(metricsTotal / n) };
}

/** GetMetricUsageRatio over per-pod values (AverageValue targets). */
function usageRatio(metrics: Map<string, PodMetricValue>, targetUsage: number) {
  let total = 0;
  for (const m of metrics.values()) total += m.value;
  const avg = Math.trunc(total / metrics.size);
  return { ratio: avg / targetUsage, average: avg };
}

/** GetResourceReplicas: desired replicas for a Utilization target. */
export function calcUtilizationReplicas(currentReplicas: number, targetUtilization: number, resource: string, pods: P[], metricsIn: Map<string, PodMetricValue>, o: CalcOptions, container?: string) {
  if (pods.length === 0) throw new Error('no pods returned by selector while calculating replica count');
  const metrics = new Map(metricsIn);
  const { readyPodCount, unready, missing, ignored } = groupPods(pods, metrics, resource, o);
  for (const n of [...unready, ...ignored]) metrics.delete(n);
  const requests = podRequests(pods, resource, container);
  if (metrics.size === 0) throw new Error('did not receive metrics for targeted pods (pods might be unready)');
  const { ratio, utilization, rawAverage } = utilizationRatio(metrics, requests, targetUtilization);
  const scaleUpWithUnready = unready.size > 0 && ratio > 1.0;
  if (!scaleUpWithUnready && missing.size === 0) {
    if (Math.abs(1.0 - ratio) <= o.tolerance) return { replicas: currentReplicas, utilization, rawAverage };
    return { replicas: Math.ceil(ratio * readyPodCount), utilization, rawAverage };
  }
  if (missing.size > 0) {
    if (ratio < 1.0) {
      // On a scale-down, assume missing pods use max(100%, target) of their request.
      const fallback = Math.max(100, targetUtilization);
      for (const n of missing) metrics.set(n, { value: ((requests.get(n) ?? 0) * fallback) / 100, timestamp: 0, windowMs: 0 });
    } else if (ratio > 1.0) {
      // On a scale-up, assume they use nothing.
      for (const n of missing) metrics.set(n, { value: 0, timestamp: 0, windowMs: 0 });
    }
  }
  if (scaleUpWithUnready) for (const n of unready) metrics.set(n, { value: 0, timestamp: 0, windowMs: 0 });
  const next = utilizationRatio(metrics, requests, targetUtilization).ratio;
  if (Math.abs(1.0 - next) <= o.tolerance || (ratio < 1.0 && next > 1.0) || (ratio > 1.0 && next < 1.0)) {
    return { replicas: currentReplicas, utilization, rawAverage };
  }
  const replicas = Math.ceil(next * metrics.size);
  if ((next < 1.0 && replicas > currentReplicas) || (next > 1.0 && replicas < currentReplicas)) return { replicas: currentReplicas, utilization, rawAverage };
  return { replicas, utilization, rawAverage };
}

/** GetRawResourceReplicas: desired replicas for an AverageValue target (milli units). */
export function calcAverageValueReplicas(currentReplicas: number, targetUsage: number, resource: string, pods: P[], metricsIn: Map<string, PodMetricValue>, o: CalcOptions) {
  if (pods.length === 0) throw new Error('no pods returned by selector while calculating replica count');
  const metrics = new Map(metricsIn);
  const { readyPodCount, unready, missing, ignored } = groupPods(pods, metrics, resource, o);
  for (const n of [...unready, ...ignored]) metrics.delete(n);
  if (metrics.size === 0) throw new Error('did not receive metrics for targeted pods (pods might be unready)');
  const { ratio, average } = usageRatio(metrics, targetUsage);
  const scaleUpWithUnready = unready.size > 0 && ratio > 1.0;
  if (!scaleUpWithUnready && missing.size === 0) {
    if (Math.abs(1.0 - ratio) <= o.tolerance) return { replicas: currentReplicas, average };
    return { replicas: Math.ceil(ratio * readyPodCount), average };
  }
  if (missing.size > 0) {
    for (const n of missing) metrics.set(n, { value: ratio < 1.0 ? targetUsage : 0, timestamp: 0, windowMs: 0 });
  }
  if (scaleUpWithUnready) for (const n of unready) metrics.set(n, { value: 0, timestamp: 0, windowMs: 0 });
  const next = usageRatio(metrics, targetUsage).ratio;
  if (Math.abs(1.0 - next) <= o.tolerance || (ratio < 1.0 && next > 1.0) || (ratio > 1.0 && next < 1.0)) return { replicas: currentReplicas, average };
  const replicas = Math.ceil(next * metrics.size);
  if ((next < 1.0 && replicas > currentReplicas) || (next > 1.0 && replicas < currentReplicas)) return { replicas: currentReplicas, average };
  return { replicas, average };
}

/** Per-pod usage of `resource` (milli) from PodMetrics; pods missing the resource (or container) are left out. */
export function podUsage(items: KObject[], resource: string, container?: string): Map<string, PodMetricValue> {
  const out = new Map<string, PodMetricValue>();
  for (const m of items as Obj[]) {
    let sum = 0;
    let missing = false;
    let found = false;
    for (const c of (m.containers ?? []) as Obj[]) {
      if (container && c.name !== container) continue;
      found = true;
      const u = c.usage?.[resource];
      if (u === undefined) {
        missing = true;
        break;
      }
      sum += Quantity.parse(u).milliValue();
    }
    if (missing || !found) continue;
    out.set(m.metadata?.name, { value: sum, timestamp: Date.parse(m.timestamp ?? '') || 0, windowMs: parseDurationMs(m.window) });
  }
  return out;
}

/** A Go duration string ("10s", "1m5.5s", "500ms") in ms; 0 when absent. */
export function parseDurationMs(d: unknown): number {
  if (typeof d !== 'string') return 0;
  let ms = 0;
  const re = /(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)/g;
  let m: RegExpExecArray | null;
  const unit: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 1e-3, µs: 1e-3, ns: 1e-6 };
  while ((m = re.exec(d))) ms += Number(m[1]) * unit[m[2]];
  return ms;
}

// ---------------------------------------------------------------------------
// Rate rules (horizontal.go)

function replicasChangePerPeriod(periodSeconds: number, events: ScaleEvent[], now: number): number {
  const cutoff = now - periodSeconds * 1000;
  return events.filter((e) => e.timestamp > cutoff).reduce((s, e) => s + e.replicaChange, 0);
}

/** calculateScaleUpLimitWithScalingRules. */
export function scaleUpLimit(current: number, up: ScaleEvent[], down: ScaleEvent[], rules: Obj, now: number): number {
  if (rules.selectPolicy === 'Disabled') return current;
  const min = rules.selectPolicy === 'Min';
  let result = min ? Number.MAX_SAFE_INTEGER : Number.MIN_SAFE_INTEGER;
  for (const p of (rules.policies ?? []) as Obj[]) {
    const start = current - replicasChangePerPeriod(p.periodSeconds, up, now) + replicasChangePerPeriod(p.periodSeconds, down, now);
    const proposed = p.type === 'Pods' ? start + p.value : Math.ceil(start * (1 + p.value / 100));
    result = min ? Math.min(result, proposed) : Math.max(result, proposed);
  }
  return result;
}

/** calculateScaleDownLimitWithBehaviors. */
export function scaleDownLimit(current: number, up: ScaleEvent[], down: ScaleEvent[], rules: Obj, now: number): number {
  if (rules.selectPolicy === 'Disabled') return current;
  const min = rules.selectPolicy === 'Min';
  let result = min ? Number.MIN_SAFE_INTEGER : Number.MAX_SAFE_INTEGER;
  for (const p of (rules.policies ?? []) as Obj[]) {
    const start = current - replicasChangePerPeriod(p.periodSeconds, up, now) + replicasChangePerPeriod(p.periodSeconds, down, now);
    const proposed = p.type === 'Pods' ? start - p.value : Math.trunc(start * (1 - p.value / 100));
    result = min ? Math.max(result, proposed) : Math.min(result, proposed);
  }
  return result;
}

// ---------------------------------------------------------------------------

/** Creates the HPA controller (register as "horizontalpodautoscaling"). */
export function newHorizontalPodAutoscalerController(ctx: ControllerContext, opts: HpaOptions = {}): HpaController {
  const { client, clock } = ctx;
  const hpaInf = ctx.informers.informerFor<HPA>(HORIZONTAL_POD_AUTOSCALERS);
  const podInf = ctx.informers.informerFor<P>(PODS);
  const recorder = ctx.recorder('horizontal-pod-autoscaler');
  const envSync = Number(process.env.SKIFF_HPA_SYNC_SECONDS);
  const syncMs = (opts.syncPeriodSeconds ?? (envSync > 0 ? envSync : 15)) * 1000;
  const downscaleWindowMs = (opts.downscaleStabilizationSeconds ?? 300) * 1000;
  const tolerance = opts.tolerance ?? 0.1;
  const cpuInitMs = (opts.cpuInitializationPeriodSeconds ?? 300) * 1000;
  const readinessDelayMs = (opts.initialReadinessDelaySeconds ?? 30) * 1000;
  const source: PodMetricsSource = opts.metrics ?? {
    async list(namespace, selector) {
      return (await client.list<KObject>(POD_METRICS, namespace, { labelSelector: selector })).items;
    },
  };
  const recommendations = new Map<string, Timestamped[]>();
  const scaleUpEvents = new Map<string, ScaleEvent[]>();
  const scaleDownEvents = new Map<string, ScaleEvent[]>();

  const qc: QueueController = new QueueController('horizontalpodautoscaling', ctx, [hpaInf as Informer<KObject>, podInf as Informer<KObject>], sync);
  const q = qc.queue;
  hpaInf.addEventHandler({
    onAdd: (h) => q.add(keyOf(h)),
    // Status writes do not change the generation: only spec changes trigger an early sync.
    onUpdate: (o, h) => { if (o.metadata?.generation !== h.metadata?.generation) q.add(keyOf(h)); },
    onDelete: (h) => q.add(keyOf(h)),
  });

  async function sync(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const cached = hpaInf.get(namespace, name);
    if (!cached) {
      recommendations.delete(key);
      scaleUpEvents.delete(key);
      scaleDownEvents.delete(key);
      return;
    }
    await reconcile(key, copy(cached));
    return { requeueAfterMs: syncMs };
  }

  async function reconcile(key: string, hpa: HPA): Promise<void> {
    const now = clock.now();
    const ns = hpa.metadata?.namespace ?? 'default';
    const spec = (hpa.spec ?? {}) as Obj;
    const prevStatus = (hpa.status ?? {}) as Obj;
    const conds: Obj[] = copy((prevStatus.conditions ?? []) as Obj[]);
    const ref = (spec.scaleTargetRef ?? {}) as Obj;
    const target = scaleTargetResource(ref);
    const minReplicas: number = spec.minReplicas ?? 1;
    const maxReplicas: number = spec.maxReplicas ?? 0;
    const writeStatus = async (current: number, desired: number, metrics: Obj[] | undefined, rescaled: boolean) => {
      const status: Obj = {
        observedGeneration: hpa.metadata?.generation,
        ...(rescaled ? { lastScaleTime: rfc3339(now) } : prevStatus.lastScaleTime ? { lastScaleTime: prevStatus.lastScaleTime } : {}),
        currentReplicas: current,
        desiredReplicas: desired,
        ...(metrics && metrics.length ? { currentMetrics: metrics } : {}),
        conditions: conds,
      };
      if (JSON.stringify(status) === JSON.stringify(prevStatus)) return;
      try {
        await client.update(HORIZONTAL_POD_AUTOSCALERS, ns, { ...hpa, status }, { subresource: 'status' });
      } catch (err) {
        ctx.log?.(`horizontalpodautoscaling: failed to update status of ${key}: ${errText(err)}`);
      }
    };

    // The target's scale.
    let scale: Obj;
    try {
      if (!target) throw new Error(`no matches for kind "${ref.kind}" in group "${String(ref.apiVersion ?? '').split('/').slice(0, -1).join('/')}"`);
      scale = await client.get<Obj>(target, ns, ref.name, { subresource: 'scale' });
    } catch (err) {
      const msg = errText(err);
      setCondition(conds, 'AbleToScale', 'False', 'FailedGetScale', `the HPA controller was unable to get the target's current scale: ${msg}`, now);
      recorder.event(hpa, 'Warning', 'FailedGetScale', msg);
      await writeStatus(prevStatus.currentReplicas ?? 0, prevStatus.desiredReplicas ?? 0, prevStatus.currentMetrics, false);
      return;
    }
    setCondition(conds, 'AbleToScale', 'True', 'SucceededGetScale', "the HPA controller was able to get the target's current scale", now);
    const { replicas: currentReplicas, selector } = readScale(scale);

    let desired = 0;
    let rescaleReason = '';
    let metricStatuses: Obj[] | undefined = prevStatus.currentMetrics;
    let rescale = true;
    if (currentReplicas === 0 && minReplicas !== 0) {
      // Autoscaling is disabled for this resource.
      desired = 0;
      rescale = false;
      setCondition(conds, 'ScalingActive', 'False', 'ScalingDisabled', 'scaling is disabled since the replica count of the target is zero', now);
    } else if (currentReplicas > maxReplicas) {
      rescaleReason = 'Current number of replicas above Spec.MaxReplicas';
      desired = maxReplicas;
    } else if (currentReplicas < minReplicas) {
      rescaleReason = 'Current number of replicas below Spec.MinReplicas';
      desired = minReplicas;
    } else {
      const r = await computeReplicasForMetrics(hpa, currentReplicas, selector, conds, now);
      metricStatuses = r.statuses;
      if (r.error) {
        recorder.event(hpa, 'Warning', 'FailedComputeMetricsReplicas', r.error);
        await writeStatus(currentReplicas, prevStatus.desiredReplicas ?? currentReplicas, metricStatuses, false);
        return;
      }
      if (r.replicas > currentReplicas) rescaleReason = `${r.metricName} above target`;
      if (r.replicas < currentReplicas) rescaleReason = 'All metrics below target';
      desired = spec.behavior
        ? normalizeWithBehaviors(key, hpa, currentReplicas, r.replicas, minReplicas, maxReplicas, conds, now)
        : normalize(key, currentReplicas, r.replicas, minReplicas, maxReplicas, conds, now);
      rescale = desired !== currentReplicas;
    }

    if (rescale) {
      try {
        await client.update(target!, ns, { apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: ref.name, namespace: ns, resourceVersion: scale.metadata?.resourceVersion }, spec: { replicas: desired } }, { subresource: 'scale' });
      } catch (err) {
        const msg = errText(err);
        setCondition(conds, 'AbleToScale', 'False', 'FailedUpdateScale', `the HPA controller was unable to update the target scale: ${msg}`, now);
        recorder.event(hpa, 'Warning', 'FailedRescale', `New size: ${desired}; reason: ${rescaleReason}; error: ${msg}`);
        await writeStatus(currentReplicas, prevStatus.desiredReplicas ?? currentReplicas, metricStatuses, false);
        return;
      }
      setCondition(conds, 'AbleToScale', 'True', 'SucceededRescale', `the HPA controller was able to update the target scale to ${desired}`, now);
      recorder.event(hpa, 'Normal', 'SuccessfulRescale', `New size: ${desired}; reason: ${rescaleReason}`);
      if (spec.behavior) storeScaleEvent(key, hpa, currentReplicas, desired, now);
    } else {
      desired = currentReplicas;
    }
    await writeStatus(currentReplicas, desired, metricStatuses, rescale);
  }

  /** computeReplicasForMetrics: the largest proposal over all metrics, or an error. */
  async function computeReplicasForMetrics(hpa: HPA, specReplicas: number, selectorText: string, conds: Obj[], now: number): Promise<{ replicas: number; metricName: string; statuses: Obj[]; error?: string }> {
    const ns = hpa.metadata?.namespace ?? 'default';
    const metrics = ((hpa.spec?.metrics ?? []) as Obj[]);
    if (!selectorText) {
      const msg = 'selector is required';
      recorder.event(hpa, 'Warning', 'SelectorRequired', msg);
      setCondition(conds, 'ScalingActive', 'False', 'InvalidSelector', "the HPA target's scale is missing a selector", now);
      return { replicas: 0, metricName: '', statuses: [], error: msg };
    }
    let selector: Selector;
    try {
      selector = parseSelector(selectorText);
    } catch (err) {
      const msg = `couldn't convert selector into a corresponding internal selector object: ${errText(err)}`;
      recorder.event(hpa, 'Warning', 'InvalidSelector', msg);
      setCondition(conds, 'ScalingActive', 'False', 'InvalidSelector', msg, now);
      return { replicas: 0, metricName: '', statuses: [], error: msg };
    }
    const pods = podInf.list(ns, selector);
    const calc: CalcOptions = { tolerance, cpuInitializationPeriodMs: cpuInitMs, delayOfInitialReadinessStatusMs: readinessDelayMs, now };
    const statuses: Obj[] = [];
    let replicas = 0;
    let metricName = '';
    let invalid = 0;
    let firstError = '';
    let invalidReason = '';
    let invalidMessage = '';
    const usageCache = new Map<string, Promise<KObject[]>>();
    const podMetrics = () => {
      let p = usageCache.get('all');
      if (!p) usageCache.set('all', (p = source.list(ns, selectorText)));
      return p;
    };
    for (const m of metrics) {
      try {
        const r = await computeResourceMetric(m, specReplicas, pods, podMetrics, calc);
        statuses.push(r.status);
        if (replicas === 0 || r.replicas > replicas) {
          replicas = r.replicas;
          metricName = r.metricName;
        }
      } catch (err) {
        const e = err as MetricError;
        statuses.push({ type: '' });
        invalid++;
        if (!firstError) {
          firstError = e.message;
          invalidReason = e.reason ?? 'FailedGetResourceMetric';
          invalidMessage = `the HPA was unable to compute the replica count: ${e.message}`;
        }
        if (e.eventReason) recorder.event(hpa, 'Warning', e.eventReason, e.eventMessage ?? e.message);
      }
    }
    if (invalid >= metrics.length || (invalid > 0 && replicas < specReplicas)) {
      setCondition(conds, 'ScalingActive', 'False', invalidReason, invalidMessage, now);
      return { replicas: 0, metricName: '', statuses, error: `invalid metrics (${invalid} invalid out of ${metrics.length}), first error is: ${firstError}` };
    }
    setCondition(conds, 'ScalingActive', 'True', 'ValidMetricFound', `the HPA was able to successfully calculate a replica count from ${metricName}`, now);
    return { replicas, metricName, statuses };
  }

  async function computeResourceMetric(m: Obj, specReplicas: number, pods: P[], podMetrics: () => Promise<KObject[]>, calc: CalcOptions): Promise<{ replicas: number; metricName: string; status: Obj }> {
    const type = m.type;
    if (type !== 'Resource' && type !== 'ContainerResource') {
      const field = ({ Pods: 'pods', Object: 'object', External: 'external' } as Record<string, string>)[type];
      if (!field) throw new MetricError(`unknown metric source type "${type}"`, 'InvalidMetricSourceType');
      const api = type === 'External' ? 'external.metrics.k8s.io' : 'custom.metrics.k8s.io';
      const reason = type === 'Pods' ? 'FailedGetPodsMetric' : type === 'Object' ? 'FailedGetObjectMetric' : 'FailedGetExternalMetric';
      const msg = `unable to get metric ${m[field]?.metric?.name}: no ${api} API is served by this cluster`;
      throw new MetricError(msg, reason, reason);
    }
    const src: Obj = (type === 'Resource' ? m.resource : m.containerResource) ?? {};
    const resource: string = src.name;
    const container: string | undefined = type === 'ContainerResource' ? src.container : undefined;
    const t: Obj = src.target ?? {};
    const what = container ? `${resource} container resource` : `${resource} resource`;
    const reason = container ? 'FailedGetContainerResourceMetric' : 'FailedGetResourceMetric';
    const fetch = async () => {
      let items: KObject[];
      try {
        items = await podMetrics();
      } catch (err) {
        throw new Error(`unable to get metrics for resource ${resource}: unable to fetch metrics from resource metrics API: ${errText(err)}`);
      }
      if (items.length === 0) throw new Error(`unable to get metrics for resource ${resource}: no metrics returned from resource metrics API`);
      return podUsage(items, resource, container);
    };
    const statusOf = (current: Obj) =>
      type === 'Resource' ? { type, resource: { name: resource, current } } : { type, containerResource: { name: resource, container, current } };
    if (t.averageValue !== undefined && t.averageValue !== null) {
      try {
        const target = Quantity.parse(t.averageValue).milliValue();
        const r = calcAverageValueReplicas(specReplicas, target, resource, pods, await fetch(), calc);
        return { replicas: r.replicas, metricName: what, status: statusOf({ averageValue: Quantity.fromMilli(r.average).toString() }) };
      } catch (err) {
        const msg = `failed to get ${resource} usage: ${errText(err)}`;
        throw new MetricError(msg, reason, reason);
      }
    }
    if (typeof t.averageUtilization !== 'number') {
      throw new MetricError('invalid resource metric source: neither a utilization target nor a value target was set', reason, reason);
    }
    try {
      const r = calcUtilizationReplicas(specReplicas, t.averageUtilization, resource, pods, await fetch(), calc, container);
      return {
        replicas: r.replicas,
        metricName: `${what} utilization (percentage of request)`,
        status: statusOf({ averageUtilization: r.utilization, averageValue: Quantity.fromMilli(r.rawAverage).toString() }),
      };
    } catch (err) {
      const msg = `failed to get ${resource} utilization: ${errText(err)}`;
      throw new MetricError(msg, reason, reason);
    }
  }

  /** normalizeDesiredReplicas (no behavior): downscale stabilization, then the 2x/4 scale-up limit and min/max. */
  function normalize(key: string, current: number, prenormalized: number, min: number, max: number, conds: Obj[], now: number): number {
    const recs = recommendations.get(key) ?? [];
    const cutoff = now - downscaleWindowMs;
    let stabilized = prenormalized;
    let oldIndex = -1;
    recs.forEach((r, i) => {
      if (r.timestamp > cutoff) stabilized = Math.max(stabilized, r.recommendation);
      else oldIndex = i;
    });
    if (oldIndex >= 0) recs[oldIndex] = { recommendation: prenormalized, timestamp: now };
    else recs.push({ recommendation: prenormalized, timestamp: now });
    recommendations.set(key, recs);
    if (stabilized !== prenormalized) {
      setCondition(conds, 'AbleToScale', 'True', 'ScaleDownStabilized', 'recent recommendations were higher than current one, applying the highest recent recommendation', now);
    } else {
      setCondition(conds, 'AbleToScale', 'True', 'ReadyForNewScale', 'recommended size matches current size', now);
    }
    // convertDesiredReplicasWithRules
    const upLimit = Math.max(2 * current, 4);
    let maxAllowed = max;
    let limitReason = 'TooManyReplicas';
    let limitMessage = 'the desired replica count is more than the maximum replica count';
    if (max > upLimit) {
      maxAllowed = upLimit;
      limitReason = 'ScaleUpLimit';
      limitMessage = 'the desired replica count is increasing faster than the maximum scale rate';
    }
    let desired = stabilized;
    let reason = 'DesiredWithinRange';
    let message = 'the desired count is within the acceptable range';
    if (stabilized < min) {
      desired = min;
      reason = 'TooFewReplicas';
      message = 'the desired replica count is less than the minimum replica count';
    } else if (stabilized > maxAllowed) {
      desired = maxAllowed;
      reason = limitReason;
      message = limitMessage;
    }
    setCondition(conds, 'ScalingLimited', desired === stabilized ? 'False' : 'True', reason, message, now);
    return desired;
  }

  /** normalizeDesiredReplicasWithBehaviors: both stabilization windows, then the rate policies. */
  function normalizeWithBehaviors(key: string, hpa: HPA, current: number, prenormalized: number, min: number, max: number, conds: Obj[], now: number): number {
    const b = (hpa.spec?.behavior ?? {}) as Obj;
    const up: Obj = { ...DEFAULT_SCALE_UP, ...(b.scaleUp ?? {}) };
    const down: Obj = { ...DEFAULT_SCALE_DOWN, ...(b.scaleDown ?? {}) };
    const upWindow = (up.stabilizationWindowSeconds ?? 0) * 1000;
    const downWindow = down.stabilizationWindowSeconds !== undefined && down.stabilizationWindowSeconds !== null ? down.stabilizationWindowSeconds * 1000 : downscaleWindowMs;
    const recs = recommendations.get(key) ?? [];
    const upCutoff = now - upWindow;
    const downCutoff = now - downWindow;
    let upRec = prenormalized;
    let downRec = prenormalized;
    let oldIndex = -1;
    recs.forEach((r, i) => {
      if (r.timestamp > upCutoff) upRec = Math.min(upRec, r.recommendation);
      if (r.timestamp > downCutoff) downRec = Math.max(downRec, r.recommendation);
      if (r.timestamp < upCutoff && r.timestamp < downCutoff) oldIndex = i;
    });
    let stabilized = current;
    if (stabilized < upRec) stabilized = upRec;
    if (stabilized > downRec) stabilized = downRec;
    if (oldIndex >= 0) recs[oldIndex] = { recommendation: prenormalized, timestamp: now };
    else recs.push({ recommendation: prenormalized, timestamp: now });
    recommendations.set(key, recs);
    if (stabilized < prenormalized) {
      setCondition(conds, 'AbleToScale', 'True', 'ScaleUpStabilized', 'recent recommendations were lower than current one, applying the lowest recent recommendation', now);
    } else if (stabilized > prenormalized) {
      setCondition(conds, 'AbleToScale', 'True', 'ScaleDownStabilized', 'recent recommendations were higher than current one, applying the highest recent recommendation', now);
    } else {
      setCondition(conds, 'AbleToScale', 'True', 'ReadyForNewScale', 'recommended size matches current size', now);
    }
    // convertDesiredReplicasWithBehaviorRate
    const ups = scaleUpEvents.get(key) ?? [];
    const downs = scaleDownEvents.get(key) ?? [];
    let desired = stabilized;
    let reason = 'DesiredWithinRange';
    let message = 'the desired count is within the acceptable range';
    if (stabilized > current) {
      const limit = Math.max(scaleUpLimit(current, ups, downs, up, now), current);
      let maxAllowed = max;
      let r = 'TooManyReplicas';
      let msg = 'the desired replica count is more than the maximum replica count';
      if (maxAllowed > limit) {
        maxAllowed = limit;
        r = 'ScaleUpLimit';
        msg = 'the desired replica count is increasing faster than the maximum scale rate';
      }
      if (stabilized > maxAllowed) [desired, reason, message] = [maxAllowed, r, msg];
    } else if (stabilized < current) {
      const limit = Math.min(scaleDownLimit(current, ups, downs, down, now), current);
      let minAllowed = min;
      let r = 'TooFewReplicas';
      let msg = 'the desired replica count is less than the minimum replica count';
      if (minAllowed < limit) {
        minAllowed = limit;
        r = 'ScaleDownLimit';
        msg = 'the desired replica count is decreasing faster than the maximum scale rate';
      }
      if (stabilized < minAllowed) [desired, reason, message] = [minAllowed, r, msg];
    }
    setCondition(conds, 'ScalingLimited', desired === stabilized ? 'False' : 'True', reason, message, now);
    return desired;
  }

  /** storeScaleEvent: remembers replica changes for the rate policies, dropping those older than the longest period. */
  function storeScaleEvent(key: string, hpa: HPA, prev: number, next: number, now: number): void {
    const b = (hpa.spec?.behavior ?? {}) as Obj;
    const longest = (rules: Obj | undefined, dflt: Obj) => Math.max(0, ...(((rules?.policies ?? dflt.policies) as Obj[]).map((p) => p.periodSeconds ?? 0))) * 1000;
    const prune = (m: Map<string, ScaleEvent[]>, periodMs: number) => (m.get(key) ?? []).filter((e) => e.timestamp > now - periodMs);
    if (next > prev) scaleUpEvents.set(key, [...prune(scaleUpEvents, longest(b.scaleUp, DEFAULT_SCALE_UP)), { replicaChange: next - prev, timestamp: now }]);
    else if (next < prev) scaleDownEvents.set(key, [...prune(scaleDownEvents, longest(b.scaleDown, DEFAULT_SCALE_DOWN)), { replicaChange: prev - next, timestamp: now }]);
  }

  return {
    name: qc.name,
    queue: q,
    run: (workers) => qc.run(workers),
    stop: () => qc.stop(),
  };
}

class MetricError extends Error {
  constructor(message: string, readonly reason?: string, readonly eventReason?: string, readonly eventMessage?: string) {
    super(message);
  }
}
