/**
 * OCI Distribution client: pull and push between a registry and the {@link ImageStore}.
 *
 * - Transport: plain HTTP for localhost / 127.0.0.0/8 / ::1 (and hosts passed as insecure),
 *   HTTPS otherwise; `docker.io` means `registry-1.docker.io`.
 * - Auth: anonymous first; on 401 the `WWW-Authenticate` challenge decides: Basic (credentials
 *   from docker's config.json) or Bearer (token from the realm, scoped to the repository,
 *   cached per scope).
 * - Pull: manifest by tag or digest with every manifest/index media type accepted; the body
 *   is verified against the digest asked for and `Docker-Content-Digest`; an index yields the
 *   linux/<host arch> manifest; blobs are streamed into the store, which checks digest and size.
 * - Push: per blob HEAD (skip), cross-repository mount from another repository of the same
 *   registry that holds the image, else POST + PUT (monolithic) or POST + PATCH… + PUT
 *   (chunked, following each `Location`); then the manifest with its own media type.
 * - Idempotent requests and whole blob uploads are retried on network errors, 429 and 5xx.
 */
import { Readable, Transform } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { ImageInfo } from '../image-index.js';
import { hostArchitecture, MediaTypes, selectPlatform, sha256Digest, type Descriptor, type ImageIndex, type ImageManifest } from '../oci.js';
import type { ImageStore } from '../store.js';
import { formatReference, parseReference, repositoryOf, type ImageReference } from '../reference.js';
import { loadCredentials, parseAuthenticate, type Credentials } from './auth.js';
import { createTransferProgress, shortId, type TransferProgress } from './progress.js';

/** Every manifest type we can read, most preferred first. */
export const MANIFEST_ACCEPT = [
  MediaTypes.ociIndex, MediaTypes.ociManifest, MediaTypes.dockerManifestList, MediaTypes.dockerManifest,
].join(', ');

export interface RegistryClientOptions {
  /** Explicit credentials (else docker config.json). */
  credentials?: Credentials;
  /** Path of docker's config.json (default $DOCKER_CONFIG/config.json or ~/.docker/config.json). */
  dockerConfig?: string;
  /** Hosts spoken to over plain HTTP in addition to loopback ones, or true for all. */
  insecure?: boolean | string[];
  /** Attempts for a failing request (default 3). */
  retries?: number;
  /** Blobs larger than this are uploaded in PATCH chunks of this size (default 32 MiB). */
  chunkSize?: number;
  /** Parallel blob transfers (default 3). */
  concurrency?: number;
  /** Per-blob progress (default: bars on a TTY, lines otherwise, on stderr). */
  progress?: TransferProgress;
  /** Plain messages when no progress object is given. */
  log?: (line: string) => void;
}

/** A registry error with the spec's code (`MANIFEST_UNKNOWN`, `DIGEST_INVALID`, …) when there is one. */
export class RegistryError extends Error {
  override name = 'RegistryError';
  constructor(message: string, readonly status = 0, readonly code?: string) {
    super(message);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function isLoopback(host: string): boolean {
  const h = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h) || h.endsWith('.localhost');
}

/** Talks to one registry; holds its tokens. */
export class RegistryClient {
  readonly baseUrl: string;
  private readonly creds?: Credentials;
  private readonly tokens = new Map<string, string>();
  private basic = false;
  private readonly retries: number;

  constructor(readonly domain: string, private readonly opts: RegistryClientOptions = {}) {
    const host = domain === 'docker.io' ? 'registry-1.docker.io' : domain;
    const insecure = opts.insecure === true || (Array.isArray(opts.insecure) && opts.insecure.includes(domain)) || isLoopback(domain);
    this.baseUrl = `${insecure ? 'http' : 'https'}://${host}`;
    this.creds = opts.credentials ?? loadCredentials(domain, opts.dockerConfig);
    this.retries = opts.retries ?? 3;
  }

