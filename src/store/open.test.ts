import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { MemoryStore } from './memory.js';
import { openStore } from './open.js';
import { SqliteStore } from './sqlite.js';

it('opens the backend a --store value names', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-open-'));
  try {
    const mem = await openStore('memory:');
    assert.ok(mem instanceof MemoryStore);
    await mem.close();
    for (const spec of [join(dir, 'a.db'), `sqlite:${join(dir, 'b.db')}`, `sqlite://${join(dir, 'c.db')}`]) {
      const s = await openStore(spec);
      assert.ok(s instanceof SqliteStore, spec);
      await s.create('/k', 'v');
      await s.close();
    }
    for (const f of ['a.db', 'b.db', 'c.db']) assert.ok(existsSync(join(dir, f)), f);
    await assert.rejects(openStore('sqlite:'), /no database path/);
    await assert.rejects(openStore('etcd://'), /no etcd endpoint/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
