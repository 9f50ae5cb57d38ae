/**
 * apps/v1 resources: Deployment, ReplicaSet, DaemonSet, StatefulSet, ControllerRevision.
 * Defaults follow pkg/apis/apps/v1/defaults.go, validation pkg/apis/apps/validation,
 * strategies pkg/registry/apps/*, columns pkg/printers/internalversion/printers.go.
 */
import { fieldErrors, type FieldError } from '../errors.js';
import { selectorFromLabelSelector, validateLabelSelector } from '../labels.js';
import { age } from '../meta.js';
import { parseApiVersion, type KObject, type Obj, type ResourceDef, type ScaleSpec, type TableColumn } from '../registry.js';
import { percentMessages, validateNonnegative, validateNonnegativeInt32 } from '../validation.js';
import {
  defaultPersistentVolumeClaim,
  defaultPodTemplateSpec,
  goIntOrString,
  goLabelSelector,
  goStringMap,
  invalidGo,
  jsonEqual,
  validatePodTemplateSpec,
} from './pod-spec.js';
import {
  AGE_COLUMN,
  CONTAINERS_COLUMN,
  IMAGES_COLUMN,
  NAME_COLUMN,
  SELECTOR_COLUMN,
  containerCells,
  formatLabels,
  formatSelector,
  int,
  selectorString,
} from './workload-printers.js';

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const spec = (o: KObject): Obj => (isObj(o.spec) ? o.spec : (o.spec = {}));
const status = (o: KObject): Obj => (isObj(o.status) ? o.status : {});
const tmplSpec = (o: KObject): Obj => (isObj(o.spec) && isObj((o.spec as Obj).template) ? ((o.spec as Obj).template.spec ?? {}) : {});

/** The scale subresource of Deployments, ReplicaSets and StatefulSets. */
export const REPLICAS_SCALE: ScaleSpec = {
  specReplicasPath: ['spec', 'replicas'],
  statusReplicasPath: ['status', 'replicas'],
  labelSelectorPath: ['spec', 'selector'],
};

// ---------------------------------------------------------------------------
// Shared validation

/** ValidatePositiveIntOrPercent. */
export function validatePositiveIntOrPercent(v: unknown, path: string): FieldError[] {
  if (typeof v === 'string') return percentMessages(v).map((m) => invalidGo(path, goIntOrString(v), m));
  if (typeof v === 'number') return validateNonnegative(path, v);
  if (v === undefined || v === null) return [];
  return [invalidGo(path, goIntOrString(v), "must be an integer or percentage (e.g '5%')")];
}

/** getIntOrPercentValue: the number of a percent string, the int itself, 0 for anything else. */
export function intOrPercentValue(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    const m = /^([0-9]+)%$/.exec(v);
    if (m) return Number(m[1]);
    return /^-?[0-9]+$/.test(v) ? Number(v) : 0;
  }
  return 0;
}

/** IsNotMoreThan100Percent. */
export function notMoreThan100Percent(v: unknown, path: string): FieldError[] {
  if (typeof v !== 'string' || !/^[0-9]+%$/.test(v) || intOrPercentValue(v) <= 100) return [];
  return [invalidGo(path, goIntOrString(v), 'must not be greater than 100%')];
}

/**
 * The selector + template checks shared by the controllers' specs: the selector is
 * required, valid and non-empty, the template labels must match it, the template is a
 * valid pod template whose restartPolicy is Always and without activeDeadlineSeconds.
 */
