/**
 * Translation of a Kubernetes container into what the runtime runs — {@link generateContainerConfig}
 * and its pure parts: argv (command/args against the image's Entrypoint/Cmd), the environment (with
 * `$(VAR)` expansion and the configMap/secret/downward-API sources), the user, the mounts, the
 * cgroup resources, the security settings and the QoS class.
 * Upstream: pkg/kubelet/kuberuntime/kuberuntime_container.go, pkg/kubelet/kubelet_pods.go
 * (makeEnvironmentVariables, makeMounts), third_party/forked/golang/expansion, pkg/kubelet/cm (shares/quota).
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ConfigMap, Container, EnvVar, Pod, Secret } from 'kubernetes-types/core/v1.js';
import { Quantity } from '../api/quantity.js';
import { parseNormalized } from '../image/reference.js';
import type { ImageInfo } from '../image/image-index.js';
import { Labels, type ContainerSpec, type Mount } from '../runtime/types.js';
import { podLabels, sandboxFiles } from './pod-sandbox.js';
import { containerSecurity, imageUser, runAsNonRootError } from './security-context.js';
import type { MountedVolume } from './volumes.js';

/** Annotation with a hash of the container spec: a changed spec restarts the container. */
export const HASH_ANNOTATION = 'io.kubernetes.container.hash';

/** Hash of what, when changed, requires a new container (not resources: those resize in place upstream). */
export function containerHash(c: Container): string {
  const { image, command, args, env, envFrom, workingDir, volumeMounts, securityContext, ports, stdin, tty } = c;
  return createHash('sha256').update(JSON.stringify({ image, command, args, env, envFrom, workingDir, volumeMounts, securityContext, ports, stdin, tty })).digest('hex').slice(0, 16);
}

/** The image reference the status shows and the image ID (`repo@sha256:…`, never empty). */
export function imageIds(image: string, info: ImageInfo | undefined): { image: string; imageID: string } {
  let repo = image;
  let full = image;
  try {
    const r = parseNormalized(image);
    repo = `${r.domain}/${r.path}`;
    full = r.digest ? `${repo}@${r.digest}` : `${repo}:${r.tag ?? 'latest'}`;
  } catch {
    /* keep as written */
  }
  return { image: full, imageID: info ? `${repo}@${info.digest}` : full };
}

/** The image's runtime config fields we use (Docker names). */
export interface ImageRunConfig {
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Env?: string[];
  WorkingDir?: string;
  User?: string;
  StopSignal?: string;
}

/**
 * A container could not be configured (missing ConfigMap/Secret/key): the kubelet's
 * CreateContainerConfigError. The message is shown as the waiting message.
 */
export class ContainerConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ContainerConfigError';
  }
}

/**
 * Kubernetes command rules: no command and no args → Entrypoint + Cmd; command set → command +
 * args (the image's Cmd is ignored); only args → Entrypoint + args. `$(VAR)` is expanded from
 * the container's environment in both.
 */
export function resolveCommand(c: Pick<Container, 'command' | 'args'>, image: ImageRunConfig, env: Map<string, string> = new Map()): string[] {
  const exp = (xs: string[]) => xs.map((x) => expandVars(x, env));
  const command = c.command?.length ? exp(c.command) : undefined;
  const args = c.args?.length ? exp(c.args) : undefined;
  if (command) return [...command, ...(args ?? [])];
  const entry = image.Entrypoint ?? [];
  if (args) return [...entry, ...args];
  return [...entry, ...(image.Cmd ?? [])];
}

/**
 * `$(VAR)` expansion (third_party/forked/golang/expansion): a defined VAR is replaced, an
 * undefined one is left as written, `$$` is an escaped `$`, and other `$` stay as they are.
 */
export function expandVars(input: string, vars: Map<string, string> | ((name: string) => string | undefined)): string {
  const lookup = typeof vars === 'function' ? vars : (n: string) => vars.get(n);
  let out = '';
  for (let i = 0; i < input.length; i++) {
    const ch = input[i];
    if (ch !== '$' || i + 1 >= input.length) {
      out += ch;
      continue;
    }
    const next = input[i + 1];
    if (next === '$') {
      out += '$';
      i++;
    } else if (next === '(') {
      const close = input.indexOf(')', i + 2);
      if (close < 0) {
        out += input.slice(i);
        break;
      }
      const name = input.slice(i + 2, close);
      const v = lookup(name);
      out += v !== undefined ? v : `$(${name})`;
      i = close;
    } else {
      out += ch;
    }
  }
  return out;
}

