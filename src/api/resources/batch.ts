/**
 * batch/v1 resources: Job and CronJob. Defaults follow pkg/apis/batch/v1/defaults.go,
 * validation pkg/apis/batch/validation, strategies pkg/registry/batch/*, columns
 * pkg/printers/internalversion/printers.go.
 */
import { fieldErrors, type FieldError } from '../errors.js';
import { selectorFromLabelSelector, validateLabelSelector } from '../labels.js';
import { age, humanDuration } from '../meta.js';
import type { KObject, Obj, ResourceDef } from '../registry.js';
import { validateNonnegative } from '../validation.js';
import { defaultPodTemplateSpec, goLabelSelector, goStringMap, invalidGo, jsonEqual, validatePodTemplateSpec } from './pod-spec.js';
import { AGE_COLUMN, CONTAINERS_COLUMN, IMAGES_COLUMN, NAME_COLUMN, SELECTOR_COLUMN, containerCells, int, selectorString } from './workload-printers.js';

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const spec = (o: KObject): Obj => (isObj(o.spec) ? o.spec : (o.spec = {}));
const status = (o: KObject): Obj => (isObj(o.status) ? o.status : {});
const isSet = (v: unknown): boolean => v !== undefined && v !== null;

/** Labels the job controller's pods carry (batch/v1 types.go). */
export const JOB_LABELS = {
  legacyControllerUid: 'controller-uid',
  controllerUid: 'batch.kubernetes.io/controller-uid',
  legacyJobName: 'job-name',
  jobName: 'batch.kubernetes.io/job-name',
} as const;

// ---------------------------------------------------------------------------
// Jobs

/** SetDefaults_Job. */
export function defaultJob(obj: KObject): void {
  const s = spec(obj);
  // A non-parallel job may leave both unset; then both are 1.
  if (!isSet(s.completions) && !isSet(s.parallelism)) {
    s.completions = 1;
    s.parallelism = 1;
  }
  if (!isSet(s.parallelism)) s.parallelism = 1;
  if (!isSet(s.backoffLimit)) s.backoffLimit = isSet(s.backoffLimitPerIndex) ? 2147483647 : 6;
  s.completionMode ||= 'NonIndexed';
  if (!isSet(s.suspend)) s.suspend = false;
  if (!isSet(s.podReplacementPolicy)) s.podReplacementPolicy = isObj(s.podFailurePolicy) ? 'Failed' : 'TerminatingOrFailed';
  if (isObj(s.podFailurePolicy)) {
    for (const rule of Array.isArray(s.podFailurePolicy.rules) ? (s.podFailurePolicy.rules as Obj[]) : []) {
      for (const p of Array.isArray(rule.onPodConditions) ? (rule.onPodConditions as Obj[]) : []) p.status ||= 'True';
    }
  }
  if (!isObj(s.template)) s.template = {};
  defaultPodTemplateSpec(s.template);
  copyTemplateLabels(obj);
}

/** SetDefaults_Job: a Job without labels takes its template's labels. */
function copyTemplateLabels(obj: KObject): void {
  const labels = spec(obj).template?.metadata?.labels;
  const md = (obj.metadata ??= {});
  if (isObj(labels) && Object.keys(md.labels ?? {}).length === 0) md.labels = { ...labels };
}

/**
 * generateSelector (job strategy): label the template with the job's name and uid and
 * select on `batch.kubernetes.io/controller-uid`. Labels the user set are kept; a
 * conflict is then reported by validation.
 */
export function generateJobSelector(obj: KObject): void {
  const s = spec(obj);
  const name = obj.metadata?.name ?? '';
  const uid = obj.metadata?.uid ?? '';
  if (!isObj(s.template)) s.template = {};
  if (!isObj(s.template.metadata)) s.template.metadata = {};
  const labels: Obj = isObj(s.template.metadata.labels) ? s.template.metadata.labels : (s.template.metadata.labels = {});
  for (const k of [JOB_LABELS.legacyJobName, JOB_LABELS.jobName]) labels[k] ??= name;
  for (const k of [JOB_LABELS.legacyControllerUid, JOB_LABELS.controllerUid]) labels[k] ??= uid;
  if (!isObj(s.selector)) s.selector = {};
  if (!isObj(s.selector.matchLabels)) s.selector.matchLabels = {};
  s.selector.matchLabels[JOB_LABELS.controllerUid] ??= uid;
}

