/**
 * Live lists: list, then watch from the list's resourceVersion, as client-go's reflector does,
 * shared by every view that shows the same collection. A page keeps at most four or five watches
 * open (six connections per origin is all HTTP/1.1 gives a browser). Changes are applied to one Map and the
 * views are told at most once per frame, so a burst of 1,000 pod events costs one render.
 */
import { useEffect, useState } from 'preact/hooks';
import { api, streamLines, withQuery, type K, type WatchEvent } from './api.js';

/** The state a view renders: the objects by namespace/name, whether the first list arrived, the last error. */
export interface LiveList {
  items: Map<string, K>;
  synced: boolean;
  error?: string;
  /** Bumped on every applied batch, so a memo can tell a changed list from the same one. */
  version: number;
}

/** namespace/name, the key of an object in a live list. */
export function keyOf(o: K): string {
  return `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
}

/** Applies one watch event to a map; returns false for events that carry no object change. */
export function applyEvent(items: Map<string, K>, ev: WatchEvent): boolean {
  if (ev.type === 'ADDED' || ev.type === 'MODIFIED') {
    items.set(keyOf(ev.object), ev.object);
    return true;
  }
  if (ev.type === 'DELETED') return items.delete(keyOf(ev.object));
  return false;
}

class Reflector {
  state: LiveList = { items: new Map(), synced: false, version: 0 };
  private readonly subs = new Set<(s: LiveList) => void>();
  private abort?: AbortController;
  private notifyTimer?: ReturnType<typeof setTimeout>;
  private stopTimer?: ReturnType<typeof setTimeout>;

  constructor(
    private readonly path: string,
    private readonly onIdle: () => void,
  ) {}

  subscribe(fn: (s: LiveList) => void): () => void {
    clearTimeout(this.stopTimer);
    this.subs.add(fn);
    if (!this.abort) this.start();
    return () => {
      this.subs.delete(fn);
      // Stopped soon after the last view leaves: a browser has only six HTTP/1.1 connections per
      // origin and each watch holds one, so idle watches must not starve the next page's requests.
      // The moment's grace lets a page that replaces another on the same list take it over.
      if (!this.subs.size) this.stopTimer = setTimeout(() => this.stop(), 500);
    };
  }

  stop(): void {
    this.abort?.abort();
    this.abort = undefined;
    this.onIdle();
  }

  private notify(): void {
    if (this.notifyTimer !== undefined) return;
    this.notifyTimer = setTimeout(() => {
      this.notifyTimer = undefined;
      this.state = { ...this.state, version: this.state.version + 1 };
      for (const fn of this.subs) fn(this.state);
    }, 16);
  }

  private start(): void {
    const ac = new AbortController();
    this.abort = ac;
    void this.run(ac.signal);
  }

  private async run(signal: AbortSignal): Promise<void> {
    let backoff = 500;
    while (!signal.aborted) {
      try {
        const list = await api(this.path, { signal });
        const items = new Map<string, K>();
        const kind = String(list.kind ?? '').replace(/List$/, '');
        for (const o of (list.items ?? []) as K[]) {
          // Items of a list carry no kind/apiVersion; the YAML view wants them.
          items.set(keyOf(o), { apiVersion: list.apiVersion, kind, ...o });
        }
        this.state = { items, synced: true, version: this.state.version, error: undefined };
        this.notify();
        let rv = String(list.metadata?.resourceVersion ?? '');
        backoff = 500;
        // Watch until the stream ends (server timeout) or expires (410: relist).
        for (;;) {
          let expired = false;
          await streamLines(withQuery(this.path, { watch: '1', resourceVersion: rv, allowWatchBookmarks: 'true' }), (line) => {
            if (!line.trim()) return;
            const ev = JSON.parse(line) as WatchEvent;
            if (ev.type === 'ERROR') {
              expired = true;
              return;
            }
            if (ev.object?.metadata?.resourceVersion) rv = ev.object.metadata.resourceVersion;
            if (ev.type !== 'BOOKMARK' && !ev.object.kind) ev.object = { apiVersion: list.apiVersion, kind, ...ev.object };
            if (applyEvent(this.state.items, ev)) this.notify();
          }, signal);
          if (expired || signal.aborted) break;
        }
      } catch (err) {
        if (signal.aborted) return;
        this.state = { ...this.state, error: (err as Error).message };
        this.notify();
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, 10_000);
      }
    }
  }
}

const reflectors = new Map<string, Reflector>();

/** Subscribes to the live list at `path` (a collection path, possibly with a selector); null: none. */
export function useLive(path: string | null): LiveList {
  const [state, setState] = useState<LiveList>(() => (path && reflectors.get(path)?.state) || { items: new Map(), synced: false, version: 0 });
  useEffect(() => {
    if (!path) return;
    let r = reflectors.get(path);
    if (!r) {
      r = new Reflector(path, () => reflectors.delete(path));
      reflectors.set(path, r);
    }
    setState(r.state);
    return r.subscribe(setState);
  }, [path]);
  return state;
}

/** Stops every watch (on sign-out: the next user must not see the last one's objects). */
export function resetLive(): void {
  for (const r of reflectors.values()) r.stop();
  reflectors.clear();
}

/** A one-shot GET as state: the value, or the error message; reloads when `path` or `tick` changes. */
export function useGet<T = K>(path: string | null, tick = 0): { value?: T; error?: string; code?: number } {
  const [state, setState] = useState<{ value?: T; error?: string; code?: number }>({});
  useEffect(() => {
    if (!path) return;
    let live = true;
    api<T>(path).then(
      (value) => live && setState({ value }),
      (err) => live && setState({ error: (err as Error).message, code: (err as { code?: number }).code }),
    );
    return () => {
      live = false;
    };
  }, [path, tick]);
  return state;
}
