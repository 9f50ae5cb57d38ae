/**
 * The built-in registry: the OCI Distribution API v2 served from an {@link ImageStore}, so
 * images built or pulled on this node can be pulled by name from `localhost:5000/<repo>` and
 * pushed images land in the node's store at once.
 *
 * Repository `<repo>` maps to store references `localhost:<port>/<repo>:<tag>` (references on
 * `127.0.0.1:<port>` and the listen address are found too). Blobs are the store's blobs.
 * Manifests the store cannot index (image indexes, artifacts) and digest-only pushes are
 * recorded per repository in `<dataDir>/registry/repos/<repo>.json`.
 *
 * Endpoints: GET /v2/, GET /v2/_catalog, GET /v2/<name>/tags/list, GET|HEAD|PUT|DELETE
 * /v2/<name>/manifests/<ref>, GET|HEAD /v2/<name>/blobs/<digest>, POST /v2/<name>/blobs/uploads/
 * (session, `?digest=` monolithic, `?mount=&from=` cross-mount), GET|PATCH|PUT|DELETE
 * /v2/<name>/blobs/uploads/<uuid>. Errors use the spec's codes (DIGEST_INVALID,
 * MANIFEST_BLOB_UNKNOWN, …).
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { MediaTypes, sha256Digest, type ImageManifest } from '../oci.js';
import type { ImageStore } from '../store.js';
import { parseReference } from '../reference.js';

export interface RegistryServerOptions {
  store: ImageStore;
  host?: string;
  /** 0 picks a free port. Default 5000. */
  port?: number;
  /** Domain stored references use (default `localhost:<port>`). */
  domain?: string;
}

export interface RunningRegistry {
  port: number;
  /** `host:port` clients use. */
  address: string;
  close(): Promise<void>;
}

interface RepoRecord {
  tags: Record<string, string>;
  manifests: Record<string, string>;
}

class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly detail?: unknown) {
    super(message);
  }
}

const NAME_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;
const TAG_RE = /^[\w][\w.-]{0,127}$/;