/** Where env sources come from (the agent passes API-backed getters; tests pass maps). */
export interface EnvSources {
  getConfigMap(namespace: string, name: string): Promise<ConfigMap | undefined>;
  getSecret(namespace: string, name: string): Promise<Secret | undefined>;
  podIP: string;
  hostIP: string;
  nodeName: string;
  /** Service link variables (KUBERNETES_SERVICE_HOST …), defined first and overridable. */
  serviceEnv?: Map<string, string>;
}

/** Reads a downward-API field path of a pod (fieldRef): metadata.*, spec.*, status.*. */
export function podFieldValue(pod: Pod, fieldPath: string, extra: { podIP?: string; hostIP?: string; nodeName?: string } = {}): string {
  const md = pod.metadata ?? {};
  const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath) ?? /^metadata\.(labels|annotations)\["(.+)"\]$/.exec(fieldPath);
  if (m) return (m[1] === 'labels' ? md.labels : md.annotations)?.[m[2]!] ?? '';
  switch (fieldPath) {
    case 'metadata.name': return md.name ?? '';
    case 'metadata.namespace': return md.namespace ?? '';
    case 'metadata.uid': return md.uid ?? '';
    case 'metadata.labels': return formatMap(md.labels);
    case 'metadata.annotations': return formatMap(md.annotations);
    case 'spec.nodeName': return pod.spec?.nodeName ?? extra.nodeName ?? '';
    case 'spec.serviceAccountName': return pod.spec?.serviceAccountName ?? '';
    case 'status.podIP': return extra.podIP ?? pod.status?.podIP ?? '';
    case 'status.podIPs': return extra.podIP ?? pod.status?.podIP ?? '';
    case 'status.hostIP': return extra.hostIP ?? pod.status?.hostIP ?? '';
    case 'status.hostIPs': return extra.hostIP ?? pod.status?.hostIP ?? '';
    default: throw new ContainerConfigError(`unsupported fieldRef fieldPath ${JSON.stringify(fieldPath)}`);
  }
}

/** `k="v"` lines sorted by key, the downward API's format for labels/annotations. */
export function formatMap(m: Record<string, string> | undefined): string {
  return Object.keys(m ?? {}).sort().map((k) => `${k}=${JSON.stringify(m![k])}`).join('\n');
}

/** resourceFieldRef: limits.cpu / requests.memory … divided by the divisor (cpu rounds up, as upstream). */
export function resourceFieldValue(pod: Pod, containerName: string, resource: string, divisor?: string | number, nodeAllocatable?: { cpu?: string; memory?: string }): string {
  const c = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].find((x) => x.name === containerName);
  if (!c) throw new ContainerConfigError(`resourceFieldRef: container ${containerName} not found`);
  const [kind, name] = resource.split('.') as [string, string];
  let q: string | number | undefined = (kind === 'limits' ? c.resources?.limits : c.resources?.requests)?.[name];
  // Unset limits report the node's allocatable, as upstream.
  if (q === undefined && kind === 'limits') q = (nodeAllocatable as Record<string, string> | undefined)?.[name];
  if (q === undefined) q = 0;
  const d = Quantity.parse(divisor ?? (name === 'cpu' ? '1' : '1'));
  if (name === 'cpu') {
    const milli = Quantity.parse(q).milliValue();
    const dm = d.milliValue() || 1000;
    return String(Math.ceil(milli / dm));
  }
  const v = Quantity.parse(q).value();
  const dv = d.value() || 1;
  return String(Math.ceil(v / dv));
}

/**
 * The container's environment (names in definition order, later definitions win), as
 * makeEnvironmentVariables: service links, then envFrom (with prefix), then env with
 * `$(VAR)` expanded against what was defined before. Image env is merged by the caller.
 */
