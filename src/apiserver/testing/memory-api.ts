/**
 * Test support: the real object storage, watch cache and handler over the memory store,
 * with a fake clock. Product code never imports this.
 */
import { MemoryStore } from '../../store/memory.js';
import { defaultRegistry } from '../../api/resources/index.js';
import type { KObject, Registry, ResourceDef } from '../../api/registry.js';
import { FakeClock } from '../../util/clock.js';
import { WatchCache, type WatchCacheOptions } from '../watch-cache.js';
import { ObjectStorage, type UserInfo, type WriteContext } from '../objects.js';
import { ApiHandler } from '../handler.js';
import type { ApiRequest, ApiResponse, ResponseSink } from '../request.js';

export const ADMIN: UserInfo = { name: 'admin', groups: ['system:masters', 'system:authenticated'] };

export interface MemoryApi {
  registry: Registry;
  store: MemoryStore;
  cache: WatchCache;
  storage: ObjectStorage;
  clock: FakeClock;
  handler: ApiHandler;
  ctx: WriteContext;
  /** The resource of a kind (core group unless given). */
  def(kind: string, group?: string): ResourceDef;
  /** Sends one request to the handler; a JSON body may be given as an object. */
  request(method: string, path: string, opts?: { body?: unknown; query?: Record<string, string>; headers?: Record<string, string> }): Promise<{ status: number; body: any; raw: ApiResponse }>;
  /** Stops the cache (and with it the store watch). */
  close(): void;
}

/** Starts storage, cache and handler on a fresh memory store, with namespace "default" created. */
export async function memoryApi(opts: WatchCacheOptions & { namespaces?: string[] } = {}): Promise<MemoryApi> {
  const registry = defaultRegistry();
  const store = new MemoryStore();
  const clock = new FakeClock(Date.parse('2024-01-01T00:00:00Z'));
  // The cache shares the fake clock, so its wait for a future resourceVersion runs on test time.
  const cache = new WatchCache(store, registry, { clock, ...opts });
  await cache.start();
  const storage = new ObjectStorage(store, cache, registry, clock);
  const handler = new ApiHandler({ registry, storage, authenticate: (req) => (req.headers.authorization === 'Bearer admin' ? ADMIN : undefined), serverAddress: '127.0.0.1:6443', clock, bookmarkIntervalMs: 50 });
  const ctx: WriteContext = { user: ADMIN };
  const def = (kind: string, group = '') => {
    const d = registry.byKind(group, kind);
    if (!d) throw new Error(`no kind ${kind}`);
    return d;
  };
  for (const ns of opts.namespaces ?? ['default']) await storage.create(def('Namespace'), '', { metadata: { name: ns } }, ctx);
  return {
    registry,
    store,
    cache,
    storage,
    clock,
    handler,
    ctx,
    def,
    async request(method, path, o = {}) {
      const headers: Record<string, string> = { authorization: 'Bearer admin', ...(o.headers ?? {}) };
      let body: Buffer | undefined;
      if (o.body !== undefined) {
        body = Buffer.from(typeof o.body === 'string' ? o.body : JSON.stringify(o.body));
        headers['content-type'] ??= 'application/json';
      }
      const req: ApiRequest = { method, path, query: new URLSearchParams(o.query ?? {}), headers, body };
      const raw = await handler.handle(req);
      const text = raw.body === undefined ? '' : String(raw.body);
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // not JSON (plain-text health answers)
      }
      return { status: raw.status, body: parsed, raw };
    },
    close() {
      cache.stop();
    },
  };
}

/** A response sink that collects what a streaming response writes. */
export class CollectingSink implements ResponseSink {
  readonly chunks: string[] = [];
  ended = false;
  private readonly closers: (() => void)[] = [];

  write(chunk: string | Buffer): void {
    this.chunks.push(String(chunk));
  }
  end(): void {
    this.ended = true;
  }
  onClose(cb: () => void): void {
    this.closers.push(cb);
  }
  /** Simulates the client going away. */
  close(): void {
    for (const c of this.closers) c();
  }
  /** The watch events written so far, parsed. */
  events(): { type: string; object: KObject }[] {
    return this.chunks.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  }
}

/** Polls `cond` until it holds, up to `ms` (bounded; for asynchronous delivery, not timing). */
export async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setImmediate(r));
  }
}