/** ValidateHasLabel. */
function hasLabel(labels: Obj | undefined, path: string, key: string, expected: string): FieldError[] {
  const p = `${path}.labels[${key}]`;
  if (!labels || !(key in labels)) return [fieldErrors.required(p, `must be '${expected}'`)];
  if (labels[key] !== expected) return [invalidGo(p, goStringMap(labels as Record<string, string>), `must be '${expected}'`)];
  return [];
}

/** validateGeneratedSelector: without manualSelector the selector must be ours. */
function validateGeneratedSelector(obj: KObject): FieldError[] {
  const s = spec(obj);
  if (s.manualSelector === true) return [];
  const labels = s.template?.metadata?.labels;
  if (!isObj(labels)) return [];
  const uid = obj.metadata?.uid ?? '';
  const name = obj.metadata?.name ?? '';
  const p = 'spec.template.metadata';
  const errs = [
    ...hasLabel(labels, p, JOB_LABELS.legacyControllerUid, uid),
    ...hasLabel(labels, p, JOB_LABELS.legacyJobName, name),
    ...hasLabel(labels, p, JOB_LABELS.controllerUid, uid),
    ...hasLabel(labels, p, JOB_LABELS.jobName, name),
  ];
  if (!isSet(s.selector)) return errs;
  try {
    if (!selectorFromLabelSelector(s.selector).matches({ [JOB_LABELS.controllerUid]: uid, [JOB_LABELS.jobName]: name })) {
      errs.push(invalidGo('spec.selector', goLabelSelector(s.selector), '`selector` not auto-generated'));
    }
  } catch {
    errs.push(invalidGo('spec.selector', goLabelSelector(s.selector), 'invalid label selector'));
  }
  return errs;
}

/** validateJobSpec: the part shared by Jobs and CronJob job templates. `path` is the JobSpec path. */
function validateJobSpecCommon(s: Obj, path: string): FieldError[] {
  const errs: FieldError[] = [];
  for (const f of ['parallelism', 'completions', 'activeDeadlineSeconds', 'backoffLimit', 'ttlSecondsAfterFinished', 'backoffLimitPerIndex', 'maxFailedIndexes']) {
    if (typeof s[f] === 'number') errs.push(...validateNonnegative(`${path}.${f}`, s[f]));
  }
  if (isSet(s.completionMode)) {
    if (s.completionMode !== 'NonIndexed' && s.completionMode !== 'Indexed') {
      errs.push(fieldErrors.notSupported(`${path}.completionMode`, s.completionMode, ['NonIndexed', 'Indexed']));
    }
    if (s.completionMode === 'Indexed' && !isSet(s.completions)) errs.push(fieldErrors.required(`${path}.completions`, 'when completion mode is Indexed'));
  }
  if (isSet(s.podReplacementPolicy) && !['TerminatingOrFailed', 'Failed'].includes(s.podReplacementPolicy)) {
    errs.push(fieldErrors.notSupported(`${path}.podReplacementPolicy`, s.podReplacementPolicy, ['Failed', 'TerminatingOrFailed']));
  }
  const tmpl: Obj = isObj(s.template) ? s.template : {};
  errs.push(...validatePodTemplateSpec(tmpl, `${path}.template`));
  const rp = tmpl.spec?.restartPolicy;
  if (rp !== 'OnFailure' && rp !== 'Never') errs.push(fieldErrors.notSupported(`${path}.template.spec.restartPolicy`, rp ?? '', ['OnFailure', 'Never']));
  else if (rp === 'OnFailure' && isObj(s.podFailurePolicy)) {
    errs.push(fieldErrors.invalid(`${path}.template.spec.restartPolicy`, rp, 'only "Never" is supported when podFailurePolicy is specified'));
  }
  return errs;
}

/** ValidateJob. */
export function validateJob(obj: KObject): FieldError[] {
  const s = spec(obj);
  const errs = validateGeneratedSelector(obj);
  errs.push(...validateJobSpecCommon(s, 'spec'));
  if (!isSet(s.selector)) errs.push(fieldErrors.required('spec.selector', ''));
  else errs.push(...validateLabelSelector(s.selector, 'spec.selector'));
  // Manual or generated, the selector must match the pods the job makes.
  try {
    const labels = s.template?.metadata?.labels;
    if (!selectorFromLabelSelector(s.selector ?? null).matches(labels)) {
      errs.push(invalidGo('spec.template.metadata.labels', goStringMap(labels), '`selector` does not match template `labels`'));
    }
  } catch {
    /* reported by validateLabelSelector */
  }
  return errs;
}

