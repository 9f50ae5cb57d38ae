import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { streamLog } from './logs.js';

test('CRI logs: partial lines, tailLines, timestamps, since, limitBytes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-logs-'));
  const p = join(dir, '0.log');
  writeFileSync(p, [
    '2024-01-01T00:00:01.000000000Z stdout F one',
    '2024-01-01T00:00:02.000000000Z stderr P tw',
    '2024-01-01T00:00:02.100000000Z stderr F o',
    '2024-01-01T00:00:03.000000000Z stdout F three',
    '',
  ].join('\n'));
  const read = async (o: Parameters<typeof streamLog>[1]) => {
    let out = '';
    await streamLog(p, o, (c) => void (out += c.toString()), async () => false, { aborted: false });
    return out;
  };
  try {
    assert.equal(await read({}), 'one\ntwo\nthree\n');
    assert.equal(await read({ tailLines: 2 }), 'two\nthree\n');
    assert.equal(await read({ tailLines: 0 }), '');
    assert.equal(await read({ timestamps: true, tailLines: 1 }), '2024-01-01T00:00:03.000000000Z three\n');
    assert.equal(await read({ sinceMs: Date.parse('2024-01-01T00:00:02.050Z') }), 'o\nthree\n');
    assert.equal(await read({ limitBytes: 5 }), 'one\nt');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
