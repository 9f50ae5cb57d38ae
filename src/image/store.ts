/**
 * The node's image store: an OCI image layout (image-spec `image-layout.md`) in
 * `<dataDir>/images/` plus unpacked layers in `<dataDir>/snapshots/`.
 *
 *   images/oci-layout               {"imageLayoutVersion":"1.0.0"}
 *   images/index.json               one manifest descriptor per reference; the full reference
 *                                   (`docker.io/library/busybox:latest`) is in the annotations
 *                                   `org.opencontainers.image.ref.name` and `io.containerd.image.name`
 *   images/blobs/sha256/<hex>       content-addressed, digest-verified on write
 *   snapshots/<diffID hex>/fs       one directory per layer, overlayfs-ready: whiteouts are
 *                                   char devices 0/0, opaque dirs carry trusted.overlay.opaque=y
 *
 * Every write is temp file + rename, so a crash never leaves a half-written blob, index or
 * snapshot under its final name, and two processes unpacking the same layer both succeed.
 */
import { createHash, randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import {
  createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, readdirSync, renameSync,
  rmSync, statSync, unlinkSync, writeFileSync, openSync, readSync, closeSync,
} from 'node:fs';
import { readFile, rename, rm, mkdir } from 'node:fs/promises';
import { join, basename, posix } from 'node:path';
import { Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tarStream from 'tar-stream';
import { formatReference, parseNormalized, parseReference } from './reference.js';

/** Media types this store writes and understands. */
export const MediaTypes = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

/** Annotation holding the full reference in index.json (image-spec). */
export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';
/** The same, as containerd and `docker save` (v25+) write it. */
export const CONTAINERD_NAME_ANNOTATION = 'io.containerd.image.name';

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: Platform;
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

/** The runtime part of an image config (Docker field names, as in the image-spec). */
export interface ContainerConfig {
  User?: string;
  ExposedPorts?: Record<string, object>;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, object>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
}

export interface HistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

export interface ImageConfig {
  created?: string;
  author?: string;
  architecture: string;
  os: string;
  variant?: string;
  config?: ContainerConfig;
  rootfs: { type: 'layers'; diff_ids: string[] };
  history?: HistoryEntry[];
}

/** One image as the store sees it. */
export interface ImageInfo {
  /** Full normalised reference (`docker.io/library/busybox:latest`); '' for an untagged image. */
  ref: string;
  /** Digest of the manifest (what `name@sha256:…` and registries use). */
  digest: string;
  /** Image ID in Docker's sense: the digest of the config blob. */
  id: string;
  /** Bytes of config + layer blobs as stored. */
  size: number;
  created?: string;
  config: ImageConfig;
  manifest: ImageManifest;
}

/** Progress of a long operation, in bytes. */
export interface Progress {
  /** What is being processed (a blob digest or file name). */
  item: string;
  done: number;
  total: number;
}

export const DEFAULT_PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const SHA256_RE = /^sha256:[a-f0-9]{64}$/;

/** Go's GOARCH for this machine, as image configs and platforms spell it. */
export function hostArchitecture(): string {
  const map: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  return map[process.arch] ?? process.arch;
}

function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

function hexOf(digest: string): string {
  if (!SHA256_RE.test(digest)) {
    throw new Error(`unsupported or malformed digest ${JSON.stringify(digest)}: expected sha256:<64 lowercase hex>`);
  }
  return digest.slice('sha256:'.length);
}

function tmpName(): string {
  return `${process.pid}-${randomBytes(6).toString('hex')}`;
}

function writeFileAtomic(path: string, data: string | Buffer): void {
  const tmp = `${path}.tmp-${tmpName()}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

/** Reads the first bytes of a file to tell tar, gzip and zstd apart. */
function sniffCompression(path: string): 'gzip' | 'zstd' | 'none' {
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

function layerMediaType(compression: 'gzip' | 'zstd' | 'none'): string {
  return compression === 'gzip' ? MediaTypes.ociLayerGzip : compression === 'zstd' ? MediaTypes.ociLayerZstd : MediaTypes.ociLayer;
}

/** A stream of the uncompressed bytes of a (possibly compressed) file. */
function openDecompressed(path: string): { stream: Readable; done: Promise<void> } {
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

/** Runs a command to completion; rejects with its stderr. */
function run(cmd: string, args: string[], opts: { cwd?: string } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')}: exit ${code}: ${err.trim()}`))));
  });
}