function validateSelectorAndTemplate(s: Obj, what: 'deployment' | 'daemonset' | 'statefulset', kind: string, extraVolumes: string[] = []): FieldError[] {
  const errs: FieldError[] = [];
  const sel = s.selector;
  if (sel === undefined || sel === null) errs.push(fieldErrors.required('spec.selector', ''));
  else {
    errs.push(...validateLabelSelector(sel, 'spec.selector'));
    if (Object.keys(sel.matchLabels ?? {}).length + (sel.matchExpressions ?? []).length === 0) {
      errs.push(invalidGo('spec.selector', goLabelSelector(sel), `empty selector is invalid for ${what}`));
    }
  }
  const tmpl: Obj = isObj(s.template) ? s.template : {};
  const labels = isObj(tmpl.metadata) ? tmpl.metadata.labels : undefined;
  let selector;
  try {
    selector = selectorFromLabelSelector(sel ?? null);
  } catch {
    errs.push(invalidGo('spec.selector', goLabelSelector(sel), 'invalid label selector'));
  }
  if (selector && !selector.empty() && !selector.matches(labels)) {
    errs.push(invalidGo('spec.template.metadata.labels', goStringMap(labels), '`selector` does not match template `labels`'));
  }
  errs.push(...validatePodTemplateSpec(tmpl, 'spec.template', extraVolumes));
  const ps: Obj = isObj(tmpl.spec) ? tmpl.spec : {};
  if (ps.restartPolicy !== 'Always') errs.push(fieldErrors.notSupported('spec.template.spec.restartPolicy', ps.restartPolicy ?? '', ['Always']));
  if (ps.activeDeadlineSeconds !== undefined && ps.activeDeadlineSeconds !== null) {
    errs.push(fieldErrors.forbidden('spec.template.spec.activeDeadlineSeconds', `activeDeadlineSeconds in ${kind} is not Supported`));
  }
  return errs;
}

/** spec.replicas (defaulted to 1 when absent): an int32 of at least 0. */
function replicas(s: Obj): FieldError[] {
  return s.replicas === undefined ? [] : validateNonnegativeInt32('spec.replicas', s.replicas);
}

function nonneg(s: Obj, field: string): FieldError[] {
  return typeof s[field] === 'number' ? validateNonnegative(`spec.${field}`, s[field]) : [];
}

/** ValidateImmutableField for the selector (apps/v1 forbids changing it). */
function selectorImmutable(obj: KObject, old: KObject): FieldError[] {
  const n = spec(obj).selector;
  const o = isObj(old.spec) ? (old.spec as Obj).selector : undefined;
  return jsonEqual(n, o) ? [] : [invalidGo('spec.selector', goLabelSelector(n), 'field is immutable')];
}

function resetStatus(obj: KObject): void {
  obj.status = {};
}

function defaultTemplate(s: Obj): void {
  if (!isObj(s.template)) s.template = {};
  defaultPodTemplateSpec(s.template);
}

// ---------------------------------------------------------------------------
// Deployments

/** SetDefaults_Deployment (apps/v1). */
export function defaultDeployment(obj: KObject): void {
  const s = spec(obj);
  if (s.replicas === undefined || s.replicas === null) s.replicas = 1;
  if (!isObj(s.strategy)) s.strategy = {};
  s.strategy.type ||= 'RollingUpdate';
  if (s.strategy.type === 'RollingUpdate') {
    if (!isObj(s.strategy.rollingUpdate)) s.strategy.rollingUpdate = {};
    s.strategy.rollingUpdate.maxUnavailable ??= '25%';
    s.strategy.rollingUpdate.maxSurge ??= '25%';
  }
  if (s.revisionHistoryLimit === undefined || s.revisionHistoryLimit === null) s.revisionHistoryLimit = 10;
  if (s.progressDeadlineSeconds === undefined || s.progressDeadlineSeconds === null) s.progressDeadlineSeconds = 600;
  defaultTemplate(s);
}

