/**
 * The Docker Engine API beside a node: `skiff up` and `skiff agent` serve it on
 * `unix://DATA_DIR/docker.sock` (0660), and on `/var/run/docker.sock` too when the default data
 * dir is used and no other daemon answers there. Containers run as pods on this node.
 */
import fs from 'node:fs';
import { join } from 'node:path';
import type { RestClient } from '../client/rest.js';
import { DockerEngine } from '../docker/server.js';
import { dockerHandlers } from '../docker/engine.js';
import { imageRoutes } from '../docker/images/routes.js';
import type { ApiEndpoint } from '../docker/pod-streams.js';
import type { DockerRoute } from '../docker/route.js';
import { ImageStore } from '../image/store.js';
import { DEFAULT_DATA_DIR } from './defaults.js';

/** The system-wide socket path Docker clients try by default. */
export const SYSTEM_DOCKER_SOCKET = '/var/run/docker.sock';

export interface DockerEngineStartOptions {
  client: RestClient;
  api: ApiEndpoint;
  dataDir: string;
  nodeName?: string;
  /** More handler modules, matched before the image and container ones. */
  extraRoutes?: (deps: { images: ImageStore; containersUsingImage(imageId: string): Promise<string[]> }) => DockerRoute[];
  log?(msg: string): void;
}

export interface RunningDockerEngine {
  /** Sockets served, as `unix://…` URLs. */
  hosts: string[];
  stop(): Promise<void>;
}

/** Starts the engine; a failure to bind the system socket is only reported. */
export async function startDockerEngine(o: DockerEngineStartOptions): Promise<RunningDockerEngine> {
  const images = ImageStore.open(o.dataDir);
  const handlers = dockerHandlers({ client: o.client, api: o.api, images, dataDir: o.dataDir, nodeName: o.nodeName, log: o.log });
  const containersUsingImage = async (imageId: string) => (await handlers.service.list()).filter((c) => c.rec.imageId === imageId).map((c) => c.rec.id);
  const extra = o.extraRoutes?.({ images, containersUsingImage }) ?? [];
  const engine = new DockerEngine({ routes: [...extra, ...imageRoutes({ store: images, containersUsingImage }), ...handlers.routes] });
  const own = join(o.dataDir, 'docker.sock');
  fs.mkdirSync(o.dataDir, { recursive: true });
  await engine.listen(own);
  const hosts = [`unix://${own}`];
  if (o.dataDir === DEFAULT_DATA_DIR) {
    try {
      await engine.listen(SYSTEM_DOCKER_SOCKET);
      hosts.push(`unix://${SYSTEM_DOCKER_SOCKET}`);
    } catch (err) {
      o.log?.(`not serving ${SYSTEM_DOCKER_SOCKET}: ${(err as Error).message}`);
    }
  }
  const stopReconciler = handlers.startReconciler();
  return {
    hosts,
    async stop() {
      stopReconciler();
      await engine.close();
      for (const h of hosts) fs.rmSync(h.replace(/^unix:\/\//, ''), { force: true });
    },
  };
}
