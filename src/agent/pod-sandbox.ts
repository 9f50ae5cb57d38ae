/**
 * The pod sandbox (kuberuntime_sandbox.go + pkg/kubelet/network/dns): the runtime config of a
 * pod's sandbox (identity, hostname, host port mappings; the runtime brings up the network
 * namespace and CNI), and the per-pod files every container bind-mounts — /etc/hosts,
 * /etc/resolv.conf per dnsPolicy, /etc/hostname. The file contents are pure functions of the pod;
 * {@link setupSandbox} is the one place that creates the sandbox and writes them.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { Labels, type PodSandboxConfig, type PodSandboxStatus, type Runtime } from '../runtime/types.js';
import { podSysctls } from './security-context.js';

/** Label marking a sandbox or container as this agent's (value: the node name). */
export const NODE_LABEL = 'io.skiff.node';

/** The labels every sandbox and container of a pod carries (how the agent finds them again). */
export function podLabels(pod: Pod, uid: string, nodeName: string): Record<string, string> {
  const md = pod.metadata ?? {};
  return { [Labels.podName]: md.name!, [Labels.podNamespace]: md.namespace ?? 'default', [Labels.podUid]: uid, [NODE_LABEL]: nodeName };
}

/** Where the per-pod files live (`<podDir>/etc-hosts` …), as the containers' bind mounts name them. */
export function sandboxFiles(podDir: string): { etcHosts: string; resolvConf: string; hostname: string } {
  return { etcHosts: join(podDir, 'etc-hosts'), resolvConf: join(podDir, 'resolv.conf'), hostname: join(podDir, 'hostname') };
}

/** The pod's hostname: spec.hostname, else its name, cut to a DNS label. */
export function podHostname(pod: Pod): string {
  return (pod.spec?.hostname ?? pod.metadata!.name!).slice(0, 63);
}

/** The runtime config of the pod's sandbox: identity, hostname, labels, hostPort mappings, host namespaces, sysctls. */
export function sandboxConfig(pod: Pod, uid: string, nodeName: string): PodSandboxConfig {
  const md = pod.metadata!;
  const ports = (pod.spec?.containers ?? []).flatMap((c) => c.ports ?? []).filter((p) => p.hostPort);
  return {
    name: md.name!,
    namespace: md.namespace ?? 'default',
    uid,
    hostname: podHostname(pod),
    hostNetwork: !!pod.spec?.hostNetwork,
    hostPID: !!pod.spec?.hostPID,
    hostIPC: !!pod.spec?.hostIPC,
    sysctls: podSysctls(pod),
    labels: podLabels(pod, uid, nodeName),
    portMappings: ports.map((p) => ({ hostPort: p.hostPort!, containerPort: p.containerPort, protocol: (p.protocol ?? 'TCP').toLowerCase() as 'tcp', hostIP: p.hostIP })),
  };
}

/** The host's own files, read only when a policy needs them (hostNetwork hosts, dnsPolicy Default). */
export interface HostFiles {
  hosts(): string;
  resolvConf(): string;
}

/** The real /etc/hosts and /etc/resolv.conf. */
export const hostFiles: HostFiles = {
  hosts: () => (existsSync('/etc/hosts') ? readFileSync('/etc/hosts', 'utf8') : '127.0.0.1\tlocalhost\n'),
  resolvConf: () => (existsSync('/etc/resolv.conf') ? readFileSync('/etc/resolv.conf', 'utf8') : ''),
};