/** ValidateDeploymentSpec. */
export function validateDeployment(obj: KObject): FieldError[] {
  const s = spec(obj);
  const errs: FieldError[] = [];
  errs.push(...replicas(s));
  errs.push(...validateSelectorAndTemplate(s, 'deployment', 'ReplicaSet'));
  // ValidateDeploymentStrategy.
  const st: Obj = isObj(s.strategy) ? s.strategy : {};
  switch (st.type) {
    case 'Recreate':
      if (st.rollingUpdate !== undefined && st.rollingUpdate !== null) {
        errs.push(fieldErrors.forbidden('spec.strategy.rollingUpdate', "may not be specified when strategy `type` is 'Recreate'"));
      }
      break;
    case 'RollingUpdate': {
      const ru = st.rollingUpdate;
      if (!isObj(ru)) {
        errs.push(fieldErrors.required('spec.strategy.rollingUpdate', 'this should be defaulted and never be nil'));
        break;
      }
      const p = 'spec.strategy.rollingUpdate';
      errs.push(...validatePositiveIntOrPercent(ru.maxUnavailable, `${p}.maxUnavailable`));
      errs.push(...validatePositiveIntOrPercent(ru.maxSurge, `${p}.maxSurge`));
      if (intOrPercentValue(ru.maxUnavailable) === 0 && intOrPercentValue(ru.maxSurge) === 0) {
        errs.push(invalidGo(`${p}.maxUnavailable`, goIntOrString(ru.maxUnavailable), 'may not be 0 when `maxSurge` is 0'));
      }
      errs.push(...notMoreThan100Percent(ru.maxUnavailable, `${p}.maxUnavailable`));
      break;
    }
    default:
      errs.push(fieldErrors.notSupported('spec.strategy', st.type ?? '', ['Recreate', 'RollingUpdate']));
  }
  errs.push(...nonneg(s, 'minReadySeconds'));
  errs.push(...nonneg(s, 'revisionHistoryLimit'));
  if (typeof s.progressDeadlineSeconds === 'number') {
    errs.push(...validateNonnegative('spec.progressDeadlineSeconds', s.progressDeadlineSeconds));
    if (s.progressDeadlineSeconds <= (s.minReadySeconds ?? 0)) {
      errs.push(fieldErrors.invalid('spec.progressDeadlineSeconds', s.progressDeadlineSeconds, 'must be greater than minReadySeconds'));
    }
  }
  return errs;
}

const deploymentColumns: TableColumn[] = [
  NAME_COLUMN,
  { name: 'Ready', type: 'string', description: 'Number of the pod with ready state' },
  { name: 'Up-to-date', type: 'string', description: 'Total number of non-terminated pods targeted by this deployment that have the desired template spec.' },
  { name: 'Available', type: 'string', description: 'Total number of available non-terminating pods (ready for at least minReadySeconds) targeted by this deployment.' },
  AGE_COLUMN,
  CONTAINERS_COLUMN,
  IMAGES_COLUMN,
  SELECTOR_COLUMN,
];

export const deployments: ResourceDef = {
  group: 'apps',
  versions: ['v1'],
  kind: 'Deployment',
  plural: 'deployments',
  singular: 'deployment',
  namespaced: true,
  shortNames: ['deploy'],
  categories: ['all'],
  subresources: ['status', 'scale'],
  scale: REPLICAS_SCALE,
  strategy: {
    tracksGeneration: true,
    hasStatus: true,
    defaults: defaultDeployment,
    prepareForCreate: resetStatus,
    prepareForUpdate(obj, old) {
      // Annotations are copied to ReplicaSets (rollback, change-cause), so upstream
      // bumps the generation for them too; spec changes are bumped by the server.
      const md = obj.metadata ?? {};
      const om = old.metadata ?? {};
      if (jsonEqual(obj.spec, old.spec) && !jsonEqual(md.annotations ?? {}, om.annotations ?? {})) {
        md.generation = (om.generation ?? 0) + 1;
      }
    },
    validate: validateDeployment,
    validateUpdate: (obj, old) => [...validateDeployment(obj), ...selectorImmutable(obj, old)],
  },
  table: {
    columns: deploymentColumns,
    cells(obj, now) {
      const s = spec(obj);
      const st = status(obj);
      const [containers, images] = containerCells(tmplSpec(obj).containers);
      return [obj.metadata?.name, `${int(st.readyReplicas)}/${int(s.replicas)}`, int(st.updatedReplicas), int(st.availableReplicas), age(obj, now), containers, images, selectorString(s.selector)];
    },
  },
};

// ---------------------------------------------------------------------------
// ReplicaSets

/** SetDefaults_ReplicaSet. */
export function defaultReplicaSet(obj: KObject): void {
  const s = spec(obj);
  if (s.replicas === undefined || s.replicas === null) s.replicas = 1;
  defaultTemplate(s);
}

/** ValidateReplicaSetSpec (its empty-selector message says "deployment" upstream too). */
export function validateReplicaSet(obj: KObject): FieldError[] {
  const s = spec(obj);
  return [...replicas(s), ...nonneg(s, 'minReadySeconds'), ...validateSelectorAndTemplate(s, 'deployment', 'ReplicaSet')];
}

