/**
 * One HPA metric → a replica proposal and its status entry, after upstream horizontal.go
 * (computeStatusForResourceMetric and friends) over the metrics.k8s.io resource metrics API.
 * Pods/Object/External metrics need a custom or external metrics API, which skiff does not
 * serve: they are reported invalid as upstream does when those APIs are missing.
 */
import type { MetricSpec, MetricStatus, MetricValueStatus } from 'kubernetes-types/autoscaling/v2.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { Quantity } from '../api/quantity.js';
import type { KObject, ResourceRef } from '../client/types.js';
import { calcAverageValueReplicas, calcUtilizationReplicas, type CalcOptions, type PodMetrics } from './hpa-replica-calculator.js';
import { errText, parseGoDuration } from './util.js';

/** metrics.k8s.io/v1beta1 PodMetrics: one sample of a pod's containers. */
interface PodMetricsObject extends KObject {
  timestamp?: string;
  window?: string;
  containers?: Array<{ name: string; usage?: Record<string, string> }>;
}

/** metrics.k8s.io/v1beta1 PodMetrics, listed through the Client. */
export const POD_METRICS: ResourceRef = { group: 'metrics.k8s.io', version: 'v1beta1', resource: 'pods', namespaced: true, kind: 'PodMetrics' };

/** Where pod resource usage comes from (default: the Client's metrics.k8s.io list). */
export interface PodMetricsSource {
  /** PodMetrics objects of the pods matching `selector` in `namespace`. */
  list(namespace: string, selector: string): Promise<KObject[]>;
}

/** A metric that yields no proposal: its condition reason, and the event to record. */
export class MetricError extends Error {
  constructor(message: string, readonly reason?: string, readonly eventReason?: string, readonly eventMessage?: string) {
    super(message);
  }
}

/** A metric's proposal: replicas, the name used in rescale reasons, and its currentMetrics entry. */
export interface MetricProposal { replicas: number; metricName: string; status: MetricStatus }

/** A Go duration ("10s", "1m5.5s") in ms; 0 when absent or malformed (the sample then counts as taken at once). */
export function parseDurationMs(d: unknown): number {
  if (typeof d !== 'string') return 0;
  try {
    return parseGoDuration(d);
  } catch {
    return 0;
  }
}

/** Per-pod usage of `resource` (milli) from PodMetrics; pods missing the resource (or container) are left out. */
export function podUsage(items: KObject[], resource: string, container?: string): PodMetrics {
  const out: PodMetrics = new Map();
  for (const m of items as PodMetricsObject[]) {
    let sum = 0;
    let missing = false;
    let found = false;
    for (const c of m.containers ?? []) {
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
    out.set(m.metadata?.name ?? '', { value: sum, timestamp: Date.parse(m.timestamp ?? '') || 0, windowMs: parseDurationMs(m.window) });
  }
  return out;
}

/**
 * The proposal of one metric spec entry; throws a MetricError when it has none.
 * `podMetrics` lists the target's PodMetrics (the controller shares one list between metrics).
 */
export async function computeMetric(m: MetricSpec, specReplicas: number, pods: Pod[], podMetrics: () => Promise<KObject[]>, calc: CalcOptions): Promise<MetricProposal> {
  const type = m.type;
  if (type !== 'Resource' && type !== 'ContainerResource') {
    const field = ({ Pods: 'pods', Object: 'object', External: 'external' } as const)[type as 'Pods' | 'Object' | 'External'];
    if (!field) throw new MetricError(`unknown metric source type "${type}"`, 'InvalidMetricSourceType');
    const api = type === 'External' ? 'external.metrics.k8s.io' : 'custom.metrics.k8s.io';
    const reason = type === 'Pods' ? 'FailedGetPodsMetric' : type === 'Object' ? 'FailedGetObjectMetric' : 'FailedGetExternalMetric';
    const msg = `unable to get metric ${m[field]?.metric?.name}: no ${api} API is served by this cluster`;
    throw new MetricError(msg, reason, reason);
  }
  const src = (type === 'Resource' ? m.resource : m.containerResource) ?? { name: '', target: { type: '' } };
  const resource = src.name;
  const container = type === 'ContainerResource' ? m.containerResource?.container : undefined;
  const t = src.target ?? { type: '' };
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
  const statusOf = (current: MetricValueStatus): MetricStatus =>
    type === 'Resource' ? { type, resource: { name: resource, current } } : { type, containerResource: { name: resource, container: container!, current } };
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
