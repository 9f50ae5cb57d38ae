/**
 * Strategic merge patch (k8s.io/apimachinery/pkg/util/strategicpatch), the patch type of
 * `kubectl apply`, `edit`, `set image`, `rollout restart` and Python dict bodies.
 *
 * Like a JSON merge patch, maps merge recursively and `null` deletes a key. Unlike it,
 * some lists merge element by element by a merge key (containers by `name`, container
 * ports by `containerPort`, …), and the patch may carry directives:
 *   - `$patch: replace | delete | merge` on a map or as a list element,
 *   - `$retainKeys: [...]` (drop every other key of the original map),
 *   - `$deleteFromPrimitiveList/<field>: [...]`,
 *   - `$setElementOrder/<field>: [...]` (order of the merged list).
 * All `$…` keys are gone from the result.
 *
 * Which list merges by which key comes from the `patchMergeKey`/`patchStrategy` struct
 * tags of k8s.io/api, encoded below as a small type table: each type names, per field,
 * the type of its value (or list element) and its merge key. A field's meaning thus
 * depends on its parent type, which is how `ports` of a Container (by containerPort)
 * differs from `ports` of a ServiceSpec (by port).
 */
import { badRequest, internalError } from '../errors.js';
import { isPlainObject } from './merge.js';
import { patchRejected } from './errors.js';

type Obj = Record<string, unknown>;

/** Lists of primitives that merge as a set (patchStrategy "merge" on []string). */
export const SET = Symbol('set');

/** How one field of a type is patched. */
export interface FieldStrategy {
  /** Type of the value, or of each list element. */
  type?: string;
  /** Merge key for lists of maps, or {@link SET} for lists of primitives; absent = replace. */
  mergeKey?: string | typeof SET;
}

/** Field tables by type name. Extend with {@link registerStrategicType}. */
const TYPES: Record<string, Record<string, FieldStrategy>> = {
  ObjectMeta: {
    ownerReferences: { mergeKey: 'uid' },
    finalizers: { mergeKey: SET },
  },
  Conditions: { conditions: { mergeKey: 'type' } },
  Object: { metadata: { type: 'ObjectMeta' }, status: { type: 'Conditions' } },

  Container: {
    ports: { mergeKey: 'containerPort' },
    env: { mergeKey: 'name' },
    volumeMounts: { mergeKey: 'mountPath' },
    volumeDevices: { mergeKey: 'devicePath' },
  },
  PodSpec: {
    containers: { type: 'Container', mergeKey: 'name' },
    initContainers: { type: 'Container', mergeKey: 'name' },
    ephemeralContainers: { type: 'Container', mergeKey: 'name' },
    volumes: { mergeKey: 'name' },
    imagePullSecrets: { mergeKey: 'name' },
    hostAliases: { mergeKey: 'ip' },
    topologySpreadConstraints: { mergeKey: 'topologyKey' },
    resourceClaims: { mergeKey: 'name' },
    schedulingGates: { mergeKey: 'name' },
  },
  PodStatus: {
    conditions: { mergeKey: 'type' },
    podIPs: { mergeKey: 'ip' },
    hostIPs: { mergeKey: 'ip' },
  },
  Pod: { metadata: { type: 'ObjectMeta' }, spec: { type: 'PodSpec' }, status: { type: 'PodStatus' } },
  PodTemplateSpec: { metadata: { type: 'ObjectMeta' }, spec: { type: 'PodSpec' } },
  PodTemplate: { metadata: { type: 'ObjectMeta' }, template: { type: 'PodTemplateSpec' } },

  /** Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, ReplicationController specs. */
  WorkloadSpec: { template: { type: 'PodTemplateSpec' } },
  Workload: { metadata: { type: 'ObjectMeta' }, spec: { type: 'WorkloadSpec' }, status: { type: 'Conditions' } },
  JobTemplateSpec: { metadata: { type: 'ObjectMeta' }, spec: { type: 'WorkloadSpec' } },
  CronJobSpec: { jobTemplate: { type: 'JobTemplateSpec' } },
  CronJob: { metadata: { type: 'ObjectMeta' }, spec: { type: 'CronJobSpec' }, status: { type: 'Conditions' } },

  ServiceSpec: { ports: { mergeKey: 'port' } },
  Service: { metadata: { type: 'ObjectMeta' }, spec: { type: 'ServiceSpec' }, status: { type: 'Conditions' } },

  NodeSpec: { podCIDRs: { mergeKey: SET } },
  NodeStatus: { conditions: { mergeKey: 'type' }, addresses: { mergeKey: 'type' } },
  Node: { metadata: { type: 'ObjectMeta' }, spec: { type: 'NodeSpec' }, status: { type: 'NodeStatus' } },
};

