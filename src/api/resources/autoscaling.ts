/**
 * autoscaling HorizontalPodAutoscaler: stored as autoscaling/v2, also served as v1
 * (kubectl autoscale POSTs v1, kubectl get reads v2). Defaults follow
 * pkg/apis/autoscaling/v2/defaults.go, validation pkg/apis/autoscaling/validation,
 * the v1 conversion pkg/apis/autoscaling/v1/conversion.go, the table printers.go.
 */
import { fieldErrors, type FieldError } from '../errors.js';
import { age } from '../meta.js';
import { Quantity } from '../quantity.js';
import type { KObject, Obj, ResourceDef, VersionConversion } from '../registry.js';
import { pathSegmentNameMessages } from '../validation.js';
import { AGE_COLUMN, NAME_COLUMN } from './workload-printers.js';

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isSet = (v: unknown): boolean => v !== undefined && v !== null;
const list = (v: unknown): Obj[] => (Array.isArray(v) ? (v as Obj[]) : []);
const spec = (o: KObject): Obj => (isObj(o.spec) ? o.spec : (o.spec = {}));
const status = (o: KObject): Obj => (isObj(o.status) ? o.status : {});

/** Annotations v1 keeps the v2-only parts in, so a v1 round trip loses nothing. */
export const HPA_ANNOTATIONS = {
  metrics: 'autoscaling.alpha.kubernetes.io/metrics',
  currentMetrics: 'autoscaling.alpha.kubernetes.io/current-metrics',
  conditions: 'autoscaling.alpha.kubernetes.io/conditions',
  behavior: 'autoscaling.alpha.kubernetes.io/behavior',
} as const;

/** DefaultCPUUtilization: the target when no metric is given. */
export const DEFAULT_CPU_UTILIZATION = 80;

// ---------------------------------------------------------------------------
// Defaults

function scalingRules(from: unknown, defaults: Obj): Obj {
  if (!isObj(from)) return defaults;
  const out: Obj = { ...defaults };
  for (const k of ['selectPolicy', 'stabilizationWindowSeconds', 'policies', 'tolerance']) if (isSet(from[k])) out[k] = from[k];
  return out;
}

/** SetDefaults_HorizontalPodAutoscaler (v2): minReplicas 1, a cpu 80% metric, behavior rules. */
export function defaultHPA(obj: KObject): void {
  const s = spec(obj);
  if (!isSet(s.minReplicas)) s.minReplicas = 1;
  if (list(s.metrics).length === 0) {
    s.metrics = [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: DEFAULT_CPU_UTILIZATION } } }];
  }
  if (isObj(s.behavior)) {
    s.behavior.scaleUp = scalingRules(s.behavior.scaleUp, {
      stabilizationWindowSeconds: 0,
      selectPolicy: 'Max',
      policies: [
        { type: 'Pods', value: 4, periodSeconds: 15 },
        { type: 'Percent', value: 100, periodSeconds: 15 },
      ],
    });
    // Scale-down stabilization stays unset: the controller's flag supplies it.
    s.behavior.scaleDown = scalingRules(s.behavior.scaleDown, { selectPolicy: 'Max', policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }] });
  }
}

// ---------------------------------------------------------------------------
// Validation

const METRIC_SOURCES: Record<string, string> = {
  Object: 'object',
  Pods: 'pods',
  External: 'external',
  Resource: 'resource',
  ContainerResource: 'containerResource',
};

function positiveQuantity(v: unknown, path: string): FieldError[] {
  if (!isSet(v)) return [];
  try {
    if (Quantity.parse(v as string | number).sign() === 1) return [];
  } catch (e) {
    return [fieldErrors.invalid(path, v, (e as Error).message)];
  }
  return [fieldErrors.invalid(path, v, 'must be positive')];
}

