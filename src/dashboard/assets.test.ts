import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assetHandler, contentTypeOf, loadAssets } from './assets.js';

function bundleDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-ui-assets-'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><script type="module" src="app-ABC.js"></script>');
  writeFileSync(join(dir, 'app-ABC.js'), 'console.log(1)');
  writeFileSync(join(dir, 'style-DEF.css'), 'body{}');
  return dir;
}

const get = (path: string, headers: Record<string, string> = {}) => ({ method: 'GET', path, headers });

test('serves the bundle under /ui/ with its content types; other paths are left to the API', () => {
  const dir = bundleDir();
  try {
    const h = assetHandler(loadAssets(dir));
    assert.equal(h(get('/api/v1/pods')), undefined);
    assert.equal(h(get('/uiother')), undefined);
    const index = h(get('/ui/'))!;
    assert.equal(index.status, 200);
    assert.equal(index.headers!['content-type'], 'text/html; charset=utf-8');
    assert.match(String(index.body), /app-ABC\.js/);
    assert.equal(h(get('/ui/app-ABC.js'))!.headers!['content-type'], 'text/javascript; charset=utf-8');
    assert.equal(h(get('/ui/style-DEF.css'))!.headers!['content-type'], 'text/css; charset=utf-8');
    assert.equal(h(get('/ui/nope.js'))!.status, 404);
    assert.equal(h(get('/ui/../state.db'))!.status, 404, 'no path outside the table is served');
    const redirect = h(get('/ui'))!;
    assert.equal(redirect.status, 301);
    assert.equal(redirect.headers!.location, '/ui/');
    assert.equal(h({ method: 'POST', path: '/ui/', headers: {} })!.status, 405);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an unchanged asset is revalidated with its ETag (304, no body); a changed one is not', () => {
  const dir = bundleDir();
  try {
    const first = assetHandler(loadAssets(dir))(get('/ui/app-ABC.js'))!;
    const etag = first.headers!.etag;
    assert.match(etag, /^"[\w-]+"$/);
    const again = assetHandler(loadAssets(dir))(get('/ui/app-ABC.js', { 'if-none-match': etag }))!;
    assert.equal(again.status, 304);
    assert.equal(again.body, '');
    writeFileSync(join(dir, 'app-ABC.js'), 'console.log(2)');
    const changed = assetHandler(loadAssets(dir))(get('/ui/app-ABC.js', { 'if-none-match': etag }))!;
    assert.equal(changed.status, 200);
    assert.notEqual(changed.headers!.etag, etag);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('without a built bundle /ui/ says how to build it', () => {
  const r = assetHandler(undefined)(get('/ui/'))!;
  assert.equal(r.status, 503);
  assert.match(String(r.body), /npm run build/);
  assert.equal(contentTypeOf('x.unknown'), 'application/octet-stream');
});
