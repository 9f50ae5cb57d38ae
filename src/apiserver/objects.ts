/**
 * Generic storage of API objects: create, update, patch, delete with upstream semantics
 * (metadata, generation, status separation, optimistic concurrency, graceful deletion,
 * finalizers and propagation policies) over the revisioned store, reading from the watch cache.
 * REST handlers call this; it knows nothing about HTTP.
 */
import type { Store } from '../store/types.js';
import { StoreError } from '../store/types.js';
import {
  alreadyExists,
  badRequest,
  conflict,
  fieldErrors,
  forbidden,
  invalid,
  notFound,
  type FieldError,
  type GroupResource,
} from '../api/errors.js';
import { type KObject, type ResourceDef, type Registry, groupVersion } from '../api/registry.js';
import { storageKey } from './storage-keys.js';
import { clone, generateName, jsonEqual, newUid, rfc3339 } from '../api/meta.js';
import { realClock, type Clock } from '../util/clock.js';
import { validateObjectMeta } from './validate-meta.js';
import type { CachedObject, WatchCache } from './watch-cache.js';

/** Who is asking, as authentication found. */
export interface UserInfo {
  name: string;
  uid?: string;
  groups: string[];
  /** Extra attributes (authentication.k8s.io `extra`), e.g. the pod a ServiceAccount token is bound to. */
  extra?: Record<string, string[]>;
}

export interface WriteContext {
  user: UserInfo;
  /** Set for admission: the subresource written ('status', 'binding', …; '' or absent for the object). */
  subresource?: string;
  dryRun?: boolean;
  fieldManager?: string;
  /** Warnings admission adds for the client (sent as `Warning` headers; kubectl prints them). */
  warnings?: string[];
  /** Annotations admission adds to the request's audit event (pod-security.kubernetes.io/…). */
  auditAnnotations?: Record<string, string>;
}

export interface DeleteOptions {
  propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
  gracePeriodSeconds?: number;
  orphanDependents?: boolean;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: string[];
}

export type AdmissionOperation = 'CREATE' | 'UPDATE' | 'DELETE';

/** A mutating+validating admission step; may change `obj` or throw a StatusError. */
export type AdmissionPlugin = (op: AdmissionOperation, def: ResourceDef, obj: KObject, old: KObject | undefined, ctx: WriteContext) => void | Promise<void>;

export function groupResource(def: ResourceDef): GroupResource {
  return { group: def.group, resource: def.plural };
}

/**
 * Drops null members from objects (not from arrays): built-in types cannot tell null from absent,
 * so neither do we. Without this, `creationTimestamp: null` in a template (as kubectl sends it)
 * would make two equal templates differ.
 */
export function pruneNulls(v: unknown): void {
  if (Array.isArray(v)) {
    for (const x of v) pruneNulls(x);
  } else if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      if (o[k] === null) delete o[k];
      else pruneNulls(o[k]);
    }
  }
}

/** Fields of an object that are neither metadata nor status: what bumps generation. */
function specPart(obj: KObject): Record<string, unknown> {
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = obj;
  return rest;
}

export class ObjectStorage {
  private readonly admission: AdmissionPlugin[] = [];

  constructor(
    private readonly store: Store,
    readonly cache: WatchCache,
    readonly registry: Registry,
    private readonly clock: Pick<Clock, 'now'> = realClock,
  ) {}

  addAdmission(plugin: AdmissionPlugin): void {
    this.admission.push(plugin);
  }

  get(def: ResourceDef, namespace: string, name: string): CachedObject {
    const o = this.cache.get(def, namespace, name);
    if (!o) throw notFound(groupResource(def), name);
    return o;
  }

