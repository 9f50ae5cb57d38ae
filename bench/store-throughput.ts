/**
 * Throughput of the sqlite store: sequential creates, updates and deletes, and list timings
 * over N keys (default 10,000). Prints one JSON line of figures.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../src/store/sqlite.js';

const n = Number(process.argv[2] ?? 10_000);
const dir = mkdtempSync(join(tmpdir(), 'skiff-bench-store-'));
const store = SqliteStore.open(join(dir, 'state.db'));
const pod = (i: number) =>
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `web-${i}`, namespace: 'default', labels: { app: 'web' }, uid: `00000000-0000-0000-0000-${String(i).padStart(12, '0')}` },
    spec: { containers: [{ name: 'web', image: 'nginx:1.27', ports: [{ containerPort: 80 }] }], nodeName: 'node-1' },
    status: { phase: 'Running' },
  });
const rate = (count: number, ms: number) => Math.round(count / (ms / 1000));
const time = async <T>(fn: () => Promise<T>): Promise<[T, number]> => {
  const t = performance.now();
  const r = await fn();
  return [r, Math.round((performance.now() - t) * 100) / 100];
};

try {
  const key = (i: number) => `/registry/pods/default/web-${i}`;
  const [, createMs] = await time(async () => {
    for (let i = 0; i < n; i++) await store.create(key(i), pod(i));
  });
  const [, updateMs] = await time(async () => {
    for (let i = 0; i < n; i++) await store.update(key(i), pod(i), i + 1);
  });
  const [all, listAllMs] = await time(() => store.list('/registry/pods/'));
  const [, listPageMs] = await time(() => store.list('/registry/pods/default/', { limit: 500, startAfter: key(5000) }));
  const [, listPastMs] = await time(() => store.list('/registry/pods/', { revision: n }));
  const [, countMs] = await time(() => store.count('/registry/pods/'));
  const [, getMs] = await time(async () => {
    for (let i = 0; i < 1000; i++) await store.get(key((i * 7919) % n));
  });
  const [, compactMs] = await time(() => store.compact(n * 2));
  const [, deleteMs] = await time(async () => {
    for (let i = 0; i < n; i++) await store.delete(key(i));
  });
  if (all.items.length !== n) throw new Error(`listed ${all.items.length} of ${n} keys`);
  console.log(
    JSON.stringify({
      bench: 'store-throughput',
      backend: 'sqlite',
      keys: n,
      createsPerSec: rate(n, createMs),
      updatesPerSec: rate(n, updateMs),
      deletesPerSec: rate(n, deleteMs),
      getsPerSec: rate(1000, getMs),
      listAllMs,
      listPage500Ms: listPageMs,
      listAtPastRevisionMs: listPastMs,
      countMs,
      compactMs,
    }),
  );
} finally {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
