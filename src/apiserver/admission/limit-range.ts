/**
 * LimitRanger admission (upstream plugin/pkg/admission/limitranger): a namespace's
 * LimitRanges give new pods' containers default requests and limits, and refuse pods and
 * claims outside their min, max and maxLimitRequestRatio with 403 and upstream's messages.
 * LimitRanges themselves get upstream's item defaults (default ← max, defaultRequest ← default ← min).
 */
import { forbidden } from '../../api/errors.js';
import { Quantity } from '../../api/quantity.js';
import type { Registry } from '../../api/registry.js';
import type { AdmissionPlugin } from '../objects.js';
import type { WatchCache } from '../watch-cache.js';

type ResourceList = Record<string, string>;

/** One item of a LimitRange spec (core/v1 LimitRangeItem). */
export interface LimitRangeItem {
  type: string;
  min?: ResourceList;
  max?: ResourceList;
  default?: ResourceList;
  defaultRequest?: ResourceList;
  maxLimitRequestRatio?: ResourceList;
}

interface Container {
  name: string;
  resources?: { requests?: ResourceList; limits?: ResourceList };
}

interface PodLike {
  metadata?: { annotations?: Record<string, string> };
  spec?: { containers?: Container[]; initContainers?: Container[] };
}

export const ANN_LIMIT_RANGER = 'kubernetes.io/limit-ranger';

const q = (v: string | number) => Quantity.parse(v);
const str = (v: string | number) => q(v).toString();

/** Upstream SetDefaults_LimitRangeItem, in place: only Container items get defaults. */
export function defaultLimitRangeItem(item: LimitRangeItem): LimitRangeItem {
  if (item.type !== 'Container') return item;
  const def = (item.default ??= {});
  const defReq = (item.defaultRequest ??= {});
  for (const [k, v] of Object.entries(item.max ?? {})) if (!(k in def)) def[k] = v;
  for (const [k, v] of Object.entries(def)) if (!(k in defReq)) defReq[k] = v;
  for (const [k, v] of Object.entries(item.min ?? {})) if (!(k in defReq)) defReq[k] = v;
  return item;
}

function mergeContainer(c: Container, limits: ResourceList, requests: ResourceList, prefix: string, notes: string[]): void {
  const res = (c.resources ??= {});
  const setLimits: string[] = [];
  const setRequests: string[] = [];
  for (const [k, v] of Object.entries(limits)) {
    const l = (res.limits ??= {});
    if (!(k in l)) {
      l[k] = v;
      setLimits.push(k);
    }
  }
  for (const [k, v] of Object.entries(requests)) {
    const r = (res.requests ??= {});
    if (!(k in r)) {
      r[k] = v;
      setRequests.push(k);
    }
  }
  if (setRequests.length > 0) notes.push(`${setRequests.sort().join(', ')} request for ${prefix} ${c.name}`);
  if (setLimits.length > 0) notes.push(`${setLimits.sort().join(', ')} limit for ${prefix} ${c.name}`);
}

/**
 * Gives containers the Container items' default limits and requests (upstream
 * mergePodResourceRequirements) and records what was set in the kubernetes.io/limit-ranger annotation.
 */
export function applyPodDefaults(pod: PodLike, items: readonly LimitRangeItem[]): void {
  const limits: ResourceList = {};
  const requests: ResourceList = {};
  for (const it of items) {
    if (it.type !== 'Container') continue;
    // The first range naming a resource wins, as upstream applies ranges one after another.
    for (const [k, v] of Object.entries(it.default ?? {})) if (!(k in limits)) limits[k] = v;
    for (const [k, v] of Object.entries(it.defaultRequest ?? {})) if (!(k in requests)) requests[k] = v;
  }
  if (Object.keys(limits).length === 0 && Object.keys(requests).length === 0) return;
  const notes: string[] = [];
  for (const c of pod.spec?.containers ?? []) mergeContainer(c, limits, requests, 'container', notes);
  for (const c of pod.spec?.initContainers ?? []) mergeContainer(c, limits, requests, 'init container', notes);
  if (notes.length > 0) {
    const md = (pod.metadata ??= {});
    (md.annotations ??= {})[ANN_LIMIT_RANGER] = `LimitRanger plugin set: ${notes.join('; ')}`;
  }
}

function minConstraint(type: string, name: string, enforced: string, requests: ResourceList, limits: ResourceList): string | undefined {
  const e = q(enforced);
  if (!(name in requests)) return `minimum ${name} usage per ${type} is ${e}.  No request is specified`;
  if (q(requests[name]).cmp(e) < 0) return `minimum ${name} usage per ${type} is ${e}, but request is ${str(requests[name])}`;
  if (name in limits && q(limits[name]).cmp(e) < 0) return `minimum ${name} usage per ${type} is ${e}, but limit is ${str(limits[name])}`;
  return undefined;
}

function maxConstraint(type: string, name: string, enforced: string, requests: ResourceList, limits: ResourceList): string | undefined {
  const e = q(enforced);
  if (!(name in limits)) return `maximum ${name} usage per ${type} is ${e}.  No limit is specified`;
  if (q(limits[name]).cmp(e) > 0) return `maximum ${name} usage per ${type} is ${e}, but limit is ${str(limits[name])}`;
  if (name in requests && q(requests[name]).cmp(e) > 0) return `maximum ${name} usage per ${type} is ${e}, but request is ${str(requests[name])}`;
  return undefined;
}

