/**
 * The HPA replica calculator, after upstream pkg/controller/podautoscaler/replica_calculator.go:
 * pure functions from pods, their metrics and a target to a desired replica count. Nothing here
 * reads the API or the clock; the controller fetches metrics and passes `now` in.
 *
 * - resource metrics: utilization of the pods' requests (`calcUtilizationReplicas`, GetResourceReplicas)
 *   or a raw per-pod average (`calcAverageValueReplicas`, GetRawResourceReplicas; also Pods metrics,
 *   GetMetricReplicas), both with the tolerance, missing pods and unready pods of upstream;
 * - one value for the whole target: Object metrics (`calcObjectReplicas`, `calcObjectPerPodReplicas`)
 *   and External metrics (`calcExternalReplicas`, `calcExternalPerPodReplicas`).
 */
import type { Pod } from 'kubernetes-types/core/v1.js';
import { Quantity } from '../api/quantity.js';
import { isPodReady, podCondition } from './util.js';

/** One pod's sample of a metric. */
export interface PodMetricValue {
  /** Usage in milli-units (millicores, millibytes). */
  value: number;
  /** When the sample was taken (ms since the epoch). */
  timestamp: number;
  /** The window the sample averages over (ms). */
  windowMs: number;
}

/** Pod name → its sample. */
export type PodMetrics = Map<string, PodMetricValue>;

/** The calculator's tunables and the time it runs at. */
export interface CalcOptions {
  /** Ratio change ignored (upstream --horizontal-pod-autoscaler-tolerance, 0.1). */
  tolerance: number;
  /** CPU samples of pods started this recently are used only once taken a full window after readiness. */
  cpuInitializationPeriodMs: number;
  /** Pods unready for this long after start are treated as not yet ready. */
  delayOfInitialReadinessStatusMs: number;
  now: number;
}

/** How `groupPods` sorted the pods of a target. */
export interface PodGroups {
  readyPodCount: number;
  /** Pending, or (cpu only) not ready / still initialising: their samples are not trusted. */
  unready: Set<string>;
  /** Running but without a sample. */
  missing: Set<string>;
  /** Being deleted or failed: left out entirely. */
  ignored: Set<string>;
}

/** upstream groupPods: ready count, unready (ignored for cpu while initialising), missing (no metric), ignored (deleted, failed). */
export function groupPods(pods: readonly Pod[], metrics: PodMetrics, resource: string, o: CalcOptions): PodGroups {
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
    if (resource === 'cpu' && cpuSampleUntrusted(pod, metric, o)) {
      unready.add(name);
      continue;
    }
    readyPodCount++;
  }
  return { readyPodCount, unready, missing, ignored };
}

/** A CPU sample says little while a pod starts up (JIT, caches): upstream's readiness rules for it. */
function cpuSampleUntrusted(pod: Pod, metric: PodMetricValue, o: CalcOptions): boolean {
  const cond = podCondition(pod, 'Ready');
  const start = pod.status?.startTime ? Date.parse(pod.status.startTime) : NaN;
  if (!cond || !Number.isFinite(start)) return true;
  const transition = Date.parse(cond.lastTransitionTime ?? '') || 0;
  if (start + o.cpuInitializationPeriodMs > o.now) {
    // Within the initialisation period: use the sample only if ready and taken a full window after readiness.
    return cond.status === 'False' || metric.timestamp < transition + metric.windowMs;
  }
  // Ignore the sample if the pod is unready and has never been ready.
  return cond.status === 'False' && start + o.delayOfInitialReadinessStatusMs > transition;
}

