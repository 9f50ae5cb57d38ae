/**
 * `POST /images/create`: `docker pull` through the image store's registry client, reported in
 * dockerd's progress lines (`Pulling from`, per layer `Pulling fs layer` → `Downloading` →
 * `Download complete` → `Extracting` → `Pull complete` or `Already exists`, `Digest:`,
 * `Status: Downloaded newer image for …` / `Image is up to date for …`). Layers are unpacked
 * into snapshots as part of the pull, as dockerd extracts them. A registry error before any
 * output is a plain reply worded as dockerd's (`manifest for x:nope not found: manifest
 * unknown: manifest unknown`), after it an `errorDetail` line.
 *
 * `fromSrc=-` (`docker import`) turns the request body, a root filesystem tar, into a
 * one-layer image.
 */
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { ImageInfo } from '../../image/image-index.js';
import { hostArchitecture } from '../../image/oci.js';
import { pullImage, RegistryClient, RegistryError, type RegistryClientOptions } from '../../image/registry/client.js';
import type { TransferEvent, TransferProgress } from '../../image/registry/progress.js';
import { tmpName } from '../../image/content-store.js';
import { familiarString, formatReference, InvalidReferenceError, parseNormalized, parseReference, type ImageReference } from '../../image/reference.js';
import type { ImageStore } from '../../image/store.js';
import type { DockerCall, DockerReply } from '../route.js';
import { badParameter, DockerError } from '../errors.js';
import { JsonProgressStream } from '../stream.js';
import { credentialsFor, registryAuthHeader, type RegistrySettings } from './auth.js';

export interface PullDeps extends RegistrySettings {
  store: ImageStore;
}

/** Parses a reference typed by a user; a malformed one is a 400 with Docker's words. */
export function referenceOrBadRequest(text: string): ImageReference {
  try {
    return parseReference(text);
  } catch (e) {
    if (e instanceof InvalidReferenceError) throw badParameter(e.message);
    throw e;
  }
}

/** Sends at most ~50 progress lines per blob, plus its first and last. */
export function progressThrottle(): (e: TransferEvent) => boolean {
  const last = new Map<string, number>();
  return (e) => {
    const cur = e.current ?? 0;
    const total = e.total ?? 0;
    const prev = last.get(`${e.id} ${e.status}`);
    if (prev !== undefined && cur < total && cur - prev < Math.max(total / 50, 256 * 1024)) return false;
    last.set(`${e.id} ${e.status}`, cur);
    return true;
  };
}

