/**
 * Builds the OCI runtime-spec `config.json` for a container, with containerd's defaults
 * (oci/spec.go populateDefaultUnixSpec + the CRI plugin's additions): /dev, /dev/pts, /dev/shm
 * (the pod's), /dev/mqueue, /sys, /sys/fs/cgroup mounts, a deny-all device cgroup (runc adds the
 * standard devices), the pod's network/IPC/UTS namespaces joined by path (or the host's), and
 * the security settings `security.ts` decides: capabilities, seccomp, masked and read-only
 * paths, no_new_privs, and for privileged containers the host's devices.
 */
import { readFileSync } from 'node:fs';
import { parseSeccompProfile, type SeccompProfile } from './seccomp/seccomp.js';
import { containerSecurity, currentHost, hostDevices, SecurityConfigError, type HostSecurity, type OciDevice } from './security.js';
import type { ContainerSpec } from './types.js';

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The hard RLIMIT_NOFILE of this process: a container may never get more than the host. */
export function hostNofileHardLimit(): number {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const hard = line?.trim().split(/\s+/)[4];
    if (hard === 'unlimited') return 1048576;
    if (hard) return Number(hard);
  } catch {
    /* fall through */
  }
  return 1024;
}

export interface SpecContext {
  rootfsPath: string;
  /** Pod namespaces to join; omitted = the host's (hostNetwork) or a private one. */
  netnsPath?: string;
  ipcPath?: string;
  utsPath?: string;
  /** The pod's /dev/shm tmpfs (shared by its containers, like the pause container's). */
  shmPath?: string;
  hostname?: string;
  cgroupsPath: string;
  /** Share the node's PID namespace (hostPID) instead of a private one. */
  hostPID?: boolean;
  /** Share the node's IPC namespace (hostIPC); `ipcPath` is then ignored. */
  hostIPC?: boolean;
  /** Namespaced sysctls (the pod's). */
  sysctls?: Record<string, string>;
  /** What the host can grant; default this process's capabilities, arch and kernel. */
  host?: HostSecurity;
  /** The host's devices for a privileged container; default read from /dev. */
  devices?: () => OciDevice[];
}

/** Reads a Localhost seccomp profile, as containerd does (the error names the file). */
function loadSeccompProfile(path: string): SeccompProfile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new SecurityConfigError(`failed to generate seccomp spec opts: cannot load seccomp profile "${path}": ${(e as Error).message}`);
  }
  return parseSeccompProfile(text, path);
}

/** The OCI runtime spec (config.json) for one container. */
export function buildOciSpec(spec: ContainerSpec, ctx: SpecContext): Record<string, unknown> {
  const localhost = !spec.privileged && spec.seccomp?.type === 'Localhost' ? loadSeccompProfile(spec.seccomp.path) : undefined;
  const sec = containerSecurity(spec, ctx.host ?? currentHost(), localhost);
  const nofile = Math.min(1048576, hostNofileHardLimit());
  const env = [...(spec.env ?? [])];
  if (!env.some((e) => e.startsWith('PATH='))) env.unshift(`PATH=${DEFAULT_PATH}`);
  if (spec.tty && !env.some((e) => e.startsWith('TERM='))) env.push('TERM=xterm');
  if (ctx.hostname && !env.some((e) => e.startsWith('HOSTNAME='))) env.push(`HOSTNAME=${ctx.hostname}`);

  const mounts: Record<string, unknown>[] = [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', sec.privileged ? 'rw' : 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', sec.privileged ? 'rw' : 'ro'] },
  ];
  if (ctx.shmPath) mounts.push({ destination: '/dev/shm', type: 'bind', source: ctx.shmPath, options: ['rbind', 'rprivate', 'nosuid', 'nodev', 'noexec', 'rw'] });
  else mounts.push({ destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] });
  const etc: [string, string | undefined][] = [['/etc/hosts', spec.etcHostsPath], ['/etc/resolv.conf', spec.resolvConfPath], ['/etc/hostname', spec.hostnamePath]];
  for (const [dest, src] of etc) {
    if (src) mounts.push({ destination: dest, type: 'bind', source: src, options: ['rbind', 'rprivate', spec.readOnlyRootfs ? 'ro' : 'rw'] });
  }
  for (const m of spec.mounts ?? []) {
    if (m.type === 'tmpfs') {
      const opts = ['nosuid', 'nodev', 'mode=1777'];
      if (m.sizeBytes) opts.push(`size=${m.sizeBytes}`);
      if (m.readOnly) opts.push('ro');
      mounts.push({ destination: m.containerPath, type: 'tmpfs', source: 'tmpfs', options: opts });
    } else {
      if (!m.hostPath) throw new Error(`mount ${m.containerPath}: a bind mount needs hostPath`);
      mounts.push({ destination: m.containerPath, type: 'bind', source: m.hostPath, options: ['rbind', m.propagation ?? 'rprivate', m.readOnly ? 'ro' : 'rw'] });
    }
  }

  const namespaces: Record<string, string>[] = [{ type: 'mount' }];
  if (!ctx.hostPID) namespaces.unshift({ type: 'pid' });
  if (!ctx.hostIPC) namespaces.push(ctx.ipcPath ? { type: 'ipc', path: ctx.ipcPath } : { type: 'ipc' });
  if (ctx.utsPath) namespaces.push({ type: 'uts', path: ctx.utsPath });
  if (ctx.netnsPath) namespaces.push({ type: 'network', path: ctx.netnsPath });

  const r = spec.resources ?? {};
  const resources: Record<string, unknown> = {
    devices: [{ allow: sec.privileged, access: 'rwm' }],
  };
  if (r.memoryLimitBytes) resources.memory = { limit: r.memoryLimitBytes, swap: r.memoryLimitBytes };
  const cpu: Record<string, number> = {};
  if (r.cpuShares) cpu.shares = r.cpuShares;
  if (r.cpuQuota) {
    cpu.quota = r.cpuQuota;
    cpu.period = r.cpuPeriod ?? 100000;
  }
  if (Object.keys(cpu).length) resources.cpu = cpu;
  if (r.pidsLimit) resources.pids = { limit: r.pidsLimit };

  const linux: Record<string, unknown> = { namespaces, resources, cgroupsPath: ctx.cgroupsPath };
  if (sec.maskedPaths.length) linux.maskedPaths = sec.maskedPaths;
  if (sec.readonlyPaths.length) linux.readonlyPaths = sec.readonlyPaths;
  if (sec.seccomp) linux.seccomp = sec.seccomp;
  if (sec.privileged) linux.devices = (ctx.devices ?? hostDevices)();
  if (ctx.sysctls && Object.keys(ctx.sysctls).length) linux.sysctl = { ...ctx.sysctls };
  const process: Record<string, unknown> = {
    terminal: !!spec.tty,
    user: { uid: spec.user?.uid ?? 0, gid: spec.user?.gid ?? 0, ...(spec.user?.additionalGids?.length ? { additionalGids: spec.user.additionalGids } : {}) },
    args: spec.command,
    env,
    cwd: spec.cwd || '/',
    capabilities: sec.capabilities,
    rlimits: [{ type: 'RLIMIT_NOFILE', hard: nofile, soft: nofile }],
    noNewPrivileges: sec.noNewPrivileges,
  };
  const out: Record<string, unknown> = {
    ociVersion: '1.0.2',
    process,
    root: { path: ctx.rootfsPath, readonly: !!spec.readOnlyRootfs },
    mounts,
    linux,
  };
  if (ctx.utsPath && ctx.hostname) out.hostname = ctx.hostname;
  return out;
}