export async function buildEnv(pod: Pod, c: Container, src: EnvSources, nodeAllocatable?: { cpu?: string; memory?: string }): Promise<Map<string, string>> {
  const ns = pod.metadata?.namespace ?? 'default';
  const env = new Map<string, string>(src.serviceEnv ?? []);
  const cms = new Map<string, ConfigMap | undefined>();
  const secrets = new Map<string, Secret | undefined>();
  const cm = async (name: string) => {
    if (!cms.has(name)) cms.set(name, await src.getConfigMap(ns, name));
    return cms.get(name);
  };
  const secret = async (name: string) => {
    if (!secrets.has(name)) secrets.set(name, await src.getSecret(ns, name));
    return secrets.get(name);
  };
  for (const from of c.envFrom ?? []) {
    const prefix = from.prefix ?? '';
    if (from.configMapRef) {
      const obj = await cm(from.configMapRef.name ?? '');
      if (!obj) {
        if (from.configMapRef.optional) continue;
        throw new ContainerConfigError(`configmap "${from.configMapRef.name}" not found`);
      }
      for (const [k, v] of Object.entries(obj.data ?? {})) env.set(prefix + k, v);
    } else if (from.secretRef) {
      const obj = await secret(from.secretRef.name ?? '');
      if (!obj) {
        if (from.secretRef.optional) continue;
        throw new ContainerConfigError(`secret "${from.secretRef.name}" not found`);
      }
      for (const [k, v] of Object.entries(secretData(obj))) env.set(prefix + k, v.toString('utf8'));
    }
  }
  for (const e of c.env ?? []) {
    const v = await envValue(pod, c, e, env, src, cm, secret, ns, nodeAllocatable);
    if (v !== undefined) env.set(e.name, v);
  }
  return env;
}

async function envValue(
  pod: Pod, c: Container, e: EnvVar, env: Map<string, string>, src: EnvSources,
  cm: (n: string) => Promise<ConfigMap | undefined>, secret: (n: string) => Promise<Secret | undefined>, ns: string,
  nodeAllocatable?: { cpu?: string; memory?: string },
): Promise<string | undefined> {
  if (e.value !== undefined) return expandVars(e.value, env);
  const from = e.valueFrom;
  if (!from) return '';
  if (from.fieldRef) return podFieldValue(pod, from.fieldRef.fieldPath, src);
  if (from.resourceFieldRef) {
    return resourceFieldValue(pod, from.resourceFieldRef.containerName || c.name, from.resourceFieldRef.resource, from.resourceFieldRef.divisor as string | undefined, nodeAllocatable);
  }
  if (from.configMapKeyRef) {
    const ref = from.configMapKeyRef;
    const obj = await cm(ref.name ?? '');
    if (!obj) {
      if (ref.optional) return undefined;
      throw new ContainerConfigError(`configmap "${ref.name}" not found`);
    }
    const v = obj.data?.[ref.key] ?? (obj.binaryData?.[ref.key] !== undefined ? Buffer.from(obj.binaryData[ref.key]!, 'base64').toString('utf8') : undefined);
    if (v === undefined) {
      if (ref.optional) return undefined;
      throw new ContainerConfigError(`couldn't find key ${ref.key} in ConfigMap ${ns}/${ref.name}`);
    }
    return v;
  }
  if (from.secretKeyRef) {
    const ref = from.secretKeyRef;
    const obj = await secret(ref.name ?? '');
    if (!obj) {
      if (ref.optional) return undefined;
      throw new ContainerConfigError(`secret "${ref.name}" not found`);
    }
    const v = secretData(obj)[ref.key];
    if (v === undefined) {
      if (ref.optional) return undefined;
      throw new ContainerConfigError(`couldn't find key ${ref.key} in Secret ${ns}/${ref.name}`);
    }
    return v.toString('utf8');
  }
  return '';
}

/** A Secret's data decoded (stringData merged, as a write would have). */
export function secretData(s: Secret): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(s.data ?? {})) out[k] = Buffer.from(v, 'base64');
  for (const [k, v] of Object.entries(s.stringData ?? {})) out[k] = Buffer.from(v, 'utf8');
  return out;
}

/** Image env merged under the container env (container wins), as the CRI runtimes do. */
export function mergeEnv(imageEnv: string[] | undefined, env: Map<string, string>): string[] {
  const merged = new Map<string, string>();
  for (const kv of imageEnv ?? []) {
    const i = kv.indexOf('=');
    if (i > 0) merged.set(kv.slice(0, i), kv.slice(i + 1));
  }
  for (const [k, v] of env) merged.set(k, v);
  return [...merged].map(([k, v]) => `${k}=${v}`);
}

