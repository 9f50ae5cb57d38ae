/**
 * The real runtime: runc containers on overlayfs, in pod sandboxes made of persistent
 * namespaces, each container watched by a detached shim (shim.ts). This class is the driver
 * that implements {@link Runtime} and {@link ProcessRunner}; the operations live beside it in
 * `runc/`, split as containerd's CRI plugin splits them:
 *
 * - `runc/sandbox.ts`: pod sandboxes (namespaces pinned by mounts, the pod network);
 * - `runc/container.ts`: create (overlay rootfs + OCI spec), start (the shim), status, stop, remove;
 * - `runc/exec.ts`: exec and exec-sync in running containers;
 * - `runc/stats.ts`: CPU and memory from the container's cgroup;
 * - `runc/run-process.ts`: one process to completion in a given root (the builder's RUN);
 * - `runc/state.ts`: the on-disk records and host helpers the others share.
 *
 * Layout under `dataDir`: `runtime/sandboxes/<id>/`, `runtime/containers/<id>/`,
 * `runtime/processes/<id>/`, `runc/` (runc --root, per data dir, so two clusters on one host
 * never see each other's containers).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type {
  ContainerFilter, ContainerSpec, ContainerStats, ContainerStatus, ExecOptions, ExecResult, ExecSession,
  PodNetwork, PodSandboxConfig, PodSandboxStatus, ProcessRunner, ProcessSpec, Runtime, SandboxFilter,
} from './types.js';
import * as container from './runc/container.js';
import * as execs from './runc/exec.js';
import { runProcess } from './runc/run-process.js';
import * as sandbox from './runc/sandbox.js';
import { stats } from './runc/stats.js';
import type { RuncContext } from './runc/state.js';

export { NotFoundError } from './runc/state.js';

export interface RuncRuntimeOptions {
  /** skiff's data dir; state goes to `<dataDir>/runtime` and `<dataDir>/runc`. */
  dataDir: string;
  /** The pod network (a `CniNetwork`). Required unless every sandbox uses hostNetwork. */
  cni?: PodNetwork;
  /** Prefix of netns names and cgroup paths, e.g. `skiff` or `skiff-<cluster>`. */
  namePrefix?: string;
  runcPath?: string;
  /** runc's state root; default `<dataDir>/runc`. */
  runcRoot?: string;
}

/** The runc-backed {@link Runtime}. Cheap to construct; all state is on disk. */
export class RuncRuntime implements Runtime, ProcessRunner {
  readonly stateDir: string;
  readonly runcRoot: string;
  readonly namePrefix: string;
  private readonly ctx: RuncContext;

  constructor(opts: RuncRuntimeOptions) {
    this.stateDir = join(opts.dataDir, 'runtime');
    this.runcRoot = opts.runcRoot ?? join(opts.dataDir, 'runc');
    this.namePrefix = opts.namePrefix ?? 'skiff';
    this.ctx = { stateDir: this.stateDir, runcRoot: this.runcRoot, namePrefix: this.namePrefix, runc: opts.runcPath ?? '/usr/sbin/runc', network: opts.cni };
    mkdirSync(join(this.stateDir, 'sandboxes'), { recursive: true });
    mkdirSync(join(this.stateDir, 'containers'), { recursive: true });
    mkdirSync(this.runcRoot, { recursive: true });
  }

  runPodSandbox(config: PodSandboxConfig): Promise<{ id: string; netnsPath: string; ip: string }> {
    return sandbox.runPodSandbox(this.ctx, config);
  }

  stopPodSandbox(id: string, timeoutSeconds?: number): Promise<void> {
    return sandbox.stopPodSandbox(this.ctx, id, timeoutSeconds);
  }

  removePodSandbox(id: string): Promise<void> {
    return sandbox.removePodSandbox(this.ctx, id);
  }

  podSandboxStatus(id: string): Promise<PodSandboxStatus | undefined> {
    return sandbox.podSandboxStatus(this.ctx, id);
  }

  listPodSandboxes(filter?: SandboxFilter): Promise<PodSandboxStatus[]> {
    return sandbox.listPodSandboxes(this.ctx, filter);
  }

  createContainer(sandboxId: string, spec: ContainerSpec): Promise<string> {
    return container.createContainer(this.ctx, sandboxId, spec);
  }

  startContainer(id: string): Promise<void> {
    return container.startContainer(this.ctx, id);
  }

  stopContainer(id: string, timeoutSeconds: number): Promise<void> {
    return container.stopContainer(this.ctx, id, timeoutSeconds);
  }

  removeContainer(id: string): Promise<void> {
    return container.removeContainer(this.ctx, id);
  }

  containerStatus(id: string): Promise<ContainerStatus | undefined> {
    return container.containerStatus(this.ctx, id);
  }

  listContainers(filter?: ContainerFilter): Promise<ContainerStatus[]> {
    return container.listContainers(this.ctx, filter);
  }

  waitContainer(id: string, timeoutMs?: number): Promise<ContainerStatus | undefined> {
    return container.waitContainer(this.ctx, id, timeoutMs);
  }

  logPath(id: string): string {
    return container.logPath(this.ctx, id);
  }

  execSync(id: string, cmd: string[], timeoutSeconds?: number): Promise<ExecResult> {
    return execs.execSync(this.ctx, id, cmd, timeoutSeconds);
  }

  exec(id: string, opts: ExecOptions): Promise<ExecSession> {
    return execs.exec(this.ctx, id, opts);
  }

  stats(id: string): Promise<ContainerStats | undefined> {
    return stats(this.ctx, id);
  }

  runProcess(spec: ProcessSpec): Promise<{ exitCode: number }> {
    return runProcess(this.ctx, spec);
  }
}
