/**
 * The agent's HTTPS server (the kubelet's :10250): the API server proxies `pods/log`,
 * `pods/exec`, `pods/attach` and `pods/portforward` here, and reads `/stats/summary`.
 * Every request must come with a TLS client certificate signed by the cluster CA for the API
 * server (`kube-apiserver-kubelet-client`) or a `system:masters` member, as the kubelet's
 * x509 client-CA authentication; the agent serves with a certificate the cluster CA issued for
 * this node's name and addresses, so the API server can verify whom it talks to.
 *
 *   GET  /containerLogs/{ns}/{pod}/{container}?follow&tailLines&sinceSeconds&sinceTime&timestamps&previous&limitBytes
 *   GET  /exec/{ns}/{pod}?command=…&container=&stdin&stdout&stderr&tty     (WebSocket, v5/v4/channel.k8s.io)
 *   GET  /attach/{ns}/{pod}?container=&stdin&stdout&stderr&tty             (WebSocket)
 *   POST /portForward/{ns}/{pod}   Upgrade: SPDY/3.1 (kubectl)  — or a WebSocket `portforward.k8s.io` (client-node)
 *   GET  /stats/summary, /healthz
 */
import { createConnection } from 'node:net';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { closeSync, openSync, readSync, writeSync, constants, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { WebSocketServer, type WebSocket } from 'ws';
import { badRequest, StatusError, unauthorized } from '../api/errors.js';
import { subjectIdentity, type CertKeyPem } from '../client/cert.js';
import type { Runtime } from '../runtime/types.js';
import { formatLine, parseCriLine, streamLog } from './logs.js';

const require = createRequire(import.meta.url);

/** A container the streams address. */
export interface StreamTarget {
  id: string;
  name: string;
  logPath: string;
  running(): Promise<boolean>;
  /** The container's stdin FIFO (attach), when it was created with stdin. */
  stdinPath?: string;
}

/** What the server needs from the agent. */
export interface StreamBackend {
  runtime: Runtime;
  /** Finds a container of a pod (default container when `container` is empty); throws a StatusError. */
  container(namespace: string, pod: string, container: string | undefined, previous: boolean): Promise<StreamTarget>;
  /** The pod's IP for port-forwarding; throws a StatusError. */
  podIP(namespace: string, pod: string): Promise<string>;
  statsSummary(): Promise<unknown>;
  log(msg: string): void;
}

/** Any failure as a Kubernetes Status error from the catalogue (what the API server relays to the client). */
function asStatusError(e: unknown): StatusError {
  return e instanceof StatusError ? e : new StatusError(500, 'InternalError', (e as Error)?.message ?? String(e));
}

/** The agent's TLS material. */
export interface AgentTls {
  /** The cluster CA: verifies the API server's client certificate. */
  clientCaPem: string;
  /** Serving certificate and key, issued by the cluster CA for the node's name and addresses. */
  serving: CertKeyPem;
}

/** Who may use the agent's API: the API server's kubelet-client identity or a cluster admin. */
export const AGENT_CLIENT_USER = 'kube-apiserver-kubelet-client';

/** Whether a verified client certificate subject may call the agent. */
export function agentClientAllowed(subject: string): boolean {
  const { user, groups } = subjectIdentity(subject);
  return user === AGENT_CLIENT_USER || groups.includes('system:masters');
}

export interface AgentServerOptions {
  host: string;
  /** 0 = pick a free port. */
  port: number;
  tls: AgentTls;
  backend: StreamBackend;
}

const EXEC_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io', 'channel.k8s.io'];

function statusJson(ok: boolean, exitCode?: number, message?: string): string {
  if (ok) return JSON.stringify({ metadata: {}, status: 'Success' });
  if (exitCode !== undefined) {
    return JSON.stringify({
      metadata: {}, status: 'Failure', message: `command terminated with non-zero exit code: error executing command [${message ?? ''}], exit code ${exitCode}`,
      reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: String(exitCode) }] },
    });
  }
  return JSON.stringify({ metadata: {}, status: 'Failure', message: message ?? 'error', reason: 'InternalError', code: 500 });
}

