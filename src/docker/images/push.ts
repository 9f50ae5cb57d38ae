/**
 * `POST /images/{name}/push`: `docker push` through the image store's registry client, with
 * dockerd's progress lines (`The push refers to repository [...]`, per layer `Preparing` →
 * `Pushing` → `Pushed`, `Layer already exists` or `Mounted from …`, then `<tag>: digest:
 * sha256:… size: N` and the `aux` line the CLI and docker-py read). A missing image is a
 * plain 404; registry failures once output began (an unreachable registry, refused
 * credentials) are `errorDetail` lines, so the CLI prints them and exits 1.
 */
import { pushImage, RegistryClient, RegistryError, type RegistryClientOptions } from '../../image/registry/client.js';
import type { TransferProgress } from '../../image/registry/progress.js';
import { familiarString, formatReference, parseNormalized, parseReference } from '../../image/reference.js';
import type { ImageStore } from '../../image/store.js';
import type { DockerCall, DockerReply } from '../route.js';
import { DockerError } from '../errors.js';
import { JsonProgressStream } from '../stream.js';
import { credentialsFor, registryAuthHeader, type RegistrySettings } from './auth.js';
import { progressThrottle, referenceOrBadRequest, unreachable } from './pull.js';
import { groupImages } from './summaries.js';

export interface PushDeps extends RegistrySettings {
  store: ImageStore;
}

/** `POST /images/{name}/push?tag=`. */
export async function pushHandler(call: DockerCall, deps: PushDeps): Promise<DockerReply> {
  const name = call.params.name!;
  const tag = call.query.get('tag') ?? '';
  const repo = referenceOrBadRequest(name);
  const repoName = formatReference({ domain: repo.domain, path: repo.path });
  let targets: string[];
  if (tag) targets = [`${repoName}${tag.includes(':') ? '@' : ':'}${tag}`];
  else if (parseNormalized(name).tag || parseNormalized(name).digest) targets = [formatReference(repo)];
  else {
    // `docker push -a` (or a client that sends no tag): every local tag of the repository.
    targets = groupImages(deps.store.list()).flatMap((i) => i.refs).filter((r) => r.startsWith(repoName + ':'));
  }
  const missing = targets.length === 0 ? repoName : targets.find((t) => !deps.store.resolve(t));
  if (missing) throw new DockerError(404, `An image does not exist locally with the tag: ${familiarString(missing)}`);
  const credentials = credentialsFor(repo.domain, registryAuthHeader(call.req), deps);
  const opts: RegistryClientOptions = { credentials, insecure: deps.insecureRegistries, dockerConfig: deps.dockerConfig };
  const stream = new JsonProgressStream(call.res!);
  const baseUrl = new RegistryClient(repo.domain, opts).baseUrl;
  try {
    stream.write({ status: `The push refers to repository [${familiarRepo(repo.domain, repo.path)}]` });
    for (const target of targets) {
      const show = progressThrottle();
      const progress: TransferProgress = {
        event(e) {
          if (e.status === 'Pushing') {
            if (show(e)) stream.write({ status: 'Pushing', progressDetail: { current: e.current ?? 0, total: e.total ?? 0 }, id: e.id });
          } else stream.write({ status: e.status, progressDetail: {}, id: e.id });
        },
        // The client's summary lines are replaced by dockerd's.
        message() {},
        stop() {},
      };
      const r = await pushImage(deps.store, target, { ...opts, progress }).catch((e: unknown) => {
        throw pushError(e, repo.domain, baseUrl);
      });
      const label = r.tag ?? parseReference(target).digest ?? 'latest';
      stream.write({ status: `${label}: digest: ${r.digest} size: ${r.size}` });
      stream.write({ progressDetail: {}, aux: { Tag: label, Digest: r.digest, Size: r.size } });
    }
    stream.end();
  } catch (e) {
    stream.fail(e);
  }
  return undefined;
}

/** dockerd names Docker Hub repositories `docker.io/library/x` in this line and others as typed. */
function familiarRepo(domain: string, path: string): string {
  return `${domain}/${path}`;
}

function pushError(e: unknown, domain: string, baseUrl: string): Error {
  if (!(e instanceof RegistryError)) return e as Error;
  if (e.status === 0 && !e.code) return new Error(unreachable(e.message, domain, baseUrl));
  if (e.status === 401 || e.status === 403) return new Error(`unauthorized: authentication required to push to ${domain} (log in with: docker login ${domain})`);
  return new Error(e.message.replace(/ \(run `skiff login.*$/, ''));
}
