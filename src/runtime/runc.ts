/**
 * The real runtime: runc containers on overlayfs, in pod sandboxes made of persistent
 * namespaces, each container watched by a detached shim (shim.ts).
 *
 * Design:
 * - A sandbox is not a process. Its network namespace is `ip netns add <prefix>-<id>`
 *   (/var/run/netns/…, visible to `ip netns`), its IPC and UTS namespaces are files in the
 *   sandbox dir bind-mounted by `unshare --ipc=FILE --uts=FILE`, and its /dev/shm is a tmpfs
 *   mounted there. Containers join them by path. Nothing needs a pause process, and the pod
 *   survives agent restarts because the namespaces are pinned by mounts.
 * - A container's rootfs is an overlay mount (snapshot dirs as lowers, per-container upper)
 *   at `<containerDir>/bundle/rootfs`, made at create time, unmounted at remove.
 * - Start spawns the shim detached; the shim runs `runc run --keep` and owns the stdio pipes,
 *   the CRI log and `exit.json`. A restarted agent reads everything back from disk: metadata
 *   JSON, runc's pid file, the shim's exit file.
 *
 * Layout under `dataDir`: `runtime/sandboxes/<id>/`, `runtime/containers/<id>/`, `runc/`
 * (runc --root, per data dir, so two clusters on one host never see each other's containers).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync, closeSync, openSync } from 'node:fs';
import { networkInterfaces, hostname as osHostname } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CniNetwork } from '../network/cni.js';
import { buildOciSpec } from './spec.js';
import type { ShimConfig, ShimExit } from './shim.js';
import type {
  ContainerFilter, ContainerSpec, ContainerStats, ContainerStatus, ExecOptions, ExecResult, ExecSession,
  PodSandboxConfig, PodSandboxStatus, Runtime, SandboxFilter,
} from './types.js';

export interface RuncRuntimeOptions {
  /** skiff's data dir; state goes to `<dataDir>/runtime` and `<dataDir>/runc`. */
  dataDir: string;
  /** The pod network. Required unless every sandbox uses hostNetwork. */
  cni?: CniNetwork;
  /** Prefix of netns names and cgroup paths, e.g. `skiff` or `skiff-<cluster>`. */
  namePrefix?: string;
  runcPath?: string;
}

interface SandboxMeta {
  id: string;
  config: PodSandboxConfig;
  netnsName: string;
  netnsPath: string;
  ipcPath: string;
  utsPath: string;
  shmPath: string;
  ip: string;
  hostname: string;
  createdAt: string;
  state: 'ready' | 'notready';
}

interface ContainerMeta {
  id: string;
  sandboxId: string;
  name: string;
  image: string;
  tty: boolean;
  stdin: boolean;
  stopSignal?: string;
  logPath: string;
  cgroupsPath: string;
  createdAt: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** Raised for an id that does not exist; the message says which. */
export class NotFoundError extends Error {
  constructor(kind: 'container' | 'sandbox', id: string) {
    super(`${kind} ${id} not found`);
    this.name = 'NotFoundError';
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function newId(): string {
  return randomBytes(32).toString('hex');
}

function writeJsonAtomic(path: string, v: unknown): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(v, null, 1));
  renameSync(tmp, path);
}

function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

interface RunResult {
  code: number;
  stdout: Buffer;
  stderr: Buffer;
}

function runCmd(cmd: string, args: string[], opts: { cwd?: string; input?: string } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, stdio: [opts.input !== undefined ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (d: Buffer) => out.push(d));
    child.stderr!.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout: Buffer.concat(out), stderr: Buffer.concat(err) }));
    if (opts.input !== undefined) child.stdin!.end(opts.input);
  });
}