/**
 * ValidateJobUpdate: selector, completion mode and the template are immutable; a
 * suspended job that never started may change its scheduling directives (node
 * selector, affinity.nodeAffinity, tolerations, scheduling gates, template labels and
 * annotations), and Indexed jobs may scale completions together with parallelism.
 */
export function validateJobUpdate(obj: KObject, old: KObject): FieldError[] {
  const errs = validateJob(obj);
  const s = spec(obj);
  const o: Obj = isObj(old.spec) ? old.spec : {};
  if (!jsonEqual(s.completions, o.completions)) {
    if (s.completionMode === 'Indexed' && o.completionMode === 'Indexed') {
      if (s.completions !== s.parallelism) errs.push(fieldErrors.invalid('spec.completions', s.completions ?? null, 'can only be modified in tandem with spec.parallelism'));
    } else errs.push(fieldErrors.invalid('spec.completions', s.completions ?? null, 'field is immutable'));
  }
  if (!jsonEqual(s.selector, o.selector)) errs.push(invalidGo('spec.selector', goLabelSelector(s.selector), 'field is immutable'));
  const oldTmpl: Obj = JSON.parse(JSON.stringify(o.template ?? {})) as Obj;
  const newTmpl: Obj = isObj(s.template) ? s.template : {};
  if (o.suspend === true && !isSet(status(old).startTime)) {
    oldTmpl.metadata ??= {};
    oldTmpl.spec ??= {};
    const nm: Obj = newTmpl.metadata ?? {};
    const ns: Obj = newTmpl.spec ?? {};
    for (const [from, to, k] of [
      [nm, oldTmpl.metadata, 'labels'],
      [nm, oldTmpl.metadata, 'annotations'],
      [ns, oldTmpl.spec, 'nodeSelector'],
      [ns, oldTmpl.spec, 'tolerations'],
      [ns, oldTmpl.spec, 'schedulingGates'],
    ] as const) {
      if (from[k] === undefined) delete to[k];
      else to[k] = from[k];
    }
    // Affinity: only nodeAffinity may change; dropping affinity is fine if nothing else was in it.
    const oa: Obj | undefined = oldTmpl.spec.affinity;
    const na: Obj | undefined = ns.affinity;
    if (!na && oa) {
      delete oa.nodeAffinity;
      if (Object.keys(oa).length === 0) delete oldTmpl.spec.affinity;
    } else if (na && !oa) {
      oldTmpl.spec.affinity = isSet(na.nodeAffinity) ? { nodeAffinity: na.nodeAffinity } : {};
    } else if (na && oa) {
      if (na.nodeAffinity === undefined) delete oa.nodeAffinity;
      else oa.nodeAffinity = na.nodeAffinity;
    }
  }
  if (!jsonEqual(newTmpl, oldTmpl)) errs.push(fieldErrors.invalid('spec.template', newTmpl, 'field is immutable'));
  for (const f of ['completionMode', 'podFailurePolicy', 'backoffLimitPerIndex', 'managedBy', 'successPolicy']) {
    if (!jsonEqual(s[f], o[f])) errs.push(fieldErrors.invalid(`spec.${f}`, s[f] ?? null, 'field is immutable'));
  }
  return errs;
}

const conditionTrue = (obj: KObject, type: string): boolean =>
  (Array.isArray(status(obj).conditions) ? (status(obj).conditions as Obj[]) : []).some((c) => c.type === type && c.status === 'True');

/** The STATUS column of `kubectl get jobs`. */
export function jobStatus(obj: KObject): string {
  if (conditionTrue(obj, 'Complete')) return 'Complete';
  if (conditionTrue(obj, 'Failed')) return 'Failed';
  if (obj.metadata?.deletionTimestamp) return 'Terminating';
  if (conditionTrue(obj, 'Suspended')) return 'Suspended';
  if (conditionTrue(obj, 'FailureTarget')) return 'FailureTarget';
  if (conditionTrue(obj, 'SuccessCriteriaMet')) return 'SuccessCriteriaMet';
  return 'Running';
}

