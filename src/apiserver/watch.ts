/**
 * The watch verb: a stream of ADDED/MODIFIED/DELETED events from the watch cache, filtered by
 * selectors (an object leaving the selection is DELETED for this watcher), optionally as
 * table rows, with bookmarks and a server-side timeout.
 */
import { StatusError, internalError } from '../api/errors.js';
import { parseResourceVersion } from './resource-version.js';
import { groupVersion } from '../api/registry.js';
import { queryBool, type ApiRequest, type ApiResponse, type ResponseSink } from './request.js';
import { columnsFor, rowFor, wantsTable } from './table.js';
import { encodeCached, inRequestedVersion, includeObject } from './codec.js';
import { selectionFilter } from './selection.js';
import type { ResourcePath } from './routes.js';
import type { CacheEvent, CachedObject, WatchCache } from './watch-cache.js';

export interface WatchOptions {
  cache: WatchCache;
  now(): number;
  /** Interval between bookmarks (ms) for clients that allow them. */
  bookmarkIntervalMs: number;
}

/** The event type a watcher with a selector sees for a cache event, or undefined for none. */
export function selectedEventType(e: CacheEvent, match: (o: CacheEvent['current']['obj']) => boolean): string | undefined {
  const cur = match(e.current.obj);
  const prev = e.previous ? match(e.previous.obj) : false;
  if (e.type === 'ADDED') return cur ? 'ADDED' : undefined;
  if (e.type === 'DELETED') return cur || prev ? 'DELETED' : undefined;
  if (cur && prev) return 'MODIFIED';
  if (cur) return 'ADDED';
  if (prev) return 'DELETED';
  return undefined;
}

/** Serves GET ...?watch=true as a streaming response. */
export function serveWatch(opts: WatchOptions, req: ApiRequest, rp: ResourcePath): ApiResponse {
  const { def } = rp;
  const { cache } = opts;
  const match = selectionFilter(req, def);
  // Checked before the stream starts, so a malformed version is a plain 400 as upstream.
  const requestedRv = parseResourceVersion(req.query.get('resourceVersion') ?? '');
  const asTable = wantsTable(req.headers['accept']);
  const include = includeObject(req);
  const timeoutSeconds = Number(req.query.get('timeoutSeconds') ?? 0);
  const bookmarks = queryBool(req.query, 'allowWatchBookmarks');
  const apiVersion = groupVersion(def.group, rp.version);
  const columns = asTable ? JSON.stringify(columnsFor(def)) : '';

  const encode = (type: string, o: CachedObject): string => {
    if (asTable) {
      const row = rowFor(def, inRequestedVersion(rp, o.obj), opts.now(), include);
      return `{"type":"${type}","object":{"kind":"Table","apiVersion":"meta.k8s.io/v1","metadata":{"resourceVersion":"${o.rv}"},"columnDefinitions":${columns},"rows":[${JSON.stringify(row)}]}}\n`;
    }
    return `{"type":"${type}","object":${encodeCached(rp, o)}}\n`;
  };

  return {
    status: 200,
    headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
    stream: (sink: ResponseSink) => {
      let cancel: (() => void) | undefined;
      const timers: NodeJS.Timeout[] = [];
      let closed = false;
      let lastRv = 0;
      const close = () => {
        if (closed) return;
        closed = true;
        cancel?.();
        for (const t of timers) clearTimeout(t), clearInterval(t);
        sink.end();
      };
      sink.onClose(() => {
        closed = true;
        cancel?.();
        for (const t of timers) clearTimeout(t), clearInterval(t);
      });
      const onEvent = (e: CacheEvent) => {
        if (closed) return;
        const type = selectedEventType(e, match);
        lastRv = e.rv;
        if (type) sink.write(encode(type, e.current));
      };
      const fail = (err: unknown) => {
        if (closed) return;
        const status = err instanceof StatusError ? err.toStatus() : internalError(err).toStatus();
        sink.write(`{"type":"ERROR","object":${JSON.stringify(status)}}\n`);
        close();
      };
      let started = false;
      const start = () => {
        if (closed) return;
        started = true;
        let from: number;
        if (requestedRv === 0) {
          // No resourceVersion: the current state as ADDED events, then changes.
          from = cache.revision();
          for (const o of cache.list(def, rp.namespace)) if (match(o.obj)) sink.write(encode('ADDED', o));
        } else {
          from = requestedRv;
        }
        lastRv = from;
        try {
          cancel = cache.watch(def, from, { namespace: rp.namespace, onEvent });
        } catch (err) {
          fail(err);
        }
      };
      // A version the cache has not reached yet (a write acknowledged by another API server, or
      // a made-up number): wait for it as upstream's cacher does, then either watch normally or
      // end with the 504 "Too large resource version" ERROR event client-go relists on.
      if (requestedRv > cache.revision()) cache.waitUntilFresh(requestedRv).then(start, fail);
      else start();
      if (closed) return;
      if (timeoutSeconds > 0) timers.push(setTimeout(close, timeoutSeconds * 1000));
      if (bookmarks) {
        timers.push(
          setInterval(() => {
            // No bookmark while waiting for a future version: it would claim one not yet reached.
            if (closed || !started) return;
            const rv = Math.max(lastRv, cache.revision());
            sink.write(`{"type":"BOOKMARK","object":{"kind":"${def.kind}","apiVersion":"${apiVersion}","metadata":{"resourceVersion":"${rv}"}}}\n`);
          }, opts.bookmarkIntervalMs),
        );
      }
    },
  };
}
