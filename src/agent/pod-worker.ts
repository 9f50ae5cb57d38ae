/**
 * One pod worker per pod on the node (pkg/kubelet/pod_workers.go + kuberuntime_manager.go
 * SyncPod): serialised, level-based syncs that compare the pod in the API with what the runtime
 * has and converge — sandbox, volumes, init containers in order, then the containers, restarts
 * with back-off per restartPolicy, probe-driven kills, graceful termination — and then write the
 * pod status when it changed. A sync reads the whole state again; it never depends on having
 * seen a particular event, so an agent restarted mid-way adopts what exists and carries on.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import type { Container, Pod, PodStatus } from 'kubernetes-types/core/v1.js';
import { isReason } from '../api/errors.js';
import type { Clock, Timer } from '../client/clock.js';
import type { EventRecorder } from '../client/events.js';
import { PODS } from '../client/resources.js';
import type { Client } from '../client/types.js';
import type { ImageInfo, ImageStore } from '../image/store.js';
import { parseNormalized } from '../image/reference.js';
import { Labels, type ContainerStatus, type Mount, type PodSandboxStatus, type Runtime } from '../runtime/types.js';
import { Backoff, formatDuration } from './backoff.js';
import {
  ContainerConfigError, buildEnv, containerResources, mergeEnv, resolveCommand, resolveUser, type EnvSources,
} from './container-spec.js';
import type { ProbeManager } from './probes.js';
import { computeStatus, type ContainerView, type Waiting } from './status.js';
import { VolumeError, type MountedVolume, type VolumeManager } from './volumes.js';

/** Annotation with a hash of the container spec: a changed spec restarts the container. */
export const HASH_ANNOTATION = 'io.kubernetes.container.hash';
/** Label marking a sandbox or container as this agent's (value: the node name). */
export const NODE_LABEL = 'io.skiff.node';

/** Pulls an image into the store (a registry puller plugs in here). */
/** Pulls `ref` into the node's image store, with the pod's imagePullSecrets (read in `namespace`). */
export type PullImage = (ref: string, pullSecrets: { name: string }[], namespace: string) => Promise<void>;

/** What pod workers share: the agent's components. */
export interface PodWorkerContext {
  client: Client;
  runtime: Runtime;
  images: ImageStore;
  volumes: VolumeManager;
  probes: ProbeManager;
  recorder: EventRecorder;
  clock: Clock;
  backoff: Backoff;
  imageBackoff: Backoff;
  nodeName: string;
  hostIP(): string;
  podsDir: string;
  clusterDns?: string;
  clusterDomain: string;
  pullImage?: PullImage;
  envSources(pod: Pod, podIP: string): Promise<EnvSources>;
  /** Tells the agent which pod a container belongs to (probe callbacks find the worker by it). */
  trackContainer?(containerId: string, podUid: string): void;
  allocatable(): { cpu?: string; memory?: string };
  log(msg: string): void;
}

/** Thrown when an image is not in the store and cannot be pulled. */
class ImagePullError extends Error {}

/** Newest first: by restart count, then creation time. */
export function sortInstances(list: ContainerStatus[]): ContainerStatus[] {
  const rc = (c: ContainerStatus) => Number(c.annotations[Labels.restartCount] ?? 0);
  return [...list].sort((a, b) => rc(b) - rc(a) || b.createdAt.getTime() - a.createdAt.getTime());
}

/** Hash of what, when changed, requires a new container (not resources: those resize in place upstream). */
export function containerHash(c: Container): string {
  const { image, command, args, env, envFrom, workingDir, volumeMounts, securityContext, ports, stdin, tty } = c;
  return createHash('sha256').update(JSON.stringify({ image, command, args, env, envFrom, workingDir, volumeMounts, securityContext, ports, stdin, tty })).digest('hex').slice(0, 16);
}

/** The image reference the status shows and the image ID (`repo@sha256:…`, never empty). */
export function imageIds(image: string, info: ImageInfo | undefined): { image: string; imageID: string } {
  let repo = image;
  let full = image;
  try {
    const r = parseNormalized(image);
    repo = `${r.domain}/${r.path}`;
    full = r.digest ? `${repo}@${r.digest}` : `${repo}:${r.tag ?? 'latest'}`;
  } catch {
    /* keep as written */
  }
  return { image: full, imageID: info ? `${repo}@${info.digest}` : full };
}

/** Serialised, level-based sync of one pod. */
export class PodWorker {
  pod: Pod;
  readonly uid: string;
  /** Set once the pod was terminated and deleted from the API (or vanished): the worker is finished. */
  finished = false;
  private running = false;
  private again = false;
  private wakeTimer?: Timer;
  private wakeAt = Infinity;
  private waiting = new Map<string, Waiting>();
  private imageFailedAt = new Map<string, number>();
  private lastStatus = '';
  private podIP = '';
  private lastVolumeSync = 0;
  private mounted?: Map<string, MountedVolume>;
  private termMessages = new Map<string, string>();
  private terminationStart?: number;
  private idle?: Promise<void>;
  private idleResolve?: () => void;

