/**
 * The node agent (skiff's kubelet). Wires the parts together:
 *
 * - {@link NodeManager}: Node registration, Lease heartbeat, node status.
 * - pod workers ({@link PodWorker}), fed by an informer on `spec.nodeName=<node>` and by a
 *   PLEG-style relist of the runtime every second (a container that exits triggers its pod).
 * - {@link ProbeManager}, {@link VolumeManager}, the runc runtime, the image store.
 * - {@link AgentServer}: logs/exec/attach/port-forward/stats over HTTPS for the API server.
 *
 * Everything goes through the Kubernetes API; the agent keeps no state of its own beyond
 * what the runtime persists (labels on sandboxes and containers), so `Agent.start` on the same
 * data dir adopts running pods without restarting them.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import type { ConfigMap, PersistentVolume, PersistentVolumeClaim, Pod as K8sPod, Secret, Service } from 'kubernetes-types/core/v1.js';
import type { KObject } from '../client/types.js';

/** A Pod as the informer caches it. */
type Pod = K8sPod & KObject;
import { badRequest, isReason, StatusError } from '../api/errors.js';
import { realClock, type Clock, type Timer } from '../util/clock.js';
import { Recorder, type EventRecorder } from '../client/events.js';
import { Informer } from '../client/informer.js';
import { CONFIGMAPS, PERSISTENT_VOLUME_CLAIMS, PERSISTENT_VOLUMES, PODS, SECRETS, SERVICES } from '../client/resources.js';
import type { Client } from '../client/types.js';
import { ImageStore } from '../image/store.js';
import { CniNetwork } from '../network/cni.js';
import { RuncRuntime } from '../runtime/runc.js';
import { Labels, type ContainerStatus, type Runtime } from '../runtime/types.js';
import { Backoff } from './backoff.js';
import { serviceEnvVars, type EnvSources } from './container-spec.js';
import { NodeManager } from './node.js';
import { sortInstances } from './pod-actions.js';
import { PodWorker, removePodResources, type PodWorkerContext, type PullImage } from './pod-worker.js';
import { ProbeManager } from './probes.js';
import { AgentServer, type AgentTls, type StreamBackend, type StreamTarget } from './server.js';
import { StatsCollector } from './stats.js';
import { writeIdentity } from './reset.js';
import { VolumeManager } from './volumes.js';

export interface AgentOptions {
  client: Client;
  nodeName: string;
  /** skiff's data dir: runtime state, images, pods/<uid>, agent-pki. */
  dataDir: string;
  /** This node's pod CIDR, e.g. 10.42.0.0/24. */
  podCidr: string;
  /** Linux bridge of the pod network (≤ 15 chars); default `skiff0`. */
  bridge?: string;
  /** Prefix of runc/netns/cgroup/CNI names so two clusters on one host never collide; default `skiff`. */
  namePrefix?: string;
  /** Cluster DNS server for dnsPolicy ClusterFirst; without it pods get the host's resolv.conf. */
  clusterDns?: string;
  clusterDomain?: string;
  /** Address the HTTPS stream server listens on; also the node's InternalIP unless 0.0.0.0. */
  serveHost: string;
  /** 0 = pick a free port. */
  servePort: number;
  /** The node's InternalIP, what other nodes and the API server reach it at (default: serveHost, or the host's first IPv4 when that is a wildcard). */
  nodeIP?: string;
  /** The agent server's TLS: the cluster CA (for the API server's client certificate) and its serving certificate. */
  tls: AgentTls;
  reserved?: { cpu?: string; memory?: string };
  clock?: Clock;
  /** Plug-in registry puller; without it missing images report ErrImagePull with how to load them. */
  pullImage?: PullImage;
  /** Crash-loop back-off (default 10 s doubling to 5 min); tests shorten it. */
  backoff?: { initialMs: number; maxMs: number };
  /** Image-pull back-off (default as the crash-loop one). */
  imageBackoff?: { initialMs: number; maxMs: number };
  /** Lease renewal period (default 10 s). */
  leaseIntervalMs?: number;
  /** How often the runtime is relisted to notice exits (default 1 s). */
  relistMs?: number;
  /** A runtime to use instead of runc on the CNI bridge (tests, simulated nodes). */
  runtime?: Runtime;
  /** Hook for projected serviceAccountToken volumes (the service-account issue plugs in here). */
  serviceAccountToken?: (pod: Pod, audience: string | undefined, expirationSeconds: number) => Promise<string>;
  /** Unsafe sysctls (or `prefix*` patterns) pods may set, as the kubelet's --allowed-unsafe-sysctls. */
  allowedUnsafeSysctls?: string[];
  log?: (line: string) => void;
}