export const replicasets: ResourceDef = {
  group: 'apps',
  versions: ['v1'],
  kind: 'ReplicaSet',
  plural: 'replicasets',
  singular: 'replicaset',
  namespaced: true,
  shortNames: ['rs'],
  categories: ['all'],
  subresources: ['status', 'scale'],
  scale: REPLICAS_SCALE,
  strategy: {
    tracksGeneration: true,
    hasStatus: true,
    defaults: defaultReplicaSet,
    prepareForCreate: resetStatus,
    validate: validateReplicaSet,
    validateUpdate: (obj, old) => [...validateReplicaSet(obj), ...selectorImmutable(obj, old)],
  },
  table: {
    columns: [
      NAME_COLUMN,
      { name: 'Desired', type: 'integer', description: 'Replicas is the number of desired pods.' },
      { name: 'Current', type: 'integer', description: 'Replicas is the most recently observed number of non-terminating pods.' },
      { name: 'Ready', type: 'integer', description: 'The number of non-terminating pods targeted by this ReplicaSet with a Ready Condition.' },
      AGE_COLUMN,
      CONTAINERS_COLUMN,
      IMAGES_COLUMN,
      { ...SELECTOR_COLUMN, description: 'Selector is a label query over pods that should match the replica count.' },
    ],
    cells(obj, now) {
      const s = spec(obj);
      const st = status(obj);
      const [containers, images] = containerCells(tmplSpec(obj).containers);
      return [obj.metadata?.name, int(s.replicas), int(st.replicas), int(st.readyReplicas), age(obj, now), containers, images, formatSelector(s.selector)];
    },
  },
};

// ---------------------------------------------------------------------------
// DaemonSets

/** The annotation apps/v1 carries the internal spec.templateGeneration in. */
export const DAEMONSET_TEMPLATE_GENERATION_ANNOTATION = 'deprecated.daemonset.template.generation';

/** SetDefaults_DaemonSet. */
export function defaultDaemonSet(obj: KObject): void {
  const s = spec(obj);
  if (!isObj(s.updateStrategy)) s.updateStrategy = {};
  s.updateStrategy.type ||= 'RollingUpdate';
  if (s.updateStrategy.type === 'RollingUpdate') {
    if (!isObj(s.updateStrategy.rollingUpdate)) s.updateStrategy.rollingUpdate = {};
    s.updateStrategy.rollingUpdate.maxUnavailable ??= 1;
    s.updateStrategy.rollingUpdate.maxSurge ??= 0;
  }
  if (s.revisionHistoryLimit === undefined || s.revisionHistoryLimit === null) s.revisionHistoryLimit = 10;
  defaultTemplate(s);
}

/** ValidateDaemonSetSpec. */
export function validateDaemonSet(obj: KObject): FieldError[] {
  const s = spec(obj);
  const errs = validateSelectorAndTemplate(s, 'daemonset', 'DaemonSet');
  errs.push(...nonneg(s, 'minReadySeconds'));
  const us: Obj = isObj(s.updateStrategy) ? s.updateStrategy : {};
  switch (us.type) {
    case 'OnDelete':
      break;
    case 'RollingUpdate': {
      const ru = us.rollingUpdate;
      const p = 'spec.updateStrategy.rollingUpdate';
      if (!isObj(ru)) {
        errs.push(fieldErrors.required(p, ''));
        break;
      }
      errs.push(...validatePositiveIntOrPercent(ru.maxUnavailable, `${p}.maxUnavailable`));
      errs.push(...validatePositiveIntOrPercent(ru.maxSurge, `${p}.maxSurge`));
      errs.push(...notMoreThan100Percent(ru.maxUnavailable, `${p}.maxUnavailable`));
      errs.push(...notMoreThan100Percent(ru.maxSurge, `${p}.maxSurge`));
      const hasUnavailable = intOrPercentValue(ru.maxUnavailable) !== 0;
      const hasSurge = intOrPercentValue(ru.maxSurge) !== 0;
      if (hasUnavailable && hasSurge) errs.push(invalidGo(`${p}.maxSurge`, goIntOrString(ru.maxSurge), 'may not be set when maxUnavailable is non-zero'));
      if (!hasUnavailable && !hasSurge) errs.push(fieldErrors.required(`${p}.maxUnavailable`, 'cannot be 0 when maxSurge is 0'));
      break;
    }
    default:
      errs.push(fieldErrors.notSupported('spec.updateStrategy', us.type ?? '', ['RollingUpdate', 'OnDelete']));
  }
  errs.push(...nonneg(s, 'revisionHistoryLimit'));
  return errs;
}

