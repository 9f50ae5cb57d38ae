/**
 * What `docker images`, `docker inspect` and `docker history` show: the store's references
 * grouped into Docker images (one per image ID, the config digest) and rendered in the
 * Engine API's shapes. Pure functions over {@link ImageInfo}s, apart from {@link findImage}
 * which reads the store.
 */
import type { ImageInfo } from '../../image/image-index.js';
import { DEFAULT_PATH_ENV } from '../../image/oci.js';
import { familiarString, parseNormalized, parseReference } from '../../image/reference.js';
import type { ImageStore } from '../../image/store.js';
import { globToRegExp } from '../../builder/context.js';
import { badParameter, noSuchImage } from '../errors.js';
import { boolFilter, checkFilterNames, matchLabels, type Filters } from '../filters.js';

/** One Docker image: every stored reference to the same config digest. */
export interface DockerImage {
  /** `sha256:<config digest hex>`. */
  id: string;
  /** One of the store's entries for it (manifest, config, size). */
  info: ImageInfo;
  /** Familiar `name:tag` references (`busybox:latest`, `localhost:5000/x:1`). */
  tags: string[];
  /** Familiar `name@sha256:…` references. */
  digests: string[];
  /** Full stored references (`docker.io/library/busybox:latest`, `…@sha256:…`); empty when untagged. */
  refs: string[];
}

/** Groups the store's entries (one per reference) by image ID, newest first. */
export function groupImages(list: readonly ImageInfo[]): DockerImage[] {
  const byId = new Map<string, DockerImage>();
  for (const info of list) {
    let img = byId.get(info.id);
    if (!img) byId.set(info.id, (img = { id: info.id, info, tags: [], digests: [], refs: [] }));
    if (!info.ref) continue;
    img.refs.push(info.ref);
    if (info.ref.includes('@')) img.digests.push(familiarString(info.ref));
    else img.tags.push(familiarString(info.ref));
  }
  return [...byId.values()].sort((a, b) => createdSeconds(b.info) - createdSeconds(a.info) || a.id.localeCompare(b.id));
}

/** The 12-hex short form of an ID or digest. */
export function shortHex(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}

function createdSeconds(info: ImageInfo): number {
  const t = Date.parse(info.created ?? info.config.created ?? '');
  return Number.isNaN(t) ? 0 : Math.floor(t / 1000);
}

/**
 * Resolves a name as dockerd does: a reference (`busybox` = `busybox:latest`,
 * `docker.io/library/busybox`, `x@sha256:…`), a full `sha256:` ID or manifest digest, or an ID
 * prefix (4+ hex, unique). Throws 404 `No such image: <name>` otherwise.
 */
export function findImage(store: ImageStore, name: string): DockerImage {
  const images = groupImages(store.list());
  const hit = store.resolve(name);
  if (hit) {
    const img = images.find((i) => i.id === hit.id);
    if (img) return img;
  }
  const hex = /^(?:sha256:)?([a-f0-9]{4,64})$/.exec(name)?.[1];
  if (hex) {
    const matches = images.filter((i) => i.id.slice(7).startsWith(hex));
    if (matches.length === 1) return matches[0]!;
  }
  throw noSuchImage(displayName(name));
}

/** How dockerd echoes a name in `No such image`: tags get `:latest`, IDs stay as typed. */
export function displayName(name: string): string {
  if (/^(?:sha256:)?[a-f0-9]{4,64}$/.test(name)) return name;
  try {
    return familiarString(parseReference(name));
  } catch {
    return name;
  }
}

/** `GET /images/json` item. */
export function imageSummary(img: DockerImage): Record<string, unknown> {
  return {
    Id: img.id,
    ParentId: '',
    RepoTags: img.tags,
    RepoDigests: img.digests,
    Created: createdSeconds(img.info),
    Size: img.info.size,
    SharedSize: -1,
    VirtualSize: img.info.size,
    Labels: img.info.config.config?.Labels ?? {},
    Containers: -1,
  };
}

