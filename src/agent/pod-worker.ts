/**
 * One pod worker per pod on the node (pkg/kubelet/pod_workers.go + kuberuntime_manager.go
 * SyncPod): serialised, level-based syncs that compare the pod in the API with what the runtime
 * has and converge — sandbox, volumes, init containers in order, then the containers, restarts
 * with back-off per restartPolicy, probe-driven kills, graceful termination — and then write the
 * pod status when it changed. A sync reads the whole state again; it never depends on having
 * seen a particular event, so an agent restarted mid-way adopts what exists and carries on.
 *
 * The worker executes; the decisions live elsewhere: what to kill/create/start in
 * `pod-actions.ts` (computePodActions, pure), the sandbox and its files in `pod-sandbox.ts`, each
 * container's runtime config in `container-spec.ts` (generateContainerConfig).
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import type { Container, Pod, PodStatus } from 'kubernetes-types/core/v1.js';
import { isReason } from '../api/errors.js';
import type { Clock, Timer } from '../util/clock.js';
import type { EventRecorder } from '../client/events.js';
import { PODS } from '../client/resources.js';
import type { Client } from '../client/types.js';
import type { ImageStore } from '../image/store.js';
import type { ImageInfo } from '../image/image-index.js';
import { Labels, type ContainerStatus, type PodSandboxStatus, type Runtime } from '../runtime/types.js';
import type { Backoff } from './backoff.js';
import { ContainerConfigError, generateContainerConfig, imageIds, qosClass, terminationLogPath, type EnvSources } from './container-spec.js';
import { computePodActions, computeTermination, graceSeconds, instanceName, instancesByName, liveSandbox, sortInstances } from './pod-actions.js';
import { setupSandbox } from './pod-sandbox.js';
import { sysctlAdmissionError } from './security-context.js';
import type { ProbeManager } from './probes.js';
import { computeStatus, type ContainerView, type Waiting } from './status.js';
import { VolumeError, type MountedVolume, type VolumeManager } from './volumes.js';

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
  /** The node's --allowed-unsafe-sysctls. */
  allowedUnsafeSysctls?: string[];
  /** Where Localhost seccomp profiles live (`<dataDir>/seccomp`). */
  seccompDir?: string;
  log(msg: string): void;
}

/** Thrown when an image is not in the store and cannot be pulled. */
class ImagePullError extends Error {}

/** Serialised, level-based sync of one pod. */
export class PodWorker {
  pod: Pod;
  readonly uid: string;
  /** Set once the pod was terminated and deleted from the API (or vanished): the worker is finished. */
  finished = false;
  /** When the last sync completed without error (clock ms; undefined before the first). */
  lastSyncedAt?: number;
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
        this.lastSyncedAt = this.ctx.clock.now();
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

  /** One sync of a live pod: decide ({@link computePodActions}), then kill, create, start, report. */
  private async sync(): Promise<void> {
    const pod = this.pod;
    const { sandboxes, containers } = await this.runtimeState();
    // The kubelet's admission: a pod that never ran here and that the node refuses is failed, once.
    if (!sandboxes.length && !containers.length) {
      const why = sysctlAdmissionError(pod, this.ctx.allowedUnsafeSysctls ?? [], release());
      if (why) return this.reject('SysctlForbidden', why);
    }
    let sb = liveSandbox(sandboxes, existsSync);
    const now = this.ctx.clock.now();
    const actions = computePodActions({
      pod, uid: this.uid, sandbox: sb, containers, now,
      backoff: this.ctx.backoff,
      started: (id) => this.ctx.probes.state(id).started,
      volumesSyncedAt: this.lastVolumeSync,
    });
    for (const k of actions.kill) {
      if (k.reason === 'SpecChanged') this.event('Normal', 'Killing', k.message);
      await this.killContainer(k.instance, k.graceSeconds, k.reason === 'SpecChanged' ? 'definition changed' : k.message);
    }
    for (const w of actions.backOff) {
      if (this.waiting.get(w.name)?.reason !== 'CrashLoopBackOff') {
        this.event('Warning', 'BackOff', `Back-off restarting failed container ${w.name} in pod ${pod.metadata?.name}_${pod.metadata?.namespace}(${this.uid})`);
      }
      this.waiting.set(w.name, { reason: 'CrashLoopBackOff', message: w.message });
      this.wake(w.retryAt);
    }
    let starts = actions.start;

    if (actions.createSandbox) {
      sb = await this.createSandbox();
      if (!sb) return;
    }
    if (sb) this.podIP = sb.ip;

    // Volumes: set up before the first container, refreshed now and then (configMap/secret updates).
    if (actions.syncVolumes) {
      try {
        this.mounted = await this.ctx.volumes.setup(pod, this.podIP);
        this.lastVolumeSync = now;
        if (this.waiting.size) for (const [n, w] of this.waiting) if (w.reason === 'ContainerCreating') this.waiting.delete(n);
      } catch (e) {
        if (!(e instanceof VolumeError)) throw e;
        this.event('Warning', 'FailedMount', e.message);
        for (const a of starts) this.waiting.set(a.container.name, { reason: 'ContainerCreating' });
        starts = [];
        this.wake(now + 5000);
      }
    }

    for (const a of starts) {
      if (!sb) break;
      const started = await this.startContainer(a.container, a.init, sb, a.prior);
      // A crash restart advances the back-off; a first start or a spec change does not.
      if (started && a.prior?.state === 'exited') this.ctx.backoff.next(`${this.uid}/${a.container.name}`);
      if (started) this.waiting.delete(a.container.name);
      if (a.init) break;
    }
    if (starts.some((a) => a.init)) this.again = true;

    // Probes follow running containers of the live sandbox.
    const fresh = starts.length ? await this.runtimeState() : { sandboxes, containers };
    const specs = new Map([...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].map((c) => [c.name, c]));
    for (const c of fresh.containers) {
      const spec = specs.get(instanceName(c));
      if (c.state === 'running' && spec) {
        this.ctx.trackContainer?.(c.id, this.uid);
        this.ctx.probes.add(c.id, spec, c.startedAt?.getTime() ?? now);
      } else if (c.state === 'exited') {
        this.ctx.probes.remove(c.id);
        if (!this.termMessages.has(c.id)) this.readTerminationMessage(c, spec);
      }
    }
    await this.gcInstances(fresh.containers);
    await this.writeStatus(fresh.containers, sb, actions.failedMessage);

    // A finished pod gives its address back (the sandbox stays for logs until deletion).
    const phase = this.pod.status?.phase;
    if ((phase === 'Succeeded' || phase === 'Failed') && sb) {
      for (const c of fresh.containers) if (c.state === 'running') await this.killContainer(c, graceSeconds(this.pod), 'the pod finished');
      await this.ctx.runtime.stopPodSandbox(sb.id, 0).catch((e) => this.ctx.log(`pod ${this.key}: stopping sandbox: ${e}`));
    }
  }

