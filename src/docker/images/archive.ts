/**
 * `docker save` and `docker load` over the socket, on the image store's archive code
 * (image/archive.ts): save writes Docker's v25+ archive (an OCI layout with `manifest.json`
 * beside it) to a temp file and streams it; load streams the body (plain or compressed) to a
 * temp file and loads every image in it, answering `Loaded image: busybox:latest` lines.
 * Nothing is held in memory whole, and the temp files go whatever happens.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { saveImages } from '../../image/archive.js';
import { tmpName } from '../../image/content-store.js';
import { familiarString } from '../../image/reference.js';
import type { ImageStore } from '../../image/store.js';
import type { DockerCall, DockerReply } from '../route.js';
import { badParameter } from '../errors.js';
import { JsonProgressStream } from '../stream.js';
import { findImage } from './summaries.js';

/** `GET /images/get?names=…` and `GET /images/{name}/get`. */
export async function saveHandler(call: DockerCall, store: ImageStore): Promise<DockerReply> {
  const names = call.params.name ? [call.params.name] : call.query.getAll('names');
  if (names.length === 0) throw badParameter('no images to save: pass names=<image>');
  // Resolve first, so a missing image is a 404 before any byte is sent.
  const refs = names.map((n) => {
    const img = findImage(store, n);
    const hit = store.resolve(n);
    return hit && hit.id === img.id ? n : img.info.digest;
  });
  const tmp = join(store.content.ingestDir, `save-${tmpName()}.tar`);
  try {
    await saveImages(store, refs, tmp, 'oci');
    const res = call.res!;
    res.writeHead(200, { 'Content-Type': 'application/x-tar' });
    await pipeline(createReadStream(tmp), res);
  } finally {
    await rm(tmp, { force: true });
  }
  return undefined;
}

/** `POST /images/load[?quiet=1]`. */
export async function loadHandler(call: DockerCall, store: ImageStore): Promise<DockerReply> {
  const tmp = join(store.content.ingestDir, `load-${tmpName()}.tar`);
  try {
    await pipeline(call.req, createWriteStream(tmp));
    let refs: string[];
    try {
      refs = await store.loadArchive(tmp);
    } catch (e) {
      throw badParameter(`invalid image archive: ${(e as Error).message.replace(`${tmp}`, 'the archive')}`);
    }
    const lines = refs.map((r) => (r.startsWith('sha256:') ? `Loaded image ID: ${store.resolve(r)?.id ?? r}` : `Loaded image: ${familiarString(r)}`));
    const stream = new JsonProgressStream(call.res!);
    // `quiet` only drops progress bars, which loading a local file has none of; the result lines stay.
    for (const l of lines) stream.write({ stream: `${l}\n` });
    stream.end();
  } finally {
    await rm(tmp, { force: true });
  }
  return undefined;
}