/** validateMetricTarget. */
function validateTarget(t: unknown, path: string): FieldError[] {
  const mt: Obj = isObj(t) ? t : {};
  const errs: FieldError[] = [];
  if (!mt.type) errs.push(fieldErrors.required(`${path}.type`, 'must specify a metric target type'));
  if (!['Utilization', 'Value', 'AverageValue'].includes(mt.type)) errs.push(fieldErrors.invalid(`${path}.type`, mt.type ?? '', 'must be either Utilization, Value, or AverageValue'));
  errs.push(...positiveQuantity(mt.value, `${path}.value`));
  errs.push(...positiveQuantity(mt.averageValue, `${path}.averageValue`));
  if (typeof mt.averageUtilization === 'number' && mt.averageUtilization < 1) {
    errs.push(fieldErrors.invalid(`${path}.averageUtilization`, mt.averageUtilization, 'must be greater than 0'));
  }
  return errs;
}

function validateMetricSource(type: string, src: Obj, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (type === 'Resource' || type === 'ContainerResource') {
    if (!src.name) errs.push(fieldErrors.required(`${path}.name`, 'must specify a resource name'));
    if (type === 'ContainerResource' && !src.container) errs.push(fieldErrors.required(`${path}.container`, 'must specify a container'));
    errs.push(...validateTarget(src.target, `${path}.target`));
    const t: Obj = isObj(src.target) ? src.target : {};
    if (!isSet(t.averageUtilization) && !isSet(t.averageValue)) {
      errs.push(fieldErrors.required(`${path}.target.averageUtilization`, 'must set either a target raw value or a target utilization'));
    }
    if (isSet(t.averageUtilization) && isSet(t.averageValue)) {
      errs.push(fieldErrors.forbidden(`${path}.target.averageValue`, 'may not set both a target raw value and a target utilization'));
    }
    return errs;
  }
  if (!isObj(src.metric) || !src.metric.name) errs.push(fieldErrors.required(`${path}.metric.name`, 'must specify a metric name'));
  errs.push(...validateTarget(src.target, `${path}.target`));
  if (type === 'Object') {
    const ref: Obj = isObj(src.describedObject) ? src.describedObject : {};
    if (!ref.kind) errs.push(fieldErrors.required(`${path}.describedObject.kind`, ''));
    if (!ref.name) errs.push(fieldErrors.required(`${path}.describedObject.name`, ''));
  }
  return errs;
}

/** validateMetrics / validateMetricSpec. */
function validateMetrics(metrics: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  list(metrics).forEach((m, i) => {
    const p = `${path}[${i}]`;
    if (!m.type) errs.push(fieldErrors.required(`${p}.type`, 'must specify a metric source type'));
    const field = METRIC_SOURCES[m.type];
    if (!field) {
      errs.push(fieldErrors.notSupported(`${p}.type`, m.type ?? '', Object.keys(METRIC_SOURCES)));
      return;
    }
    if (!isObj(m[field])) errs.push(fieldErrors.required(`${p}.${field}`, 'must populate information for the given metric source'));
    else errs.push(...validateMetricSource(m.type, m[field], `${p}.${field}`));
    for (const other of Object.values(METRIC_SOURCES)) {
      if (other !== field && isObj(m[other])) errs.push(fieldErrors.forbidden(`${p}.${other}`, 'must populate the given metric source only'));
    }
  });
  return errs;
}

