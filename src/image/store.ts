/**
 * The node's image store: an OCI image layout (image-spec `image-layout.md`) in
 * `<dataDir>/images/` plus unpacked layers in `<dataDir>/snapshots/`.
 *
 *   images/oci-layout               {"imageLayoutVersion":"1.0.0"}
 *   images/index.json               one manifest descriptor per reference   (image-index.ts)
 *   images/blobs/sha256/<hex>       content-addressed, digest-verified on write (content-store.ts)
 *   images/ingest/                  blobs and archives on their way in
 *   snapshots/<diffID hex>/fs       one directory per layer, overlayfs-ready  (snapshots.ts)
 *
 * {@link ImageStore} is the facade the rest of skiff calls; the modules beside it each own one
 * part of the layout, and oci.ts the format's types.
 */
import { createReadStream, existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Readable } from 'node:stream';
import { loadArchive, type Progress } from './archive.js';
import { ContentStore, writeFileAtomic } from './content-store.js';
import { entryRef, ReferenceIndex, resolveReference, withoutReference, type ImageInfo, type IndexEntry } from './image-index.js';
import { diffIdOf, sniffCompression } from './layer-tar.js';
import {
  DEFAULT_PATH_ENV, hostArchitecture, layerMediaType, MediaTypes, REF_NAME_ANNOTATION,
  type ContainerConfig, type ImageConfig, type ImageManifest,
} from './oci.js';
import { formatReference, parseReference } from './reference.js';
import { SnapshotStore } from './snapshots.js';

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
  /** Blobs by digest. */
  readonly content: ContentStore;
  /** Unpacked layers. */
  readonly snapshots: SnapshotStore;
  private readonly index: ReferenceIndex;

  private constructor(readonly dataDir: string) {
    this.root = join(dataDir, 'images');
    this.snapshotsDir = join(dataDir, 'snapshots');
    this.content = new ContentStore(this.root, join(this.root, 'ingest'));
    this.snapshots = new SnapshotStore(this.snapshotsDir);
    const layout = join(this.root, 'oci-layout');
    if (!existsSync(layout)) writeFileAtomic(layout, JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    this.index = new ReferenceIndex(this.root);
  }

  /** Opens (creating if needed) the store in `dataDir`. */
  static open(dataDir: string): ImageStore {
    return new ImageStore(dataDir);
  }

  // ---------------------------------------------------------------- blobs (content-store.ts)

  /** Path of a blob on disk (whether or not it exists). */
  blobPath(digest: string): string {
    return this.content.blobPath(digest);
  }

  hasBlob(digest: string): boolean {
    return this.content.hasBlob(digest);
  }

  /** Size of a stored blob, or undefined. */
  blobSize(digest: string): number | undefined {
    return this.content.blobSize(digest);
  }

  readBlob(digest: string): Promise<Buffer> {
    return this.content.readBlob(digest);
  }

  /** A read stream of a blob (for serving or pushing without buffering). */
  openBlob(digest: string, opts?: { start?: number; end?: number }): Readable {
    return this.content.openBlob(digest, opts);
  }

  /**
   * Stores content and returns its digest. When `expected` is given the content must hash to
   * it (and match `expectedSize` if given), otherwise nothing is stored and the call throws.
   */
  writeBlob(data: Buffer | string | Readable | AsyncIterable<Uint8Array>, expected?: string, expectedSize?: number): Promise<{ digest: string; size: number }> {
    return this.content.writeBlob(data, expected, expectedSize);
  }

  // ---------------------------------------------------------------- images (image-index.ts)

  private infoFor(e: IndexEntry): ImageInfo | undefined {
    try {
      const manifest = this.content.readJsonSync<ImageManifest>(e.digest);
      const config = this.content.readJsonSync<ImageConfig>(manifest.config.digest);
      const size = manifest.config.size + manifest.layers.reduce((a, l) => a + l.size, 0);
      return { ref: entryRef(e), digest: e.digest, id: manifest.config.digest, size, created: config.created, config, manifest };
    } catch {
      return undefined; // a dangling entry (blob pruned by hand): invisible rather than fatal
    }
  }

  /** All images, one entry per reference (an image with two tags appears twice). */
  list(): ImageInfo[] {
    return this.index.read().map((e) => this.infoFor(e)).filter((x): x is ImageInfo => !!x);
  }

  /**
   * Finds an image by reference (`busybox`, `docker.io/library/busybox:latest`,
   * `name@sha256:…`), by manifest digest or image ID (`sha256:…`), or by an ID prefix of at
   * least 12 hex characters (Docker's short ID).
   */
  resolve(ref: string): ImageInfo | undefined {
    return resolveReference(this.index.read(), ref, (e) => this.infoFor(e));
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
    this.index.set(ref, { mediaType: info.manifest.mediaType ?? MediaTypes.ociManifest, digest: info.digest, size: this.blobSize(info.digest) ?? 0 });
    return { ...info, ref };
  }

  /**
   * Drops the reference (or, for a digest/ID, every reference to that image). Blobs stay
   * until {@link prune}. Returns the references removed (empty when nothing matched).
   */
  remove(ref: string): string[] {
    const info = this.resolve(ref);
    if (!info) return [];
    const { keep, removed } = withoutReference(this.index.read(), ref, info);
    this.index.write(keep);
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
    this.index.set(full, { mediaType: manifest.mediaType ?? MediaTypes.ociManifest, digest, size });
    return this.infoFor({ mediaType: manifest.mediaType ?? MediaTypes.ociManifest, digest, size, annotations: full ? { [REF_NAME_ANNOTATION]: full } : undefined })!;
  }

  /**
   * Creates a single-layer image from a root filesystem tarball (plain, gzip or zstd).
   * `config` fields are merged into the image config (PATH is set when Env is not given).
   */
  async importRootfs(tarPath: string, ref: string, config: ContainerConfig = {}): Promise<ImageInfo> {
    const compression = sniffCompression(tarPath);
    const { digest: layerDigest, size: layerSize } = await this.writeBlob(createReadStream(tarPath));
    const diffId = compression === 'none' ? layerDigest : await diffIdOf(this.blobPath(layerDigest));
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

  /**
   * Loads every image from a `docker save` or OCI layout archive (see archive.ts). Returns the
   * references loaded (the manifest digest for untagged images).
   */
  loadArchive(tarPath: string, progress?: (p: Progress) => void): Promise<string[]> {
    return loadArchive({ content: this.content, putManifest: (ref, raw) => this.putManifest(ref, raw) }, tarPath, progress);
  }

  /**
   * Deletes blobs no image references, plus stale ingest files. `graceMs` keeps blobs written
   * recently (a registry push in flight writes blobs before its manifest). Returns what was removed.
   */
  async prune(opts: { graceMs?: number } = {}): Promise<{ removed: string[]; bytes: number }> {
    const live = new Set<string>();
    for (const e of this.index.read()) {
      live.add(e.digest);
      try {
        const m = this.content.readJsonSync<ImageManifest>(e.digest);
        live.add(m.config.digest);
        for (const l of m.layers) live.add(l.digest);
      } catch {
        /* dangling entry */
      }
    }
    return this.content.pruneExcept(live, opts.graceMs ?? 0);
  }

  // ---------------------------------------------------------------- snapshots (snapshots.ts)

  /**
   * Unpacks the image's layers (once per layer, shared between images) and returns the
   * snapshot directories bottom layer first — reverse them for overlayfs `lowerdir`.
   */
  async unpack(imageRef: string): Promise<string[]> {
    const info = this.mustResolve(imageRef);
    const diffIds = info.config.rootfs.diff_ids;
    return Promise.all(info.manifest.layers.map((l, i) => this.snapshots.unpack(this.blobPath(l.digest), l.digest, diffIds[i]!)));
  }

  /** The snapshot dir of an unpacked layer (`…/snapshots/<diffID hex>/fs`). */
  snapshotPath(diffId: string): string {
    return this.snapshots.path(diffId);
  }

  /**
   * Deletes snapshot directories no stored image uses, except those listed in `inUse`
   * (snapshot dirs or their diffIDs, e.g. layers of running containers whose image was removed).
   */
  pruneSnapshots(inUse: Iterable<string> = []): Promise<string[]> {
    return this.snapshots.pruneExcept(this.list().flatMap((i) => i.config.rootfs.diff_ids), inUse);
  }
}
