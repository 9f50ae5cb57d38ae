/**
 * Builds the OCI runtime-spec `config.json` for a container, with containerd's defaults
 * (oci/spec.go populateDefaultUnixSpec + the CRI plugin's additions): default capability
 * set, masked and read-only /proc and /sys paths, /dev, /dev/pts, /dev/shm (the pod's),
 * /dev/mqueue, /sys/fs/cgroup mounts, a deny-all device cgroup (runc adds the standard
 * devices), and the pod's network/IPC/UTS namespaces joined by path.
 */
import { readFileSync } from 'node:fs';
import type { ContainerSpec } from './types.js';

/** containerd's (and Docker's) default capabilities. */
export const DEFAULT_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];

/** Every capability, in kernel number order (capability.h). */
const ALL_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN',
  'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ',
  'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
];

/** containerd's defaults: paths hidden from unprivileged containers. */
export const MASKED_PATHS = [
  '/proc/acpi', '/proc/asound', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
  '/proc/timer_stats', '/proc/sched_debug', '/sys/firmware', '/sys/devices/virtual/powercap', '/proc/scsi',
];
export const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Capabilities this kernel knows (runc refuses none, but warns about unknown ones). */
function kernelCapabilities(): string[] {
  try {
    const last = Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8').trim());
    return ALL_CAPABILITIES.slice(0, last + 1);
  } catch {
    return ALL_CAPABILITIES.slice(0, 38);
  }
}

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

function normCap(c: string): string {
  const u = c.toUpperCase();
  return u === 'ALL' ? u : u.startsWith('CAP_') ? u : `CAP_${u}`;
}

/** Kubernetes semantics: drop (ALL empties the set) first, then add (ALL = everything). */
export function resolveCapabilities(spec: Pick<ContainerSpec, 'capabilities' | 'privileged'>): string[] {
  const all = kernelCapabilities();
  if (spec.privileged) return all;
  const add = (spec.capabilities?.add ?? []).map(normCap);
  const drop = (spec.capabilities?.drop ?? []).map(normCap);
  let caps = drop.includes('ALL') ? [] : DEFAULT_CAPABILITIES.filter((c) => !drop.includes(c));
  if (add.includes('ALL')) caps = all;
  else for (const c of add) if (!caps.includes(c)) caps.push(c);
  return caps;
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
}

/** The OCI runtime spec (config.json) for one container. */
export function buildOciSpec(spec: ContainerSpec, ctx: SpecContext): Record<string, unknown> {
  const caps = resolveCapabilities(spec);
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
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', spec.privileged ? 'rw' : 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', spec.privileged ? 'rw' : 'ro'] },
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

  const namespaces: Record<string, string>[] = [{ type: 'pid' }, { type: 'mount' }];
  namespaces.push(ctx.ipcPath ? { type: 'ipc', path: ctx.ipcPath } : { type: 'ipc' });
  if (ctx.utsPath) namespaces.push({ type: 'uts', path: ctx.utsPath });
  if (ctx.netnsPath) namespaces.push({ type: 'network', path: ctx.netnsPath });

  const r = spec.resources ?? {};
  const resources: Record<string, unknown> = {
    devices: [{ allow: !!spec.privileged, access: 'rwm' }],
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
  if (!spec.privileged) {
    linux.maskedPaths = MASKED_PATHS;
    linux.readonlyPaths = READONLY_PATHS;
  }
  const process: Record<string, unknown> = {
    terminal: !!spec.tty,
    user: { uid: spec.user?.uid ?? 0, gid: spec.user?.gid ?? 0, ...(spec.user?.additionalGids?.length ? { additionalGids: spec.user.additionalGids } : {}) },
    args: spec.command,
    env,
    cwd: spec.cwd || '/',
    capabilities: { bounding: caps, effective: caps, permitted: caps },
    rlimits: [{ type: 'RLIMIT_NOFILE', hard: nofile, soft: nofile }],
    noNewPrivileges: !!spec.noNewPrivileges,
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
