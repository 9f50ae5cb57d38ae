/**
 * Turns a step's overlay upper dir into a layer: a reproducible tar changeset (names sorted,
 * mtimes fixed, owners numeric, no user/group names) with overlayfs whiteouts (char device
 * 0/0) and opaque dirs (xattr trusted.overlay.opaque=y) converted into OCI `.wh.` entries,
 * gzip-compressed (gzip header mtime 0) into the image store. The upper dir then becomes the
 * layer's snapshot as is (it is already in overlay form), so the next step mounts it without
 * extracting anything.
 *
 * GNU tar walks the directory (it knows hardlinks, devices, xattrs and long names); tar-stream
 * rewrites the headers.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, rename } from 'node:fs/promises';
import { PassThrough, Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import tarStream from 'tar-stream';
import { extractLayer } from '../image/layer-tar.js';
import { MediaTypes, type Descriptor } from '../image/oci.js';
import type { ImageStore } from '../image/store.js';

/** A layer this build made or reused. */
export interface BuiltLayer {
  desc: Descriptor;
  diffId: string;
}

type Header = Parameters<tarStream.Pack['entry']>[0];

/** Xattrs worth keeping in layers (file capabilities); overlay's own are converted or dropped. */
const KEEP_XATTRS = ['SCHILY.xattr.security.capability'];

/**
 * Streams the normalized changeset tar of `dir`. `mtime` is the fixed timestamp (seconds).
 * Resolves `entries` with the number of entries written once the stream ends.
 */
export function changesetTar(dir: string, mtime: number): { stream: Readable; entries: Promise<number> } {
  const tar = spawn('tar', ['-c', '-f', '-', '-C', dir, '--format=posix', '--sort=name', '--numeric-owner', '--xattrs',
    '--xattrs-include=trusted.overlay.opaque', '--xattrs-include=security.capability', '.'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  tar.stderr.on('data', (d) => (err += d));
  const tarDone = new Promise<void>((resolve, reject) => {
    tar.on('error', reject);
    tar.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`tar -c ${dir}: exit ${code}: ${err.trim()}`))));
  });
  const extract = tarStream.extract();
  const pack = tarStream.pack();
  const out = new PassThrough();
  const date = new Date(mtime * 1000);
  const entries = (async () => {
    const feed = pipeline(tar.stdout, extract);
    const packed = pipeline(pack, out);
    let n = 0;
    const put = (h: Header, body?: { pipe(w: NodeJS.WritableStream): unknown }) =>
      new Promise<void>((resolve, reject) => {
        if (body) body.pipe(pack.entry(h, (e) => (e ? reject(e) : resolve())));
        else pack.entry(h, '', (e) => (e ? reject(e) : resolve()));
      });
    try {
      for await (const entry of extract) {
        const h = entry.header;
        const name = h.name.replace(/^\.\//, '').replace(/\/$/, '');
        if (name === '' || name === '.') {
          entry.resume();
          continue;
        }
        const hpax = (h.pax ?? {}) as Record<string, string>;
        const pax: Record<string, string> = {};
        for (const k of KEEP_XATTRS) if (hpax[k] !== undefined) pax[k] = hpax[k]!;
        const base: Header = { name, mode: h.mode ?? 0o644, uid: h.uid ?? 0, gid: h.gid ?? 0, uname: '', gname: '', mtime: date, type: h.type ?? 'file' };
        if (Object.keys(pax).length) base.pax = pax;
        if (h.type === 'character-device' && h.devmajor === 0 && h.devminor === 0) {
          const slash = name.lastIndexOf('/');
          const wh = slash < 0 ? `.wh.${name}` : `${name.slice(0, slash)}/.wh.${name.slice(slash + 1)}`;
          entry.resume();
          await put({ name: wh, mode: 0o600, uid: 0, gid: 0, uname: '', gname: '', mtime: date, type: 'file', size: 0 });
          n++;
          continue;
        }
        if (h.type === 'directory') {
          entry.resume();
          await put({ ...base, name: name + '/' });
          n++;
          if (hpax['SCHILY.xattr.trusted.overlay.opaque'] === 'y') {
            await put({ name: `${name}/.wh..wh..opq`, mode: 0o600, uid: 0, gid: 0, uname: '', gname: '', mtime: date, type: 'file', size: 0 });
            n++;
          }
          continue;
        }
        if (h.type === 'symlink' || h.type === 'link') {
          entry.resume();
          await put({ ...base, linkname: h.type === 'link' ? h.linkname!.replace(/^\.\//, '') : h.linkname! });
        } else if (h.type === 'character-device' || h.type === 'block-device') {
          entry.resume();
          await put({ ...base, devmajor: h.devmajor ?? 0, devminor: h.devminor ?? 0 });
        } else if (h.type === 'fifo') {
          entry.resume();
          await put(base);
        } else {
          await put({ ...base, type: 'file', size: h.size ?? 0 }, entry);
        }
        n++;
      }
      await feed;
      await tarDone;
      pack.finalize();
      await packed;
      return n;
    } catch (e) {
      tar.kill('SIGKILL');
      out.destroy(e as Error);
      throw e;
    }
  })();
  entries.catch(() => {});
  return { stream: out, entries };
}

/**
 * Stores the changeset of `dir` as a gzip layer blob. Returns undefined when the dir holds
 * no changes (the step then gets an `empty_layer` history entry, as in BuildKit).
 */
export async function commitLayer(store: ImageStore, dir: string, mtime: number): Promise<BuiltLayer | undefined> {
  const { stream, entries } = changesetTar(dir, mtime);
  const diffHash = createHash('sha256');
  const hashing = new Transform({
    transform(chunk: Buffer, _e, cb) {
      diffHash.update(chunk);
      cb(null, chunk);
    },
  });
  // Level 6 is gzip's default: what every other builder writes, a fair speed/size trade.
  const gz = createGzip({ level: 6 });
  const writing = store.writeBlob(gz);
  await pipeline(stream, hashing, gz);
  const n = await entries;
  const { digest, size } = await writing;
  if (n === 0) return undefined;
  return { desc: { mediaType: MediaTypes.ociLayerGzip, digest, size }, diffId: `sha256:${diffHash.digest('hex')}` };
}

/**
 * Makes sure the layer's snapshot exists. `fromDir` (an upper dir in overlay form holding
 * exactly this layer's content) is moved into place when given; otherwise the blob is extracted.
 */
export function ensureSnapshot(store: ImageStore, layer: BuiltLayer, fromDir?: string): Promise<string> {
  return store.snapshots.install(layer.diffId, async (fs) => {
    if (fromDir) return rename(fromDir, fs);
    await mkdir(fs);
    const got = await extractLayer(store.blobPath(layer.desc.digest), fs);
    if (got !== layer.diffId) throw new Error(`layer ${layer.desc.digest} uncompresses to ${got}, expected ${layer.diffId}: the build cache is corrupt, rebuild with --no-cache`);
  });
}
