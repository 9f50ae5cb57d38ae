/**
 * Informers, after client-go tools/cache: a reflector lists a resource, then watches from the
 * list's resourceVersion, keeping a local cache current and calling handlers for every change.
 * On 410 Expired (or any watch error) it relists with backoff and reconciles the cache against
 * the fresh list; a watch that simply ends is resumed from the last resourceVersion seen.
 * Cached objects are deep-frozen: controllers must structuredClone before changing anything.
 * {@link SharedInformerFactory} hands out one informer per resource so every controller shares it.
 */
import type { Selector } from '../api/labels.js';
import { isReason, StatusError } from '../api/errors.js';
import { realClock, type Clock } from '../util/clock.js';
import type { Client, KObject, ResourceRef, WatchEvent } from './types.js';

/** Callbacks for cache changes. Objects passed in are frozen cache entries. */
export interface EventHandlers<T> {
  onAdd?(obj: T): void;
  onUpdate?(oldObj: T, newObj: T): void;
  onDelete?(obj: T): void;
}

/** Returns the index values of an object (e.g. its namespace, its owner's uid). */
export type IndexFunc<T> = (obj: T) => string[];

export interface InformerOptions {
  /** Only this namespace (default: all). */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  clock?: Clock;
  /** Page size of the initial list. */
  pageSize?: number;
  /** First and longest wait before relisting after a failure (client-go: 800 ms → 30 s). */
  backoffInitialMs?: number;
  backoffMaxMs?: number;
}

/** "namespace/name", or "name" for cluster-scoped objects: the key of caches and work queues. */
export function keyOf(obj: KObject): string {
  const md = obj.metadata ?? {};
  return md.namespace ? `${md.namespace}/${md.name}` : `${md.name}`;
}

/** Splits a key made by {@link keyOf}. */
export function splitKey(key: string): { namespace?: string; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o as object)) deepFreeze(v);
  }
  return o;
}

/** The built-in index names. */
export const INDEX_NAMESPACE = 'namespace';
export const INDEX_OWNER_UID = 'owner-uid';
export const INDEX_NODE = 'node';
/** Namespace of objects that have no controller ownerReference: what controllers may adopt. */
export const INDEX_ORPHAN_NAMESPACE = 'orphan-namespace';

/** A list+watch cache of one resource with indexes and change handlers. */
export class Informer<T extends KObject = KObject> {
  readonly ref: ResourceRef;
  private client: Client;
  private opts: InformerOptions;
  private clock: Clock;
  private items = new Map<string, T>();
  private indexers = new Map<string, IndexFunc<T>>();
  private indices = new Map<string, Map<string, Set<string>>>();
  private handlers: EventHandlers<T>[] = [];
  private synced = false;
  private syncWaiters: Array<() => void> = [];
  private started = false;
  private stopped = false;
  private lastRv = '';
  private cancelWatch?: () => void;
  private stopWake?: () => void;

  constructor(client: Client, ref: ResourceRef, opts: InformerOptions = {}) {
    this.client = client;
    this.ref = ref;
    this.opts = opts;
    this.clock = opts.clock ?? realClock;
    this.addIndexer(INDEX_NAMESPACE, (o) => (o.metadata?.namespace ? [o.metadata.namespace] : []));
    this.addIndexer(INDEX_OWNER_UID, (o) => {
      const c = o.metadata?.ownerReferences?.find((r) => r.controller);
      return c ? [c.uid] : [];
    });
    // Adoption looks for orphans matching a selector; scanning every object of a namespace on
    // each sync would make controllers quadratic in the number of pods.
    this.addIndexer(INDEX_ORPHAN_NAMESPACE, (o) => (o.metadata?.ownerReferences?.some((r) => r.controller) ? [] : [o.metadata?.namespace ?? '']));
    if (ref.resource === 'pods' && ref.group === '') {
      this.addIndexer(INDEX_NODE, (o) => {
        const n = (o as { spec?: { nodeName?: string } }).spec?.nodeName;
        return n ? [n] : [];
      });
    }
  }

  /** Registers an index; existing entries are indexed at once. */
  addIndexer(name: string, fn: IndexFunc<T>): void {
    this.indexers.set(name, fn);
    const idx = new Map<string, Set<string>>();
    this.indices.set(name, idx);
    for (const [k, o] of this.items) for (const v of fn(o)) this.indexAdd(idx, v, k);
  }

