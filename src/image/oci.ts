/**
 * The OCI image format as skiff reads and writes it (image-spec `descriptor.md`, `manifest.md`,
 * `image-index.md`, `config.md`), with Docker's v2 schema 2 media types beside the OCI ones:
 * both are accepted everywhere, OCI is what skiff writes. Plain data and pure functions only.
 */
import { createHash } from 'node:crypto';

/** Media types skiff writes and understands. */
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

/** Annotation holding the full reference in an image layout's index.json (image-spec). */
export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';
/** The same, as containerd and `docker save` (v25+) write it. */
export const CONTAINERD_NAME_ANNOTATION = 'io.containerd.image.name';

/** The PATH an image gets when its config sets no Env (Docker's default). */
export const DEFAULT_PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
}

/** A pointer to content: what it is, its digest and its size. */
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

const SHA256_RE = /^sha256:[a-f0-9]{64}$/;

/** True for a well-formed `sha256:<64 lowercase hex>` digest, the only algorithm skiff stores. */
export function isSha256Digest(digest: string): boolean {
  return SHA256_RE.test(digest);
}

/** The hex part of a sha256 digest; throws on anything else, so a digest never becomes a path by accident. */
export function digestHex(digest: string): string {
  if (!SHA256_RE.test(digest)) {
    throw new Error(`unsupported or malformed digest ${JSON.stringify(digest)}: expected sha256:<64 lowercase hex>`);
  }
  return digest.slice('sha256:'.length);
}

/** The `sha256:…` digest of some bytes. */
export function sha256Digest(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** Go's GOARCH for this machine, as image configs and platforms spell it. */
export function hostArchitecture(): string {
  const map: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  return map[process.arch] ?? process.arch;
}

/**
 * Picks the manifest for linux/`arch` from an index's list; a list of one manifest without a
 * platform is taken as it is (what single-platform OCI layouts write).
 */
export function selectPlatform(list: readonly Descriptor[], arch: string = hostArchitecture()): Descriptor | undefined {
  return list.find((d) => d.platform?.os === 'linux' && d.platform.architecture === arch) ?? (list.length === 1 && !list[0]!.platform ? list[0] : undefined);
}

/** How a layer blob is compressed, as far as its media type is concerned. */
export type LayerCompression = 'gzip' | 'zstd' | 'none';

/** The OCI layer media type for a compression. */
export function layerMediaType(compression: LayerCompression): string {
  return compression === 'gzip' ? MediaTypes.ociLayerGzip : compression === 'zstd' ? MediaTypes.ociLayerZstd : MediaTypes.ociLayer;
}
