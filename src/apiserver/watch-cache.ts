/**
 * The API server's watch cache: every object of every resource in memory, fed by one
 * store watch, so lists and watches never touch the store. Like the kube-apiserver
 * cacher, it keeps a bounded window of recent events; a watch from before the window
 * gets 410 Expired and the client relists.
 */
import type { Store, WatchEvent as StoreEvent } from '../store/types.js';
import type { KObject, Registry, ResourceDef } from '../api/registry.js';
import { expired, tooLargeResourceVersion } from '../api/errors.js';
import { realClock, type Clock } from '../util/clock.js';
import { REGISTRY_ROOT, parseStorageKey, resourcePrefixOf, storagePrefix } from './storage-keys.js';

/** One object as cached: parsed (read-only by convention) and serialized once. */
export interface CachedObject {
  readonly def: ResourceDef;
  readonly namespace: string;
  readonly name: string;
  readonly obj: KObject;
  /** JSON of `obj` (with metadata.resourceVersion). */
  readonly json: string;
  readonly rv: number;
}

export type CacheEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface CacheEvent {
  type: CacheEventType;
  /** The object after the change (for DELETED: its last state, with the delete's resourceVersion). */
  current: CachedObject;
  /** The object before the change, if any. */
  previous?: CachedObject;
  rv: number;
}

export interface CacheWatcher {
  /** Only events for this namespace ('' = all). */
  namespace: string;
  onEvent(e: CacheEvent): void;
}

interface ResourceCache {
  def: ResourceDef;
  /** key "namespace/name" (or "name" for cluster-scoped) → object */
  objects: Map<string, CachedObject>;
  watchers: Set<CacheWatcher>;
}

export interface WatchCacheOptions {
  /** How many recent events are kept for watches from a past resourceVersion. */
  historySize?: number;
  /** Times the wait for a future resourceVersion ({@link WatchCache.waitUntilFresh}). */
  clock?: Clock;
}

/**
 * How long a read at a resourceVersion the cache has not reached waits for it (upstream's
 * cacher blockTimeout): long enough for a write acknowledged by another API server to arrive
 * through the store watch, short enough that a made-up version fails promptly.
 */
export const FRESHNESS_TIMEOUT_MS = 3_000;

export class WatchCache {
  private readonly resources = new Map<string, ResourceCache>();
  private readonly history: CacheEvent[] = [];
  private historyStart = 0;
  private readonly historySize: number;
  private rev = 0;
  /** Revision just before the oldest event we still hold; watches from below it are expired. */
  private horizon = 0;
  private readonly waiters: { rev: number; resolve: () => void }[] = [];
  private cancelWatch?: () => void;
  private readonly clock: Clock;

  constructor(
    private readonly store: Store,
    registry: Registry,
    opts: WatchCacheOptions = {},
  ) {
    // Every held event keeps its object versions alive; 25,000 is seconds to minutes of history,
    // enough for watchers that reconnect, while a client further behind relists (410).
    this.historySize = opts.historySize ?? 25_000;
    this.clock = opts.clock ?? realClock;
    for (const def of registry.all) {
      this.resources.set(storagePrefix(def), { def, objects: new Map(), watchers: new Set() });
    }
  }

  /** Loads every object, then follows the store. */
  async start(): Promise<void> {
    const { items, revision } = await this.store.list(REGISTRY_ROOT);
    for (const kv of items) {
      const entry = this.decode(kv.key, kv.value, kv.modRevision);
      if (entry) this.cacheFor(kv.key)!.objects.set(objectKey(entry.namespace, entry.name), entry);
    }
    this.rev = revision;
    this.horizon = revision;
    await new Promise<void>((resolve, reject) => {
      let started = false;
      this.cancelWatch = this.store.watch(REGISTRY_ROOT, revision, {
        onEvents: (events) => this.apply(events),
        onError: (err) => {
          if (!started) reject(err);
          else console.error(`skiff: watch cache lost the store watch: ${err.message}`);
        },
      });
      started = true;
      resolve();
    });
  }

  stop(): void {
    this.cancelWatch?.();
  }

  /** The newest revision the cache has applied. */
  revision(): number {
    return this.rev;
  }