/** Kind → root type; kinds not listed use the generic "Object". */
const KINDS: Record<string, string> = {
  Pod: 'Pod',
  PodTemplate: 'PodTemplate',
  Deployment: 'Workload',
  ReplicaSet: 'Workload',
  StatefulSet: 'Workload',
  DaemonSet: 'Workload',
  ReplicationController: 'Workload',
  Job: 'Workload',
  CronJob: 'CronJob',
  Service: 'Service',
  Node: 'Node',
};

/** Adds or replaces a type table, and optionally maps kinds to it. */
export function registerStrategicType(name: string, fields: Record<string, FieldStrategy>, kinds: string[] = []): void {
  TYPES[name] = fields;
  for (const k of kinds) KINDS[k] = name;
}

/** The root type for a kind ("Deployment", "apps/v1/Deployment", "apps/v1, Kind=Deployment"). */
function rootType(kindKey: string | undefined): string {
  if (!kindKey) return 'Object';
  const kind = kindKey.split(/[/=]/).pop()!.trim();
  return KINDS[kind] ?? 'Object';
}

function fieldOf(type: string | undefined, field: string): FieldStrategy {
  return (type && TYPES[type]?.[field]) || {};
}

const PATCH = '$patch';
const RETAIN_KEYS = '$retainKeys';
const DELETE_PRIMITIVE = '$deleteFromPrimitiveList/';
const SET_ORDER = '$setElementOrder/';

/** Marks "delete this key" when a `$patch: delete` map is merged. */
const DELETED = Symbol('deleted');

function sameScalar(a: unknown, b: unknown): boolean {
  return a === b || (typeof a === 'object' && JSON.stringify(a) === JSON.stringify(b));
}

/** A patch value placed where the original has nothing: directives stripped, nulls dropped. */
function fresh(value: unknown, type: string | undefined, fs: FieldStrategy): unknown {
  if (isPlainObject(value)) return mergeMap({}, value, type);
  // Upstream takes a list the original lacks as-is, without checking merge keys.
  if (Array.isArray(value)) return mergeList([], value, fs, true);
  return value;
}

function mergeMap(original: Obj, patch: Obj, type: string | undefined): Obj | typeof DELETED {
  const directive = patch[PATCH];
  if (directive !== undefined) {
    if (directive === 'delete') return DELETED;
    if (directive === 'replace') {
      const { [PATCH]: _drop, ...rest } = patch;
      return mergeMap({}, rest, type) as Obj;
    }
    if (directive !== 'merge') throw badRequest(`Unknown patch type: ${String(directive)} in map: ${JSON.stringify(patch)}`);
  }

  let out: Obj = { ...original };
  const retain = patch[RETAIN_KEYS];
  if (retain !== undefined) {
    if (!Array.isArray(retain)) throw badRequest('invalid patch: retainKeys must be a list of strings');
    const keep = new Set(retain.map(String));
    for (const [k, v] of Object.entries(patch)) {
      if (!k.startsWith('$') && v !== null && !keep.has(k)) throw patchRejected("patch content doesn't match retainKeys list");
    }
    out = Object.fromEntries(Object.entries(out).filter(([k]) => keep.has(k)));
  }

  const orders: Array<[string, unknown[]]> = [];
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith(DELETE_PRIMITIVE)) {
      const field = k.slice(DELETE_PRIMITIVE.length);
      if (!Array.isArray(v)) throw badRequest(`invalid patch: ${k} must be a list`);
      if (Array.isArray(out[field])) out[field] = (out[field] as unknown[]).filter((x) => !v.some((d) => sameScalar(d, x)));
    } else if (k.startsWith(SET_ORDER)) {
      if (!Array.isArray(v)) throw badRequest(`invalid patch: ${k} must be a list`);
      orders.push([k.slice(SET_ORDER.length), v]);
    }
  }

  for (const [k, pv] of Object.entries(patch)) {
    if (k.startsWith('$')) continue;
    if (pv === null) {
      delete out[k];
      continue;
    }
    const fs = fieldOf(type, k);
    const ov = out[k];
    let merged: unknown;
    if (isPlainObject(pv) && isPlainObject(ov)) merged = mergeMap(ov, pv, fs.type);
    else if (Array.isArray(pv) && Array.isArray(ov)) merged = mergeList(ov, pv, fs);
    else if (isPlainObject(pv)) merged = mergeMap({}, pv, fs.type);
    else merged = fresh(pv, fs.type, fs);
    if (merged === DELETED) delete out[k];
    else out[k] = merged;
  }

  for (const [field, order] of orders) {
    if (Array.isArray(out[field])) out[field] = applyOrder(out[field] as unknown[], order, fieldOf(type, field).mergeKey);
  }
  return out;
}

