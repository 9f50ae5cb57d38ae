/**
 * The kine-style revision log, written once: every write appends one {@link LogRow} whose id
 * is the new global revision, and etcd v3 semantics (compare-and-swap on a key's mod
 * revision, reads at a past revision, paging, ordered watches from a revision, compaction)
 * are derived from that log here. A backend — memory.ts, sqlite.ts — is only the log's
 * storage dialect: it stores rows, finds a key's newest row, scans live keys and history,
 * and drops compacted rows. As in kine, where `logstructured` keeps the log once and each
 * SQL driver supplies its dialect.
 */
import { closedError, compactedError, keyExists, keyNotFound, modified } from './common.js';
import type { Cancel, KeyValue, ListOptions, ListResult, Store, WatchEvent, WatchHandlers } from './types.js';
import { WatchHub } from './watch-hub.js';

/** One entry of the revision log, as kine stores it: every write appends one row. */
export interface LogRow {
  /** The revision of this write. */
  id: number;
  name: string;
  /** 1 when this row brought the key into existence (no live predecessor). */
  created: number;
  /** 1 when this row is a delete tombstone. */
  deleted: number;
  create_revision: number;
  /** Id of the previous row of the same key (0 if none survives); unique per key. */
  prev_revision: number;
  /** PUT: the new value. Tombstone: the value that was deleted. */
  value: string;
  /** The value before this write (null for a creation and for a tombstone, whose `value` it is). */
  old_value: string | null;
}

/** The live key a non-tombstone row describes. */
export function rowToKeyValue(r: LogRow): KeyValue {
  return { key: r.name, value: r.value, createRevision: r.create_revision, modRevision: r.id };
}

/** The watch event a log row stands for. */
export function rowToEvent(r: LogRow): WatchEvent {
  const ev: WatchEvent = {
    type: r.deleted ? 'DELETE' : 'PUT',
    key: r.name,
    value: r.value,
    modRevision: r.id,
    createRevision: r.create_revision,
  };
  if (r.deleted) ev.prevValue = r.value;
  else if (!r.created && r.old_value !== null) ev.prevValue = r.old_value;
  return ev;
}

export interface LogStoreOptions {
  /** Revisions compacted per {@link LogStore.compactRange} call; the event loop runs between calls (default: all at once). */
  compactBatch?: number;
}

/**
 * A {@link Store} over a revision log. Subclasses implement the storage dialect (the
 * protected abstract methods) and call {@link LogStore.committed} when rows become visible.
 */
export abstract class LogStore implements Store {
  /** The highest revision issued to a write (committed or still in an open transaction). */
  protected rev = 0;
  /** The highest committed revision: what readers and watchers may see. */
  protected committedRev = 0;
  /** The revision history has been compacted up to. */
  protected compacted = 0;
  protected closed = false;
  /** The compaction in progress, if any; compactions run one at a time. */
  protected compacting: Promise<void> | undefined;
  protected readonly compactBatch: number;
  private readonly hub: WatchHub;

  protected constructor(opts: LogStoreOptions = {}) {
    this.compactBatch = Math.max(1, opts.compactBatch ?? Infinity);
    this.hub = new WatchHub({
      currentRevision: () => this.committedRev,
      compactedRevision: () => this.compacted,
      readHistory: (prefix, after, upTo, limit) => this.readHistory(prefix, after, upTo, limit),
    });
  }

  // --- the storage dialect

  /** The newest row of `key` (live or tombstone), including rows of an uncommitted write group. */
  protected abstract latest(key: string): LogRow | undefined;
  /**
   * Stores `row` (whose id is `rev + 1`). Throws synchronously if the storage rejects it. The
   * row must reach {@link committed} once it is durable: before returning, or before the
   * returned promise resolves.
   */
  protected abstract write(row: LogRow): Promise<void> | void;
  /**
   * Live rows under `prefix` with key > `after`, each the newest of its key at revision `rev`,
   * in key order, at most `limit` (-1: all).
   */
  protected abstract scanLive(prefix: string, after: string, rev: number, limit: number): LogRow[];
  /** Number of keys under `prefix` whose newest row is live. */
  protected abstract countLive(prefix: string): number;
  /** Rows under `prefix` with after < id <= upTo, ascending by id, at most `limit`. */
  protected abstract scanHistory(prefix: string, after: number, upTo: number, limit: number): LogRow[];
  /**
   * Drops the rows with ids in (lo, hi] that compaction to `hi` makes unreachable: rows
   * superseded by a row at or below `hi`, and tombstones. Records `hi` as compacted durably.
   */
  protected abstract compactRange(lo: number, hi: number): void;

  // --- Store