export const jobs: ResourceDef = {
  group: 'batch',
  versions: ['v1'],
  kind: 'Job',
  plural: 'jobs',
  singular: 'job',
  namespaced: true,
  categories: ['all'],
  subresources: ['status'],
  strategy: {
    tracksGeneration: true,
    hasStatus: true,
    defaults: defaultJob,
    prepareForCreate(obj) {
      obj.status = {};
      if (spec(obj).manualSelector !== true) generateJobSelector(obj);
      // Defaulting copies template labels to the job; upstream sees the generated ones
      // when the object is next decoded, so the stored job carries them too.
      copyTemplateLabels(obj);
    },
    validate: validateJob,
    validateUpdate: validateJobUpdate,
    selectableFields: {
      'status.successful': (obj) => String(int(status(obj).succeeded)),
    },
  },
  table: {
    columns: [
      NAME_COLUMN,
      { name: 'Status', type: 'string', description: 'Status of the job.' },
      { name: 'Completions', type: 'string', description: 'The number of pods which reached phase Succeeded. The value increases monotonically for a given spec. However, it may decrease in reaction to scale down of elastic indexed jobs.' },
      { name: 'Duration', type: 'string', description: 'Time required to complete the job.' },
      AGE_COLUMN,
      CONTAINERS_COLUMN,
      IMAGES_COLUMN,
      { ...SELECTOR_COLUMN, description: 'A label query over pods that should match the pod count. Normally, the system sets this field for you. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors' },
    ],
    cells(obj, now) {
      const s = spec(obj);
      const st = status(obj);
      let completions: string;
      if (isSet(s.completions)) completions = `${int(st.succeeded)}/${s.completions}`;
      else {
        const parallelism = int(s.parallelism);
        completions = parallelism > 1 ? `${int(st.succeeded)}/1 of ${parallelism}` : `${int(st.succeeded)}/1`;
      }
      let duration = '';
      if (st.startTime) {
        const end = st.completionTime ? Date.parse(st.completionTime) : now;
        duration = humanDuration(end - Date.parse(st.startTime));
      }
      const [containers, images] = containerCells(s.template?.spec?.containers);
      return [obj.metadata?.name, jobStatus(obj), completions, duration, age(obj, now), containers, images, selectorString(s.selector)];
    },
  },
};

// ---------------------------------------------------------------------------
// CronJobs

/** SetDefaults_CronJob; the job template's pod spec gets the pod defaults (not Job defaults). */
export function defaultCronJob(obj: KObject): void {
  const s = spec(obj);
  s.concurrencyPolicy ||= 'Allow';
  if (!isSet(s.suspend)) s.suspend = false;
  if (!isSet(s.successfulJobsHistoryLimit)) s.successfulJobsHistoryLimit = 3;
  if (!isSet(s.failedJobsHistoryLimit)) s.failedJobsHistoryLimit = 1;
  if (!isObj(s.jobTemplate)) s.jobTemplate = {};
  if (!isObj(s.jobTemplate.spec)) s.jobTemplate.spec = {};
  if (!isObj(s.jobTemplate.spec.template)) s.jobTemplate.spec.template = {};
  defaultPodTemplateSpec(s.jobTemplate.spec.template);
}

interface CronBounds {
  min: number;
  max: number;
  names?: Record<string, number>;
}

const MONTHS: Record<string, number> = { jan: 1, feb: 2, mar: 3, apr: 4, may: 5, jun: 6, jul: 7, aug: 8, sep: 9, oct: 10, nov: 11, dec: 12 };
const DAYS: Record<string, number> = { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 };
const CRON_FIELDS: CronBounds[] = [
  { min: 0, max: 59 },
  { min: 0, max: 23 },
  { min: 1, max: 31 },
  { min: 1, max: 12, names: MONTHS },
  { min: 0, max: 6, names: DAYS },
];
const DESCRIPTORS = ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly'];

function cronInt(expr: string): number {
  if (!/^[+-]?[0-9]+$/.test(expr)) throw new Error(`failed to parse int from ${expr}: strconv.Atoi: parsing ${JSON.stringify(expr)}: invalid syntax`);
  const n = Number(expr);
  if (n < 0) throw new Error(`negative number (${n}) not allowed: ${expr}`);
  return n;
}

