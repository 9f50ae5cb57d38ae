/**
 * Test support: a Docker engine serving the image routes on a temp socket, over a real image
 * store holding `busybox:latest`, and the real docker CLI (DOCKER_BUILDKIT=0, a temp
 * DOCKER_CONFIG) and docker-py pointed at it.
 */
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { busyboxStore } from '../../image/testing/busybox-store.js';
import type { ImageStore } from '../../image/store.js';
import { imageRoutes, type ImageRouteDeps } from '../images/routes.js';
import { DockerEngine } from '../server.js';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ImageEngine {
  store: ImageStore;
  /** Temp dir holding the store, the socket and the CLI's config. */
  dir: string;
  socket: string;
  /** The CLI's DOCKER_CONFIG dir (its config.json is where `docker login` writes). */
  dockerConfig: string;
  /** Container IDs `containersUsingImage` reports, by image ID; tests fill it. */
  usedBy: Map<string, string[]>;
  /** Runs the docker CLI against the engine. */
  docker(args: string[], opts?: { input?: Buffer | string; cwd?: string }): Promise<CommandResult>;
  /** Runs a python3 script with docker-py connected to the engine as `client`. */
  python(script: string): Promise<CommandResult>;
  close(): Promise<void>;
}

function spawnCollect(cmd: string, args: string[], env: NodeJS.ProcessEnv, input?: Buffer | string, cwd?: string): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
    child.stdin.on('error', () => {});
    child.stdin.end(input ?? '');
  });
}

/** Starts the engine. `deps` override the defaults (the daemon's own docker config is a missing file, so only request credentials count). */
export async function startImageEngine(deps: Partial<ImageRouteDeps> = {}): Promise<ImageEngine> {
  const env = await busyboxStore();
  const socket = join(env.dir, 'docker.sock');
  const dockerConfig = join(env.dir, 'cli-config');
  mkdirSync(dockerConfig);
  const usedBy = new Map<string, string[]>();
  const engine = new DockerEngine({
    routes: imageRoutes({
      store: env.store,
      containersUsingImage: async (id) => usedBy.get(id) ?? [],
      dockerConfig: join(env.dir, 'daemon-config.json'),
      ...deps,
    }),
  });
  await engine.listen(socket);
  const cliEnv = { ...process.env, DOCKER_HOST: `unix://${socket}`, DOCKER_CONFIG: dockerConfig, DOCKER_BUILDKIT: '0', DOCKER_CLI_HINTS: 'false' };
  return {
    store: env.store,
    dir: env.dir,
    socket,
    dockerConfig,
    usedBy,
    docker: (args, opts = {}) => spawnCollect('/usr/local/bin/docker', args, cliEnv, opts.input, opts.cwd),
    python: (script) => spawnCollect('/usr/bin/python3', ['-c', `import docker\nclient = docker.DockerClient(base_url='unix://${socket}')\n${script}`], cliEnv),
    async close() {
      await engine.close();
      env.cleanup();
    },
  };
}
