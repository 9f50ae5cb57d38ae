/**
 * An in-memory store with the same semantics as the sqlite backend (the same log of rows,
 * the same watch hub), for unit tests and simulations. Nothing survives the process.
 */
import {
  closedError,
  compactedError,
  keyExists,
  keyNotFound,
  modified,
  rowToEvent,
  rowToKeyValue,
  type LogRow,
} from './common.js';
import type { Cancel, KeyValue, ListOptions, ListResult, Store, WatchEvent, WatchHandlers } from './types.js';
import { WatchHub } from './watch-hub.js';

export class MemoryStore implements Store {
  private rev = 0;
  private compacted = 0;
  private closed = false;
  /** Every surviving row, ascending by id. */
  private log: LogRow[] = [];
  /** Surviving rows per key, ascending by id. */
  private readonly byKey = new Map<string, LogRow[]>();
  private readonly hub: WatchHub;

  constructor() {
    this.hub = new WatchHub({
      currentRevision: () => this.rev,
      compactedRevision: () => this.compacted,
      readHistory: (prefix, after, upTo, limit) => this.readHistory(prefix, after, upTo, limit),
    });
  }

  async revision(): Promise<number> {
    this.check();
    return this.rev;
  }

  async compactedRevision(): Promise<number> {
    this.check();
    return this.compacted;
  }

  async get(key: string): Promise<KeyValue | undefined> {
    this.check();
    const row = this.latest(key);
    return row && !row.deleted ? rowToKeyValue(row) : undefined;
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    this.check();
    let rev = this.rev;
    if (opts.revision) {
      if (opts.revision < this.compacted) throw compactedError(opts.revision, this.compacted);
      rev = Math.min(opts.revision, this.rev);
    }
    const after = opts.startAfter ?? '';
    const keys = [...this.byKey.keys()].filter((k) => k.startsWith(prefix) && k > after).sort(compareKeys);
    const limit = opts.limit && opts.limit > 0 ? opts.limit : Infinity;
    const items: KeyValue[] = [];
    let more = false;
    for (const k of keys) {
      const row = latestAt(this.byKey.get(k)!, rev);
      if (!row || row.deleted) continue;
      if (items.length === limit) {
        more = true;
        break;
      }
      items.push(rowToKeyValue(row));
    }
    return { items, revision: rev, more };
  }

  async count(prefix: string): Promise<number> {
    this.check();
    let n = 0;
    for (const [k, rows] of this.byKey) {
      if (k.startsWith(prefix) && !rows[rows.length - 1].deleted) n++;
    }
    return n;
  }

  async create(key: string, value: string): Promise<KeyValue> {
    this.check();
    const prev = this.latest(key);
    if (prev && !prev.deleted) throw keyExists(key);
    const id = this.rev + 1;
    return this.append({ id, name: key, created: 1, deleted: 0, create_revision: id, prev_revision: prev?.id ?? 0, value, old_value: null });
  }

  async update(key: string, value: string, expectedModRevision: number): Promise<KeyValue> {
    this.check();
    const prev = this.latest(key);
    if (!prev || prev.deleted) throw keyNotFound(key);
    if (prev.id !== expectedModRevision) throw modified(key, expectedModRevision, rowToKeyValue(prev));
    return this.append({
      id: this.rev + 1,
      name: key,
      created: 0,
      deleted: 0,
      create_revision: prev.create_revision,
      prev_revision: prev.id,
      value,
      old_value: prev.value,
    });
  }

  async delete(key: string, expectedModRevision?: number): Promise<KeyValue> {
    this.check();
    const prev = this.latest(key);
    if (!prev || prev.deleted) throw keyNotFound(key);
    if (expectedModRevision !== undefined && prev.id !== expectedModRevision) {
      throw modified(key, expectedModRevision, rowToKeyValue(prev));
    }
    return this.append({
      id: this.rev + 1,
      name: key,
      created: 0,
      deleted: 1,
      create_revision: prev.create_revision,
      prev_revision: prev.id,
      value: prev.value,
      old_value: null,
    });
  }

  watch(prefix: string, afterRevision: number, handlers: WatchHandlers): Cancel {
    return this.hub.watch(prefix, afterRevision, handlers);
  }

  /** Same rule as sqlite: drop superseded rows and tombstones at or below `revision`. */
  async compact(revision: number): Promise<void> {
    this.check();
    const target = Math.min(revision, this.rev);
    if (target <= this.compacted) return;
    const dropped = new Set<LogRow>();
    for (const [k, rows] of this.byKey) {
      let i = 0;
      while (i < rows.length && rows[i].id <= target) i++;
      // rows[0..i) are at or below the target: all but the newest are superseded,
      // and the newest goes too if it is a tombstone.
      let cut = i - 1;
      if (i > 0 && rows[i - 1].deleted) cut = i;
      if (cut <= 0) continue;
      for (const r of rows.slice(0, cut)) dropped.add(r);
      if (cut >= rows.length) this.byKey.delete(k);
      else this.byKey.set(k, rows.slice(cut));
    }
    if (dropped.size > 0) this.log = this.log.filter((r) => !dropped.has(r));
    this.compacted = target;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.hub.close();
  }

  private readHistory(prefix: string, after: number, upTo: number, limit: number): WatchEvent[] {
    if (this.closed) throw closedError();
    if (after < this.compacted) throw compactedError(after, this.compacted);
    const out: WatchEvent[] = [];
    for (let i = firstAbove(this.log, after); i < this.log.length && out.length < limit; i++) {
      const r = this.log[i];
      if (r.id > upTo) break;
      if (r.name.startsWith(prefix)) out.push(rowToEvent(r));
    }
    return out;
  }

  private latest(key: string): LogRow | undefined {
    const rows = this.byKey.get(key);
    return rows?.[rows.length - 1];
  }

  private append(row: LogRow): KeyValue {
    this.log.push(row);
    const rows = this.byKey.get(row.name);
    if (rows) rows.push(row);
    else this.byKey.set(row.name, [row]);
    this.rev = row.id;
    this.hub.publish([rowToEvent(row)]);
    return rowToKeyValue(row);
  }

  private check(): void {
    if (this.closed) throw closedError();
  }
}

/**
 * UTF-16 code unit order. It equals SQLite's and etcd's byte order for every key below
 * U+E000, which covers all Kubernetes keys (names are DNS labels).
 */
function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Index of the first row with id > rev (rows ascending by id). */
function firstAbove(rows: LogRow[], rev: number): number {
  let lo = 0;
  let hi = rows.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (rows[mid].id <= rev) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function latestAt(rows: LogRow[], rev: number): LogRow | undefined {
  const i = firstAbove(rows, rev);
  return i > 0 ? rows[i - 1] : undefined;
}
