/**
 * The revisioned key-value store that holds every API object, with etcd v3 semantics:
 * one global revision bumped by every write, compare-and-swap on a key's mod revision,
 * ranges at a past revision, ordered watches from a revision, and compaction.
 * Backends: the kine-style revision log of log.ts kept in SQLite (sqlite.ts, the embedded
 * default) or in memory (memory.ts, tests and simulations), and etcd itself (etcd.ts).
 */

/** A live key with its value and the revisions that created and last modified it. */
export interface KeyValue {
  key: string;
  /** The serialized object (JSON text). */
  value: string;
  createRevision: number;
  modRevision: number;
}

/** One change, delivered to watchers strictly in revision order. */
export interface WatchEvent {
  type: 'PUT' | 'DELETE';
  key: string;
  /** PUT: the new value. DELETE: the value the key held when it was deleted. */
  value: string;
  /** The value before this change; absent for a PUT that created the key. */
  prevValue?: string;
  /** The revision of this change (the delete's own revision for DELETE). */
  modRevision: number;
  createRevision: number;
}

export interface ListOptions {
  /** Read as of this revision (0 or absent: the latest). Older than the compacted revision → StoreError 'Compacted'. */
  revision?: number;
  /** Return keys strictly greater than this one (paging). */
  startAfter?: string;
  /** At most this many items (0 or absent: all). */
  limit?: number;
}

export interface ListResult {
  items: KeyValue[];
  /** The revision the list was read at. */
  revision: number;
  /** True when `limit` cut the result short. */
  more: boolean;
}

/** Reasons a store operation fails; callers map them to API errors. */
export type StoreErrorCode = 'KeyExists' | 'NotFound' | 'Conflict' | 'Compacted' | 'Closed';

export class StoreError extends Error {
  constructor(
    readonly code: StoreErrorCode,
    message: string,
    /** For Conflict: the current value of the key. */
    readonly current?: KeyValue,
    /** For Compacted: the revision compacted up to. */
    readonly compactedRevision?: number,
  ) {
    super(message);
    this.name = 'StoreError';
  }
}

/** Stops a watch; idempotent. */
export type Cancel = () => void;

export interface WatchHandlers {
  /** Called with batches of events in revision order, each batch in one call. */
  onEvents(events: WatchEvent[]): void;
  /** Called once if the watch cannot continue (e.g. start revision compacted); no events follow. */
  onError?(err: StoreError): void;
}

export interface Store {
  /** The latest committed revision (0 for an empty store). */
  revision(): Promise<number>;
  /** The revision up to which history has been compacted (0 if never). */
  compactedRevision(): Promise<number>;
  get(key: string): Promise<KeyValue | undefined>;
  /** Keys with the given prefix, in key order. */
  list(prefix: string, opts?: ListOptions): Promise<ListResult>;
  /** Number of live keys under the prefix. */
  count(prefix: string): Promise<number>;
  /** Creates the key; StoreError 'KeyExists' if it is live. */
  create(key: string, value: string): Promise<KeyValue>;
  /**
   * Replaces the value if the key's modRevision equals `expectedModRevision`.
   * StoreError 'NotFound' if absent, 'Conflict' (with `current`) if the revision differs.
   */
  update(key: string, value: string, expectedModRevision: number): Promise<KeyValue>;
  /**
   * Deletes the key, optionally only at `expectedModRevision`. Returns the deleted value with
   * `modRevision` set to the delete's revision. StoreError 'NotFound' / 'Conflict'.
   */
  delete(key: string, expectedModRevision?: number): Promise<KeyValue>;
  /**
   * Streams every change under `prefix` with revision > `afterRevision`, first the history
   * from the log, then live changes, with no gap and no duplicate.
   */
  watch(prefix: string, afterRevision: number, handlers: WatchHandlers): Cancel;
  /** Drops history at and below `revision` (live keys are kept). */
  compact(revision: number): Promise<void>;
  close(): Promise<void>;
}
