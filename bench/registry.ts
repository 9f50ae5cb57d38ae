/**
 * Registry throughput: push and pull a ~200 MB image (4 layers of random data, stored
 * uncompressed) to the Debian docker-registry and to skiff's built-in registry on
 * 127.0.0.1. Prints one JSON line with MB/s.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImageStore } from '../src/image/store.js';
import { MediaTypes, hostArchitecture, type ImageManifest } from '../src/image/oci.js';
import { pullImage, pushImage } from '../src/image/registry/client.js';
import { startRegistry } from '../src/image/registry/server.js';
import { startDebianRegistry } from '../src/image/testing/registry.js';

const MB = 1e6;
const LAYERS = 4;
const LAYER_BYTES = 50 * MB;

const dir = mkdtempSync(join(tmpdir(), 'skiff-bench-reg-'));
const quiet = { log: () => {} };
const result: Record<string, number | string> = { bench: 'registry', image_mb: (LAYERS * LAYER_BYTES) / MB };
try {
  const src = ImageStore.open(join(dir, 'src'));
  // Random bytes do not compress: what moves is what is stored.
  const layers = [];
  for (let i = 0; i < LAYERS; i++) layers.push(await src.writeBlob(randomBytes(LAYER_BYTES)));
  const cfg = await src.writeBlob(JSON.stringify({ architecture: hostArchitecture(), os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) } }));
  const manifest: ImageManifest = {
    schemaVersion: 2, mediaType: MediaTypes.ociManifest,
    config: { mediaType: MediaTypes.ociConfig, digest: cfg.digest, size: cfg.size },
    layers: layers.map((l) => ({ mediaType: MediaTypes.ociLayer, digest: l.digest, size: l.size })),
  };
  await src.putManifest('bench/big:1', JSON.stringify(manifest));
  const total = (LAYERS * LAYER_BYTES) / MB;

  const measure = async (name: string, addr: string) => {
    const ref = `${addr}/bench/big:1`;
    src.tag('bench/big:1', ref);
    let t = performance.now();
    await pushImage(src, ref, quiet);
    result[`${name}_push_mb_s`] = Math.round(total / ((performance.now() - t) / 1000));
    const dst = ImageStore.open(join(dir, `pull-${name}`));
    t = performance.now();
    await pullImage(dst, ref, quiet);
    result[`${name}_pull_mb_s`] = Math.round(total / ((performance.now() - t) / 1000));
    rmSync(dst.dataDir, { recursive: true, force: true });
  };

  const deb = await startDebianRegistry();
  try {
    await measure('debian', deb.address);
  } finally {
    await deb.stop();
  }
  const builtin = await startRegistry({ store: ImageStore.open(join(dir, 'builtin')), host: '127.0.0.1', port: 0 });
  try {
    await measure('builtin', `127.0.0.1:${builtin.port}`);
  } finally {
    await builtin.close();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(JSON.stringify(result));