/** `GET /images/{name}/json`. */
export function imageInspect(img: DockerImage): Record<string, unknown> {
  const cfg = img.info.config;
  const c = cfg.config ?? {};
  return {
    Id: img.id,
    RepoTags: img.tags,
    RepoDigests: img.digests,
    Parent: '',
    Comment: '',
    Created: cfg.created ?? new Date(0).toISOString(),
    DockerVersion: '',
    Author: cfg.author ?? '',
    Config: {
      Hostname: '',
      Domainname: '',
      User: c.User ?? '',
      AttachStdin: false,
      AttachStdout: false,
      AttachStderr: false,
      ExposedPorts: c.ExposedPorts ?? null,
      Tty: false,
      OpenStdin: false,
      StdinOnce: false,
      Env: c.Env ?? [DEFAULT_PATH_ENV],
      Cmd: c.Cmd ?? null,
      Image: '',
      Volumes: c.Volumes ?? null,
      WorkingDir: c.WorkingDir ?? '',
      Entrypoint: c.Entrypoint ?? null,
      OnBuild: (c as { OnBuild?: string[] }).OnBuild ?? null,
      Labels: c.Labels ?? null,
      ...(c.StopSignal ? { StopSignal: c.StopSignal } : {}),
      ...((c as { Healthcheck?: unknown }).Healthcheck ? { Healthcheck: (c as { Healthcheck?: unknown }).Healthcheck } : {}),
      ...((c as { Shell?: string[] }).Shell ? { Shell: (c as { Shell?: string[] }).Shell } : {}),
    },
    Architecture: cfg.architecture,
    ...(cfg.variant ? { Variant: cfg.variant } : {}),
    Os: cfg.os,
    Size: img.info.size,
    VirtualSize: img.info.size,
    GraphDriver: { Name: 'overlay2', Data: null },
    RootFS: { Type: 'layers', Layers: cfg.rootfs.diff_ids },
    Metadata: { LastTagTime: '0001-01-01T00:00:00Z' },
  };
}

/** `GET /images/{name}/history`: newest first; only the top entry carries the image ID and tags. */
export function imageHistory(img: DockerImage): Record<string, unknown>[] {
  const layers = img.info.manifest.layers;
  let layer = 0;
  const rows = (img.info.config.history ?? []).map((h) => {
    const size = h.empty_layer ? 0 : layers[layer++]?.size ?? 0;
    const t = Date.parse(h.created ?? '');
    return { Id: '<missing>', Created: Number.isNaN(t) ? 0 : Math.floor(t / 1000), CreatedBy: h.created_by ?? '', Tags: null as string[] | null, Size: size, Comment: h.comment ?? '' };
  });
  if (rows.length === 0) rows.push({ Id: '<missing>', Created: createdSeconds(img.info), CreatedBy: '', Tags: null, Size: img.info.size, Comment: '' });
  rows.reverse();
  rows[0]!.Id = img.id;
  rows[0]!.Tags = img.tags;
  return rows;
}

/** Filters `GET /images/json` and `POST /images/prune` understand. */
export const LIST_FILTERS = ['reference', 'dangling', 'label', 'before', 'since', 'until'] as const;

/** An image without tags (`<none>:<none>` in `docker images`). */
export function isDangling(img: DockerImage): boolean {
  return img.tags.length === 0;
}

/**
 * Applies `docker images` filters. `resolve` looks up the images named by `before`/`since`
 * (404 when missing, as dockerd). `until` takes a unix time or an RFC 3339 time.
 */
export function filterImages(images: DockerImage[], filters: Filters, resolve: (name: string) => DockerImage, now = Date.now()): DockerImage[] {
  checkFilterNames(filters, LIST_FILTERS);
  const dangling = boolFilter(filters, 'dangling');
  const refs = filters.get('reference') ?? [];
  const patterns = refs.map((r) => globToRegExp(r));
  const before = filters.get('before')?.map((n) => createdSeconds(resolve(n).info));
  const since = filters.get('since')?.map((n) => createdSeconds(resolve(n).info));
  const until = filters.get('until')?.map((u) => untilSeconds(u, now));
  return images.filter((img) => {
    if (dangling !== undefined && isDangling(img) !== dangling) return false;
    if (!matchLabels(img.info.config.config?.Labels, filters.get('label'))) return false;
    const created = createdSeconds(img.info);
    if (before && !before.every((b) => created < b)) return false;
    if (since && !since.every((s) => created > s)) return false;
    if (until && !until.every((u) => created < u)) return false;
    if (patterns.length && !img.tags.some((t) => patterns.some((p) => p.test(t) || p.test(nameOf(t))))) return false;
    return true;
  });
}

/** Keeps only the tags a `reference` filter matched (dockerd lists just those in RepoTags). */
export function matchingTags(img: DockerImage, filters: Filters): DockerImage {
  const refs = filters.get('reference');
  if (!refs?.length) return img;
  const patterns = refs.map((r) => globToRegExp(r));
  return { ...img, tags: img.tags.filter((t) => patterns.some((p) => p.test(t) || p.test(nameOf(t)))) };
}

function nameOf(familiarTag: string): string {
  const r = parseNormalized(familiarTag);
  return familiarString({ domain: r.domain, path: r.path });
}

/** `until` filter: unix seconds (`1700000000`), a duration back from now (`24h`, `10m`), or an RFC 3339 time. */
export function untilSeconds(value: string, now: number): number {
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value);
  const d = /^(\d+)(s|m|h)$/.exec(value);
  if (d) return Math.floor(now / 1000) - Number(d[1]) * { s: 1, m: 60, h: 3600 }[d[2] as 's' | 'm' | 'h'];
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw badParameter(`invalid filter 'until=${value}'`);
  return Math.floor(t / 1000);
}
