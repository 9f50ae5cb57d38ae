/**
 * `skiff image save`: writes images to a tar that `docker load`, `skiff image load`,
 * `podman load` and `skopeo copy oci-archive:` read.
 *
 * - `oci`: an OCI image layout (`oci-layout`, `index.json` with `io.containerd.image.name`
 *   and `org.opencontainers.image.ref.name` annotations, `blobs/sha256/…`) plus Docker's
 *   `manifest.json`, exactly what `docker save` writes since v25.
 * - `docker`: the classic layout: `manifest.json` + `repositories`, the blobs under
 *   `blobs/sha256/…` (Docker ≥ 25 reads either).
 *
 * Headers are fixed (mtime 0, root owner), so saving the same images twice gives the same bytes.
 */
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import tarStream from 'tar-stream';
import { familiarString, parseReference } from '../reference.js';
import { MediaTypes, REF_NAME_ANNOTATION, CONTAINERD_NAME_ANNOTATION, type ImageInfo, type ImageStore } from '../store.js';

export type SaveFormat = 'oci' | 'docker';

/** Saves `refs` to `outPath`; returns the images written. */
export async function saveImages(store: ImageStore, refs: string[], outPath: string, format: SaveFormat = 'oci'): Promise<ImageInfo[]> {
  const images = refs.map((r) => {
    const info = store.resolve(r);
    if (!info) throw new Error(`No such image: ${r} (see skiff images)`);
    return info;
  });
  const pack = tarStream.pack();
  const out = pipeline(pack, createWriteStream(outPath));
  const mtime = new Date(0);
  const add = (name: string, body: Buffer) =>
    new Promise<void>((resolve, reject) => pack.entry({ name, mode: 0o644, mtime, uid: 0, gid: 0, uname: '', gname: '' }, body, (e) => (e ? reject(e) : resolve())));
  const addBlob = (digest: string) =>
    new Promise<void>((resolve, reject) => {
      const size = store.blobSize(digest);
      if (size === undefined) return reject(new Error(`blob ${digest} is missing from the store; pull the image again`));
      const entry = pack.entry({ name: `blobs/sha256/${digest.slice(7)}`, size, mode: 0o644, mtime, uid: 0, gid: 0, uname: '', gname: '' }, (e) => (e ? reject(e) : resolve()));
      store.openBlob(digest).on('error', reject).pipe(entry);
    });
  try {
    const written = new Set<string>();
    for (const img of images) {
      for (const d of [img.digest, img.manifest.config.digest, ...img.manifest.layers.map((l) => l.digest)]) {
        if (written.has(d)) continue;
        written.add(d);
        await addBlob(d);
      }
    }
    const tagged = (img: ImageInfo) => (img.ref && !img.ref.includes('@') ? img.ref : undefined);
    const manifestJson = images.map((img) => ({
      Config: `blobs/sha256/${img.manifest.config.digest.slice(7)}`,
      RepoTags: tagged(img) ? [familiarString(tagged(img)!)] : null,
      Layers: img.manifest.layers.map((l) => `blobs/sha256/${l.digest.slice(7)}`),
    }));
    await add('manifest.json', Buffer.from(JSON.stringify(manifestJson)));
    if (format === 'oci') {
      await add('oci-layout', Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })));
      const index = {
        schemaVersion: 2,
        mediaType: MediaTypes.ociIndex,
        manifests: images.map((img) => {
          const t = tagged(img);
          return {
            mediaType: img.manifest.mediaType ?? MediaTypes.ociManifest,
            digest: img.digest,
            size: store.blobSize(img.digest),
            ...(t ? { annotations: { [CONTAINERD_NAME_ANNOTATION]: t, [REF_NAME_ANNOTATION]: parseReference(t).tag ?? 'latest' } } : {}),
          };
        }),
      };
      await add('index.json', Buffer.from(JSON.stringify(index)));
    } else {
      const repos: Record<string, Record<string, string>> = {};
      for (const img of images) {
        const t = tagged(img);
        if (!t) continue;
        const r = parseReference(t);
        const name = familiarString({ domain: r.domain, path: r.path });
        (repos[name] ??= {})[r.tag ?? 'latest'] = img.manifest.layers.length ? img.config.rootfs.diff_ids.at(-1)!.slice(7) : img.id.slice(7);
      }
      await add('repositories', Buffer.from(JSON.stringify(repos)));
    }
    pack.finalize();
    await out;
  } catch (e) {
    pack.destroy(e as Error);
    await out.catch(() => {});
    throw e;
  }
  return images;
}