async function mustRun(cmd: string, args: string[], opts: { cwd?: string } = {}): Promise<string> {
  const r = await runCmd(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.code}): ${r.stderr.toString().trim()}`);
  return r.stdout.toString();
}

function isMounted(path: string): boolean {
  try {
    const mi = readFileSync('/proc/self/mountinfo', 'utf8');
    return mi.split('\n').some((l) => l.split(' ')[4] === path);
  } catch {
    return false;
  }
}

async function unmount(path: string): Promise<void> {
  for (let i = 0; i < 20 && isMounted(path); i++) {
    const r = await runCmd('umount', [path]);
    if (r.code !== 0 && isMounted(path)) {
      if (i > 5) await runCmd('umount', ['-l', path]);
      await sleep(50);
    }
  }
}

function pidAlive(pid: number): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function matchLabels(have: Record<string, string>, want?: Record<string, string>): boolean {
  return !want || Object.entries(want).every(([k, v]) => have[k] === v);
}

function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The native shim (dist/skiff-shim, built from shim.c when a C compiler was there), found from
 * this module in dist/src/runtime/ or in the bundle's dist/bundle/.
 */
const NATIVE_SHIM = (() => {
  const here = dirname(fileURLToPath(import.meta.url));
  return [join(here, '../skiff-shim'), join(here, '../../skiff-shim')].find((p) => existsSync(p));
})();

/**
 * How to start the shim: the native one for containers without a terminal (it needs no Node.js
 * process per container), else compiled JS in dist/, or the TS source through tsx in development.
 */
function shimCommand(tty: boolean): { cmd: string; args: string[] } {
  if (!tty && NATIVE_SHIM) return { cmd: NATIVE_SHIM, args: [] };
  const here = fileURLToPath(import.meta.url);
  const base = join(dirname(here), 'shim');
  // Small heap: the shim only shuffles log lines.
  const flags = ['--max-old-space-size=16', '--max-semi-space-size=1', '--v8-pool-size=1'];
  if (here.endsWith('.ts')) {
    const loader = import.meta.resolve('tsx');
    return { cmd: process.execPath, args: [...flags, '--import', loader, `${base}.ts`] };
  }
  return { cmd: process.execPath, args: [...flags, `${base}.js`] };
}

/** Reads cgroup files for stats; runc places containers at `cgroupsPath` in every hierarchy. */
function cgroupFile(controller: 'cpuacct' | 'memory' | 'cpu', cgroupsPath: string, file: string): string | undefined {
  const unified = existsSync('/sys/fs/cgroup/cgroup.controllers');
  const p = unified ? join('/sys/fs/cgroup', cgroupsPath, file) : join('/sys/fs/cgroup', controller, cgroupsPath, file);
  try {
    return readFileSync(p, 'utf8');
  } catch {
    if (!unified && controller === 'cpuacct') {
      try {
        return readFileSync(join('/sys/fs/cgroup/cpu,cpuacct', cgroupsPath, file), 'utf8');
      } catch {
        return undefined;
      }
    }
    return undefined;
  }
}

/** The runc-backed {@link Runtime}. Cheap to construct; all state is on disk. */
export class RuncRuntime implements Runtime {
  readonly stateDir: string;
  readonly runcRoot: string;
  readonly namePrefix: string;
  private readonly runc: string;
  private readonly cni?: CniNetwork;

  constructor(opts: RuncRuntimeOptions) {
    this.stateDir = join(opts.dataDir, 'runtime');
    this.runcRoot = join(opts.dataDir, 'runc');
    this.namePrefix = opts.namePrefix ?? 'skiff';
    this.runc = opts.runcPath ?? '/usr/sbin/runc';
    this.cni = opts.cni;
    mkdirSync(join(this.stateDir, 'sandboxes'), { recursive: true });
    mkdirSync(join(this.stateDir, 'containers'), { recursive: true });
    mkdirSync(this.runcRoot, { recursive: true });
  }

  private sandboxDir(id: string): string {
    return join(this.stateDir, 'sandboxes', id);
  }

  private containerDir(id: string): string {
    return join(this.stateDir, 'containers', id);
  }

  private sandboxMeta(id: string): SandboxMeta | undefined {
    if (!/^[a-f0-9]{64}$/.test(id)) return undefined;
    return readJson<SandboxMeta>(join(this.sandboxDir(id), 'sandbox.json'));
  }

  private containerMeta(id: string): ContainerMeta | undefined {
    if (!/^[a-f0-9]{64}$/.test(id)) return undefined;
    return readJson<ContainerMeta>(join(this.containerDir(id), 'container.json'));
  }

  // ------------------------------------------------------------------ sandboxes

  async runPodSandbox(config: PodSandboxConfig): Promise<{ id: string; netnsPath: string; ip: string }> {
    const id = newId();
    const dir = this.sandboxDir(id);
    mkdirSync(dir, { recursive: true });
    const hostNet = !!config.hostNetwork;
    const hostname = hostNet ? osHostname() : (config.hostname ?? config.name).slice(0, 63);
    const meta: SandboxMeta = {
      id,
      config,
      netnsName: hostNet ? '' : `${this.namePrefix}-${id.slice(0, 16)}`,
      netnsPath: '',
      ipcPath: join(dir, 'ipc'),
      utsPath: hostNet ? '' : join(dir, 'uts'),
      shmPath: join(dir, 'shm'),
      ip: '',
      hostname,
      createdAt: new Date().toISOString(),
      state: 'ready',
    };
    // Written first so that a failed half-setup is still found and cleaned by removePodSandbox.
    writeJsonAtomic(join(dir, 'sandbox.json'), { ...meta, state: 'notready' });
    try {
      if (!hostNet) {
        if (!this.cni) throw new Error('this runtime has no CNI network configured; only hostNetwork pods can run');
        await mustRun('ip', ['netns', 'add', meta.netnsName]);
        meta.netnsPath = `/var/run/netns/${meta.netnsName}`;
      }
      closeSync(openSync(meta.ipcPath, 'w'));
      const unshareArgs = [`--ipc=${meta.ipcPath}`];
      if (meta.utsPath) {
        closeSync(openSync(meta.utsPath, 'w'));
        unshareArgs.push(`--uts=${meta.utsPath}`, 'hostname', hostname);
      } else unshareArgs.push('true');
      await mustRun('unshare', unshareArgs);
      mkdirSync(meta.shmPath, { recursive: true });
      await mustRun('mount', ['-t', 'tmpfs', '-o', 'nosuid,nodev,noexec,mode=1777,size=65536k', 'shm', meta.shmPath]);
      if (hostNet) {
        meta.ip = hostIPv4();
      } else {
        const r = await this.cni!.add(id, meta.netnsPath, 'eth0', {
          portMappings: config.portMappings,
          args: { K8S_POD_NAMESPACE: config.namespace, K8S_POD_NAME: config.name, K8S_POD_INFRA_CONTAINER_ID: id, K8S_POD_UID: config.uid },
        });
        meta.ip = r.ip;
      }
      writeJsonAtomic(join(dir, 'sandbox.json'), meta);
      return { id, netnsPath: meta.netnsPath, ip: meta.ip };
    } catch (e) {
      await this.removePodSandbox(id).catch(() => {});
      throw e;
    }
  }

  async stopPodSandbox(id: string, timeoutSeconds = 10): Promise<void> {
    const meta = this.sandboxMeta(id);
    if (!meta) return;
    const containers = await this.listContainers({ sandboxId: id });
    await Promise.all(containers.filter((c) => c.state === 'running').map((c) => this.stopContainer(c.id, timeoutSeconds)));
    if (meta.netnsPath && this.cni) {
      await this.cni.del(id, meta.netnsPath, 'eth0', {
        args: { K8S_POD_NAMESPACE: meta.config.namespace, K8S_POD_NAME: meta.config.name, K8S_POD_INFRA_CONTAINER_ID: id, K8S_POD_UID: meta.config.uid },
      });
    }
    writeJsonAtomic(join(this.sandboxDir(id), 'sandbox.json'), { ...meta, state: 'notready' });
  }

  async removePodSandbox(id: string): Promise<void> {
    const meta = this.sandboxMeta(id);
    const dir = this.sandboxDir(id);
    if (!meta) {
      if (/^[a-f0-9]{64}$/.test(id)) rmSync(dir, { recursive: true, force: true });
      return;
    }
    for (const c of await this.listContainers({ sandboxId: id })) await this.removeContainer(c.id);
    if (meta.netnsName && this.cni) {
      const netnsPath = `/var/run/netns/${meta.netnsName}`;
      await this.cni.del(id, netnsPath).catch(() => {});
    }
    await unmount(meta.shmPath);
    await unmount(meta.ipcPath);
    if (meta.utsPath) await unmount(meta.utsPath);
    if (meta.netnsName && existsSync(`/var/run/netns/${meta.netnsName}`)) {
      await mustRun('ip', ['netns', 'del', meta.netnsName]);
    }
    rmSync(dir, { recursive: true, force: true });
  }

  async podSandboxStatus(id: string): Promise<PodSandboxStatus | undefined> {
    const m = this.sandboxMeta(id);
    if (!m) return undefined;
    return {
      id: m.id,
      state: m.state,
      netnsPath: m.netnsPath,
      ip: m.ip,
      hostname: m.hostname,
      createdAt: new Date(m.createdAt),
      config: m.config,
      labels: m.config.labels ?? {},
      annotations: m.config.annotations ?? {},
    };
  }

  async listPodSandboxes(filter: SandboxFilter = {}): Promise<PodSandboxStatus[]> {
    const out: PodSandboxStatus[] = [];
    for (const id of readdirSync(join(this.stateDir, 'sandboxes'))) {
      const s = await this.podSandboxStatus(id);
      if (!s) continue;
      if (filter.state && s.state !== filter.state) continue;
      if (!matchLabels(s.labels, filter.labels)) continue;
      out.push(s);
    }
    return out;
  }

  // ------------------------------------------------------------------ containers

  async createContainer(sandboxId: string, spec: ContainerSpec): Promise<string> {
    const sb = this.sandboxMeta(sandboxId);
    if (!sb) throw new NotFoundError('sandbox', sandboxId);
    if (sb.state !== 'ready') throw new Error(`sandbox ${sandboxId} is not ready (stopped); create a new sandbox for the pod`);
    if (!spec.command.length) throw new Error(`container ${spec.name}: no command to run (the image has no Entrypoint/Cmd and none was given)`);
    const id = newId();
    const dir = this.containerDir(id);
    const bundle = join(dir, 'bundle');
    const rootfs = join(bundle, 'rootfs');
    mkdirSync(rootfs, { recursive: true });
    mkdirSync(join(dir, 'upper'), { recursive: true });
    mkdirSync(join(dir, 'work'), { recursive: true });
    const meta: ContainerMeta = {
      id,
      sandboxId,
      name: spec.name,
      image: spec.image,
      tty: !!spec.tty,
      stdin: !!spec.stdin,
      stopSignal: spec.stopSignal,
      logPath: spec.logPath ?? join(dir, 'container.log'),
      cgroupsPath: `/${this.namePrefix}-${id.slice(0, 32)}`,
      createdAt: new Date().toISOString(),
      labels: spec.labels ?? {},
      annotations: spec.annotations ?? {},
    };
    try {
      await this.mountRootfs(spec.rootfsLayers, dir, rootfs);
      if (spec.stdin) await mustRun('mkfifo', ['-m', '0600', join(dir, 'stdin')]);
      mkdirSync(dirname(meta.logPath), { recursive: true });
      const oci = buildOciSpec(spec, {
        rootfsPath: rootfs,
        netnsPath: sb.netnsPath || undefined,
        ipcPath: sb.ipcPath,
        utsPath: sb.utsPath || undefined,
        shmPath: sb.shmPath,
        hostname: sb.hostname,
        cgroupsPath: meta.cgroupsPath,
      });
      writeJsonAtomic(join(bundle, 'config.json'), oci);
      writeJsonAtomic(join(dir, 'container.json'), meta);
      return id;
    } catch (e) {
      await unmount(rootfs);
      rmSync(dir, { recursive: true, force: true });
      throw e;
    }
  }

  /** overlayfs with the layers as lowers; relative lowerdir paths keep long chains under the page-size option limit. */
  private async mountRootfs(layers: string[], dir: string, target: string): Promise<void> {
    let lowers = [...layers].reverse();
    if (lowers.length === 0) {
      mkdirSync(join(dir, 'empty'), { recursive: true });
      lowers = [join(dir, 'empty')];
    }
    const common = dirname(dirname(lowers[0]!));
    const rel = lowers.every((l) => dirname(dirname(l)) === common);
    const lowerOpt = (rel ? lowers.map((l) => relative(common, l)) : lowers).join(':');
    await mustRun('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lowerOpt},upperdir=${join(dir, 'upper')},workdir=${join(dir, 'work')}`, target], {
      cwd: rel ? common : undefined,
    });
  }

  async startContainer(id: string): Promise<void> {
    const meta = this.containerMeta(id);
    if (!meta) throw new NotFoundError('container', id);
    const dir = this.containerDir(id);
    if (existsSync(join(dir, 'shim.json'))) throw new Error(`container ${id} was already started; create a new container to run it again`);
    const cfg: ShimConfig = {
      runc: this.runc,
      runcRoot: this.runcRoot,
      id,
      bundle: join(dir, 'bundle'),
      logPath: meta.logPath,
      pidFile: join(dir, 'pid'),
      runcLog: join(dir, 'runc.log'),
      tty: meta.tty,
      stdinFifo: meta.stdin ? join(dir, 'stdin') : undefined,
      cgroupsPath: meta.cgroupsPath,
    };
    // The C shim reads key=value lines; the Node one (terminals, or no C compiler) reads JSON.
    const conf = Object.entries(cfg).filter(([k, v]) => k !== 'tty' && v !== undefined).map(([k, v]) => `${k}=${v}\n`).join('');
    writeFileSync(join(dir, 'shim.conf'), conf);
    writeJsonAtomic(join(dir, 'shim.json'), cfg);
    const { cmd, args } = shimCommand(cfg.tty);
    const shim = spawn(cmd, [...args, dir], { detached: true, stdio: 'ignore', cwd: dir, env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', UV_THREADPOOL_SIZE: '1' } });
    shim.unref();
    writeFileSync(join(dir, 'shim.pid'), String(shim.pid ?? 0));
    // Started = runc wrote the pid file (after exec); failed = the shim wrote exit.json without it.
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (existsSync(join(dir, 'pid'))) return;
      const exit = readJson<ShimExit>(join(dir, 'exit.json'));
      if (exit) {
        if (exit.startError) throw new Error(`failed to start container ${meta.name}: ${exit.startError}`);
        return;
      }
      if (existsSync(join(dir, 'shim.err'))) throw new Error(`container shim failed: ${readFileSync(join(dir, 'shim.err'), 'utf8')}`);
      await sleep(5);
    }
    throw new Error(`container ${meta.name} did not start within 30s; see ${join(dir, 'runc.log')}`);
  }

  async containerStatus(id: string): Promise<ContainerStatus | undefined> {
    const meta = this.containerMeta(id);
    if (!meta) return undefined;
    const dir = this.containerDir(id);
    const base: ContainerStatus = {
      id,
      sandboxId: meta.sandboxId,
      name: meta.name,
      image: meta.image,
      state: 'created',
      pid: 0,
      createdAt: new Date(meta.createdAt),
      logPath: meta.logPath,
      labels: meta.labels,
      annotations: meta.annotations,
    };
    let startedAt: Date | undefined;
    let pid = 0;
    try {
      const st = statSync(join(dir, 'pid'));
      startedAt = st.mtime;
      pid = Number(readFileSync(join(dir, 'pid'), 'utf8').trim()) || 0;
    } catch {
      /* not started */
    }
    const exit = readJson<ShimExit>(join(dir, 'exit.json'));
    if (exit) {
      const reason = exit.startError ? 'StartError' : exit.oomKilled ? 'OOMKilled' : exit.exitCode === 0 ? 'Completed' : 'Error';
      return {
        ...base,
        state: 'exited',
        exitCode: exit.startError ? 128 : exit.exitCode,
        startedAt,
        finishedAt: new Date(exit.finishedAt),
        reason,
        message: exit.startError,
      };
    }
    if (!existsSync(join(dir, 'shim.json'))) return base;
    if (pid) {
      if (pidAlive(pid)) return { ...base, state: 'running', pid, startedAt };
      const shimPid = Number(readFileSync(join(dir, 'shim.pid'), 'utf8').trim()) || 0;
      if (pidAlive(shimPid)) return { ...base, state: 'running', pid, startedAt }; // exiting; exit.json comes next
      return {
        ...base,
        state: 'exited',
        exitCode: 255,
        startedAt,
        reason: 'Error',
        message: 'the container exited while its shim was not running; the exit code is unknown',
      };
    }
    const shimPid = Number(readJson<number>(join(dir, 'shim.pid')) ?? 0);
    if (shimPid && !pidAlive(shimPid)) return { ...base, state: 'unknown', message: 'the container shim died before the container started' };
    return base;
  }

  async listContainers(filter: ContainerFilter = {}): Promise<ContainerStatus[]> {
    const out: ContainerStatus[] = [];
    for (const id of readdirSync(join(this.stateDir, 'containers'))) {
      const meta = this.containerMeta(id);
      if (!meta) continue;
      if (filter.sandboxId && meta.sandboxId !== filter.sandboxId) continue;
      if (!matchLabels(meta.labels, filter.labels)) continue;
      const s = await this.containerStatus(id);
      if (!s || (filter.state && s.state !== filter.state)) continue;
      out.push(s);
    }
    return out;
  }

  async waitContainer(id: string, timeoutMs = 2 ** 31 - 1): Promise<ContainerStatus | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = await this.containerStatus(id);
      if (!s || s.state === 'exited' || s.state === 'unknown' || Date.now() >= deadline) return s;
      if (s.state === 'created' && !existsSync(join(this.containerDir(id), 'shim.json'))) return s;
      await sleep(Math.min(50, Math.max(1, deadline - Date.now())));
    }
  }

  private async kill(id: string, signal: string): Promise<void> {
    const r = await runCmd(this.runc, ['--root', this.runcRoot, 'kill', id, signal]);
    const err = r.stderr.toString();
    if (r.code !== 0 && !/not running|does not exist|container not running|process already finished/i.test(err)) {
      throw new Error(`runc kill ${id} ${signal}: ${err.trim()}`);
    }
  }

  async stopContainer(id: string, timeoutSeconds: number): Promise<void> {
    const meta = this.containerMeta(id);
    if (!meta) throw new NotFoundError('container', id);
    let s = await this.containerStatus(id);
    if (s?.state !== 'running') return;
    const signal = (meta.stopSignal ?? 'SIGTERM').replace(/^SIG/i, '').toUpperCase();
    if (timeoutSeconds > 0) {
      await this.kill(id, signal);
      s = await this.waitContainer(id, timeoutSeconds * 1000);
      if (s?.state !== 'running') return;
    }
    await this.kill(id, 'KILL');
    await this.waitContainer(id, 10_000);
  }

  async removeContainer(id: string): Promise<void> {
    const meta = this.containerMeta(id);
    const dir = this.containerDir(id);
    if (!meta) {
      if (/^[a-f0-9]{64}$/.test(id)) rmSync(dir, { recursive: true, force: true });
      return;
    }
    const s = await this.containerStatus(id);
    if (s?.state === 'running') await this.stopContainer(id, 0);
    const r = await runCmd(this.runc, ['--root', this.runcRoot, 'delete', '-f', id]);
    if (r.code !== 0 && !/does not exist|not found/i.test(r.stderr.toString())) {
      throw new Error(`runc delete ${id}: ${r.stderr.toString().trim()}`);
    }
    await unmount(join(dir, 'bundle', 'rootfs'));
    rmSync(dir, { recursive: true, force: true });
  }

  logPath(id: string): string {
    const meta = this.containerMeta(id);
    if (!meta) throw new NotFoundError('container', id);
    return meta.logPath;
  }

  // ------------------------------------------------------------------ exec

  private execArgs(id: string, opts: ExecOptions, pidFile?: string): string[] {
    const args = ['--root', this.runcRoot, 'exec'];
    if (opts.tty) args.push('--tty');
    if (pidFile) args.push('--pid-file', pidFile);
    for (const e of opts.env ?? []) args.push('--env', e);
    if (opts.cwd) args.push('--cwd', opts.cwd);
    args.push(id, ...opts.cmd);
    return args;
  }

  private assertRunning = async (id: string) => {
    const s = await this.containerStatus(id);
    if (!s) throw new NotFoundError('container', id);
    if (s.state !== 'running') throw new Error(`container ${s.name} (${id.slice(0, 12)}) is not running (state ${s.state}); cannot exec in it`);
  };

  async execSync(id: string, cmd: string[], timeoutSeconds = 0): Promise<ExecResult> {
    await this.assertRunning(id);
    const pidFile = join(this.containerDir(id), `exec-${randomBytes(4).toString('hex')}.pid`);
    const child = spawn(this.runc, this.execArgs(id, { cmd }, pidFile), { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    let timedOut = false;
    const timer = timeoutSeconds > 0
      ? setTimeout(() => {
          timedOut = true;
          // runc forwards signals to the exec'd process, but SIGKILL can't be forwarded: kill the process itself.
          try {
            const pid = Number(readFileSync(pidFile, 'utf8'));
            if (pid) process.kill(pid, 'SIGKILL');
          } catch {
            child.kill('SIGTERM');
          }
        }, timeoutSeconds * 1000)
      : undefined;
    const exitCode = await new Promise<number>((resolve) => {
      child.on('error', () => resolve(255));
      child.on('close', (code, signal) => resolve(code ?? (signal === 'SIGKILL' ? 137 : 255)));
    });
    if (timer) clearTimeout(timer);
    rmSync(pidFile, { force: true });
    return { exitCode, stdout: Buffer.concat(out), stderr: Buffer.concat(err), timedOut };
  }

  async exec(id: string, opts: ExecOptions): Promise<ExecSession> {
    await this.assertRunning(id);
    const pidFile = join(this.containerDir(id), `exec-${randomBytes(4).toString('hex')}.pid`);
    let child: ChildProcess;
    if (opts.tty) {
      // runc wants a terminal on its stdin for --tty; `script` gives it one (see docker-oci-surface.md).
      const line = [this.runc, ...this.execArgs(id, opts, pidFile)].map(shQuote).join(' ');
      child = spawn('script', ['-qfec', line, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    } else {
      child = spawn(this.runc, this.execArgs(id, opts, pidFile), { stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    }
    const exitCode = new Promise<number>((resolve) => {
      child.on('error', () => resolve(255));
      child.on('close', (code, signal) => {
        rmSync(pidFile, { force: true });
        resolve(code ?? (signal === 'SIGKILL' ? 137 : 255));
      });
    });
    child.stdin?.on('error', () => {});
    return {
      stdin: opts.stdin ? child.stdin : null,
      stdout: child.stdout!,
      stderr: opts.tty ? null : child.stderr!,
      exitCode,
      kill: (signal: NodeJS.Signals = 'SIGKILL') => {
        try {
          const pid = Number(readFileSync(pidFile, 'utf8'));
          if (pid) process.kill(pid, signal);
        } catch {
          child.kill(signal);
        }
      },
    };
  }

  // ------------------------------------------------------------------ stats

  async stats(id: string): Promise<ContainerStats | undefined> {
    const meta = this.containerMeta(id);
    if (!meta) return undefined;
    const unified = existsSync('/sys/fs/cgroup/cgroup.controllers');
    let cpu: number | undefined;
    let usage: number | undefined;
    let inactive = 0;
    if (unified) {
      const st = cgroupFile('cpu', meta.cgroupsPath, 'cpu.stat');
      const m = st && /^usage_usec (\d+)$/m.exec(st);
      if (m) cpu = Number(m[1]) * 1000;
      const cur = cgroupFile('memory', meta.cgroupsPath, 'memory.current');
      if (cur) usage = Number(cur.trim());
      const ms = cgroupFile('memory', meta.cgroupsPath, 'memory.stat');
      const im = ms && /^inactive_file (\d+)$/m.exec(ms);
      if (im) inactive = Number(im[1]);
    } else {
      const c = cgroupFile('cpuacct', meta.cgroupsPath, 'cpuacct.usage');
      if (c) cpu = Number(c.trim());
      const u = cgroupFile('memory', meta.cgroupsPath, 'memory.usage_in_bytes');
      if (u) usage = Number(u.trim());
      const ms = cgroupFile('memory', meta.cgroupsPath, 'memory.stat');
      const im = ms && /^total_inactive_file (\d+)$/m.exec(ms);
      if (im) inactive = Number(im[1]);
    }
    if (cpu === undefined && usage === undefined) return undefined;
    return {
      cpuUsageNanos: cpu ?? 0,
      memoryUsageBytes: usage ?? 0,
      memoryWorkingSetBytes: Math.max(0, (usage ?? 0) - inactive),
      timestamp: new Date(),
    };
  }
}

/** The node's first non-internal IPv4 address (the pod IP of hostNetwork pods). */
function hostIPv4(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}