/** The HTTPS endpoint of one agent. */
export class AgentServer {
  private wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, handleProtocols: (protocols) => this.pickProtocol(protocols) });
  private sockets = new Set<Duplex>();

  private constructor(private readonly server: https.Server, readonly host: string, readonly port: number, private readonly o: AgentServerOptions) {}

  /** `https://host:port`. */
  get url(): string {
    return `https://${this.host.includes(':') ? `[${this.host}]` : this.host}:${this.port}`;
  }

  static async start(o: AgentServerOptions): Promise<AgentServer> {
    // Clients without a valid certificate complete the handshake and get a 401 that says why.
    const server = https.createServer({ cert: o.tls.serving.certPem, key: o.tls.serving.keyPem, ca: o.tls.clientCaPem, requestCert: true, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.port, o.host, () => resolve());
    });
    const addr = server.address();
    const port = typeof addr === 'object' && addr ? addr.port : o.port;
    const s = new AgentServer(server, o.host, port, o);
    server.on('request', (req, res) => void s.onRequest(req, res));
    server.on('upgrade', (req, socket, head) => void s.onUpgrade(req, socket, head));
    server.on('connection', (sock) => {
      s.sockets.add(sock);
      sock.on('close', () => s.sockets.delete(sock));
    });
    return s;
  }

  async stop(): Promise<void> {
    for (const c of this.wss.clients) c.terminate();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private pickProtocol(offered: Set<string>): string | false {
    for (const p of [...EXEC_PROTOCOLS, 'portforward.k8s.io']) if (offered.has(p)) return p;
    return false;
  }

  /** Serves a renewed certificate from the next handshake on. */
  setServingCert(serving: CertKeyPem): void {
    this.server.setSecureContext({ cert: serving.certPem, key: serving.keyPem, ca: this.o.tls.clientCaPem });
  }

  private authorized(req: IncomingMessage): boolean {
    const sock = req.socket as TLSSocket;
    if (!sock.authorized) return false;
    const cert = sock.getPeerX509Certificate();
    return !!cert && agentClientAllowed(cert.subject);
  }

  private fail(res: ServerResponse, e: unknown): void {
    const err = asStatusError(e);
    if (res.headersSent) {
      res.end();
      return;
    }
    res.writeHead(err.code, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(err.toStatus()));
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      if (!this.authorized(req)) throw unauthorized('Unauthorized: present a client certificate the cluster CA issued to the API server');
      const url = new URL(req.url ?? '/', 'https://agent');
      const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
      if (req.method === 'GET' && parts[0] === 'healthz') {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.end('ok');
        return;
      }
      if (req.method === 'GET' && parts[0] === 'stats' && parts[1] === 'summary') {
        const body = JSON.stringify(await this.o.backend.statsSummary());
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(body);
        return;
      }
      if (req.method === 'GET' && parts[0] === 'containerLogs' && parts.length >= 3) {
        await this.logs(req, res, parts[1]!, parts[2]!, parts[3] ?? url.searchParams.get('container') ?? undefined, url.searchParams);
        return;
      }
      if (['exec', 'attach', 'portForward'].includes(parts[0] ?? '')) {
        throw badRequest(`${parts[0]} needs a connection upgrade (WebSocket, or SPDY/3.1 for portForward)`);
      }
      throw new StatusError(404, 'NotFound', `the agent serves no ${req.method} ${url.pathname}`);
    } catch (e) {
      this.fail(res, e);
    }
  }

  private async logs(req: IncomingMessage, res: ServerResponse, ns: string, pod: string, container: string | undefined, q: URLSearchParams): Promise<void> {
    const bool = (k: string) => q.get(k) === 'true' || q.get(k) === '1';
    const target = await this.o.backend.container(ns, pod, container || undefined, bool('previous'));
    const num = (k: string) => (q.get(k) !== null && q.get(k) !== '' ? Number(q.get(k)) : undefined);
    let sinceMs: number | undefined;
    if (num('sinceSeconds') !== undefined) sinceMs = Date.now() - num('sinceSeconds')! * 1000;
    if (q.get('sinceTime')) sinceMs = Date.parse(q.get('sinceTime')!);
    const follow = bool('follow') && !bool('previous');
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache' });
    const signal = { aborted: false };
    req.on('close', () => (signal.aborted = true));
    res.on('close', () => (signal.aborted = true));
    await streamLog(
      target.logPath,
      { follow, tailLines: num('tailLines'), sinceMs, timestamps: bool('timestamps'), limitBytes: num('limitBytes') },
      (chunk) => res.write(chunk),
      () => target.running(),
      signal,
    );
    res.end();
  }

  private async onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => {});
    const reject = (code: number, msg: string) => {
      socket.end(`HTTP/1.1 ${code} ${code === 401 ? 'Unauthorized' : code === 404 ? 'Not Found' : 'Bad Request'}\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(msg)}\r\nConnection: close\r\n\r\n${msg}`);
    };
    try {
      if (!this.authorized(req)) return reject(401, 'Unauthorized');
      const url = new URL(req.url ?? '/', 'https://agent');
      const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
      const [kind, ns, pod] = parts;
      if (!ns || !pod) return reject(404, 'expected /exec|attach|portForward/{namespace}/{pod}');
      const upgrade = String(req.headers.upgrade ?? '').toLowerCase();
      if (kind === 'portForward') {
        if (upgrade.startsWith('spdy/3.1')) return await this.spdyPortForward(req, socket, ns, pod);
        const offered = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((s) => s.trim());
        // kubectl first tries SPDY tunnelled in a WebSocket; a 400 makes it fall back to plain SPDY.
        if (!offered.includes('portforward.k8s.io') && !offered.includes('v4.channel.k8s.io')) return reject(400, 'use SPDY/3.1 (X-Stream-Protocol-Version: portforward.k8s.io) or WebSocket portforward.k8s.io');
        const ip = await this.o.backend.podIP(ns, pod);
        const ports = url.searchParams.getAll('ports').flatMap((p) => p.split(',')).map(Number).filter((n) => n > 0 && n < 65536);
        if (!ports.length) return reject(400, 'at least one port is required (?ports=N)');
        this.wss.handleUpgrade(req, socket, head, (ws) => this.wsPortForward(ws, ip, ports));
        return;
      }
      if (kind !== 'exec' && kind !== 'attach') return reject(404, `no ${url.pathname}`);
      if (upgrade !== 'websocket') return reject(400, 'exec/attach need a WebSocket upgrade (Sec-WebSocket-Protocol v5.channel.k8s.io or v4.channel.k8s.io)');
      const q = url.searchParams;
      const target = await this.o.backend.container(ns, pod, q.get('container') || undefined, false);
      if (!(await target.running())) return reject(400, `container ${target.name} is not running; cannot ${kind} into it`);
      const bool = (k: string) => q.get(k) === 'true' || q.get(k) === '1';
      const opts = { stdin: bool('stdin'), stdout: q.get('stdout') === null ? true : bool('stdout'), stderr: q.get('stderr') === null ? true : bool('stderr'), tty: bool('tty') };
      const command = q.getAll('command');
      if (kind === 'exec' && !command.length) return reject(400, 'you must specify at least one command for the container');
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        if (kind === 'exec') void this.exec(ws, target, command, opts);
        else void this.attach(ws, target, opts);
      });
    } catch (e) {
      const err = asStatusError(e);
      reject(err.code, err.message);
    }
  }

  private async exec(ws: WebSocket, target: StreamTarget, command: string[], opts: { stdin: boolean; stdout: boolean; stderr: boolean; tty: boolean }): Promise<void> {
    const proto = ws.protocol;
    const send = (ch: number, data: Buffer | string) => {
      if (ws.readyState === ws.OPEN) ws.send(Buffer.concat([Buffer.from([ch]), Buffer.from(data)]));
    };
    let session;
    try {
      session = await this.o.backend.runtime.exec(target.id, { cmd: command, tty: opts.tty, stdin: opts.stdin });
    } catch (e) {
      send(3, statusJson(false, undefined, (e as Error).message));
      ws.close(1000);
      return;
    }
    const s = session;
    ws.on('message', (raw: Buffer, _isBinary: boolean) => {
      const buf = Buffer.isBuffer(raw) ? raw : Buffer.from(raw as ArrayBuffer);
      if (!buf.length) return;
      const ch = buf[0];
      if (ch === 0) s.stdin?.write(buf.subarray(1));
      else if (ch === 255 && buf[1] === 0) s.stdin?.end();
    });
    ws.on('close', () => {
      s.kill('SIGKILL');
    });
    const pipes: Promise<void>[] = [];
    const pump = (src: NodeJS.ReadableStream | null, ch: number, enabled: boolean) => {
      if (!src) return;
      pipes.push(new Promise((resolve) => {
        src.on('data', (d: Buffer) => enabled && send(ch, d));
        src.on('end', () => resolve());
        src.on('close', () => resolve());
        src.on('error', () => resolve());
      }));
    };
    pump(s.stdout, 1, opts.stdout);
    pump(s.stderr, 2, opts.stderr);
    const code = await s.exitCode;
    await Promise.race([Promise.all(pipes), new Promise((r) => setTimeout(r, 2000))]);
    if (proto === 'channel.k8s.io') {
      if (code !== 0) send(3, `command terminated with non-zero exit code: exit status ${code}`);
    } else send(3, statusJson(code === 0, code, command.join(' ')));
    ws.close(1000);
  }

  private async attach(ws: WebSocket, target: StreamTarget, opts: { stdin: boolean; stdout: boolean; stderr: boolean; tty: boolean }): Promise<void> {
    const send = (ch: number, data: Buffer | string) => {
      if (ws.readyState === ws.OPEN) ws.send(Buffer.concat([Buffer.from([ch]), Buffer.from(data)]));
    };
    let fifo: number | undefined;
    if (opts.stdin && target.stdinPath) {
      try {
        fifo = openSync(target.stdinPath, constants.O_WRONLY | constants.O_NONBLOCK);
      } catch {
        fifo = undefined;
      }
    }
    ws.on('message', (raw: Buffer) => {
      const buf = Buffer.isBuffer(raw) ? raw : Buffer.from(raw as ArrayBuffer);
      if (buf[0] === 0 && fifo !== undefined) {
        try {
          writeSync(fifo, buf.subarray(1));
        } catch {
          /* container gone */
        }
      }
    });
    const signal = { aborted: false };
    ws.on('close', () => {
      signal.aborted = true;
      if (fifo !== undefined) closeSync(fifo);
      fifo = undefined;
    });
    // Output: the container's log from now on (the shim owns the real pipes).
    let size = 0;
    try {
      size = statSync(target.logPath).size;
    } catch {
      size = 0;
    }
    await streamLogFrom(target.logPath, size, (stream, data) => {
      if (stream === 'stdout' && opts.stdout) send(1, data);
      else if (stream === 'stderr' && opts.stderr) send(opts.tty ? 1 : 2, data);
    }, () => target.running(), signal);
    send(3, statusJson(true));
    ws.close(1000);
  }

  private wsPortForward(ws: WebSocket, ip: string, ports: number[]): void {
    const sockets: (ReturnType<typeof createConnection> | undefined)[] = [];
    const send = (ch: number, data: Buffer) => {
      if (ws.readyState === ws.OPEN) ws.send(Buffer.concat([Buffer.from([ch]), data]));
    };
    ports.forEach((port, i) => {
      const le = Buffer.alloc(2);
      le.writeUInt16LE(port);
      send(2 * i, le);
      send(2 * i + 1, le);
      const sock = createConnection({ host: ip, port });
      sockets[i] = sock;
      sock.on('data', (d: Buffer) => send(2 * i, d));
      sock.on('error', (e) => send(2 * i + 1, Buffer.from(`error forwarding port ${port} to pod: ${e.message}`)));
      sock.on('close', () => {
        if (sockets.every((s) => !s || s.destroyed)) ws.close(1000);
      });
    });
    ws.on('message', (raw: Buffer) => {
      const buf = Buffer.isBuffer(raw) ? raw : Buffer.from(raw as ArrayBuffer);
      const ch = buf[0]!;
      if (ch % 2 !== 0) return;
      const sock = sockets[ch / 2];
      sock?.write(buf.subarray(1));
    });
    ws.on('close', () => sockets.forEach((s) => s?.destroy()));
  }

  /** kubectl port-forward: SPDY/3.1 with a data and an error stream per forwarded connection. */
  private async spdyPortForward(req: IncomingMessage, socket: Duplex, ns: string, pod: string): Promise<void> {
    const ip = await this.o.backend.podIP(ns, pod);
    socket.write(
      'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: portforward.k8s.io\r\n\r\n',
    );
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const transport = require('spdy-transport') as { connection: { create(sock: Duplex, o: object): SpdyConnection } };
    const conn = transport.connection.create(socket, { protocol: 'spdy', isServer: true, autoSpdy31: true });
    // kubectl's streams carry only its own headers; spdy-transport insists on :method/:path.
    const state = (conn as unknown as { _spdyState: { parser: { parseKVs: (b: unknown, cb: (e: Error | null, h?: Record<string, string>) => void) => void } } })._spdyState;
    const orig = state.parser.parseKVs.bind(state.parser);
    state.parser.parseKVs = (body, cb) => orig(body, (err, headers) => {
      if (headers) {
        headers[':method'] ??= 'POST';
        headers[':path'] ??= '/';
      }
      cb(err, headers);
    });
    conn.start(3.1);
    const pairs = new Map<string, { error?: SpdyStream; data?: SpdyStream }>();
    conn.on('stream', (stream: SpdyStream) => {
      const h = stream.headers;
      stream.respond(200, {});
      const id = String(h.requestid ?? '');
      const port = Number(h.port);
      const pair = pairs.get(id) ?? {};
      pairs.set(id, pair);
      if (h.streamtype === 'error') {
        pair.error = stream;
        stream.on('data', () => {});
        stream.on('error', () => {});
        return;
      }
      pair.data = stream;
      stream.on('error', () => {});
      const sock = createConnection({ host: ip, port });
      sock.on('error', (e) => {
        const msg = `error forwarding port ${port} to pod ${pod}: ${e.message}`;
        try {
          pair.error?.end(msg);
        } catch {
          /* stream gone */
        }
        stream.end();
      });
      stream.pipe(sock);
      sock.pipe(stream);
      const done = () => {
        sock.destroy();
        pairs.delete(id);
        try {
          pair.error?.end();
        } catch {
          /* gone */
        }
      };
      stream.on('close', done);
      sock.on('close', () => {
        try {
          stream.end();
        } catch {
          /* gone */
        }
      });
    });
    conn.on('error', () => socket.destroy());
    socket.on('close', () => {
      for (const p of pairs.values()) {
        p.data?.destroy();
        p.error?.destroy();
      }
    });
  }
}

