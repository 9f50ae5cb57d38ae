/**
 * The index and tags: `<images>/index.json`, the image layout's list of manifest descriptors, one
 * per reference. The full reference (`docker.io/library/busybox:latest`) is in the annotations
 * `org.opencontainers.image.ref.name` and `io.containerd.image.name`; an untagged image has an
 * entry without them. The file is rewritten whole by temp file + rename, so readers never see
 * half of it; the last writer of the same reference wins.
 *
 * What a reference means (resolving, tagging, removing) is decided by the pure functions below;
 * {@link ReferenceIndex} only reads and writes the file.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from './content-store.js';
import { CONTAINERD_NAME_ANNOTATION, MediaTypes, REF_NAME_ANNOTATION, type Descriptor, type ImageConfig, type ImageIndex, type ImageManifest } from './oci.js';
import { formatReference, parseNormalized, parseReference } from './reference.js';

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

/** A manifest descriptor in index.json. */
export type IndexEntry = Descriptor;

/** The full reference an entry names; '' for an untagged image. */
export function entryRef(e: IndexEntry): string {
  return e.annotations?.[CONTAINERD_NAME_ANNOTATION] ?? e.annotations?.[REF_NAME_ANNOTATION] ?? '';
}

/** The index entry for manifest `desc` under the full reference `ref` ('' = untagged). */
export function indexEntry(ref: string, desc: Pick<Descriptor, 'mediaType' | 'digest' | 'size'>): IndexEntry {
  const entry: IndexEntry = { mediaType: desc.mediaType, digest: desc.digest, size: desc.size };
  if (ref) entry.annotations = { [REF_NAME_ANNOTATION]: ref, [CONTAINERD_NAME_ANNOTATION]: ref };
  return entry;
}

/**
 * The entries after adding or replacing the entry for `ref`. An untagged entry is kept once
 * per digest, and not at all while a tag names the same manifest.
 */
export function withReference(entries: readonly IndexEntry[], ref: string, desc: Pick<Descriptor, 'mediaType' | 'digest' | 'size'>): IndexEntry[] {
  const rest = ref
    ? entries.filter((e) => entryRef(e) !== ref)
    : entries.filter((e) => entryRef(e) !== '' || e.digest !== desc.digest);
  const hasTagged = !ref && rest.some((e) => e.digest === desc.digest);
  if (!hasTagged) rest.push(indexEntry(ref, desc));
  return rest;
}

/** True for text that names an image by digest or ID rather than by tag. */
function namesById(ref: string): boolean {
  return ref.startsWith('sha256:') || /^[a-f0-9]{12,64}$/.test(ref) || !!parseNormalizedSafe(ref)?.digest;
}

/**
 * Finds an image by reference (`busybox`, `docker.io/library/busybox:latest`,
 * `name@sha256:…`), by manifest digest or image ID (`sha256:…`), or by an ID prefix of at
 * least 12 hex characters (Docker's short ID). `infoFor` reads an entry's manifest and config
 * (undefined for a dangling entry).
 */
export function resolveReference(entries: readonly IndexEntry[], ref: string, infoFor: (e: IndexEntry) => ImageInfo | undefined): ImageInfo | undefined {
  const hex = ref.startsWith('sha256:') ? ref.slice(7) : /^[a-f0-9]{12,64}$/.test(ref) ? ref : undefined;
  if (hex !== undefined && /^[a-f0-9]{12,64}$/.test(hex)) {
    for (const e of entries) {
      const info = infoFor(e);
      if (!info) continue;
      if (info.digest.slice(7).startsWith(hex) || info.id.slice(7).startsWith(hex)) return info;
    }
    if (ref.startsWith('sha256:')) return undefined;
  }
  const wanted = parseNormalizedSafe(ref);
  if (!wanted) return undefined;
  if (wanted.digest) {
    const repo = `${wanted.domain}/${wanted.path}`;
    const byDigest = entries.filter((e) => e.digest === wanted.digest);
    const sameRepo = byDigest.find((e) => entryRef(e).startsWith(repo + ':') || entryRef(e).startsWith(repo + '@'));
    const e = sameRepo ?? byDigest[0];
    const info = e && infoFor(e);
    return info ? { ...info, ref: formatReference(wanted) } : undefined;
  }
  const full = formatReference(parseReference(ref));
  const e = entries.find((x) => entryRef(x) === full);
  return e && infoFor(e);
}

/**
 * The entries after removing what `ref` named: the one reference, or for a digest or ID every
 * reference to the image `info` (what `ref` resolved to). `removed` lists the references (or the
 * digest of an untagged entry) that went.
 */
export function withoutReference(entries: readonly IndexEntry[], ref: string, info: ImageInfo): { keep: IndexEntry[]; removed: string[] } {
  const byId = namesById(ref);
  const keep = entries.filter((e) => (byId ? e.digest !== info.digest : entryRef(e) !== info.ref));
  const removed = entries.filter((e) => !keep.includes(e)).map((e) => entryRef(e) || e.digest);
  return { keep, removed };
}

/** {@link parseNormalized}, or undefined for text that is not a reference. */
export function parseNormalizedSafe(s: string): ReturnType<typeof parseNormalized> | undefined {
  try {
    return parseNormalized(s);
  } catch {
    return undefined;
  }
}

/** The `index.json` file of one image layout. */
export class ReferenceIndex {
  private readonly path: string;

  /** @param root the image layout dir; an empty index is created when there is none */
  constructor(root: string) {
    this.path = join(root, 'index.json');
    if (!existsSync(this.path)) this.write([]);
  }

  read(): IndexEntry[] {
    const idx = JSON.parse(readFileSync(this.path, 'utf8')) as ImageIndex;
    return idx.manifests ?? [];
  }

  write(manifests: IndexEntry[]): void {
    const idx: ImageIndex = { schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests };
    writeFileAtomic(this.path, JSON.stringify(idx, null, 2) + '\n');
  }

  /** Adds or replaces the entry for the full reference `ref` ('' = untagged). */
  set(ref: string, desc: Pick<Descriptor, 'mediaType' | 'digest' | 'size'>): void {
    this.write(withReference(this.read(), ref, desc));
  }
}
