/**
 * Pieces shared by all store backends (log-structured and etcd): the error constructors, so
 * every backend words its failures the same way, and key range arithmetic.
 */
import { StoreError, type KeyValue } from './types.js';

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