/** /etc/hosts of the pod (kubelet's managed hosts file; the host's own with hostNetwork), plus hostAliases. */
export function etcHostsFile(pod: Pod, hostname: string, ip: string, clusterDomain: string, host: HostFiles = hostFiles): string {
  const ns = pod.metadata?.namespace ?? 'default';
  let hosts: string;
  if (pod.spec?.hostNetwork) {
    hosts = host.hosts();
  } else {
    const fqdn = pod.spec?.subdomain ? `${hostname}.${pod.spec.subdomain}.${ns}.svc.${clusterDomain}\t` : '';
    hosts = [
      '# Kubernetes-managed hosts file.',
      '127.0.0.1\tlocalhost',
      '::1\tlocalhost ip6-localhost ip6-loopback',
      'fe00::0\tip6-localnet',
      'fe00::0\tip6-mcastprefix',
      'fe00::1\tip6-allnodes',
      'fe00::2\tip6-allrouters',
      `${ip}\t${fqdn}${hostname}`,
      '',
    ].join('\n');
  }
  if (pod.spec?.hostAliases?.length) {
    hosts += '\n# Entries added by HostAliases.\n';
    for (const a of pod.spec.hostAliases) hosts += `${a.ip}\t${(a.hostnames ?? []).join('\t')}\n`;
  }
  return hosts;
}

/** resolv.conf per dnsPolicy and dnsConfig (pkg/kubelet/network/dns). */
export function resolvConfFile(pod: Pod, clusterDns: string | undefined, clusterDomain: string, host: HostFiles = hostFiles): string {
  const spec: NonNullable<Pod['spec']> = pod.spec ?? { containers: [] };
  const ns = pod.metadata?.namespace ?? 'default';
  const domain = clusterDomain;
  let policy = spec.dnsPolicy ?? 'ClusterFirst';
  if (policy === 'ClusterFirst' && spec.hostNetwork) policy = 'Default';
  if (policy === 'ClusterFirstWithHostNet') policy = 'ClusterFirst';
  let servers: string[] = [];
  let searches: string[] = [];
  let options: string[] = [];
  const fromHost = () => {
    for (const line of host.resolvConf().split('\n')) {
      const f = line.trim().split(/\s+/);
      if (f[0] === 'nameserver' && f[1]) servers.push(f[1]);
      else if (f[0] === 'search') searches = f.slice(1);
      else if (f[0] === 'options') options.push(...f.slice(1));
    }
  };
  if (policy === 'ClusterFirst' && clusterDns) {
    servers = [clusterDns];
    searches = [`${ns}.svc.${domain}`, `svc.${domain}`, domain];
    options = ['ndots:5'];
  } else if (policy !== 'None') fromHost();
  const dc = spec.dnsConfig;
  if (dc) {
    servers = [...servers, ...(dc.nameservers ?? [])].filter((v, i, a) => a.indexOf(v) === i);
    searches = [...searches, ...(dc.searches ?? [])].filter((v, i, a) => a.indexOf(v) === i);
    for (const o of dc.options ?? []) {
      if (!o.name) continue;
      options = options.filter((x) => x.split(':')[0] !== o.name);
      options.push(o.value !== undefined ? `${o.name}:${o.value}` : o.name);
    }
  }
  let out = '';
  for (const s of servers.slice(0, 3)) out += `nameserver ${s}\n`;
  if (searches.length) out += `search ${searches.slice(0, 32).join(' ')}\n`;
  if (options.length) out += `options ${options.join(' ')}\n`;
  return out;
}

/** What {@link setupSandbox} needs from the agent. */
export interface SandboxDeps {
  runtime: Pick<Runtime, 'runPodSandbox' | 'podSandboxStatus'>;
  nodeName: string;
  clusterDns?: string;
  clusterDomain: string;
}

/**
 * Creates the pod's sandbox (network namespace, CNI, host ports: the runtime's part) and writes
 * its hosts, resolv.conf and hostname files into `podDir`. Throws what the runtime throws.
 */
export async function setupSandbox(deps: SandboxDeps, pod: Pod, uid: string, podDir: string): Promise<PodSandboxStatus | undefined> {
  const config = sandboxConfig(pod, uid, deps.nodeName);
  const r = await deps.runtime.runPodSandbox(config);
  const hostname = config.hostname!;
  const files = sandboxFiles(podDir);
  mkdirSync(podDir, { recursive: true });
  writeFileSync(files.etcHosts, etcHostsFile(pod, hostname, r.ip, deps.clusterDomain));
  writeFileSync(files.resolvConf, resolvConfFile(pod, deps.clusterDns, deps.clusterDomain));
  writeFileSync(files.hostname, hostname + '\n');
  return await deps.runtime.podSandboxStatus(r.id);
}
