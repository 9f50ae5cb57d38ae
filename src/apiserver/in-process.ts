/**
 * The in-process transport: components of `skiff up` / `skiff server` call the API server's
 * handler directly, through the same request/response path as HTTPS, without a socket.
 */
import type { Transport, TransportRequest, TransportResponse } from '../client/rest.js';
import type { ApiHandler } from './handler.js';
import type { UserInfo } from './objects.js';
import type { ApiRequest } from './request.js';

export class InProcessTransport implements Transport {
  constructor(
    private readonly handler: ApiHandler,
    private readonly user: UserInfo,
  ) {}

  private toApiRequest(req: TransportRequest): ApiRequest {
    const headers: Record<string, string | undefined> = { accept: 'application/json' };
    for (const [k, v] of Object.entries(req.headers ?? {})) headers[k.toLowerCase()] = v;
    return {
      method: req.method,
      path: req.path,
      query: req.query ?? new URLSearchParams(),
      headers,
      body: req.body !== undefined ? Buffer.from(req.body) : undefined,
      user: this.user,
    };
  }

  async request(req: TransportRequest): Promise<TransportResponse> {
    const res = await this.handler.handle(this.toApiRequest(req));
    if (res.stream) throw new Error(`in-process request ${req.method} ${req.path} answered with a stream; use stream()`);
    const body = res.body === undefined ? '' : typeof res.body === 'string' ? res.body : res.body.toString('utf8');
    return { status: res.status, body };
  }

  stream(req: TransportRequest, onChunk: (chunk: string) => void, onEnd: (err?: Error, status?: number, body?: string) => void): { cancel(): void } {
    let done = false;
    const closers: (() => void)[] = [];
    const end = (err?: Error, status?: number, body?: string) => {
      if (done) return;
      done = true;
      for (const c of closers) c();
      onEnd(err, status, body);
    };
    this.handler.handle(this.toApiRequest(req)).then(
      (res) => {
        if (done) return;
        if (!res.stream) {
          const body = res.body === undefined ? '' : res.body.toString();
          if (res.status < 200 || res.status > 299) return end(undefined, res.status, body);
          if (body) onChunk(body);
          return end();
        }
        res.stream({
          // Deliver asynchronously, like a socket would, so a writer never re-enters its reader.
          write: (chunk) => {
            if (!done) queueMicrotask(() => !done && onChunk(chunk.toString()));
          },
          end: () => queueMicrotask(() => end()),
          onClose: (cb) => closers.push(cb),
        });
      },
      (err) => end(err),
    );
    return { cancel: () => end() };
  }
}
