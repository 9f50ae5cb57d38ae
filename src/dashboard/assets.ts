/**
 * The dashboard's server side: the static asset table the API server serves at `/ui/`.
 *
 * The browser bundle is built by `npm run build` (scripts/build-ui.mjs) into `dist/ui/`: an
 * index.html and content-hashed JS and CSS. This module loads that directory once, and answers
 * GET/HEAD under `/ui/` with the right content type and an ETag (a strong hash of the bytes), so
 * a browser revalidates with If-None-Match and gets 304 rather than the bundle again. Assets are
 * public (no token needed to load the page); every call the page then makes goes to the
 * same-origin API with the user's bearer token, so RBAC decides what they see.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The request fields the asset handler reads (an ApiRequest satisfies it). */
export interface StaticRequest {
  method: string;
  path: string;
  headers: Record<string, string | undefined>;
}

/** What the asset handler answers (an ApiResponse by shape). */
export interface StaticResponse {
  status: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

/** One served file. */
export interface Asset {
  contentType: string;
  etag: string;
  body: Buffer;
}

/** The URL prefix the dashboard lives under. */
export const UI_PREFIX = '/ui/';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.map': 'application/json',
};

/** The content type served for a file name (by extension). */
export function contentTypeOf(name: string): string {
  return CONTENT_TYPES[extname(name).toLowerCase()] ?? 'application/octet-stream';
}

/** Builds the asset table from a directory's files (not recursive: the bundle is flat). */
export function loadAssets(dir: string): Map<string, Asset> {
  const table = new Map<string, Asset>();
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (!statSync(p).isFile()) continue;
    const body = readFileSync(p);
    table.set(name, { contentType: contentTypeOf(name), etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`, body });
  }
  return table;
}

/**
 * Where the built bundle is: `dist/ui/` seen from this module, which runs either transpiled per
 * file (dist/src/dashboard/) or inside the command's bundle (dist/bundle/).
 */
export function defaultAssetDir(): string | undefined {
  for (const rel of ['../ui/', '../../ui/']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(join(dir, 'index.html'))) return dir;
  }
  return undefined;
}

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>skiff</title>
<p>The dashboard was not built into this copy of skiff: run <code>npm run build</code> and restart the server.</p>\n`;

/**
 * The request handler for `/ui` and everything under it; undefined for any other path, so the
 * API server goes on to authenticate and route the request as usual. Pure over its table.
 */
export function assetHandler(assets: Map<string, Asset> | undefined): (req: StaticRequest) => StaticResponse | undefined {
  return (req): StaticResponse | undefined => {
    if (req.path !== '/ui' && !req.path.startsWith(UI_PREFIX)) return undefined;
    const method = req.method.toUpperCase();
    if (method !== 'GET' && method !== 'HEAD') return { status: 405, headers: { allow: 'GET, HEAD', 'content-type': 'text/plain' }, body: 'method not allowed\n' };
    // The page's own links are relative, so /ui must become /ui/.
    if (req.path === '/ui') return { status: 301, headers: { location: UI_PREFIX }, body: '' };
    if (!assets) return { status: 503, headers: { 'content-type': 'text/html; charset=utf-8' }, body: NOT_BUILT };
    const name = req.path.slice(UI_PREFIX.length) || 'index.html';
    const asset = assets.get(name);
    if (!asset) return { status: 404, headers: { 'content-type': 'text/plain' }, body: `${req.path} not found\n` };
    const headers = { 'content-type': asset.contentType, etag: asset.etag, 'x-content-type-options': 'nosniff' };
    if (req.headers['if-none-match']?.split(',').some((t) => t.trim() === asset.etag)) return { status: 304, headers, body: '' };
    return { status: 200, headers, body: method === 'HEAD' ? '' : asset.body };
  };
}

/** The handler over the built bundle (or the "not built" page when there is none). */
export function dashboardRoutes(dir = defaultAssetDir()): (req: StaticRequest) => StaticResponse | undefined {
  return assetHandler(dir ? loadAssets(dir) : undefined);
}