/** Sum of each pod's container requests for `resource` (milli); throws when one is missing. */
export function podRequests(pods: readonly Pod[], resource: string, container?: string): Map<string, number> {
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

/** upstream GetResourceUtilizationRatio: usage over requests of the pods that have both. */
export function utilizationRatio(metrics: PodMetrics, requests: Map<string, number>, targetUtilization: number): { ratio: number; utilization: number; rawAverage: number } {
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

/** upstream GetMetricUsageRatio over per-pod values (AverageValue targets). */
export function usageRatio(metrics: PodMetrics, targetUsage: number): { ratio: number; average: number } {
  let total = 0;
  for (const m of metrics.values()) total += m.value;
  const average = Math.trunc(total / metrics.size);
  return { ratio: average / targetUsage, average };
}

const assumed = (value: number): PodMetricValue => ({ value, timestamp: 0, windowMs: 0 });

/**
 * The part GetResourceReplicas and calcPlainMetricReplicas share: with no missing or
 * untrusted samples the ratio scales the ready pods; otherwise the missing pods get the value
 * `missingValue` assumes for them (none: left out) and, on a scale-up, the unready pods count
 * as idle; the ratio is recomputed, and a change of direction or one within tolerance keeps
 * the current count, so guesses never flip a decision.
 */
function replicasFromPodRatio(
  currentReplicas: number,
  metrics: PodMetrics,
  groups: PodGroups,
  tolerance: number,
  ratioOf: (m: PodMetrics) => number,
  missingValue: (name: string, ratio: number) => number | undefined,
): number {
  const ratio = ratioOf(metrics);
  const scaleUpWithUnready = groups.unready.size > 0 && ratio > 1.0;
  if (!scaleUpWithUnready && groups.missing.size === 0) {
    if (Math.abs(1.0 - ratio) <= tolerance) return currentReplicas;
    return Math.ceil(ratio * groups.readyPodCount);
  }
  if (groups.missing.size > 0) {
    for (const n of groups.missing) {
      const v = missingValue(n, ratio);
      if (v !== undefined) metrics.set(n, assumed(v));
    }
  }
  if (scaleUpWithUnready) for (const n of groups.unready) metrics.set(n, assumed(0));
  const next = ratioOf(metrics);
  if (Math.abs(1.0 - next) <= tolerance || (ratio < 1.0 && next > 1.0) || (ratio > 1.0 && next < 1.0)) return currentReplicas;
  const replicas = Math.ceil(next * metrics.size);
  if ((next < 1.0 && replicas > currentReplicas) || (next > 1.0 && replicas < currentReplicas)) return currentReplicas;
  return replicas;
}

/** Groups the pods and drops the samples that do not count; throws when none are left. */
function trustedSamples(pods: readonly Pod[], metricsIn: PodMetrics, resource: string, o: CalcOptions): { metrics: PodMetrics; groups: PodGroups } {
  if (pods.length === 0) throw new Error('no pods returned by selector while calculating replica count');
  const metrics = new Map(metricsIn);
  const groups = groupPods(pods, metrics, resource, o);
  for (const n of [...groups.unready, ...groups.ignored]) metrics.delete(n);
  return { metrics, groups };
}

/** upstream GetResourceReplicas: desired replicas for a Utilization target (percent of requests). */
export function calcUtilizationReplicas(
  currentReplicas: number, targetUtilization: number, resource: string, pods: readonly Pod[], metricsIn: PodMetrics, o: CalcOptions, container?: string,
): { replicas: number; utilization: number; rawAverage: number } {
  const { metrics, groups } = trustedSamples(pods, metricsIn, resource, o);
  const requests = podRequests(pods, resource, container);
  if (metrics.size === 0) throw new Error('did not receive metrics for targeted pods (pods might be unready)');
  const { utilization, rawAverage } = utilizationRatio(metrics, requests, targetUtilization);
  // A missing pod is assumed to use max(100%, target) of its request on a scale-down, nothing on a scale-up.
  const fallback = Math.max(100, targetUtilization);
  const replicas = replicasFromPodRatio(currentReplicas, metrics, groups, o.tolerance,
    (m) => utilizationRatio(m, requests, targetUtilization).ratio,
    (name, ratio) => (ratio < 1.0 ? ((requests.get(name) ?? 0) * fallback) / 100 : ratio > 1.0 ? 0 : undefined));
  return { replicas, utilization, rawAverage };
}

/**
 * upstream GetRawResourceReplicas / calcPlainMetricReplicas: desired replicas for an
 * AverageValue target (milli units). Also serves Pods metrics (GetMetricReplicas) with
 * `resource` = '' (the cpu start-up rules apply only to cpu).
 */
export function calcAverageValueReplicas(
  currentReplicas: number, targetUsage: number, resource: string, pods: readonly Pod[], metricsIn: PodMetrics, o: CalcOptions,
): { replicas: number; average: number } {
  const { metrics, groups } = trustedSamples(pods, metricsIn, resource, o);
  if (metrics.size === 0) throw new Error('did not receive metrics for targeted pods (pods might be unready)');
  const { average } = usageRatio(metrics, targetUsage);
  // A missing pod is assumed to use exactly the target on a scale-down, nothing otherwise.
  const replicas = replicasFromPodRatio(currentReplicas, metrics, groups, o.tolerance, (m) => usageRatio(m, targetUsage).ratio, (_n, ratio) => (ratio < 1.0 ? targetUsage : 0));
  return { replicas, average };
}

/** upstream getReadyPodsCount: running and Ready pods; throws when the selector matches none. */
export function readyPodCount(pods: readonly Pod[]): number {
  if (pods.length === 0) throw new Error('no pods returned by selector while calculating replica count');
  return pods.filter((p) => p.status?.phase === 'Running' && isPodReady(p)).length;
}

/** upstream getUsageRatioReplicaCount: one ratio for the whole target scales the ready pods (or, from zero, itself). */
export function usageRatioReplicas(currentReplicas: number, ratio: number, readyPods: () => number, tolerance: number): number {
  if (currentReplicas === 0) return Math.ceil(ratio);
  if (Math.abs(1.0 - ratio) <= tolerance) return currentReplicas;
  return Math.ceil(ratio * readyPods());
}

/** upstream GetObjectMetricReplicas: an object's metric against a Value target. */
export function calcObjectReplicas(currentReplicas: number, usage: number, targetUsage: number, pods: readonly Pod[], tolerance: number): { replicas: number; usage: number } {
  return { replicas: usageRatioReplicas(currentReplicas, usage / targetUsage, () => readyPodCount(pods), tolerance), usage };
}

/** upstream GetObjectPerPodMetricReplicas / GetExternalPerPodMetricReplicas: a total against an AverageValue (per replica) target. */
export function calcPerPodReplicas(statusReplicas: number, usage: number, targetAverage: number, tolerance: number): { replicas: number; usage: number } {
  let replicas = statusReplicas;
  const ratio = usage / (targetAverage * statusReplicas);
  if (Math.abs(1.0 - ratio) > tolerance) replicas = Math.ceil(usage / targetAverage);
  return { replicas, usage: Math.ceil(usage / statusReplicas) };
}

/** upstream GetExternalMetricReplicas: the sum of an external metric's series against a Value target. */
export function calcExternalReplicas(currentReplicas: number, values: readonly number[], targetUsage: number, pods: readonly Pod[], tolerance: number): { replicas: number; usage: number } {
  const usage = values.reduce((s, v) => s + v, 0);
  return calcObjectReplicas(currentReplicas, usage, targetUsage, pods, tolerance);
}