  /** Checks that the registry answers `/v2/` (with auth if needed). */
  async ping(): Promise<void> {
    const res = await this.request('GET', '/v2/', { scope: '' });
    await res.arrayBuffer();
    if (!res.ok) throw await this.errorOf(res, `GET ${this.baseUrl}/v2/`);
  }

  private authHeader(scope: string): string | undefined {
    if (this.basic && this.creds) return `Basic ${Buffer.from(`${this.creds.username}:${this.creds.password}`).toString('base64')}`;
    const t = this.tokens.get(scope);
    return t ? `Bearer ${t}` : undefined;
  }

  private async fetchToken(params: Record<string, string>, scope: string): Promise<void> {
    const realm = params.realm;
    if (!realm) throw new RegistryError(`${this.domain} asked for a bearer token without a realm`);
    const u = new URL(realm);
    if (params.service) u.searchParams.set('service', params.service);
    if (scope) u.searchParams.set('scope', scope);
    const headers: Record<string, string> = {};
    if (this.creds) headers.authorization = `Basic ${Buffer.from(`${this.creds.username}:${this.creds.password}`).toString('base64')}`;
    const res = await fetch(u, { headers });
    const body = (await res.json().catch(() => ({}))) as { token?: string; access_token?: string };
    if (!res.ok) {
      throw new RegistryError(`token request to ${u.origin}${u.pathname} failed: HTTP ${res.status}${this.creds ? ' (check the credentials: skiff login ' + this.domain + ')' : ' (run `skiff login ' + this.domain + '` if the repository is private)'}`, res.status, 'UNAUTHORIZED');
    }
    const token = body.token ?? body.access_token;
    if (!token) throw new RegistryError(`token response from ${u.origin} has no token`);
    this.tokens.set(scope, token);
  }

  /**
   * Sends a request with auth and retries. `url` is a path on the registry or an absolute
   * URL (upload Locations). Bodies that are streams cannot be replayed: such requests are
   * sent once (callers retry the whole operation).
   */
  async request(method: string, url: string, o: { scope: string; headers?: Record<string, string>; body?: Buffer | Readable | null; redirect?: RequestRedirect }): Promise<Response> {
    const target = url.startsWith('http') ? url : this.baseUrl + url;
    const replayable = !(o.body instanceof Readable);
    let authTried = false;
    for (let attempt = 1; ; attempt++) {
      const headers: Record<string, string> = { ...(o.headers ?? {}) };
      const auth = this.authHeader(o.scope);
      if (auth) headers.authorization = auth;
      let res: Response;
      try {
        const init: RequestInit & { duplex?: 'half' } = { method, headers, redirect: o.redirect ?? 'follow' };
        if (o.body instanceof Readable) {
          init.body = Readable.toWeb(o.body) as unknown as BodyInit;
          init.duplex = 'half';
        } else if (o.body) init.body = o.body as unknown as BodyInit;
        res = await fetch(target, init);
      } catch (e) {
        const cause = (e as { cause?: Error }).cause;
        if (attempt < this.retries && replayable) {
          await sleep(200 * 2 ** attempt);
          continue;
        }
        throw new RegistryError(`${method} ${target}: ${cause?.message ?? (e as Error).message}${/ECONNREFUSED/.test(String(cause?.message)) ? ' (is the registry running?)' : ''}`);
      }
      if (res.status === 401 && !authTried && replayable) {
        authTried = true;
        const challenge = parseAuthenticate(res.headers.get('www-authenticate') ?? '');
        await res.arrayBuffer().catch(() => {});
        if (challenge.scheme === 'bearer') {
          await this.fetchToken(challenge.params, challenge.params.scope ?? o.scope);
          if (challenge.params.scope && challenge.params.scope !== o.scope) this.tokens.set(o.scope, this.tokens.get(challenge.params.scope)!);
          continue;
        }
        if (challenge.scheme === 'basic') {
          if (!this.creds) throw new RegistryError(`${this.domain} requires a login: run \`skiff login ${this.domain}\``, 401, 'UNAUTHORIZED');
          this.basic = true;
          continue;
        }
      }
      if ((res.status === 429 || res.status >= 500) && attempt < this.retries && replayable) {
        await res.arrayBuffer().catch(() => {});
        await sleep(200 * 2 ** attempt);
        continue;
      }
      return res;
    }
  }