  constructor(private readonly ctx: PodWorkerContext, pod: Pod) {
    this.pod = pod;
    this.uid = pod.metadata!.uid!;
  }

  private get key(): string {
    return `${this.pod.metadata?.namespace}/${this.pod.metadata?.name}`;
  }

  /** The pod IP of the current sandbox ('' before it exists). */
  get ip(): string {
    return this.podIP;
  }

  /** New desired state from the API (undefined: the pod is gone from the API). */
  update(pod: Pod): void {
    this.pod = pod;
    this.trigger();
  }

  /** Asks for a sync (coalesced while one runs). */
  trigger(): void {
    if (this.finished) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void this.loop();
  }

  /** Resolves when no sync is running. */
  async settle(): Promise<void> {
    if (this.running) await (this.idle ??= new Promise((r) => (this.idleResolve = r)));
  }

  stop(): void {
    this.finished = true;
    this.wakeTimer?.cancel();
  }

  private wake(atMs: number): void {
    if (atMs >= this.wakeAt && this.wakeTimer) return;
    this.wakeTimer?.cancel();
    this.wakeAt = atMs;
    this.wakeTimer = this.ctx.clock.setTimeout(() => {
      this.wakeTimer = undefined;
      this.wakeAt = Infinity;
      this.trigger();
    }, Math.max(0, atMs - this.ctx.clock.now()));
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      try {
        if (this.pod.metadata?.deletionTimestamp) await this.terminate();
        else await this.sync();
      } catch (e) {
        this.ctx.log(`pod ${this.key}: sync failed: ${(e as Error).stack ?? e}`);
        // Level-based: retry soon.
        this.wake(this.ctx.clock.now() + 2000);
      }
    } while (this.again && !this.finished);
    this.running = false;
    this.idleResolve?.();
    this.idle = undefined;
    this.idleResolve = undefined;
  }

  private async runtimeState(): Promise<{ sandboxes: PodSandboxStatus[]; containers: ContainerStatus[] }> {
    const labels = { [Labels.podUid]: this.uid };
    const [sandboxes, containers] = await Promise.all([this.ctx.runtime.listPodSandboxes({ labels }), this.ctx.runtime.listContainers({ labels })]);
    return { sandboxes, containers };
  }

  private event(type: 'Normal' | 'Warning', reason: string, message: string): void {
    this.ctx.recorder.event(this.pod as never, type, reason, message);
  }

  private podDir(): string {
    return join(this.ctx.podsDir, this.uid);
  }

  // ----------------------------------------------------------------------------- sync

  private async sync(): Promise<void> {
    const pod = this.pod;
    const { sandboxes, containers } = await this.runtimeState();
    let sb = sandboxes.find((s) => s.state === 'ready' && (!s.netnsPath || existsSync(s.netnsPath)));
    // Containers outside the live sandbox are dead (reboot, sandbox lost): make sure of it.
    for (const c of containers) {
      if (c.state === 'running' && c.sandboxId !== sb?.id) await this.killContainer(c, 0, 'its pod sandbox is gone');
    }
    const byName = new Map<string, ContainerStatus[]>();
    for (const c of containers) {
      const n = c.labels[Labels.containerName] ?? c.name;
      byName.set(n, [...(byName.get(n) ?? []), c]);
    }
    for (const [n, l] of byName) byName.set(n, sortInstances(l));
    const apiTerminal = pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
    const policy = pod.spec?.restartPolicy ?? 'Always';
    const now = this.ctx.clock.now();

    type Action = { c: Container; init: boolean };
    const actions: Action[] = [];
    let failedMessage: string | undefined;
    let initialized = true;

    const restartAllowed = (c: Container, init: boolean, cur: ContainerStatus): boolean => {
      if (init) return c.restartPolicy === 'Always' || (policy !== 'Never' && cur.exitCode !== 0);
      return policy === 'Always' || (policy === 'OnFailure' && cur.exitCode !== 0);
    };
    /** Decides whether `c` must (re)start now; sets its waiting reason when it must wait. */
    const consider = (c: Container, init: boolean, cur: ContainerStatus | undefined): 'start' | 'wait' | 'done' => {
      if (!cur || cur.state === 'created' || cur.state === 'unknown') return 'start';
      if (cur.state === 'running') return 'done';
      if (!restartAllowed(c, init, cur)) return 'done';
      const key = `${this.uid}/${c.name}`;
      const finished = cur.finishedAt?.getTime() ?? now;
      if (this.ctx.backoff.isInBackOffSince(key, finished)) {
        const delay = this.ctx.backoff.get(key);
        const msg = `back-off ${formatDuration(delay)} restarting failed container=${c.name} pod=${pod.metadata?.name}_${pod.metadata?.namespace}(${this.uid})`;
        if (this.waiting.get(c.name)?.reason !== 'CrashLoopBackOff') this.event('Warning', 'BackOff', `Back-off restarting failed container ${c.name} in pod ${pod.metadata?.name}_${pod.metadata?.namespace}(${this.uid})`);
        this.waiting.set(c.name, { reason: 'CrashLoopBackOff', message: msg });
        this.wake(this.ctx.backoff.retryAt(key, finished) ?? now + 1000);
        return 'wait';
      }
      return 'start';
    };

    if (!apiTerminal) {
      for (const c of pod.spec?.initContainers ?? []) {
        const latest = byName.get(c.name)?.[0];
        // Init containers run again in a new sandbox (after a reboot), as upstream.
        const cur = sb && latest?.sandboxId === sb.id ? latest : undefined;
        const sidecar = c.restartPolicy === 'Always';
        if (sidecar) {
          if (cur?.state === 'running') {
            if (this.ctx.probes.state(cur.id).started) continue;
            initialized = false;
            break;
          }
          initialized = false;
          if (consider(c, true, cur) === 'start') actions.push({ c, init: true });
          break;
        }
        if (cur?.state === 'exited' && cur.exitCode === 0) continue;
        initialized = false;
        if (cur?.state === 'running') break;
        if (cur?.state === 'exited' && policy === 'Never') {
          failedMessage = `init container ${c.name} failed with exit code ${cur.exitCode}`;
          break;
        }
        if (consider(c, true, cur) === 'start') actions.push({ c, init: true });
        break;
      }
      if (initialized) {
        for (const c of pod.spec?.containers ?? []) {
          let cur = byName.get(c.name)?.[0];
          if (cur?.state === 'running' && cur.annotations[HASH_ANNOTATION] && cur.annotations[HASH_ANNOTATION] !== containerHash(c)) {
            this.event('Normal', 'Killing', `Container ${c.name} definition changed, will be restarted`);
            await this.killContainer(cur, this.graceSeconds(), 'definition changed');
            cur = (await this.ctx.runtime.containerStatus(cur.id)) ?? cur;
            // A spec change is not a crash: no back-off.
            actions.push({ c, init: false });
            continue;
          }
          if (consider(c, false, cur) === 'start') actions.push({ c, init: false });
        }
      }
    }

    if (actions.length && !sb) {
      sb = await this.createSandbox();
      if (!sb) return;
    }
    if (sb) this.podIP = sb.ip;

    // Volumes: set up before the first container, refreshed about every 10 s (configMap/secret updates).
    if (!apiTerminal && (actions.length || now - this.lastVolumeSync > 10_000)) {
      try {
        this.mounted = await this.ctx.volumes.setup(pod, this.podIP);
        this.lastVolumeSync = now;
        if (this.waiting.size) for (const [n, w] of this.waiting) if (w.reason === 'ContainerCreating') this.waiting.delete(n);
      } catch (e) {
        if (!(e instanceof VolumeError)) throw e;
        this.event('Warning', 'FailedMount', e.message);
        for (const a of actions) this.waiting.set(a.c.name, { reason: 'ContainerCreating' });
        actions.length = 0;
        this.wake(now + 5000);
      }
    }

    for (const a of actions) {
      if (!sb) break;
      const prior = byName.get(a.c.name)?.[0];
      const started = await this.startContainer(a.c, a.init, sb, prior);
      if (started && prior && (prior.state === 'exited' || prior.state === 'unknown' || prior.state === 'created')) {
        if (prior.state === 'exited') this.ctx.backoff.next(`${this.uid}/${a.c.name}`);
      }
      if (started) this.waiting.delete(a.c.name);
      if (a.init) break;
    }
    if (actions.some((a) => a.init)) this.again = true;

    // Probes follow running containers of the live sandbox.
    const fresh = actions.length ? await this.runtimeState() : { sandboxes, containers };
    const specs = new Map([...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].map((c) => [c.name, c]));
    const runningIds = new Set<string>();
    for (const c of fresh.containers) {
      const spec = specs.get(c.labels[Labels.containerName] ?? c.name);
      if (c.state === 'running' && spec) {
        runningIds.add(c.id);
        this.ctx.trackContainer?.(c.id, this.uid);
        this.ctx.probes.add(c.id, spec, c.startedAt?.getTime() ?? now);
      } else if (c.state === 'exited') {
        this.ctx.probes.remove(c.id);
        if (!this.termMessages.has(c.id)) this.readTerminationMessage(c, spec);
      }
    }
    await this.gcInstances(fresh.containers);
    await this.writeStatus(fresh.containers, sb, failedMessage);

    // A finished pod gives its address back (the sandbox stays for logs until deletion).
    const phase = this.pod.status?.phase;
    if ((phase === 'Succeeded' || phase === 'Failed') && sb) {
      for (const c of fresh.containers) if (c.state === 'running') await this.killContainer(c, this.graceSeconds(), 'the pod finished');
      await this.ctx.runtime.stopPodSandbox(sb.id, 0).catch((e) => this.ctx.log(`pod ${this.key}: stopping sandbox: ${e}`));
    }
  }

  private graceSeconds(): number {
    return this.pod.metadata?.deletionGracePeriodSeconds ?? this.pod.spec?.terminationGracePeriodSeconds ?? 30;
  }

  /** Creates the sandbox with /etc/hosts, resolv.conf and hostname files. */
  private async createSandbox(): Promise<PodSandboxStatus | undefined> {
    const pod = this.pod;
    const md = pod.metadata!;
    try {
      const ports = (pod.spec?.containers ?? []).flatMap((c) => c.ports ?? []).filter((p) => p.hostPort);
      const hostname = (pod.spec?.hostname ?? md.name!).slice(0, 63);
      const r = await this.ctx.runtime.runPodSandbox({
        name: md.name!,
        namespace: md.namespace ?? 'default',
        uid: this.uid,
        hostname,
        hostNetwork: !!pod.spec?.hostNetwork,
        labels: { [Labels.podName]: md.name!, [Labels.podNamespace]: md.namespace ?? 'default', [Labels.podUid]: this.uid, [NODE_LABEL]: this.ctx.nodeName },
        portMappings: ports.map((p) => ({ hostPort: p.hostPort!, containerPort: p.containerPort, protocol: (p.protocol ?? 'TCP').toLowerCase() as 'tcp', hostIP: p.hostIP })),
      });
      this.podIP = r.ip;
      this.writeEtcFiles(hostname, r.ip);
      return await this.ctx.runtime.podSandboxStatus(r.id);
    } catch (e) {
      this.event('Warning', 'FailedCreatePodSandBox', `Failed to create pod sandbox: ${(e as Error).message}`);
      this.wake(this.ctx.clock.now() + 5000);
      return undefined;
    }
  }

  private writeEtcFiles(hostname: string, ip: string): void {
    const pod = this.pod;
    const dir = this.podDir();
    mkdirSync(dir, { recursive: true });
    const domain = this.ctx.clusterDomain;
    const ns = pod.metadata?.namespace ?? 'default';
    let hosts: string;
    if (pod.spec?.hostNetwork) {
      hosts = existsSync('/etc/hosts') ? readFileSync('/etc/hosts', 'utf8') : '127.0.0.1\tlocalhost\n';
    } else {
      const fqdn = pod.spec?.subdomain ? `${hostname}.${pod.spec.subdomain}.${ns}.svc.${domain}\t` : '';
      hosts = [
        '# Kubernetes-managed hosts file.',
        '127.0.0.1\tlocalhost',
        '::1\tlocalhost ip6-localhost ip6-loopback',
        'fe00::0\tip6-localnet',
        'fe00::0\tip6-mcastprefix',
        'fe00::1\tip6-allnodes',
        'fe00::2\tip6-allrouters',
        `${ip}\t${fqdn}${hostname}`,
        '',
      ].join('\n');
    }
    if (pod.spec?.hostAliases?.length) {
      hosts += '\n# Entries added by HostAliases.\n';
      for (const a of pod.spec.hostAliases) hosts += `${a.ip}\t${(a.hostnames ?? []).join('\t')}\n`;
    }
    writeFileSync(join(dir, 'etc-hosts'), hosts);
    writeFileSync(join(dir, 'resolv.conf'), this.resolvConf());
    writeFileSync(join(dir, 'hostname'), hostname + '\n');
  }

  /** resolv.conf per dnsPolicy (pkg/kubelet/network/dns). */
  private resolvConf(): string {
    const spec: NonNullable<Pod['spec']> = this.pod.spec ?? { containers: [] };
    const ns = this.pod.metadata?.namespace ?? 'default';
    const domain = this.ctx.clusterDomain;
    let policy = spec.dnsPolicy ?? 'ClusterFirst';
    if (policy === 'ClusterFirst' && spec.hostNetwork) policy = 'Default';
    if (policy === 'ClusterFirstWithHostNet') policy = 'ClusterFirst';
    let servers: string[] = [];
    let searches: string[] = [];
    let options: string[] = [];
    const host = () => {
      const text = existsSync('/etc/resolv.conf') ? readFileSync('/etc/resolv.conf', 'utf8') : '';
      for (const line of text.split('\n')) {
        const f = line.trim().split(/\s+/);
        if (f[0] === 'nameserver' && f[1]) servers.push(f[1]);
        else if (f[0] === 'search') searches = f.slice(1);
        else if (f[0] === 'options') options.push(...f.slice(1));
      }
    };
    if (policy === 'ClusterFirst' && this.ctx.clusterDns) {
      servers = [this.ctx.clusterDns];
      searches = [`${ns}.svc.${domain}`, `svc.${domain}`, domain];
      options = ['ndots:5'];
    } else if (policy !== 'None') host();
    const dc = spec.dnsConfig;
    if (dc) {
      servers = [...servers, ...(dc.nameservers ?? [])].filter((v, i, a) => a.indexOf(v) === i);
      searches = [...searches, ...(dc.searches ?? [])].filter((v, i, a) => a.indexOf(v) === i);
      for (const o of dc.options ?? []) {
        if (!o.name) continue;
        options = options.filter((x) => x.split(':')[0] !== o.name);
        options.push(o.value !== undefined ? `${o.name}:${o.value}` : o.name);
      }
    }
    let out = '';
    for (const s of servers.slice(0, 3)) out += `nameserver ${s}\n`;
    if (searches.length) out += `search ${searches.slice(0, 32).join(' ')}\n`;
    if (options.length) out += `options ${options.join(' ')}\n`;
    return out;
  }

  /** Resolves the image, pulling through the hook when it is missing; throws ImagePullError. */
  private async ensureImage(c: Container): Promise<ImageInfo> {
    const image = c.image ?? '';
    let info = this.ctx.images.resolve(image);
    const policy = c.imagePullPolicy ?? 'IfNotPresent';
    if (info && policy !== 'Always') return info;
    if (info && !this.ctx.pullImage) return info;
    if (policy === 'Never' && !info) {
      throw new ImagePullError(`Container image "${image}" is not present with pull policy of Never`);
    }
    if (this.ctx.pullImage) {
      this.event('Normal', 'Pulling', `Pulling image "${image}"`);
      try {
        await this.ctx.pullImage(image, this.pod.spec?.imagePullSecrets?.map((s) => ({ name: s.name ?? '' })) ?? [], this.pod.metadata?.namespace ?? 'default');
      } catch (e) {
        if (info) return info;
        throw new ImagePullError(`Failed to pull image "${image}": ${(e as Error).message}`);
      }
      info = this.ctx.images.resolve(image);
      if (info) {
        this.event('Normal', 'Pulled', `Successfully pulled image "${image}"`);
        return info;
      }
    }
    throw new ImagePullError(
      `Failed to pull image "${image}": the image is not in this node's image store and no registry puller is configured; ` +
        `load it with \`skiff image load -i IMAGE.tar\` (docker save / OCI archive) or \`skiff image import ROOTFS.tar ${image}\``,
    );
  }

  /** Creates and starts one container; records waiting reasons and events. Returns true when it started. */
  private async startContainer(c: Container, init: boolean, sb: PodSandboxStatus, prior: ContainerStatus | undefined): Promise<boolean> {
    const pod = this.pod;
    const now = this.ctx.clock.now();
    const imgKey = `${this.uid}/${c.name}@image`;
    const failedAt = this.imageFailedAt.get(imgKey);
    if (failedAt !== undefined && this.ctx.imageBackoff.isInBackOffSince(imgKey, failedAt)) {
      this.waiting.set(c.name, { reason: 'ImagePullBackOff', message: `Back-off pulling image "${c.image}"` });
      this.wake(this.ctx.imageBackoff.retryAt(imgKey, failedAt) ?? now + 1000);
      return false;
    }
    let info: ImageInfo;
    try {
      info = await this.ensureImage(c);
      this.imageFailedAt.delete(imgKey);
    } catch (e) {
      if (!(e instanceof ImagePullError)) throw e;
      this.event('Warning', 'Failed', e.message);
      this.event('Warning', 'Failed', 'Error: ErrImagePull');
      this.waiting.set(c.name, { reason: 'ErrImagePull', message: e.message });
      this.ctx.imageBackoff.next(imgKey);
      this.imageFailedAt.set(imgKey, now);
      this.wake(now + this.ctx.imageBackoff.get(imgKey));
      return false;
    }
    if ((c.imagePullPolicy ?? 'IfNotPresent') !== 'Always' || !this.ctx.pullImage) {
      this.event('Normal', 'Pulled', `Container image "${c.image}" already present on machine`);
    }
    const restartCount = prior ? Number(prior.annotations[Labels.restartCount] ?? 0) + 1 : this.apiRestartCount(c.name, init);
    let id: string;
    try {
      const layers = await this.ctx.images.unpack(info.digest);
      const cfg = info.config.config ?? {};
      const env = await buildEnv(pod, c, await this.ctx.envSources(pod, sb.ip), this.ctx.allocatable());
      const command = resolveCommand(c, cfg, env);
      if (!command.length) throw new ContainerConfigError(`no command specified: the image ${c.image} has no Entrypoint or Cmd; set command in the container spec`);
      const user = resolveUser(pod, c, cfg.User || undefined, (f) => readFromLayers(layers, `etc/${f}`));
      const mounts = this.mountsFor(c, restartCount);
      const sc = c.securityContext ?? {};
      const logDir = join(this.podDir(), 'logs', c.name);
      mkdirSync(logDir, { recursive: true });
      id = await this.ctx.runtime.createContainer(sb.id, {
        name: c.name,
        image: imageIds(c.image ?? '', info).image,
        rootfsLayers: layers,
        command,
        env: mergeEnv(cfg.Env, env),
        cwd: c.workingDir || cfg.WorkingDir || undefined,
        user,
        mounts,
        resources: containerResources(c),
        capabilities: { add: sc.capabilities?.add, drop: sc.capabilities?.drop },
        privileged: !!sc.privileged,
        readOnlyRootfs: !!sc.readOnlyRootFilesystem,
        noNewPrivileges: sc.allowPrivilegeEscalation === false,
        tty: !!c.tty,
        stdin: !!c.stdin,
        etcHostsPath: join(this.podDir(), 'etc-hosts'),
        resolvConfPath: join(this.podDir(), 'resolv.conf'),
        hostnamePath: pod.spec?.hostNetwork ? undefined : join(this.podDir(), 'hostname'),
        stopSignal: cfg.StopSignal,
        logPath: join(logDir, `${restartCount}.log`),
        labels: {
          [Labels.podName]: pod.metadata!.name!, [Labels.podNamespace]: pod.metadata!.namespace ?? 'default', [Labels.podUid]: this.uid,
          [Labels.containerName]: c.name, [NODE_LABEL]: this.ctx.nodeName,
        },
        annotations: { [Labels.restartCount]: String(restartCount), [HASH_ANNOTATION]: containerHash(c), 'io.skiff.init': init ? 'true' : 'false' },
      });
    } catch (e) {
      const msg = (e as Error).message;
      const reason = e instanceof ContainerConfigError ? 'CreateContainerConfigError' : 'CreateContainerError';
      this.event('Warning', 'Failed', `Error: ${msg}`);
      this.waiting.set(c.name, { reason, message: msg });
      this.wake(now + 5000);
      return false;
    }
    this.event('Normal', 'Created', `Created container: ${c.name}`);
    try {
      await this.ctx.runtime.startContainer(id);
    } catch (e) {
      this.event('Warning', 'Failed', `Error: ${(e as Error).message}`);
      // The exited instance (StartError) makes the next sync restart it with back-off.
      return true;
    }
    this.event('Normal', 'Started', `Started container ${c.name}`);
    if (c.lifecycle?.postStart) {
      const err = await this.runHook(id, c, 'postStart', sb.ip);
      if (err) {
        this.event('Warning', 'FailedPostStartHook', `PostStartHook failed: ${err}`);
        const st = await this.ctx.runtime.containerStatus(id);
        if (st) await this.killContainer(st, this.graceSeconds(), 'FailedPostStartHook', true);
      }
    }
    return true;
  }

  private apiRestartCount(name: string, init: boolean): number {
    const list = init ? this.pod.status?.initContainerStatuses : this.pod.status?.containerStatuses;
    const s = list?.find((x) => x.name === name);
    return s?.containerID ? s.restartCount + 1 : 0;
  }

  private mountsFor(c: Container, restartCount: number): Mount[] {
    const mounts: Mount[] = [];
    const vols = this.mounted ?? new Map<string, MountedVolume>();
    for (const vm of c.volumeMounts ?? []) {
      const v = vols.get(vm.name);
      if (!v) throw new ContainerConfigError(`volume "${vm.name}" of container ${c.name} is not defined in the pod's volumes`);
      let hostPath = v.hostPath;
      if (vm.subPath) {
        if (vm.subPath.split('/').includes('..') || vm.subPath.startsWith('/')) throw new ContainerConfigError(`subPath ${JSON.stringify(vm.subPath)} must be a relative path without '..'`);
        hostPath = join(hostPath, vm.subPath);
        if (!existsSync(hostPath)) mkdirSync(hostPath, { recursive: true, mode: 0o777 });
      }
      const propagation = vm.mountPropagation === 'Bidirectional' ? 'rshared' : vm.mountPropagation === 'HostToContainer' ? 'rslave' : 'private';
      mounts.push({ containerPath: vm.mountPath, hostPath, readOnly: !!vm.readOnly || (v.readOnly && !vm.subPath ? true : !!vm.readOnly), propagation: propagation as Mount['propagation'] });
    }
    // Termination message file (terminationMessagePath, default /dev/termination-log).
    const tmp = c.terminationMessagePath ?? '/dev/termination-log';
    if (tmp) {
      const dir = join(this.podDir(), 'containers', c.name);
      mkdirSync(dir, { recursive: true });
      const file = join(dir, `${restartCount}-termination-log`);
      closeSync(openSync(file, 'a', 0o666));
      mounts.push({ containerPath: tmp, hostPath: file });
    }
    return mounts;
  }

  private readTerminationMessage(c: ContainerStatus, spec: Container | undefined): void {
    const rc = c.annotations[Labels.restartCount] ?? '0';
    let msg = '';
    try {
      msg = readFileSync(join(this.podDir(), 'containers', c.labels[Labels.containerName] ?? c.name, `${rc}-termination-log`), 'utf8').slice(0, 4096);
    } catch {
      msg = '';
    }
    if (!msg && spec?.terminationMessagePolicy === 'FallbackToLogsOnError' && c.exitCode !== 0) {
      try {
        const lines = readFileSync(c.logPath, 'utf8').trimEnd().split('\n').slice(-80);
        msg = lines.map((l) => l.split(' ').slice(3).join(' ')).join('\n').slice(-2048);
      } catch {
        msg = '';
      }
    }
    this.termMessages.set(c.id, msg);
  }

  /** Runs a postStart/preStop handler; returns an error message or undefined. */
  private async runHook(id: string, c: Container, which: 'postStart' | 'preStop', podIP: string): Promise<string | undefined> {
    const h = c.lifecycle?.[which];
    if (!h) return undefined;
    try {
      if (h.exec) {
        const r = await this.ctx.runtime.execSync(id, h.exec.command ?? [], which === 'preStop' ? this.graceSeconds() : 30);
        if (r.exitCode !== 0) return `command '${(h.exec.command ?? []).join(' ')}' exited with ${r.exitCode}: ${Buffer.concat([r.stdout, r.stderr]).toString().trim()}`;
        return undefined;
      }
      if (h.httpGet) {
        const { runProbe } = await import('./probes.js');
        const r = await runProbe(this.ctx.runtime, id, { httpGet: h.httpGet, timeoutSeconds: 10 }, podIP, c);
        return r.ok ? undefined : r.output;
      }
      if (h.sleep) {
        await this.ctx.clock.sleep(h.sleep.seconds * 1000);
        return undefined;
      }
    } catch (e) {
      return (e as Error).message;
    }
    return undefined;
  }

  /** preStop (when asked), then the stop signal, then SIGKILL after the grace period. */
  private async killContainer(c: ContainerStatus, graceSeconds: number, why: string, runPreStop = true): Promise<void> {
    if (c.state !== 'running') return;
    const name = c.labels[Labels.containerName] ?? c.name;
    const spec = [...(this.pod.spec?.containers ?? []), ...(this.pod.spec?.initContainers ?? [])].find((x) => x.name === name);
    const start = this.ctx.clock.now();
    this.ctx.log(`pod ${this.key}: stopping container ${name} (${why}), grace ${graceSeconds}s`);
    if (runPreStop && graceSeconds > 0 && spec?.lifecycle?.preStop) {
      const err = await Promise.race([
        this.runHook(c.id, spec, 'preStop', this.podIP),
        this.ctx.clock.sleep(graceSeconds * 1000).then(() => 'timed out'),
      ]);
      if (err) this.event('Warning', 'FailedPreStopHook', `PreStopHook failed: ${err}`);
    }
    const left = Math.max(graceSeconds > 0 ? 1 : 0, Math.ceil(graceSeconds - (this.ctx.clock.now() - start) / 1000));
    this.ctx.probes.remove(c.id);
    await this.ctx.runtime.stopContainer(c.id, graceSeconds > 0 ? left : 0);
  }

  /** Kills a container because a probe failed (called by the probe manager's callback). */
  async killForProbe(containerId: string, type: string, output: string): Promise<void> {
    const st = await this.ctx.runtime.containerStatus(containerId);
    if (!st || st.state !== 'running') return;
    const name = st.labels[Labels.containerName] ?? st.name;
    this.event('Normal', 'Killing', `Container ${name} failed ${type} probe, will be restarted`);
    void output;
    await this.killContainer(st, this.graceSeconds(), `${type} probe failed`);
    this.trigger();
  }

  /** Keeps the newest two instances per container name (current + previous, for `logs --previous`). */
  private async gcInstances(containers: ContainerStatus[]): Promise<void> {
    const byName = new Map<string, ContainerStatus[]>();
    for (const c of containers) {
      const n = c.labels[Labels.containerName] ?? c.name;
      byName.set(n, [...(byName.get(n) ?? []), c]);
    }
    for (const list of byName.values()) {
      for (const old of sortInstances(list).slice(2)) {
        if (old.state === 'running') continue;
        await this.ctx.runtime.removeContainer(old.id).catch(() => {});
        rmSync(old.logPath, { force: true });
        this.termMessages.delete(old.id);
      }
    }
  }

  private views(containers: ContainerStatus[], specs: Container[]): Map<string, ContainerView> {
    const out = new Map<string, ContainerView>();
    for (const c of specs) {
      const instances = sortInstances(containers.filter((x) => (x.labels[Labels.containerName] ?? x.name) === c.name)).slice(0, 2);
      const cur = instances[0];
      const probe = cur ? this.ctx.probes.state(cur.id) : { ready: false, started: false };
      const info = this.ctx.images.resolve(c.image ?? '');
      const ids = imageIds(c.image ?? '', info);
      let waiting = this.waiting.get(c.name);
      // A waiting reason is stale once a newer instance runs.
      if (cur?.state === 'running') waiting = undefined;
      const rc = cur ? Number(cur.annotations[Labels.restartCount] ?? 0) : Math.max(0, this.apiRestartCount(c.name, !!this.pod.spec?.initContainers?.some((i) => i.name === c.name)) - 1);
      out.set(c.name, { instances, waiting, ready: probe.ready, started: probe.started, image: ids.image, imageID: ids.imageID, restartCount: rc, terminationMessages: this.termMessages });
    }
    return out;
  }

  private async writeStatus(containers: ContainerStatus[], sb: PodSandboxStatus | undefined, failedMessage?: string): Promise<void> {
    const pod = this.pod;
    const status = computeStatus({
      pod,
      now: this.ctx.clock.now(),
      hostIP: this.ctx.hostIP(),
      podIP: sb?.state === 'ready' ? sb.ip : '',
      sandboxReady: sb?.state === 'ready',
      init: this.views(containers, pod.spec?.initContainers ?? []),
      containers: this.views(containers, pod.spec?.containers ?? []),
      failedMessage,
    });
    await this.putStatus(status);
  }

  private async putStatus(status: PodStatus): Promise<void> {
    const json = JSON.stringify(status);
    if (json === this.lastStatus && JSON.stringify(this.pod.status) === json) return;
    if (JSON.stringify(this.pod.status ?? {}) === json) {
      this.lastStatus = json;
      return;
    }
    const md = this.pod.metadata!;
    for (let attempt = 0; attempt < 3; attempt++) {
      const base = attempt === 0 ? this.pod : await this.ctx.client.get<Pod>(PODS, md.namespace, md.name!);
      if (base.metadata?.uid !== this.uid) return;
      const obj = { ...structuredClone(base), status } as Pod;
      try {
        const updated = await this.ctx.client.update<Pod>(PODS, md.namespace, obj, { subresource: 'status' });
        this.lastStatus = json;
        // Use what we wrote as the base of the next comparison, until the informer catches up.
        if (updated?.metadata?.resourceVersion) this.pod = { ...updated, kind: 'Pod', apiVersion: 'v1' };
        return;
      } catch (e) {
        if (isReason(e, 'NotFound')) return;
        if (!isReason(e, 'Conflict')) throw e;
      }
    }
  }

  // ----------------------------------------------------------------------------- termination

  /** Graceful termination, then the final delete (syncTerminatingPod + the status manager's delete). */
  private async terminate(): Promise<void> {
    const pod = this.pod;
    const grace = this.graceSeconds();
    this.terminationStart ??= this.ctx.clock.now();
    const { sandboxes, containers } = await this.runtimeState();
    const running = containers.filter((c) => c.state === 'running');
    const left = Math.max(0, grace - Math.floor((this.ctx.clock.now() - this.terminationStart) / 1000));
    const sidecars = new Set((pod.spec?.initContainers ?? []).filter((c) => c.restartPolicy === 'Always').map((c) => c.name));
    const main = running.filter((c) => !sidecars.has(c.labels[Labels.containerName] ?? ''));
    const side = running.filter((c) => sidecars.has(c.labels[Labels.containerName] ?? ''));
    for (const group of [main, side]) {
      await Promise.all(
        group.map((c) => {
          this.event('Normal', 'Killing', `Stopping container ${c.labels[Labels.containerName] ?? c.name}`);
          return this.killContainer(c, left, 'pod deleted');
        }),
      );
    }
    for (const s of sandboxes) {
      await this.ctx.runtime.stopPodSandbox(s.id, 0);
      await this.ctx.runtime.removePodSandbox(s.id);
    }
    for (const c of containers) this.ctx.probes.remove(c.id);
    await this.ctx.volumes.teardown(this.uid);
    this.ctx.backoff.forgetPrefix(`${this.uid}/`);
    this.ctx.imageBackoff.forgetPrefix(`${this.uid}/`);
    const md = pod.metadata!;
    try {
      await this.ctx.client.delete(PODS, md.namespace, md.name!, { gracePeriodSeconds: 0, preconditions: { uid: this.uid } });
    } catch (e) {
      if (!isReason(e, 'NotFound') && !isReason(e, 'Conflict')) throw e;
    }
    this.finished = true;
  }

  /** The pod vanished from the API (force-deleted): stop and remove everything it had here. */
  async cleanupGone(): Promise<void> {
    this.finished = true;
    this.wakeTimer?.cancel();
    await this.settle();
    await removePodResources(this.ctx, this.uid, 2);
  }
}

