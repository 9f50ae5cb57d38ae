/**
 * The embedded default store: the revision log of log.ts kept in one SQLite table, as kine
 * keeps it; this file is the SQL dialect (schema, statements, group commit, maintenance).
 *
 * Every write appends one row whose autoincrement id is the new global revision. A row names
 * the previous row of the same key in `prev_revision`, and a UNIQUE index on
 * (name, prev_revision) makes two writers that read the same predecessor collide, so
 * compare-and-swap is enforced by the database, not only by this process.
 *
 * The same index finds the newest row of a key: within one key, prev_revision grows with id
 * (each row points at the key's newest row before it, and a key whose rows were all compacted
 * away restarts at 0 with no older row left), and the index carries the rowid (= id). A second
 * index on (name, id) would answer the same questions but cost one more b-tree write per
 * commit, about 40% of the write rate.
 *
 * Durability: WAL with synchronous=NORMAL. A commit is in the WAL before `create` resolves,
 * so it survives the process being killed (kill -9); only an OS crash or power loss may drop
 * the last transactions, which is the same trade kine and k3s make.
 */
import Database from 'better-sqlite3';
import { keyExists, keyNotFound, modified, prefixEnd } from './common.js';
import { LogStore, rowToKeyValue, type LogRow } from './log.js';
import { StoreError } from './types.js';
import { every, realClock, type Clock } from '../util/clock.js';

export interface SqliteStoreOptions {
  /** Revisions of history kept by automatic compaction (default 10,000; 0 disables it). */
  compactRetain?: number;
  /** How often automatic compaction and vacuuming run (default 5 minutes, as kube-apiserver). */
  compactIntervalMs?: number;
  /** Drives automatic maintenance; tests pass a FakeClock. */
  clock?: Clock;
  /** Revisions deleted per compaction transaction; the event loop runs between batches. */
  compactBatch?: number;
}

/** Pseudo upper bound for the empty prefix; no key of ours starts with U+10FFFF. */
const OPEN_END = String.fromCodePoint(0x10ffff).repeat(4);

const SCHEMA = `
CREATE TABLE IF NOT EXISTS kine (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  created INTEGER NOT NULL,
  deleted INTEGER NOT NULL,
  create_revision INTEGER NOT NULL,
  prev_revision INTEGER NOT NULL,
  value TEXT NOT NULL,
  old_value TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS kine_name_prev_revision_uindex ON kine (name, prev_revision);
CREATE TABLE IF NOT EXISTS kine_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
`;

type Stmt = Database.Statement;

export class SqliteStore extends LogStore {
  private autoScheduled = false;
  private readonly stopTimer: () => void;
  private readonly retain: number;
  /** Writes of the current event-loop turn, committed together by {@link commitGroup}. */
  private group: { rows: LogRow[]; waiters: { resolve: () => void; reject: (e: unknown) => void }[] } | undefined;

  private readonly sLatest: Stmt;
  private readonly sInsert: Stmt;
  private readonly sList: Stmt;
  private readonly sCount: Stmt;
  private readonly sHistory: Stmt;
  private readonly sSeq: Stmt;
  /** One compaction batch as one transaction: drop the rows (lo, hi] made unreachable, record hi. */
  private readonly compactStep: (lo: number, hi: number) => void;