/** ValidateHorizontalPodAutoscaler (spec), on the v2 shape. */
export function validateHPA(obj: KObject): FieldError[] {
  const s = spec(obj);
  const errs: FieldError[] = [];
  if (typeof s.minReplicas === 'number' && s.minReplicas < 1) errs.push(fieldErrors.invalid('spec.minReplicas', s.minReplicas, 'must be greater than or equal to 1'));
  const max = typeof s.maxReplicas === 'number' ? s.maxReplicas : 0;
  if (max < 1) errs.push(fieldErrors.invalid('spec.maxReplicas', max, 'must be greater than 0'));
  if (typeof s.minReplicas === 'number' && max < s.minReplicas) errs.push(fieldErrors.invalid('spec.maxReplicas', max, 'must be greater than or equal to `minReplicas`'));
  const ref: Obj = isObj(s.scaleTargetRef) ? s.scaleTargetRef : {};
  for (const f of ['kind', 'name']) {
    const p = `spec.scaleTargetRef.${f}`;
    if (!ref[f]) errs.push(fieldErrors.required(p, ''));
    else for (const m of pathSegmentNameMessages(String(ref[f]), false)) errs.push(fieldErrors.invalid(p, ref[f], m));
  }
  errs.push(...validateMetrics(s.metrics, 'spec.metrics'));
  if (isObj(s.behavior)) {
    for (const dir of ['scaleUp', 'scaleDown']) {
      const r = s.behavior[dir];
      if (!isObj(r)) continue;
      const p = `spec.behavior.${dir}`;
      if (typeof r.stabilizationWindowSeconds === 'number' && (r.stabilizationWindowSeconds < 0 || r.stabilizationWindowSeconds > 3600)) {
        errs.push(fieldErrors.invalid(`${p}.stabilizationWindowSeconds`, r.stabilizationWindowSeconds, r.stabilizationWindowSeconds < 0 ? 'must be greater than or equal to zero' : 'must be less than or equal to 3600'));
      }
      if (isSet(r.selectPolicy) && !['Max', 'Min', 'Disabled'].includes(r.selectPolicy)) {
        errs.push(fieldErrors.notSupported(`${p}.selectPolicy`, r.selectPolicy, ['Disabled', 'Max', 'Min']));
      }
      list(r.policies).forEach((pol, i) => {
        const pp = `${p}.policies[${i}]`;
        if (!['Pods', 'Percent'].includes(pol.type)) errs.push(fieldErrors.notSupported(`${pp}.type`, pol.type ?? '', ['Percent', 'Pods']));
        if (!(typeof pol.value === 'number' && pol.value > 0)) errs.push(fieldErrors.invalid(`${pp}.value`, pol.value ?? 0, 'must be greater than zero'));
        if (!(typeof pol.periodSeconds === 'number' && pol.periodSeconds > 0)) errs.push(fieldErrors.invalid(`${pp}.periodSeconds`, pol.periodSeconds ?? 0, 'must be greater than zero'));
        else if (pol.periodSeconds > 1800) errs.push(fieldErrors.invalid(`${pp}.periodSeconds`, pol.periodSeconds, 'must be less than or equal to 1800'));
      });
    }
  }
  return errs;
}

// ---------------------------------------------------------------------------
// v1 <-> v2 conversion

const isCpuUtilization = (m: Obj): boolean =>
  m.type === 'Resource' && isObj(m.resource) && m.resource.name === 'cpu' && isObj(m.resource.target) && isSet(m.resource.target.averageUtilization);

function takeAnnotation(annotations: Obj | undefined, key: string): unknown[] | Obj | undefined {
  if (!annotations || typeof annotations[key] !== 'string') return undefined;
  const raw = annotations[key] as string;
  delete annotations[key];
  try {
    return JSON.parse(raw) as unknown[] | Obj;
  } catch {
    return undefined;
  }
}

/** autoscaling/v2 (storage) → autoscaling/v1. */
export function hpaToV1(obj: KObject): KObject {
  const s = spec(obj);
  const st = status(obj);
  const md: Obj = JSON.parse(JSON.stringify(obj.metadata ?? {})) as Obj;
  const annotations: Obj = { ...(md.annotations ?? {}) };
  const v1spec: Obj = { scaleTargetRef: s.scaleTargetRef, minReplicas: s.minReplicas, maxReplicas: s.maxReplicas };
  const others: Obj[] = [];
  for (const m of list(s.metrics)) {
    if (isCpuUtilization(m) && !isSet(v1spec.targetCPUUtilizationPercentage)) v1spec.targetCPUUtilizationPercentage = m.resource.target.averageUtilization;
    else others.push(m);
  }
  if (others.length) annotations[HPA_ANNOTATIONS.metrics] = JSON.stringify(others);
  if (isObj(s.behavior)) annotations[HPA_ANNOTATIONS.behavior] = JSON.stringify(s.behavior);
  const v1status: Obj = {};
  for (const k of ['observedGeneration', 'lastScaleTime', 'currentReplicas', 'desiredReplicas']) if (isSet(st[k])) v1status[k] = st[k];
  const otherCurrent: Obj[] = [];
  for (const m of list(st.currentMetrics)) {
    if (m.type === 'Resource' && m.resource?.name === 'cpu' && isSet(m.resource?.current?.averageUtilization) && !isSet(v1status.currentCPUUtilizationPercentage)) {
      v1status.currentCPUUtilizationPercentage = m.resource.current.averageUtilization;
    } else otherCurrent.push(m);
  }
  if (otherCurrent.length) annotations[HPA_ANNOTATIONS.currentMetrics] = JSON.stringify(otherCurrent);
  if (list(st.conditions).length) annotations[HPA_ANNOTATIONS.conditions] = JSON.stringify(st.conditions);
  if (Object.keys(annotations).length) md.annotations = annotations;
  for (const k of Object.keys(v1spec)) if (v1spec[k] === undefined) delete v1spec[k];
  return { apiVersion: 'autoscaling/v1', kind: 'HorizontalPodAutoscaler', metadata: md, spec: v1spec, status: v1status };
}

