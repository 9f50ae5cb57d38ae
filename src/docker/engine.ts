/**
 * The Docker engine's handler modules assembled: the container service on the Kubernetes API,
 * its routes (containers, streams, system, networks, volumes) and the loop that applies what a
 * pod cannot (`--rm`, on-failure's limit) when no client is waiting on a container.
 */
import { join } from 'node:path';
import type { RestClient } from '../client/rest.js';
import type { ImageStore } from '../image/store.js';
import { archiveRoutes } from './containers/archive.js';
import { containerRoutes } from './containers/routes.js';
import { statsRoutes } from './containers/stats.js';
import { ContainerService } from './containers/service.js';
import { streamRoutes } from './containers/streams.js';
import type { ApiEndpoint } from './pod-streams.js';
import type { DockerRoute } from './route.js';
import { systemRoutes } from './system.js';
import { NetworkService, networkRoutes } from './networks.js';
import { volumeRoutes } from './volumes.js';

export interface DockerDeps {
  /** A client of the cluster's API (in-process or HTTPS). */
  client: RestClient;
  /** The API server as a WebSocket peer for pods/exec and pods/attach. */
  api: ApiEndpoint;
  images: ImageStore;
  dataDir: string;
  /** This machine's node: Docker containers run here (host paths and ports are this host's). */
  nodeName?: string;
  log?(msg: string): void;
}

/** The engine's handlers and the service behind them. */
export interface DockerHandlers {
  service: ContainerService;
  networks: NetworkService;
  routes: DockerRoute[];
  /** Applies restart policies at start, then `--rm` and retry limits every `intervalMs`; returns a stop function. */
  startReconciler(intervalMs?: number): () => void;
}

/** Builds the container, stream and system handlers on a cluster. */
export function dockerHandlers(deps: DockerDeps): DockerHandlers {
  const service = new ContainerService({
    client: deps.client,
    images: deps.images,
    volumesDir: join(deps.dataDir, 'docker', 'volumes'),
    nodeName: deps.nodeName,
    log: deps.log,
  });
  const networks = new NetworkService(deps.client, service);
  service.networkSearch = (name) => networks.search(name);
  const ctx = { svc: service, transport: deps.client.transport, api: deps.api };
  const routes = [
    ...containerRoutes(ctx),
    ...streamRoutes(ctx),
    ...archiveRoutes(ctx),
    ...statsRoutes(ctx),
    ...systemRoutes(service, deps.images, deps.dataDir),
    ...networkRoutes(networks, service),
    ...volumeRoutes(service, join(deps.dataDir, 'docker', 'volumes')),
  ];
  return {
    service,
    networks,
    routes,
    startReconciler(intervalMs = 1000) {
      let stopped = false;
      let timer: NodeJS.Timeout | undefined;
      const tick = async () => {
        try {
          const all = await service.list();
          for (const c of all) {
            if (stopped) return;
            await service.reconcile(c);
          }
          await networks.sync(all);
        } catch (err) {
          deps.log?.(`reconcile: ${(err as Error).message}`);
        }
        if (!stopped) timer = setTimeout(() => void tick(), intervalMs);
      };
      void service
        .restartPolicies()
        .catch((err) => deps.log?.(`restart policies: ${(err as Error).message}`))
        .then(() => tick());
      return () => {
        stopped = true;
        if (timer) clearTimeout(timer);
      };
    },
  };
}
