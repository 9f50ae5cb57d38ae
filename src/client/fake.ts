/**
 * An in-memory {@link Client} for unit tests: one global resourceVersion, uid/generateName/
 * creationTimestamp on create, generation bumped on spec changes, 409 on a stale
 * resourceVersion, label and simple field selectors, watches that replay from a
 * resourceVersion (410 Expired after `compact()`), finalizers and deletionTimestamp,
 * Foreground/Orphan deletion adding their finalizers, and the namespace finalize subresource.
 * It does no garbage collection itself: that is the garbage collector's job, as upstream.
 */
import fastJsonPatch from 'fast-json-patch';
import { alreadyExists, badRequest, conflict, expired, notFound, StatusError } from '../api/errors.js';
import { parseSelector } from '../api/labels.js';
import { generateName as genName, newUid } from '../api/meta.js';
import { realClock, rfc3339, type Clock } from './clock.js';
import type {
  Client, DeleteOptions, KObject, ListOptions, ObjectList, PatchType, ResourceRef, WatchEvent, WatchOptions, WriteOptions,
} from './types.js';

/** One call made to the fake, recorded for assertions. */
export interface FakeAction {
  verb: 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete';
  resource: string;
  namespace?: string;
  name?: string;
  subresource?: string;
  object?: unknown;
}

/** Returns an error to make the call fail, or nothing to let it through. */
export type Reactor = (a: FakeAction) => Error | undefined | void;

interface Stored { ref: ResourceRef; obj: KObject }
interface HistoryEntry { rv: number; rkey: string; type: 'ADDED' | 'MODIFIED' | 'DELETED'; obj: KObject; prev?: KObject }
interface Watcher {
  rkey: string;
  namespace?: string;
  match: (o: KObject) => boolean;
  onEvent: (e: WatchEvent<unknown>) => void;
  onClose: (err?: Error) => void;
  closed: boolean;
  pending: Promise<void>;
}

