/**
 * A container's security settings → the OCI process/linux fields that enforce them, as
 * containerd's CRI plugin decides (container_create_linux.go, oci/spec_opts.go):
 *
 * - capabilities: Docker's default set; `add`/`drop` with `ALL` first, then single names;
 *   `privileged` gets every capability this host can grant (the agent's own bounding set, as
 *   containerd's WithAllCurrentCapabilities — asking runc for more fails with "unable to apply
 *   caps: operation not permitted"). Inheritable and ambient stay empty (CVE-2022-24769).
 * - seccomp: RuntimeDefault (Docker's profile) unless Unconfined or a Localhost profile;
 *   privileged containers ignore seccomp.
 * - masked and read-only /proc and /sys paths unless privileged or `procMount: Unmasked`.
 * - privileged: all host devices, writable /sys and cgroupfs, every device allowed.
 *
 * {@link containerSecurity} is pure; the host facts it needs come from {@link currentHost}.
 */
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { currentSeccompHost, ociSeccomp, runtimeDefaultSeccomp, type OciSeccomp, type SeccompHost, type SeccompProfile } from './seccomp/seccomp.js';
import type { ContainerSpec } from './types.js';

/** containerd's (and Docker's) default capabilities. */
export const DEFAULT_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];

/** Every capability, in kernel number order (capability.h): index = bit number. */
export const ALL_CAPABILITIES = [
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
  '/proc/asound', '/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
  '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap',
];
/** containerd's defaults: paths unprivileged containers see read-only. */
export const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/** What the host lets a container have. */
export interface HostSecurity {
  /** Capabilities the agent itself holds (effective ∩ bounding): the most a container can get. */
  capabilities: string[];
  seccomp: SeccompHost;
}

/** The OCI settings that enforce a container's security settings. */
export interface SecuritySettings {
  capabilities: { bounding: string[]; effective: string[]; permitted: string[] };
  noNewPrivileges: boolean;
  /** Absent = unconfined. */
  seccomp?: OciSeccomp;
  maskedPaths: string[];
  readonlyPaths: string[];
  /** /sys and /sys/fs/cgroup writable, every device allowed, the host's devices created. */
  privileged: boolean;
}

/** Raised for settings the host cannot honour (a capability it does not have, a missing profile). */
export class SecurityConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecurityConfigError';
  }
}

/** `NET_ADMIN`, `cap_net_admin`, `CAP_NET_ADMIN` → `CAP_NET_ADMIN`; `all` → `ALL`. */
export function normalizeCapability(c: string): string {
  const u = c.toUpperCase();
  return u === 'ALL' ? u : u.startsWith('CAP_') ? u : `CAP_${u}`;
}

/**
 * The capability set of a container (containerd's setOCICapabilities): privileged = everything the
 * host grants; else the default set, `ALL` in add then `ALL` in drop, then single adds, then single
 * drops (so `add: [ALL], drop: [CHOWN]` is everything but CHOWN). A named capability the host
 * cannot grant is an error; `ALL` means all the host has.
 */
export function resolveCapabilities(spec: Pick<ContainerSpec, 'capabilities' | 'privileged'>, hostCaps: readonly string[]): string[] {
  if (spec.privileged) return [...hostCaps];
  const add = (spec.capabilities?.add ?? []).map(normalizeCapability);
  const drop = (spec.capabilities?.drop ?? []).map(normalizeCapability);
  let caps = [...DEFAULT_CAPABILITIES];
  if (add.includes('ALL')) caps = [...hostCaps];
  if (drop.includes('ALL')) caps = [];
  for (const c of add) {
    if (c === 'ALL' || caps.includes(c)) continue;
    if (!ALL_CAPABILITIES.includes(c)) throw new SecurityConfigError(`unknown capability "${c}" to add`);
    if (!hostCaps.includes(c)) throw new SecurityConfigError(`capability ${c} cannot be added: this node's agent does not hold it (its bounding set lacks it)`);
    caps.push(c);
  }
  for (const c of drop) if (c !== 'ALL') caps = caps.filter((x) => x !== c);
  // Kernel order, as runc and /proc report them.
  return caps.sort((a, b) => ALL_CAPABILITIES.indexOf(a) - ALL_CAPABILITIES.indexOf(b));
}

