/**
 * The real API server for unit tests of API clients (controllers, informers, leader election,
 * proxy, DNS): {@link ApiServer.inProcess} on a {@link MemoryStore}, reached over the
 * in-process transport, with the test's clock stamping creation and deletion times.
 * Nothing here re-implements API semantics; the client only records calls, injects failures
 * and reads the server's own watch cache for synchronous assertions.
 */
import type { Clock } from '../../util/clock.js';
import { RestClient } from '../../client/rest.js';
import { RecordingClient } from '../../client/testing/recording-client.js';
import type { KObject, ResourceRef, WatchEvent, WatchOptions } from '../../client/types.js';
import { MemoryStore } from '../../store/memory.js';
import { InProcessTransport } from '../in-process.js';
import { ADMIN_USER, ApiServer } from '../server.js';
import type { ResourceDef } from '../../api/registry.js';

export interface TestApiOptions {
  /** Stamps creationTimestamp/deletionTimestamp (default: the system clock). */
  clock?: Clock;
  /** Events the watch cache keeps for watches from a past resourceVersion (small → 410 Expired soon). */
  watchCacheSize?: number;
  /** The range ClusterIPs are allocated from and validated against (default 10.43.0.0/16). */
  serviceCidr?: string;
}

/**
 * A client of an in-process API server that also reads the server's state synchronously
 * (its watch cache, which is what every list and watch serves), for assertions.
 */
export class TestClient extends RecordingClient {
  private server: ApiServer | undefined;
  /** Resolves to the server once it has started and seeded its namespaces. */
  readonly started: Promise<ApiServer>;

  /** Starts a server with `opts`, or shares one another TestClient started. */
  constructor(opts: TestApiOptions | Promise<ApiServer> = {}) {
    const started = opts instanceof Promise ? opts : ApiServer.inProcess({ store: new MemoryStore(), clock: opts.clock, watchCacheSize: opts.watchCacheSize, serviceCidr: opts.serviceCidr });
    super(started.then((s) => new RestClient(new InProcessTransport(s.handler, ADMIN_USER))));
    this.started = started.then((s) => (this.server = s));
    this.started.catch(() => {});
  }

  /**
   * Watches without bookmarks: the server sends those on a wall-clock interval timer that
   * would keep a test process alive when a failed test never stops its informers.
   */
  override watch<T>(r: ResourceRef, namespace: string | undefined, opts: WatchOptions, onEvent: (e: WatchEvent<T>) => void, onClose: (err?: Error) => void): { cancel(): void } {
    return super.watch<T>(r, namespace, { ...opts, allowWatchBookmarks: false }, onEvent, onClose);
  }

  /** The objects of a resource as the server holds them now (copies), sorted by namespace and name. */
  objects<T = KObject>(r: ResourceRef, namespace?: string): T[] {
    const s = this.server;
    if (!s) return [];
    const def = this.def(s, r);
    return s.cache.list(def, r.namespaced ? (namespace ?? '') : '').map((o) => this.convert(def, r, o.json) as T);
  }

  /** One object as the server holds it now (a copy), or undefined. */
  peek<T = KObject>(r: ResourceRef, namespace: string | undefined, name: string): T | undefined {
    const s = this.server;
    if (!s) return undefined;
    const def = this.def(s, r);
    const o = s.cache.get(def, r.namespaced ? (namespace ?? 'default') : '', name);
    return o ? (this.convert(def, r, o.json) as T) : undefined;
  }

  /** Another client of the same server (another component, e.g. a node agent), with its own record of calls. */
  otherClient(): TestClient {
    return new TestClient(this.started);
  }

  /** The store's current revision: changes on every write (0 before the server started). */
  async revision(): Promise<number> {
    return this.server ? this.server.store.revision() : 0;
  }

  /** Stops the server (its watches end, its store closes). */
  async stop(): Promise<void> {
    const s = await this.started.catch(() => undefined);
    await s?.stop();
  }

  private def(s: ApiServer, r: ResourceRef): ResourceDef {
    const def = s.registry.byKind(r.group, r.kind);
    if (!def) throw new Error(`the API server has no resource ${r.resource}.${r.group}`);
    return def;
  }

  private convert(def: ResourceDef, r: ResourceRef, json: string): KObject {
    const obj = JSON.parse(json) as KObject;
    const conv = r.version !== def.versions[0] ? def.conversions?.[r.version] : undefined;
    return conv ? conv.fromStorage(obj) : obj;
  }
}

/** Starts an in-process API server on a fresh memory store and returns its client. */
export function testApi(opts: TestApiOptions = {}): TestClient {
  return new TestClient(opts);
}
