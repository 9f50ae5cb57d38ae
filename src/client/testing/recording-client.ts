/**
 * A {@link Client} that wraps another (in tests: the real API server over the in-process
 * transport) and adds what tests need around it, without re-implementing any API semantics:
 * every call recorded as a {@link ClientAction}, reactors that fail chosen calls (quota,
 * timeouts, refused connections), and {@link RecordingClient.closeWatches} to cut open watches
 * as a dropped connection or a server restart would.
 */
import type {
  Client, DeleteOptions, ListOptions, ObjectList, PatchType, ResourceRef, WatchEvent, WatchOptions, WriteOptions,
} from '../types.js';

/** One call made through the client, recorded for assertions. */
export interface ClientAction {
  verb: 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete';
  resource: string;
  namespace?: string;
  name?: string;
  subresource?: string;
  object?: unknown;
}

/** Returns an error to make the call fail (before it reaches the server), or nothing to let it through. */
export type Reactor = (a: ClientAction) => Error | undefined | void;

interface OpenWatch { cancel(): void; close(err?: Error): void }

/**
 * Records calls and runs reactors, then delegates. `inner` may still be starting: calls wait
 * for it, so a test harness can hand out its client synchronously.
 */
export class RecordingClient implements Client {
  /** Every call, in order (including failed ones). */
  readonly actions: ClientAction[] = [];
  private reactors: Reactor[] = [];
  private readonly watches = new Set<OpenWatch>();
  private inner: Client | undefined;
  private readonly aggregated = new Map<string, Client>();
  private readonly ready: Promise<Client>;

  constructor(inner: Client | Promise<Client>) {
    this.ready = Promise.resolve(inner).then((c) => (this.inner = c));
    // A failed start surfaces on the first call; do not also report it as unhandled.
    this.ready.catch(() => {});
  }

  /** Installs a hook run before every call; returning an error fails the call. Returns its removal. */
  prependReactor(r: Reactor): () => void {
    this.reactors.unshift(r);
    return () => { this.reactors = this.reactors.filter((x) => x !== r); };
  }

  /**
   * Sends the calls for one API group to another server, as the kube-aggregator routes an
   * APIService (metrics.k8s.io is served by metrics-server, not by the API server itself).
   */
  aggregate(group: string, server: Client): void {
    this.aggregated.set(group, server);
  }

  /** Removes every reactor. */
  clearReactors(): void { this.reactors = []; }

  /** Number of calls with this verb (and resource, if given) since the last clearActions. */
  count(verb: ClientAction['verb'], resource?: string): number {
    return this.actions.filter((a) => a.verb === verb && (!resource || a.resource === resource)).length;
  }

  clearActions(): void { this.actions.length = 0; }

  /** Ends every open watch as a lost connection would: onClose(err), or onClose() for a clean end. */
  closeWatches(err?: Error): void {
    for (const w of [...this.watches]) w.close(err);
  }

  private react(a: ClientAction): void {
    this.actions.push(a);
    for (const r of this.reactors) {
      const err = r(a);
      if (err) throw err;
    }
  }

  private async client(r: ResourceRef): Promise<Client> {
    return this.aggregated.get(r.group) ?? this.inner ?? this.ready;
  }

  async get<T>(r: ResourceRef, namespace: string | undefined, name: string, opts?: { subresource?: string }): Promise<T> {
    this.react({ verb: 'get', resource: r.resource, namespace, name, subresource: opts?.subresource });
    return (await this.client(r)).get<T>(r, namespace, name, opts);
  }

  async list<T>(r: ResourceRef, namespace: string | undefined, opts?: ListOptions): Promise<ObjectList<T>> {
    this.react({ verb: 'list', resource: r.resource, namespace });
    return (await this.client(r)).list<T>(r, namespace, opts);
  }

  watch<T>(r: ResourceRef, namespace: string | undefined, opts: WatchOptions, onEvent: (e: WatchEvent<T>) => void, onClose: (err?: Error) => void): { cancel(): void } {
    let closed = false;
    let inner: { cancel(): void } | undefined;
    const w: OpenWatch = {
      cancel: () => {
        if (closed) return;
        closed = true;
        this.watches.delete(w);
        inner?.cancel();
      },
      close: (err) => {
        if (closed) return;
        w.cancel();
        // Asynchronously, as a connection reports its end.
        queueMicrotask(() => onClose(err));
      },
    };
    try {
      this.react({ verb: 'watch', resource: r.resource, namespace });
    } catch (err) {
      w.close(err as Error);
      return { cancel: () => {} };
    }
    this.watches.add(w);
    const open = (c: Client) => {
      if (closed) return;
      inner = c.watch<T>(r, namespace, opts, (e) => { if (!closed) onEvent(e); }, (err) => {
        if (closed) return;
        closed = true;
        this.watches.delete(w);
        onClose(err);
      });
    };
    const aggregated = this.aggregated.get(r.group);
    if (aggregated) open(aggregated);
    else if (this.inner) open(this.inner);
    else this.ready.then(open, (err: Error) => w.close(err));
    return { cancel: () => w.cancel() };
  }

  async create<T>(r: ResourceRef, namespace: string | undefined, obj: T, opts?: WriteOptions & { name?: string }): Promise<T> {
    const name = opts?.name ?? (obj as { metadata?: { name?: string } } | undefined)?.metadata?.name;
    this.react({ verb: 'create', resource: r.resource, namespace, name, subresource: opts?.subresource, object: obj });
    return (await this.client(r)).create<T>(r, namespace, obj, opts);
  }

  async update<T>(r: ResourceRef, namespace: string | undefined, obj: T, opts?: WriteOptions): Promise<T> {
    const name = (obj as { metadata?: { name?: string } } | undefined)?.metadata?.name;
    this.react({ verb: 'update', resource: r.resource, namespace, name, subresource: opts?.subresource, object: obj });
    return (await this.client(r)).update<T>(r, namespace, obj, opts);
  }

  async patch<T>(r: ResourceRef, namespace: string | undefined, name: string, type: PatchType, body: unknown, opts?: WriteOptions): Promise<T> {
    this.react({ verb: 'patch', resource: r.resource, namespace, name, subresource: opts?.subresource, object: body });
    return (await this.client(r)).patch<T>(r, namespace, name, type, body, opts);
  }

  async delete<T = unknown>(r: ResourceRef, namespace: string | undefined, name: string, opts?: DeleteOptions): Promise<T> {
    this.react({ verb: 'delete', resource: r.resource, namespace, name });
    return (await this.client(r)).delete<T>(r, namespace, name, opts);
  }
}