/** autoscaling/v1 → autoscaling/v2 (storage): the inverse of {@link hpaToV1}. */
export function hpaFromV1(obj: KObject): KObject {
  const s = spec(obj);
  const st = status(obj);
  const md: Obj = JSON.parse(JSON.stringify(obj.metadata ?? {})) as Obj;
  const annotations: Obj | undefined = md.annotations;
  const others = takeAnnotation(annotations, HPA_ANNOTATIONS.metrics);
  const behavior = takeAnnotation(annotations, HPA_ANNOTATIONS.behavior);
  const currentOthers = takeAnnotation(annotations, HPA_ANNOTATIONS.currentMetrics);
  const conditions = takeAnnotation(annotations, HPA_ANNOTATIONS.conditions);
  if (annotations && Object.keys(annotations).length === 0) delete md.annotations;

  // Upstream puts the annotation metrics first and the cpu target last.
  const metrics: Obj[] = Array.isArray(others) ? [...(others as Obj[])] : [];
  if (isSet(s.targetCPUUtilizationPercentage)) {
    metrics.push({ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: s.targetCPUUtilizationPercentage } } });
  }
  const v2spec: Obj = { scaleTargetRef: s.scaleTargetRef, minReplicas: s.minReplicas, maxReplicas: s.maxReplicas };
  if (metrics.length) v2spec.metrics = metrics;
  if (isObj(behavior)) v2spec.behavior = behavior;
  for (const k of Object.keys(v2spec)) if (v2spec[k] === undefined) delete v2spec[k];

  const v2status: Obj = {};
  for (const k of ['observedGeneration', 'lastScaleTime', 'currentReplicas', 'desiredReplicas']) if (isSet(st[k])) v2status[k] = st[k];
  const current: Obj[] = Array.isArray(currentOthers) ? [...(currentOthers as Obj[])] : [];
  if (isSet(st.currentCPUUtilizationPercentage)) {
    current.push({ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: st.currentCPUUtilizationPercentage } } });
  }
  if (current.length) v2status.currentMetrics = current;
  if (Array.isArray(conditions)) v2status.conditions = conditions;
  // desiredReplicas is required in both versions' status.
  if (Object.keys(v2status).length && !isSet(v2status.desiredReplicas)) v2status.desiredReplicas = 0;
  return { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: md, spec: v2spec, status: v2status };
}

export const hpaV1Conversion: VersionConversion = { fromStorage: hpaToV1, toStorage: hpaFromV1 };

// ---------------------------------------------------------------------------
// Table

function quantityString(v: unknown): string {
  try {
    return Quantity.parse(v as string | number).toString();
  } catch {
    return String(v);
  }
}

