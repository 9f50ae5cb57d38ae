import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImageStore } from '../store.js';
import { pullImage, pushImage, RegistryClient, type RegistryClientOptions } from './client.js';
import { loadCredentials, parseAuthenticate, saveCredentials } from './auth.js';
import { startRegistry, type RunningRegistry } from './server.js';
import { busyboxStore } from '../testing/busybox-store.js';
import { startDebianRegistry, type DebianRegistry } from '../testing/registry.js';

const quiet: RegistryClientOptions = { log: () => {} };

/** Push busybox to `addr`, pull it back into a fresh store by tag and by digest. */
async function roundTrip(src: ImageStore, addr: string, opts: RegistryClientOptions = {}) {
  const ref = `${addr}/skiff/bb:1`;
  src.tag('busybox:latest', ref);
  const local = src.resolve(ref)!;
  const pushed = await pushImage(src, ref, { ...quiet, ...opts });
  assert.equal(pushed.digest, local.digest, 'registry digest = local manifest digest');
  const again = await pushImage(src, ref, quiet);
  assert.ok(Object.values(again.blobs).every((b) => b === 'exists'), 'second push skips every blob');

  const dst = ImageStore.open(mkdtempSync(join(tmpdir(), 'skiff-pull-')));
  try {
    const byTag = await pullImage(dst, ref, quiet);
    assert.equal(byTag.digest, local.digest);
    assert.equal(byTag.id, local.id);
    const byDigest = await pullImage(dst, `${addr}/skiff/bb@${local.digest}`, quiet);
    assert.equal(byDigest.digest, local.digest);
    assert.ok(dst.resolve(`${addr}/skiff/bb@${local.digest}`));
    const dirs = await dst.unpack(ref);
    assert.equal(dirs.length, 1);
  } finally {
    rmSync(dst.dataDir, { recursive: true, force: true });
  }
  return local;
}

