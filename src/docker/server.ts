/**
 * The Docker Engine API server: a unix socket, API version negotiation (versioned and
 * unversioned paths), the headers every reply carries, dispatch to handler modules'
 * routes, hijacked (Upgrade) connections, and Docker-worded errors.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import net from 'node:net';
import fs from 'node:fs';
import type { Duplex } from 'node:stream';
import { DockerError } from './errors.js';
import { DockerRouter, type DockerCall, type DockerReply, type DockerRoute } from './route.js';

/** The newest API version served; the docker 28 CLI asks for it. */
export const API_VERSION = '1.50';
/** The oldest: docker-py refuses anything below. */
export const MIN_API_VERSION = '1.24';
/** The engine version reported by `docker version`. */
export const ENGINE_VERSION = '28.2.2';

const VERSIONED_PATH = /^\/v(\d+\.\d+)(\/.*)$/;

/** Compares two `major.minor` API versions numerically. */
export function compareApiVersions(a: string, b: string): number {
  const [am, an] = a.split('.').map(Number);
  const [bm, bn] = b.split('.').map(Number);
  return am - bm || an - bn;
}

export interface DockerEngineOptions {
  /** Every handler module's routes; matched in order. `_ping` and `version` are built in. */
  routes: DockerRoute[];
  /** Extra fields for `GET /version` (KernelVersion, …). */
  versionDetails?: () => Record<string, unknown>;
}

/** Serves the Docker Engine API on unix sockets. */
export class DockerEngine {
  private readonly router: DockerRouter;
  private readonly servers: http.Server[] = [];

  constructor(private readonly opts: DockerEngineOptions) {
    this.router = new DockerRouter([...this.builtinRoutes(), ...opts.routes]);
  }