/** Stops and removes every sandbox/container and the volumes of a pod uid (orphans, force deletions). */
export async function removePodResources(ctx: Pick<PodWorkerContext, 'runtime' | 'volumes' | 'probes' | 'backoff' | 'imageBackoff'>, uid: string, graceSeconds: number): Promise<void> {
  const labels = { [Labels.podUid]: uid };
  const containers = await ctx.runtime.listContainers({ labels });
  await Promise.all(containers.filter((c) => c.state === 'running').map((c) => ctx.runtime.stopContainer(c.id, graceSeconds)));
  for (const c of containers) ctx.probes.remove(c.id);
  for (const s of await ctx.runtime.listPodSandboxes({ labels })) {
    await ctx.runtime.stopPodSandbox(s.id, 0).catch(() => {});
    await ctx.runtime.removePodSandbox(s.id);
  }
  for (const c of await ctx.runtime.listContainers({ labels })) await ctx.runtime.removeContainer(c.id);
  await ctx.volumes.teardown(uid);
  ctx.backoff.forgetPrefix(`${uid}/`);
  ctx.imageBackoff.forgetPrefix(`${uid}/`);
}

/** Reads a file from the top-most layer that has it (the image's /etc/passwd, /etc/group). */
function readFromLayers(layers: string[], rel: string): string {
  for (const l of [...layers].reverse()) {
    try {
      return readFileSync(join(l, rel), 'utf8');
    } catch {
      /* next layer */
    }
  }
  return '';
}