export const daemonsets: ResourceDef = {
  group: 'apps',
  versions: ['v1'],
  kind: 'DaemonSet',
  plural: 'daemonsets',
  singular: 'daemonset',
  namespaced: true,
  shortNames: ['ds'],
  categories: ['all'],
  subresources: ['status'],
  strategy: {
    tracksGeneration: true,
    hasStatus: true,
    defaults: defaultDaemonSet,
    prepareForCreate(obj) {
      resetStatus(obj);
      const md = (obj.metadata ??= {});
      md.annotations = { ...(md.annotations ?? {}), [DAEMONSET_TEMPLATE_GENERATION_ANNOTATION]: '1' };
    },
    prepareForUpdate(obj, old) {
      // The template generation counts template changes only (the DaemonSet controller
      // and `kubectl rollout` read it).
      const oldGen = Number(old.metadata?.annotations?.[DAEMONSET_TEMPLATE_GENERATION_ANNOTATION] ?? '1') || 1;
      const changed = !jsonEqual(spec(obj).template, isObj(old.spec) ? (old.spec as Obj).template : undefined);
      const md = (obj.metadata ??= {});
      md.annotations = { ...(md.annotations ?? {}), [DAEMONSET_TEMPLATE_GENERATION_ANNOTATION]: String(changed ? oldGen + 1 : oldGen) };
    },
    validate: validateDaemonSet,
    validateUpdate: (obj, old) => [...validateDaemonSet(obj), ...selectorImmutable(obj, old)],
  },
  table: {
    columns: [
      NAME_COLUMN,
      { name: 'Desired', type: 'integer', description: 'The total number of nodes that should be running the daemon pod (including nodes correctly running the daemon pod).' },
      { name: 'Current', type: 'integer', description: 'The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod.' },
      { name: 'Ready', type: 'integer', description: 'numberReady is the number of nodes that should be running the daemon pod and have one or more of the daemon pod running with a Ready Condition.' },
      { name: 'Up-to-date', type: 'integer', description: 'The total number of nodes that are running updated daemon pod' },
      { name: 'Available', type: 'integer', description: 'The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available (ready for at least spec.minReadySeconds)' },
      { name: 'Node Selector', type: 'string', description: "NodeSelector is a selector which must be true for the pod to fit on a node. Selector which must match a node's labels for the pod to be scheduled on that node. More info: https://kubernetes.io/docs/concepts/configuration/assign-pod-node/" },
      AGE_COLUMN,
      CONTAINERS_COLUMN,
      IMAGES_COLUMN,
      { ...SELECTOR_COLUMN, description: 'A label query over pods that are managed by the daemon set. Must match in order to be controlled. It must match the pod template\'s labels. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors' },
    ],
    cells(obj, now) {
      const st = status(obj);
      const ps = tmplSpec(obj);
      const [containers, images] = containerCells(ps.containers);
      return [
        obj.metadata?.name,
        int(st.desiredNumberScheduled),
        int(st.currentNumberScheduled),
        int(st.numberReady),
        int(st.updatedNumberScheduled),
        int(st.numberAvailable),
        formatLabels(ps.nodeSelector),
        age(obj, now),
        containers,
        images,
        formatSelector(spec(obj).selector),
      ];
    },
  },
};

// ---------------------------------------------------------------------------
// StatefulSets

