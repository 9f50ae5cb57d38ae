/** `GET /info`, `GET /events` (a stream of the engine's container, network and volume events), `GET /system/df`. */
import os from 'node:os';
import type { ServerResponse } from 'node:http';
import type { ImageStore } from '../image/store.js';
import { ENGINE_VERSION } from './server.js';
import type { DockerRoute } from './route.js';
import type { ContainerService, EngineEvent } from './containers/service.js';
import { containerState, parseFilters } from './containers/views.js';

/** The system routes. */
export function systemRoutes(svc: ContainerService, images: ImageStore, dataDir: string): DockerRoute[] {
  return [
    {
      method: 'GET',
      path: '/info',
      handle: async () => {
        const all = await svc.list();
        const states = all.map((c) => containerState(c.rec, c.pod).Status);
        const count = (s: string) => states.filter((x) => x === s).length;
        return {
          status: 200,
          body: {
            ID: 'skiff',
            Containers: all.length,
            ContainersRunning: count('running') + count('restarting'),
            ContainersPaused: count('paused'),
            ContainersStopped: count('exited') + count('created'),
            Images: images.list().length,
            Driver: 'overlay2',
            DriverStatus: [],
            Plugins: { Volume: ['local'], Network: ['bridge', 'host', 'null'], Log: ['json-file'] },
            MemoryLimit: true,
            SwapLimit: false,
            CpuCfsPeriod: true,
            CpuCfsQuota: true,
            IPv4Forwarding: true,
            Debug: false,
            NFd: 0,
            NGoroutines: 0,
            SystemTime: new Date().toISOString(),
            LoggingDriver: 'json-file',
            CgroupDriver: 'cgroupfs',
            NEventsListener: svc.events.listenerCount('event'),
            KernelVersion: os.release(),
            OperatingSystem: 'skiff',
            OSVersion: '',
            OSType: 'linux',
            Architecture: os.arch() === 'x64' ? 'x86_64' : os.arch(),
            IndexServerAddress: 'https://index.docker.io/v1/',
            RegistryConfig: { InsecureRegistryCIDRs: ['127.0.0.0/8'], IndexConfigs: {}, Mirrors: [] },
            NCPU: os.cpus().length,
            MemTotal: os.totalmem(),
            DockerRootDir: dataDir,
            Name: os.hostname(),
            Labels: [],
            ExperimentalBuild: false,
            ServerVersion: ENGINE_VERSION,
            Runtimes: { runc: { path: 'runc' } },
            DefaultRuntime: 'runc',
            Swarm: { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null },
            LiveRestoreEnabled: false,
            Isolation: '',
            InitBinary: '',
            SecurityOptions: [],
            Warnings: [],
          },
        };
      },
    },
    {
      method: 'GET',
      path: '/events',
      handle: async (call) => {
        const filters = parseFilters(call.query.get('filters'));
        const until = call.query.get('until');
        const res = call.res as ServerResponse;
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.flushHeaders();
        const pass = (ev: EngineEvent) =>
          (!filters.type?.length || filters.type.includes(ev.Type)) &&
          (!filters.event?.length || filters.event.some((e) => ev.Action === e || ev.Action.startsWith(`${e}:`))) &&
          (!filters.container?.length || filters.container.some((c) => ev.Actor.ID.startsWith(c) || ev.Actor.Attributes.name === c)) &&
          (!filters.label?.length || filters.label.every((l) => (l.includes('=') ? ev.Actor.Attributes[l.split('=')[0]] === l.slice(l.indexOf('=') + 1) : l in ev.Actor.Attributes)));
        const onEvent = (ev: EngineEvent) => {
          if (!pass(ev)) return;
          res.write(JSON.stringify({ status: ev.Action, id: ev.Actor.ID, from: ev.Actor.Attributes.image, ...ev, scope: 'local' }) + '\n');
        };
        svc.events.on('event', onEvent);
        let timer: NodeJS.Timeout | undefined;
        if (until && /^\d+(\.\d+)?$/.test(until)) timer = setTimeout(() => res.end(), Math.max(0, Number(until) * 1000 - Date.now()));
        await new Promise<void>((resolve) => res.on('close', () => resolve()));
        if (timer) clearTimeout(timer);
        svc.events.off('event', onEvent);
        return undefined;
      },
    },
    {
      method: 'GET',
      path: '/system/df',
      handle: async () => {
        const all = await svc.list();
        return {
          status: 200,
          body: {
            LayersSize: images.list().reduce((a, i) => a + i.size, 0),
            Images: images.list().map((i) => ({ Id: i.id, RepoTags: i.ref ? [i.ref] : [], Size: i.size, SharedSize: -1, Containers: all.filter((c) => c.rec.imageId === i.id).length, Created: Math.floor(Date.parse(i.created ?? '1970-01-01') / 1000), Labels: {}, ParentId: '', RepoDigests: [], VirtualSize: i.size })),
            Containers: all.map((c) => ({ Id: c.rec.id, Names: [`/${c.rec.name}`], Image: c.rec.image, ImageID: c.rec.imageId, State: containerState(c.rec, c.pod).Status, SizeRw: 0, SizeRootFs: 0, Created: Math.floor(Date.parse(c.rec.created) / 1000), Labels: c.rec.config.Labels ?? {}, Command: c.rec.path, Mounts: [] })),
            Volumes: [],
            BuildCache: [],
          },
        };
      },
    },
  ];
}
