/**
 * `POST /build`: Docker's classic builder API (what the CLI uses with `DOCKER_BUILDKIT=0` or
 * without buildx, and what docker-py and docker-compose 1.x use) on skiff's Dockerfile
 * builder and its layer cache. The context tar is streamed to a temp directory
 * (build-context.ts), built, and removed. Output is the classic stream: `Step n/N : …`,
 * ` ---> <12 hex>`, ` ---> Using cache`, RUN output, `{"aux":{"ID"}}`, `Successfully built
 * <12 hex>`, `Successfully tagged x:latest` (docker-py finds the image by the `Successfully
 * built` line); `q=1` sends only the image ID. A failing RUN is an `errorDetail` line whose
 * `code` is the command's exit code, which the CLI exits with.
 */
import { existsSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { build, BuildError, type BuildOptions, type BuildStepObserver } from '../../builder/builder.js';
import { DockerfileError } from '../../builder/dockerfile.js';
import type { BuildProgress } from '../../builder/progress.js';
import type { BuildNetwork } from '../../builder/run.js';
import { tmpName } from '../../image/content-store.js';
import { hostArchitecture } from '../../image/oci.js';
import { pullImage } from '../../image/registry/client.js';
import { familiarString, parseNormalized, parseReference } from '../../image/reference.js';
import type { ImageStore } from '../../image/store.js';
import { queryFlag, type DockerCall, type DockerReply } from '../route.js';
import { badParameter, DockerError } from '../errors.js';
import { JsonProgressStream } from '../stream.js';
import { credentialsFor, registryConfigHeader, type RegistrySettings } from './auth.js';
import { receiveContext } from './build-context.js';
import { pullError, referenceOrBadRequest } from './pull.js';

export interface BuildDeps extends RegistrySettings {
  store: ImageStore;
  /** Runs RUN steps (default: the builder's, runc on the store's data dir). */
  runner?: NonNullable<BuildOptions['runner']>;
}

/** The build parameters of a `POST /build` query, checked before the body is read. */
export interface BuildParams {
  dockerfile: string;
  tags: string[];
  buildArgs: Record<string, string>;
  labels: Record<string, string>;
  target?: string;
  noCache: boolean;
  pull: boolean;
  quiet: boolean;
  network?: BuildNetwork;
}

function jsonObject(query: URLSearchParams, name: string): Record<string, string> {
  const text = query.get(name);
  if (!text) return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw badParameter(`invalid ${name}: not a JSON object: ${text}`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw badParameter(`invalid ${name}: not a JSON object: ${text}`);
  const out: Record<string, string> = {};
  // A null build arg means "take it from the client's environment", which the client does; unset here.
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) if (val !== null && val !== undefined) out[k] = String(val);
  return out;
}

/** Reads and checks the query of `POST /build`. */
export function buildParams(query: URLSearchParams): BuildParams {
  if (query.get('remote')) throw badParameter('building from a remote URL or git repository is not supported: send the context as a tar');
  const platform = query.get('platform');
  if (platform && !new RegExp(`^linux(/${hostArchitecture()}(/.*)?)?$`).test(platform)) {
    throw badParameter(`platform ${platform} is not served: this engine builds linux/${hostArchitecture()} images only`);
  }
  const dockerfile = posix.normalize(query.get('dockerfile') || 'Dockerfile');
  if (dockerfile.startsWith('/') || dockerfile.split('/').includes('..')) {
    throw badParameter(`the Dockerfile (${query.get('dockerfile')}) must be within the build context`);
  }
  const tags = query.getAll('t').filter(Boolean).map((t) => {
    referenceOrBadRequest(t);
    if (parseNormalized(t).digest) throw badParameter(`invalid reference format: a tag cannot hold a digest: ${JSON.stringify(t)}`);
    return t;
  });
  const net = query.get('networkmode') || 'default';
  if (!['default', 'host', 'none', 'bridge'].includes(net)) throw badParameter(`network mode ${JSON.stringify(net)} is not supported for builds (use default, host or none)`);
  return {
    dockerfile,
    tags,
    buildArgs: jsonObject(query, 'buildargs'),
    labels: jsonObject(query, 'labels'),
    target: query.get('target') || undefined,
    noCache: queryFlag(query, 'nocache'),
    pull: queryFlag(query, 'pull'),
    quiet: queryFlag(query, 'q'),
    network: net === 'none' ? 'none' : 'host',
  };
}

/** A builder error as the classic builder words it: RUN failures without the Dockerfile line prefix. */
function buildFailure(e: unknown): { message: string; code?: number } {
  if (e instanceof BuildError && e.exitCode !== undefined) return { message: e.message.replace(/^Dockerfile:\d+: /, ''), code: e.exitCode };
  return { message: (e as Error).message };
}

/** `POST /build`. */
export async function buildHandler(call: DockerCall, deps: BuildDeps): Promise<DockerReply> {
  const params = buildParams(call.query);
  const registryCreds = registryConfigHeader(call.req);
  const store = deps.store;
  const dir = join(store.dataDir, 'build-tmp', `context-${tmpName()}`);
  try {
    try {
      await receiveContext(call.req, dir);
    } catch (e) {
      drain(call);
      throw e;
    }
    const dockerfile = join(dir, params.dockerfile);
    if (!existsSync(dockerfile) || !statSync(dockerfile).isFile()) {
      throw badParameter(`Cannot locate specified Dockerfile: ${params.dockerfile}`);
    }
    const stream = new JsonProgressStream(call.res!);
    const out = (text: string) => {
      if (!params.quiet) stream.write({ stream: text });
    };
    const steps: BuildStepObserver = {
      begin: (n, total, text) => out(`Step ${n}/${total} : ${text}\n`),
      end: (_n, id) => out(` ---> ${id.slice(0, 12)}\n`),
    };
    let step = 0;
    const progress: BuildProgress = {
      start: () => ++step,
      log: (_s, line) => out(`${line}\n`),
      done: (_s, r) => {
        if (r.cached) out(' ---> Using cache\n');
      },
      // The builder's closing lines (`writing image …`, `naming to …`) are replaced by the classic ones below.
      info: (message) => {
        if (!/^(writing image|naming to) /.test(message)) out(`${message}\n`);
      },
    };
    try {
      const result = await build({
        store,
        contextDir: dir,
        dockerfile,
        tags: params.tags,
        buildArgs: params.buildArgs,
        labels: params.labels,
        target: params.target,
        noCache: params.noCache,
        alwaysPull: params.pull,
        network: params.network,
        runner: deps.runner,
        progress,
        steps,
        pull: async (ref) => {
          const domain = parseNormalized(ref).domain;
          return pullImage(store, ref, {
            credentials: credentialsFor(domain, registryCreds.get(domain), deps),
            insecure: deps.insecureRegistries,
            dockerConfig: deps.dockerConfig,
            progress: { event() {}, message: (line) => out(`${line}\n`), stop() {} },
          }).catch((e: unknown) => {
            throw pullError(e, parseNormalized(ref), domain);
          });
        },
      });
      if (params.quiet) {
        stream.write({ stream: `${result.id}\n` });
      } else {
        stream.write({ aux: { ID: result.id } });
        out(`Successfully built ${result.id.slice(7, 19)}\n`);
        for (const t of params.tags) out(`Successfully tagged ${familiarString(parseReference(t))}\n`);
      }
      stream.end();
    } catch (e) {
      const f = buildFailure(e);
      // Nothing written yet (the Dockerfile does not parse): a plain 400, as dockerd answers.
      const err = e instanceof DockerfileError || (e instanceof BuildError && f.code === undefined) ? new DockerError(400, f.message) : new Error(f.message);
      stream.fail(err, f.code);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return undefined;
}

/** Reads and drops the rest of a refused body, so the client gets the answer instead of a reset. */
function drain(call: DockerCall): void {
  call.req.resume();
}