/** formatHPAMetrics: "cpu: 12%/80%, memory: <unknown>/500Mi + 1 more...". */
export function formatHPAMetrics(specs: unknown, statuses: unknown): string {
  const sp = list(specs);
  const cur = list(statuses);
  if (sp.length === 0) return '<none>';
  const out: string[] = [];
  sp.forEach((m, i) => {
    const c: Obj | undefined = cur[i];
    switch (m.type) {
      case 'External':
      case 'Object': {
        const key = m.type === 'External' ? 'external' : 'object';
        const t: Obj = m[key]?.target ?? {};
        const cs: Obj | undefined = c?.[key]?.current;
        if (isSet(t.averageValue)) out.push(`${cs && isSet(cs.averageValue) ? quantityString(cs.averageValue) : '<unknown>'}/${quantityString(t.averageValue)} (avg)`);
        else out.push(`${cs && isSet(cs.value) ? quantityString(cs.value) : '<unknown>'}/${quantityString(t.value)}`);
        break;
      }
      case 'Pods': {
        const cs: Obj | undefined = c?.pods?.current;
        out.push(`${cs && isSet(cs.averageValue) ? quantityString(cs.averageValue) : '<unknown>'}/${quantityString(m.pods?.target?.averageValue)}`);
        break;
      }
      case 'Resource':
      case 'ContainerResource': {
        const key = m.type === 'Resource' ? 'resource' : 'containerResource';
        const src: Obj = m[key] ?? {};
        const t: Obj = src.target ?? {};
        const cs: Obj | undefined = c?.[key]?.current;
        if (isSet(t.averageValue)) {
          out.push(`${src.name}: ${cs && isSet(cs.averageValue) ? quantityString(cs.averageValue) : '<unknown>'}/${quantityString(t.averageValue)}`);
        } else {
          const current = cs && isSet(cs.averageUtilization) ? `${cs.averageUtilization}%` : '<unknown>';
          const target = isSet(t.averageUtilization) ? `${t.averageUtilization}%` : '<auto>';
          out.push(`${src.name}: ${current}/${target}`);
        }
        break;
      }
      default:
        out.push('<unknown type>');
    }
  });
  if (out.length > 2) return `${out.slice(0, 2).join(', ')} + ${out.length - 2} more...`;
  return out.join(', ');
}

export const horizontalpodautoscalers: ResourceDef = {
  group: 'autoscaling',
  versions: ['v2', 'v1'],
  kind: 'HorizontalPodAutoscaler',
  plural: 'horizontalpodautoscalers',
  singular: 'horizontalpodautoscaler',
  namespaced: true,
  shortNames: ['hpa'],
  categories: ['all'],
  subresources: ['status'],
  conversions: { v1: hpaV1Conversion },
  strategy: {
    tracksGeneration: true,
    hasStatus: true,
    defaults: defaultHPA,
    prepareForCreate(obj) {
      obj.status = {};
    },
    validate: validateHPA,
    validateUpdate: (obj) => validateHPA(obj),
  },
  table: {
    columns: [
      NAME_COLUMN,
      { name: 'Reference', type: 'string', description: 'reference to scaled resource; horizontal pod autoscaler will learn the current resource consumption and will set the desired number of pods by using its Scale subresource.' },
      { name: 'Targets', type: 'string', description: 'metrics contains the specifications for which to use to calculate the desired replica count (the maximum replica count across all metrics will be used).' },
      { name: 'MinPods', type: 'string', description: 'minReplicas is the lower limit for the number of replicas to which the autoscaler can scale down.' },
      { name: 'MaxPods', type: 'integer', description: 'maxReplicas is the upper limit for the number of replicas to which the autoscaler can scale up.' },
      { name: 'Replicas', type: 'integer', description: 'currentReplicas is current number of replicas of pods managed by this autoscaler, as last seen by the autoscaler.' },
      AGE_COLUMN,
    ],
    cells(obj, now) {
      const s = spec(obj);
      const st = status(obj);
      const ref: Obj = s.scaleTargetRef ?? {};
      return [
        obj.metadata?.name,
        `${ref.kind ?? ''}/${ref.name ?? ''}`,
        formatHPAMetrics(s.metrics, st.currentMetrics),
        isSet(s.minReplicas) ? String(s.minReplicas) : '<unset>',
        typeof s.maxReplicas === 'number' ? s.maxReplicas : 0,
        typeof st.currentReplicas === 'number' ? st.currentReplicas : 0,
        age(obj, now),
      ];
    },
  },
};

/** All autoscaling resources. */
export const autoscalingResources: ResourceDef[] = [horizontalpodautoscalers];
