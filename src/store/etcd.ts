/**
 * The distributed store: etcd v3 through the `etcd3` client. etcd already has the semantics
 * of {@link Store} (global revision, ranges at a revision, watches from a revision with the
 * previous value, compaction), so this is a thin mapping, the same one kube-apiserver's
 * etcd3 storage makes: create = txn(mod_revision(key) == 0), update/delete = txn(mod_revision
 * == expected), watch = one gRPC watch stream per watch with prev_kv from afterRevision + 1.
 *
 * A watch that loses its stream (etcd restart, network) ends with a 'Closed' error; the caller
 * re-watches from the last revision it saw, as informers do.
 */
import { Etcd3, type IKeyValue, type IRangeRequest, type IResponseOp, type IWatchResponse } from 'etcd3';
import { closedError, compactedError, keyExists, keyNotFound, modified, prefixEnd } from './common.js';
import { StoreError, type Cancel, type KeyValue, type ListOptions, type ListResult, type Store, type WatchEvent, type WatchHandlers } from './types.js';

export interface EtcdStoreOptions {
  /** Milliseconds to wait for a connection (default 5000). */
  dialTimeoutMs?: number;
  /**
   * Prepended to every key on the wire and stripped from every key read back, so several
   * clusters (or tests) can share one etcd. Revisions and compaction stay shared.
   */
  keyPrefix?: string;
}

const ZERO = Buffer.from([0]);

export class EtcdStore implements Store {
  private closed = false;
  /** Highest compaction this client has seen or made; etcd has no cheap way to ask. */
  private knownCompacted = 0;
  private readonly watches = new Set<(err: StoreError) => void>();

  private readonly ns: string;

  private constructor(private readonly client: Etcd3, keyPrefix: string) {
    this.ns = keyPrefix;
  }

  /** Connects to etcd at `endpoints` (e.g. "http://127.0.0.1:2379") and checks it answers. */
  static async connect(endpoints: string | string[], opts: EtcdStoreOptions = {}): Promise<EtcdStore> {
    const client = new Etcd3({ hosts: endpoints, dialTimeout: opts.dialTimeoutMs ?? 5000 });
    const store = new EtcdStore(client, opts.keyPrefix ?? '');
    try {
      await store.revision();
    } catch (err) {
      client.close();
      throw err;
    }
    return store;
  }

  async revision(): Promise<number> {
    this.check();
    const res = await this.client.kv.range({ key: ZERO, count_only: true });
    return Number(res.header.revision);
  }

