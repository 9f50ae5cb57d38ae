import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { MediaTypes, type ImageConfig, type ImageManifest } from './oci.js';
import { ImageStore } from './store.js';
import { writeBusyboxRootfs, writeTar, type TarItem } from './bootstrap-rootfs.js';

let dir: string;
const mounts: string[] = [];

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'skiff-image-test-'));
});

after(() => {
  for (const m of mounts) {
    try {
      execFileSync('umount', [m]);
    } catch {
      /* already gone */
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

const sha = (b: Buffer | string) => 'sha256:' + createHash('sha256').update(b).digest('hex');

async function tarBuffer(items: TarItem[]): Promise<Buffer> {
  const p = join(dir, `t-${Math.random().toString(36).slice(2)}.tar`);
  await writeTar(p, items);
  const b = readFileSync(p);
  rmSync(p);
  return b;
}

/** Two layers: the second deletes a/gone (whiteout) and makes d/ opaque. */
async function twoLayers() {
  const l1 = await tarBuffer([
    { name: 'a/', type: 'directory' },
    { name: 'a/keep', content: 'keep\n' },
    { name: 'a/gone', content: 'gone\n' },
    { name: 'd/', type: 'directory' },
    { name: 'd/old1', content: 'old\n' },
    { name: 'd/sub/', type: 'directory' },
    { name: 'd/sub/old2', content: 'old\n' },
  ]);
  const l2raw = await tarBuffer([
    { name: 'a/', type: 'directory' },
    { name: 'a/.wh.gone' },
    { name: 'a/suid', mode: 0o4755, uid: 1000, gid: 1001, content: '#!/bin/sh\n' },
    { name: 'a/hard', type: 'link', linkname: 'a/suid' },
    { name: 'a/sym', type: 'symlink', linkname: 'keep' },
    { name: 'd/', type: 'directory', mode: 0o750 },
    { name: 'd/.wh..wh..opq' },
    { name: 'd/new', content: 'new\n' },
  ]);
  const l2 = gzipSync(l2raw);
  const config: ImageConfig = {
    architecture: 'amd64',
    os: 'linux',
    config: { Cmd: ['/bin/sh'], Env: ['PATH=/bin'] },
    rootfs: { type: 'layers', diff_ids: [sha(l1), sha(l2raw)] },
  };
  const cfg = Buffer.from(JSON.stringify(config));
  return { l1, l2, cfg };
}

function mountOverlay(lowersBottomFirst: string[]): string {
  const m = mkdtempSync(join(dir, 'merged-'));
  const upper = mkdtempSync(join(dir, 'upper-'));
  const work = mkdtempSync(join(dir, 'work-'));
  const lower = [...lowersBottomFirst].reverse().join(':');
  execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lower},upperdir=${upper},workdir=${work}`, m]);
  mounts.push(m);
  return m;
}

function checkMergedView(m: string) {
  assert.equal(readFileSync(join(m, 'a/keep'), 'utf8'), 'keep\n');
  assert.equal(existsSync(join(m, 'a/gone')), false, 'whiteout must delete a/gone');
  assert.deepEqual(readdirSync(join(m, 'd')).sort(), ['new'], 'opaque dir must hide lower content');
  const st = statSync(join(m, 'a/suid'));
  assert.equal(st.mode & 0o7777, 0o4755, 'setuid bit preserved');
  assert.equal(st.uid, 1000);
  assert.equal(st.gid, 1001);
  assert.equal(statSync(join(m, 'a/hard')).ino, st.ino, 'hardlink preserved');
  assert.equal(readlinkSync(join(m, 'a/sym')), 'keep');
  assert.equal(statSync(join(m, 'd')).mode & 0o777, 0o750);
}

test('importRootfs makes a single-layer image that list/resolve/unpack find', async () => {
  const s = ImageStore.open(join(dir, 'd1'));
  const tarPath = join(dir, 'busybox.tar');
  await writeBusyboxRootfs(tarPath);
  const info = await s.importRootfs(tarPath, 'busybox', { Cmd: ['sh'] });
  assert.equal(info.ref, 'docker.io/library/busybox:latest');
  assert.deepEqual(info.config.config?.Cmd, ['sh']);
  assert.match(info.config.config?.Env?.[0] ?? '', /^PATH=/);
  assert.deepEqual(s.list().map((i) => i.ref), ['docker.io/library/busybox:latest']);
  for (const q of ['busybox', 'busybox:latest', 'docker.io/library/busybox:latest', info.id, info.digest, info.id.slice(7, 19), `busybox@${info.digest}`]) {
    assert.equal(s.resolve(q)?.digest, info.digest, `resolve(${q})`);
  }
  assert.equal(s.resolve('busybox:other'), undefined);
  const index = JSON.parse(readFileSync(join(dir, 'd1/images/index.json'), 'utf8'));
  assert.equal(index.manifests[0].annotations['org.opencontainers.image.ref.name'], 'docker.io/library/busybox:latest');
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'd1/images/oci-layout'), 'utf8')), { imageLayoutVersion: '1.0.0' });

  const [fs] = await s.unpack('busybox');
  assert.ok(fs);
  assert.equal(statSync(join(fs, 'bin/busybox')).mode & 0o777, 0o755);
  assert.equal(readlinkSync(join(fs, 'bin/sh')), 'busybox');
  assert.equal(statSync(join(fs, 'tmp')).mode & 0o7777, 0o1777);
  // A second store object (another process) unpacking concurrently gets the same snapshot.
  const s2 = ImageStore.open(join(dir, 'd1'));
  const again = await Promise.all([s.unpack('busybox'), s2.unpack('busybox')]);
  assert.deepEqual(again, [[fs], [fs]]);
});

test('loads an OCI layout archive with whiteouts and opaque dirs and unpacks a correct merged view', async () => {
  const s = ImageStore.open(join(dir, 'd2'));
  const { l1, l2, cfg } = await twoLayers();
  const oci = join(dir, 'oci');
  mkdirSync(join(oci, 'blobs/sha256'), { recursive: true });
  const put = (b: Buffer) => {
    writeFileSync(join(oci, 'blobs/sha256', sha(b).slice(7)), b);
    return { digest: sha(b), size: b.length };
  };
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaTypes.ociManifest,
    config: { mediaType: MediaTypes.ociConfig, ...put(cfg) },
    layers: [{ mediaType: MediaTypes.ociLayer, ...put(l1) }, { mediaType: MediaTypes.ociLayerGzip, ...put(l2) }],
  };
  const m = Buffer.from(JSON.stringify(manifest));
  writeFileSync(join(oci, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(join(oci, 'index.json'), JSON.stringify({
    schemaVersion: 2,
    manifests: [{ mediaType: MediaTypes.ociManifest, ...put(m), annotations: { 'io.containerd.image.name': 'localhost:5000/two:layers', 'org.opencontainers.image.ref.name': 'layers' } }],
  }));
  const archive = join(dir, 'oci.tar');
  execFileSync('tar', ['-cf', archive, '-C', oci, '.']);
  const seen: number[] = [];
  const refs = await s.loadArchive(archive, (p) => seen.push(p.done));
  assert.deepEqual(refs, ['localhost:5000/two:layers']);
  assert.ok(seen.length >= 3 && seen.at(-1)! > 0, 'progress reported');
  const info = s.resolve('localhost:5000/two:layers');
  assert.equal(info?.digest, sha(m));
  const lowers = await s.unpack('localhost:5000/two:layers');
  assert.equal(lowers.length, 2);
  assert.ok(lstatSync(join(lowers[1]!, 'a/gone')).isCharacterDevice(), 'whiteout stored as overlay char device');
  checkMergedView(mountOverlay(lowers));
});

test('loads a docker save archive (manifest.json + layer.tar)', async () => {
  const s = ImageStore.open(join(dir, 'd3'));
  const { l1, l2, cfg } = await twoLayers();
  const save = join(dir, 'save');
  const cfgName = `${sha(cfg).slice(7)}.json`;
  mkdirSync(join(save, 'l1'), { recursive: true });
  mkdirSync(join(save, 'l2'), { recursive: true });
  writeFileSync(join(save, cfgName), cfg);
  writeFileSync(join(save, 'l1/layer.tar'), l1);
  writeFileSync(join(save, 'l2/layer.tar'), l2);
  writeFileSync(join(save, 'manifest.json'), JSON.stringify([{ Config: cfgName, RepoTags: ['app:v1', 'localhost:5000/app:v1'], Layers: ['l1/layer.tar', 'l2/layer.tar'] }]));
  const archive = join(dir, 'save.tar');
  execFileSync('tar', ['-cf', archive, '-C', save, '.']);
  const refs = await s.loadArchive(archive);
  assert.deepEqual(refs, ['docker.io/library/app:v1', 'localhost:5000/app:v1']);
  const info = s.resolve('app:v1')!;
  assert.equal(info.id, sha(cfg), 'image ID is the config digest, as in docker');
  checkMergedView(mountOverlay(await s.unpack('app:v1')));

  // A corrupt archive is rejected with a message naming the file.
  const bad = join(dir, 'bad.tar');
  writeFileSync(bad, 'not a tar');
  await assert.rejects(s.loadArchive(bad), /bad\.tar/);
});

test('tag, remove and prune keep blobs exactly as long as something references them', async () => {
  const s = ImageStore.open(join(dir, 'd4'));
  const tarPath = join(dir, 'busybox4.tar');
  await writeBusyboxRootfs(tarPath);
  const info = await s.importRootfs(tarPath, 'busybox');
  s.tag('busybox', 'mybox:1');
  assert.deepEqual(s.list().map((i) => i.ref).sort(), ['docker.io/library/busybox:latest', 'docker.io/library/mybox:1']);
  assert.deepEqual(s.remove('busybox'), ['docker.io/library/busybox:latest']);
  assert.equal((await s.prune()).removed.length, 0, 'still referenced by mybox:1');
  assert.ok(s.hasBlob(info.manifest.layers[0]!.digest));
  assert.deepEqual(s.remove('mybox:1'), ['docker.io/library/mybox:1']);
  assert.deepEqual(s.remove('mybox:1'), []);
  const pruned = await s.prune();
  assert.equal(pruned.removed.length, 3, 'manifest, config and layer');
  assert.equal(s.hasBlob(info.manifest.layers[0]!.digest), false);
  assert.deepEqual(s.list(), []);
});

test('writeBlob verifies digests; putManifest refuses missing blobs', async () => {
  const s = ImageStore.open(join(dir, 'd5'));
  const good = await s.writeBlob('hello');
  assert.equal(good.digest, sha('hello'));
  assert.equal((await s.readBlob(good.digest)).toString(), 'hello');
  await assert.rejects(s.writeBlob('hello!', sha('other')), /digest mismatch/);
  assert.equal(s.hasBlob(sha('hello!')), false);
  const manifest = {
    schemaVersion: 2,
    mediaType: MediaTypes.ociManifest,
    config: { mediaType: MediaTypes.ociConfig, digest: good.digest, size: good.size },
    layers: [{ mediaType: MediaTypes.ociLayer, digest: sha('missing'), size: 7 }],
  };
  await assert.rejects(s.putManifest('x', JSON.stringify(manifest)), /not stored; write it first/);
});
