import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lineSplitter } from './run.js';

test('lineSplitter joins chunks into lines and flushes the unterminated rest at the end', () => {
  const lines: string[] = [];
  const feed = lineSplitter((l) => lines.push(l));
  feed(Buffer.from('one\ntw'));
  feed(Buffer.from('o\n\nthr'));
  assert.deepEqual(lines, ['one', 'two', '']);
  feed(null);
  assert.deepEqual(lines, ['one', 'two', '', 'thr']);
  feed(null);
  assert.equal(lines.length, 4, 'nothing left to flush');
});

test('lineSplitter passes on a line over 64 KiB without waiting for its end', () => {
  const lines: string[] = [];
  const feed = lineSplitter((l) => lines.push(l));
  feed(Buffer.alloc(70_000, 'x'));
  assert.equal(lines.length, 1);
  assert.equal(lines[0]!.length, 70_000);
});