/**
 * The OCI security settings of a container. `localhostProfile` is the parsed file of a
 * Localhost seccomp profile (the caller reads it: this function touches nothing).
 */
export function containerSecurity(
  spec: Pick<ContainerSpec, 'capabilities' | 'privileged' | 'noNewPrivileges' | 'seccomp' | 'procMount'>,
  host: HostSecurity,
  localhostProfile?: SeccompProfile,
): SecuritySettings {
  const caps = resolveCapabilities(spec, host.capabilities);
  const privileged = !!spec.privileged;
  let seccomp: OciSeccomp | undefined;
  const choice = spec.seccomp ?? { type: 'RuntimeDefault' };
  if (!privileged) {
    if (choice.type === 'RuntimeDefault') seccomp = runtimeDefaultSeccomp(caps, host.seccomp);
    else if (choice.type === 'Localhost') {
      if (!localhostProfile) throw new SecurityConfigError(`seccomp profile ${choice.path} was not loaded`);
      seccomp = ociSeccomp(localhostProfile, caps, host.seccomp);
    }
  }
  const unmasked = privileged || spec.procMount === 'Unmasked';
  return {
    capabilities: { bounding: caps, effective: caps, permitted: caps },
    noNewPrivileges: !!spec.noNewPrivileges,
    seccomp,
    maskedPaths: unmasked ? [] : MASKED_PATHS,
    readonlyPaths: unmasked ? [] : READONLY_PATHS,
    privileged,
  };
}

/** Capability names of a `/proc/<pid>/status` hex mask (e.g. CapBnd). */
export function capabilitiesOfMask(hex: string): string[] {
  const mask = BigInt(`0x${hex}`);
  return ALL_CAPABILITIES.filter((_, bit) => (mask >> BigInt(bit)) & 1n);
}

/** The hex mask (as /proc shows it) of a capability list. */
export function maskOfCapabilities(caps: readonly string[]): string {
  let mask = 0n;
  for (const c of caps) {
    const bit = ALL_CAPABILITIES.indexOf(c);
    if (bit >= 0) mask |= 1n << BigInt(bit);
  }
  return mask.toString(16).padStart(16, '0');
}

let hostCache: HostSecurity | undefined;

/** This host: the agent's effective ∩ bounding capabilities, architecture and kernel. */
export function currentHost(): HostSecurity {
  if (hostCache) return hostCache;
  let caps = ALL_CAPABILITIES;
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const field = (k: string) => new RegExp(`^${k}:\\s*([0-9a-f]+)$`, 'm').exec(status)?.[1];
    const eff = field('CapEff');
    const bnd = field('CapBnd');
    if (eff && bnd) {
      const b = capabilitiesOfMask(bnd);
      caps = capabilitiesOfMask(eff).filter((c) => b.includes(c));
    }
  } catch {
    /* not Linux: keep the full list; runc would not run anyway */
  }
  hostCache = { capabilities: caps, seccomp: currentSeccompHost() };
  return hostCache;
}

/** An OCI `linux.devices` entry. */
export interface OciDevice {
  path: string;
  type: 'c' | 'b';
  major: number;
  minor: number;
  fileMode: number;
  uid: number;
  gid: number;
}

/** Directories and files of /dev a privileged container does not get from the host (containerd's list). */
const SKIP_DEV = new Set(['pts', 'shm', 'fd', 'mqueue', '.lxc', '.lxd-mounts', '.udev', 'console']);

/**
 * The host's device nodes under `root` (default /dev), as containerd's WithHostDevices gives a
 * privileged container: character and block devices, recursively, without pts/shm/mqueue/console.
 */
export function hostDevices(root = '/dev'): OciDevice[] {
  const out: OciDevice[] = [];
  const walk = (dir: string) => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names) {
      if (dir === root && SKIP_DEV.has(name)) continue;
      const p = join(dir, name);
      let st;
      try {
        st = lstatSync(p, { bigint: true });
      } catch {
        continue;
      }
      if (st.isDirectory()) walk(p);
      else if (st.isCharacterDevice() || st.isBlockDevice()) {
        const dev = st.rdev;
        const major = Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn));
        const minor = Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn));
        out.push({ path: p, type: st.isCharacterDevice() ? 'c' : 'b', major, minor, fileMode: Number(st.mode & 0o7777n), uid: Number(st.uid), gid: Number(st.gid) });
      }
    }
  };
  walk(root);
  return out;
}