describe('registry client against the Debian docker-registry', () => {
  let reg: DebianRegistry;
  let src: Awaited<ReturnType<typeof busyboxStore>>;
  before(async () => {
    [reg, src] = await Promise.all([startDebianRegistry(), busyboxStore()]);
  });
  after(async () => {
    await reg?.stop();
    src?.cleanup();
  });

  test('push and pull by tag and digest, monolithic', async () => {
    await roundTrip(src.store, reg.address);
  });

  test('chunked upload, cross-repository mount, tags list', async () => {
    const a = `${reg.address}/chunk/a:1`;
    const b = `${reg.address}/chunk/b:1`;
    src.store.remove(`${reg.address}/skiff/bb:1`); // no mount source: the upload must really happen
    src.store.tag('busybox:latest', a);
    const r1 = await pushImage(src.store, a, { ...quiet, chunkSize: 256 * 1024 });
    assert.ok(Object.values(r1.blobs).includes('pushed'), JSON.stringify(r1.blobs));
    src.store.tag('busybox:latest', b);
    const r2 = await pushImage(src.store, b, quiet);
    assert.ok(Object.values(r2.blobs).every((x) => x === 'mounted'), JSON.stringify(r2.blobs));
    assert.deepEqual(await new RegistryClient(reg.address).listTags('chunk/b'), ['1']);
  });

  test('the registry rejects a blob whose digest does not match', async () => {
    const base = `http://${reg.address}`;
    const post = await fetch(`${base}/v2/bad/blobs/uploads/`, { method: 'POST' });
    assert.equal(post.status, 202);
    const loc = new URL(post.headers.get('location')!, base);
    loc.searchParams.set('digest', `sha256:${'0'.repeat(64)}`);
    const put = await fetch(loc, { method: 'PUT', body: 'not what the digest says', headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(put.status, 400);
    assert.equal(((await put.json()) as { errors: { code: string }[] }).errors[0]!.code, 'DIGEST_INVALID');
  });
});

describe('built-in registry', () => {
  let reg: RunningRegistry;
  let server: Awaited<ReturnType<typeof busyboxStore>>;
  let src: Awaited<ReturnType<typeof busyboxStore>>;
  before(async () => {
    [server, src] = await Promise.all([busyboxStore(), busyboxStore()]);
    reg = await startRegistry({ store: server.store, host: '127.0.0.1', port: 0 });
  });
  after(async () => {
    await reg?.close();
    server?.cleanup();
    src?.cleanup();
  });

  test('push and pull by tag and digest; pushed images appear in the serving store', async () => {
    const local = await roundTrip(src.store, `127.0.0.1:${reg.port}`, { chunkSize: 200 * 1024 });
    const seen = server.store.resolve(`localhost:${reg.port}/skiff/bb:1`);
    assert.equal(seen?.digest, local.digest);
  });

  test('serves images of the store by name; catalog, tags, HEAD, ranges, delete', async () => {
    server.store.tag('busybox:latest', `localhost:${reg.port}/local/bb:v1`);
    const base = `http://127.0.0.1:${reg.port}`;
    const cat = (await (await fetch(`${base}/v2/_catalog`)).json()) as { repositories: string[] };
    assert.ok(cat.repositories.includes('local/bb'));
    const tags = (await (await fetch(`${base}/v2/local/bb/tags/list`)).json()) as { tags: string[] };
    assert.deepEqual(tags.tags, ['v1']);
    const head = await fetch(`${base}/v2/local/bb/manifests/v1`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    const digest = head.headers.get('docker-content-digest')!;
    const m = JSON.parse(await (await fetch(`${base}/v2/local/bb/manifests/${digest}`)).text()) as { layers: { digest: string }[] };
    const part = await fetch(`${base}/v2/local/bb/blobs/${m.layers[0]!.digest}`, { headers: { range: 'bytes=0-9' } });
    assert.equal(part.status, 206);
    assert.equal((await part.arrayBuffer()).byteLength, 10);
    const del = await fetch(`${base}/v2/local/bb/manifests/${digest}`, { method: 'DELETE' });
    assert.equal(del.status, 202);
    const gone = await fetch(`${base}/v2/local/bb/manifests/v1`);
    assert.equal(gone.status, 404);
    assert.equal(((await gone.json()) as { errors: { code: string }[] }).errors[0]!.code, 'MANIFEST_UNKNOWN');
  });

  test('rejects corrupted blobs and manifests with missing blobs', async () => {
    const base = `http://127.0.0.1:${reg.port}`;
    const body = Buffer.from('some content');
    const wrong = `sha256:${createHash('sha256').update('other').digest('hex')}`;
    const mono = await fetch(`${base}/v2/bad/blobs/uploads/?digest=${wrong}`, { method: 'POST', body });
    assert.equal(mono.status, 400);
    assert.equal(((await mono.json()) as { errors: { code: string }[] }).errors[0]!.code, 'DIGEST_INVALID');
    const manifest = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: wrong, size: 5 }, layers: [] });
    const put = await fetch(`${base}/v2/bad/manifests/x`, { method: 'PUT', body: manifest, headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' } });
    assert.equal(put.status, 400);
    assert.equal(((await put.json()) as { errors: { code: string }[] }).errors[0]!.code, 'MANIFEST_BLOB_UNKNOWN');
  });

  test('the client refuses a blob the registry serves corrupted', async () => {
    const ref = `127.0.0.1:${reg.port}/corrupt/bb:1`;
    src.store.tag('busybox:latest', ref);
    await pushImage(src.store, ref, quiet);
    const img = server.store.resolve(`localhost:${reg.port}/corrupt/bb:1`)!;
    // Same size, other bytes: only the digest check can notice.
    const layer = img.manifest.layers[0]!;
    const other = mkdtempSync(join(tmpdir(), 'skiff-corrupt-'));
    const dst = ImageStore.open(other);
    try {
      const size = server.store.blobSize(layer.digest)!;
      writeFileSync(server.store.blobPath(layer.digest), Buffer.alloc(size, 7));
      await assert.rejects(pullImage(dst, ref, quiet), (e: Error & { code?: string }) => e.code === 'DIGEST_INVALID' && /corrupt/.test(e.message));
      assert.equal(dst.hasBlob(layer.digest), false);
    } finally {
      writeFileSync(server.store.blobPath(layer.digest), await src.store.readBlob(layer.digest));
      rmSync(other, { recursive: true, force: true });
    }
  });
});

test('docker config.json credentials and WWW-Authenticate parsing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-auth-'));
  try {
    const path = join(dir, 'config.json');
    writeFileSync(path, JSON.stringify({ auths: { 'https://index.docker.io/v1/': { auth: Buffer.from('hub:pw').toString('base64') } }, credsStore: 'x' }));
    assert.deepEqual(loadCredentials('docker.io', path), { username: 'hub', password: 'pw' });
    saveCredentials('localhost:5000', { username: 'u', password: 'p:w' }, path);
    assert.deepEqual(loadCredentials('localhost:5000', path), { username: 'u', password: 'p:w' });
    assert.deepEqual(loadCredentials('docker.io', path), { username: 'hub', password: 'pw' });
    assert.equal(loadCredentials('other:1', path), undefined);
    const c = parseAuthenticate('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"');
    assert.equal(c.scheme, 'bearer');
    assert.equal(c.params.realm, 'https://auth.docker.io/token');
    assert.equal(c.params.scope, 'repository:library/busybox:pull');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
