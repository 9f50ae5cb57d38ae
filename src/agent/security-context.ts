/**
 * A pod's and a container's securityContext → the runtime's security settings, and the kubelet's
 * refusals: pure functions, as upstream's pkg/securitycontext (DetermineEffectiveSecurityContext),
 * kuberuntime's security_context.go / security_context_others.go (verifyRunAsNonRoot) and
 * pkg/kubelet/sysctl (the safe-sysctl allowlist and its admission).
 *
 * skiff applies the RuntimeDefault seccomp profile when none is set, as a kubelet started with
 * `--seccomp-default` (and as Docker does).
 */
import { join } from 'node:path';
import type { Container, Pod, SecurityContext } from 'kubernetes-types/core/v1.js';
import type { ContainerSpec, SeccompChoice } from '../runtime/types.js';

/** The container's securityContext with the pod's fields filled in where the container leaves them unset. */
export function effectiveSecurityContext(pod: Pod, c: Container): SecurityContext {
  const psc = pod.spec?.securityContext ?? {};
  const sc: SecurityContext = { ...(c.securityContext ?? {}) };
  if (sc.runAsUser === undefined && psc.runAsUser !== undefined) sc.runAsUser = psc.runAsUser;
  if (sc.runAsGroup === undefined && psc.runAsGroup !== undefined) sc.runAsGroup = psc.runAsGroup;
  if (sc.runAsNonRoot === undefined && psc.runAsNonRoot !== undefined) sc.runAsNonRoot = psc.runAsNonRoot;
  if (sc.seccompProfile === undefined && psc.seccompProfile !== undefined) sc.seccompProfile = psc.seccompProfile;
  if (sc.seLinuxOptions === undefined && psc.seLinuxOptions !== undefined) sc.seLinuxOptions = psc.seLinuxOptions;
  if (sc.appArmorProfile === undefined && psc.appArmorProfile !== undefined) sc.appArmorProfile = psc.appArmorProfile;
  return sc;
}

/** The kubelet's `format.Pod`: `name_namespace(uid)`. */
function formatPod(pod: Pod): string {
  const md = pod.metadata ?? {};
  return `${md.name ?? ''}_${md.namespace ?? 'default'}(${md.uid ?? ''})`;
}

/**
 * The image's user as the runtime reports it (containerd's ImageStatus): a numeric uid from
 * `USER uid[:gid]`, else the name; no USER = uid 0.
 */
export function imageUser(user: string | undefined): { uid?: number; username: string } {
  const u = (user ?? '').split(':')[0] ?? '';
  if (u === '') return { uid: 0, username: '' };
  if (/^\d+$/.test(u)) return { uid: Number(u), username: '' };
  return { username: u };
}

/**
 * Why runAsNonRoot refuses this container (upstream's verifyRunAsNonRoot wording), or undefined.
 * Judged on runAsUser when set, else on the image's USER as written (a name cannot be verified).
 */
export function runAsNonRootError(pod: Pod, c: Container, image: { uid?: number; username: string }): string | undefined {
  const sc = effectiveSecurityContext(pod, c);
  if (!sc.runAsNonRoot) return undefined;
  if (sc.runAsUser !== undefined) {
    return sc.runAsUser === 0 ? `container's runAsUser breaks non-root policy (pod: ${JSON.stringify(formatPod(pod))}, container: ${c.name})` : undefined;
  }
  if (image.uid === undefined && image.username) {
    return `container has runAsNonRoot and image has non-numeric user (${image.username}), cannot verify user is non-root (pod: ${JSON.stringify(formatPod(pod))}, container: ${c.name})`;
  }
  if (image.uid === 0) return `container has runAsNonRoot and image will run as root (pod: ${JSON.stringify(formatPod(pod))}, container: ${c.name})`;
  return undefined;
}

/** The runtime's security fields of a container, or the reason it cannot be configured. */
export type ContainerSecurity = Pick<ContainerSpec, 'capabilities' | 'privileged' | 'readOnlyRootfs' | 'noNewPrivileges' | 'seccomp' | 'procMount'>;

/**
 * The runtime's security settings of a container (kubelet's determineEffectiveSecurityContext
 * for Linux). `seccompDir` is where Localhost profiles live (kubelet's `<root>/seccomp`).
 * Returns a string when the spec cannot be honoured (CreateContainerConfigError).
 */
export function containerSecurity(pod: Pod, c: Container, seccompDir: string): ContainerSecurity | string {
  const sc = effectiveSecurityContext(pod, c);
  let seccomp: SeccompChoice = { type: 'RuntimeDefault' };
  const prof = sc.seccompProfile;
  if (prof?.type === 'Unconfined') seccomp = { type: 'Unconfined' };
  else if (prof?.type === 'Localhost') {
    const rel = prof.localhostProfile ?? '';
    if (!rel || rel.startsWith('/') || rel.split('/').includes('..')) {
      return `invalid seccomp localhostProfile ${JSON.stringify(rel)}: it must be a relative path under the node's seccomp directory without '..'`;
    }
    seccomp = { type: 'Localhost', path: join(seccompDir, rel) };
  } else if (prof && prof.type !== 'RuntimeDefault') return `unsupported seccompProfile type ${JSON.stringify(prof.type)}`;
  let procMount: ContainerSpec['procMount'] = 'Default';
  if (sc.procMount === 'Unmasked') {
    // Upstream allows an unmasked /proc only inside a user namespace.
    if (pod.spec?.hostUsers !== false) return 'securityContext.procMount: Invalid value: "Unmasked": `hostUsers` must be false to use `Unmasked`';
    procMount = 'Unmasked';
  }
  return {
    capabilities: { add: sc.capabilities?.add, drop: sc.capabilities?.drop },
    privileged: !!sc.privileged,
    readOnlyRootfs: !!sc.readOnlyRootFilesystem,
    // kubelet's AddNoNewPrivileges: only an explicit allowPrivilegeEscalation: false sets it.
    noNewPrivileges: sc.allowPrivilegeEscalation === false,
    seccomp,
    procMount,
  };
}

