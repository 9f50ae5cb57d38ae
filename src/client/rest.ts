/**
 * The Client over the Kubernetes REST API, through a Transport: HTTPS to a remote server,
 * or in-process straight into the API server's handler (same request/response path, no socket).
 */
import https from 'node:https';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import { StatusError, type Status } from '../api/errors.js';
import type { Client, DeleteOptions, ListOptions, ObjectList, PatchType, ResourceRef, WatchEvent, WatchOptions, WriteOptions } from './types.js';

export interface TransportRequest {
  method: string;
  path: string;
  query?: URLSearchParams;
  headers?: Record<string, string>;
  body?: string;
}

export interface TransportResponse {
  status: number;
  body: string;
}

/** Moves requests to an API server. `stream` delivers body chunks until the response ends. */
export interface Transport {
  request(req: TransportRequest): Promise<TransportResponse>;
  stream(req: TransportRequest, onChunk: (chunk: string) => void, onEnd: (err?: Error, status?: number, body?: string) => void): { cancel(): void };
}

const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  json: 'application/json-patch+json',
  apply: 'application/apply-patch+yaml',
};

/** Builds /api/v1/namespaces/ns/pods/name/sub. */
export function resourcePath(r: ResourceRef, namespace: string | undefined, name?: string, subresource?: string): string {
  let p = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
  if (r.namespaced && namespace) p += `/namespaces/${encodeURIComponent(namespace)}`;
  p += `/${r.resource}`;
  if (name) p += `/${encodeURIComponent(name)}`;
  if (subresource) p += `/${subresource}`;
  return p;
}

function toError(status: number, body: string): StatusError {
  try {
    const s = JSON.parse(body) as Status;
    if (s && s.kind === 'Status') return new StatusError(s.code ?? status, s.reason ?? 'Unknown', s.message ?? '', s.details);
  } catch {
    /* not a Status */
  }
  return new StatusError(status, 'Unknown', `the server responded with ${status}: ${body.slice(0, 200)}`);
}

function listQuery(opts: ListOptions | undefined): URLSearchParams {
  const q = new URLSearchParams();
  if (!opts) return q;
  if (opts.labelSelector) q.set('labelSelector', opts.labelSelector);
  if (opts.fieldSelector) q.set('fieldSelector', opts.fieldSelector);
  if (opts.resourceVersion !== undefined) q.set('resourceVersion', opts.resourceVersion);
  if (opts.limit) q.set('limit', String(opts.limit));
  if (opts.continue) q.set('continue', opts.continue);
  return q;
}

function writeQuery(opts: WriteOptions | undefined): URLSearchParams {
  const q = new URLSearchParams();
  if (opts?.dryRun) q.set('dryRun', 'All');
  if (opts?.fieldManager) q.set('fieldManager', opts.fieldManager);
  return q;
}

export class RestClient implements Client {
  constructor(readonly transport: Transport) {}

  private async call<T>(req: TransportRequest): Promise<T> {
    const res = await this.transport.request(req);
    if (res.status < 200 || res.status > 299) throw toError(res.status, res.body);
    return (res.body ? JSON.parse(res.body) : undefined) as T;
  }

  get<T>(r: ResourceRef, namespace: string | undefined, name: string, opts?: { subresource?: string }): Promise<T> {
    return this.call({ method: 'GET', path: resourcePath(r, namespace, name, opts?.subresource) });
  }

  list<T>(r: ResourceRef, namespace: string | undefined, opts?: ListOptions): Promise<ObjectList<T>> {
    return this.call({ method: 'GET', path: resourcePath(r, namespace), query: listQuery(opts) });
  }