/** The node's first non-internal IPv4 address, or 127.0.0.1. */
export function hostIPv4(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

/**
 * Hidden knob for end-to-end tests of `skiff up`: SKIFF_AGENT_BACKOFF_MS="INITIAL[,MAX]" shortens
 * the crash-loop (and image-pull) back-off, which otherwise starts at 10 s.
 */
function backoffFromEnv(): { initialMs: number; maxMs: number } | undefined {
  const v = process.env.SKIFF_AGENT_BACKOFF_MS;
  if (!v) return undefined;
  const [a, b] = v.split(',').map((x) => Number(x.trim()));
  if (!a || !Number.isFinite(a) || a <= 0) return undefined;
  return { initialMs: a, maxMs: b && Number.isFinite(b) && b >= a ? b : Math.max(a, 300_000) };
}

/** Picks the CNI/bridge names for a name prefix (what `skiff reset` removes). */
export function networkNames(namePrefix: string, bridge?: string): { network: string; bridge: string } {
  return { network: `${namePrefix}-pods`, bridge: bridge ?? (namePrefix === 'skiff' ? 'skiff0' : `${namePrefix}0`.slice(0, 15)) };
}

export class Agent {
  readonly nodeName: string;
  readonly runtime: Runtime;
  readonly images: ImageStore;
  readonly server: AgentServer;
  readonly cni?: CniNetwork;
  private readonly informer: Informer<Pod>;
  private readonly workers = new Map<string, PodWorker>();
  private readonly node: NodeManager;
  private readonly probes: ProbeManager;
  private readonly ctx: PodWorkerContext;
  private readonly stats: StatsCollector;
  private readonly clock: Clock;
  private relistTimer?: Timer;
  private housekeepingTimer?: Timer;
  private lastRelist = new Map<string, string>();
  private stopped = false;

  private constructor(
    private readonly o: AgentOptions,
    parts: { runtime: Runtime; cni?: CniNetwork; images: ImageStore; server: AgentServer; hostIP: string },
  ) {
    this.nodeName = o.nodeName;
    this.runtime = parts.runtime;
    this.cni = parts.cni;
    this.images = parts.images;
    this.server = parts.server;
    this.clock = o.clock ?? realClock;
    const log = o.log ?? ((l: string) => process.stderr.write(`agent: ${l}\n`));
    const recorder: EventRecorder = new Recorder(o.client, { component: 'kubelet', host: o.nodeName, clock: this.clock });
    this.node = new NodeManager({
      client: o.client, nodeName: o.nodeName, podCidr: o.podCidr, hostIP: parts.hostIP, port: parts.server.port, dataDir: o.dataDir,
      reserved: o.reserved, clock: this.clock, images: parts.images, leaseIntervalMs: o.leaseIntervalMs, log,
    });
    this.probes = new ProbeManager(this.runtime, this.clock, {
      onChange: (id) => this.workerOfContainer(id)?.trigger(),
      onFailure: (id, type, output) => void this.workerOfContainer(id)?.killForProbe(id, type, output),
      onUnhealthy: (id, type, output) => {
        const w = this.workerOfContainer(id);
        if (w) recorder.event(w.pod as never, 'Warning', 'Unhealthy', `${type[0]!.toUpperCase()}${type.slice(1)} probe failed: ${output}`.trim());
      },
      podIP: (id) => this.workerOfContainer(id)?.ip ?? '',
    });
    const get = async <T>(ref: typeof CONFIGMAPS, ns: string | undefined, name: string): Promise<T | undefined> => {
      try {
        return await o.client.get<T>(ref, ns, name);
      } catch (e) {
        if (isReason(e, 'NotFound')) return undefined;
        throw e;
      }
    };
    const podsDir = join(o.dataDir, 'pods');
    const backoff = o.backoff ?? backoffFromEnv();
    const volumes = new VolumeManager(podsDir, {
      getConfigMap: (ns, n) => get<ConfigMap>(CONFIGMAPS, ns, n),
      getSecret: (ns, n) => get<Secret>(SECRETS, ns, n),
      getClaimVolume: async (ns, n) => {
        const claim = await get<PersistentVolumeClaim>(PERSISTENT_VOLUME_CLAIMS, ns, n);
        const volumeName = claim?.spec?.volumeName;
        return { claim, volume: volumeName ? await get<PersistentVolume>(PERSISTENT_VOLUMES, undefined, volumeName) : undefined };
      },
      serviceAccountToken: o.serviceAccountToken,
    }, { nodeName: o.nodeName, hostIP: () => parts.hostIP, allocatable: () => this.node.allocatable });
    this.ctx = {
      client: o.client,
      runtime: this.runtime,
      images: parts.images,
      volumes,
      probes: this.probes,
      recorder,
      clock: this.clock,
      backoff: new Backoff(this.clock, backoff?.initialMs, backoff?.maxMs),
      imageBackoff: new Backoff(this.clock, o.imageBackoff?.initialMs ?? backoff?.initialMs, o.imageBackoff?.maxMs ?? backoff?.maxMs),
      nodeName: o.nodeName,
      hostIP: () => parts.hostIP,
      podsDir,
      clusterDns: o.clusterDns,
      clusterDomain: o.clusterDomain ?? 'cluster.local',
      pullImage: o.pullImage,
      envSources: (pod, podIP) => this.envSources(pod, podIP, parts.hostIP),
      allocatable: () => this.node.allocatable,
      trackContainer: (id, uid) => this.containerPod.set(id, uid),
      allowedUnsafeSysctls: o.allowedUnsafeSysctls,
      seccompDir: join(o.dataDir, 'seccomp'),
      log,
    };
    this.stats = new StatsCollector(this.runtime, o.nodeName);
    this.informer = new Informer<Pod>(o.client, PODS, { fieldSelector: `spec.nodeName=${o.nodeName}`, clock: this.clock });
  }

  /** Starts the agent: server, node registration, pod informer, relist and housekeeping loops. */
  static async start(o: AgentOptions): Promise<Agent> {
    mkdirSync(o.dataDir, { recursive: true });
    const prefix = o.namePrefix ?? 'skiff';
    let cni: CniNetwork | undefined;
    let runtime = o.runtime;
    if (!runtime) {
      const names = networkNames(prefix, o.bridge);
      cni = new CniNetwork({ name: names.network, bridge: names.bridge, subnet: o.podCidr, dataDir: join(o.dataDir, 'cni') });
      runtime = new RuncRuntime({ dataDir: o.dataDir, cni, namePrefix: prefix });
      writeIdentity(o.dataDir, { namePrefix: prefix, bridge: names.bridge, network: names.network, podCidr: o.podCidr, nodeName: o.nodeName });
    }
    const images = ImageStore.open(o.dataDir);
    const hostIP = o.nodeIP ?? (o.serveHost === '0.0.0.0' || o.serveHost === '::' ? hostIPv4() : o.serveHost);
    let agent: Agent | undefined;
    const backend: StreamBackend = {
      runtime,
      container: (ns, pod, c, prev) => agent!.streamTarget(ns, pod, c, prev),
      podIP: (ns, pod) => agent!.podIPOf(ns, pod),
      statsSummary: () => agent!.stats.summary(agent!.informer.list()),
      log: (m) => o.log?.(m),
    };
    const server = await AgentServer.start({ host: o.serveHost, port: o.servePort, tls: o.tls, backend });
    try {
      agent = new Agent(o, { runtime, cni, images, server, hostIP });
      await agent.node.start();
      agent.informer.addEventHandler({
        onAdd: (p) => agent!.podChanged(p),
        onUpdate: (_o, p) => agent!.podChanged(p),
        onDelete: (p) => agent!.podDeleted(p),
      });
      agent.informer.start();
      await agent.informer.waitForSync();
      agent.scheduleRelist();
      agent.scheduleHousekeeping(2000);
      return agent;
    } catch (e) {
      await server.stop();
      throw e;
    }
  }

  /** The stream server's port (the Node's daemonEndpoints.kubeletEndpoint.Port). */
  get port(): number {
    return this.server.port;
  }

  /**
   * Stops watching and serving; running pods keep running (a new Agent on the same data dir
   * adopts them). Waits for in-flight pod syncs.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.informer.stop();
    this.relistTimer?.cancel();
    this.housekeepingTimer?.cancel();
    this.node.stop();
    this.probes.stopAll();
    await Promise.all([...this.workers.values()].map((w) => w.settle()));
    for (const w of this.workers.values()) w.stop();
    await this.server.stop();
    await (this.ctx.recorder as Recorder).flush?.();
  }

  /** Waits until every pod worker is idle (tests). */
  async settle(): Promise<void> {
    await Promise.all([...this.workers.values()].map((w) => w.settle()));
  }

  /** Whether this agent has completed a sync of pod `uid` (it adopted or started what the pod needs). */
  podSynced(uid: string): boolean {
    return this.workers.get(uid)?.lastSyncedAt !== undefined;
  }

  private podChanged(p: Pod): void {
    if (this.stopped) return;
    const uid = p.metadata?.uid;
    if (!uid) return;
    let w = this.workers.get(uid);
    if (w?.finished) return;
    const pod = structuredClone(p) as Pod;
    if (!w) {
      w = new PodWorker(this.ctx, pod);
      this.workers.set(uid, w);
      w.trigger();
    } else w.update(pod);
  }

  private podDeleted(p: Pod): void {
    const uid = p.metadata?.uid;
    if (!uid) return;
    const w = this.workers.get(uid);
    this.workers.delete(uid);
    if (w && !w.finished) void w.cleanupGone().catch((e) => this.ctx.log(`cleaning up pod ${p.metadata?.name}: ${e}`));
  }

  private workerOfContainer(containerId: string): PodWorker | undefined {
    for (const w of this.workers.values()) if (this.containerPod.get(containerId) === w.uid) return w;
    return undefined;
  }

  private containerPod = new Map<string, string>();

  /** PLEG: relist the runtime and poke the pods whose containers changed state. */
  private scheduleRelist(): void {
    if (this.stopped) return;
    this.relistTimer = this.clock.setTimeout(() => {
      this.relist()
        .catch((e) => this.ctx.log(`relist failed: ${(e as Error).message}`))
        .finally(() => this.scheduleRelist());
    }, this.o.relistMs ?? 1000);
  }

  private async relist(): Promise<void> {
    const all = await this.runtime.listContainers();
    const byPod = new Map<string, string[]>();
    for (const c of all) {
      const uid = c.labels[Labels.podUid];
      if (!uid) continue;
      this.containerPod.set(c.id, uid);
      byPod.set(uid, [...(byPod.get(uid) ?? []), `${c.id.slice(0, 12)}:${c.state}`]);
    }
    const ids = new Set(all.map((c) => c.id));
    for (const id of this.containerPod.keys()) if (!ids.has(id)) this.containerPod.delete(id);
    for (const [uid, states] of byPod) {
      const fp = states.sort().join(',');
      if (this.lastRelist.get(uid) !== fp) {
        this.lastRelist.set(uid, fp);
        this.workers.get(uid)?.trigger();
      }
    }
    for (const uid of this.lastRelist.keys()) if (!byPod.has(uid)) this.lastRelist.delete(uid);
  }

  /** Removes what belongs to pods no longer bound here (force-deleted while the agent was down…). */
  private scheduleHousekeeping(ms = 10_000): void {
    if (this.stopped) return;
    this.housekeepingTimer = this.clock.setTimeout(() => {
      this.housekeeping()
        .catch((e) => this.ctx.log(`housekeeping failed: ${(e as Error).message}`))
        .finally(() => this.scheduleHousekeeping());
    }, ms);
  }

  private async housekeeping(): Promise<void> {
    if (!this.informer.hasSynced()) return;
    // Periodic resync (the kubelet's syncFrequency): refreshes configMap/secret volumes, retries.
    for (const w of this.workers.values()) w.trigger();
    const known = new Set(this.informer.list().map((p) => p.metadata?.uid));
    const orphans = new Set<string>();
    for (const s of await this.runtime.listPodSandboxes()) {
      const uid = s.labels[Labels.podUid];
      if (uid && !known.has(uid) && !this.workers.has(uid)) orphans.add(uid);
    }
    for (const uid of this.ctx.volumes.podUids()) if (!known.has(uid) && !this.workers.has(uid)) orphans.add(uid);
    for (const uid of orphans) {
      this.ctx.log(`removing orphaned pod ${uid}`);
      await removePodResources(this.ctx, uid, 2).catch((e) => this.ctx.log(`removing orphaned pod ${uid}: ${e}`));
    }
    for (const [uid, w] of this.workers) if (w.finished && !known.has(uid)) this.workers.delete(uid);
  }

  private async envSources(pod: K8sPod, podIP: string, hostIP: string): Promise<EnvSources> {
    const ns = pod.metadata?.namespace ?? 'default';
    const serviceEnv = new Map<string, string>();
    try {
      const lists = [await this.o.client.list<Service>(SERVICES, ns)];
      if (ns !== 'default') lists.unshift({ metadata: { resourceVersion: '' }, items: [await this.o.client.get<Service>(SERVICES, 'default', 'kubernetes').catch(() => undefined)].filter((x): x is Service => !!x) });
      const links = pod.spec?.enableServiceLinks !== false;
      for (const l of lists) {
        for (const s of l.items) {
          const isMaster = s.metadata?.namespace === 'default' && s.metadata?.name === 'kubernetes';
          if (!links && !isMaster) continue;
          if (s.metadata?.namespace !== ns && !isMaster) continue;
          for (const [k, v] of serviceEnvVars(s.metadata?.name ?? '', s.spec?.clusterIP ?? '', (s.spec?.ports ?? []).map((p) => ({ name: p.name, port: p.port, protocol: p.protocol })))) serviceEnv.set(k, v);
        }
      }
    } catch {
      /* service links are best-effort */
    }
    const get = async <T>(ref: typeof CONFIGMAPS, name: string): Promise<T | undefined> => {
      try {
        return await this.o.client.get<T>(ref, ns, name);
      } catch (e) {
        if (isReason(e, 'NotFound')) return undefined;
        throw e;
      }
    };
    return {
      getConfigMap: (_ns, name) => get<ConfigMap>(CONFIGMAPS, name),
      getSecret: (_ns, name) => get<Secret>(SECRETS, name),
      podIP,
      hostIP,
      nodeName: this.nodeName,
      serviceEnv,
    };
  }

  private podOf(ns: string, name: string): Pod {
    const p = this.informer.get(ns, name);
    if (!p) throw new StatusError(404, 'NotFound', `pod "${name}" not found on node ${this.nodeName} (namespace ${ns})`);
    return p;
  }

  private async streamTarget(ns: string, podName: string, container: string | undefined, previous: boolean): Promise<StreamTarget> {
    const pod = this.podOf(ns, podName);
    const names = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? []), ...(pod.spec?.ephemeralContainers ?? [])].map((c) => c.name);
    const name = container || pod.metadata?.annotations?.['kubectl.kubernetes.io/default-container'] || pod.spec?.containers?.[0]?.name;
    if (!name || !names.includes(name)) {
      throw badRequest(`container ${name} is not valid for pod ${podName}`);
    }
    const list = sortInstances(await this.runtime.listContainers({ labels: { [Labels.podUid]: pod.metadata!.uid!, [Labels.containerName]: name } }));
    const inst: ContainerStatus | undefined = previous ? list[1] : list[0];
    if (!inst) throw badRequest(noLogsMessage(pod, name, previous));
    const rt = this.runtime;
    const stdinPath = rt instanceof RuncRuntime ? join(rt.stateDir, 'containers', inst.id, 'stdin') : undefined;
    return {
      id: inst.id,
      name,
      logPath: inst.logPath,
      stdinPath,
      running: async () => (await rt.containerStatus(inst.id))?.state === 'running',
    };
  }

  private async podIPOf(ns: string, name: string): Promise<string> {
    const pod = this.podOf(ns, name);
    const w = this.workers.get(pod.metadata!.uid!);
    const ip = w?.ip || pod.status?.podIP;
    if (!ip) throw badRequest(`pod ${name} has no IP address yet; wait until it is Running`);
    return ip;
  }

  /** Reads a file under the data dir (for tests and debugging). */
  static readPodFile(dataDir: string, uid: string, rel: string): string {
    return readFileSync(join(dataDir, 'pods', uid, rel), 'utf8');
  }
}

/**
 * Why a container has no log to show yet, in the kubelet's words (`validateContainerLogStatus`):
 * no previous instance for `--previous`, else the waiting reason from the pod's container status,
 * with the two image-pull reasons spelled out as the kubelet does.
 */
export function noLogsMessage(pod: K8sPod, container: string, previous: boolean): string {
  const podName = pod.metadata?.name ?? '';
  if (previous) return `previous terminated container "${container}" in pod "${podName}" not found`;
  const st = pod.status;
  const cs = [...(st?.containerStatuses ?? []), ...(st?.initContainerStatuses ?? []), ...(st?.ephemeralContainerStatuses ?? [])].find((c) => c.name === container);
  // Before the first status is written the container is being created: say so, as the status soon will.
  const reason = cs ? cs.state?.waiting?.reason : 'ContainerCreating';
  const prefix = `container "${container}" in pod "${podName}" is waiting to start`;
  if (reason === 'ErrImagePull') return `${prefix}: image can't be pulled`;
  if (reason === 'ImagePullBackOff') return `${prefix}: trying and failing to pull image`;
  if (reason) return `${prefix}: ${reason}`;
  return `${prefix} - no logs yet`;
}
