/**
 * The image side of the Docker Engine API: list, inspect, history, tag, remove, prune,
 * pull (`images/create`), push, save/load, build, `auth` (docker login) and
 * `distribution` — each route a thin adapter over the module that owns the concept
 * (summaries, remove, pull, push, archive, build, auth) and skiff's image store, registry
 * client and Dockerfile builder.
 */
import type { BuildOptions } from '../../builder/builder.js';
import { hostArchitecture, MediaTypes, type ImageIndex, type ImageManifest } from '../../image/oci.js';
import { RegistryClient } from '../../image/registry/client.js';
import { familiarString, formatReference } from '../../image/reference.js';
import type { ImageStore } from '../../image/store.js';
import { queryFlag, type DockerCall, type DockerReply, type DockerRoute } from '../route.js';
import { badParameter, DockerError } from '../errors.js';
import { parseFilters } from '../filters.js';
import { jsonObject } from '../body.js';
import { loadHandler, saveHandler } from './archive.js';
import { checkLogin, credentialsFor, registryAuthHeader, type RegistrySettings } from './auth.js';
import { buildHandler } from './build.js';
import { createImage, pullError, referenceOrBadRequest } from './pull.js';
import { pushHandler } from './push.js';
import { pruneImages, removeImage } from './remove.js';
import { filterImages, findImage, groupImages, imageHistory, imageInspect, imageSummary, matchingTags } from './summaries.js';

/** What the image routes need from the engine that mounts them. */
export interface ImageRouteDeps extends RegistrySettings {
  /** The node's image store (the one pods run from). */
  store: ImageStore;
  /** IDs of the containers created from image `imageId` (`sha256:…`), running or not: such images are not removed without force. */
  containersUsingImage(imageId: string): Promise<string[]>;
  /** Runs RUN steps of builds (default: runc on the store's data dir). */
  buildRunner?: NonNullable<BuildOptions['runner']>;
}

/** The image routes, to pass to `new DockerEngine({ routes: [...imageRoutes(deps), …] })`. */
export function imageRoutes(deps: ImageRouteDeps): DockerRoute[] {
  const { store } = deps;
  const route = (method: DockerRoute['method'], path: string, handle: (call: DockerCall) => Promise<DockerReply>): DockerRoute => ({ method, path, handle });
  return [
    route('GET', '/images/json', async (call) => {
      const filters = parseFilters(call.query.get('filters'));
      const images = filterImages(groupImages(store.list()), filters, (n) => findImage(store, n));
      return { status: 200, body: images.map((i) => imageSummary(matchingTags(i, filters))) };
    }),
    route('GET', '/images/search', async () => {
      throw new DockerError(404, 'image search is not available: this engine has no registry index to search; list a repository\'s tags with GET /v2/<name>/tags/list on its registry');
    }),
    route('GET', '/images/get', (call) => saveHandler(call, store)),
    route('POST', '/images/create', (call) => createImage(call, deps)),
    route('POST', '/images/load', (call) => loadHandler(call, store)),
    route('POST', '/images/prune', async (call) => ({ status: 200, body: await pruneImages(deps, call.query.get('filters')) })),
    route('GET', '/images/{name*}/json', async (call) => ({ status: 200, body: imageInspect(findImage(store, call.params.name!)) })),
    route('GET', '/images/{name*}/history', async (call) => ({ status: 200, body: imageHistory(findImage(store, call.params.name!)) })),
    route('GET', '/images/{name*}/get', (call) => saveHandler(call, store)),
    route('POST', '/images/{name*}/tag', async (call) => {
      const img = findImage(store, call.params.name!);
      const repo = call.query.get('repo');
      if (!repo) throw badParameter('repository name must have at least one component');
      const tag = call.query.get('tag');
      const target = referenceOrBadRequest(tag ? `${repo}:${tag}` : repo);
      if (target.digest) throw badParameter(`refusing to create a tag with a digest reference: ${repo}`);
      store.tag(img.info.digest, formatReference(target));
      return { status: 201 };
    }),
    route('POST', '/images/{name*}/push', (call) => pushHandler(call, deps)),
    route('DELETE', '/images/{name*}', async (call) => ({
      status: 200,
      body: await removeImage(deps, call.params.name!, { force: queryFlag(call.query, 'force'), noprune: queryFlag(call.query, 'noprune') }),
    })),
    route('POST', '/build', (call) => buildHandler(call, { ...deps, runner: deps.buildRunner })),
    route('POST', '/auth', async (call) => ({ status: 200, body: await checkLogin(await jsonObject(call, true), deps) })),
    route('GET', '/distribution/{name*}/json', async (call) => ({ status: 200, body: await distribution(call, deps) })),
  ];
}

/** `GET /distribution/{name}/json`: the registry's descriptor and platforms of a reference. */
async function distribution(call: DockerCall, deps: ImageRouteDeps): Promise<Record<string, unknown>> {
  const ref = referenceOrBadRequest(call.params.name!);
  const client = new RegistryClient(ref.domain, {
    credentials: credentialsFor(ref.domain, registryAuthHeader(call.req), deps),
    insecure: deps.insecureRegistries,
    dockerConfig: deps.dockerConfig,
    retries: 2,
  });
  try {
    const m = await client.getManifest(ref.path, ref.digest ?? ref.tag!);
    const parsed = JSON.parse(m.raw.toString('utf8')) as ImageIndex & ImageManifest;
    let platforms: { architecture: string; os: string; variant?: string }[];
    if (m.mediaType === MediaTypes.ociIndex || m.mediaType === MediaTypes.dockerManifestList) {
      platforms = (parsed.manifests ?? []).flatMap((d) => (d.platform ? [d.platform] : []));
    } else {
      const { stream } = await client.getBlob(ref.path, parsed.config.digest);
      const chunks: Buffer[] = [];
      for await (const c of stream) chunks.push(c as Buffer);
      const cfg = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { architecture?: string; os?: string; variant?: string };
      platforms = [{ architecture: cfg.architecture ?? hostArchitecture(), os: cfg.os ?? 'linux', ...(cfg.variant ? { variant: cfg.variant } : {}) }];
    }
    return { Descriptor: { mediaType: m.mediaType, digest: m.digest, size: m.raw.length }, Platforms: platforms };
  } catch (e) {
    const err = pullError(e, ref, client.baseUrl);
    if (err instanceof DockerError) throw err;
    throw new DockerError(500, `${familiarString(ref)}: ${err.message}`);
  }
}