  watch<T>(r: ResourceRef, namespace: string | undefined, opts: WatchOptions, onEvent: (e: WatchEvent<T>) => void, onClose: (err?: Error) => void): { cancel(): void } {
    const q = listQuery(opts);
    q.set('watch', 'true');
    if (opts.allowWatchBookmarks) q.set('allowWatchBookmarks', 'true');
    if (opts.timeoutSeconds) q.set('timeoutSeconds', String(opts.timeoutSeconds));
    let buffered = '';
    let closed = false;
    let failure: Error | undefined;
    const finish = (err?: Error) => {
      if (closed) return;
      closed = true;
      onClose(err);
    };
    const handle = this.transport.stream(
      { method: 'GET', path: resourcePath(r, namespace), query: q },
      (chunk) => {
        if (closed) return;
        buffered += chunk;
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          if (!line.trim()) continue;
          let ev: WatchEvent<T>;
          try {
            ev = JSON.parse(line) as WatchEvent<T>;
          } catch (err) {
            failure = new Error(`malformed watch event: ${(err as Error).message}`);
            handle.cancel();
            finish(failure);
            return;
          }
          if (ev.type === 'ERROR') {
            const s = ev.object as unknown as Status;
            failure = new StatusError(s.code ?? 500, s.reason ?? 'Unknown', s.message ?? 'watch error', s.details);
            continue;
          }
          try {
            onEvent(ev);
          } catch (err) {
            console.error('skiff: watch handler failed:', err);
          }
        }
      },
      (err, status, body) => {
        if (status !== undefined && (status < 200 || status > 299)) finish(toError(status, body ?? ''));
        else finish(err ?? failure);
      },
    );
    return {
      cancel: () => {
        handle.cancel();
        finish();
      },
    };
  }

  create<T>(r: ResourceRef, namespace: string | undefined, obj: T, opts?: WriteOptions & { name?: string }): Promise<T> {
    return this.call({
      method: 'POST',
      path: resourcePath(r, namespace, opts?.name, opts?.subresource),
      query: writeQuery(opts),
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(obj),
    });
  }

  update<T>(r: ResourceRef, namespace: string | undefined, obj: T, opts?: WriteOptions): Promise<T> {
    const name = (obj as { metadata?: { name?: string } }).metadata?.name;
    if (!name) return Promise.reject(new StatusError(400, 'BadRequest', 'update needs metadata.name'));
    return this.call({
      method: 'PUT',
      path: resourcePath(r, namespace, name, opts?.subresource),
      query: writeQuery(opts),
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(obj),
    });
  }

  patch<T>(r: ResourceRef, namespace: string | undefined, name: string, type: PatchType, body: unknown, opts?: WriteOptions): Promise<T> {
    return this.call({
      method: 'PATCH',
      path: resourcePath(r, namespace, name, opts?.subresource),
      query: writeQuery(opts),
      headers: { 'content-type': PATCH_CONTENT_TYPES[type] },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  }

  delete<T = unknown>(r: ResourceRef, namespace: string | undefined, name: string, opts?: DeleteOptions): Promise<T> {
    const body: Record<string, unknown> = { kind: 'DeleteOptions', apiVersion: 'v1' };
    if (opts?.propagationPolicy) body.propagationPolicy = opts.propagationPolicy;
    if (opts?.gracePeriodSeconds !== undefined) body.gracePeriodSeconds = opts.gracePeriodSeconds;
    if (opts?.preconditions) body.preconditions = opts.preconditions;
    if (opts?.dryRun) body.dryRun = ['All'];
    return this.call({
      method: 'DELETE',
      path: resourcePath(r, namespace, name),
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  }
}

// ---- HTTPS transport ----------------------------------------------------------------

export interface HttpTransportOptions {
  server: string;
  caPem?: string;
  token?: string;
  /** Client certificate and key (PEM) presented in the TLS handshake. */
  certPem?: string;
  keyPem?: string;
  /** Skip TLS verification (tests only). */
  insecure?: boolean;
}

/** Reads server, CA and token from a kubeconfig (its current context). */
export function loadKubeconfig(path: string): HttpTransportOptions {
  const doc = YAML.parse(readFileSync(path, 'utf8')) as Record<string, any>;
  const ctxName = doc['current-context'];
  const ctx = (doc.contexts ?? []).find((c: any) => c.name === ctxName)?.context;
  if (!ctx) throw new Error(`${path}: no current context`);
  const cluster = (doc.clusters ?? []).find((c: any) => c.name === ctx.cluster)?.cluster;
  const user = (doc.users ?? []).find((u: any) => u.name === ctx.user)?.user ?? {};
  if (!cluster?.server) throw new Error(`${path}: context ${ctxName} has no cluster server`);
  return {
    server: cluster.server,
    caPem: cluster['certificate-authority-data'] ? Buffer.from(cluster['certificate-authority-data'], 'base64').toString() : cluster['certificate-authority'] ? readFileSync(cluster['certificate-authority'], 'utf8') : undefined,
    token: user.token ?? (user.tokenFile ? readFileSync(user.tokenFile, 'utf8').trim() : undefined),
    certPem: pemField(user, 'client-certificate'),
    keyPem: pemField(user, 'client-key'),
    insecure: !!cluster['insecure-skip-tls-verify'],
  };
}

/** A kubeconfig's `<name>-data` (base64) or `<name>` (a file path) entry. */
function pemField(entry: Record<string, any>, name: string): string | undefined {
  if (entry[`${name}-data`]) return Buffer.from(entry[`${name}-data`], 'base64').toString();
  return entry[name] ? readFileSync(entry[name], 'utf8') : undefined;
}

export class HttpTransport implements Transport {
  private agent: http.Agent;
  private readonly base: URL;

  constructor(private readonly opts: HttpTransportOptions) {
    this.base = new URL(opts.server);
    this.agent = this.newAgent();
  }

  private newAgent(): http.Agent {
    const o = this.opts;
    return this.base.protocol === 'https:'
      ? new https.Agent({ keepAlive: true, maxSockets: 64, ca: o.caPem, cert: o.certPem, key: o.keyPem, rejectUnauthorized: !o.insecure })
      : new http.Agent({ keepAlive: true, maxSockets: 64 });
  }

  /** Presents a renewed client certificate from the next connection on (open watches keep theirs). */
  setClientCert(certPem: string, keyPem: string): void {
    this.opts.certPem = certPem;
    this.opts.keyPem = keyPem;
    const old = this.agent;
    this.agent = this.newAgent();
    // Idle sockets still carry the old certificate; busy ones (watches) end on their own.
    for (const list of Object.values(old.freeSockets)) for (const s of list ?? []) s.destroy();
  }

  private send(req: TransportRequest): http.ClientRequest {
    const q = req.query?.toString();
    const headers: Record<string, string> = { accept: 'application/json', ...(req.headers ?? {}) };
    if (this.opts.token) headers.authorization = `Bearer ${this.opts.token}`;
    if (req.body !== undefined) headers['content-length'] = String(Buffer.byteLength(req.body));
    const mod = this.base.protocol === 'https:' ? https : http;
    return mod.request({
      protocol: this.base.protocol,
      hostname: this.base.hostname.replace(/^\[|\]$/g, ''),
      port: this.base.port,
      path: req.path + (q ? `?${q}` : ''),
      method: req.method,
      headers,
      agent: this.agent,
    });
  }

  request(req: TransportRequest): Promise<TransportResponse> {
    return new Promise((resolve, reject) => {
      const r = this.send(req);
      r.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      r.on('error', reject);
      r.end(req.body);
    });
  }

  stream(req: TransportRequest, onChunk: (chunk: string) => void, onEnd: (err?: Error, status?: number, body?: string) => void): { cancel(): void } {
    let done = false;
    const end = (err?: Error, status?: number, body?: string) => {
      if (done) return;
      done = true;
      onEnd(err, status, body);
    };
    const r = this.send(req);
    r.on('response', (res) => {
      const status = res.statusCode ?? 0;
      if (status < 200 || status > 299) {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => end(undefined, status, Buffer.concat(chunks).toString('utf8')));
        return;
      }
      res.setEncoding('utf8');
      res.on('data', (c: string) => !done && onChunk(c));
      res.on('end', () => end());
      res.on('error', (e) => end(e));
      res.on('close', () => end());
    });
    r.on('error', (e) => end(e));
    r.end(req.body);
    return {
      cancel: () => {
        done = true;
        r.destroy();
      },
    };
  }

  close(): void {
    this.agent.destroy();
  }
}

/** A client for a kubeconfig file. */
export function clientFromKubeconfig(path: string): RestClient {
  return new RestClient(new HttpTransport(loadKubeconfig(path)));
}