  /** Turns an error response into a RegistryError with the spec's code and message. */
  async errorOf(res: Response, what: string): Promise<RegistryError> {
    const text = await res.text().catch(() => '');
    let code: string | undefined;
    let msg = text.trim().slice(0, 300);
    try {
      const j = JSON.parse(text) as { errors?: { code: string; message: string; detail?: unknown }[] };
      if (j.errors?.length) {
        code = j.errors[0]!.code;
        msg = j.errors.map((e) => `${e.code}: ${e.message}`).join('; ');
      }
    } catch {
      /* not JSON */
    }
    const hint = res.status === 401 || res.status === 403 ? ` (run \`skiff login ${this.domain}\`)` : '';
    return new RegistryError(`${what}: HTTP ${res.status}${msg ? ` ${msg}` : ''}${hint}`, res.status, code);
  }

  /** Fetches a manifest or index; verifies its digest. */
  async getManifest(repo: string, reference: string): Promise<{ raw: Buffer; mediaType: string; digest: string }> {
    const res = await this.request('GET', `/v2/${repo}/manifests/${reference}`, { scope: `repository:${repo}:pull`, headers: { accept: MANIFEST_ACCEPT } });
    if (!res.ok) throw await this.errorOf(res, `manifest ${repo}:${reference}`);
    const raw = Buffer.from(await res.arrayBuffer());
    const digest = sha256Digest(raw);
    if (reference.startsWith('sha256:') && reference !== digest) {
      throw new RegistryError(`manifest ${repo}@${reference} from ${this.domain} hashes to ${digest}: refusing it`, 0, 'DIGEST_INVALID');
    }
    const header = res.headers.get('docker-content-digest');
    if (header && header !== digest) throw new RegistryError(`manifest ${repo}:${reference}: Docker-Content-Digest ${header} but the body hashes to ${digest}`, 0, 'DIGEST_INVALID');
    let mediaType = (res.headers.get('content-type') ?? '').split(';')[0]!.trim();
    try {
      const parsed = JSON.parse(raw.toString('utf8')) as { mediaType?: string; manifests?: unknown; config?: unknown; schemaVersion?: number };
      if (parsed.schemaVersion === 1) throw new RegistryError(`${repo}:${reference} is a schema 1 manifest, which is not supported; push it again with a current client`);
      if (parsed.mediaType) mediaType = parsed.mediaType;
      else if (!mediaType || mediaType === 'application/json') mediaType = parsed.manifests ? MediaTypes.ociIndex : MediaTypes.ociManifest;
    } catch (e) {
      if (e instanceof RegistryError) throw e;
      throw new RegistryError(`manifest ${repo}:${reference} is not JSON`);
    }
    return { raw, mediaType, digest };
  }

  /** Streams a blob (following redirects). */
  async getBlob(repo: string, digest: string): Promise<{ stream: Readable; size: number }> {
    const res = await this.request('GET', `/v2/${repo}/blobs/${digest}`, { scope: `repository:${repo}:pull` });
    if (!res.ok || !res.body) throw await this.errorOf(res, `blob ${digest} of ${repo}`);
    return { stream: Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), size: Number(res.headers.get('content-length') ?? 0) };
  }

  async hasBlob(repo: string, digest: string, scope: string): Promise<boolean> {
    const res = await this.request('HEAD', `/v2/${repo}/blobs/${digest}`, { scope });
    await res.arrayBuffer().catch(() => {});
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    throw new RegistryError(`HEAD blob ${digest} in ${repo}: HTTP ${res.status}`, res.status);
  }

