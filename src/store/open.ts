/**
 * Opens a store from the `--store` flag: a file path or `sqlite:PATH` (the default backend),
 * `etcd://HOST:PORT[,HOST:PORT...]` (plain-HTTP etcd v3; `etcds://` for TLS endpoints), or
 * `memory:` (nothing persists; tests and simulations).
 */
import { MemoryStore } from './memory.js';
import { SqliteStore, type SqliteStoreOptions } from './sqlite.js';
import type { Store } from './types.js';

export async function openStore(spec: string, opts: SqliteStoreOptions & { etcdKeyPrefix?: string } = {}): Promise<Store> {
  if (spec === 'memory:' || spec === 'memory') return new MemoryStore();
  const etcd = /^etcd(s?):\/\/(.*)$/.exec(spec);
  if (etcd) {
    const scheme = etcd[1] ? 'https' : 'http';
    const endpoints = etcd[2].split(',').filter(Boolean).map((h) => `${scheme}://${h.replace(/\/+$/, '')}`);
    if (endpoints.length === 0) throw new Error(`--store ${spec}: no etcd endpoint given`);
    // Loaded on demand: the etcd client (gRPC) costs a third of a second to import.
    const { EtcdStore } = await import('./etcd.js');
    return EtcdStore.connect(endpoints, { keyPrefix: opts.etcdKeyPrefix });
  }
  const path = spec.startsWith('sqlite:') ? spec.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '') : spec;
  if (!path) throw new Error(`--store ${spec}: no database path given`);
  return SqliteStore.open(path, opts);
}