/** SetDefaults_StatefulSet. */
export function defaultStatefulSet(obj: KObject): void {
  const s = spec(obj);
  s.podManagementPolicy ||= 'OrderedReady';
  if (!isObj(s.updateStrategy)) s.updateStrategy = {};
  if (!s.updateStrategy.type) {
    s.updateStrategy.type = 'RollingUpdate';
    if (!isObj(s.updateStrategy.rollingUpdate)) s.updateStrategy.rollingUpdate = {};
  }
  if (s.updateStrategy.type === 'RollingUpdate' && isObj(s.updateStrategy.rollingUpdate)) {
    s.updateStrategy.rollingUpdate.partition ??= 0;
  }
  if (!isObj(s.persistentVolumeClaimRetentionPolicy)) s.persistentVolumeClaimRetentionPolicy = {};
  s.persistentVolumeClaimRetentionPolicy.whenDeleted ||= 'Retain';
  s.persistentVolumeClaimRetentionPolicy.whenScaled ||= 'Retain';
  if (s.replicas === undefined || s.replicas === null) s.replicas = 1;
  if (s.revisionHistoryLimit === undefined || s.revisionHistoryLimit === null) s.revisionHistoryLimit = 10;
  defaultTemplate(s);
  for (const pvc of Array.isArray(s.volumeClaimTemplates) ? (s.volumeClaimTemplates as Obj[]) : []) defaultPersistentVolumeClaim(pvc);
}

const PVC_RETENTION = ['Retain', 'Delete'];

/** ValidateStatefulSetSpec. */
export function validateStatefulSet(obj: KObject): FieldError[] {
  const s = spec(obj);
  const errs: FieldError[] = [];
  switch (s.podManagementPolicy ?? '') {
    case '':
      errs.push(fieldErrors.required('spec.podManagementPolicy', ''));
      break;
    case 'OrderedReady':
    case 'Parallel':
      break;
    default:
      errs.push(fieldErrors.invalid('spec.podManagementPolicy', s.podManagementPolicy, "must be 'OrderedReady' or 'Parallel'"));
  }
  const us: Obj = isObj(s.updateStrategy) ? s.updateStrategy : {};
  switch (us.type ?? '') {
    case '':
      errs.push(fieldErrors.required('spec.updateStrategy', ''));
      break;
    case 'OnDelete':
      if (us.rollingUpdate !== undefined && us.rollingUpdate !== null) {
        errs.push(fieldErrors.invalid('spec.updateStrategy.rollingUpdate', us.rollingUpdate, "only allowed for updateStrategy 'RollingUpdate'"));
      }
      break;
    case 'RollingUpdate':
      if (isObj(us.rollingUpdate)) {
        if (typeof us.rollingUpdate.partition === 'number') errs.push(...validateNonnegative('spec.updateStrategy.rollingUpdate.partition', us.rollingUpdate.partition));
        if (us.rollingUpdate.maxUnavailable !== undefined) {
          const p = 'spec.updateStrategy.rollingUpdate.maxUnavailable';
          errs.push(...validatePositiveIntOrPercent(us.rollingUpdate.maxUnavailable, p));
          if (intOrPercentValue(us.rollingUpdate.maxUnavailable) === 0) errs.push(invalidGo(p, goIntOrString(us.rollingUpdate.maxUnavailable), 'cannot be 0'));
          errs.push(...notMoreThan100Percent(us.rollingUpdate.maxUnavailable, p));
        }
      }
      break;
    default:
      errs.push(fieldErrors.invalid('spec.updateStrategy', us, "must be 'RollingUpdate' or 'OnDelete'"));
  }
  errs.push(...nonneg(s, 'revisionHistoryLimit'));
  const rp = s.persistentVolumeClaimRetentionPolicy;
  if (isObj(rp)) {
    for (const f of ['whenDeleted', 'whenScaled']) {
      if (!PVC_RETENTION.includes(rp[f])) errs.push(fieldErrors.notSupported(`spec.persistentVolumeClaimRetentionPolicy.${f}`, rp[f] ?? '', PVC_RETENTION));
    }
  }
  errs.push(...replicas(s));
  errs.push(...nonneg(s, 'minReadySeconds'));
  if (isObj(s.ordinals) && typeof s.ordinals.start === 'number') errs.push(...validateNonnegative('spec.ordinals.start', s.ordinals.start));
  // Upstream skips pod spec validation for StatefulSets (a TODO: mounts may name claim
  // templates); we validate it with the claim templates counted as volumes instead.
  const claims = (Array.isArray(s.volumeClaimTemplates) ? (s.volumeClaimTemplates as Obj[]) : []).map((c) => String(c.metadata?.name ?? ''));
  errs.push(...validateSelectorAndTemplate(s, 'statefulset', 'StatefulSet', claims));
  return errs;
}

