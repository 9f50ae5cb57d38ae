/**
 * Seccomp profiles → the OCI `linux.seccomp` section, as moby/profiles' `setupSeccomp` (which
 * containerd's CRI plugin also uses): keep the native architecture's entry of the arch map, and
 * keep each rule only where its `includes` hold and its `excludes` do not, judged against the
 * container's bounding capabilities, the host architecture and the kernel version. So a
 * container given CAP_SYS_ADMIN may `unshare`, one without it may not.
 */
import { arch as osArch, release } from 'node:os';
import { DEFAULT_SECCOMP_PROFILE, type SeccompArg, type SeccompProfile, type SeccompRule } from './default-profile.js';

export { DEFAULT_SECCOMP_PROFILE } from './default-profile.js';
export type { SeccompProfile, SeccompRule } from './default-profile.js';

/** What a profile is judged against. */
export interface SeccompHost {
  /** Go architecture name (`amd64`, `arm64`, …), as in the profiles' `arches` conditions. */
  arch: string;
  /** Kernel release, e.g. `6.1.0-18-amd64`. */
  kernel: string;
}

/** The OCI runtime-spec `LinuxSeccomp` object. */
export interface OciSeccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  flags?: string[];
  listenerPath?: string;
  syscalls: { names: string[]; action: string; errnoRet?: number; args?: Required<SeccompArg>[] }[];
}