  /**
   * Listens on a unix socket with mode 0660 (root-equivalent, as dockerd's). A stale socket
   * file nobody answers on is replaced; a live one belongs to another daemon and is an error.
   */
  async listen(socketPath: string): Promise<void> {
    if (fs.existsSync(socketPath)) {
      if (await socketAnswers(socketPath)) throw new Error(`${socketPath} is in use by another daemon; stop it or choose another data dir`);
      fs.rmSync(socketPath, { force: true });
    }
    const server = http.createServer((req, res) => void this.serve(req, res));
    // Logs follow, attach and build contexts stream for as long as they need.
    server.requestTimeout = 0;
    server.headersTimeout = 0;
    server.keepAliveTimeout = 0;
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => void this.serveUpgrade(req, socket, head));
    // Requests Node's parser refuses still get Docker's `{"message"}`, not an empty reply.
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
      if (!socket.writable) return socket.destroy();
      const text = JSON.stringify({ message: `bad request: ${err.code ?? err.message}` }) + '\n';
      socket.end(`HTTP/1.1 400 Bad Request\r\nApi-Version: ${API_VERSION}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
    fs.chmodSync(socketPath, 0o660);
    this.servers.push(server);
  }

  /** Stops listening and drops open connections. */
  async close(): Promise<void> {
    await Promise.all(
      this.servers.splice(0).map(
        (server) =>
          new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeAllConnections();
          }),
      ),
    );
  }

  private builtinRoutes(): DockerRoute[] {
    const ping = async (call: DockerCall): Promise<DockerReply> => {
      const headers = { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-cache, no-store, must-revalidate', Pragma: 'no-cache' };
      if (call.req.method === 'HEAD') return { status: 200, headers, body: '' };
      return { status: 200, headers, body: 'OK' };
    };
    return [
      { method: 'GET', path: '/_ping', handle: ping },
      { method: 'GET', path: '/version', handle: async () => ({ status: 200, body: this.version() }) },
    ];
  }

  private version(): Record<string, unknown> {
    const details = { ApiVersion: API_VERSION, MinAPIVersion: MIN_API_VERSION, Os: 'linux', Arch: goArch(), ...this.opts.versionDetails?.() };
    return {
      Platform: { Name: 'skiff' },
      Components: [{ Name: 'Engine', Version: ENGINE_VERSION, Details: details }],
      Version: ENGINE_VERSION,
      ApiVersion: API_VERSION,
      MinAPIVersion: MIN_API_VERSION,
      Os: 'linux',
      Arch: goArch(),
      GoVersion: 'go1.23.0',
      GitCommit: 'skiff',
      BuildTime: '2026-01-01T00:00:00.000000000+00:00',
      ...this.opts.versionDetails?.(),
    };
  }

  private resolve(req: IncomingMessage): { apiVersion: string; path: string; query: URLSearchParams } {
    const url = new URL(req.url ?? '/', 'http://docker');
    let path = url.pathname;
    let apiVersion = API_VERSION;
    const versioned = VERSIONED_PATH.exec(path);
    if (versioned) {
      apiVersion = versioned[1];
      path = versioned[2];
      if (compareApiVersions(apiVersion, MIN_API_VERSION) < 0) {
        throw new DockerError(400, `client version ${apiVersion} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`);
      }
      if (compareApiVersions(apiVersion, API_VERSION) > 0) {
        throw new DockerError(400, `client version ${apiVersion} is too new. Maximum supported API version is ${API_VERSION}`);
      }
    }
    if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
    return { apiVersion, path, query: url.searchParams };
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    setEngineHeaders(res);
    try {
      const { apiVersion, path, query } = this.resolve(req);
      const matched = this.router.match(req.method ?? 'GET', path);
      if (!matched) throw new DockerError(404, 'page not found');
      const call: DockerCall = { req, res, params: matched.params, query, apiVersion, body: () => readAll(req) };
      const reply = await matched.route.handle(call);
      if (reply) writeReply(res, reply);
    } catch (err) {
      writeError(res, err);
    }
  }

  private async serveUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy());
    try {
      const { apiVersion, path, query } = this.resolve(req);
      const matched = this.router.match(req.method ?? 'POST', path);
      if (!matched) throw new DockerError(404, 'page not found');
      const length = Number(req.headers['content-length'] ?? 0);
      const call: DockerCall = { req, socket, head, params: matched.params, query, apiVersion, body: async () => Buffer.alloc(0) };
      call.body = async () => {
        const { body, rest } = await readUpgradeBody(socket, call.head ?? Buffer.alloc(0), length);
        call.head = rest;
        call.body = async () => body;
        return body;
      };
      const reply = await matched.route.handle(call);
      if (reply) writeRawReply(socket, reply.status, reply.body);
    } catch (err) {
      const status = err instanceof DockerError ? err.status : 500;
      writeRawReply(socket, status, { message: err instanceof Error ? err.message : String(err) });
    }
  }
}

/** The headers dockerd sends on every reply; the CLI negotiates from `API-Version`. */
function setEngineHeaders(res: ServerResponse): void {
  res.setHeader('Api-Version', API_VERSION);
  res.setHeader('Docker-Experimental', 'false');
  res.setHeader('Ostype', 'linux');
  res.setHeader('Builder-Version', '1');
  res.setHeader('Server', `Docker/${ENGINE_VERSION} (linux)`);
}

function writeReply(res: ServerResponse, reply: NonNullable<DockerReply>): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const headers = { ...reply.headers };
  let body: string | Buffer | undefined;
  if (reply.body === undefined || reply.status === 204 || reply.status === 304) body = undefined;
  else if (typeof reply.body === 'string' || Buffer.isBuffer(reply.body)) body = reply.body;
  else {
    body = JSON.stringify(reply.body) + '\n';
    headers['Content-Type'] ??= 'application/json';
  }
  res.writeHead(reply.status, headers);
  res.end(body);
}

function writeError(res: ServerResponse, err: unknown): void {
  const status = err instanceof DockerError ? err.status : 500;
  const message = err instanceof Error ? err.message : String(err);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ message }) + '\n');
}

/** An ordinary HTTP reply on a socket that was not (or not yet) hijacked. */
function writeRawReply(socket: Duplex, status: number, body: unknown): void {
  if (socket.destroyed) return;
  const text = body === undefined ? '' : JSON.stringify(body) + '\n';
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}\r\n` +
      `Api-Version: ${API_VERSION}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n` +
      text,
  );
}

/** The request body of an Upgrade request may span `head` and later socket data; the rest is stdin. */
async function readUpgradeBody(socket: Duplex, head: Buffer, length: number): Promise<{ body: Buffer; rest: Buffer }> {
  let buffered = head;
  while (buffered.length < length) {
    const chunk = await new Promise<Buffer | undefined>((resolve) => {
      const onData = (data: Buffer) => done(data);
      const onEnd = () => done(undefined);
      const done = (data: Buffer | undefined) => {
        socket.off('data', onData);
        socket.off('end', onEnd);
        socket.pause();
        resolve(data);
      };
      socket.on('data', onData);
      socket.once('end', onEnd);
      socket.resume();
    });
    if (!chunk) break;
    buffered = Buffer.concat([buffered, chunk]);
  }
  return { body: buffered.subarray(0, length), rest: buffered.subarray(length) };
}

function readAll(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function socketAnswers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.connect(socketPath);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

/** Docker reports Go's architecture names. */
function goArch(): string {
  return ({ x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386' } as Record<string, string>)[process.arch] ?? process.arch;
}