  private resolveLocation(res: Response): string {
    const loc = res.headers.get('location');
    if (!loc) throw new RegistryError(`${this.domain} sent no Location for the upload`);
    return new URL(loc, this.baseUrl).toString();
  }

  /**
   * Uploads a blob from the store. Tries a cross-repository mount from `mountFrom` first.
   * Returns how it got there.
   */
  async pushBlob(store: ImageStore, repo: string, desc: Descriptor, mountFrom: string[], onBytes: (n: number) => void): Promise<'exists' | 'mounted' | 'pushed'> {
    const scope = `repository:${repo}:pull,push`;
    if (await this.hasBlob(repo, desc.digest, scope)) return 'exists';
    let location: string | undefined;
    for (const from of mountFrom) {
      const res = await this.request('POST', `/v2/${repo}/blobs/uploads/?mount=${encodeURIComponent(desc.digest)}&from=${encodeURIComponent(from)}`, { scope: `${scope} repository:${from}:pull` });
      await res.arrayBuffer().catch(() => {});
      if (res.status === 201) return 'mounted';
      if (res.status === 202) {
        location = this.resolveLocation(res);
        break;
      }
    }
    const size = store.blobSize(desc.digest);
    if (size === undefined) throw new RegistryError(`blob ${desc.digest} is missing from the local store; pull or rebuild the image`);
    const chunk = this.opts.chunkSize ?? 32 * 1024 * 1024;
    for (let attempt = 1; ; attempt++) {
      let sent = 0;
      try {
        if (!location) {
          const res = await this.request('POST', `/v2/${repo}/blobs/uploads/`, { scope });
          await res.arrayBuffer().catch(() => {});
          if (res.status !== 202) throw new RegistryError(`starting an upload to ${repo}: HTTP ${res.status}`, res.status);
          location = this.resolveLocation(res);
        }
        const counting = (s: Readable) =>
          s.pipe(new Transform({ transform(c: Buffer, _e, cb) { sent += c.length; onBytes(c.length); cb(null, c); } }));
        if (size > chunk) {
          for (let off = 0; off < size; off += chunk) {
            const end = Math.min(size, off + chunk) - 1;
            const res = await this.request('PATCH', location, {
              scope,
              headers: { 'content-type': 'application/octet-stream', 'content-range': `${off}-${end}`, 'content-length': String(end - off + 1) },
              body: counting(store.openBlob(desc.digest, { start: off, end })),
            });
            await res.arrayBuffer().catch(() => {});
            if (res.status !== 202) throw new RegistryError(`uploading ${shortId(desc.digest)} to ${repo}: PATCH HTTP ${res.status}`, res.status);
            location = this.resolveLocation(res);
          }
          const put = await this.request('PUT', withDigest(location, desc.digest), { scope, headers: { 'content-length': '0' } });
          if (put.status !== 201) throw await this.errorOf(put, `completing upload of ${desc.digest}`);
          await put.arrayBuffer().catch(() => {});
        } else {
          const put = await this.request('PUT', withDigest(location, desc.digest), {
            scope,
            headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) },
            body: counting(store.openBlob(desc.digest)),
          });
          if (put.status !== 201) throw await this.errorOf(put, `uploading ${desc.digest}`);
          await put.arrayBuffer().catch(() => {});
        }
        return 'pushed';
      } catch (e) {
        onBytes(-sent);
        const code = (e as RegistryError).code;
        const status = (e as RegistryError).status ?? 0;
        if (attempt >= this.retries || code === 'DIGEST_INVALID' || (status >= 400 && status < 500 && status !== 429)) throw e;
        location = undefined; // start a new session
        await sleep(200 * 2 ** attempt);
      }
    }
  }

  /** Uploads a manifest; returns the registry's digest. */
  async putManifest(repo: string, reference: string, raw: Buffer, mediaType: string): Promise<string> {
    const res = await this.request('PUT', `/v2/${repo}/manifests/${reference}`, {
      scope: `repository:${repo}:pull,push`, headers: { 'content-type': mediaType }, body: raw,
    });
    if (res.status !== 201 && res.status !== 200) throw await this.errorOf(res, `pushing manifest ${repo}:${reference}`);
    await res.arrayBuffer().catch(() => {});
    return res.headers.get('docker-content-digest') ?? sha256Digest(raw);
  }

  /** Tags of a repository. */
  async listTags(repo: string): Promise<string[]> {
    const res = await this.request('GET', `/v2/${repo}/tags/list`, { scope: `repository:${repo}:pull` });
    if (!res.ok) throw await this.errorOf(res, `tags of ${repo}`);
    return ((await res.json()) as { tags?: string[] | null }).tags ?? [];
  }
}