/** Turns a registry client error into dockerd's wording for a pull of `ref`. */
export function pullError(e: unknown, ref: ImageReference, baseUrl: string): Error {
  if (!(e instanceof RegistryError)) return e as Error;
  const name = familiarString(ref);
  const detail = e.message.replace(/^.*?HTTP \d+ ?/, '');
  if (e.code === 'MANIFEST_UNKNOWN' || e.code === 'NAME_UNKNOWN' || (e.status === 404 && /manifest/.test(e.message))) {
    const why = /: (.*)$/.exec(detail)?.[1] ?? 'manifest unknown';
    return new DockerError(404, `manifest for ${name} not found: manifest unknown: ${why}`);
  }
  if (e.status === 401 || e.status === 403) {
    const repo = familiarString({ domain: ref.domain, path: ref.path });
    return new DockerError(404, `pull access denied for ${repo}, repository does not exist or may require 'docker login': denied: ${detail || 'requested access to the resource is denied'}`);
  }
  if (e.status === 0 && !e.code) return new DockerError(500, unreachable(e.message, ref.domain, baseUrl));
  return new DockerError(e.status >= 400 && e.status < 600 ? e.status : 500, e.message.replace(/ \(run `skiff login.*$/, ''));
}

/** An unreachable registry: what was tried and what to check. */
export function unreachable(message: string, domain: string, baseUrl: string): string {
  return `${message.replace(/ \(is the registry running\?\)$/, '')}: the registry ${domain} (${baseUrl}) did not answer; check that it is running and that the name and port are right`;
}

/** `POST /images/create`. */
export async function createImage(call: DockerCall, deps: PullDeps): Promise<DockerReply> {
  const q = call.query;
  const fromSrc = q.get('fromSrc');
  if (fromSrc !== null) return importImage(call, deps, fromSrc);
  const fromImage = q.get('fromImage');
  if (!fromImage) throw badParameter('fromImage or fromSrc is required');
  const platform = q.get('platform');
  if (platform && !new RegExp(`^linux(/${hostArchitecture()}(/.*)?)?$`).test(platform)) {
    throw badParameter(`platform ${platform} is not served: this engine runs linux/${hostArchitecture()} images only`);
  }
  const tag = q.get('tag') ?? '';
  const base = parseNormalizedOr400(fromImage);
  const res = call.res!;
  const stream = new JsonProgressStream(res);
  const credentials = credentialsFor(base.domain, registryAuthHeader(call.req), deps);
  const opts: RegistryClientOptions = { credentials, insecure: deps.insecureRegistries, dockerConfig: deps.dockerConfig };
  try {
    let refs: string[];
    if (tag) refs = [tag.includes(':') ? `${fromImage}@${tag}` : `${fromImage}:${tag}`];
    else if (base.tag || base.digest) refs = [fromImage];
    else {
      // `docker pull -a`: every tag of the repository.
      const client = new RegistryClient(base.domain, opts);
      const tags = await client.listTags(base.path).catch((e) => {
        throw pullError(e, { ...base, tag: 'latest' }, client.baseUrl);
      });
      refs = tags.map((t) => `${formatReference({ domain: base.domain, path: base.path })}:${t}`);
    }
    for (const r of refs) await pullOne(deps.store, referenceOrBadRequest(r), opts, stream, refs.length > 1);
    if (refs.length > 1) stream.write({ status: `Status: Downloaded newer image for ${familiarString({ domain: base.domain, path: base.path })}` });
    stream.end();
  } catch (e) {
    stream.fail(e);
  }
  return undefined;
}

function parseNormalizedOr400(text: string): ImageReference {
  try {
    return parseNormalized(text);
  } catch (e) {
    if (e instanceof InvalidReferenceError) throw badParameter(e.message);
    throw e;
  }
}

async function pullOne(store: ImageStore, ref: ImageReference, opts: RegistryClientOptions, stream: JsonProgressStream, quietStatus: boolean): Promise<ImageInfo> {
  const full = formatReference(ref);
  const before = store.resolve(full)?.digest;
  const header = () => {
    if (headerSent) return;
    headerSent = true;
    stream.write({ status: `Pulling from ${ref.path}`, id: ref.tag ?? ref.digest! });
  };
  let headerSent = false;
  const seen = new Set<string>();
  const downloaded = new Set<string>();
  const show = progressThrottle();
  const progress: TransferProgress = {
    event(e) {
      header();
      if (e.status === 'Already exists') {
        stream.write({ status: 'Already exists', progressDetail: {}, id: e.id });
        return;
      }
      if (!seen.has(e.id)) {
        seen.add(e.id);
        stream.write({ status: 'Pulling fs layer', progressDetail: {}, id: e.id });
      }
      if (e.status === 'Downloading') {
        if (show(e)) stream.write({ status: 'Downloading', progressDetail: { current: e.current ?? 0, total: e.total ?? 0 }, id: e.id });
      } else if (e.status === 'Pull complete') {
        downloaded.add(e.id);
        stream.write({ status: 'Download complete', progressDetail: {}, id: e.id });
      }
    },
    // The client's own summary lines are replaced by dockerd's below.
    message() {},
    stop() {},
  };
  const client = new RegistryClient(ref.domain, opts);
  let info: ImageInfo;
  try {
    info = await pullImage(store, full, { ...opts, progress });
  } catch (e) {
    throw pullError(e, ref, client.baseUrl);
  }
  header();
  const diffIds = info.config.rootfs.diff_ids;
  for (const [i, layer] of info.manifest.layers.entries()) {
    const id = layer.digest.slice(7, 19);
    if (downloaded.has(id)) stream.write({ status: 'Extracting', progressDetail: { current: 0, total: layer.size }, id });
    await store.snapshots.unpack(store.blobPath(layer.digest), layer.digest, diffIds[i]!);
    if (downloaded.has(id)) stream.write({ status: 'Pull complete', progressDetail: {}, id });
  }
  stream.write({ status: `Digest: ${info.digest}` });
  const upToDate = before === info.digest && downloaded.size === 0;
  if (!quietStatus) stream.write({ status: `Status: ${upToDate ? 'Image is up to date' : 'Downloaded newer image'} for ${familiarString(ref)}` });
  return info;
}

/** `docker import`: `fromSrc=-` with a root filesystem tar (plain, gzip or zstd) as the body. */
async function importImage(call: DockerCall, deps: PullDeps, fromSrc: string): Promise<DockerReply> {
  if (fromSrc !== '-') throw badParameter(`fromSrc=${fromSrc}: importing from a URL is not supported; pipe the file instead (docker import - < rootfs.tar)`);
  if (call.query.getAll('changes').length) throw badParameter('docker import --change is not supported by this engine; build a Dockerfile FROM the imported image instead');
  const repo = call.query.get('repo') ?? '';
  const tag = call.query.get('tag');
  const ref = repo ? formatReference(referenceOrBadRequest(tag ? `${repo}:${tag}` : repo)) : '';
  const tmp = join(deps.store.content.ingestDir, `import-${tmpName()}`);
  try {
    await pipeline(call.req, createWriteStream(tmp));
    const info = await deps.store.importRootfs(tmp, ref).catch((e: Error) => {
      throw badParameter(`cannot import the root filesystem: ${e.message}`);
    });
    const stream = new JsonProgressStream(call.res!);
    stream.write({ status: info.id });
    stream.end();
    return undefined;
  } finally {
    await rm(tmp, { force: true });
  }
}
