/**
 * In-process watch fan-out of the revision log (log.ts), which the sqlite and memory backends share.
 *
 * A backend calls {@link WatchHub.publish} right after each commit, in revision order. A watch
 * that starts in the past first replays the log through {@link HistorySource.readHistory} in
 * pages, while live events that arrive meanwhile are held back; once the replay has reached
 * the revision that was current when the watch was registered, the held-back events follow.
 * Every event carries its revision and each watcher remembers the last one it was given, so
 * the seam between replay and live delivery has neither a gap nor a duplicate.
 */
import { compactedError, closedError } from './common.js';
import { StoreError, type Cancel, type WatchEvent, type WatchHandlers } from './types.js';

/** What the hub needs from a backend to replay history. */
export interface HistorySource {
  /** The latest committed revision. */
  currentRevision(): number;
  /** The revision history has been compacted up to. */
  compactedRevision(): number;
  /**
   * Events for keys under `prefix` with afterRevision < modRevision <= upToRevision, ascending,
   * at most `limit`. Must throw StoreError 'Compacted' when afterRevision < compactedRevision().
   */
  readHistory(prefix: string, afterRevision: number, upToRevision: number, limit: number): WatchEvent[] | Promise<WatchEvent[]>;
}

export interface WatchHubOptions {
  /** Rows read per replay page; between pages the event loop gets a turn. */
  replayPageSize?: number;
}

interface Watcher {
  prefix: string;
  handlers: WatchHandlers;
  /** Highest revision handed to this watcher (queued or delivered); anything at or below is a duplicate. */
  last: number;
  /** True while history is being replayed; live events wait in `held`. */
  replaying: boolean;
  held: WatchEvent[];
  pending: WatchEvent[];
  scheduled: boolean;
  done: boolean;
}

export class WatchHub {
  private readonly watchers = new Set<Watcher>();
  private readonly pageSize: number;
  private closed = false;

  constructor(private readonly source: HistorySource, opts: WatchHubOptions = {}) {
    this.pageSize = Math.max(1, opts.replayPageSize ?? 1000);
  }

  /** Number of active watches (for metrics and tests). */
  get size(): number {
    return this.watchers.size;
  }

  /**
   * Fans committed events out to matching watchers. Must be called synchronously after the
   * commit and in strictly increasing revision order; delivery itself happens in a microtask,
   * so a slow or throwing handler never runs inside the writer.
   */
  publish(events: WatchEvent[]): void {
    if (events.length === 0 || this.watchers.size === 0) return;
    for (const w of this.watchers) {
      let matched: WatchEvent[] | undefined;
      for (const ev of events) {
        if (ev.key.startsWith(w.prefix)) (matched ??= []).push(ev);
      }
      if (!matched) continue;
      if (w.replaying) w.held.push(...matched);
      else this.enqueue(w, matched);
    }
  }

  /** Starts a watch; see {@link Store.watch}. */
  watch(prefix: string, afterRevision: number, handlers: WatchHandlers): Cancel {
    const w: Watcher = {
      prefix,
      handlers,
      last: afterRevision,
      replaying: false,
      held: [],
      pending: [],
      scheduled: false,
      done: false,
    };
    const cancel: Cancel = () => {
      w.done = true;
      w.pending = [];
      w.held = [];
      this.watchers.delete(w);
    };
    if (this.closed) {
      // Report asynchronously so the caller always holds its Cancel before any callback.
      queueMicrotask(() => this.fail(w, closedError('watch hub')));
      return cancel;
    }
    const compacted = this.source.compactedRevision();
    if (afterRevision < compacted) {
      queueMicrotask(() => this.fail(w, compactedError(afterRevision, compacted)));
      return cancel;
    }
    // Registration and reading the target revision happen in the same synchronous step, so
    // every later commit is published to this watcher and every earlier one is in the replay.
    const target = this.source.currentRevision();
    this.watchers.add(w);
    if (afterRevision < target) {
      w.replaying = true;
      this.replay(w, target).catch((err) => this.fail(w, toStoreError(err)));
    }
    return cancel;
  }

  /** Ends every watch with a 'Closed' error. */
  close(): void {
    this.closed = true;
    for (const w of [...this.watchers]) this.fail(w, closedError('store'));
  }

  private async replay(w: Watcher, target: number): Promise<void> {
    let cursor = w.last;
    // Bounded: every page advances the cursor by at least one revision towards `target`.
    while (cursor < target && !w.done) {
      const page = await this.source.readHistory(w.prefix, cursor, target, this.pageSize);
      if (w.done) return;
      if (page.length > 0) {
        this.enqueue(w, page);
        cursor = page[page.length - 1].modRevision;
      }
      if (page.length < this.pageSize) break;
      // Let writers and other watchers run between pages of a long replay.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    if (w.done) return;
    w.replaying = false;
    w.last = Math.max(w.last, target);
    const held = w.held;
    w.held = [];
    this.enqueue(w, held);
  }

  private enqueue(w: Watcher, events: WatchEvent[]): void {
    if (w.done) return;
    for (const ev of events) {
      if (ev.modRevision <= w.last) continue;
      w.last = ev.modRevision;
      w.pending.push(ev);
    }
    if (w.pending.length > 0 && !w.scheduled) {
      w.scheduled = true;
      queueMicrotask(() => this.flush(w));
    }
  }

  private flush(w: Watcher): void {
    w.scheduled = false;
    if (w.done || w.pending.length === 0) return;
    const batch = w.pending;
    w.pending = [];
    try {
      w.handlers.onEvents(batch);
    } catch (err) {
      // A broken consumer must not take the writer or other watchers down; end its watch.
      this.fail(w, new StoreError('Closed', `watch on "${w.prefix}" ended: handler threw: ${errorMessage(err)}`));
    }
  }

  private fail(w: Watcher, err: StoreError): void {
    if (w.done) return;
    w.done = true;
    w.pending = [];
    w.held = [];
    this.watchers.delete(w);
    try {
      w.handlers.onError?.(err);
    } catch {
      // The watch is over either way; nothing more to tell this consumer.
    }
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function toStoreError(err: unknown): StoreError {
  if (err instanceof StoreError) return err;
  return new StoreError('Closed', `watch replay failed: ${errorMessage(err)}`);
}