  /** Fails a pod the node does not admit (kubelet's rejectPod): phase Failed, the reason, "Pod was rejected: …". */
  private async reject(reason: string, message: string): Promise<void> {
    if (this.pod.status?.phase === 'Failed' && this.pod.status.reason === reason) return;
    this.event('Warning', reason, message);
    await this.putStatus({ phase: 'Failed', reason, message: `Pod was rejected: ${message}`, qosClass: qosClass(this.pod), startTime: this.pod.status?.startTime });
  }

  /** Creates the sandbox and its hosts/resolv.conf/hostname files; undefined (and a retry) when that fails. */
  private async createSandbox(): Promise<PodSandboxStatus | undefined> {
    try {
      return await setupSandbox(this.ctx, this.pod, this.uid, this.podDir());
    } catch (e) {
      this.event('Warning', 'FailedCreatePodSandBox', `Failed to create pod sandbox: ${(e as Error).message}`);
      this.wake(this.ctx.clock.now() + 5000);
      return undefined;
    }
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
      const pullStart = this.ctx.clock.now();
      try {
        await this.ctx.pullImage(image, this.pod.spec?.imagePullSecrets?.map((s) => ({ name: s.name ?? '' })) ?? [], this.pod.metadata?.namespace ?? 'default');
      } catch (e) {
        if (info) return info;
        throw new ImagePullError(`Failed to pull image "${image}": ${(e as Error).message}`);
      }
      info = this.ctx.images.resolve(image);
      if (info) {
        // Upstream kubelet's wording (with Go's duration format), which tools and the timeline read.
        const took = ((ms: number) => (ms < 1000 ? `${ms}ms` : `${Number((ms / 1000).toFixed(3))}s`))(this.ctx.clock.now() - pullStart);
        this.event('Normal', 'Pulled', `Successfully pulled image "${image}" in ${took} (${took} including waiting). Image size: ${info.size} bytes.`);
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
      const envSources = await this.ctx.envSources(pod, sb.ip);
      const spec = await generateContainerConfig({
        pod, uid: this.uid, container: c, init, restartCount, image: info, layers, envSources,
        nodeAllocatable: this.ctx.allocatable(), volumes: this.mounted ?? new Map(), podDir: this.podDir(), nodeName: this.ctx.nodeName,
        seccompDir: this.ctx.seccompDir,
      });
      id = await this.ctx.runtime.createContainer(sb.id, spec);
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
        if (st) await this.killContainer(st, graceSeconds(this.pod), 'FailedPostStartHook', true);
      }
    }
    return true;
  }

  private apiRestartCount(name: string, init: boolean): number {
    const list = init ? this.pod.status?.initContainerStatuses : this.pod.status?.containerStatuses;
    const s = list?.find((x) => x.name === name);
    return s?.containerID ? s.restartCount + 1 : 0;
  }

  private readTerminationMessage(c: ContainerStatus, spec: Container | undefined): void {
    const rc = c.annotations[Labels.restartCount] ?? '0';
    let msg = '';
    try {
      msg = readFileSync(terminationLogPath(this.podDir(), instanceName(c), rc), 'utf8').slice(0, 4096);
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
        const r = await this.ctx.runtime.execSync(id, h.exec.command ?? [], which === 'preStop' ? graceSeconds(this.pod) : 30);
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
    await this.killContainer(st, graceSeconds(this.pod), `${type} probe failed`);
    this.trigger();
  }

  /** Keeps the newest two instances per container name (current + previous, for `logs --previous`). */
  private async gcInstances(containers: ContainerStatus[]): Promise<void> {
    for (const list of instancesByName(containers).values()) {
      for (const old of list.slice(2)) {
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
      const instances = sortInstances(containers.filter((x) => instanceName(x) === c.name)).slice(0, 2);
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
    this.terminationStart ??= this.ctx.clock.now();
    const { sandboxes, containers } = await this.runtimeState();
    const plan = computeTermination(pod, containers, this.ctx.clock.now() - this.terminationStart);
    for (const group of plan.groups) {
      await Promise.all(
        group.map((c) => {
          this.event('Normal', 'Killing', `Stopping container ${instanceName(c)}`);
          return this.killContainer(c, plan.graceSeconds, 'pod deleted');
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