  /** Checks that a namespaced write targets an existing, active namespace. */
  private checkNamespace(def: ResourceDef, namespace: string, name: string): void {
    if (!def.namespaced) return;
    const nsDef = this.registry.byKind('', 'Namespace')!;
    const ns = this.cache.get(nsDef, '', namespace);
    if (!ns) throw notFound({ group: '', resource: 'namespaces' }, namespace);
    if (ns.obj.metadata?.deletionTimestamp) {
      const err = forbidden(
        groupResource(def),
        name,
        `unable to create new content in namespace ${namespace} because it is being terminated`,
      );
      err.details!.causes = [{ reason: 'NamespaceTerminating', message: `namespace ${namespace} is being terminated`, field: 'metadata.namespace' }];
      throw err;
    }
  }

  private validate(def: ResourceDef, obj: KObject, old?: KObject): void {
    const errs: FieldError[] = validateObjectMeta(obj, def, old);
    if (old) errs.push(...(def.strategy.validateUpdate?.(obj, old) ?? def.strategy.validate?.(obj) ?? []));
    else errs.push(...(def.strategy.validate?.(obj) ?? []));
    if (errs.length) throw invalid(def.group, def.kind, obj.metadata?.name ?? obj.metadata?.generateName ?? '', errs);
  }

  /** Creates an object; returns the stored object (with resourceVersion). */
  async create(def: ResourceDef, namespace: string, input: KObject, ctx: WriteContext): Promise<KObject> {
    const obj = input;
    const md = (obj.metadata ??= {});
    if (def.namespaced) {
      if (md.namespace && md.namespace !== namespace) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      md.namespace = namespace;
    } else {
      delete md.namespace;
    }
    obj.apiVersion = groupVersion(def.group, def.versions[0]);
    obj.kind = def.kind;
    if (!md.name && !md.generateName) {
      throw invalid(def.group, def.kind, '', [fieldErrors.required('metadata.name', 'name or generateName is required')]);
    }
    const now = this.clock.now();
    md.uid = newUid();
    md.creationTimestamp = rfc3339(now);
    delete md.resourceVersion;
    delete md.deletionTimestamp;
    delete md.deletionGracePeriodSeconds;
    delete md.managedFields;
    delete md.selfLink;
    if (def.strategy.tracksGeneration) md.generation = 1;
    else delete md.generation;
    pruneNulls(obj);
    def.strategy.defaults?.(obj);
    def.strategy.prepareForCreate?.(obj);
    // As upstream's BeforeCreate: the name is generated before validation sees it.
    const nameGenerated = !md.name;
    if (nameGenerated) md.name = generateName(md.generateName!);
    // Report a duplicate before admission runs, so allocations (ClusterIPs) don't mask it.
    if (!nameGenerated && this.cache.get(def, def.namespaced ? namespace : '', md.name!)) throw alreadyExists(groupResource(def), md.name!);
    for (const a of this.admission) await a('CREATE', def, obj, undefined, ctx);
    this.checkNamespace(def, namespace, md.name!);
    this.validate(def, obj);
    if (ctx.dryRun) {
      if (this.cache.get(def, namespace, md.name!)) throw alreadyExists(groupResource(def), md.name!);
      return obj;
    }
    // A generated name may collide; upstream leaves the retry to clients, we retry a few times here.
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) md.name = generateName(md.generateName!);
      try {
        const kv = await this.store.create(storageKey(def, namespace, md.name!), JSON.stringify(obj));
        await this.cache.waitFor(kv.modRevision);
        md.resourceVersion = String(kv.modRevision);
        return obj;
      } catch (err) {
        if (err instanceof StoreError && err.code === 'KeyExists') {
          if (nameGenerated && attempt < 5) continue;
          throw alreadyExists(groupResource(def), md.name!);
        }
        throw err;
      }
    }
  }

  /**
   * Replaces an object (PUT). `subresource` 'status' changes only status; '' changes everything
   * but status (when the resource has a status subresource). `mutate`, when given, derives the
   * new object from the current one and is re-run on conflicts (patch).
   */
  async update(
    def: ResourceDef,
    namespace: string,
    name: string,
    next: KObject | ((current: KObject) => KObject | Promise<KObject>),
    ctx: WriteContext,
    subresource = '',
    createIfMissing?: () => Promise<KObject>,
  ): Promise<KObject> {
    const gr = groupResource(def);
    for (let attempt = 0; attempt < 20; attempt++) {
      const current = this.cache.get(def, namespace, name);
      if (!current) {
        if (createIfMissing) return createIfMissing();
        throw notFound(gr, name);
      }
      const old = current.obj;
      const proposed = typeof next === 'function' ? await next(clone(old)) : clone(next);
      const md = (proposed.metadata ??= {});
      if (md.name !== undefined && md.name !== name) {
        throw badRequest(`the name of the object (${md.name}) does not match the name on the URL (${name})`);
      }
      if (def.namespaced && md.namespace && md.namespace !== namespace) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      // Optimistic concurrency: a resourceVersion in the body must match; none means "whatever is current".
      const expected = md.resourceVersion ? Number(md.resourceVersion) : current.rv;
      if (md.resourceVersion && !/^\d+$/.test(md.resourceVersion)) {
        throw badRequest(`invalid resourceVersion ${JSON.stringify(md.resourceVersion)}`);
      }
      if (expected !== current.rv) {
        if (typeof next !== 'function' && md.resourceVersion) throw conflict(gr, name);
        // A patch computed against a newer cache than a stale body: give up like upstream does for explicit RVs.
        if (md.resourceVersion) throw conflict(gr, name);
      }
      pruneNulls(proposed);
      const obj = this.mergeForUpdate(def, proposed, old, subresource);
      const omd = obj.metadata!;
      // Subresources (status, binding, finalize) have their own narrow rules: only the main
      // resource bumps generation and runs the strategy's update hooks and validation.
      const main = subresource === '';
      if (main && def.strategy.tracksGeneration && !jsonEqual(specPart(obj), specPart(old))) {
        omd.generation = (old.metadata?.generation ?? 0) + 1;
      }
      def.strategy.defaults?.(obj);
      if (main) def.strategy.prepareForUpdate?.(obj, old);
      if (main || subresource === 'status') {
        for (const a of this.admission) await a('UPDATE', def, obj, old, { ...ctx, subresource });
      }
      if (main) this.validate(def, obj, old);
      else {
        const errs = validateObjectMeta(obj, def, old);
        if (errs.length) throw invalid(def.group, def.kind, name, errs);
      }
      delete omd.resourceVersion;
      const oldNoRv = { ...old, metadata: { ...old.metadata, resourceVersion: undefined } };
      if (jsonEqual(obj, oldNoRv)) {
        return old; // no-op: no write, no new resourceVersion, as upstream
      }
      if (ctx.dryRun) {
        omd.resourceVersion = String(current.rv);
        return obj;
      }
      const key = storageKey(def, namespace, name);
      try {
        if (this.shouldDeleteNow(def, obj)) {
          const kv = await this.store.delete(key, current.rv);
          await this.cache.waitFor(kv.modRevision);
          omd.resourceVersion = String(kv.modRevision);
          return obj;
        }
        const kv = await this.store.update(key, JSON.stringify(obj), current.rv);
        await this.cache.waitFor(kv.modRevision);
        omd.resourceVersion = String(kv.modRevision);
        return obj;
      } catch (err) {
        if (err instanceof StoreError && err.code === 'Conflict') {
          // A body's explicit resourceVersion lost the race. A patch (`next` is a function) carries the
          // current object's resourceVersion unless the patch itself set one, and the retry's check
          // above tells the two apart: retry it on the newer object, as upstream's GuaranteedUpdate.
          if (md.resourceVersion && typeof next !== 'function') throw conflict(gr, name);
          await this.cache.waitFor(err.current?.modRevision ?? 0);
          continue; // unconditional update or patch: retry on the newer object
        }
        if (err instanceof StoreError && err.code === 'NotFound') throw notFound(gr, name);
        throw err;
      }
    }
    throw conflict(gr, name, 'too many concurrent updates');
  }

  /** Applies status/spec separation and keeps immutable metadata. */
  private mergeForUpdate(def: ResourceDef, proposed: KObject, old: KObject, subresource: string): KObject {
    let obj: KObject;
    if (subresource === 'status') {
      obj = clone(old);
      if (proposed.status !== undefined) obj.status = proposed.status;
      else delete obj.status;
      // Upstream status strategies keep the spec but accept label and annotation changes
      // (the deployment controller records revisions this way without bumping generation).
      const pmd = proposed.metadata ?? {};
      obj.metadata!.labels = pmd.labels;
      obj.metadata!.annotations = pmd.annotations;
      if (obj.metadata!.labels === undefined) delete obj.metadata!.labels;
      if (obj.metadata!.annotations === undefined) delete obj.metadata!.annotations;
      obj.metadata!.resourceVersion = pmd.resourceVersion;
    } else if (subresource === 'approval') {
      // CertificateSigningRequest approval: only the conditions change (Approved, Denied).
      obj = clone(old);
      const conditions = (proposed.status as { conditions?: unknown } | undefined)?.conditions;
      obj.status = { ...((old.status as object | undefined) ?? {}), conditions };
      if (conditions === undefined) delete (obj.status as { conditions?: unknown }).conditions;
      obj.metadata!.resourceVersion = proposed.metadata?.resourceVersion;
    } else if (subresource === 'finalize') {
      obj = clone(old);
      obj.spec = { ...(old.spec as object), finalizers: (proposed.spec as { finalizers?: string[] } | undefined)?.finalizers ?? [] };
      obj.metadata!.resourceVersion = proposed.metadata?.resourceVersion;
    } else {
      obj = proposed;
      if (def.strategy.hasStatus) {
        if (old.status !== undefined) obj.status = clone(old.status);
        else delete obj.status;
      }
    }
    obj.apiVersion = groupVersion(def.group, def.versions[0]);
    obj.kind = def.kind;
    const md = (obj.metadata ??= {});
    const omd = old.metadata ?? {};
    md.name = omd.name;
    if (def.namespaced) md.namespace = omd.namespace;
    md.uid = omd.uid;
    md.creationTimestamp = omd.creationTimestamp;
    md.deletionTimestamp = omd.deletionTimestamp;
    md.deletionGracePeriodSeconds = omd.deletionGracePeriodSeconds;
    if (omd.generation !== undefined) md.generation = omd.generation;
    else delete md.generation;
    if (md.deletionTimestamp === undefined) delete md.deletionTimestamp;
    if (md.deletionGracePeriodSeconds === undefined) delete md.deletionGracePeriodSeconds;
    delete md.managedFields;
    delete md.selfLink;
    return obj;
  }

  /**
   * An object being deleted whose last finalizer is gone is removed once its grace period is
   * over (pods wait for their kubelet); the strategy's own finalizers (namespaces) count too.
   */
  private shouldDeleteNow(def: ResourceDef, obj: KObject): boolean {
    const md = obj.metadata!;
    if (!md.deletionTimestamp || (md.finalizers?.length ?? 0) > 0) return false;
    if (def.strategy.deletionFinalizers) return def.strategy.deletionFinalizers(obj).length === 0;
    return (md.deletionGracePeriodSeconds ?? 0) === 0;
  }

  /** DELETE with graceful termination, finalizers and propagation policy. */
  async delete(def: ResourceDef, namespace: string, name: string, opts: DeleteOptions, ctx: WriteContext): Promise<{ obj: KObject; pending: boolean }> {
    const gr = groupResource(def);
    for (let attempt = 0; attempt < 20; attempt++) {
      const current = this.cache.get(def, namespace, name);
      if (!current) throw notFound(gr, name);
      const old = current.obj;
      const pre = opts.preconditions;
      if (pre?.uid && pre.uid !== old.metadata?.uid) {
        throw conflict(gr, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${old.metadata?.uid}`);
      }
      if (pre?.resourceVersion && pre.resourceVersion !== old.metadata?.resourceVersion) {
        throw conflict(gr, name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${old.metadata?.resourceVersion}`);
      }
      for (const a of this.admission) await a('DELETE', def, old, old, ctx);
      const obj = clone(old);
      const md = obj.metadata!;
      let changed = false;
      const now = this.clock.now();

      // Graceful deletion (pods bound to a node and not yet finished).
      const grace = def.strategy.checkGracefulDelete?.(obj, opts.gracePeriodSeconds) ?? 0;
      if (grace > 0) {
        if (!md.deletionTimestamp || (md.deletionGracePeriodSeconds ?? Infinity) > grace) {
          md.deletionTimestamp = rfc3339(now + grace * 1000);
          md.deletionGracePeriodSeconds = grace;
          changed = true;
        }
      }

      // Finalizers for the garbage collector's propagation policies.
      const policy = opts.propagationPolicy ?? (opts.orphanDependents === true ? 'Orphan' : opts.orphanDependents === false ? 'Background' : undefined);
      const fins = new Set(md.finalizers ?? []);
      if (!md.deletionTimestamp || grace > 0 || policy) {
        if (policy === 'Orphan') {
          if (!fins.has('orphan')) changed = true;
          fins.add('orphan');
          fins.delete('foregroundDeletion');
        } else if (policy === 'Foreground') {
          if (!fins.has('foregroundDeletion')) changed = true;
          fins.add('foregroundDeletion');
          fins.delete('orphan');
        } else if (policy === 'Background' && (fins.has('orphan') || fins.has('foregroundDeletion'))) {
          fins.delete('orphan');
          fins.delete('foregroundDeletion');
          changed = true;
        }
      }
      if (fins.size) md.finalizers = [...fins];
      else delete md.finalizers;

      const strategyFinalizers = def.strategy.deletionFinalizers?.(obj) ?? [];
      const mustWait = fins.size > 0 || grace > 0 || strategyFinalizers.length > 0;
      if (mustWait) {
        if (!md.deletionTimestamp) {
          md.deletionTimestamp = rfc3339(now);
          md.deletionGracePeriodSeconds = 0;
          changed = true;
        }
        if (def.strategy.prepareForDelete?.(obj)) changed = true;
        if (!changed) return { obj: old, pending: true };
        if (ctx.dryRun) return { obj, pending: true };
        delete md.resourceVersion;
        const key = storageKey(def, namespace, name);
        const rv = await this.compareAndSwap(gr, name, () => this.store.update(key, JSON.stringify(obj), current.rv));
        if (rv === undefined) continue;
        md.resourceVersion = String(rv);
        return { obj, pending: true };
      }
      if (ctx.dryRun) return { obj: old, pending: false };
      const rv = await this.compareAndSwap(gr, name, () => this.store.delete(storageKey(def, namespace, name), current.rv));
      if (rv === undefined) continue;
      md.resourceVersion = String(rv);
      return { obj, pending: false };
    }
    throw conflict(gr, name, 'too many concurrent updates');
  }

  /**
   * Runs one compare-and-swap write and waits until the cache has it. Returns the new revision,
   * or undefined when someone else wrote first (the caller re-reads and retries).
   */
  private async compareAndSwap(gr: GroupResource, name: string, write: () => Promise<{ modRevision: number }>): Promise<number | undefined> {
    try {
      const kv = await write();
      await this.cache.waitFor(kv.modRevision);
      return kv.modRevision;
    } catch (err) {
      if (err instanceof StoreError && err.code === 'Conflict') {
        await this.cache.waitFor(err.current?.modRevision ?? 0);
        return undefined;
      }
      if (err instanceof StoreError && err.code === 'NotFound') throw notFound(gr, name);
      throw err;
    }
  }
}
