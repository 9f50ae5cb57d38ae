/**
 * Docker container lifecycle on the Kubernetes API: records (ConfigMaps) and runs (pods) in the
 * `docker` namespace. Every operation reads the API, decides, writes back; nothing is cached,
 * so several engines (or a restarted one) agree on one truth.
 */
import { EventEmitter } from 'node:events';
import { mkdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import type { ConfigMap, Namespace, Pod } from 'kubernetes-types/core/v1.js';
import { StatusError } from '../../api/errors.js';
import { CONFIGMAPS, NAMESPACES, PODS } from '../../client/resources.js';
import type { Client } from '../../client/types.js';
import type { ImageStore } from '../../image/store.js';
import { formatReference, parseReference } from '../../image/reference.js';
import { badParameter, conflict, DockerError, noSuchContainer, noSuchImage } from '../errors.js';
import {
  asArgv, checkName, checkRestartPolicy, CONTAINER_LABEL, DOCKER_NAMESPACE, generateName, ID_ANNOTATION, KIND_LABEL, newContainerId, podNameFor,
  recordFromConfigMap, recordToConfigMap, type ContainerRecord, type CreateBody,
} from './model.js';
import { parseMounts, podFor, unassignedPorts } from './pod-spec.js';
import { containerState } from './views.js';

/** What the container service needs. */
export interface ContainerDeps {
  client: Client;
  images: ImageStore;
  /** Where named volumes live (`DATA_DIR/docker/volumes`). */
  volumesDir: string;
  /** The node Docker containers run on (this machine's). */
  nodeName?: string;
  log?(msg: string): void;
}

/** A container with its current run. */
export interface Container {
  rec: ContainerRecord;
  pod?: Pod;
  resourceVersion?: string;
}

/** A Docker event (`docker events`). */
export interface EngineEvent {
  Type: 'container' | 'network' | 'volume' | 'image';
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  time: number;
  timeNano: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function isStatus(err: unknown, code: number): boolean {
  return err instanceof StatusError && err.code === code;
}

/** Picks a free host port (for `-P` and `-p 80`), as dockerd does from its ephemeral range. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '0.0.0.0', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export class ContainerService {
  /** `docker events` listeners subscribe here. */
  readonly events = new EventEmitter();
  /** DNS search domain of a user network (networks.ts); throws 404 for an unknown one. */
  networkSearch: (network: string) => Promise<string | undefined> = async () => undefined;
  private namespaceReady = false;
  /** Attach streams still reading a container's output: `--rm` waits for them. */
  private readonly holds = new Map<string, number>();
  /** Exit codes of containers removed lately, for waiters that find them gone (`--rm`). */
  readonly removedExitCodes = new Map<string, number>();

  constructor(readonly deps: ContainerDeps) {
    this.events.setMaxListeners(0);
  }

  /** Emits a Docker event. */
  emit(type: EngineEvent['Type'], action: string, id: string, attributes: Record<string, string> = {}): void {
    const now = Date.now();
    const ev: EngineEvent = { Type: type, Action: action, Actor: { ID: id, Attributes: attributes }, time: Math.floor(now / 1000), timeNano: now * 1e6 };
    this.events.emit('event', ev);
  }

  private emitContainer(action: string, rec: ContainerRecord, extra: Record<string, string> = {}): void {
    this.emit('container', action, rec.id, { image: rec.image, name: rec.name, ...(rec.config.Labels ?? {}), ...extra });
  }

  /** An attach stream starts reading `id`'s output. */
  hold(id: string): void {
    this.holds.set(id, (this.holds.get(id) ?? 0) + 1);
  }

  /** It is done. */
  release(id: string): void {
    const n = (this.holds.get(id) ?? 1) - 1;
    if (n > 0) this.holds.set(id, n);
    else this.holds.delete(id);
  }

  /** Creates the `docker` namespace once. */
  async ensureNamespace(): Promise<void> {
    if (this.namespaceReady) return;
    try {
      await this.deps.client.create<Namespace>(NAMESPACES, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: DOCKER_NAMESPACE } });
    } catch (err) {
      if (!isStatus(err, 409)) throw err;
    }
    this.namespaceReady = true;
  }

  /** Every container with its pod. */
  async list(): Promise<Container[]> {
    const [cms, pods] = await Promise.all([
      this.deps.client.list<ConfigMap>(CONFIGMAPS, DOCKER_NAMESPACE, { labelSelector: `${KIND_LABEL}=container` }),
      this.deps.client.list<Pod>(PODS, DOCKER_NAMESPACE, { labelSelector: `${KIND_LABEL}=container` }),
    ]);
    const podsById = new Map<string, Pod>();
    for (const p of pods.items) {
      const id = p.metadata?.annotations?.[ID_ANNOTATION];
      if (id) podsById.set(`${id}/${p.metadata?.name}`, p);
    }
    const out: Container[] = [];
    for (const cm of cms.items) {
      const rec = recordFromConfigMap(cm);
      if (!rec) continue;
      out.push({ rec, pod: rec.state.podName ? podsById.get(`${rec.id}/${rec.state.podName}`) : undefined, resourceVersion: cm.metadata?.resourceVersion });
    }
    return out.sort((a, b) => Date.parse(b.rec.created) - Date.parse(a.rec.created));
  }

  /** The record of a full ID. */
  private async getRecord(id: string): Promise<{ rec: ContainerRecord; resourceVersion?: string } | undefined> {
    try {
      const cm = await this.deps.client.get<ConfigMap>(CONFIGMAPS, DOCKER_NAMESPACE, id);
      const rec = recordFromConfigMap(cm);
      return rec ? { rec, resourceVersion: cm.metadata?.resourceVersion } : undefined;
    } catch (err) {
      if (isStatus(err, 404)) return undefined;
      throw err;
    }
  }

  /** The pod of the current run, when it exists. */
  async podOf(rec: ContainerRecord): Promise<Pod | undefined> {
    if (!rec.state.podName) return undefined;
    try {
      const pod = await this.deps.client.get<Pod>(PODS, DOCKER_NAMESPACE, rec.state.podName);
      return pod.metadata?.annotations?.[ID_ANNOTATION] === rec.id ? pod : undefined;
    } catch (err) {
      if (isStatus(err, 404)) return undefined;
      throw err;
    }
  }

  /** Finds a container by name, full ID or unique ID prefix; 404 `No such container: x`. */
  async find(ref: string): Promise<Container> {
    const name = ref.replace(/^\//, '');
    if (/^[0-9a-f]{64}$/.test(name)) {
      const got = await this.getRecord(name);
      if (got) return { ...got, pod: await this.podOf(got.rec) };
    }
    const all = await this.list();
    const byName = all.find((c) => c.rec.name === name);
    if (byName) return byName;
    if (/^[0-9a-f]+$/.test(name)) {
      const matches = all.filter((c) => c.rec.id.startsWith(name));
      if (matches.length === 1) return matches[0];
      if (matches.length > 1) throw new DockerError(404, `Error: No such container: ${ref} (multiple IDs found with provided prefix)`);
    }
    throw noSuchContainer(ref);
  }

  /** Reads, changes and writes a record, retrying on write conflicts. */
  async update(id: string, change: (rec: ContainerRecord) => void): Promise<ContainerRecord> {
    for (let attempt = 0; ; attempt++) {
      const got = await this.getRecord(id);
      if (!got) throw noSuchContainer(id);
      change(got.rec);
      try {
        await this.deps.client.update(CONFIGMAPS, DOCKER_NAMESPACE, recordToConfigMap(got.rec, got.resourceVersion));
        return got.rec;
      } catch (err) {
        if (!isStatus(err, 409) || attempt > 20) throw err;
      }
    }
  }

  /** POST /containers/create. */
  async create(body: CreateBody, requestedName: string | null): Promise<{ id: string; warnings: string[] }> {
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw badParameter('invalid JSON: expected a container config object');
    if (!body.Image || typeof body.Image !== 'string') throw badParameter('no image specified');
    const hostConfig = body.HostConfig ?? {};
    checkRestartPolicy(hostConfig.RestartPolicy);
    if (hostConfig.AutoRemove && (hostConfig.RestartPolicy?.Name ?? 'no') !== 'no') throw conflict("conflicting options: cannot specify both --restart and --rm");
    parseMounts(hostConfig);
    for (const key of ['Memory', 'NanoCpus', 'CpuShares'] as const) {
      const v = hostConfig[key];
      if (v !== undefined && v !== null && (typeof v !== 'number' || !Number.isFinite(v) || v < 0)) throw badParameter(`invalid ${key}: ${JSON.stringify(v)} (a non-negative number)`);
    }
    if (hostConfig.Memory && hostConfig.Memory < 6 * 1024 * 1024) throw badParameter('Minimum memory limit allowed is 6MB');
    const warnings: string[] = [];
    let image: ReturnType<ImageStore['resolve']>;
    try {
      image = this.deps.images.resolve(body.Image);
    } catch {
      throw badParameter(`invalid reference format: ${body.Image}`);
    }
    if (!image) {
      let shown = body.Image;
      try {
        const r = parseReference(body.Image);
        shown = r.digest || /:[^/]+$/.test(body.Image) || body.Image.includes('@') ? body.Image : `${body.Image}:latest`;
      } catch {
        throw badParameter(`invalid reference format: ${body.Image}`);
      }
      throw noSuchImage(shown);
    }
    await this.ensureNamespace();
    const all = await this.list();
    const name = requestedName ? checkName(requestedName) : generateName((n) => all.some((c) => c.rec.name === n));
    const clash = all.find((c) => c.rec.name === name);
    if (clash) throw conflict(`Conflict. The container name "/${name}" is already in use by container "${clash.rec.id}". You have to remove (or rename) that container to be able to reuse that name.`);
    const img = image.config.config ?? {};
    const entrypoint = asArgv(body.Entrypoint);
    const cmd = asArgv(body.Cmd);
    const argv = entrypoint !== undefined ? [...entrypoint, ...(cmd ?? [])] : [...(img.Entrypoint ?? []), ...(cmd ?? img.Cmd ?? [])];
    if (!argv.length) throw badParameter('no command specified');
    if (body.User && !/^\d+(:\d+)?$/.test(body.User)) warnings.push(`user "${body.User}" is not numeric: the image's user is used (give uid[:gid])`);
    if (hostConfig.Init) warnings.push('--init is not supported by skiff: the command runs as PID 1');
    const imageEnv = img.Env ?? [];
    const given = body.Env ?? [];
    const keys = new Set(given.map((e) => e.split('=')[0]));
    const env = [...imageEnv.filter((e) => !keys.has(e.split('=')[0])), ...given];
    const networks: ContainerRecord['networks'] = {};
    for (const [net, ep] of Object.entries(body.NetworkingConfig?.EndpointsConfig ?? {})) {
      if (net === 'bridge' || net === 'default' || net === 'host' || net === 'none') continue;
      networks[net] = { aliases: (ep?.Aliases ?? []).filter((a) => typeof a === 'string') };
    }
    const mode = hostConfig.NetworkMode;
    if (mode && !['default', 'bridge', 'host', 'none'].includes(mode) && !mode.startsWith('container:')) networks[mode] ??= { aliases: [] };
    const searches = await this.searches(Object.keys(networks));
    const { HostConfig: _h, NetworkingConfig: _n, ...config } = body;
    const id = newContainerId();
    const rec: ContainerRecord = {
      id,
      name,
      created: new Date().toISOString(),
      image: body.Image,
      imageRef: image.ref || formatReference(parseReference(body.Image)),
      imageId: image.id,
      path: argv[0],
      args: argv.slice(1),
      config: {
        ...config,
        Env: env,
        Cmd: cmd ?? (entrypoint !== undefined ? null : (img.Cmd ?? null)),
        Entrypoint: entrypoint ?? img.Entrypoint ?? null,
        WorkingDir: body.WorkingDir || img.WorkingDir || '',
        User: body.User ?? img.User ?? '',
        ExposedPorts: { ...(img.ExposedPorts ?? {}), ...(body.ExposedPorts ?? {}) },
        Labels: { ...(img.Labels ?? {}), ...(body.Labels ?? {}) },
        Healthcheck: body.Healthcheck ?? null,
      },
      hostConfig: { ...hostConfig, NetworkMode: mode || 'default', RestartPolicy: { Name: hostConfig.RestartPolicy?.Name ?? 'no', MaximumRetryCount: hostConfig.RestartPolicy?.MaximumRetryCount ?? 0 } },
      networks,
      state: { desired: 'created', restartCount: 0, exitCode: 0 },
    };
    // The pod must be valid: check it now, so a bad option is a 400 at create, not a failed start.
    podFor(rec, podNameFor(rec), { nodeName: this.deps.nodeName, volumeDir: (v) => this.volumeDir(v), networkSearch: (n) => searches[n], assignedPorts: Object.fromEntries(unassignedPorts(hostConfig, rec.config.ExposedPorts).map((k) => [k, 1])) });
    await this.deps.client.create(CONFIGMAPS, DOCKER_NAMESPACE, recordToConfigMap(rec));
    this.emitContainer('create', rec);
    return { id, warnings };
  }

  private async searches(networks: string[]): Promise<Record<string, string | undefined>> {
    const out: Record<string, string | undefined> = {};
    for (const n of networks) out[n] = await this.networkSearch(n);
    return out;
  }

  /** The directory behind a named volume. */
  volumeDir(name: string): string {
    return join(this.deps.volumesDir, name, '_data');
  }

  /** Whether the current run's container is running (or about to). */
  isRunning(c: Container): boolean {
    const st = containerState(c.rec, c.pod);
    return st.Running || st.Restarting || (!!c.pod && c.rec.state.desired === 'running' && st.Status === 'created');
  }

  /** POST /containers/{id}/start: a new pod from the record. False when it already runs. */
  async start(c: Container): Promise<boolean> {
    if (c.pod && !c.pod.metadata?.deletionTimestamp && this.isRunning(c)) return false;
    if (c.pod) await this.endRun(c.rec, 0);
    const rec = (await this.getRecord(c.rec.id))?.rec ?? c.rec;
    for (const m of parseMounts(rec.hostConfig)) {
      if (m.Type === 'volume') mkdirSync(this.volumeDir(m.Source || `${rec.id.slice(0, 12)}`), { recursive: true });
    }
    const assigned: Record<string, number> = {};
    for (const key of unassignedPorts(rec.hostConfig, rec.config.ExposedPorts)) assigned[key] = await freePort();
    const podName = podNameFor(rec);
    const searches = await this.searches(Object.keys(rec.networks));
    const pod = podFor(rec, podName, { nodeName: this.deps.nodeName, volumeDir: (v) => this.volumeDir(v), networkSearch: (n) => searches[n], assignedPorts: assigned });
    await this.waitPodGone(podName);
    await this.update(rec.id, (r) => {
      r.state.desired = 'running';
      r.state.podName = podName;
      r.state.stoppedByUser = false;
      r.state.paused = false;
      r.state.error = undefined;
    });
    await this.createPod(pod);
    this.emitContainer('start', rec);
    // As dockerd: start returns once the process runs (or has already exited).
    for (let i = 0; i < 600; i++) {
      const now = await this.podOf({ ...rec, state: { ...rec.state, podName } });
      const cs = now?.status?.containerStatuses?.[0];
      if (cs?.state?.running || cs?.state?.terminated || cs?.lastState?.terminated) break;
      const waiting = cs?.state?.waiting;
      if (waiting && /ErrImage|ImagePull|CreateContainerError|CreateContainerConfigError|InvalidImageName|RunContainerError/.test(waiting.reason ?? '')) {
        throw new DockerError(500, `failed to create task for container: ${waiting.reason}: ${waiting.message ?? ''}`.trim());
      }
      if (now?.status?.phase === 'Failed' && !cs) throw new DockerError(500, `failed to start container: ${now.status.message ?? now.status.reason ?? 'pod failed'}`);
      await sleep(50);
    }
    return true;
  }

  /** Creates a run's pod; a pod still terminating under the same name is waited out. */
  private async createPod(pod: Pod): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.deps.client.create(PODS, DOCKER_NAMESPACE, pod);
        return;
      } catch (err) {
        // 409: an older run still terminating; 403 while the namespace's service account appears.
        if ((isStatus(err, 409) || isStatus(err, 403)) && attempt < 300) {
          await sleep(100);
          continue;
        }
        throw new DockerError(500, `failed to start container: ${(err as Error).message}`);
      }
    }
  }

  private async waitPodGone(name: string, timeoutMs = 60_000): Promise<Pod | undefined> {
    let last: Pod | undefined;
    const end = Date.now() + timeoutMs;
    for (;;) {
      try {
        last = await this.deps.client.get<Pod>(PODS, DOCKER_NAMESPACE, name);
      } catch (err) {
        if (isStatus(err, 404)) return last;
        throw err;
      }
      if (Date.now() > end) return last;
      await sleep(50);
    }
  }

  /**
   * Ends the current run: deletes its pod (SIGTERM, SIGKILL after `graceSeconds`), waits until
   * it is gone and folds its exit and restarts into the record.
   */
  async endRun(rec: ContainerRecord, graceSeconds: number, desired: 'stopped' | 'running' = 'stopped', byUser = false): Promise<void> {
    const podName = rec.state.podName;
    if (!podName) return;
    let pod: Pod | undefined;
    try {
      pod = await this.deps.client.delete<Pod>(PODS, DOCKER_NAMESPACE, podName, { gracePeriodSeconds: graceSeconds });
    } catch (err) {
      if (!isStatus(err, 404)) throw err;
    }
    const last = (await this.waitPodGone(podName, (graceSeconds + 30) * 1000)) ?? pod;
    const cs = last?.status?.containerStatuses?.[0];
    const term = cs?.state?.terminated ?? cs?.lastState?.terminated;
    const wasRunning = !!cs?.state?.running;
    await this.update(rec.id, (r) => {
      r.state.desired = desired;
      r.state.stoppedByUser = byUser;
      r.state.paused = false;
      r.state.restartCount += cs?.restartCount ?? 0;
      if (cs?.state?.terminated) {
        r.state.exitCode = term?.exitCode ?? 0;
        r.state.startedAt = term?.startedAt ?? r.state.startedAt;
        r.state.finishedAt = term?.finishedAt ?? new Date().toISOString();
      } else if (wasRunning || cs) {
        // Killed by the stop: the agent's last word may not have reached the API before the pod went.
        r.state.exitCode = graceSeconds === 0 ? 137 : (term?.exitCode ?? 143);
        r.state.startedAt = cs?.state?.running?.startedAt ?? r.state.startedAt;
        r.state.finishedAt = new Date().toISOString();
      }
    });
    if (wasRunning) this.emitContainer('die', rec, { exitCode: String(term?.exitCode ?? 137) });
  }

  /** POST /containers/{id}/stop: false when it was not running. */
  async stop(c: Container, graceSeconds?: number): Promise<boolean> {
    if (!c.pod || !this.isRunning(c)) {
      if (c.rec.state.desired === 'running') await this.update(c.rec.id, (r) => ((r.state.desired = 'stopped'), (r.state.stoppedByUser = true)));
      return false;
    }
    await this.update(c.rec.id, (r) => ((r.state.desired = 'stopped'), (r.state.stoppedByUser = true)));
    await this.endRun(c.rec, graceSeconds ?? c.rec.config.StopTimeout ?? 10, 'stopped', true);
    this.emitContainer('stop', c.rec);
    return true;
  }

  /** DELETE /containers/{id}. */
  async remove(c: Container, force: boolean, volumes: boolean): Promise<void> {
    if (c.pod && this.isRunning(c) && !force) {
      throw conflict(`cannot remove container "/${c.rec.name}": container is running: stop the container before removing or force remove`);
    }
    if (c.pod) {
      try {
        await this.deps.client.delete(PODS, DOCKER_NAMESPACE, c.pod.metadata!.name!, { gracePeriodSeconds: 0 });
      } catch (err) {
        if (!isStatus(err, 404)) throw err;
      }
      await this.waitPodGone(c.pod.metadata!.name!);
    }
    this.removedExitCodes.set(c.rec.id, containerState(c.rec, c.pod).ExitCode);
    if (this.removedExitCodes.size > 1000) this.removedExitCodes.delete(this.removedExitCodes.keys().next().value!);
    try {
      await this.deps.client.delete(CONFIGMAPS, DOCKER_NAMESPACE, c.rec.id);
    } catch (err) {
      if (!isStatus(err, 404)) throw err;
    }
    if (volumes) {
      // Anonymous volumes (`-v /data`) die with their container; named ones are kept.
      for (const m of parseMounts(c.rec.hostConfig)) if (m.Type === 'volume' && !m.Source) rmSync(join(this.deps.volumesDir, `${c.rec.id.slice(0, 12)}`), { recursive: true, force: true });
    }
    this.emitContainer('destroy', c.rec);
  }

  /**
   * Enforces what a pod cannot: `--rm` once the container exited for good, on-failure's retry
   * limit, a stop recorded by a finished `restart: no` run. Called on every poll of a container.
   */
  async reconcile(c: Container): Promise<'removed' | 'stopped' | undefined> {
    if (!c.pod && c.rec.hostConfig.AutoRemove && c.rec.state.desired === 'stopped' && !this.holds.has(c.rec.id)) {
      // A --rm container stopped or killed: gone as soon as it stopped.
      await this.remove(c, true, true).catch((err) => this.deps.log?.(`auto-remove of ${c.rec.name}: ${(err as Error).message}`));
      return 'removed';
    }
    const cs = c.pod?.status?.containerStatuses?.[0];
    if (!c.pod || !cs || c.pod.metadata?.deletionTimestamp) return undefined;
    const policy = checkRestartPolicy(c.rec.hostConfig.RestartPolicy);
    const term = cs.state?.terminated;
    const done = !!term && (policy.name === 'no' || (policy.name === 'on-failure' && term.exitCode === 0));
    const retriesUsed = policy.name === 'on-failure' && policy.max > 0 && (cs.restartCount ?? 0) >= policy.max && !cs.state?.running && (term ?? cs.lastState?.terminated)?.exitCode !== 0;
    if (!done && !retriesUsed) return undefined;
    if (c.rec.hostConfig.AutoRemove) {
      // An attached client is still reading the output; remove once it has it all.
      if (this.holds.has(c.rec.id)) return undefined;
      this.emitContainer('die', c.rec, { exitCode: String(term?.exitCode ?? cs.lastState?.terminated?.exitCode ?? 0) });
      await this.remove(c, true, true).catch((err) => this.deps.log?.(`auto-remove of ${c.rec.name}: ${(err as Error).message}`));
      return 'removed';
    }
    if (retriesUsed) {
      await this.endRun(c.rec, 0, 'stopped');
      return 'stopped';
    }
    return undefined;
  }

  /** Brings back, at engine start, what Docker brings back at daemon start. */
  async restartPolicies(): Promise<void> {
    await this.ensureNamespace();
    for (const c of await this.list()) {
      const policy = checkRestartPolicy(c.rec.hostConfig.RestartPolicy);
      const wanted = policy.name === 'always' || (policy.name === 'unless-stopped' && !c.rec.state.stoppedByUser);
      if (!wanted || c.pod || c.rec.state.desired === 'created') continue;
      this.deps.log?.(`restarting container ${c.rec.name} (restart policy ${policy.name})`);
      await this.start(c).catch((err) => this.deps.log?.(`restart of ${c.rec.name} failed: ${(err as Error).message}`));
    }
  }

  /** The label selector of one container's pods. */
  static podSelector(rec: ContainerRecord): string {
    return `${CONTAINER_LABEL}=${rec.id.slice(0, 12)}`;
  }
}