function withDigest(location: string, digest: string): string {
  const u = new URL(location);
  u.searchParams.set('digest', digest);
  return u.toString();
}

/** Runs `fn` over `items` with at most `n` in flight. */
async function parallel<T>(items: T[], n: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(n, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  });
  await Promise.all(workers);
}

function progressFor(opts: RegistryClientOptions): { p: TransferProgress; own: boolean } {
  if (opts.progress) return { p: opts.progress, own: false };
  if (opts.log) return { p: { event: () => {}, message: opts.log, stop: () => {} }, own: false };
  return { p: createTransferProgress(process.stderr), own: true };
}

/**
 * Pulls `ref` into the store (by tag or digest) and returns the stored image. An index is
 * resolved to the linux/<host arch> manifest; the stored reference is the tag, or
 * `repo@<digest asked for>` when pulled by a manifest digest.
 */
export async function pullImage(store: ImageStore, refText: string, opts: RegistryClientOptions = {}): Promise<ImageInfo> {
  const ref = parseReference(refText);
  const client = new RegistryClient(ref.domain, opts);
  const { p, own } = progressFor(opts);
  try {
    const reference = ref.digest ?? ref.tag!;
    p.message(`${ref.tag ?? ref.digest}: Pulling from ${ref.path}`);
    let m = await client.getManifest(ref.path, reference);
    if (m.mediaType === MediaTypes.ociIndex || m.mediaType === MediaTypes.dockerManifestList) {
      const pick = selectPlatform((JSON.parse(m.raw.toString('utf8')) as ImageIndex).manifests ?? []);
      if (!pick) throw new RegistryError(`${formatReference(ref)} has no image for linux/${hostArchitecture()}`, 0, 'MANIFEST_UNKNOWN');
      m = await client.getManifest(ref.path, pick.digest);
    }
    const manifest = JSON.parse(m.raw.toString('utf8')) as ImageManifest;
    if (!manifest.config || !Array.isArray(manifest.layers)) throw new RegistryError(`${formatReference(ref)}: unsupported manifest type ${m.mediaType}`);
    const blobs = [...manifest.layers, manifest.config];
    await parallel(blobs, opts.concurrency ?? 3, async (d) => {
      const id = shortId(d.digest);
      if (store.hasBlob(d.digest) && store.blobSize(d.digest) === d.size) {
        if (d !== manifest.config) p.event({ id, status: 'Already exists', total: d.size });
        return;
      }
      for (let attempt = 1; ; attempt++) {
        try {
          const { stream } = await client.getBlob(ref.path, d.digest);
          let done = 0;
          const counted = stream.pipe(new Transform({
            transform(c: Buffer, _e, cb) {
              done += c.length;
              if (d !== manifest.config) p.event({ id, status: 'Downloading', current: done, total: d.size });
              cb(null, c);
            },
          }));
          stream.on('error', (e) => counted.destroy(e));
          await store.writeBlob(counted, d.digest, d.size);
          if (d !== manifest.config) p.event({ id, status: 'Pull complete', current: d.size, total: d.size });
          return;
        } catch (e) {
          const msg = (e as Error).message;
          if (/digest mismatch|size mismatch/.test(msg)) throw new RegistryError(`blob ${d.digest} of ${formatReference(ref)} is corrupt: ${msg}`, 0, 'DIGEST_INVALID');
          if (attempt >= (opts.retries ?? 3) || ((e as RegistryError).status >= 400 && (e as RegistryError).status < 500)) throw e;
          await sleep(200 * 2 ** attempt);
        }
      }
    });
    const storeRef = ref.digest ? `${repositoryOf(ref)}@${ref.digest === m.digest ? ref.digest : m.digest}` : formatReference(ref);
    const info = await store.putManifest(storeRef, m.raw);
    p.message(`Digest: ${m.digest}`);
    p.message(`Status: Downloaded newer image for ${formatReference(ref)}`);
    return info;
  } finally {
    if (own) p.stop();
  }
}