/** Service link variables for one Service (docker-links style), as pkg/kubelet/envvars. */
export function serviceEnvVars(name: string, clusterIP: string, ports: { name?: string; port: number; protocol?: string }[]): Map<string, string> {
  const env = new Map<string, string>();
  if (!clusterIP || clusterIP === 'None' || !ports.length) return env;
  const n = name.toUpperCase().replace(/-/g, '_');
  env.set(`${n}_SERVICE_HOST`, clusterIP);
  env.set(`${n}_SERVICE_PORT`, String(ports[0]!.port));
  for (const p of ports) if (p.name) env.set(`${n}_SERVICE_PORT_${p.name.toUpperCase().replace(/-/g, '_')}`, String(p.port));
  const first = ports[0]!;
  const proto = (first.protocol ?? 'TCP').toLowerCase();
  env.set(`${n}_PORT`, `${proto}://${clusterIP}:${first.port}`);
  for (const p of ports) {
    const pr = (p.protocol ?? 'TCP').toUpperCase();
    const pre = `${n}_PORT_${p.port}_${pr}`;
    env.set(pre, `${pr.toLowerCase()}://${clusterIP}:${p.port}`);
    env.set(`${pre}_PROTO`, pr.toLowerCase());
    env.set(`${pre}_PORT`, String(p.port));
    env.set(`${pre}_ADDR`, clusterIP);
  }
  return env;
}

/** cgroup settings from requests/limits (pkg/kubelet/cm/helpers_linux.go). */
export function containerResources(c: Pick<Container, 'resources'>): { cpuShares: number; cpuQuota?: number; cpuPeriod?: number; memoryLimitBytes?: number } {
  const req = c.resources?.requests ?? {};
  const lim = c.resources?.limits ?? {};
  const cpuReq = req.cpu !== undefined ? Quantity.parse(req.cpu).milliValue() : lim.cpu !== undefined ? Quantity.parse(lim.cpu).milliValue() : 0;
  // MilliCPUToShares: 2 minimum (BestEffort), 1024 per core.
  const cpuShares = Math.max(2, Math.floor((cpuReq * 1024) / 1000));
  const out: ReturnType<typeof containerResources> = { cpuShares };
  if (lim.cpu !== undefined) {
    const milli = Quantity.parse(lim.cpu).milliValue();
    // MilliCPUToQuota: 1000 µs minimum so a tiny limit still runs.
    out.cpuPeriod = 100_000;
    out.cpuQuota = Math.max(1000, Math.floor((milli * 100_000) / 1000));
  }
  if (lim.memory !== undefined) out.memoryLimitBytes = Quantity.parse(lim.memory).value();
  return out;
}

/** The pod's QoS class (pkg/apis/core/v1/helper/qos): Guaranteed, Burstable or BestEffort. */
export function qosClass(pod: Pod): 'Guaranteed' | 'Burstable' | 'BestEffort' {
  const cs = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])];
  let any = false;
  let guaranteed = true;
  for (const c of cs) {
    const req = c.resources?.requests ?? {};
    const lim = c.resources?.limits ?? {};
    for (const r of ['cpu', 'memory']) {
      const rq = req[r] ?? lim[r];
      if (rq !== undefined && Quantity.parse(rq).milliValue() > 0) any = true;
      if (lim[r] !== undefined && Quantity.parse(lim[r]).milliValue() > 0) any = true;
      if (lim[r] === undefined || (rq !== undefined && Quantity.parse(rq).cmp(Quantity.parse(lim[r])) !== 0)) guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

/** Looks a user or group name up in passwd/group text (`name:x:uid:gid:…`). */
export function lookupId(text: string, name: string): { id: number; gid?: number } | undefined {
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f[2] !== undefined) return { id: Number(f[2]), gid: f[3] !== undefined && f[3] !== '' ? Number(f[3]) : undefined };
  }
  return undefined;
}

/**
 * The process user: securityContext runAsUser/runAsGroup (container over pod) win, else the
 * image's USER (`uid`, `uid:gid`, `name`, `name:group`, resolved through the image's
 * /etc/passwd and /etc/group via `readEtc`). Groups: the user's /etc/group memberships,
 * supplementalGroups, fsGroup. runAsNonRoot is
 * checked before, on the image's USER as written ({@link runAsNonRootError}).
 */
