/**
 * Containers of the runc driver (containerd CRI's container_create/start/stop/remove/status).
 *
 * - A container's rootfs is an overlay mount (snapshot dirs as lowers, per-container upper)
 *   at `<containerDir>/bundle/rootfs`, made at create time, unmounted at remove.
 * - Start spawns the shim detached; the shim runs `runc run --keep` and owns the stdio pipes,
 *   the CRI log and `exit.json`. A restarted agent reads everything back from disk: metadata
 *   JSON, runc's pid file, the shim's exit file.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { run, runOrThrow } from '../../util/exec.js';
import { shimCommand } from '../shim-command.js';
import type { ShimConfig, ShimExit } from '../shim.js';
import { buildOciSpec } from '../spec.js';
import type { ContainerFilter, ContainerSpec, ContainerStatus } from '../types.js';
import {
  containerDir, isId, matchLabels, newId, NotFoundError, pidAlive, readContainerMeta, readJson, readSandboxMeta, sleep, unmount,
  writeJsonAtomic, type ContainerMeta, type RuncContext,
} from './state.js';

export async function createContainer(ctx: RuncContext, sandboxId: string, spec: ContainerSpec): Promise<string> {
  const sb = readSandboxMeta(ctx, sandboxId);
  if (!sb) throw new NotFoundError('sandbox', sandboxId);
  if (sb.state !== 'ready') throw new Error(`sandbox ${sandboxId} is not ready (stopped); create a new sandbox for the pod`);
  if (!spec.command.length) throw new Error(`container ${spec.name}: no command to run (the image has no Entrypoint/Cmd and none was given)`);
  const id = newId();
  const dir = containerDir(ctx, id);
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
    cgroupsPath: `/${ctx.namePrefix}-${id.slice(0, 32)}`,
    createdAt: new Date().toISOString(),
    labels: spec.labels ?? {},
    annotations: spec.annotations ?? {},
  };
  try {
    await mountRootfs(spec.rootfsLayers, dir, rootfs);
    if (spec.stdin) await runOrThrow('mkfifo', ['-m', '0600', join(dir, 'stdin')]);
    mkdirSync(dirname(meta.logPath), { recursive: true });
    const oci = buildOciSpec(spec, {
      rootfsPath: rootfs,
      netnsPath: sb.netnsPath || undefined,
      ipcPath: sb.ipcPath || undefined,
      utsPath: sb.utsPath || undefined,
      // hostIPC: the node's /dev/shm, as containerd binds it.
      shmPath: sb.config.hostIPC ? '/dev/shm' : sb.shmPath,
      hostname: sb.hostname,
      cgroupsPath: meta.cgroupsPath,
      hostPID: !!sb.config.hostPID,
      hostIPC: !!sb.config.hostIPC,
      sysctls: sb.config.sysctls,
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
async function mountRootfs(layers: string[], dir: string, target: string): Promise<void> {
  let lowers = [...layers].reverse();
  if (lowers.length === 0) {
    mkdirSync(join(dir, 'empty'), { recursive: true });
    lowers = [join(dir, 'empty')];
  }
  const common = dirname(dirname(lowers[0]!));
  const rel = lowers.every((l) => dirname(dirname(l)) === common);
  const lowerOpt = (rel ? lowers.map((l) => relative(common, l)) : lowers).join(':');
  await runOrThrow('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lowerOpt},upperdir=${join(dir, 'upper')},workdir=${join(dir, 'work')}`, target], {
    cwd: rel ? common : undefined,
  });
}

export async function startContainer(ctx: RuncContext, id: string): Promise<void> {
  const meta = readContainerMeta(ctx, id);
  if (!meta) throw new NotFoundError('container', id);
  const dir = containerDir(ctx, id);
  if (existsSync(join(dir, 'shim.json'))) throw new Error(`container ${id} was already started; create a new container to run it again`);
  const cfg: ShimConfig = {
    runc: ctx.runc,
    runcRoot: ctx.runcRoot,
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

export async function containerStatus(ctx: RuncContext, id: string): Promise<ContainerStatus | undefined> {
  const meta = readContainerMeta(ctx, id);
  if (!meta) return undefined;
  const dir = containerDir(ctx, id);
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

export async function listContainers(ctx: RuncContext, filter: ContainerFilter = {}): Promise<ContainerStatus[]> {
  const out: ContainerStatus[] = [];
  for (const id of readdirSync(join(ctx.stateDir, 'containers'))) {
    const meta = readContainerMeta(ctx, id);
    if (!meta) continue;
    if (filter.sandboxId && meta.sandboxId !== filter.sandboxId) continue;
    if (!matchLabels(meta.labels, filter.labels)) continue;
    const s = await containerStatus(ctx, id);
    if (!s || (filter.state && s.state !== filter.state)) continue;
    out.push(s);
  }
  return out;
}

export async function waitContainer(ctx: RuncContext, id: string, timeoutMs = 2 ** 31 - 1): Promise<ContainerStatus | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await containerStatus(ctx, id);
    if (!s || s.state === 'exited' || s.state === 'unknown' || Date.now() >= deadline) return s;
    if (s.state === 'created' && !existsSync(join(containerDir(ctx, id), 'shim.json'))) return s;
    await sleep(Math.min(50, Math.max(1, deadline - Date.now())));
  }
}

async function kill(ctx: RuncContext, id: string, signal: string): Promise<void> {
  const r = await run(ctx.runc, ['--root', ctx.runcRoot, 'kill', id, signal]);
  const err = r.stderr.toString();
  if (r.code !== 0 && !/not running|does not exist|container not running|process already finished/i.test(err)) {
    throw new Error(`runc kill ${id} ${signal}: ${err.trim()}`);
  }
}

export async function stopContainer(ctx: RuncContext, id: string, timeoutSeconds: number): Promise<void> {
  const meta = readContainerMeta(ctx, id);
  if (!meta) throw new NotFoundError('container', id);
  let s = await containerStatus(ctx, id);
  if (s?.state !== 'running') return;
  const signal = (meta.stopSignal ?? 'SIGTERM').replace(/^SIG/i, '').toUpperCase();
  if (timeoutSeconds > 0) {
    await kill(ctx, id, signal);
    s = await waitContainer(ctx, id, timeoutSeconds * 1000);
    if (s?.state !== 'running') return;
  }
  await kill(ctx, id, 'KILL');
  await waitContainer(ctx, id, 10_000);
}

export async function removeContainer(ctx: RuncContext, id: string): Promise<void> {
  const meta = readContainerMeta(ctx, id);
  const dir = containerDir(ctx, id);
  if (!meta) {
    if (isId(id)) rmSync(dir, { recursive: true, force: true });
    return;
  }
  const s = await containerStatus(ctx, id);
  if (s?.state === 'running') await stopContainer(ctx, id, 0);
  const r = await run(ctx.runc, ['--root', ctx.runcRoot, 'delete', '-f', id]);
  if (r.code !== 0 && !/does not exist|not found/i.test(r.stderr.toString())) {
    throw new Error(`runc delete ${id}: ${r.stderr.toString().trim()}`);
  }
  await unmount(join(dir, 'bundle', 'rootfs'));
  rmSync(dir, { recursive: true, force: true });
}

export function logPath(ctx: RuncContext, id: string): string {
  const meta = readContainerMeta(ctx, id);
  if (!meta) throw new NotFoundError('container', id);
  return meta.logPath;
}