function cronRange(expr: string, b: CronBounds): void {
  const rangeAndStep = expr.split('/');
  const lowAndHigh = rangeAndStep[0].split('-');
  const single = lowAndHigh.length === 1;
  const named = (s: string): number => (b.names && s.toLowerCase() in b.names ? b.names[s.toLowerCase()] : cronInt(s));
  let start: number;
  let end: number;
  if (lowAndHigh[0] === '*' || lowAndHigh[0] === '?') {
    start = b.min;
    end = b.max;
  } else {
    start = named(lowAndHigh[0]);
    if (lowAndHigh.length === 1) end = start;
    else if (lowAndHigh.length === 2) end = named(lowAndHigh[1]);
    else throw new Error(`too many hyphens: ${expr}`);
  }
  let step = 1;
  if (rangeAndStep.length === 2) {
    step = cronInt(rangeAndStep[1]);
    if (single) end = b.max;
  } else if (rangeAndStep.length > 2) throw new Error(`too many slashes: ${expr}`);
  if (start < b.min) throw new Error(`beginning of range (${start}) below minimum (${b.min}): ${expr}`);
  if (end > b.max) throw new Error(`end of range (${end}) above maximum (${b.max}): ${expr}`);
  if (start > end) throw new Error(`beginning of range (${start}) beyond end of range (${end}): ${expr}`);
  if (step === 0) throw new Error(`step of range should be a positive number: ${expr}`);
}

/** The error robfig/cron's ParseStandard returns for `schedule`, or undefined when it parses. */
export function cronScheduleError(schedule: string): string | undefined {
  let s = schedule.trim();
  // ParseStandard strips a leading TZ=/CRON_TZ= zone before parsing.
  const tz = /^(?:CRON_)?TZ=(\S*)\s*/.exec(s);
  if (tz) {
    if (!validTimeZone(tz[1])) return `provided bad location ${tz[1]}: unknown time zone ${tz[1]}`;
    s = s.slice(tz[0].length);
  }
  if (s.startsWith('@')) {
    if (DESCRIPTORS.includes(s)) return undefined;
    if (s.startsWith('@every ')) {
      const d = s.slice('@every '.length);
      return /^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$/.test(d) ? undefined : `failed to parse duration ${s}: time: invalid duration ${JSON.stringify(d)}`;
    }
    return `unrecognized descriptor: ${s}`;
  }
  const fields = s.split(/\s+/).filter(Boolean);
  if (fields.length !== 5) return `expected exactly 5 fields, found ${fields.length}: [${fields.join(' ')}]`;
  try {
    fields.forEach((f, i) => {
      for (const part of f.split(',')) cronRange(part, CRON_FIELDS[i]);
    });
  } catch (e) {
    return (e as Error).message;
  }
  return undefined;
}

function validTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return tz.length > 0;
  } catch {
    return false;
  }
}

/** validateCronJobSpec; `old` is the previous spec on update. */
function validateCronJobSpec(s: Obj, old: Obj | undefined): FieldError[] {
  const errs: FieldError[] = [];
  if (!s.schedule) errs.push(fieldErrors.required('spec.schedule', ''));
  else {
    const sched = String(s.schedule);
    const err = cronScheduleError(sched);
    if (err) errs.push(fieldErrors.invalid('spec.schedule', sched, err));
    // TZ in the schedule predates spec.timeZone; only objects that already had it keep it.
    const allowTZ = old !== undefined && String(old.schedule ?? '').includes('TZ');
    if (allowTZ && sched.includes('TZ') && isSet(s.timeZone)) errs.push(fieldErrors.invalid('spec.schedule', sched, 'cannot use both timeZone field and TZ or CRON_TZ in schedule'));
    else if (!allowTZ && sched.includes('TZ')) errs.push(fieldErrors.invalid('spec.schedule', sched, 'cannot use TZ or CRON_TZ in schedule, use timeZone field instead'));
  }
  if (typeof s.startingDeadlineSeconds === 'number') errs.push(...validateNonnegative('spec.startingDeadlineSeconds', s.startingDeadlineSeconds));
  if (isSet(s.timeZone) && (old === undefined || old.timeZone !== s.timeZone)) {
    const tz = String(s.timeZone);
    if (tz.toLowerCase() === 'local') errs.push(fieldErrors.invalid('spec.timeZone', tz, 'timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones'));
    else if (!validTimeZone(tz)) errs.push(fieldErrors.invalid('spec.timeZone', tz, tz ? `unknown time zone ${tz}` : 'unknown time zone'));
  }
  switch (s.concurrencyPolicy ?? '') {
    case 'Allow':
    case 'Forbid':
    case 'Replace':
      break;
    case '':
      errs.push(fieldErrors.required('spec.concurrencyPolicy', ''));
      break;
    default:
      errs.push(fieldErrors.notSupported('spec.concurrencyPolicy', s.concurrencyPolicy, ['Allow', 'Forbid', 'Replace']));
  }
  // ValidateJobTemplateSpec: the selector is always generated for the jobs.
  const js: Obj = isObj(s.jobTemplate) && isObj(s.jobTemplate.spec) ? s.jobTemplate.spec : {};
  errs.push(...validateJobSpecCommon(js, 'spec.jobTemplate.spec'));
  if (isSet(js.selector)) errs.push(invalidGo('spec.jobTemplate.spec.selector', goLabelSelector(js.selector), '`selector` will be auto-generated'));
  if (js.manualSelector === true) errs.push(fieldErrors.notSupported('spec.jobTemplate.spec.manualSelector', true, ['nil', 'false']));
  for (const f of ['successfulJobsHistoryLimit', 'failedJobsHistoryLimit']) {
    if (typeof s[f] === 'number') errs.push(...validateNonnegative(`spec.${f}`, s[f]));
  }
  return errs;
}