  /**
   * Registers handlers. As in client-go, a handler added after the cache is filled first
   * receives onAdd for every cached object.
   */
  addEventHandler(h: EventHandlers<T>): { remove(): void } {
    this.handlers.push(h);
    if (this.synced) for (const o of this.items.values()) h.onAdd?.(o);
    return { remove: () => { this.handlers = this.handlers.filter((x) => x !== h); } };
  }

  /** Starts listing and watching (idempotent). */
  start(): void {
    if (this.started) return;
    this.started = true;
    void this.run();
  }

  /** Stops the watch; the cache stays readable. */
  stop(): void {
    this.stopped = true;
    this.cancelWatch?.();
    this.stopWake?.();
    for (const w of this.syncWaiters.splice(0)) w();
  }

  /** True once the first list has been stored. */
  hasSynced(): boolean { return this.synced; }

  /** Resolves when the first list has been stored (or the informer is stopped). */
  waitForSync(): Promise<void> {
    if (this.synced || this.stopped) return Promise.resolve();
    return new Promise((r) => this.syncWaiters.push(r));
  }

  /** The resourceVersion the cache is current to. */
  lastSyncResourceVersion(): string { return this.lastRv; }

  /** The cached object (frozen), or undefined. */
  get(namespace: string | undefined, name: string): T | undefined {
    return this.items.get(namespace ? `${namespace}/${name}` : name);
  }

  getByKey(key: string): T | undefined { return this.items.get(key); }

  /** Cached objects, optionally limited to a namespace and a label selector (done by scan). */
  list(namespace?: string, selector?: Selector): T[] {
    let src: Iterable<T>;
    if (namespace) src = this.byIndex(INDEX_NAMESPACE, namespace);
    else src = this.items.values();
    const out: T[] = [];
    for (const o of src) if (!selector || selector.matches(o.metadata?.labels)) out.push(o);
    return out;
  }

  /** Cached objects whose index `name` contains `value`. */
  byIndex(name: string, value: string): T[] {
    const idx = this.indices.get(name);
    if (!idx) throw new Error(`informer ${this.ref.resource}: no index named ${name}`);
    const keys = idx.get(value);
    if (!keys) return [];
    return [...keys].map((k) => this.items.get(k)!).filter(Boolean);
  }

  keys(): string[] { return [...this.items.keys()]; }

  // ---------------------------------------------------------------------------

  private async run(): Promise<void> {
    let backoff = this.opts.backoffInitialMs ?? 800;
    const maxBackoff = this.opts.backoffMaxMs ?? 30_000;
    while (!this.stopped) {
      try {
        await this.listAndReplace();
      } catch (err) {
        if (this.stopped) return;
        await this.sleep(backoff);
        backoff = Math.min(backoff * 2, maxBackoff);
        continue;
      }
      // Watch until the stream fails; a clean end resumes from the last resourceVersion.
      for (;;) {
        if (this.stopped) return;
        const err = await this.watchOnce();
        if (this.stopped) return;
        if (err === undefined) { backoff = this.opts.backoffInitialMs ?? 800; continue; }
        if (isReason(err, 'Expired') || isReason(err, 'Gone') || (err instanceof StatusError && err.code === 410)) {
          // Our resourceVersion fell out of the server's history: relist at once.
          break;
        }
        await this.sleep(backoff);
        backoff = Math.min(backoff * 2, maxBackoff);
        break;
      }
    }
  }

