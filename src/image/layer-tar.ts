/**
 * Layer tars on disk: telling plain, gzip and zstd apart, reading them uncompressed, their diffID
 * (the sha256 of the uncompressed tar, what image configs list), and extracting one into an
 * overlayfs-ready directory.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import { basename, posix } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tarStream from 'tar-stream';
import { hashingStream } from './content-store.js';
import type { LayerCompression } from './oci.js';

/** Reads the first bytes of a file to tell tar, gzip and zstd apart. */
export function sniffCompression(path: string): LayerCompression {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(4);
    const n = readSync(fd, b, 0, 4, 0);
    if (n >= 2 && b[0] === 0x1f && b[1] === 0x8b) return 'gzip';
    if (n >= 4 && b.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
    return 'none';
  } finally {
    closeSync(fd);
  }
}

/** A stream of the uncompressed bytes of a (possibly compressed) file; `done` rejects if decompression fails. */
export function openDecompressed(path: string): { stream: Readable; done: Promise<void> } {
  const kind = sniffCompression(path);
  if (kind === 'gzip') {
    const gunzip = createGunzip();
    createReadStream(path).on('error', (e) => gunzip.destroy(e)).pipe(gunzip);
    return { stream: gunzip, done: Promise.resolve() };
  }
  if (kind === 'zstd') {
    const child = spawn('zstd', ['-dc', '--', path], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const done = new Promise<void>((resolve, reject) => {
      child.on('error', (e) => reject(new Error(`cannot decompress zstd layer ${path}: ${e.message} (install the zstd package)`)));
      child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`zstd -dc ${path} failed: ${err.trim()}`))));
    });
    done.catch(() => {});
    return { stream: child.stdout, done };
  }
  return { stream: createReadStream(path), done: Promise.resolve() };
}

/** The diffID of a layer file: sha256 of its uncompressed content. */
export async function diffIdOf(path: string): Promise<string> {
  const { stream, done } = openDecompressed(path);
  const hash = createHash('sha256');
  for await (const c of stream) hash.update(c as Buffer);
  await done;
  return `sha256:${hash.digest('hex')}`;
}

type TarHeader = Parameters<tarStream.Pack['entry']>[0];

/**
 * Extracts one layer tar (plain/gzip/zstd) into `dest`, converting OCI whiteouts into
 * overlayfs ones on the way, and returns the diffID (sha256 of the uncompressed tar).
 *
 * Node parses the tar (tar-stream) to see and rewrite whiteouts and re-packs it into GNU tar,
 * which writes the files: GNU tar keeps owners, setuid bits, device nodes, hardlinks and
 * xattrs exactly (including the trusted.overlay.opaque xattr we add) and defuses symlink
 * tricks, none of which Node's fs can do alone.
 */
export async function extractLayer(blobPath: string, dest: string): Promise<string> {
  const { stream, done: decompressDone } = openDecompressed(blobPath);
  const hash = createHash('sha256');
  const hashing = hashingStream(hash);
  const extract = tarStream.extract();
  const pack = tarStream.pack();
  const tar = spawn('tar', ['-x', '-f', '-', '-C', dest, '--numeric-owner', '--same-owner', '--same-permissions', '--xattrs', '--xattrs-include=*'], {
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  let tarErr = '';
  tar.stderr.on('data', (d) => (tarErr += d));
  const tarDone = new Promise<void>((resolve, reject) => {
    tar.on('error', reject);
    tar.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`extracting layer ${basename(blobPath)}: tar exit ${code}: ${tarErr.trim()}`))));
  });
  tarDone.catch(() => {});
  const packDone = pipeline(pack, tar.stdin as Writable);
  packDone.catch(() => {});
  const feed = pipeline(stream, hashing, extract);
  feed.catch(() => {});

  const dirHeaders = new Map<string, TarHeader>();
  const seen = new Set<string>();
  const writeEntry = async (header: TarHeader, body?: tarStream.Extract extends AsyncIterable<infer S> ? S : never) => {
    await new Promise<void>((resolve, reject) => {
      if (body) body.pipe(pack.entry(header, (err) => (err ? reject(err) : resolve())));
      else pack.entry(header, '', (err) => (err ? reject(err) : resolve()));
    });
  };
  try {
    for await (const entry of extract) {
      const header = { ...entry.header };
      const name = posix.normalize(header.name.replace(/^(\.\/|\/)+/, '')).replace(/\/$/, '');
      const base = posix.basename(name);
      const dir = posix.dirname(name);
      if (base === '.wh..wh..opq') {
        // Opaque: the directory hides everything below it in lower layers.
        const dh: TarHeader = dirHeaders.get(dir) ?? { name: dir, type: 'directory', mode: 0o755, uid: 0, gid: 0, mtime: new Date(0) };
        await writeEntry({ ...dh, pax: { ...((dh.pax as Record<string, string> | null) ?? {}), 'SCHILY.xattr.trusted.overlay.opaque': 'y' } });
        entry.resume();
        continue;
      }
      if (base.startsWith('.wh.')) {
        const target = dir === '.' ? base.slice(4) : `${dir}/${base.slice(4)}`;
        entry.resume();
        // A whiteout must not delete what this same layer adds.
        if (!seen.has(target)) {
          await writeEntry({ name: target, type: 'character-device', devmajor: 0, devminor: 0, mode: 0, uid: 0, gid: 0, mtime: header.mtime });
        }
        continue;
      }
      seen.add(name);
      if (header.type === 'directory') dirHeaders.set(name, header);
      const hasBody = header.type === 'file' || header.type === 'contiguous-file';
      if (hasBody) await writeEntry(header, entry);
      else {
        entry.resume();
        await writeEntry(header);
      }
    }
    await feed;
    await decompressDone;
    pack.finalize();
    await packDone;
    await tarDone;
  } catch (e) {
    tar.kill('SIGKILL');
    stream.destroy();
    throw e;
  }
  return `sha256:${hash.digest('hex')}`;
}
