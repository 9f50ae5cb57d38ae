/**
 * Image archives, both ways: the tars `docker save`, `podman save` and `skopeo copy oci-archive:`
 * write and `docker load` reads.
 *
 * Loading ({@link loadArchive}) accepts Docker's classic layout (`manifest.json` +
 * `<id>/layer.tar`), the v25+ OCI layout with `manifest.json` beside it, and a plain OCI image
 * layout tar (`oci-layout` + `index.json`; names come from the `io.containerd.image.name` or a
 * full `org.opencontainers.image.ref.name` annotation), gzip- or zstd-compressed or not.
 *
 * Saving ({@link saveImages}, `skiff image save`) writes
 * - `oci`: an OCI image layout (`oci-layout`, `index.json` with `io.containerd.image.name`
 *   and `org.opencontainers.image.ref.name` annotations, `blobs/sha256/…`) plus Docker's
 *   `manifest.json`, exactly what `docker save` writes since v25;
 * - `docker`: the classic layout: `manifest.json` + `repositories`, the blobs under
 *   `blobs/sha256/…` (Docker ≥ 25 reads either).
 * Headers are fixed (mtime 0, root owner), so saving the same images twice gives the same bytes.
 */
import { createWriteStream, existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tarStream from 'tar-stream';
import { runOrThrow } from '../util/exec.js';
import { tmpName, type ContentStore } from './content-store.js';
import { parseNormalizedSafe, type ImageInfo } from './image-index.js';
import { sniffCompression } from './layer-tar.js';
import {
  CONTAINERD_NAME_ANNOTATION, digestHex, hostArchitecture, layerMediaType, MediaTypes, REF_NAME_ANNOTATION, selectPlatform, sha256Digest,
  type Descriptor, type ImageIndex, type ImageManifest, type LayerCompression,
} from './oci.js';
import { familiarString, parseReference } from './reference.js';

/** Progress of a long operation, in bytes. */
export interface Progress {
  /** What is being processed (a blob digest or file name). */
  item: string;
  done: number;
  total: number;
}

/** What loading an archive writes to: the content store and the image store's manifest intake. */
export interface ArchiveTarget {
  content: ContentStore;
  /** Stores a manifest whose blobs are all stored, under `ref` (undefined = untagged). */
  putManifest(ref: string | undefined, manifestJson: string | Buffer): Promise<ImageInfo>;
}

/**
 * Loads every image from an archive (see the module doc) into `target`. Returns the references
 * loaded (the manifest digest for untagged images).
 */
export async function loadArchive(target: ArchiveTarget, tarPath: string, progress?: (p: Progress) => void): Promise<string[]> {
  // Unpacked beside the blobs, so ingesting a blob is a rename.
  const work = join(target.content.ingestDir, `load-${tmpName()}`);
  await mkdir(work, { recursive: true });
  try {
    // GNU tar reads gzip/zstd archives transparently; the archive holds only plain files.
    await runOrThrow('tar', ['-x', '-f', tarPath, '-C', work, '--no-same-owner', '--no-same-permissions']).catch((e: Error) => {
      throw new Error(`cannot read image archive ${tarPath}: ${e.message}`);
    });
    const total = dirBytes(work);
    let done = 0;
    const report = (item: string, bytes: number) => {
      done += bytes;
      progress?.({ item, done, total });
    };
    if (existsSync(join(work, 'manifest.json'))) return await loadDockerSave(target, work, report);
    if (existsSync(join(work, 'index.json'))) return await loadOciLayout(target, work, report);
    throw new Error(`${tarPath} is neither a docker save archive (manifest.json) nor an OCI image layout (index.json)`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function loadDockerSave(target: ArchiveTarget, work: string, report: (item: string, bytes: number) => void): Promise<string[]> {
  interface SaveEntry { Config: string; RepoTags?: string[] | null; Layers: string[] }
  const entries = JSON.parse(readFileSync(join(work, 'manifest.json'), 'utf8')) as SaveEntry[];
  const refs: string[] = [];
  const ingested = new Map<string, { digest: string; size: number }>();
  const ingest = async (rel: string) => {
    const hit = ingested.get(rel);
    if (hit) return hit;
    const abs = safeJoin(work, rel);
    const compression = sniffCompression(abs);
    const res = await target.content.ingestFile(abs);
    report(rel, res.size);
    const out = { ...res, compression };
    ingested.set(rel, out);
    return out;
  };
  for (const e of entries) {
    const cfg = await ingest(e.Config);
    const layers: Descriptor[] = [];
    for (const l of e.Layers) {
      const r = (await ingest(l)) as { digest: string; size: number; compression: LayerCompression };
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
      const info = await target.putManifest(undefined, raw);
      refs.push(info.digest);
    }
    for (const t of tags) refs.push((await target.putManifest(t, raw)).ref);
  }
  return refs;
}

async function loadOciLayout(target: ArchiveTarget, work: string, report: (item: string, bytes: number) => void): Promise<string[]> {
  const index = JSON.parse(readFileSync(join(work, 'index.json'), 'utf8')) as ImageIndex;
  const blob = (d: string) => safeJoin(work, join('blobs', 'sha256', digestHex(d)));
  const refs: string[] = [];
  for (const desc of index.manifests ?? []) {
    let mdesc = desc;
    if (desc.mediaType === MediaTypes.ociIndex || desc.mediaType === MediaTypes.dockerManifestList) {
      const child = JSON.parse(readFileSync(blob(desc.digest), 'utf8')) as ImageIndex;
      const pick = selectPlatform(child.manifests ?? []);
      if (!pick) throw new Error(`image index ${desc.digest} has no manifest for linux/${hostArchitecture()}`);
      mdesc = pick;
    }
    const manifestRaw = readFileSync(blob(mdesc.digest));
    if (sha256Digest(manifestRaw) !== mdesc.digest) throw new Error(`manifest blob ${mdesc.digest} is corrupt`);
    const manifest = JSON.parse(manifestRaw.toString('utf8')) as ImageManifest;
    for (const d of [manifest.config, ...manifest.layers]) {
      if (target.content.hasBlob(d.digest)) continue;
      const r = await target.content.ingestFile(blob(d.digest), d.digest);
      report(d.digest, r.size);
    }
    const name = desc.annotations?.[CONTAINERD_NAME_ANNOTATION] ?? desc.annotations?.[REF_NAME_ANNOTATION];
    // A bare ref.name ("latest") is only a tag with no repository: load the image untagged.
    const ref = name && (name.includes('/') || name.includes(':')) && parseNormalizedSafe(name) ? name : undefined;
    const info = await target.putManifest(ref, manifestRaw);
    refs.push(ref ? info.ref : info.digest);
  }
  return refs;
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

/** What saving reads from (an ImageStore). */
export interface ArchiveSource {
  resolve(ref: string): ImageInfo | undefined;
  blobSize(digest: string): number | undefined;
  openBlob(digest: string): Readable;
}

export type SaveFormat = 'oci' | 'docker';

/** Saves `refs` to `outPath`; returns the images written. */
export async function saveImages(store: ArchiveSource, refs: string[], outPath: string, format: SaveFormat = 'oci'): Promise<ImageInfo[]> {
  const images = refs.map((r) => {
    const info = store.resolve(r);
    if (!info) throw new Error(`No such image: ${r} (see skiff images)`);
    return info;
  });
  const pack = tarStream.pack();
  const out = pipeline(pack, createWriteStream(outPath));
  const mtime = new Date(0);
  const add = (name: string, body: Buffer) =>
    new Promise<void>((resolve, reject) => pack.entry({ name, mode: 0o644, mtime, uid: 0, gid: 0, uname: '', gname: '' }, body, (e) => (e ? reject(e) : resolve())));
  const addBlob = (digest: string) =>
    new Promise<void>((resolve, reject) => {
      const size = store.blobSize(digest);
      if (size === undefined) return reject(new Error(`blob ${digest} is missing from the store; pull the image again`));
      const entry = pack.entry({ name: `blobs/sha256/${digest.slice(7)}`, size, mode: 0o644, mtime, uid: 0, gid: 0, uname: '', gname: '' }, (e) => (e ? reject(e) : resolve()));
      store.openBlob(digest).on('error', reject).pipe(entry);
    });
  try {
    const written = new Set<string>();
    for (const img of images) {
      for (const d of [img.digest, img.manifest.config.digest, ...img.manifest.layers.map((l) => l.digest)]) {
        if (written.has(d)) continue;
        written.add(d);
        await addBlob(d);
      }
    }
    const tagged = (img: ImageInfo) => (img.ref && !img.ref.includes('@') ? img.ref : undefined);
    const manifestJson = images.map((img) => ({
      Config: `blobs/sha256/${img.manifest.config.digest.slice(7)}`,
      RepoTags: tagged(img) ? [familiarString(tagged(img)!)] : null,
      Layers: img.manifest.layers.map((l) => `blobs/sha256/${l.digest.slice(7)}`),
    }));
    await add('manifest.json', Buffer.from(JSON.stringify(manifestJson)));
    if (format === 'oci') {
      await add('oci-layout', Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })));
      const index = {
        schemaVersion: 2,
        mediaType: MediaTypes.ociIndex,
        manifests: images.map((img) => {
          const t = tagged(img);
          return {
            mediaType: img.manifest.mediaType ?? MediaTypes.ociManifest,
            digest: img.digest,
            size: store.blobSize(img.digest),
            ...(t ? { annotations: { [CONTAINERD_NAME_ANNOTATION]: t, [REF_NAME_ANNOTATION]: parseReference(t).tag ?? 'latest' } } : {}),
          };
        }),
      };
      await add('index.json', Buffer.from(JSON.stringify(index)));
    } else {
      const repos: Record<string, Record<string, string>> = {};
      for (const img of images) {
        const t = tagged(img);
        if (!t) continue;
        const r = parseReference(t);
        const name = familiarString({ domain: r.domain, path: r.path });
        (repos[name] ??= {})[r.tag ?? 'latest'] = img.manifest.layers.length ? img.config.rootfs.diff_ids.at(-1)!.slice(7) : img.id.slice(7);
      }
      await add('repositories', Buffer.from(JSON.stringify(repos)));
    }
    pack.finalize();
    await out;
  } catch (e) {
    pack.destroy(e as Error);
    await out.catch(() => {});
    throw e;
  }
  return images;
}
