/**
 * The content store: blobs by digest in `<images>/blobs/sha256/<hex>`, as in an OCI image layout.
 * Every blob is hashed on the way in and lands under its name by a rename from the ingest dir, so
 * a crash never leaves a half-written blob under its final name and two writers of the same blob
 * both succeed. Blobs are immutable, so parsed JSON blobs are cached by digest.
 */
import { createHash, randomBytes, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { digestHex, isSha256Digest } from './oci.js';

/** A name for a temp file or dir that no other process or call picks. */
export function tmpName(): string {
  return `${process.pid}-${randomBytes(6).toString('hex')}`;
}

/** Writes a small file by temp file + rename: readers see the old or the new content, never half. */
export function writeFileAtomic(path: string, data: string | Buffer): void {
  const tmp = `${path}.tmp-${tmpName()}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

/** A pass-through stream that feeds every chunk to `hash` (and counts bytes in `onBytes`). */
export function hashingStream(hash: Hash, onBytes?: (n: number) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      onBytes?.(chunk.length);
      cb(null, chunk);
    },
  });
}

/** Blobs by digest, in one image layout's `blobs/sha256` dir. */
export class ContentStore {
  /** `<root>/blobs/sha256` */
  readonly blobsDir: string;
  private readonly cache = new Map<string, unknown>();

  /**
   * @param root the image layout dir
   * @param ingestDir where blobs are written before they are renamed into place (same filesystem)
   */
  constructor(readonly root: string, readonly ingestDir: string) {
    this.blobsDir = join(root, 'blobs', 'sha256');
    mkdirSync(this.blobsDir, { recursive: true });
    mkdirSync(ingestDir, { recursive: true });
  }

  /** Path of a blob on disk (whether or not it exists). */
  blobPath(digest: string): string {
    return join(this.blobsDir, digestHex(digest));
  }

  hasBlob(digest: string): boolean {
    return isSha256Digest(digest) && existsSync(this.blobPath(digest));
  }

  /** Size of a stored blob, or undefined. */
  blobSize(digest: string): number | undefined {
    try {
      return statSync(this.blobPath(digest)).size;
    } catch {
      return undefined;
    }
  }

  async readBlob(digest: string): Promise<Buffer> {
    try {
      return await readFile(this.blobPath(digest));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`blob ${digest} not found in ${this.root}`);
      throw e;
    }
  }

  /** A read stream of a blob (for serving or pushing without buffering). */
  openBlob(digest: string, opts?: { start?: number; end?: number }): Readable {
    return createReadStream(this.blobPath(digest), opts);
  }

  /**
   * Stores content and returns its digest. When `expected` is given the content must hash to
   * it (and match `expectedSize` if given), otherwise nothing is stored and the call throws.
   */
  async writeBlob(
    data: Buffer | string | Readable | AsyncIterable<Uint8Array>,
    expected?: string,
    expectedSize?: number,
  ): Promise<{ digest: string; size: number }> {
    if (expected && this.hasBlob(expected)) {
      // Still drain a stream so the producer is not left hanging.
      if (!(typeof data === 'string' || Buffer.isBuffer(data))) for await (const _ of data) void _;
      return { digest: expected, size: statSync(this.blobPath(expected)).size };
    }
    const tmp = join(this.ingestDir, tmpName());
    const hash = createHash('sha256');
    let size = 0;
    try {
      const source = typeof data === 'string' || Buffer.isBuffer(data) ? Readable.from([Buffer.from(data)]) : data;
      await pipeline(source, hashingStream(hash, (n) => (size += n)), createWriteStream(tmp));
      const digest = `sha256:${hash.digest('hex')}`;
      if (expected && digest !== expected) {
        throw new Error(`digest mismatch: content hashes to ${digest}, expected ${expected}`);
      }
      if (expectedSize !== undefined && size !== expectedSize) {
        throw new Error(`size mismatch for ${digest}: got ${size} bytes, expected ${expectedSize}`);
      }
      await rename(tmp, this.blobPath(digest));
      return { digest, size };
    } finally {
      await rm(tmp, { force: true });
    }
  }

  /**
   * Moves a file into the store after hashing it (a rename: it must be on the same filesystem,
   * e.g. unpacked into the ingest dir). The file is gone afterwards either way.
   */
  async ingestFile(path: string, expected?: string): Promise<{ digest: string; size: number }> {
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of createReadStream(path)) {
      hash.update(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
    const digest = `sha256:${hash.digest('hex')}`;
    if (expected && digest !== expected) throw new Error(`digest mismatch: ${path} hashes to ${digest}, expected ${expected}`);
    if (this.hasBlob(digest)) await rm(path, { force: true });
    else await rename(path, this.blobPath(digest));
    return { digest, size };
  }

  /** A JSON blob, parsed (cached: blobs never change under their digest). */
  async readJson<T>(digest: string): Promise<T> {
    const hit = this.cache.get(digest);
    if (hit) return hit as T;
    const v = JSON.parse((await this.readBlob(digest)).toString('utf8')) as T;
    this.cache.set(digest, v);
    return v;
  }

  /** {@link readJson} for synchronous callers (index listings). */
  readJsonSync<T>(digest: string): T {
    const hit = this.cache.get(digest);
    if (hit) return hit as T;
    const v = JSON.parse(readFileSync(this.blobPath(digest), 'utf8')) as T;
    this.cache.set(digest, v);
    return v;
  }

  /**
   * Deletes every blob not in `live`, except those written less than `graceMs` ago (a registry
   * push in flight writes blobs before its manifest). Returns what was removed.
   */
  pruneExcept(live: ReadonlySet<string>, graceMs = 0): { removed: string[]; bytes: number } {
    const removed: string[] = [];
    let bytes = 0;
    const now = Date.now();
    for (const hex of readdirSync(this.blobsDir)) {
      const digest = `sha256:${hex}`;
      if (live.has(digest)) continue;
      const st = statSync(join(this.blobsDir, hex));
      if (now - st.mtimeMs < graceMs) continue;
      unlinkSync(join(this.blobsDir, hex));
      this.cache.delete(digest);
      removed.push(digest);
      bytes += st.size;
    }
    return { removed, bytes };
  }
}