/** Kubernetes' safe sysctls (pkg/kubelet/sysctl/safe_sysctls.go) with the kernel each needs. */
export const SAFE_SYSCTLS: { name: string; kernel?: string }[] = [
  { name: 'kernel.shm_rmid_forced' },
  { name: 'net.ipv4.ip_local_port_range' },
  { name: 'net.ipv4.tcp_syncookies' },
  { name: 'net.ipv4.ping_group_range' },
  { name: 'net.ipv4.ip_unprivileged_port_start' },
  { name: 'net.ipv4.ip_local_reserved_ports', kernel: '3.16' },
  { name: 'net.ipv4.tcp_keepalive_time', kernel: '4.5' },
  { name: 'net.ipv4.tcp_fin_timeout', kernel: '4.6' },
  { name: 'net.ipv4.tcp_keepalive_intvl', kernel: '4.5' },
  { name: 'net.ipv4.tcp_keepalive_probes', kernel: '4.5' },
  { name: 'net.ipv4.tcp_rmem', kernel: '4.15' },
  { name: 'net.ipv4.tcp_wmem', kernel: '4.15' },
];

/** Which namespace isolates a sysctl (component-helpers' NamespacedBy), or undefined when none does. */
export function sysctlNamespace(name: string): 'ipc' | 'net' | undefined {
  if (name === 'kernel.sem' || ['kernel.shm', 'kernel.msg', 'fs.mqueue.'].some((p) => name.startsWith(p))) return 'ipc';
  if (name.startsWith('net.')) return 'net';
  return undefined;
}

/** `net/ipv4/ip_forward` → `net.ipv4.ip_forward` (a name with slashes uses them as separators). */
export function normalizeSysctl(name: string): string {
  if (!name.includes('/')) return name;
  // Slashes separate, dots inside a segment stay (they become slashes in /proc/sys, swapped back).
  return name.split('/').map((seg) => seg.replace(/\./g, '/')).join('.');
}

function kernelAtLeast(kernel: string, min: string): boolean {
  const p = (v: string) => (/^(\d+)\.(\d+)/.exec(v) ?? [, '0', '0']).slice(1).map(Number) as [number, number];
  const [a, b] = p(kernel);
  const [c, d] = p(min);
  return a > c || (a === c && b >= d);
}

/**
 * The kubelet's sysctl admission (SysctlForbidden): every pod sysctl must be safe on this
 * kernel or allowed by the node's `allowedUnsafeSysctls` (patterns may end in `*`), and a
 * net/ipc sysctl is refused when the pod shares that namespace with the host.
 * Returns the rejection message, or undefined when admitted.
 */
export function sysctlAdmissionError(pod: Pod, allowedUnsafe: readonly string[], kernel: string): string | undefined {
  const safe = SAFE_SYSCTLS.filter((s) => !s.kernel || kernelAtLeast(kernel, s.kernel)).map((s) => s.name);
  const exact = new Set([...safe, ...allowedUnsafe.filter((p) => !p.endsWith('*')).map(normalizeSysctl)]);
  const prefixes = allowedUnsafe.filter((p) => p.endsWith('*')).map((p) => normalizeSysctl(p.slice(0, -1)));
  for (const s of pod.spec?.securityContext?.sysctls ?? []) {
    const name = normalizeSysctl(s.name);
    const ns = sysctlNamespace(name);
    if (exact.has(name) || prefixes.some((p) => name.startsWith(p))) {
      if (ns === 'ipc' && pod.spec?.hostIPC) return `forbidden sysctl: "${name}" not allowed with host ipc enabled`;
      if (ns === 'net' && pod.spec?.hostNetwork) return `forbidden sysctl: "${name}" not allowed with host net enabled`;
      continue;
    }
    return `forbidden sysctl: "${name}" not allowlisted`;
  }
  return undefined;
}

/**
 * Checks a node's `--allowed-unsafe-sysctls` as the kubelet does at start: each a sysctl or a
 * `prefix*` pattern that a namespace isolates (net.*, kernel.shm*, kernel.msg*, kernel.sem,
 * fs.mqueue.*). Returns the dotted patterns; throws with the offending one.
 */
export function parseAllowedUnsafeSysctls(patterns: readonly string[]): string[] {
  return patterns.map((raw) => {
    const p = normalizeSysctl(raw.trim());
    if (!/^[a-z0-9]([-_a-z0-9./]*[a-z0-9.])?\*?$/.test(p)) throw new Error(`sysctl ${JSON.stringify(raw)} must be a sysctl name or a pattern ending in *`);
    const base = p.endsWith('*') ? p.slice(0, -1) : p;
    if (!sysctlNamespace(base)) {
      throw new Error(`the sysctl${p.endsWith('*') ? 's' : ''} ${JSON.stringify(p)} ${p.endsWith('*') ? 'are' : 'is'} not known to be namespaced`);
    }
    return p;
  });
}

/** The pod's sysctls as the runtime sets them (dotted names). */
export function podSysctls(pod: Pod): Record<string, string> | undefined {
  const list = pod.spec?.securityContext?.sysctls ?? [];
  if (!list.length) return undefined;
  return Object.fromEntries(list.map((s) => [normalizeSysctl(s.name), s.value]));
}