  private constructor(private readonly db: Database.Database, readonly path: string, opts: SqliteStoreOptions) {
    super({ compactBatch: opts.compactBatch ?? 1000 });
    this.retain = opts.compactRetain ?? 10_000;
    this.sLatest = db.prepare('SELECT * FROM kine WHERE name = ? ORDER BY prev_revision DESC LIMIT 1');
    this.sInsert = db.prepare(
      'INSERT INTO kine (id, name, created, deleted, create_revision, prev_revision, value, old_value) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    // Walks the index in key order and keeps a row only if it is the newest of its key at the
    // revision, so LIMIT stops the scan early when paging.
    this.sList = db.prepare(`
      SELECT k.* FROM kine k
      WHERE k.name >= @lo AND k.name < @hi AND k.name > @after AND k.id <= @rev AND k.deleted = 0
        AND k.id = (SELECT m.id FROM kine m WHERE m.name = k.name AND m.id <= @rev ORDER BY m.prev_revision DESC LIMIT 1)
      ORDER BY k.name LIMIT @limit`);
    this.sCount = db.prepare(`
      SELECT COUNT(*) AS n FROM kine k
      WHERE k.name >= @lo AND k.name < @hi AND k.deleted = 0
        AND k.id = (SELECT m.id FROM kine m WHERE m.name = k.name ORDER BY m.prev_revision DESC LIMIT 1)`);
    this.sHistory = db.prepare(
      'SELECT * FROM kine WHERE id > @after AND id <= @upTo AND name >= @lo AND name < @hi ORDER BY id LIMIT @limit',
    );
    // A row is superseded exactly when a later row of its key names it as prev_revision.
    const deleteSuperseded = db.prepare(
      'DELETE FROM kine WHERE id IN (SELECT prev_revision FROM kine WHERE id > @lo AND id <= @hi AND prev_revision != 0)',
    );
    const deleteTombstones = db.prepare('DELETE FROM kine WHERE id > @lo AND id <= @hi AND deleted = 1');
    const setMeta = db.prepare('INSERT INTO kine_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');
    this.compactStep = db.transaction((lo: number, hi: number) => {
      deleteSuperseded.run({ lo, hi });
      deleteTombstones.run({ lo, hi });
      setMeta.run('compact_rev', hi);
    });
    // sqlite_sequence keeps the highest id ever issued, even after compaction deleted it.
    this.sSeq = db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'kine'");
    this.rev = this.readSeq();
    this.committedRev = this.rev;
    const c = db.prepare("SELECT value FROM kine_meta WHERE key = 'compact_rev'").get() as { value: number } | undefined;
    this.compacted = c?.value ?? 0;
    const interval = opts.compactIntervalMs ?? 5 * 60_000;
    this.stopTimer = interval > 0 ? every(opts.clock ?? realClock, interval, () => this.maintainInBackground()) : () => {};
  }

  /** Opens (creating if needed) the store at `path`. */
  static open(path: string, opts: SqliteStoreOptions = {}): SqliteStore {
    const db = new Database(path);
    try {
      // auto_vacuum only takes effect before the first table exists, so set it first.
      db.pragma('auto_vacuum = INCREMENTAL');
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma('busy_timeout = 5000');
      db.exec(SCHEMA);
      return new SqliteStore(db, path, opts);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  /**
   * One round of housekeeping: compacts to keep the last `compactRetain` revisions, returns
   * free pages to the file system and truncates the WAL. Runs on the timer; callable directly.
   */
  async maintain(): Promise<void> {
    if (this.closed) return;
    if (this.retain > 0 && this.rev - this.retain > this.compacted) await this.compact(this.rev - this.retain);
    if (this.closed) return;
    this.commitGroup();
    this.db.pragma('incremental_vacuum');
    this.db.pragma('wal_checkpoint(TRUNCATE)');
  }

  private maintainInBackground(): void {
    this.maintain().catch((err: unknown) => {
      // Nobody awaits the timer; a failed round is retried on the next tick.
      if (!this.closed) process.emitWarning(`skiff store ${this.path}: maintenance failed: ${err instanceof Error ? err.message : String(err)}`);
    });
  }

  override async close(): Promise<void> {
    if (this.closed) return;
    this.commitGroup();
    this.stopTimer();
    // A running compaction notices `closed` between batches; let it finish its transaction.
    await super.close();
    this.db.close();
  }

  // --- the storage dialect

  protected latest(key: string): LogRow | undefined {
    return this.sLatest.get(key) as LogRow | undefined;
  }

  protected scanLive(prefix: string, after: string, rev: number, limit: number): LogRow[] {
    return this.sList.all({ lo: prefix, hi: prefixEnd(prefix) ?? OPEN_END, after, rev, limit }) as LogRow[];
  }

  protected countLive(prefix: string): number {
    return (this.sCount.get({ lo: prefix, hi: prefixEnd(prefix) ?? OPEN_END }) as { n: number }).n;
  }

  protected scanHistory(prefix: string, after: number, upTo: number, limit: number): LogRow[] {
    return this.sHistory.all({ after, upTo, lo: prefix, hi: prefixEnd(prefix) ?? OPEN_END, limit }) as LogRow[];
  }

  /** One transaction per batch; the open write group commits first so the batch sees it. */
  protected compactRange(lo: number, hi: number): void {
    this.commitGroup();
    this.compactStep(lo, hi);
  }

  /**
   * Adds one row to this turn's write group; resolves once the group has committed. Group
   * commit: concurrent writers share one transaction (one WAL append) instead of one each,
   * and nobody is told "done" — nor sees the row in a watch — before it is durable.
   */
  protected write(row: LogRow): Promise<void> {
    if (!this.group) {
      this.db.exec('BEGIN IMMEDIATE');
      this.group = { rows: [], waiters: [] };
      setImmediate(() => this.commitGroup());
    }
    try {
      this.sInsert.run(row.id, row.name, row.created, row.deleted, row.create_revision, row.prev_revision, row.value, row.old_value);
    } catch (err) {
      // Only this statement failed; the rest of the group is unaffected.
      throw this.constraintError(err, row);
    }
    const group = this.group;
    group.rows.push(row);
    return new Promise((resolve, reject) => group.waiters.push({ resolve, reject }));
  }

  /** Commits the open write group (if any), then publishes its rows and acknowledges its writers. */
  private commitGroup(): void {
    const g = this.group;
    if (!g) return;
    this.group = undefined;
    try {
      this.db.exec('COMMIT');
    } catch (err) {
      try {
        this.db.exec('ROLLBACK');
      } catch {
        /* already rolled back */
      }
      this.rev = Math.max(this.committedRev, this.readSeq());
      for (const w of g.waiters) w.reject(err);
      return;
    }
    this.committed(g.rows);
    for (const w of g.waiters) w.resolve();
    if (this.retain > 0 && !this.autoScheduled && !this.compacting && this.rev - this.compacted >= 2 * this.retain + this.compactBatch) {
      // A burst of writes should not wait for the timer to keep the log bounded.
      this.autoScheduled = true;
      setImmediate(() => {
        this.autoScheduled = false;
        this.maintainInBackground();
      });
    }
  }

  /**
   * Another process wrote to the same file: the id or the (name, prev_revision) pair is taken.
   * Catch up with the log and report what the caller would have seen had it read it first.
   */
  private constraintError(err: unknown, row: LogRow): unknown {
    const code = (err as { code?: string }).code;
    if (code !== 'SQLITE_CONSTRAINT_PRIMARYKEY' && code !== 'SQLITE_CONSTRAINT_UNIQUE') return err;
    this.rev = Math.max(this.rev, this.readSeq());
    const cur = this.latest(row.name);
    if (row.created) return cur && !cur.deleted ? keyExists(row.name) : new StoreError('Conflict', `key "${row.name}" was written concurrently; retry`);
    if (!cur || cur.deleted) return keyNotFound(row.name);
    return modified(row.name, row.prev_revision, rowToKeyValue(cur));
  }

  private readSeq(): number {
    return (this.sSeq.get() as { seq: number } | undefined)?.seq ?? 0;
  }
}