export function resolveUser(pod: Pod, c: Container, imageUser: string | undefined, readEtc: (file: 'passwd' | 'group') => string): { uid: number; gid: number; additionalGids: number[] } {
  const sc = c.securityContext ?? {};
  const psc = pod.spec?.securityContext ?? {};
  let uid = 0;
  let gid: number | undefined;
  if (imageUser) {
    const [u, g] = imageUser.split(':') as [string, string | undefined];
    if (/^\d+$/.test(u)) uid = Number(u);
    else {
      const e = lookupId(readEtc('passwd'), u);
      if (!e) throw new ContainerConfigError(`unable to find user ${u}: no matching entries in passwd file`);
      uid = e.id;
      gid = e.gid;
    }
    if (g !== undefined && g !== '') {
      if (/^\d+$/.test(g)) gid = Number(g);
      else {
        const e = lookupId(readEtc('group'), g);
        if (!e) throw new ContainerConfigError(`unable to find group ${g}: no matching entries in group file`);
        gid = e.id;
      }
    }
  }
  const runAsUser = sc.runAsUser ?? psc.runAsUser;
  if (runAsUser !== undefined) {
    uid = runAsUser;
    if (gid === undefined || imageUser === undefined || !/^\d+$/.test(imageUser.split(':')[0]!)) gid = undefined;
  }
  const runAsGroup = sc.runAsGroup ?? psc.runAsGroup;
  if (runAsGroup !== undefined) gid = runAsGroup;
  if (gid === undefined) {
    // A numeric uid's primary group comes from passwd when listed there, else 0 (runc's rule).
    const line = readEtc('passwd').split('\n').find((l) => l.split(':')[2] === String(uid));
    gid = line ? Number(line.split(':')[3] ?? 0) : 0;
  }
  // The image's /etc/group memberships of the user come first (containerd's WithAdditionalGIDs),
  // unless supplementalGroupsPolicy is Strict.
  const extra = new Set<number>();
  const name = readEtc('passwd').split('\n').map((l) => l.split(':')).find((f) => f[2] === String(uid))?.[0];
  if (name && (psc as { supplementalGroupsPolicy?: string }).supplementalGroupsPolicy !== 'Strict') {
    for (const f of readEtc('group').split('\n').map((l) => l.split(':'))) {
      if (f[2] && /^\d+$/.test(f[2]) && (f[3] ?? '').split(',').includes(name)) extra.add(Number(f[2]));
    }
  }
  for (const g of psc.supplementalGroups ?? []) extra.add(g);
  if (psc.fsGroup !== undefined) extra.add(psc.fsGroup);
  return { uid, gid, additionalGids: [...extra] };
}

/** The file behind a container instance's terminationMessagePath (one per restart, so `--previous` keeps its own). */
export function terminationLogPath(podDir: string, containerName: string, restartCount: number | string): string {
  return join(podDir, 'containers', containerName, `${restartCount}-termination-log`);
}

/**
 * The container's mounts (makeMounts): its volumeMounts onto the pod's mounted volumes (subPath
 * directories are created on the way, as upstream) and the termination message file.
 */
export function containerMounts(c: Container, volumes: ReadonlyMap<string, MountedVolume>, podDir: string, restartCount: number): Mount[] {
  const mounts: Mount[] = [];
  for (const vm of c.volumeMounts ?? []) {
    const v = volumes.get(vm.name);
    if (!v) throw new ContainerConfigError(`volume "${vm.name}" of container ${c.name} is not defined in the pod's volumes`);
    let hostPath = v.hostPath;
    if (vm.subPath) {
      if (vm.subPath.split('/').includes('..') || vm.subPath.startsWith('/')) throw new ContainerConfigError(`subPath ${JSON.stringify(vm.subPath)} must be a relative path without '..'`);
      hostPath = join(hostPath, vm.subPath);
      if (!existsSync(hostPath)) mkdirSync(hostPath, { recursive: true, mode: 0o777 });
    }
    const propagation = vm.mountPropagation === 'Bidirectional' ? 'rshared' : vm.mountPropagation === 'HostToContainer' ? 'rslave' : 'private';
    mounts.push({ containerPath: vm.mountPath, hostPath, readOnly: !!vm.readOnly || (v.readOnly && !vm.subPath ? true : !!vm.readOnly), propagation: propagation as Mount['propagation'] });
  }
  // Termination message file (terminationMessagePath, default /dev/termination-log).
  const tmp = c.terminationMessagePath ?? '/dev/termination-log';
  if (tmp) {
    const file = terminationLogPath(podDir, c.name, restartCount);
    mkdirSync(join(podDir, 'containers', c.name), { recursive: true });
    closeSync(openSync(file, 'a', 0o666));
    mounts.push({ containerPath: tmp, hostPath: file });
  }
  return mounts;
}