  async revision(): Promise<number> {
    this.check();
    return this.committedRev;
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
    let rev = this.committedRev;
    if (opts.revision) {
      if (opts.revision < this.compacted) throw compactedError(opts.revision, this.compacted);
      // A revision from the future reads as now; the result reports what was read.
      rev = Math.min(opts.revision, this.committedRev);
    }
    const limit = opts.limit && opts.limit > 0 ? opts.limit : -1;
    // One row more than asked tells whether the limit cut the result short.
    const rows = this.scanLive(prefix, opts.startAfter ?? '', rev, limit > 0 ? limit + 1 : -1);
    const more = limit > 0 && rows.length > limit;
    if (more) rows.length = limit;
    return { items: rows.map(rowToKeyValue), revision: rev, more };
  }

  async count(prefix: string): Promise<number> {
    this.check();
    return this.countLive(prefix);
  }

  async create(key: string, value: string): Promise<KeyValue> {
    this.check();
    const prev = this.latest(key);
    if (prev && !prev.deleted) throw keyExists(key);
    const id = this.rev + 1;
    const row: LogRow = { id, name: key, created: 1, deleted: 0, create_revision: id, prev_revision: prev?.id ?? 0, value, old_value: null };
    await this.append(row);
    return rowToKeyValue(row);
  }

  async update(key: string, value: string, expectedModRevision: number): Promise<KeyValue> {
    this.check();
    const prev = this.latest(key);
    if (!prev || prev.deleted) throw keyNotFound(key);
    if (prev.id !== expectedModRevision) throw modified(key, expectedModRevision, rowToKeyValue(prev));
    const row = this.successor(prev, 0, value, prev.value);
    await this.append(row);
    return rowToKeyValue(row);
  }

  async delete(key: string, expectedModRevision?: number): Promise<KeyValue> {
    this.check();
    const prev = this.latest(key);
    if (!prev || prev.deleted) throw keyNotFound(key);
    if (expectedModRevision !== undefined && prev.id !== expectedModRevision) {
      throw modified(key, expectedModRevision, rowToKeyValue(prev));
    }
    // The deleted value is the tombstone's value; storing it twice would double big deletes.
    const row = this.successor(prev, 1, prev.value, null);
    await this.append(row);
    return rowToKeyValue(row);
  }

  watch(prefix: string, afterRevision: number, handlers: WatchHandlers): Cancel {
    return this.hub.watch(prefix, afterRevision, handlers);
  }

  /**
   * Drops history at and below `revision`: superseded rows and tombstones. The newest live row
   * of every key survives, so reads at `revision` and later still answer fully. Runs in
   * batches of `compactBatch` revisions, yielding to the event loop in between. A revision
   * beyond the current one compacts up to the current one.
   */
  async compact(revision: number): Promise<void> {
    this.check();
    // Serialize compactions; each one resumes from wherever the previous one stopped.
    while (this.compacting) await this.compacting;
    const target = Math.min(revision, this.rev);
    if (target <= this.compacted) return;
    const run = this.compactTo(target);
    this.compacting = run;
    try {
      await run;
    } finally {
      this.compacting = undefined;
    }
  }

  /** Ends every watch; a running compaction finishes its current batch first. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.hub.close();
    await this.compacting?.catch(() => {});
  }

  // --- for the dialects

  /**
   * Makes committed rows visible: advances the committed revision and hands the rows to the
   * watchers. Rows must come in revision order, right after their commit.
   */
  protected committed(rows: LogRow[]): void {
    if (rows.length === 0) return;
    this.committedRev = rows[rows.length - 1].id;
    this.hub.publish(rows.map(rowToEvent));
  }

  protected check(): void {
    if (this.closed) throw closedError();
  }

  /** The next row of `prev`'s key: an update (deleted 0) or a tombstone (deleted 1). */
  private successor(prev: LogRow, deleted: 0 | 1, value: string, oldValue: string | null): LogRow {
    return {
      id: this.rev + 1,
      name: prev.name,
      created: 0,
      deleted,
      create_revision: prev.create_revision,
      prev_revision: prev.id,
      value,
      old_value: oldValue,
    };
  }

  /** Writes the next row; the result settles once it is durable (if the dialect commits later). */
  private append(row: LogRow): Promise<void> | void {
    const durable = this.write(row);
    this.rev = row.id;
    return durable;
  }

  private async compactTo(target: number): Promise<void> {
    // Bounded: each iteration advances `compacted` by at least one towards `target`.
    while (this.compacted < target) {
      if (this.closed) return;
      const lo = this.compacted;
      const hi = Math.min(target, lo + this.compactBatch);
      this.compactRange(lo, hi);
      this.compacted = hi;
      if (hi < target) await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  private readHistory(prefix: string, after: number, upTo: number, limit: number): WatchEvent[] {
    if (this.closed) throw closedError();
    if (after < this.compacted) throw compactedError(after, this.compacted);
    return this.scanHistory(prefix, after, upTo, limit).map(rowToEvent);
  }
}