/** Reorders the elements named in `order` into the slots they occupy; others stay put. */
function applyOrder(list: unknown[], order: unknown[], mergeKey: string | typeof SET | undefined): unknown[] {
  const ident = (x: unknown): unknown => (typeof mergeKey === 'string' && isPlainObject(x) ? x[mergeKey] : x);
  const wanted = order.map(ident);
  const rank = (x: unknown): number => wanted.findIndex((w) => sameScalar(w, ident(x)));
  const slots: number[] = [];
  const listed: unknown[] = [];
  list.forEach((x, i) => {
    if (rank(x) >= 0) {
      slots.push(i);
      listed.push(x);
    }
  });
  listed.sort((a, b) => rank(a) - rank(b));
  const out = [...list];
  slots.forEach((slot, i) => (out[slot] = listed[i]));
  return out;
}

function mergeList(original: unknown[], patch: unknown[], fs: FieldStrategy, lenient = false): unknown[] {
  const { mergeKey, type } = fs;
  // A `{"$patch": "replace"}` element replaces the whole list with the other elements.
  const replace = patch.some((e) => isPlainObject(e) && e[PATCH] === 'replace');
  if (replace) {
    const rest = patch.filter((e) => !(isPlainObject(e) && e[PATCH] === 'replace'));
    return mergeList([], rest, { type });
  }

  if (mergeKey === undefined) {
    // Atomic list: the patch's list is the new value.
    return patch
      .filter((e) => !(isPlainObject(e) && e[PATCH] === 'delete'))
      .map((e) => (isPlainObject(e) ? mergeMap({}, e, type) : Array.isArray(e) ? mergeList([], e, {}) : e));
  }

  if (mergeKey === SET) {
    const out = [...original];
    for (const e of patch) if (!out.some((x) => sameScalar(x, e))) out.push(e);
    return out;
  }

  const out = [...original];
  for (const pe of patch) {
    if (!isPlainObject(pe)) throw badRequest(`invalid patch: expected a map in a list merged by ${mergeKey}, got ${JSON.stringify(pe)}`);
    const key = pe[mergeKey];
    if (key === undefined && lenient) {
      const created = mergeMap({}, pe, type);
      if (created !== DELETED) out.push(created);
      continue;
    }
    if (key === undefined) {
      // upstream mergepatch.ErrNoMergeKey, which the API server returns as 500
      throw internalError(new Error(`map: ${goMap(pe)} does not contain declared merge key: ${mergeKey}`));
    }
    const idx = out.findIndex((x) => isPlainObject(x) && sameScalar(x[mergeKey], key));
    if (pe[PATCH] === 'delete') {
      for (let i = out.length - 1; i >= 0; i--) {
        const x = out[i];
        if (isPlainObject(x) && sameScalar(x[mergeKey], key)) out.splice(i, 1);
      }
      continue;
    }
    if (idx >= 0) {
      const merged = mergeMap(out[idx] as Obj, pe, type);
      if (merged === DELETED) out.splice(idx, 1);
      else out[idx] = merged;
    } else {
      const created = mergeMap({}, pe, type);
      if (created !== DELETED) out.push(created);
    }
  }
  return out;
}

/** Go's %v of a map, for the merge-key error. */
function goMap(m: Obj): string {
  return `map[${Object.keys(m)
    .sort()
    .map((k) => `${k}:${typeof m[k] === 'object' ? JSON.stringify(m[k]) : String(m[k])}`)
    .join(' ')}]`;
}

/**
 * Applies a strategic merge patch to a copy of `target`. `kindKey` picks the merge-key
 * table ("Deployment", "Pod", …); when omitted, the target's (or patch's) `kind` is used.
 * Throws 400 for a malformed patch, 422 when `$retainKeys` contradicts the patch.
 */
export function applyStrategicMergePatch<T = Obj>(target: unknown, patch: unknown, kindKey?: string): T {
  if (!isPlainObject(patch)) throw badRequest('Invalid JSON Patch');
  const base = isPlainObject(target) ? target : {};
  const kind = kindKey ?? (typeof base.kind === 'string' ? base.kind : typeof patch.kind === 'string' ? patch.kind : undefined);
  const merged = mergeMap(base, patch, rootType(kind));
  // mergeMap shares untouched subtrees with its inputs; the clone makes the result independent.
  return structuredClone(merged === DELETED ? {} : merged) as T;
}

/** Removes every `$…` directive key, recursively (e.g. from a stored apply body). */
export function stripDirectives<T>(value: T): T {
  if (Array.isArray(value)) return value.filter((e) => !(isPlainObject(e) && PATCH in e)).map(stripDirectives) as T;
  if (isPlainObject(value)) {
    return Object.fromEntries(Object.entries(value).filter(([k]) => !k.startsWith('$')).map(([k, v]) => [k, stripDirectives(v)])) as T;
  }
  return value;
}