  /**
   * etcd does not report its compacted revision directly, but a range at a revision below it
   * fails, so the lowest readable revision is found by bisection (about log2(revision) calls).
   */
  async compactedRevision(): Promise<number> {
    this.check();
    // Some client compacted at `knownCompacted`; still readable means nobody went further.
    if (this.knownCompacted > 0 && (await this.readableAt(this.knownCompacted))) return this.knownCompacted;
    let lo = this.knownCompacted; // not readable (0: nothing known)
    let hi = await this.revision(); // always readable
    // Bounded: the interval halves on every step.
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (await this.readableAt(mid)) hi = mid;
      else lo = mid;
    }
    // `hi` is the lowest readable revision; revision 1 readable means nothing was dropped.
    const compacted = hi <= 1 ? 0 : hi;
    this.knownCompacted = Math.max(this.knownCompacted, compacted);
    return compacted;
  }

  async get(key: string): Promise<KeyValue | undefined> {
    this.check();
    const res = await this.client.kv.range({ key: this.k(key) });
    return res.kvs.length ? this.toKeyValue(res.kvs[0]) : undefined;
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    this.check();
    let start = this.k(prefix);
    if (opts.startAfter !== undefined) {
      const after = Buffer.concat([this.k(opts.startAfter), ZERO]);
      if (Buffer.compare(after, start) > 0) start = after;
    }
    const req: IRangeRequest = { key: start, range_end: this.end(prefix) };
    if (opts.limit && opts.limit > 0) req.limit = opts.limit;
    let rev = opts.revision && opts.revision > 0 ? opts.revision : 0;
    if (rev) req.revision = rev;
    let res;
    try {
      res = await this.client.kv.range(req);
    } catch (err) {
      if (isCompacted(err)) throw await this.compactedFor(rev);
      if (!isFutureRevision(err)) throw err;
      // Same as the other backends: a revision from the future reads as now.
      delete req.revision;
      rev = 0;
      res = await this.client.kv.range(req);
    }
    return { items: res.kvs.map((kv) => this.toKeyValue(kv)), revision: rev || Number(res.header.revision), more: res.more };
  }

  async count(prefix: string): Promise<number> {
    this.check();
    const res = await this.client.kv.range({ key: this.k(prefix), range_end: this.end(prefix), count_only: true });
    return Number(res.count);
  }

  async create(key: string, value: string): Promise<KeyValue> {
    this.check();
    const k = this.k(key);
    const res = await this.client.kv.txn({
      compare: [{ key: k, target: 'Mod', result: 'Equal', mod_revision: 0 }],
      success: [{ request_put: { key: k, value: Buffer.from(value) } }],
    });
    if (!res.succeeded) throw keyExists(key);
    const rev = Number(res.header.revision);
    return { key, value, createRevision: rev, modRevision: rev };
  }

  async update(key: string, value: string, expectedModRevision: number): Promise<KeyValue> {
    this.check();
    const k = this.k(key);
    const res = await this.client.kv.txn({
      compare: [
        { key: k, target: 'Version', result: 'Greater', version: 0 },
        { key: k, target: 'Mod', result: 'Equal', mod_revision: expectedModRevision },
      ],
      success: [{ request_put: { key: k, value: Buffer.from(value), prev_kv: true } }],
      failure: [{ request_range: { key: k } }],
    });
    if (!res.succeeded) throw this.casFailure(key, expectedModRevision, res.responses);
    const prev = res.responses[0].response_put.prev_kv;
    const rev = Number(res.header.revision);
    return { key, value, createRevision: Number(prev.create_revision), modRevision: rev };
  }

  async delete(key: string, expectedModRevision?: number): Promise<KeyValue> {
    this.check();
    const k = this.k(key);
    const res = await this.client.kv.txn({
      compare:
        expectedModRevision === undefined
          ? [{ key: k, target: 'Version', result: 'Greater', version: 0 }]
          : [
              { key: k, target: 'Version', result: 'Greater', version: 0 },
              { key: k, target: 'Mod', result: 'Equal', mod_revision: expectedModRevision },
            ],
      success: [{ request_delete_range: { key: k, prev_kv: true } }],
      failure: [{ request_range: { key: k } }],
    });
    if (!res.succeeded) throw this.casFailure(key, expectedModRevision, res.responses);
    const prev = res.responses[0].response_delete_range.prev_kvs[0];
    return { key, value: prev.value.toString(), createRevision: Number(prev.create_revision), modRevision: Number(res.header.revision) };
  }

  watch(prefix: string, afterRevision: number, handlers: WatchHandlers): Cancel {
    let done = false;
    let last = afterRevision;
    let stream: Awaited<ReturnType<Etcd3['watchClient']['watch']>> | undefined;
    const end = () => {
      if (done) return false;
      done = true;
      this.watches.delete(fail);
      stream?.cancel();
      return true;
    };
    const fail = (err: StoreError) => {
      if (!end()) return;
      try {
        handlers.onError?.(err);
      } catch {
        // The watch is over either way.
      }
    };
    if (this.closed) {
      queueMicrotask(() => fail(closedError()));
      return () => void end();
    }
    this.watches.add(fail);
    const onData = (res: IWatchResponse) => {
      if (done) return;
      const compactRev = Number(res.compact_revision ?? 0);
      if (compactRev > 0) {
        this.knownCompacted = Math.max(this.knownCompacted, compactRev);
        fail(compactedError(afterRevision, compactRev));
        return;
      }
      if (res.canceled) {
        fail(new StoreError('Closed', `etcd cancelled the watch on "${prefix}": ${res.cancel_reason || 'no reason given'}`));
        return;
      }
      const events: WatchEvent[] = [];
      for (const ev of res.events ?? []) {
        const e = toEvent(ev.type, this.unk(ev.kv.key), ev.kv, ev.prev_kv);
        if (e.modRevision > last) {
          last = e.modRevision;
          events.push(e);
        }
      }
      if (events.length === 0) return;
      try {
        handlers.onEvents(events);
      } catch (err) {
        fail(new StoreError('Closed', `watch on "${prefix}" ended: handler threw: ${err instanceof Error ? err.message : String(err)}`));
      }
    };
    this.client.watchClient
      .watch()
      .then((s) => {
        stream = s;
        if (done) {
          s.cancel();
          return;
        }
        s.on('data', onData);
        s.on('error', (err) => fail(new StoreError('Closed', `watch on "${prefix}" lost its etcd stream: ${err.message}`)));
        s.on('end', () => fail(new StoreError('Closed', `watch on "${prefix}": etcd ended the stream`)));
        s.write({
          create_request: { key: this.k(prefix), range_end: this.end(prefix), start_revision: afterRevision + 1, prev_kv: true },
        });
      })
      .catch((err: Error) => fail(new StoreError('Closed', `cannot watch "${prefix}": ${err.message}`)));
    return () => void end();
  }

  /** Compacts etcd's history (physically) at `revision`, capped at the current revision. */
  async compact(revision: number): Promise<void> {
    this.check();
    const target = Math.min(revision, await this.revision());
    if (target <= this.knownCompacted) return;
    try {
      await this.client.kv.compact({ revision: target, physical: true });
    } catch (err) {
      // Someone (another API server, or us) already compacted further: nothing to do.
      if (!isCompacted(err)) throw err;
    }
    this.knownCompacted = Math.max(this.knownCompacted, target);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const fail of [...this.watches]) fail(closedError());
    this.client.close();
  }

  private async readableAt(rev: number): Promise<boolean> {
    try {
      await this.client.kv.range({ key: ZERO, count_only: true, revision: rev });
      return true;
    } catch (err) {
      if (isCompacted(err)) return false;
      throw err;
    }
  }

  private async compactedFor(requested: number): Promise<StoreError> {
    return compactedError(requested, await this.compactedRevision());
  }

  private casFailure(key: string, expected: number | undefined, responses: IResponseOp[]): StoreError {
    const kvs = responses[0]?.response_range?.kvs ?? [];
    if (kvs.length === 0) return keyNotFound(key);
    return modified(key, expected ?? 0, this.toKeyValue(kvs[0]));
  }

  /** The wire key; etcd rejects an empty key, so the empty range starts at "\0". */
  private k(key: string): Buffer {
    const full = this.ns + key;
    return full ? Buffer.from(full) : ZERO;
  }

  private end(prefix: string): Buffer {
    const end = prefixEnd(this.ns + prefix);
    return end === undefined ? ZERO : Buffer.from(end);
  }

  private unk(key: Buffer): string {
    return key.toString().slice(this.ns.length);
  }

  private toKeyValue(kv: IKeyValue): KeyValue {
    return { key: this.unk(kv.key), value: kv.value.toString(), createRevision: Number(kv.create_revision), modRevision: Number(kv.mod_revision) };
  }

  private check(): void {
    if (this.closed) throw closedError();
  }
}

function toEvent(type: 'Put' | 'Delete', key: string, kv: IKeyValue, prev: IKeyValue | undefined): WatchEvent {
  if (type === 'Delete') {
    // etcd's delete event carries only the key and the revision; the value is in prev_kv
    // (absent only if the previous revision was already compacted).
    const value = prev ? prev.value.toString() : '';
    const ev: WatchEvent = {
      type: 'DELETE',
      key,
      value,
      modRevision: Number(kv.mod_revision),
      createRevision: prev ? Number(prev.create_revision) : 0,
    };
    if (prev) ev.prevValue = value;
    return ev;
  }
  const ev: WatchEvent = {
    type: 'PUT',
    key,
    value: kv.value.toString(),
    modRevision: Number(kv.mod_revision),
    createRevision: Number(kv.create_revision),
  };
  // Version 1 is a creation: whatever prev_kv says belongs to nothing.
  if (prev && kv.version !== '1') ev.prevValue = prev.value.toString();
  return ev;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function isCompacted(err: unknown): boolean {
  return errorText(err).includes('required revision has been compacted');
}

function isFutureRevision(err: unknown): boolean {
  return errorText(err).includes('required revision is a future revision');
}