/** Node's `os.arch()` → Go's GOARCH (the names profiles use). */
const NODE_TO_GO: Record<string, string> = { x64: 'amd64', ia32: '386', arm: 'arm', arm64: 'arm64', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64', loong64: 'loong64', mips: 'mips', mipsel: 'mipsle' };
/** GOARCH → libseccomp's native name, then that → the SCMP_ARCH_* constant (moby's tables). */
const GO_TO_NATIVE: Record<string, string> = {
  '386': 'x86', amd64: 'amd64', arm: 'arm', arm64: 'arm64', loong64: 'loongarch64', mips64: 'mips64', mips64p32: 'mips64n32',
  mips64le: 'mipsel64', mips64p32le: 'mips3l64n32', mipsle: 'mipsel', ppc: 'ppc', ppc64: 'ppc64', ppc64le: 'ppc64le',
  riscv64: 'riscv64', s390: 's390', s390x: 's390x',
};
const NATIVE_TO_SCMP: Record<string, string> = {
  x86: 'SCMP_ARCH_X86', amd64: 'SCMP_ARCH_X86_64', arm: 'SCMP_ARCH_ARM', arm64: 'SCMP_ARCH_AARCH64', loongarch64: 'SCMP_ARCH_LOONGARCH64',
  mips64: 'SCMP_ARCH_MIPS64', mips64n32: 'SCMP_ARCH_MIPS64N32', mipsel64: 'SCMP_ARCH_MIPSEL64', mips3l64n32: 'SCMP_ARCH_MIPSEL64N32',
  mipsel: 'SCMP_ARCH_MIPSEL', ppc: 'SCMP_ARCH_PPC', ppc64: 'SCMP_ARCH_PPC64', ppc64le: 'SCMP_ARCH_PPC64LE', riscv64: 'SCMP_ARCH_RISCV64',
  s390: 'SCMP_ARCH_S390', s390x: 'SCMP_ARCH_S390X',
};

/** This machine, for {@link ociSeccomp}. */
export function currentSeccompHost(): SeccompHost {
  return { arch: NODE_TO_GO[osArch()] ?? osArch(), kernel: release() };
}

/** `a >= b` for kernel versions compared on major.minor (moby's kernelGreaterEqualThan). */
export function kernelAtLeast(kernel: string, min: string): boolean {
  const parse = (v: string) => {
    const m = /^(\d+)(?:\.(\d+))?/.exec(v);
    if (!m) throw new Error(`invalid kernel version ${JSON.stringify(v)}`);
    return [Number(m[1]), Number(m[2] ?? 0)] as const;
  };
  const [a1, a2] = parse(kernel);
  const [b1, b2] = parse(min);
  return a1 > b1 || (a1 === b1 && a2 >= b2);
}

function ruleApplies(rule: SeccompRule, native: string, caps: readonly string[], kernel: string): boolean {
  const ex = rule.excludes;
  if (ex) {
    if (ex.arches?.includes(native)) return false;
    if (ex.caps?.some((c) => caps.includes(c))) return false;
    if (ex.minKernel && kernelAtLeast(kernel, ex.minKernel)) return false;
  }
  const inc = rule.includes;
  if (inc) {
    if (inc.arches?.length && !inc.arches.includes(native)) return false;
    if (inc.caps?.length && !inc.caps.every((c) => caps.includes(c))) return false;
    if (inc.minKernel && !kernelAtLeast(kernel, inc.minKernel)) return false;
  }
  return true;
}

/**
 * The OCI seccomp section of `profile` for a container whose bounding set is `caps`, or
 * undefined when the profile disables seccomp (no default action and no rules). Throws on a
 * profile that names both `architectures` and `archMap`.
 */
export function ociSeccomp(profile: SeccompProfile, caps: readonly string[], host: SeccompHost): OciSeccomp | undefined {
  if (!profile.defaultAction && !profile.syscalls?.length) return undefined;
  if (profile.architectures?.length && profile.archMap?.length) {
    throw new Error("both 'architectures' and 'archMap' are specified in the seccomp profile, use either 'architectures' or 'archMap'");
  }
  const native = GO_TO_NATIVE[host.arch] ?? host.arch;
  const out: OciSeccomp = { defaultAction: profile.defaultAction, syscalls: [] };
  if (profile.defaultErrnoRet !== undefined) out.defaultErrnoRet = profile.defaultErrnoRet;
  if (profile.flags?.length) out.flags = profile.flags;
  if (profile.listenerPath) out.listenerPath = profile.listenerPath;
  if (profile.architectures?.length) out.architectures = profile.architectures;
  const scmp = NATIVE_TO_SCMP[native];
  const entry = profile.archMap?.find((a) => a.architecture === scmp);
  if (entry) out.architectures = [entry.architecture, ...(entry.subArchitectures ?? [])];
  for (const rule of profile.syscalls ?? []) {
    const names = rule.names ?? ((rule as { name?: string }).name ? [(rule as { name?: string }).name!] : []);
    if (!ruleApplies(rule, native, caps, host.kernel)) continue;
    const sc: OciSeccomp['syscalls'][number] = { names, action: rule.action };
    if (rule.errnoRet !== undefined) sc.errnoRet = rule.errnoRet;
    if (rule.args?.length) sc.args = rule.args.map((a) => ({ index: a.index, value: a.value, valueTwo: a.valueTwo ?? 0, op: a.op }));
    out.syscalls.push(sc);
  }
  return out;
}

/** The RuntimeDefault profile for a container with bounding set `caps`. */
export function runtimeDefaultSeccomp(caps: readonly string[], host: SeccompHost = currentSeccompHost()): OciSeccomp {
  return ociSeccomp(DEFAULT_SECCOMP_PROFILE, caps, host)!;
}

/**
 * Parses a profile file's text (Docker's format, or the bare OCI form, as containerd accepts
 * for `localhost/` profiles). The error names the file.
 */
export function parseSeccompProfile(text: string, file: string): SeccompProfile {
  let p: unknown;
  try {
    p = JSON.parse(text);
  } catch (e) {
    throw new Error(`decoding seccomp profile ${file} failed: ${(e as Error).message}`);
  }
  if (!p || typeof p !== 'object' || Array.isArray(p)) throw new Error(`decoding seccomp profile ${file} failed: not a JSON object`);
  const prof = p as SeccompProfile;
  if (prof.syscalls !== undefined && !Array.isArray(prof.syscalls)) throw new Error(`decoding seccomp profile ${file} failed: syscalls must be a list`);
  for (const r of prof.syscalls ?? []) {
    const named = (r as { name?: string }).name;
    if (named && r.names?.length) throw new Error(`seccomp profile ${file}: both 'name' and 'names' are specified, use either 'name' or 'names'`);
    if (named) r.names = [named];
    if (!Array.isArray(r.names) || typeof r.action !== 'string') throw new Error(`seccomp profile ${file}: every syscall rule needs names and an action`);
  }
  return prof;
}