interface SpdyStream extends Duplex {
  headers: Record<string, string>;
  respond(status: number, headers: Record<string, string>): void;
}
interface SpdyConnection {
  start(version: number): void;
  on(ev: 'stream', fn: (s: SpdyStream) => void): void;
  on(ev: 'error', fn: (e: Error) => void): void;
}

/** Follows a CRI log from a byte offset, calling `out(stream, text)` per line (attach). */
async function streamLogFrom(path: string, offset: number, out: (stream: string, data: Buffer) => void, running: () => Promise<boolean>, signal: { aborted: boolean }): Promise<void> {
  let pending = Buffer.alloc(0);
  for (;;) {
    if (signal.aborted) return;
    let size = 0;
    try {
      size = statSync(path).size;
    } catch {
      size = 0;
    }
    if (size > offset) {
      const fd = openSync(path, 'r');
      const buf = Buffer.alloc(size - offset);
      readSync(fd, buf, 0, buf.length, offset);
      closeSync(fd);
      offset = size;
      pending = Buffer.concat([pending, buf]);
      let nl: number;
      while ((nl = pending.indexOf(10)) >= 0) {
        const l = parseCriLine(pending.subarray(0, nl));
        pending = pending.subarray(nl + 1);
        if (l) out(l.stream, formatLine(l, false));
      }
      continue;
    }
    if (!(await running())) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}