const clone = <T>(o: T): T => (o === undefined ? o : (JSON.parse(JSON.stringify(o)) as T));
const rkeyOf = (r: ResourceRef) => `${r.group}/${r.resource}`;
const gr = (r: ResourceRef) => ({ group: r.group, resource: r.resource });

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return clone(patch);
  const out: Record<string, unknown> = target && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function getField(obj: unknown, path: string): string {
  let cur: unknown = obj;
  for (const p of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return '';
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur === undefined || cur === null ? '' : String(cur);
}

/** Field selectors as `a=b,c!=d` (also `==`), over any dotted path. */
function parseFieldSelector(s: string | undefined): (o: KObject) => boolean {
  if (!s) return () => true;
  const reqs = s.split(',').filter(Boolean).map((term) => {
    const m = /^([^!=]+)(==|!=|=)(.*)$/.exec(term.trim());
    if (!m) throw badRequest(`invalid field selector: ${term}`);
    return { path: m[1], neg: m[2] === '!=', value: m[3] };
  });
  return (o) => reqs.every((r) => (getField(o, r.path) === r.value) !== r.neg);
}

function specChanged(a: KObject, b: KObject): boolean {
  const strip = (o: KObject) => { const { metadata: _m, status: _s, ...rest } = o; return JSON.stringify(rest); };
  return strip(a) !== strip(b);
}

export interface FakeClientOptions { clock?: Clock }

/** An in-memory API server stand-in implementing {@link Client}. */
export class FakeClient implements Client {
  readonly clock: Clock;
  /** Every call, in order. */
  readonly actions: FakeAction[] = [];
  private reactors: Reactor[] = [];
  private rv = 0;
  private compactedRv = 0;
  private store = new Map<string, Map<string, Stored>>();
  private history: HistoryEntry[] = [];
  private watchers = new Set<Watcher>();

  constructor(opts: FakeClientOptions = {}) {
    this.clock = opts.clock ?? realClock;
  }

  /** Installs a hook run before every call; returning an error fails the call. */
  prependReactor(r: Reactor): () => void {
    this.reactors.unshift(r);
    return () => { this.reactors = this.reactors.filter((x) => x !== r); };
  }

  /** Forgets the event history so watches from older resourceVersions get 410 Expired. */
  compact(): void {
    this.compactedRv = this.rv;
    this.history = [];
  }

  /** Ends every open watch (as a server restart would), without error. */
  closeWatches(err?: Error): void {
    for (const w of [...this.watchers]) this.closeWatcher(w, err);
  }

  /** Synchronous snapshot of stored objects (clones), for assertions. */
  objects<T = KObject>(r: ResourceRef, namespace?: string): T[] {
    const m = this.store.get(rkeyOf(r));
    if (!m) return [];
    return [...m.values()].map((s) => s.obj).filter((o) => !namespace || o.metadata?.namespace === namespace)
      .sort((a, b) => `${a.metadata?.namespace}/${a.metadata?.name}`.localeCompare(`${b.metadata?.namespace}/${b.metadata?.name}`))
      .map((o) => clone(o) as T);
  }

  /** Synchronous read of one stored object (clone) or undefined. */
  peek<T = KObject>(r: ResourceRef, namespace: string | undefined, name: string): T | undefined {
    const s = this.store.get(rkeyOf(r))?.get(this.okey(r, namespace, name));
    return s ? (clone(s.obj) as T) : undefined;
  }

  /** Number of actions with this verb (and resource, if given) since the last clearActions. */
  count(verb: FakeAction['verb'], resource?: string): number {
    return this.actions.filter((a) => a.verb === verb && (!resource || a.resource === resource)).length;
  }

  clearActions(): void { this.actions.length = 0; }

  /** The current global resourceVersion (changes on every write). */
  resourceVersion(): number { return this.rv; }

  async get<T>(r: ResourceRef, namespace: string | undefined, name: string, opts?: { subresource?: string }): Promise<T> {
    this.react({ verb: 'get', resource: r.resource, namespace, name, subresource: opts?.subresource });
    const s = this.store.get(rkeyOf(r))?.get(this.okey(r, namespace, name));
    if (!s) throw notFound(gr(r), name);
    return clone(s.obj) as T;
  }

  async list<T>(r: ResourceRef, namespace: string | undefined, opts: ListOptions = {}): Promise<ObjectList<T>> {
    this.react({ verb: 'list', resource: r.resource, namespace });
    const match = this.matcher(r, namespace, opts);
    const all = this.objects(r).filter(match);
    let start = 0;
    if (opts.continue) start = Number(Buffer.from(opts.continue, 'base64').toString());
    const end = opts.limit ? start + opts.limit : all.length;
    const items = all.slice(start, end);
    const meta: ObjectList<T>['metadata'] = { resourceVersion: String(this.rv) };
    if (end < all.length) meta.continue = Buffer.from(String(end)).toString('base64');
    return { metadata: meta, items: items as T[] };
  }

  watch<T>(r: ResourceRef, namespace: string | undefined, opts: WatchOptions, onEvent: (e: WatchEvent<T>) => void, onClose: (err?: Error) => void): { cancel(): void } {
    const w: Watcher = {
      rkey: rkeyOf(r), namespace, match: () => false,
      onEvent: onEvent as (e: WatchEvent<unknown>) => void, onClose, closed: false, pending: Promise.resolve(),
    };
    try {
      this.react({ verb: 'watch', resource: r.resource, namespace });
      w.match = this.matcher(r, namespace, opts);
    } catch (err) {
      this.deliver(w, () => this.closeWatcher(w, err as Error));
      return { cancel: () => {} };
    }
    const from = opts.resourceVersion && opts.resourceVersion !== '0' ? Number(opts.resourceVersion) : undefined;
    if (from !== undefined && from < this.compactedRv) {
      const err = expired(`too old resource version: ${from} (${this.compactedRv})`);
      this.deliver(w, () => {
        w.onEvent({ type: 'ERROR', object: err.toStatus() });
        this.closeWatcher(w, err);
      });
      return { cancel: () => this.closeWatcher(w) };
    }
    this.watchers.add(w);
    if (from === undefined) {
      // Without a resourceVersion a watch starts with synthetic ADDED events for what exists.
      for (const o of this.objects(r).filter(w.match)) this.deliver(w, () => w.onEvent({ type: 'ADDED', object: o }));
    } else {
      for (const h of this.history) if (h.rv > from && h.rkey === w.rkey) this.send(w, h);
    }
    return { cancel: () => this.closeWatcher(w) };
  }

  async create<T>(r: ResourceRef, namespace: string | undefined, obj: T, opts: WriteOptions & { name?: string } = {}): Promise<T> {
    const o = clone(obj) as KObject;
    this.react({ verb: 'create', resource: r.resource, namespace, name: opts.name ?? o.metadata?.name, subresource: opts.subresource, object: o });
    if (opts.subresource) return this.createSubresource(r, namespace, opts.name ?? '', opts.subresource, o) as Promise<T>;
    const md = (o.metadata ??= {});
    if (!md.name && md.generateName) md.name = genName(md.generateName);
    if (!md.name) throw new StatusError(422, 'Invalid', `${r.kind} "" is invalid: metadata.name: Required value: name or generateName is required`);
    const ns = r.namespaced ? (namespace ?? md.namespace ?? 'default') : undefined;
    if (r.namespaced && md.namespace && namespace && md.namespace !== namespace) throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    const key = this.okey(r, ns, md.name);
    const m = this.bucket(r);
    if (m.has(key)) throw alreadyExists(gr(r), md.name);
    if (ns !== undefined) md.namespace = ns; else delete md.namespace;
    o.apiVersion = r.group ? `${r.group}/${r.version}` : r.version;
    o.kind = r.kind;
    md.uid = newUid();
    md.creationTimestamp = rfc3339(this.clock.now());
    md.generation = 1;
    delete md.deletionTimestamp;
    if (r.resource === 'namespaces') {
      const spec = ((o as { spec?: { finalizers?: string[] } }).spec ??= {});
      spec.finalizers ??= ['kubernetes'];
      (o as { status?: { phase?: string } }).status = { phase: 'Active' };
    }
    if (opts.dryRun) return clone(o) as T;
    md.resourceVersion = String(++this.rv);
    m.set(key, { ref: r, obj: o });
    this.record(r, 'ADDED', o);
    return clone(o) as T;
  }

  async update<T>(r: ResourceRef, namespace: string | undefined, obj: T, opts: WriteOptions = {}): Promise<T> {
    const o = clone(obj) as KObject;
    const name = o.metadata?.name ?? '';
    this.react({ verb: 'update', resource: r.resource, namespace, name, subresource: opts.subresource, object: o });
    return this.doUpdate(r, namespace ?? o.metadata?.namespace, name, o, opts) as T;
  }

  async patch<T>(r: ResourceRef, namespace: string | undefined, name: string, type: PatchType, body: unknown, opts: WriteOptions = {}): Promise<T> {
    this.react({ verb: 'patch', resource: r.resource, namespace, name, subresource: opts.subresource, object: body });
    const s = this.store.get(rkeyOf(r))?.get(this.okey(r, namespace, name));
    if (!s) {
      if (type === 'apply') return this.create(r, namespace, body as T, opts);
      throw notFound(gr(r), name);
    }
    let next: KObject;
    if (type === 'json') {
      next = fastJsonPatch.applyPatch(clone(s.obj), body as fastJsonPatch.Operation[], false, true).newDocument as KObject;
    } else {
      // strategic and apply are approximated by a merge patch: enough for controllers' own patches.
      next = mergePatch(s.obj, body) as KObject;
    }
    // A patch is unconditional unless it names a resourceVersion itself.
    const patchRv = (body as KObject | undefined)?.metadata?.resourceVersion;
    if (!patchRv && next.metadata) next.metadata.resourceVersion = s.obj.metadata?.resourceVersion;
    return this.doUpdate(r, namespace, name, next, opts) as T;
  }

  async delete<T = unknown>(r: ResourceRef, namespace: string | undefined, name: string, opts: DeleteOptions = {}): Promise<T> {
    this.react({ verb: 'delete', resource: r.resource, namespace, name });
    const m = this.bucket(r);
    const key = this.okey(r, namespace, name);
    const s = m.get(key);
    if (!s) throw notFound(gr(r), name);
    const cur = s.obj;
    const pre = opts.preconditions;
    if (pre?.uid && pre.uid !== cur.metadata?.uid) throw conflict(gr(r), name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${cur.metadata?.uid}`);
    if (pre?.resourceVersion && pre.resourceVersion !== cur.metadata?.resourceVersion) throw conflict(gr(r), name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${cur.metadata?.resourceVersion}`);
    if (opts.dryRun) return clone(cur) as T;
    const next = clone(cur);
    const md = next.metadata!;
    const fin = new Set(md.finalizers ?? []);
    if (opts.propagationPolicy === 'Foreground') { fin.add('foregroundDeletion'); fin.delete('orphan'); }
    if (opts.propagationPolicy === 'Orphan') { fin.add('orphan'); fin.delete('foregroundDeletion'); }
    const nsFinalizers = r.resource === 'namespaces' ? ((next as { spec?: { finalizers?: string[] } }).spec?.finalizers ?? []) : [];
    if (fin.size === 0 && nsFinalizers.length === 0) {
      m.delete(key);
      md.resourceVersion = String(++this.rv);
      this.record(r, 'DELETED', next, cur);
      return next as T;
    }
    if (fin.size) md.finalizers = [...fin];
    md.deletionTimestamp ??= rfc3339(this.clock.now());
    md.deletionGracePeriodSeconds ??= 0;
    if (r.resource === 'namespaces') ((next as { status?: { phase?: string } }).status ??= {}).phase = 'Terminating';
    md.resourceVersion = String(++this.rv);
    s.obj = next;
    this.record(r, 'MODIFIED', next, cur);
    return clone(next) as T;
  }

  // ---------------------------------------------------------------------------

  private doUpdate(r: ResourceRef, namespace: string | undefined, name: string, o: KObject, opts: WriteOptions): KObject {
    const m = this.bucket(r);
    const key = this.okey(r, namespace, name);
    const s = m.get(key);
    if (!s) throw notFound(gr(r), name);
    const cur = s.obj;
    const rv = o.metadata?.resourceVersion;
    if (rv && rv !== cur.metadata?.resourceVersion) throw conflict(gr(r), name);
    let next: KObject;
    const sub = opts.subresource;
    if (sub === 'status') {
      // As the API server: status plus label/annotation changes, nothing else.
      next = { ...clone(cur), status: clone(o.status) };
      const md = (next.metadata ??= {});
      if (o.metadata?.labels !== undefined) md.labels = clone(o.metadata.labels); else delete md.labels;
      if (o.metadata?.annotations !== undefined) md.annotations = clone(o.metadata.annotations); else delete md.annotations;
    } else if (sub === 'finalize') {
      next = clone(cur);
      (next as { spec?: Record<string, unknown> }).spec = { ...((cur as { spec?: Record<string, unknown> }).spec ?? {}), finalizers: (o as { spec?: { finalizers?: string[] } }).spec?.finalizers ?? [] };
    } else if (sub === 'scale') {
      next = clone(cur);
      const replicas = (o as { spec?: { replicas?: number } }).spec?.replicas;
      ((next as { spec?: Record<string, unknown> }).spec ??= {}).replicas = replicas;
    } else {
      next = clone(o);
      // Status is written only through the status subresource.
      if ('status' in cur) next.status = clone(cur.status); else delete next.status;
      const md = (next.metadata ??= {});
      for (const f of ['uid', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'namespace', 'name', 'generation'] as const) {
        const v = cur.metadata?.[f];
        if (v === undefined) delete md[f]; else (md as Record<string, unknown>)[f] = v;
      }
    }
    next.apiVersion = cur.apiVersion;
    next.kind = cur.kind;
    const md = next.metadata!;
    if (specChanged(cur, next)) md.generation = (cur.metadata?.generation ?? 0) + 1;
    if (JSON.stringify(next) === JSON.stringify({ ...cur, metadata: { ...cur.metadata, resourceVersion: md.resourceVersion } })) {
      // A no-op write does not bump the resourceVersion, as upstream.
      return clone(cur);
    }
    if (opts.dryRun) return clone(next);
    md.resourceVersion = String(++this.rv);
    if (md.finalizers && md.finalizers.length === 0) delete md.finalizers;
    const nsFin = r.resource === 'namespaces' ? ((next as { spec?: { finalizers?: string[] } }).spec?.finalizers ?? []) : [];
    if (md.deletionTimestamp && !md.finalizers?.length && !nsFin.length) {
      m.delete(key);
      this.record(r, 'DELETED', next, cur);
      return clone(next);
    }
    s.obj = next;
    this.record(r, 'MODIFIED', next, cur);
    return clone(next);
  }

  private async createSubresource(r: ResourceRef, namespace: string | undefined, name: string, sub: string, body: KObject): Promise<unknown> {
    if (r.resource === 'pods' && sub === 'binding') {
      const pod = this.store.get(rkeyOf(r))?.get(this.okey(r, namespace, name))?.obj;
      if (!pod) throw notFound(gr(r), name);
      const next = clone(pod) as KObject & { spec?: { nodeName?: string } };
      (next.spec ??= {}).nodeName = (body as { target?: { name?: string } }).target?.name;
      this.doUpdate(r, namespace, name, next, {});
      return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 };
    }
    if (r.resource === 'pods' && sub === 'eviction') {
      await this.delete(r, namespace, name, (body as { deleteOptions?: DeleteOptions }).deleteOptions);
      return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 };
    }
    throw notFound(gr(r), `${name}/${sub}`);
  }

  private react(a: FakeAction): void {
    this.actions.push(a);
    for (const r of this.reactors) {
      const err = r(a);
      if (err) throw err;
    }
  }

  private okey(r: ResourceRef, namespace: string | undefined, name: string): string {
    return r.namespaced ? `${namespace ?? 'default'}/${name}` : name;
  }

  private bucket(r: ResourceRef): Map<string, Stored> {
    let m = this.store.get(rkeyOf(r));
    if (!m) this.store.set(rkeyOf(r), (m = new Map()));
    return m;
  }

  private matcher(r: ResourceRef, namespace: string | undefined, opts: ListOptions): (o: KObject) => boolean {
    const sel = opts.labelSelector ? parseSelector(opts.labelSelector) : undefined;
    const fields = parseFieldSelector(opts.fieldSelector);
    return (o) => (!r.namespaced || !namespace || o.metadata?.namespace === namespace)
      && (!sel || sel.matches(o.metadata?.labels)) && fields(o);
  }

  private record(r: ResourceRef, type: HistoryEntry['type'], obj: KObject, prev?: KObject): void {
    const h: HistoryEntry = { rv: this.rv, rkey: rkeyOf(r), type, obj: clone(obj), prev: prev && clone(prev) };
    this.history.push(h);
    for (const w of this.watchers) if (w.rkey === h.rkey) this.send(w, h);
  }

  /** Sends a history entry to a watcher, turning selector transitions into ADDED/DELETED as the API server does. */
  private send(w: Watcher, h: HistoryEntry): void {
    const now = w.match(h.obj);
    const before = h.prev ? w.match(h.prev) : false;
    let type = h.type;
    if (h.type === 'MODIFIED') {
      if (now && !before) type = 'ADDED';
      else if (!now && before) type = 'DELETED';
      else if (!now) return;
    } else if (!now) return;
    const object = clone(h.obj);
    this.deliver(w, () => w.onEvent({ type, object }));
  }

  /** Delivers asynchronously and in order, like events arriving over a connection. */
  private deliver(w: Watcher, fn: () => void): void {
    w.pending = w.pending.then(() => { if (!w.closed) fn(); });
  }

  private closeWatcher(w: Watcher, err?: Error): void {
    if (w.closed) return;
    w.closed = true;
    this.watchers.delete(w);
    queueMicrotask(() => w.onClose(err));
  }
}
