/**
 * Cross-check with buildah (Debian `buildah`, vfs storage, chroot isolation, offline): the same
 * Dockerfile built by skiff and by buildah from the same busybox base must give the same
 * runtime config and the same files, whiteouts and modes in the layers added on top.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createGunzip } from 'node:zlib';
import { Readable } from 'node:stream';
import tarStream from 'tar-stream';
import { build } from '../src/builder/builder.js';
import { createProgress } from '../src/builder/progress.js';
import { saveImages } from '../src/image/archive.js';
import { busyboxStore } from '../src/image/testing/busybox-store.js';

const run = promisify(execFile);
const haveBuildah = existsSync('/usr/bin/buildah');
const BUILDAH_MOUNT_TARGETS = ['etc/hostname', 'etc/hosts', 'etc/resolv.conf', 'run/.containerenv'];

/** Non-directory entries of a layer blob: path → "type mode uid:gid [content]". */
async function layerEntries(path: string): Promise<Map<string, string>> {
  const head = readFileSync(path).subarray(0, 2);
  const src: Readable = head[0] === 0x1f && head[1] === 0x8b ? createReadStream(path).pipe(createGunzip()) : createReadStream(path);
  const out = new Map<string, string>();
  const ex = tarStream.extract();
  src.pipe(ex);
  for await (const e of ex) {
    const h = e.header;
    const chunks: Buffer[] = [];
    for await (const c of e) chunks.push(c as Buffer);
    const name = h.name.replace(/^\.?\//, '');
    // buildah leaves empty mount targets for the files it bind-mounts into RUN containers.
    if (h.type === 'directory' || BUILDAH_MOUNT_TARGETS.includes(name)) continue;
    if (name.split('/').pop()!.startsWith('.wh.')) out.set(name, 'whiteout');
    else out.set(name, `${h.type} ${((h.mode ?? 0) & 0o7777).toString(8)} ${h.uid}:${h.gid} ${h.linkname ?? ''} ${Buffer.concat(chunks).toString('utf8')}`);
  }
  return out;
}

const DOCKERFILE = (base: string) => `FROM ${base}
ENV A=1 B="two words"
WORKDIR /app
COPY f.txt ./
COPY --chown=65534:65534 --chmod=640 f.txt /app/owned.txt
RUN echo run > r.txt && rm /www/index.html && ln -s r.txt link
USER nobody
EXPOSE 80 53/udp
ENTRYPOINT ["/bin/sh"]
CMD ["-c", "cat /app/r.txt"]
`;

test('skiff and buildah build the same image', { skip: !haveBuildah && 'buildah is not installed', timeout: 120_000 }, async () => {
  const env = await busyboxStore();
  const b = join(env.dir, 'buildah');
  const common = ['--root', join(b, 'root'), '--runroot', join(b, 'run'), '--storage-driver', 'vfs'];
  try {
    const ctx = join(env.dir, 'ctx');
    mkdirSync(ctx, { recursive: true });
    writeFileSync(join(ctx, 'f.txt'), 'hello\n');
    const ours = await build({ store: env.store, contextDir: ctx, dockerfileContent: DOCKERFILE('busybox'), tags: ['cmp:1'], progress: createProgress('quiet') });

    const archive = join(env.dir, 'busybox-oci.tar');
    await saveImages(env.store, ['busybox'], archive, 'oci');
    writeFileSync(join(ctx, 'Dockerfile.buildah'), DOCKERFILE(`oci-archive:${archive}`));
    await run('buildah', [...common, 'bud', '--isolation', 'chroot', '--network', 'host', '-q', '-f', join(ctx, 'Dockerfile.buildah'), '-t', 'cmp:1', ctx], { maxBuffer: 1 << 24 });
    const out = join(b, 'out');
    await run('buildah', [...common, 'push', '-q', 'cmp:1', `oci:${out}`]);

    const index = JSON.parse(readFileSync(join(out, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    const blob = (d: string) => join(out, 'blobs', 'sha256', d.slice(7));
    const manifest = JSON.parse(readFileSync(blob(index.manifests[0]!.digest), 'utf8')) as { config: { digest: string }; layers: { digest: string }[] };
    const theirs = JSON.parse(readFileSync(blob(manifest.config.digest), 'utf8')) as { config: Record<string, unknown> };
    const mine = ours.image.config.config as Record<string, unknown>;
    for (const k of ['Env', 'Entrypoint', 'Cmd', 'WorkingDir', 'User', 'ExposedPorts']) {
      assert.deepEqual(mine[k], theirs.config[k], `config.${k}`);
    }

    // Files added on top of the base (buildah may squash WORKDIR into the next layer: merge all).
    const merged = async (paths: string[]) => {
      const m = new Map<string, string>();
      for (const p of paths) for (const [k, v] of await layerEntries(p)) m.set(k, v);
      return m;
    };
    const ourLayers = await merged(ours.image.manifest.layers.slice(1).map((l) => env.store.blobPath(l.digest)));
    const theirLayers = await merged(manifest.layers.slice(1).map((l) => blob(l.digest)));
    assert.deepEqual([...ourLayers].sort(), [...theirLayers].sort());
  } finally {
    await run('buildah', [...common, 'rm', '--all']).catch(() => {});
    await run('umount', ['-R', join(b, 'root')]).catch(() => {});
    env.cleanup();
  }
});
