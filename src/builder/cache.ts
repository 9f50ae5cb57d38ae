/**
 * The layer cache. A filesystem step's key is a hash of its parent key (the chain back to
 * the base image's manifest digest, or `scratch`), the instruction after expansion and what
 * it depends on (RUN: env, user, working dir, network; COPY/ADD: the digest of the copied
 * content, destination and ownership). Each key maps to the layer the step made (or none),
 * one JSON record per key in `<dataDir>/build-cache/`. An unchanged rebuild therefore mounts
 * nothing and runs nothing.
 *
 * The key derivation is part of the on-disk format: changing what goes into a key (or how it
 * is serialized) invalidates every cache.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ImageStore } from '../image/store.js';
import type { BuiltLayer } from './layer.js';

/** The cache key (hex sha256) of a step's inputs, in order. */
export function cacheKey(...parts: unknown[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

/** What a cached step made: its layer, or null when it changed nothing. */
export interface CacheRecord {
  layer: BuiltLayer | null;
}

/** The cache records of one data dir. */
export class BuildCache {
  private readonly dir: string;

  /** With `disabled` (`--no-cache`) nothing is read, but results are still recorded. */
  constructor(private readonly store: ImageStore, private readonly disabled = false) {
    this.dir = join(store.dataDir, 'build-cache');
    mkdirSync(this.dir, { recursive: true });
  }

  /** The record for `key`; undefined when absent, disabled, or its layer blob is gone from the store. */
  read(key: string): CacheRecord | undefined {
    if (this.disabled) return undefined;
    try {
      const v = JSON.parse(readFileSync(join(this.dir, `${key}.json`), 'utf8')) as CacheRecord;
      if (v.layer && !this.store.hasBlob(v.layer.desc.digest)) return undefined;
      return v;
    } catch {
      return undefined;
    }
  }

  write(key: string, layer: BuiltLayer | undefined): void {
    const tmp = join(this.dir, `${key}.json.tmp-${process.pid}`);
    writeFileSync(tmp, JSON.stringify({ layer: layer ?? null }));
    // rename is atomic: concurrent builds never read half a record.
    renameSync(tmp, join(this.dir, `${key}.json`));
  }
}