/** ValidateCronJobCreate: names leave room for the job suffix (52 characters). */
export function validateCronJob(obj: KObject): FieldError[] {
  const errs: FieldError[] = [];
  const name = obj.metadata?.name ?? '';
  if (name.length > 52) errs.push(fieldErrors.invalid('metadata.name', name, 'must be no more than 52 characters'));
  errs.push(...validateCronJobSpec(spec(obj), undefined));
  return errs;
}

export const cronjobs: ResourceDef = {
  group: 'batch',
  versions: ['v1'],
  kind: 'CronJob',
  plural: 'cronjobs',
  singular: 'cronjob',
  namespaced: true,
  shortNames: ['cj'],
  categories: ['all'],
  subresources: ['status'],
  strategy: {
    tracksGeneration: true,
    hasStatus: true,
    defaults: defaultCronJob,
    prepareForCreate(obj) {
      obj.status = {};
    },
    validate: validateCronJob,
    validateUpdate: (obj, old) => validateCronJobSpec(spec(obj), isObj(old.spec) ? old.spec : {}),
  },
  table: {
    columns: [
      NAME_COLUMN,
      { name: 'Schedule', type: 'string', description: 'The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron.' },
      { name: 'Timezone', type: 'string', description: 'The time zone name for the given schedule, see https://en.wikipedia.org/wiki/List_of_tz_database_time_zones. If not specified, this will default to the time zone of the kube-controller-manager process. The set of valid time zone names and the time zone offset is loaded from the system-wide time zone database by the API server during CronJob validation and the controller manager during execution. If no system-wide time zone database can be found a bundled version of the database is used instead. If the time zone name becomes invalid during the lifetime of a CronJob or due to a change in host configuration, the controller will stop creating new new Jobs and will create a system event with the reason UnknownTimeZone. More information can be found in https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/#time-zones' },
      { name: 'Suspend', type: 'boolean', description: 'This flag tells the controller to suspend subsequent executions, it does not apply to already started executions.  Defaults to false.' },
      { name: 'Active', type: 'integer', description: 'A list of pointers to currently running jobs.' },
      { name: 'Last Schedule', type: 'string', description: 'Information when was the last time the job was successfully scheduled.' },
      AGE_COLUMN,
      CONTAINERS_COLUMN,
      IMAGES_COLUMN,
      { ...SELECTOR_COLUMN, description: 'A label query over pods that should match the pod count. Normally, the system sets this field for you. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors' },
    ],
    cells(obj, now) {
      const s = spec(obj);
      const st = status(obj);
      const last = st.lastScheduleTime ? humanDuration(now - Date.parse(st.lastScheduleTime)) : '<none>';
      const suspend = isSet(s.suspend) ? (s.suspend ? 'True' : 'False') : '<unset>';
      const js: Obj = s.jobTemplate?.spec ?? {};
      const [containers, images] = containerCells(js.template?.spec?.containers);
      return [
        obj.metadata?.name,
        s.schedule ?? '',
        s.timeZone ?? '<none>',
        suspend,
        Array.isArray(st.active) ? st.active.length : 0,
        last,
        age(obj, now),
        containers,
        images,
        selectorString(js.selector),
      ];
    },
  },
};

/** All batch/v1 resources, in discovery order. */
export const batchResources: ResourceDef[] = [cronjobs, jobs];
