/**
 * An in-memory store with the same semantics as the sqlite backend (the same revision log,
 * see log.ts), for unit tests and simulations. Nothing survives the process. This file is
 * only the log's storage: arrays of rows, by revision and by key.
 */
import { LogStore, type LogRow } from './log.js';

export class MemoryStore extends LogStore {
  /** Every surviving row, ascending by id. */
  private log: LogRow[] = [];
  /** Surviving rows per key, ascending by id. */
  private readonly byKey = new Map<string, LogRow[]>();

  constructor() {
    super();
  }

  protected latest(key: string): LogRow | undefined {
    const rows = this.byKey.get(key);
    return rows?.[rows.length - 1];
  }

  /** Memory commits at once: the row is visible before `write` returns. */
  protected write(row: LogRow): void {
    this.log.push(row);
    const rows = this.byKey.get(row.name);
    if (rows) rows.push(row);
    else this.byKey.set(row.name, [row]);
    this.committed([row]);
  }

  protected scanLive(prefix: string, after: string, rev: number, limit: number): LogRow[] {
    const keys = [...this.byKey.keys()].filter((k) => k.startsWith(prefix) && k > after).sort(compareKeys);
    const out: LogRow[] = [];
    for (const k of keys) {
      if (out.length === limit) break;
      const row = latestAt(this.byKey.get(k)!, rev);
      if (row && !row.deleted) out.push(row);
    }
    return out;
  }

  protected countLive(prefix: string): number {
    let n = 0;
    for (const [k, rows] of this.byKey) {
      if (k.startsWith(prefix) && !rows[rows.length - 1].deleted) n++;
    }
    return n;
  }

  protected scanHistory(prefix: string, after: number, upTo: number, limit: number): LogRow[] {
    const out: LogRow[] = [];
    for (let i = firstAbove(this.log, after); i < this.log.length && out.length < limit; i++) {
      const r = this.log[i];
      if (r.id > upTo) break;
      if (r.name.startsWith(prefix)) out.push(r);
    }
    return out;
  }

  /** Per key, drops every row at or below `hi` but the newest, and that one too if it is a tombstone. */
  protected compactRange(_lo: number, hi: number): void {
    const dropped = new Set<LogRow>();
    for (const [k, rows] of this.byKey) {
      let i = 0;
      while (i < rows.length && rows[i].id <= hi) i++;
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