/** The spec fields a StatefulSet update may change (upstream's Forbidden message lists them). */
const STS_MUTABLE = ['replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy', 'minReadySeconds'];

/** ValidateStatefulSetUpdate. */
export function validateStatefulSetUpdate(obj: KObject, old: KObject): FieldError[] {
  const errs = validateStatefulSet(obj);
  const n: Obj = { ...spec(obj) };
  const o: Obj = isObj(old.spec) ? { ...(old.spec as Obj) } : {};
  for (const f of STS_MUTABLE) {
    delete n[f];
    delete o[f];
  }
  if (!jsonEqual(n, o)) {
    errs.push(
      fieldErrors.forbidden(
        'spec',
        "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
      ),
    );
  }
  return errs;
}

export const statefulsets: ResourceDef = {
  group: 'apps',
  versions: ['v1'],
  kind: 'StatefulSet',
  plural: 'statefulsets',
  singular: 'statefulset',
  namespaced: true,
  shortNames: ['sts'],
  categories: ['all'],
  subresources: ['status', 'scale'],
  scale: REPLICAS_SCALE,
  strategy: {
    tracksGeneration: true,
    hasStatus: true,
    defaults: defaultStatefulSet,
    prepareForCreate: resetStatus,
    validate: validateStatefulSet,
    validateUpdate: validateStatefulSetUpdate,
  },
  table: {
    columns: [NAME_COLUMN, { name: 'Ready', type: 'string', description: 'Number of the pod with ready state' }, AGE_COLUMN, CONTAINERS_COLUMN, IMAGES_COLUMN],
    cells(obj, now) {
      const [containers, images] = containerCells(tmplSpec(obj).containers);
      return [obj.metadata?.name, `${int(status(obj).readyReplicas)}/${int(spec(obj).replicas)}`, age(obj, now), containers, images];
    },
  },
};

// ---------------------------------------------------------------------------
// ControllerRevisions

/** ValidateControllerRevision. */
export function validateControllerRevision(obj: KObject): FieldError[] {
  const errs: FieldError[] = [];
  if (obj.data === undefined || obj.data === null) errs.push(fieldErrors.required('data', 'data is mandatory'));
  if (typeof obj.revision === 'number') errs.push(...validateNonnegative('revision', obj.revision));
  return errs;
}

/** "daemonset.apps/web" for the controller column, as formatResourceName with kind. */
function controllerName(obj: KObject): string {
  const ref = (obj.metadata?.ownerReferences ?? []).find((r) => r.controller);
  if (!ref) return '<none>';
  const { group } = parseApiVersion(ref.apiVersion);
  return `${(group ? `${ref.kind}.${group}` : ref.kind).toLowerCase()}/${ref.name}`;
}

export const controllerrevisions: ResourceDef = {
  group: 'apps',
  versions: ['v1'],
  kind: 'ControllerRevision',
  plural: 'controllerrevisions',
  singular: 'controllerrevision',
  namespaced: true,
  strategy: {
    validate: validateControllerRevision,
    validateUpdate(obj, old) {
      const errs = validateControllerRevision(obj);
      if (!jsonEqual(obj.data, old.data)) errs.push(fieldErrors.invalid('data', obj.data, 'field is immutable'));
      return errs;
    },
  },
  table: {
    columns: [
      NAME_COLUMN,
      { name: 'Controller', type: 'string', description: 'Controller of the object' },
      { name: 'Revision', type: 'integer', description: 'Revision indicates the revision of the state represented by Data.' },
      AGE_COLUMN,
    ],
    cells: (obj, now) => [obj.metadata?.name, controllerName(obj), int(obj.revision), age(obj, now)],
  },
};

/** All apps/v1 resources, in discovery order. */
export const appsResources: ResourceDef[] = [controllerrevisions, daemonsets, deployments, replicasets, statefulsets];