/** Starts the registry; resolves once it listens. */
export async function startRegistry(opts: RegistryServerOptions): Promise<RunningRegistry> {
  const store = opts.store;
  const host = opts.host ?? '127.0.0.1';
  const root = join(store.dataDir, 'registry');
  const uploads = join(root, 'uploads');
  const repos = join(root, 'repos');
  mkdirSync(uploads, { recursive: true });
  mkdirSync(repos, { recursive: true });
  let domain = opts.domain ?? '';
  let aliases: string[] = [];

  const recordPath = (name: string) => join(repos, `${name.replace(/\//g, '%2F')}.json`);
  const readRecord = (name: string): RepoRecord => {
    try {
      return JSON.parse(readFileSync(recordPath(name), 'utf8')) as RepoRecord;
    } catch {
      return { tags: {}, manifests: {} };
    }
  };
  const writeRecord = (name: string, r: RepoRecord) => {
    const tmp = `${recordPath(name)}.tmp-${randomUUID()}`;
    writeFileSync(tmp, JSON.stringify(r));
    renameSync(tmp, recordPath(name));
  };

  /** Store images of this registry: repo → tag → manifest digest. */
  const storeRepos = (): Map<string, Map<string, string>> => {
    const out = new Map<string, Map<string, string>>();
    for (const img of store.list()) {
      if (!img.ref) continue;
      let r;
      try {
        r = parseReference(img.ref);
      } catch {
        continue;
      }
      if (!aliases.includes(r.domain)) continue;
      if (!out.has(r.path)) out.set(r.path, new Map());
      if (r.tag) out.get(r.path)!.set(r.tag, img.digest);
      else if (r.digest) out.get(r.path)!.set(`@${r.digest}`, img.digest);
    }
    return out;
  };

  const tagsOf = (name: string): Map<string, string> => {
    const m = new Map(Object.entries(readRecord(name).tags));
    for (const [t, d] of storeRepos().get(name) ?? []) if (!t.startsWith('@') && !m.has(t)) m.set(t, d);
    return m;
  };

  const repoExists = (name: string) => existsSync(recordPath(name)) || storeRepos().has(name);

  const send = (res: ServerResponse, status: number, body?: unknown, headers: Record<string, string | number> = {}) => {
    const buf = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
    res.writeHead(status, {
      'docker-distribution-api-version': 'registry/2.0',
      ...(buf && !headers['content-type'] ? { 'content-type': 'application/json' } : {}),
      'content-length': buf?.length ?? 0,
      ...headers,
    });
    res.end(buf);
  };

  const readBody = async (req: IncomingMessage): Promise<Buffer> => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  };

  const fileSize = (p: string) => {
    try {
      return statSync(p).size;
    } catch {
      return -1;
    }
  };

  /** Hashes the finished upload, compares with `digest`, and moves it into the store. */
  const finishUpload = async (file: string, digest: string): Promise<void> => {
    if (!DIGEST_RE.test(digest)) throw new ApiError(400, 'DIGEST_INVALID', 'provided digest did not match uploaded content', { digest });
    const h = createHash('sha256');
    for await (const c of createReadStream(file)) h.update(c as Buffer);
    const got = `sha256:${h.digest('hex')}`;
    if (got !== digest) {
      await rm(file, { force: true });
      throw new ApiError(400, 'DIGEST_INVALID', 'provided digest did not match uploaded content', { expected: digest, actual: got });
    }
    await store.writeBlob(createReadStream(file), digest);
    await rm(file, { force: true });
  };

  const uploadLocation = (name: string, uuid: string) => `/v2/${name}/blobs/uploads/${uuid}`;

  const manifestMediaType = (raw: Buffer): string => {
    const j = JSON.parse(raw.toString('utf8')) as { mediaType?: string; manifests?: unknown };
    return j.mediaType ?? (j.manifests ? MediaTypes.ociIndex : MediaTypes.ociManifest);
  };

  async function handleManifest(req: IncomingMessage, res: ServerResponse, name: string, ref: string): Promise<void> {
    const byDigest = DIGEST_RE.test(ref);
    if (!byDigest && !TAG_RE.test(ref)) throw new ApiError(400, 'TAG_INVALID', 'manifest tag did not match URI', { tag: ref });
    if (req.method === 'GET' || req.method === 'HEAD') {
      let digest: string | undefined;
      if (byDigest) digest = ref;
      else digest = tagsOf(name).get(ref);
      if (!digest || !store.hasBlob(digest)) throw new ApiError(404, 'MANIFEST_UNKNOWN', 'manifest unknown', { name, reference: ref });
      const raw = await store.readBlob(digest);
      let mediaType: string;
      try {
        mediaType = manifestMediaType(raw);
      } catch {
        throw new ApiError(404, 'MANIFEST_UNKNOWN', 'manifest unknown', { name, reference: ref });
      }
      const headers = { 'content-type': mediaType, 'docker-content-digest': digest, etag: `"${digest}"` };
      if (req.method === 'HEAD') {
        res.writeHead(200, { 'docker-distribution-api-version': 'registry/2.0', 'content-length': raw.length, ...headers });
        res.end();
      } else send(res, 200, raw, headers);
      return;
    }
    if (req.method === 'PUT') {
      const raw = await readBody(req);
      const digest = sha256Digest(raw);
      if (byDigest && digest !== ref) throw new ApiError(400, 'DIGEST_INVALID', 'provided digest did not match uploaded content', { expected: ref, actual: digest });
      let parsed: ImageManifest & { manifests?: { digest: string; size: number }[]; mediaType?: string };
      try {
        parsed = JSON.parse(raw.toString('utf8'));
      } catch {
        throw new ApiError(400, 'MANIFEST_INVALID', 'manifest invalid: not JSON');
      }
      const ctype = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
      const mediaType = parsed.mediaType ?? ctype;
      if (parsed.mediaType && ctype && ctype !== parsed.mediaType) {
        throw new ApiError(400, 'MANIFEST_INVALID', `manifest invalid: Content-Type ${ctype} does not match mediaType ${parsed.mediaType}`);
      }
      if (parsed.schemaVersion !== 2) throw new ApiError(400, 'MANIFEST_INVALID', 'manifest invalid: schemaVersion must be 2');
      const refs = parsed.manifests ? parsed.manifests : parsed.config ? [parsed.config, ...(parsed.layers ?? [])] : [];
      if (!parsed.manifests && !parsed.config) throw new ApiError(400, 'MANIFEST_INVALID', 'manifest invalid: neither an image manifest nor an index');
      for (const d of refs) {
        const size = store.blobSize(d.digest);
        if (size === undefined) {
          throw new ApiError(400, parsed.manifests ? 'MANIFEST_UNKNOWN' : 'MANIFEST_BLOB_UNKNOWN', parsed.manifests ? 'manifest unknown' : 'blob unknown to registry', { digest: d.digest });
        }
        if (size !== d.size) throw new ApiError(400, 'SIZE_INVALID', `descriptor ${d.digest} says ${d.size} bytes, the blob has ${size}`);
      }
      let stored = false;
      if (!byDigest && parsed.config && !parsed.manifests) {
        try {
          await store.putManifest(`${domain}/${name}:${ref}`, raw);
          stored = true;
        } catch {
          /* not a container image (e.g. an artifact): keep it in the repository record */
        }
      }
      if (!stored) await store.writeBlob(raw);
      const rec = readRecord(name);
      rec.manifests[digest] = mediaType || MediaTypes.ociManifest;
      if (!byDigest) rec.tags[ref] = digest;
      writeRecord(name, rec);
      send(res, 201, undefined, { location: `/v2/${name}/manifests/${digest}`, 'docker-content-digest': digest });
      return;
    }
    if (req.method === 'DELETE') {
      const rec = readRecord(name);
      let digest = byDigest ? ref : tagsOf(name).get(ref);
      if (!digest) throw new ApiError(404, 'MANIFEST_UNKNOWN', 'manifest unknown', { name, reference: ref });
      let found = false;
      for (const [t, d] of Object.entries(rec.tags)) if ((byDigest && d === digest) || t === ref) { delete rec.tags[t]; found = true; }
      if (byDigest && rec.manifests[digest]) { delete rec.manifests[digest]; found = true; }
      writeRecord(name, rec);
      for (const a of aliases) {
        for (const [t, d] of storeRepos().get(name) ?? []) {
          if ((byDigest && d === digest) || t === ref) {
            const r = t.startsWith('@') ? `${a}/${name}${t}` : `${a}/${name}:${t}`;
            if (store.remove(r).length) found = true;
          }
        }
      }
      if (!found) throw new ApiError(404, 'MANIFEST_UNKNOWN', 'manifest unknown', { name, reference: ref });
      send(res, 202);
      digest = undefined;
      return;
    }
    throw new ApiError(405, 'UNSUPPORTED', `${req.method} is not supported on manifests`);
  }

  async function handleBlob(req: IncomingMessage, res: ServerResponse, name: string, digest: string): Promise<void> {
    if (!DIGEST_RE.test(digest)) throw new ApiError(400, 'DIGEST_INVALID', 'invalid digest', { digest });
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      throw new ApiError(405, 'UNSUPPORTED', 'deleting blobs is not supported: delete the manifests, the node prunes unused blobs');
    }
    const size = store.blobSize(digest);
    if (size === undefined) throw new ApiError(404, 'BLOB_UNKNOWN', 'blob unknown to registry', { digest });
    const base = { 'docker-distribution-api-version': 'registry/2.0', 'docker-content-digest': digest, etag: `"${digest}"`, 'accept-ranges': 'bytes', 'content-type': 'application/octet-stream' };
    const range = /^bytes=(\d+)-(\d*)$/.exec(String(req.headers.range ?? ''));
    if (range && req.method === 'GET') {
      const start = Number(range[1]);
      const end = range[2] ? Math.min(Number(range[2]), size - 1) : size - 1;
      if (start > end || start >= size) {
        res.writeHead(416, { ...base, 'content-range': `bytes */${size}` });
        res.end();
        return;
      }
      res.writeHead(206, { ...base, 'content-length': end - start + 1, 'content-range': `bytes ${start}-${end}/${size}` });
      await pipeline(store.openBlob(digest, { start, end }), res);
      return;
    }
    res.writeHead(200, { ...base, 'content-length': size });
    if (req.method === 'HEAD') res.end();
    else await pipeline(store.openBlob(digest), res);
  }

  async function handleUploads(req: IncomingMessage, res: ServerResponse, name: string, uuid: string, url: URL): Promise<void> {
    if (uuid === '') {
      if (req.method !== 'POST') throw new ApiError(405, 'UNSUPPORTED', 'start an upload with POST');
      const mount = url.searchParams.get('mount');
      if (mount && DIGEST_RE.test(mount) && store.hasBlob(mount)) {
        req.resume();
        send(res, 201, undefined, { location: `/v2/${name}/blobs/${mount}`, 'docker-content-digest': mount });
        return;
      }
      const id = randomUUID();
      const file = join(uploads, id);
      await pipeline(req, createWriteStream(file));
      const digest = url.searchParams.get('digest');
      if (digest) {
        // Monolithic upload in a single POST.
        await finishUpload(file, digest);
        send(res, 201, undefined, { location: `/v2/${name}/blobs/${digest}`, 'docker-content-digest': digest });
        return;
      }
      const size = fileSize(file);
      send(res, 202, undefined, { location: uploadLocation(name, id), 'docker-upload-uuid': id, range: `0-${Math.max(0, size - 1)}` });
      return;
    }
    if (!/^[0-9a-f-]{36}$/.test(uuid)) throw new ApiError(404, 'BLOB_UPLOAD_UNKNOWN', 'blob upload unknown to registry', { uuid });
    const file = join(uploads, uuid);
    const size = fileSize(file);
    if (size < 0) throw new ApiError(404, 'BLOB_UPLOAD_UNKNOWN', 'blob upload unknown to registry', { uuid });
    if (req.method === 'GET') {
      send(res, 204, undefined, { location: uploadLocation(name, uuid), 'docker-upload-uuid': uuid, range: `0-${Math.max(0, size - 1)}` });
      return;
    }
    if (req.method === 'DELETE') {
      await rm(file, { force: true });
      send(res, 204);
      return;
    }
    if (req.method === 'PATCH' || req.method === 'PUT') {
      const cr = /^(?:bytes )?(\d+)-(\d+)$/.exec(String(req.headers['content-range'] ?? ''));
      if (cr && Number(cr[1]) !== size) {
        req.resume();
        res.writeHead(416, { 'docker-distribution-api-version': 'registry/2.0', location: uploadLocation(name, uuid), range: `0-${Math.max(0, size - 1)}`, 'content-length': 0 });
        res.end();
        return;
      }
      await pipeline(req, createWriteStream(file, { flags: 'a' }));
      if (req.method === 'PATCH') {
        const now = fileSize(file);
        send(res, 202, undefined, { location: uploadLocation(name, uuid), 'docker-upload-uuid': uuid, range: `0-${Math.max(0, now - 1)}` });
        return;
      }
      const digest = url.searchParams.get('digest');
      if (!digest) throw new ApiError(400, 'DIGEST_INVALID', 'digest parameter missing on the final PUT');
      await finishUpload(file, digest);
      send(res, 201, undefined, { location: `/v2/${name}/blobs/${digest}`, 'docker-content-digest': digest });
      return;
    }
    throw new ApiError(405, 'UNSUPPORTED', `${req.method} is not supported on uploads`);
  }

  const listPage = (items: string[], url: URL): { page: string[]; more: boolean } => {
    const sorted = [...new Set(items)].sort();
    const last = url.searchParams.get('last');
    const start = last ? sorted.filter((x) => x > last) : sorted;
    const n = url.searchParams.has('n') ? Number(url.searchParams.get('n')) : start.length;
    return { page: start.slice(0, n), more: start.length > n };
  };

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://registry');
    try {
      const p = url.pathname;
      if (p === '/v2/' || p === '/v2') {
        req.resume();
        send(res, 200, {});
        return;
      }
      if (p === '/v2/_catalog') {
        req.resume();
        const names = [...storeRepos().keys()];
        for (const f of (await import('node:fs')).readdirSync(repos)) if (f.endsWith('.json')) names.push(f.slice(0, -5).replace(/%2F/g, '/'));
        const { page, more } = listPage(names, url);
        const headers: Record<string, string> = more ? { link: `</v2/_catalog?last=${encodeURIComponent(page[page.length - 1]!)}&n=${page.length}>; rel="next"` } : {};
        send(res, 200, { repositories: page }, headers);
        return;
      }
      const m = /^\/v2\/(.+?)\/(manifests\/([^/]+)|blobs\/uploads\/?([^/]*)|blobs\/([^/]+)|tags\/list)$/.exec(p);
      if (!m) throw new ApiError(404, 'NOT_FOUND', `no such endpoint: ${req.method} ${p}`);
      const name = m[1]!;
      if (!NAME_RE.test(name)) throw new ApiError(400, 'NAME_INVALID', 'invalid repository name', { name });
      if (m[2]!.startsWith('manifests/')) await handleManifest(req, res, name, decodeURIComponent(m[3]!));
      else if (m[2]!.startsWith('blobs/uploads')) await handleUploads(req, res, name, m[4] ?? '', url);
      else if (m[2]!.startsWith('blobs/')) await handleBlob(req, res, name, decodeURIComponent(m[5]!));
      else {
        req.resume();
        if (!repoExists(name)) throw new ApiError(404, 'NAME_UNKNOWN', 'repository name not known to registry', { name });
        const { page, more } = listPage([...tagsOf(name).keys()], url);
        const headers: Record<string, string> = more ? { link: `</v2/${name}/tags/list?last=${encodeURIComponent(page[page.length - 1]!)}&n=${page.length}>; rel="next"` } : {};
        send(res, 200, { name, tags: page }, headers);
      }
    } catch (e) {
      req.resume();
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const err = e instanceof ApiError ? e : new ApiError(500, 'UNKNOWN', (e as Error).message);
      send(res, err.status, { errors: [{ code: err.code, message: err.message, detail: err.detail ?? {} }] });
    }
  });
  server.requestTimeout = 0;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(e.code === 'EADDRINUSE' ? new Error(`cannot start the registry: ${host}:${opts.port ?? 5000} is in use (stop the other registry or pass another port)`) : e));
    server.listen(opts.port ?? 5000, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  if (!domain) domain = `localhost:${port}`;
  aliases = [...new Set([domain, `localhost:${port}`, `127.0.0.1:${port}`, `${host}:${port}`])];
  return {
    port,
    address: `${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
