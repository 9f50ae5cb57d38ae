/**
 * Horizontal pod autoscaler controller, after upstream pkg/controller/podautoscaler
 * (horizontal.go), autoscaling/v2 semantics. Every sync period (15 s) each HPA reads its
 * target's scale subresource (Deployment, ReplicaSet, StatefulSet, ReplicationController),
 * asks every metric for a replica count (hpa-metrics.ts, hpa-replica-calculator.ts), takes the
 * largest, normalizes it (hpa-normalize.ts: stabilization windows, rate limits, min/max),
 * updates the scale and writes status (currentReplicas, desiredReplicas, currentMetrics,
 * lastScaleTime, conditions AbleToScale/ScalingActive/ScalingLimited) with SuccessfulRescale
 * events. This file holds the side effects: informers, queue, API reads and writes, events,
 * and the per-HPA history the pure parts need.
 */
import type { CrossVersionObjectReference, HorizontalPodAutoscaler, HorizontalPodAutoscalerCondition, HorizontalPodAutoscalerStatus, MetricStatus } from 'kubernetes-types/autoscaling/v2.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { formatLabelSelector, parseSelector, type Selector } from '../api/labels.js';
import { parseApiVersion } from '../api/registry.js';
import { rfc3339 } from '../util/clock.js';
import { splitKey, keyOf, type Informer } from '../client/informer.js';
import { DEPLOYMENTS, HORIZONTAL_POD_AUTOSCALERS, PODS, REPLICASETS, REPLICATION_CONTROLLERS, STATEFULSETS } from '../client/resources.js';
import type { KObject, ResourceRef } from '../client/types.js';
import { QueueController, type ReconcileResult } from './base.js';
import { computeMetric, MetricError, POD_METRICS, type PodMetricsSource } from './hpa-metrics.js';
import { emptyHistory, normalizeDesiredReplicas, storeScaleEvent, type ScaleHistory } from './hpa-normalize.js';
import type { CalcOptions } from './hpa-replica-calculator.js';
import type { Controller, ControllerContext } from './types.js';
import { copy, errText } from './util.js';

type HPA = HorizontalPodAutoscaler & KObject;
type Cond = HorizontalPodAutoscalerCondition;
/** A Scale (autoscaling/v1), or the scalable object itself from clients that return that. */
type ScaleLike = KObject & { spec?: { replicas?: number; selector?: unknown }; status?: { selector?: unknown } };
type P = Pod & KObject;

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

/** The scale subresource a scaleTargetRef names. */
export function scaleTargetResource(ref: Partial<CrossVersionObjectReference> | undefined): ResourceRef | undefined {
  const { group } = parseApiVersion(String(ref?.apiVersion ?? ''));
  const byKind: Record<string, ResourceRef> = { Deployment: DEPLOYMENTS, ReplicaSet: REPLICASETS, StatefulSet: STATEFULSETS, ReplicationController: REPLICATION_CONTROLLERS };
  const r = byKind[ref?.kind ?? ''];
  if (!r) return undefined;
  if (group && group !== r.group && !(group === 'extensions' && r.group === 'apps')) return undefined;
  return r;
}

/** Reads a Scale (or, from clients that return the object itself, the scalable object). */
export function readScale(o: ScaleLike): { replicas: number; selector: string } {
  const replicas = Number(o.spec?.replicas ?? 0);
  const sel = o.status?.selector;
  if (typeof sel === 'string') return { replicas, selector: sel };
  const ls = o.spec?.selector;
  if (ls && typeof ls === 'object') return { replicas, selector: formatLabelSelector(ls) };
  return { replicas, selector: '' };
}

/** Sets a condition, keeping lastTransitionTime when the status did not change. */
function setCondition(conds: Cond[], type: string, status: 'True' | 'False', reason: string, message: string, now: number): void {
  const i = conds.findIndex((c) => c.type === type);
  const prev = i >= 0 ? conds[i] : undefined;
  const next = { type, status, lastTransitionTime: prev && prev.status === status ? prev.lastTransitionTime : rfc3339(now), reason, message };
  if (i >= 0) conds[i] = next;
  else conds.push(next);
}

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
  /** Per HPA key: past recommendations and scale events, for stabilization and the rate limits. */
  const histories = new Map<string, ScaleHistory>();

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
      histories.delete(key);
      return;
    }
    await reconcile(key, copy(cached));
    return { requeueAfterMs: syncMs };
  }

  async function reconcile(key: string, hpa: HPA): Promise<void> {
    const now = clock.now();
    const ns = hpa.metadata?.namespace ?? 'default';
    // The API server defaults and validates both; an object without them is treated as empty.
    const spec: Partial<NonNullable<HPA['spec']>> = hpa.spec ?? {};
    const prevStatus: Partial<HorizontalPodAutoscalerStatus> = hpa.status ?? {};
    const conds: Cond[] = copy(prevStatus.conditions ?? []);
    const ref: Partial<CrossVersionObjectReference> = spec.scaleTargetRef ?? {};
    const target = scaleTargetResource(ref);
    const minReplicas: number = spec.minReplicas ?? 1;
    const maxReplicas: number = spec.maxReplicas ?? 0;
    const writeStatus = async (current: number, desired: number, metrics: MetricStatus[] | undefined, rescaled: boolean) => {
      const status: HorizontalPodAutoscalerStatus = {
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
    let scale: ScaleLike;
    try {
      if (!target) throw new Error(`no matches for kind "${ref.kind}" in group "${parseApiVersion(String(ref.apiVersion ?? '')).group}"`);
      scale = await client.get<ScaleLike>(target, ns, ref.name!, { subresource: 'scale' });
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
    let metricStatuses: MetricStatus[] | undefined = prevStatus.currentMetrics;
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
      const history = histories.get(key) ?? emptyHistory();
      const n = normalizeDesiredReplicas({
        current: currentReplicas, prenormalized: r.replicas, min: minReplicas, max: maxReplicas,
        behavior: spec.behavior, downscaleStabilizationMs: downscaleWindowMs, history, now,
      });
      histories.set(key, { ...history, recommendations: n.recommendations });
      for (const c of n.conditions) setCondition(conds, c.type, c.status, c.reason, c.message, now);
      desired = n.desired;
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
      if (spec.behavior) histories.set(key, storeScaleEvent(histories.get(key) ?? emptyHistory(), spec.behavior, currentReplicas, desired, now));
    } else {
      desired = currentReplicas;
    }
    await writeStatus(currentReplicas, desired, metricStatuses, rescale);
  }

  /** computeReplicasForMetrics: the largest proposal over all metrics, or an error. */
  async function computeReplicasForMetrics(hpa: HPA, specReplicas: number, selectorText: string, conds: Cond[], now: number): Promise<{ replicas: number; metricName: string; statuses: MetricStatus[]; error?: string }> {
    const ns = hpa.metadata?.namespace ?? 'default';
    const metrics = hpa.spec?.metrics ?? [];
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
    const statuses: MetricStatus[] = [];
    let replicas = 0;
    let metricName = '';
    let invalid = 0;
    let firstError = '';
    let invalidReason = '';
    let invalidMessage = '';
    // Every resource metric reads the same PodMetrics list: fetch it once per sync.
    let podMetricsList: Promise<KObject[]> | undefined;
    const podMetrics = () => (podMetricsList ??= source.list(ns, selectorText));
    for (const m of metrics) {
      try {
        const r = await computeMetric(m, specReplicas, pods, podMetrics, calc);
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

  return {
    name: qc.name,
    queue: q,
    run: (workers) => qc.run(workers),
    stop: () => qc.stop(),
  };
}
