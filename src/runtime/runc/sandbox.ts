/**
 * Pod sandboxes of the runc driver (containerd CRI's sandbox_run/stop/remove/status).
 *
 * A sandbox is not a process. Its network namespace is `ip netns add <prefix>-<id>`
 * (/var/run/netns/…, visible to `ip netns`), its IPC and UTS namespaces are files in the
 * sandbox dir bind-mounted by `unshare --ipc=FILE --uts=FILE`, and its /dev/shm is a tmpfs
 * mounted there. Containers join them by path. Nothing needs a pause process, and the pod
 * survives agent restarts because the namespaces are pinned by mounts. `hostNetwork`,
 * `hostIPC` (and `hostPID`, which only containers act on) leave the node's namespace shared:
 * nothing is created for it, and with hostIPC the node's /dev/shm is what containers mount.
 */
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, rmSync } from 'node:fs';
import { networkInterfaces, hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import { runOrThrow } from '../../util/exec.js';
import type { PodSandboxConfig, PodSandboxStatus, SandboxFilter } from '../types.js';
import { listContainers, removeContainer, stopContainer } from './container.js';
import {
  isId, matchLabels, newId, readSandboxMeta, sandboxDir, unmount, writeJsonAtomic, type RuncContext, type SandboxMeta,
} from './state.js';

/** CNI_ARGS the kubelet passes for a pod. */
function podArgs(id: string, config: PodSandboxConfig): Record<string, string> {
  return { K8S_POD_NAMESPACE: config.namespace, K8S_POD_NAME: config.name, K8S_POD_INFRA_CONTAINER_ID: id, K8S_POD_UID: config.uid };
}

export async function runPodSandbox(ctx: RuncContext, config: PodSandboxConfig): Promise<{ id: string; netnsPath: string; ip: string }> {
  const id = newId();
  const dir = sandboxDir(ctx, id);
  mkdirSync(dir, { recursive: true });
  const hostNet = !!config.hostNetwork;
  const hostIpc = !!config.hostIPC;
  const hostname = hostNet ? osHostname() : (config.hostname ?? config.name).slice(0, 63);
  const meta: SandboxMeta = {
    id,
    config,
    netnsName: hostNet ? '' : `${ctx.namePrefix}-${id.slice(0, 16)}`,
    netnsPath: '',
    ipcPath: hostIpc ? '' : join(dir, 'ipc'),
    utsPath: hostNet ? '' : join(dir, 'uts'),
    shmPath: hostIpc ? '' : join(dir, 'shm'),
    ip: '',
    hostname,
    createdAt: new Date().toISOString(),
    state: 'ready',
  };
  // Written first so that a failed half-setup is still found and cleaned by removePodSandbox.
  writeJsonAtomic(join(dir, 'sandbox.json'), { ...meta, state: 'notready' });
  try {
    if (!hostNet) {
      if (!ctx.network) throw new Error('this runtime has no CNI network configured; only hostNetwork pods can run');
      await runOrThrow('ip', ['netns', 'add', meta.netnsName]);
      meta.netnsPath = `/var/run/netns/${meta.netnsName}`;
    }
    const unshareArgs: string[] = [];
    if (meta.ipcPath) {
      closeSync(openSync(meta.ipcPath, 'w'));
      unshareArgs.push(`--ipc=${meta.ipcPath}`);
    }
    if (meta.utsPath) {
      closeSync(openSync(meta.utsPath, 'w'));
      unshareArgs.push(`--uts=${meta.utsPath}`, 'hostname', hostname);
    } else unshareArgs.push('true');
    if (unshareArgs.length > 1) await runOrThrow('unshare', unshareArgs);
    if (meta.shmPath) {
      mkdirSync(meta.shmPath, { recursive: true });
      await runOrThrow('mount', ['-t', 'tmpfs', '-o', 'nosuid,nodev,noexec,mode=1777,size=65536k', 'shm', meta.shmPath]);
    }
    if (hostNet) {
      meta.ip = hostIPv4();
    } else {
      const r = await ctx.network!.add(id, meta.netnsPath, 'eth0', { portMappings: config.portMappings, args: podArgs(id, config) });
      meta.ip = r.ip;
    }
    writeJsonAtomic(join(dir, 'sandbox.json'), meta);
    return { id, netnsPath: meta.netnsPath, ip: meta.ip };
  } catch (e) {
    await removePodSandbox(ctx, id).catch(() => {});
    throw e;
  }
}

export async function stopPodSandbox(ctx: RuncContext, id: string, timeoutSeconds = 10): Promise<void> {
  const meta = readSandboxMeta(ctx, id);
  if (!meta) return;
  const containers = await listContainers(ctx, { sandboxId: id });
  await Promise.all(containers.filter((c) => c.state === 'running').map((c) => stopContainer(ctx, c.id, timeoutSeconds)));
  if (meta.netnsPath && ctx.network) {
    await ctx.network.del(id, meta.netnsPath, 'eth0', { args: podArgs(id, meta.config) });
  }
  writeJsonAtomic(join(sandboxDir(ctx, id), 'sandbox.json'), { ...meta, state: 'notready' });
}

export async function removePodSandbox(ctx: RuncContext, id: string): Promise<void> {
  const meta = readSandboxMeta(ctx, id);
  const dir = sandboxDir(ctx, id);
  if (!meta) {
    if (isId(id)) rmSync(dir, { recursive: true, force: true });
    return;
  }
  for (const c of await listContainers(ctx, { sandboxId: id })) await removeContainer(ctx, c.id);
  if (meta.netnsName && ctx.network) {
    const netnsPath = `/var/run/netns/${meta.netnsName}`;
    await ctx.network.del(id, netnsPath).catch(() => {});
  }
  if (meta.shmPath) await unmount(meta.shmPath);
  if (meta.ipcPath) await unmount(meta.ipcPath);
  if (meta.utsPath) await unmount(meta.utsPath);
  if (meta.netnsName && existsSync(`/var/run/netns/${meta.netnsName}`)) {
    await runOrThrow('ip', ['netns', 'del', meta.netnsName]);
  }
  rmSync(dir, { recursive: true, force: true });
}

export async function podSandboxStatus(ctx: RuncContext, id: string): Promise<PodSandboxStatus | undefined> {
  const m = readSandboxMeta(ctx, id);
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

export async function listPodSandboxes(ctx: RuncContext, filter: SandboxFilter = {}): Promise<PodSandboxStatus[]> {
  const out: PodSandboxStatus[] = [];
  for (const id of readdirSync(join(ctx.stateDir, 'sandboxes'))) {
    const s = await podSandboxStatus(ctx, id);
    if (!s) continue;
    if (filter.state && s.state !== filter.state) continue;
    if (!matchLabels(s.labels, filter.labels)) continue;
    out.push(s);
  }
  return out;
}

/** The node's first non-internal IPv4 address (the pod IP of hostNetwork pods). */
function hostIPv4(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}