/** Repositories on the same registry whose stored images share blobs with `info` (cross-mount sources). */
function mountCandidates(store: ImageStore, dest: ImageReference, info: ImageInfo): string[] {
  const out = new Set<string>();
  for (const other of store.list()) {
    if (!other.ref) continue;
    try {
      const r = parseReference(other.ref);
      if (r.domain === dest.domain && r.path !== dest.path && other.manifest.layers.some((l) => info.manifest.layers.some((x) => x.digest === l.digest))) out.add(r.path);
    } catch {
      /* skip */
    }
  }
  return [...out].slice(0, 3);
}

export interface PushResult {
  /** Manifest digest as the registry reports it. */
  digest: string;
  /** Manifest size in bytes. */
  size: number;
  tag?: string;
  /** Blob outcomes by short digest. */
  blobs: Record<string, 'exists' | 'mounted' | 'pushed'>;
}

/**
 * Pushes a stored image to its registry. `refText` names the destination (`localhost:5000/app:1`);
 * `source` the local image when it has another name. The manifest bytes are pushed unchanged,
 * so the digest is the same on both sides.
 */
export async function pushImage(store: ImageStore, refText: string, opts: RegistryClientOptions & { source?: string } = {}): Promise<PushResult> {
  const ref = parseReference(refText);
  const info = store.resolve(opts.source ?? refText);
  if (!info) throw new RegistryError(`No such image: ${opts.source ?? refText} (build it, or tag an image with this name: skiff tag SRC ${refText})`);
  const client = new RegistryClient(ref.domain, opts);
  const { p, own } = progressFor(opts);
  try {
    p.message(`The push refers to repository [${repositoryOf(ref)}]`);
    const mounts = mountCandidates(store, ref, info);
    const blobs: PushResult['blobs'] = {};
    await parallel([...info.manifest.layers, info.manifest.config], opts.concurrency ?? 3, async (d) => {
      const id = shortId(d.digest);
      const isLayer = d !== info.manifest.config;
      if (isLayer) p.event({ id, status: 'Preparing', total: d.size });
      let done = 0;
      const how = await client.pushBlob(store, ref.path, d, mounts, (n) => {
        done += n;
        if (isLayer) p.event({ id, status: 'Pushing', current: done, total: d.size });
      });
      blobs[id] = how;
      if (isLayer) p.event({ id, status: how === 'exists' ? 'Layer already exists' : how === 'mounted' ? `Mounted from ${mounts[0]}` : 'Pushed', current: d.size, total: d.size });
    });
    const raw = await store.readBlob(info.digest);
    const mediaType = info.manifest.mediaType ?? MediaTypes.ociManifest;
    const tag = ref.tag;
    const digest = await client.putManifest(ref.path, tag ?? ref.digest!, raw, mediaType);
    p.message(`${tag ?? ref.digest}: digest: ${digest} size: ${raw.length}`);
    return { digest, size: raw.length, ...(tag ? { tag } : {}), blobs };
  } finally {
    if (own) p.stop();
  }
}
