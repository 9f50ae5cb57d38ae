/** The HTTPS (or plain HTTP, for tests) adapter from node's http server to ApiHandler. */
import http from 'node:http';
import https from 'node:https';
import type { ApiHandler } from './handler.js';
import { errorResponse, MAX_BODY_BYTES } from './codec.js';
import { requestEntityTooLarge } from '../api/errors.js';
import type { ApiRequest, ApiResponse } from './request.js';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';

export interface ListenOptions {
  host: string;
  port: number;
  /** `clientCa`: asks clients for a certificate and verifies it against this CA (X.509 authentication). */
  tls?: { cert: string; key: string; clientCa?: string };
}

/** The verified client certificate of a TLS connection, read once per connection. */
const peerCerts = new WeakMap<object, ApiRequest['clientCertificate'] | null>();
function clientCertificate(req: http.IncomingMessage): ApiRequest['clientCertificate'] {
  const sock = req.socket as TLSSocket;
  if (!sock.encrypted || !sock.authorized) return undefined;
  let known = peerCerts.get(sock);
  if (known === undefined) {
    const cert = sock.getPeerX509Certificate();
    known = cert ? { subject: cert.subject, extKeyUsage: cert.keyUsage ?? [] } : null;
    peerCerts.set(sock, known);
  }
  return known ?? undefined;
}

/** Bytes queued for one streaming client beyond which it is considered gone. */
export const SLOW_WATCHER_BUFFER_BYTES = 64 * 1024 * 1024;

function send(res: http.ServerResponse, r: ApiResponse): void {
  if (r.stream) {
    res.writeHead(r.status, { ...(r.headers ?? {}), 'cache-control': 'no-cache, private' });
    // Send the headers now: a watch with no events yet must still answer, or clients block on it.
    res.flushHeaders();
    let ended = false;
    const closers: (() => void)[] = [];
    const fire = () => {
      if (ended) return;
      ended = true;
      for (const c of closers) c();
    };
    res.on('close', fire);
    // Events written in the same turn of the event loop leave as one write (one TLS record,
    // one syscall): with many watchers and bursts of changes, per-event writes dominate.
    let pending: (string | Buffer)[] = [];
    const flush = () => {
      const chunks = pending;
      pending = [];
      if (res.writableEnded || !chunks.length) return;
      // A watcher that stopped reading must not hold the server's memory or slow the others:
      // as upstream's cacher, end its stream; the client re-watches from its last version.
      if (res.writableLength > SLOW_WATCHER_BUFFER_BYTES) {
        res.end();
        fire();
        return;
      }
      res.write(chunks.length === 1 ? chunks[0] : chunks.every((c) => typeof c === 'string') ? chunks.join('') : Buffer.concat(chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : c))));
    };
    r.stream({
      write: (chunk) => {
        if (res.writableEnded) return;
        if (pending.push(chunk) === 1) setImmediate(flush);
      },
      end: () => {
        flush();
        if (!res.writableEnded) res.end();
        fire();
      },
      onClose: (cb) => closers.push(cb),
    });
    return;
  }
  const body = r.body ?? '';
  res.writeHead(r.status, { ...(r.headers ?? {}), 'content-length': Buffer.byteLength(body), 'cache-control': 'no-cache, private' });
  res.end(body);
}

/** Path and query of a request as sent: no `..` resolution, so `a/../secrets` never becomes `secrets`. */
function splitUrl(raw: string | undefined): { pathname: string; searchParams: URLSearchParams } {
  const u = raw ?? '/';
  const q = u.indexOf('?');
  return { pathname: q < 0 ? u : u.slice(0, q), searchParams: new URLSearchParams(q < 0 ? '' : u.slice(q + 1)) };
}

async function onRequest(handler: ApiHandler, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = splitUrl(req.url);
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES;
  if (!tooLarge) {
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > MAX_BODY_BYTES) {
        tooLarge = true;
        break;
      }
      chunks.push(chunk as Buffer);
    }
  }
  if (tooLarge) {
    res.setHeader('connection', 'close');
    send(res, errorResponse(requestEntityTooLarge(MAX_BODY_BYTES)));
    req.resume();
    return;
  }
  const headers = headersOf(req);
  const apiReq: ApiRequest = {
    method: req.method ?? 'GET',
    path: url.pathname,
    query: url.searchParams,
    headers,
    body: chunks.length ? Buffer.concat(chunks) : undefined,
    clientCertificate: clientCertificate(req),
    remoteAddress: req.socket.remoteAddress,
  };
  send(res, await handler.handle(apiReq));
}

function headersOf(req: http.IncomingMessage): Record<string, string | undefined> {
  const headers: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(',') : v;
  return headers;
}

/** exec/attach/portforward: authenticate, find the pod's agent, then pipe the raw connection to it. */
async function onUpgrade(handler: ApiHandler, req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
  socket.on('error', () => socket.destroy());
  const url = splitUrl(req.url);
  const apiReq: ApiRequest = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, headers: headersOf(req), clientCertificate: clientCertificate(req) };
  const r = await handler.prepareUpgrade(apiReq);
  if ('response' in r) {
    const body = String(r.response.body ?? '');
    const reason = http.STATUS_CODES[r.response.status] ?? 'Error';
    socket.end(`HTTP/1.1 ${r.response.status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
    return;
  }
  handler.nodeProxyOrThrow().pipeUpgrade(r.target, req.method ?? 'GET', req.headers, socket, head);
}

/** Starts listening; resolves with the server once bound. */
export function listen(handler: ApiHandler, opts: ListenOptions): Promise<http.Server> {
  const cb = (req: http.IncomingMessage, res: http.ServerResponse) => {
    onRequest(handler, req, res).catch((err) => {
      if (!res.headersSent) send(res, errorResponse(err));
      else res.destroy();
    });
  };
  // A client without a certificate (or with a foreign one) still connects and may use a token:
  // the handshake only records whether the certificate chained to the CA.
  const clientAuth = opts.tls?.clientCa ? { requestCert: true, rejectUnauthorized: false, ca: opts.tls.clientCa } : {};
  const server: http.Server = opts.tls ? https.createServer({ cert: opts.tls.cert, key: opts.tls.key, ...clientAuth }, cb) : http.createServer(cb);
  // Requests node's parser refuses (oversized headers, bad bytes) still get a Status, not an empty reply.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (!socket.writable) return socket.destroy();
    const code = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    const status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `bad request: ${err.code ?? err.message}`, reason: 'BadRequest', code };
    const body = JSON.stringify(status);
    socket.end(`HTTP/1.1 ${code} ${http.STATUS_CODES[code]}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
  });
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    void onUpgrade(handler, req, socket, head);
  });
  // Slow or stuck request bodies must not hold sockets forever; watches are responses, not requests.
  server.requestTimeout = 60_000;
  server.headersTimeout = 20_000;
  server.keepAliveTimeout = 65_000;
  server.maxHeadersCount = 200;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
