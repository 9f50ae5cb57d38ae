/**
 * What the runc driver keeps on disk and the small host helpers every part of it shares:
 * the driver's context, the sandbox and container metadata records, atomic JSON files,
 * mount checks and process liveness.
 *
 * Layout under the driver's `stateDir`: `sandboxes/<id>/sandbox.json`,
 * `containers/<id>/container.json` (+ bundle, shim files, pid, exit.json), `processes/<id>/`
 * (bundles of one-shot processes).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../../util/exec.js';
import type { PodNetwork, PodSandboxConfig } from '../types.js';

/** Everything the driver's operations need; RuncRuntime builds it once. */
export interface RuncContext {
  readonly stateDir: string;
  /** runc --root: per data dir, so two clusters on one host never see each other's containers. */
  readonly runcRoot: string;
  /** Prefix of netns names and cgroup paths, e.g. `skiff` or `skiff-<cluster>`. */
  readonly namePrefix: string;
  /** The runc binary. */
  readonly runc: string;
  readonly network?: PodNetwork;
}

export interface SandboxMeta {
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

export interface ContainerMeta {
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

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sandbox and container ids: 64 hex digits, like containerd's. */
export function newId(): string {
  return randomBytes(32).toString('hex');
}

export function isId(id: string): boolean {
  return /^[a-f0-9]{64}$/.test(id);
}

export function writeJsonAtomic(path: string, v: unknown): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(v, null, 1));
  renameSync(tmp, path);
}

export function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

export function sandboxDir(ctx: RuncContext, id: string): string {
  return join(ctx.stateDir, 'sandboxes', id);
}

export function containerDir(ctx: RuncContext, id: string): string {
  return join(ctx.stateDir, 'containers', id);
}

export function readSandboxMeta(ctx: RuncContext, id: string): SandboxMeta | undefined {
  if (!isId(id)) return undefined;
  return readJson<SandboxMeta>(join(sandboxDir(ctx, id), 'sandbox.json'));
}

export function readContainerMeta(ctx: RuncContext, id: string): ContainerMeta | undefined {
  if (!isId(id)) return undefined;
  return readJson<ContainerMeta>(join(containerDir(ctx, id), 'container.json'));
}

export function matchLabels(have: Record<string, string>, want?: Record<string, string>): boolean {
  return !want || Object.entries(want).every(([k, v]) => have[k] === v);
}

export function isMounted(path: string): boolean {
  try {
    const mi = readFileSync('/proc/self/mountinfo', 'utf8');
    return mi.split('\n').some((l) => l.split(' ')[4] === path);
  } catch {
    return false;
  }
}

/** Unmounts `path` until it is no longer a mount point; lazily when it stays busy. */
export async function unmount(path: string): Promise<void> {
  for (let i = 0; i < 20 && isMounted(path); i++) {
    const r = await run('umount', [path]);
    if (r.code !== 0 && isMounted(path)) {
      if (i > 5) await run('umount', ['-l', path]);
      await sleep(50);
    }
  }
}

export function pidAlive(pid: number): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
