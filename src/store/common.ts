/**
 * Pieces shared by the store backends: the error constructors (so every backend words its
 * failures the same way), the kine-style log row and its mapping to watch events, and key
 * range arithmetic.
 */
import { StoreError, type KeyValue, type WatchEvent } from './types.js';

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

export function keyExists(key: string): StoreError {
  return new StoreError('KeyExists', `key "${key}" already exists`);
}

export function keyNotFound(key: string): StoreError {
  return new StoreError('NotFound', `key "${key}" not found`);
}

export function modified(key: string, expected: number, current: KeyValue): StoreError {
  return new StoreError(
    'Conflict',
    `key "${key}" has been modified: expected mod revision ${expected}, current is ${current.modRevision}`,
    current,
  );
}

export function compactedError(requested: number, compacted: number): StoreError {
  return new StoreError(
    'Compacted',
    `required revision ${requested} has been compacted; history starts after revision ${compacted}`,
    undefined,
    compacted,
  );
}

export function closedError(what = 'store'): StoreError {
  return new StoreError('Closed', `${what} is closed`);
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

/** Highest Unicode scalar value; used as the open upper bound of the empty prefix. */
const MAX_CODE_POINT = 0x10ffff;

/**
 * The smallest string greater than every string that starts with `prefix`, in code point
 * order (which is SQLite's BINARY order over UTF-8). `undefined` when no such bound exists
 * (empty prefix or a prefix made only of U+10FFFF): the range is then open above.
 */
export function prefixEnd(prefix: string): string | undefined {
  const cps = Array.from(prefix, (c) => c.codePointAt(0)!);
  while (cps.length > 0) {
    let last = cps.pop()!;
    if (last === MAX_CODE_POINT) continue;
    last += 1;
    // Lone surrogates do not survive UTF-8 encoding; skip to the next scalar value.
    if (last >= 0xd800 && last <= 0xdfff) last = 0xe000;
    cps.push(last);
    return String.fromCodePoint(...cps);
  }
  return undefined;
}