interface IndexEntry extends Descriptor {
  annotations?: Record<string, string>;
}

/**
 * An OCI image-layout store with layer snapshots. Open one per data dir with {@link ImageStore.open};
 * it is safe to use from several processes at once for blobs and snapshots (index updates are
 * atomic renames; the last writer of the same reference wins).
 */
export class ImageStore {
  /** `<dataDir>/images` */
  readonly root: string;
  /** `<dataDir>/snapshots` */
  readonly snapshotsDir: string;
  private readonly tmpDir: string;
  private readonly cache = new Map<string, unknown>();
  private readonly unpacking = new Map<string, Promise<string>>();

  private constructor(readonly dataDir: string) {
    this.root = join(dataDir, 'images');
    this.snapshotsDir = join(dataDir, 'snapshots');
    this.tmpDir = join(dataDir, 'images', 'ingest');
  }

  /** Opens (creating if needed) the store in `dataDir`. */
  static open(dataDir: string): ImageStore {
    const s = new ImageStore(dataDir);
    mkdirSync(join(s.root, 'blobs', 'sha256'), { recursive: true });
    mkdirSync(s.tmpDir, { recursive: true });
    mkdirSync(s.snapshotsDir, { recursive: true });
    const layout = join(s.root, 'oci-layout');
    if (!existsSync(layout)) writeFileAtomic(layout, JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    if (!existsSync(join(s.root, 'index.json'))) s.writeIndex([]);
    return s;
  }

  // ---------------------------------------------------------------- blobs

  /** Path of a blob on disk (whether or not it exists). */
  blobPath(digest: string): string {
    return join(this.root, 'blobs', 'sha256', hexOf(digest));
  }

  hasBlob(digest: string): boolean {
    return SHA256_RE.test(digest) && existsSync(this.blobPath(digest));
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
    const tmp = join(this.tmpDir, tmpName());
    const hash = createHash('sha256');
    let size = 0;
    try {
      const source = typeof data === 'string' || Buffer.isBuffer(data) ? Readable.from([Buffer.from(data)]) : data;
      await pipeline(
        source,
        new Transform({
          transform(chunk: Buffer, _enc, cb) {
            hash.update(chunk);
            size += chunk.length;
            cb(null, chunk);
          },
        }),
        createWriteStream(tmp),
      );
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

  /** Moves a file into the blob store after hashing it (same filesystem: a rename). */
  private async ingestFile(path: string, expected?: string): Promise<{ digest: string; size: number }> {
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

  private async readJsonBlob<T>(digest: string): Promise<T> {
    const hit = this.cache.get(digest);
    if (hit) return hit as T;
    const v = JSON.parse((await this.readBlob(digest)).toString('utf8')) as T;
    this.cache.set(digest, v);
    return v;
  }

  private readJsonBlobSync<T>(digest: string): T {
    const hit = this.cache.get(digest);
    if (hit) return hit as T;
    const v = JSON.parse(readFileSync(this.blobPath(digest), 'utf8')) as T;
    this.cache.set(digest, v);
    return v;
  }

  // ---------------------------------------------------------------- index

  private readIndex(): IndexEntry[] {
    const idx = JSON.parse(readFileSync(join(this.root, 'index.json'), 'utf8')) as ImageIndex;
    return idx.manifests ?? [];
  }

  private writeIndex(manifests: IndexEntry[]): void {
    const idx: ImageIndex = { schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests };
    writeFileAtomic(join(this.root, 'index.json'), JSON.stringify(idx, null, 2) + '\n');
  }

  private static entryRef(e: IndexEntry): string {
    return e.annotations?.[CONTAINERD_NAME_ANNOTATION] ?? e.annotations?.[REF_NAME_ANNOTATION] ?? '';
  }

  /** Adds or replaces the index entry for `ref` ('' = untagged, deduplicated by digest). */
  private setIndexEntry(ref: string, desc: Descriptor): void {
    const entries = this.readIndex();
    const rest = ref
      ? entries.filter((e) => ImageStore.entryRef(e) !== ref)
      : entries.filter((e) => ImageStore.entryRef(e) !== '' || e.digest !== desc.digest);
    const hasTagged = !ref && rest.some((e) => e.digest === desc.digest);
    const entry: IndexEntry = { mediaType: desc.mediaType, digest: desc.digest, size: desc.size };
    if (ref) entry.annotations = { [REF_NAME_ANNOTATION]: ref, [CONTAINERD_NAME_ANNOTATION]: ref };
    if (!hasTagged) rest.push(entry);
    this.writeIndex(rest);
  }

  private infoFor(e: IndexEntry): ImageInfo | undefined {
    try {
      const manifest = this.readJsonBlobSync<ImageManifest>(e.digest);
      const config = this.readJsonBlobSync<ImageConfig>(manifest.config.digest);
      const size = manifest.config.size + manifest.layers.reduce((a, l) => a + l.size, 0);
      return { ref: ImageStore.entryRef(e), digest: e.digest, id: manifest.config.digest, size, created: config.created, config, manifest };
    } catch {
      return undefined; // a dangling entry (blob pruned by hand): invisible rather than fatal
    }
  }

  /** All images, one entry per reference (an image with two tags appears twice). */
  list(): ImageInfo[] {
    return this.readIndex().map((e) => this.infoFor(e)).filter((x): x is ImageInfo => !!x);
  }

  /**
   * Finds an image by reference (`busybox`, `docker.io/library/busybox:latest`,
   * `name@sha256:…`), by manifest digest or image ID (`sha256:…`), or by an ID prefix of at
   * least 12 hex characters (Docker's short ID).
   */
  resolve(ref: string): ImageInfo | undefined {
    const entries = this.readIndex();
    const hex = ref.startsWith('sha256:') ? ref.slice(7) : /^[a-f0-9]{12,64}$/.test(ref) ? ref : undefined;
    if (hex !== undefined && /^[a-f0-9]{12,64}$/.test(hex)) {
      for (const e of entries) {
        const info = this.infoFor(e);
        if (!info) continue;
        if (info.digest.slice(7).startsWith(hex) || info.id.slice(7).startsWith(hex)) return info;
      }
      if (ref.startsWith('sha256:')) return undefined;
    }
    let wanted;
    try {
      wanted = parseNormalized(ref);
    } catch {
      return undefined;
    }
    if (wanted.digest) {
      const repo = `${wanted.domain}/${wanted.path}`;
      const byDigest = entries.filter((e) => e.digest === wanted.digest);
      const sameRepo = byDigest.find((e) => ImageStore.entryRef(e).startsWith(repo + ':') || ImageStore.entryRef(e).startsWith(repo + '@'));
      const e = sameRepo ?? byDigest[0];
      const info = e && this.infoFor(e);
      return info ? { ...info, ref: formatReference(wanted) } : undefined;
    }
    const full = formatReference(parseReference(ref));
    const e = entries.find((x) => ImageStore.entryRef(x) === full);
    return e && this.infoFor(e);
  }

  /** Resolves or throws an error that says what to do. */
  private mustResolve(ref: string): ImageInfo {
    const info = this.resolve(ref);
    if (!info) throw new Error(`No such image: ${ref} (pull it or load it with \`skiff image load\` first)`);
    return info;
  }

  /** Adds reference `dst` for the image `src` names. */
  tag(src: string, dst: string): ImageInfo {
    const info = this.mustResolve(src);
    const ref = formatReference(parseReference(dst));
    this.setIndexEntry(ref, { mediaType: info.manifest.mediaType ?? MediaTypes.ociManifest, digest: info.digest, size: this.blobSize(info.digest) ?? 0 });
    return { ...info, ref };
  }

  /**
   * Drops the reference (or, for a digest/ID, every reference to that image). Blobs stay
   * until {@link prune}. Returns the references removed (empty when nothing matched).
   */
  remove(ref: string): string[] {
    const info = this.resolve(ref);
    if (!info) return [];
    const entries = this.readIndex();
    const byId = ref.startsWith('sha256:') || /^[a-f0-9]{12,64}$/.test(ref) || parseNormalizedSafe(ref)?.digest;
    const keep = entries.filter((e) => (byId ? e.digest !== info.digest : ImageStore.entryRef(e) !== info.ref));
    const removed = entries.filter((e) => !keep.includes(e)).map((e) => ImageStore.entryRef(e) || e.digest);
    this.writeIndex(keep);
    return removed;
  }

  /**
   * Stores a manifest (and its config if given) under `ref` ('' or undefined = untagged).
   * The config and every layer must already be stored (or the config passed here): a manifest
   * never points at missing blobs. Image indexes are not stored here; pick a platform first.
   */
  async putManifest(ref: string | undefined, manifestJson: string | Buffer, configJson?: string | Buffer): Promise<ImageInfo> {
    const raw = Buffer.from(manifestJson);
    const manifest = JSON.parse(raw.toString('utf8')) as ImageManifest;
    if (manifest.schemaVersion !== 2 || !manifest.config || !Array.isArray(manifest.layers)) {
      throw new Error('manifest is not an image manifest (schemaVersion 2 with config and layers); for an index, store the platform manifest');
    }
    if (configJson !== undefined) await this.writeBlob(configJson, manifest.config.digest, manifest.config.size);
    for (const d of [manifest.config, ...manifest.layers]) {
      const size = this.blobSize(d.digest);
      if (size === undefined) throw new Error(`manifest references blob ${d.digest} which is not stored; write it first`);
      if (size !== d.size) throw new Error(`blob ${d.digest} is ${size} bytes but the manifest says ${d.size}`);
    }
    const config = JSON.parse((await this.readBlob(manifest.config.digest)).toString('utf8')) as ImageConfig;
    if (config.rootfs?.diff_ids?.length !== manifest.layers.length) {
      throw new Error(`image config lists ${config.rootfs?.diff_ids?.length ?? 0} diff_ids but the manifest has ${manifest.layers.length} layers`);
    }
    const { digest, size } = await this.writeBlob(raw);
    const full = ref ? formatReference(parseReference(ref)) : '';
    this.setIndexEntry(full, { mediaType: manifest.mediaType ?? MediaTypes.ociManifest, digest, size });
    return this.infoFor({ mediaType: manifest.mediaType ?? MediaTypes.ociManifest, digest, size, annotations: full ? { [REF_NAME_ANNOTATION]: full } : undefined })!;
  }

  /**
   * Creates a single-layer image from a root filesystem tarball (plain, gzip or zstd).
   * `config` fields are merged into the image config (PATH is set when Env is not given).
   */
  async importRootfs(tarPath: string, ref: string, config: ContainerConfig = {}): Promise<ImageInfo> {
    const compression = sniffCompression(tarPath);
    const { digest: layerDigest, size: layerSize } = await this.writeBlob(createReadStream(tarPath));
    const diffId = compression === 'none' ? layerDigest : await this.diffIdOf(this.blobPath(layerDigest));
    const created = new Date().toISOString();
    const cfg: ImageConfig = {
      created,
      architecture: hostArchitecture(),
      os: 'linux',
      config: { Env: [DEFAULT_PATH_ENV], ...config },
      rootfs: { type: 'layers', diff_ids: [diffId] },
      history: [{ created, created_by: `skiff import ${basename(tarPath)}` }],
    };
    const cfgRaw = Buffer.from(JSON.stringify(cfg));
    const { digest: cfgDigest, size: cfgSize } = await this.writeBlob(cfgRaw);
    const manifest: ImageManifest = {
      schemaVersion: 2,
      mediaType: MediaTypes.ociManifest,
      config: { mediaType: MediaTypes.ociConfig, digest: cfgDigest, size: cfgSize },
      layers: [{ mediaType: layerMediaType(compression), digest: layerDigest, size: layerSize }],
    };
    return this.putManifest(ref, JSON.stringify(manifest));
  }

  /** sha256 of the uncompressed content of a layer file. */
  private async diffIdOf(path: string): Promise<string> {
    const { stream, done } = openDecompressed(path);
    const hash = createHash('sha256');
    for await (const c of stream) hash.update(c as Buffer);
    await done;
    return `sha256:${hash.digest('hex')}`;
  }

  /**
   * Loads every image from an archive made by `docker save` (classic `manifest.json` +
   * `<id>/layer.tar`, or the v25+ OCI layout with `manifest.json` beside it) or an OCI image
   * layout tar (`oci-layout` + `index.json`; names come from the `io.containerd.image.name` or a
   * full `org.opencontainers.image.ref.name` annotation). The archive may be gzip-compressed.
   * Returns the references loaded (the manifest digest for untagged images).
   */
  async loadArchive(tarPath: string, progress?: (p: Progress) => void): Promise<string[]> {
    const work = join(this.tmpDir, `load-${tmpName()}`);
    await mkdir(work, { recursive: true });
    try {
      // GNU tar reads gzip/zstd archives transparently; the archive holds only plain files.
      await run('tar', ['-x', '-f', tarPath, '-C', work, '--no-same-owner', '--no-same-permissions']).catch((e: Error) => {
        throw new Error(`cannot read image archive ${tarPath}: ${e.message}`);
      });
      const total = dirBytes(work);
      let done = 0;
      const report = (item: string, bytes: number) => {
        done += bytes;
        progress?.({ item, done, total });
      };
      if (existsSync(join(work, 'manifest.json'))) return await this.loadDockerSave(work, report);
      if (existsSync(join(work, 'index.json'))) return await this.loadOciLayout(work, report);
      throw new Error(`${tarPath} is neither a docker save archive (manifest.json) nor an OCI image layout (index.json)`);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  private async loadDockerSave(work: string, report: (item: string, bytes: number) => void): Promise<string[]> {
    interface SaveEntry { Config: string; RepoTags?: string[] | null; Layers: string[] }
    const entries = JSON.parse(readFileSync(join(work, 'manifest.json'), 'utf8')) as SaveEntry[];
    const refs: string[] = [];
    const ingested = new Map<string, { digest: string; size: number }>();
    const ingest = async (rel: string) => {
      const hit = ingested.get(rel);
      if (hit) return hit;
      const abs = safeJoin(work, rel);
      const compression = sniffCompression(abs);
      const res = await this.ingestFile(abs);
      report(rel, res.size);
      const out = { ...res, compression };
      ingested.set(rel, out);
      return out;
    };
    for (const e of entries) {
      const cfg = await ingest(e.Config);
      const layers: Descriptor[] = [];
      for (const l of e.Layers) {
        const r = (await ingest(l)) as { digest: string; size: number; compression: 'gzip' | 'zstd' | 'none' };
        layers.push({ mediaType: layerMediaType(r.compression), digest: r.digest, size: r.size });
      }
      const manifest: ImageManifest = {
        schemaVersion: 2,
        mediaType: MediaTypes.ociManifest,
        config: { mediaType: MediaTypes.ociConfig, digest: cfg.digest, size: cfg.size },
        layers,
      };
      const raw = JSON.stringify(manifest);
      const tags = e.RepoTags ?? [];
      if (tags.length === 0) {
        const info = await this.putManifest(undefined, raw);
        refs.push(info.digest);
      }
      for (const t of tags) refs.push((await this.putManifest(t, raw)).ref);
    }
    return refs;
  }

  private async loadOciLayout(work: string, report: (item: string, bytes: number) => void): Promise<string[]> {
    const index = JSON.parse(readFileSync(join(work, 'index.json'), 'utf8')) as ImageIndex;
    const blob = (d: string) => safeJoin(work, join('blobs', 'sha256', hexOf(d)));
    const refs: string[] = [];
    for (const desc of index.manifests ?? []) {
      let mdesc = desc;
      if (desc.mediaType === MediaTypes.ociIndex || desc.mediaType === MediaTypes.dockerManifestList) {
        const child = JSON.parse(readFileSync(blob(desc.digest), 'utf8')) as ImageIndex;
        const pick = selectPlatform(child.manifests);
        if (!pick) throw new Error(`image index ${desc.digest} has no manifest for linux/${hostArchitecture()}`);
        mdesc = pick;
      }
      const manifestRaw = readFileSync(blob(mdesc.digest));
      if (`sha256:${sha256Hex(manifestRaw)}` !== mdesc.digest) throw new Error(`manifest blob ${mdesc.digest} is corrupt`);
      const manifest = JSON.parse(manifestRaw.toString('utf8')) as ImageManifest;
      for (const d of [manifest.config, ...manifest.layers]) {
        if (this.hasBlob(d.digest)) continue;
        const r = await this.ingestFile(blob(d.digest), d.digest);
        report(d.digest, r.size);
      }
      const name = desc.annotations?.[CONTAINERD_NAME_ANNOTATION] ?? desc.annotations?.[REF_NAME_ANNOTATION];
      // A bare ref.name ("latest") is only a tag with no repository: load the image untagged.
      const ref = name && (name.includes('/') || name.includes(':')) && parseNormalizedSafe(name) ? name : undefined;
      const info = await this.putManifest(ref, manifestRaw);
      refs.push(ref ? info.ref : info.digest);
    }
    return refs;
  }

  /**
   * Deletes blobs no image references, plus stale ingest files. `graceMs` keeps blobs written
   * recently (a registry push in flight writes blobs before its manifest). Returns what was removed.
   */
  async prune(opts: { graceMs?: number } = {}): Promise<{ removed: string[]; bytes: number }> {
    const grace = opts.graceMs ?? 0;
    const live = new Set<string>();
    for (const e of this.readIndex()) {
      live.add(e.digest);
      try {
        const m = this.readJsonBlobSync<ImageManifest>(e.digest);
        live.add(m.config.digest);
        for (const l of m.layers) live.add(l.digest);
      } catch {
        /* dangling entry */
      }
    }
    const removed: string[] = [];
    let bytes = 0;
    const now = Date.now();
    const dir = join(this.root, 'blobs', 'sha256');
    for (const hex of readdirSync(dir)) {
      const digest = `sha256:${hex}`;
      if (live.has(digest)) continue;
      const st = statSync(join(dir, hex));
      if (now - st.mtimeMs < grace) continue;
      unlinkSync(join(dir, hex));
      this.cache.delete(digest);
      removed.push(digest);
      bytes += st.size;
    }
    return { removed, bytes };
  }

  // ---------------------------------------------------------------- snapshots

  /**
   * Unpacks the image's layers (once per layer, shared between images) and returns the
   * snapshot directories bottom layer first — reverse them for overlayfs `lowerdir`.
   */
  async unpack(imageRef: string): Promise<string[]> {
    const info = this.mustResolve(imageRef);
    const diffIds = info.config.rootfs.diff_ids;
    return Promise.all(info.manifest.layers.map((l, i) => this.unpackLayer(l, diffIds[i]!)));
  }

  /** The snapshot dir of an unpacked layer (`…/snapshots/<diffID hex>/fs`). */
  snapshotPath(diffId: string): string {
    return join(this.snapshotsDir, hexOf(diffId), 'fs');
  }

  private unpackLayer(layer: Descriptor, diffId: string): Promise<string> {
    const existing = this.unpacking.get(diffId);
    if (existing) return existing;
    const p = this.doUnpackLayer(layer, diffId).finally(() => this.unpacking.delete(diffId));
    this.unpacking.set(diffId, p);
    return p;
  }

  private async doUnpackLayer(layer: Descriptor, diffId: string): Promise<string> {
    const final = join(this.snapshotsDir, hexOf(diffId));
    if (existsSync(join(final, 'fs'))) return join(final, 'fs');
    const tmp = join(this.snapshotsDir, `.tmp-${tmpName()}`);
    await mkdir(join(tmp, 'fs'), { recursive: true });
    try {
      const got = await extractLayer(this.blobPath(layer.digest), join(tmp, 'fs'));
      if (got !== diffId) throw new Error(`layer ${layer.digest} uncompresses to ${got}, but the image config says ${diffId}; the image is corrupt, pull it again`);
      try {
        await rename(tmp, final);
      } catch (e) {
        // Someone else finished the same layer first: theirs is as good as ours.
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
      }
      return join(final, 'fs');
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  /**
   * Deletes snapshot directories no stored image uses, except those listed in `inUse`
   * (snapshot dirs or their diffIDs, e.g. layers of running containers whose image was removed).
   */
  async pruneSnapshots(inUse: Iterable<string> = []): Promise<string[]> {
    const keep = new Set<string>();
    for (const i of this.list()) for (const d of i.config.rootfs.diff_ids) keep.add(hexOf(d));
    for (const u of inUse) {
      const m = /([a-f0-9]{64})(?:\/fs)?\/?$/.exec(u);
      if (m) keep.add(m[1]!);
    }
    const removed: string[] = [];
    for (const name of readdirSync(this.snapshotsDir)) {
      if (name.startsWith('.tmp-') || keep.has(name)) continue;
      await rm(join(this.snapshotsDir, name), { recursive: true, force: true });
      removed.push(name);
    }
    return removed;
  }
}

function parseNormalizedSafe(s: string) {
  try {
    return parseNormalized(s);
  } catch {
    return undefined;
  }
}

/** Picks the manifest for this machine from an index's list. */
function selectPlatform(list: Descriptor[]): Descriptor | undefined {
  const arch = hostArchitecture();
  return list.find((d) => d.platform?.os === 'linux' && d.platform.architecture === arch) ?? (list.length === 1 && !list[0]!.platform ? list[0] : undefined);
}

/** Joins an archive-relative path, refusing paths that escape the archive directory. */
function safeJoin(base: string, rel: string): string {
  const norm = posix.normalize(rel.replace(/^\/+/, ''));
  if (norm.startsWith('..')) throw new Error(`archive path ${JSON.stringify(rel)} escapes the archive`);
  return join(base, norm);
}

function dirBytes(dir: string): number {
  let n = 0;
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    try {
      const st = statSync(join(dir, name));
      if (st.isFile()) n += st.size;
    } catch {
      /* raced */
    }
  }
  return n;
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
async function extractLayer(blobPath: string, dest: string): Promise<string> {
  const { stream, done: decompressDone } = openDecompressed(blobPath);
  const hash = createHash('sha256');
  const hashing = new Transform({
    transform(chunk: Buffer, _e, cb) {
      hash.update(chunk);
      cb(null, chunk);
    },
  });
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

/** Exposed for the image builder: extracts a layer file into a directory, returns its diffID. */
export { extractLayer as extractLayerTo };