  private async sleep(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const t = this.clock.setTimeout(() => { this.stopWake = undefined; resolve(); }, ms);
      this.stopWake = () => { t.cancel(); resolve(); };
    });
  }

  private async listAndReplace(): Promise<void> {
    const fresh = new Map<string, T>();
    let cont: string | undefined;
    let rv = '';
    do {
      const page = await this.client.list<T>(this.ref, this.opts.namespace, {
        labelSelector: this.opts.labelSelector, fieldSelector: this.opts.fieldSelector,
        limit: this.opts.pageSize ?? 500, continue: cont,
      });
      for (const o of page.items) {
        // Items of a list carry no kind; fill it so handlers and owner references can rely on it.
        const item = { ...o, apiVersion: o.apiVersion ?? apiVersion(this.ref), kind: o.kind ?? this.ref.kind } as T;
        fresh.set(keyOf(item), deepFreeze(item));
      }
      cont = page.metadata.continue || undefined;
      rv = page.metadata.resourceVersion;
    } while (cont);
    if (this.stopped) return;
    for (const [k, old] of [...this.items]) if (!fresh.has(k)) this.remove(k, old);
    for (const [k, o] of fresh) this.upsert(k, o);
    this.lastRv = rv;
    if (!this.synced) {
      this.synced = true;
      for (const w of this.syncWaiters.splice(0)) w();
    }
  }

  private watchOnce(): Promise<Error | undefined> {
    return new Promise((resolve) => {
      let done = false;
      const w = this.client.watch<T>(this.ref, this.opts.namespace, {
        resourceVersion: this.lastRv, allowWatchBookmarks: true,
        labelSelector: this.opts.labelSelector, fieldSelector: this.opts.fieldSelector,
      }, (e) => { if (!done && !this.stopped) this.onWatchEvent(e); }, (err) => {
        if (done) return;
        done = true;
        this.cancelWatch = undefined;
        resolve(err);
      });
      this.cancelWatch = () => {
        if (done) return;
        done = true;
        w.cancel();
        resolve(undefined);
      };
    });
  }

  private onWatchEvent(e: WatchEvent<T>): void {
    if (e.type === 'ERROR') return; // The transport reports it through onClose as well.
    const rv = e.object?.metadata?.resourceVersion;
    if (rv) this.lastRv = rv;
    if (e.type === 'BOOKMARK') return;
    const o = deepFreeze({ ...e.object, apiVersion: e.object.apiVersion ?? apiVersion(this.ref), kind: e.object.kind ?? this.ref.kind } as T);
    const k = keyOf(o);
    if (e.type === 'DELETED') {
      const old = this.items.get(k);
      this.remove(k, old ?? o, o);
    } else this.upsert(k, o);
  }

  private upsert(k: string, o: T): void {
    const old = this.items.get(k);
    if (old && old.metadata?.resourceVersion === o.metadata?.resourceVersion) return;
    if (old) this.unindex(k, old);
    this.items.set(k, o);
    this.index(k, o);
    for (const h of this.handlers) {
      if (old) h.onUpdate?.(old, o); else h.onAdd?.(o);
    }
  }

  private remove(k: string, old: T | undefined, final?: T): void {
    if (!this.items.has(k)) return;
    this.unindex(k, this.items.get(k)!);
    this.items.delete(k);
    const last = final ?? old;
    if (last) for (const h of this.handlers) h.onDelete?.(last);
  }

  private index(k: string, o: T): void {
    for (const [name, fn] of this.indexers) {
      const idx = this.indices.get(name)!;
      for (const v of fn(o)) this.indexAdd(idx, v, k);
    }
  }

  private unindex(k: string, o: T): void {
    for (const [name, fn] of this.indexers) {
      const idx = this.indices.get(name)!;
      for (const v of fn(o)) {
        const s = idx.get(v);
        if (!s) continue;
        s.delete(k);
        if (s.size === 0) idx.delete(v);
      }
    }
  }

  private indexAdd(idx: Map<string, Set<string>>, v: string, k: string): void {
    let s = idx.get(v);
    if (!s) idx.set(v, (s = new Set()));
    s.add(k);
  }
}

function apiVersion(r: ResourceRef): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

/** Hands out one informer per resource, shared by all controllers; starts them together. */
export class SharedInformerFactory {
  private informers = new Map<string, Informer<KObject>>();
  private started = false;

  constructor(private client: Client, private opts: Omit<InformerOptions, 'labelSelector' | 'fieldSelector'> = {}) {}

  /** The shared informer of `ref` (created on first use; started at once if the factory already runs). */
  informerFor<T extends KObject = KObject>(ref: ResourceRef): Informer<T> {
    const k = `${ref.group}/${ref.resource}`;
    let inf = this.informers.get(k);
    if (!inf) {
      inf = new Informer<KObject>(this.client, ref, this.opts);
      this.informers.set(k, inf);
      if (this.started) inf.start();
    }
    return inf as unknown as Informer<T>;
  }

  /** Starts every informer created so far, and any created later. */
  start(): void {
    this.started = true;
    for (const i of this.informers.values()) i.start();
  }

  /** Resolves when every started informer has synced. */
  async waitForSync(): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.waitForSync()));
  }

  hasSynced(): boolean {
    return [...this.informers.values()].every((i) => i.hasSynced());
  }

  stop(): void {
    for (const i of this.informers.values()) i.stop();
    this.started = false;
  }
}