  /** Resolves once the cache has applied `rev` (read-your-writes after a store write). */
  waitFor(rev: number): Promise<void> {
    if (this.rev >= rev) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ rev, resolve }));
  }

  /**
   * Resolves once the cache has applied `rev`, or rejects after {@link FRESHNESS_TIMEOUT_MS}
   * with upstream's 504 "Too large resource version" (waitUntilFreshAndBlock), so a watch or
   * list from a version the server has not seen neither hangs nor answers with older data.
   */
  waitUntilFresh(rev: number): Promise<void> {
    if (this.rev >= rev) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = {
        rev,
        resolve: () => {
          timer.cancel();
          resolve();
        },
      };
      const timer = this.clock.setTimeout(() => {
        const i = this.waiters.indexOf(waiter);
        if (i < 0) return;
        this.waiters.splice(i, 1);
        reject(tooLargeResourceVersion(rev, this.rev));
      }, FRESHNESS_TIMEOUT_MS);
      this.waiters.push(waiter);
    });
  }

  get(def: ResourceDef, namespace: string, name: string): CachedObject | undefined {
    return this.cache(def).objects.get(objectKey(namespace, name));
  }

  /** Objects of a resource, in one namespace or all, sorted by namespace then name. */
  list(def: ResourceDef, namespace: string): CachedObject[] {
    const out: CachedObject[] = [];
    for (const o of this.cache(def).objects.values()) if (!namespace || o.namespace === namespace) out.push(o);
    out.sort((a, b) => (a.namespace === b.namespace ? cmp(a.name, b.name) : cmp(a.namespace, b.namespace)));
    return out;
  }


  /**
   * Watches a resource from `fromRv` (events with a greater revision). Throws 410 Expired
   * when those events are no longer held. Returns a cancel function.
   */
  watch(def: ResourceDef, fromRv: number, watcher: CacheWatcher): () => void {
    if (fromRv < this.horizon) {
      throw expired(`too old resource version: ${fromRv} (${this.horizon})`);
    }
    const rc = this.cache(def);
    // Replay held events newer than fromRv, then go live: both happen synchronously, so no event slips between.
    for (let i = this.lowerBound(fromRv); i < this.history.length; i++) {
      const e = this.history[i];
      if (e.current.def === def && (!watcher.namespace || e.current.namespace === watcher.namespace)) watcher.onEvent(e);
    }
    rc.watchers.add(watcher);
    return () => rc.watchers.delete(watcher);
  }

  private lowerBound(rv: number): number {
    let lo = this.historyStart;
    let hi = this.history.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.history[mid].rv <= rv) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private cache(def: ResourceDef): ResourceCache {
    const rc = this.resources.get(storagePrefix(def));
    if (!rc) throw new Error(`watch cache has no resource ${def.plural}.${def.group}`);
    return rc;
  }

  private cacheFor(key: string): ResourceCache | undefined {
    const prefix = resourcePrefixOf(key);
    return prefix === undefined ? undefined : this.resources.get(prefix);
  }

  private decode(key: string, value: string, rv: number): CachedObject | undefined {
    const rc = this.cacheFor(key);
    if (!rc) return undefined;
    const { namespace, name } = parseStorageKey(rc.def, key);
    const obj = JSON.parse(value) as KObject;
    (obj.metadata ??= {}).resourceVersion = String(rv);
    return { def: rc.def, namespace, name, obj, json: JSON.stringify(obj), rv };
  }

  private apply(events: StoreEvent[]): void {
    for (const ev of events) {
      const rc = this.cacheFor(ev.key);
      if (rc) {
        const current = this.decode(ev.key, ev.value, ev.modRevision)!;
        const k = objectKey(current.namespace, current.name);
        const previous = rc.objects.get(k);
        let type: CacheEventType;
        if (ev.type === 'DELETE') {
          rc.objects.delete(k);
          type = 'DELETED';
        } else {
          rc.objects.set(k, current);
          type = previous ? 'MODIFIED' : 'ADDED';
        }
        const ce: CacheEvent = { type, current, previous, rv: ev.modRevision };
        this.history.push(ce);
        for (const w of rc.watchers) {
          if (w.namespace && w.namespace !== current.namespace) continue;
          try {
            w.onEvent(ce);
          } catch (err) {
            console.error('skiff: watcher failed:', err);
          }
        }
      }
      this.rev = Math.max(this.rev, ev.modRevision);
    }
    this.trimHistory();
    if (this.waiters.length) {
      for (let i = this.waiters.length - 1; i >= 0; i--) {
        if (this.waiters[i].rev <= this.rev) {
          this.waiters[i].resolve();
          this.waiters.splice(i, 1);
        }
      }
    }
  }

  private trimHistory(): void {
    const excess = this.history.length - this.historyStart - this.historySize;
    if (excess <= 0) return;
    this.historyStart += excess;
    this.horizon = this.history[this.historyStart - 1].rv;
    // Compact the array occasionally instead of shifting on every event.
    if (this.historyStart > this.historySize) {
      this.history.splice(0, this.historyStart);
      this.historyStart = 0;
    }
  }
}

function objectKey(namespace: string, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
