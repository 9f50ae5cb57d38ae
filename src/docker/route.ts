/**
 * The contract every Docker Engine API handler is written against. The engine server
 * (server.ts) owns the socket, version negotiation and dispatch; handler modules
 * (containers, images, build, networks, volumes, …) each export a list of routes.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

/** One request as a handler sees it. */
export interface DockerCall {
  req: IncomingMessage;
  /** Undefined for hijacked (Upgrade) requests: those write to {@link DockerCall.socket}. */
  res?: ServerResponse;
  /** Set for hijacked requests (attach, exec start): the raw connection, after the head was read. */
  socket?: Duplex;
  /** Bytes of the connection that arrived with the head (part of the body, then stdin). */
  head?: Buffer;
  /** Path parameters by name, decoded. */
  params: Record<string, string>;
  query: URLSearchParams;
  /** The API version the client asked for in the path (`1.50`), or the server's when unversioned. */
  apiVersion: string;
  /** The whole body (JSON bodies, small). Streamed bodies (build context, image load) read `req`. */
  body(): Promise<Buffer>;
}

/**
 * What a handler returns: a JSON reply the server writes, or `undefined` when the handler
 * wrote the response (or the hijacked socket) itself, as streams do.
 */
export type DockerReply = { status: number; body?: unknown; headers?: Record<string, string> } | undefined;

/** A route. `path` segments in braces are parameters; `{name*}` matches one or more segments (image names hold `/`). */
export interface DockerRoute {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  handle(call: DockerCall): Promise<DockerReply>;
}

interface CompiledRoute {
  route: DockerRoute;
  pattern: RegExp;
  names: string[];
}

/** Matches unversioned paths against routes; the first route listed wins. */
export class DockerRouter {
  private readonly compiled: CompiledRoute[];

  constructor(routes: DockerRoute[]) {
    this.compiled = routes.map((route) => {
      const names: string[] = [];
      const source = route.path.replace(/[.+?^$()|[\]\\]/g, '\\$&').replace(/\{(\w+)(\*?)\}/g, (_m, name: string, greedy: string) => {
        names.push(name);
        return greedy ? '(.+)' : '([^/]+)';
      });
      return { route, pattern: new RegExp(`^${source}$`), names };
    });
  }

  /** The route for a method and unversioned path, with its parameters; undefined when none matches. */
  match(method: string, path: string): { route: DockerRoute; params: Record<string, string> } | undefined {
    for (const { route, pattern, names } of this.compiled) {
      if (route.method !== method && !(method === 'HEAD' && route.method === 'GET')) continue;
      const m = pattern.exec(path);
      if (!m) continue;
      const params: Record<string, string> = {};
      names.forEach((name, i) => (params[name] = decodeURIComponent(m[i + 1])));
      return { route, params };
    }
    return undefined;
  }
}

/** Docker's booleans arrive as `1`/`0` (CLI), `true`/`false`, or `True`/`False` (docker-py). */
export function queryFlag(query: URLSearchParams, name: string, fallback = false): boolean {
  const value = query.get(name);
  if (value === null || value === '') return fallback;
  return !/^(0|false|no)$/i.test(value);
}