/** Reads a file from the top-most layer that has it (the image's /etc/passwd, /etc/group). */
export function readFromLayers(layers: string[], rel: string): string {
  for (const l of [...layers].reverse()) {
    try {
      return readFileSync(join(l, rel), 'utf8');
    } catch {
      /* next layer */
    }
  }
  return '';
}

/** What {@link generateContainerConfig} needs besides the pod and the container. */
export interface ContainerConfigInput {
  pod: Pod;
  uid: string;
  container: Container;
  /** An init container (recorded on the instance). */
  init: boolean;
  /** Restart count of the new instance (names its log and termination file). */
  restartCount: number;
  image: ImageInfo;
  /** The image's unpacked layers, bottom first. */
  layers: string[];
  envSources: EnvSources;
  nodeAllocatable?: { cpu?: string; memory?: string };
  /** The pod's volumes as set up by the volume manager. */
  volumes: ReadonlyMap<string, MountedVolume>;
  /** `<pods dir>/<uid>`: logs, termination files, the sandbox's hosts/resolv.conf/hostname. */
  podDir: string;
  nodeName: string;
  /** Where Localhost seccomp profiles live (kubelet's `<root>/seccomp`); default `<dataDir>/seccomp`. */
  seccompDir?: string;
}

/**
 * The runtime config of one container instance (generateContainerConfig): argv, environment,
 * user, mounts, resources, security settings, the sandbox's etc files, log path, labels and the
 * spec hash. Creates the host directories the config names (log dir, subPaths, termination file).
 * Throws {@link ContainerConfigError} when the spec cannot be satisfied (CreateContainerConfigError).
 */
export async function generateContainerConfig(input: ContainerConfigInput): Promise<ContainerSpec> {
  const { pod, container: c, podDir, restartCount } = input;
  const cfg = input.image.config.config ?? {};
  const env = await buildEnv(pod, c, input.envSources, input.nodeAllocatable);
  const command = resolveCommand(c, cfg, env);
  if (!command.length) throw new ContainerConfigError(`no command specified: the image ${c.image} has no Entrypoint or Cmd; set command in the container spec`);
  const nonRoot = runAsNonRootError(pod, c, imageUser(cfg.User));
  if (nonRoot) throw new ContainerConfigError(nonRoot);
  const security = containerSecurity(pod, c, input.seccompDir ?? join(podDir, '..', '..', 'seccomp'));
  if (typeof security === 'string') throw new ContainerConfigError(security);
  const user = resolveUser(pod, c, cfg.User || undefined, (f) => readFromLayers(input.layers, `etc/${f}`));
  const mounts = containerMounts(c, input.volumes, podDir, restartCount);
  const logDir = join(podDir, 'logs', c.name);
  mkdirSync(logDir, { recursive: true });
  const files = sandboxFiles(podDir);
  return {
    name: c.name,
    image: imageIds(c.image ?? '', input.image).image,
    rootfsLayers: input.layers,
    command,
    env: mergeEnv(cfg.Env, env),
    cwd: c.workingDir || cfg.WorkingDir || undefined,
    user,
    mounts,
    resources: containerResources(c),
    ...security,
    tty: !!c.tty,
    stdin: !!c.stdin,
    etcHostsPath: files.etcHosts,
    resolvConfPath: files.resolvConf,
    hostnamePath: pod.spec?.hostNetwork ? undefined : files.hostname,
    stopSignal: cfg.StopSignal,
    logPath: join(logDir, `${restartCount}.log`),
    labels: { ...podLabels(pod, input.uid, input.nodeName), [Labels.containerName]: c.name },
    annotations: { [Labels.restartCount]: String(restartCount), [HASH_ANNOTATION]: containerHash(c), 'io.skiff.init': input.init ? 'true' : 'false' },
  };
}