function maxRequestConstraint(type: string, name: string, enforced: string, requests: ResourceList): string | undefined {
  const e = q(enforced);
  if (!(name in requests)) return `maximum ${name} usage per ${type} is ${e}.  No request is specified`;
  if (q(requests[name]).cmp(e) > 0) return `maximum ${name} usage per ${type} is ${e}, but request is ${str(requests[name])}`;
  return undefined;
}

function ratioConstraint(type: string, name: string, enforced: string, requests: ResourceList, limits: ResourceList): string | undefined {
  const e = q(enforced);
  const req = name in requests ? q(requests[name]).milliValue() : 0;
  const lim = name in limits ? q(limits[name]).milliValue() : 0;
  if (req === 0) return `${name} max limit to request ratio per ${type} is ${e}, but no request is specified or request is 0`;
  if (lim === 0) return `${name} max limit to request ratio per ${type} is ${e}, but no limit is specified or limit is 0`;
  const ratio = lim / req;
  if (ratio > e.milliValue() / 1000) return `${name} max limit to request ratio per ${type} is ${e}, but provided ratio is ${ratio.toFixed(6)}`;
  return undefined;
}

function checkRequirements(type: string, item: LimitRangeItem, requests: ResourceList, limits: ResourceList, errs: string[]): void {
  const push = (e: string | undefined) => e !== undefined && !errs.includes(e) && errs.push(e);
  for (const [k, v] of Object.entries(item.min ?? {})) push(minConstraint(type, k, v, requests, limits));
  for (const [k, v] of Object.entries(item.max ?? {})) push(maxConstraint(type, k, v, requests, limits));
  for (const [k, v] of Object.entries(item.maxLimitRequestRatio ?? {})) push(ratioConstraint(type, k, v, requests, limits));
}

/** The pod's total per resource: containers summed, each init container a lower bound (upstream PodRequests/PodLimits). */
function podTotal(pod: PodLike, which: 'requests' | 'limits'): ResourceList {
  const sum = new Map<string, Quantity>();
  for (const c of pod.spec?.containers ?? []) {
    for (const [k, v] of Object.entries(c.resources?.[which] ?? {})) sum.set(k, (sum.get(k) ?? Quantity.fromValue(0)).add(q(v)));
  }
  for (const c of pod.spec?.initContainers ?? []) {
    for (const [k, v] of Object.entries(c.resources?.[which] ?? {})) {
      const cur = sum.get(k);
      if (!cur || q(v).cmp(cur) > 0) sum.set(k, q(v));
    }
  }
  return Object.fromEntries([...sum].map(([k, v]) => [k, v.toString()]));
}

/** Every violation of the items by a pod (upstream PodValidateLimitFunc). */
export function validatePod(pod: PodLike, items: readonly LimitRangeItem[]): string[] {
  const errs: string[] = [];
  for (const it of items) {
    if (it.type === 'Container') {
      for (const c of [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])]) {
        checkRequirements('Container', it, c.resources?.requests ?? {}, c.resources?.limits ?? {}, errs);
      }
    } else if (it.type === 'Pod') {
      checkRequirements('Pod', it, podTotal(pod, 'requests'), podTotal(pod, 'limits'), errs);
    }
  }
  return errs;
}

/** Every violation of the items by a claim's storage request (upstream PersistentVolumeClaim limits). */
export function validateClaim(claim: { spec?: { resources?: { requests?: ResourceList } } }, items: readonly LimitRangeItem[]): string[] {
  const errs: string[] = [];
  const requests = claim.spec?.resources?.requests ?? {};
  for (const it of items) {
    if (it.type !== 'PersistentVolumeClaim') continue;
    for (const [k, v] of Object.entries(it.min ?? {})) {
      const e = minConstraint('PersistentVolumeClaim', k, v, requests, {});
      if (e) errs.push(e);
    }
    for (const [k, v] of Object.entries(it.max ?? {})) {
      const e = maxRequestConstraint('PersistentVolumeClaim', k, v, requests);
      if (e) errs.push(e);
    }
  }
  return errs;
}

/** Upstream utilerrors.NewAggregate: one message as is, several in brackets. */
const aggregate = (errs: string[]) => (errs.length === 1 ? errs[0] : `[${errs.join(', ')}]`);

/** The admission plugin: defaults and checks pods and claims on create; defaults LimitRange items. */
export function limitRangeAdmission(cache: WatchCache, registry: Registry): AdmissionPlugin {
  const lrDef = registry.byKind('', 'LimitRange')!;
  return (op, def, obj, _old, ctx) => {
    if (def.group !== '') return;
    if (def.kind === 'LimitRange' && (op === 'CREATE' || op === 'UPDATE')) {
      const spec = obj.spec as { limits?: LimitRangeItem[] } | undefined;
      for (const it of spec?.limits ?? []) defaultLimitRangeItem(it);
      return;
    }
    // Containers cannot change after creation, so only creates are checked (as upstream).
    if (op !== 'CREATE' || ctx.subresource) return;
    if (def.kind !== 'Pod' && def.kind !== 'PersistentVolumeClaim') return;
    const ns = obj.metadata?.namespace ?? '';
    const items = cache
      .list(lrDef, ns)
      .flatMap((c) => ((c.obj as { spec?: { limits?: LimitRangeItem[] } }).spec?.limits ?? []).map((it) => defaultLimitRangeItem(structuredClone(it))));
    if (items.length === 0) return;
    let errs: string[];
    if (def.kind === 'Pod') {
      applyPodDefaults(obj as PodLike, items);
      errs = validatePod(obj as PodLike, items);
    } else {
      errs = validateClaim(obj as never, items);
    }
    if (errs.length > 0) throw forbidden({ group: '', resource: def.plural }, obj.metadata?.name ?? '', aggregate(errs));
  };
}
