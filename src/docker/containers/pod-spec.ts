/**
 * Docker create options → the pod that runs the container (pure). What a pod cannot express
 * stays in the record (model.ts) and is enforced by the engine: on-failure's retry limit,
 * `--rm`, a stop that is not restarted.
 */
import type { Container, ContainerPort, Pod, Probe, Volume, VolumeMount } from 'kubernetes-types/core/v1.js';
import { badParameter } from '../errors.js';
import { checkRestartPolicy, CONTAINER_LABEL, DOCKER_NAMESPACE, ID_ANNOTATION, KIND_LABEL, type ContainerRecord, type HostConfig, type MountSpec, type PortBinding } from './model.js';

/** Where the pod runs and where named volumes and user networks live. */
export interface PodPlacement {
  nodeName?: string;
  /** Directory of named volume `name` (a hostPath). */
  volumeDir(name: string): string;
  /** DNS search domain of a user-defined network, when it has one. */
  networkSearch?(network: string): string | undefined;
  /** Host ports chosen for bindings that named none (`-P`, `-p 80`), by `port/proto`. */
  assignedPorts?: Record<string, number>;
}

/** The name of the one container in a Docker container's pod. */
export const POD_CONTAINER = 'container';

/** `-p` bindings as pod container ports. */
export function containerPorts(hc: HostConfig, exposed: Record<string, object> | null | undefined, assigned: Record<string, number> = {}): ContainerPort[] {
  const out: ContainerPort[] = [];
  const bindings: Record<string, PortBinding[] | null> = { ...(hc.PublishAllPorts ? Object.fromEntries(Object.keys(exposed ?? {}).map((k) => [k, [{}]])) : {}), ...(hc.PortBindings ?? {}) };
  for (const [key, list] of Object.entries(bindings)) {
    const m = /^(\d+)(?:\/(tcp|udp|sctp))?$/.exec(key);
    if (!m) throw badParameter(`invalid port specification: "${key}"`);
    const containerPort = Number(m[1]);
    const protocol = (m[2] ?? 'tcp').toUpperCase() as 'TCP';
    for (const b of list ?? [{} as PortBinding]) {
      const hostPort = b.HostPort ? Number(b.HostPort.split('-')[0]) : assigned[`${containerPort}/${m[2] ?? 'tcp'}`];
      if (!Number.isInteger(containerPort) || containerPort < 1 || containerPort > 65535) throw badParameter(`invalid port specification: "${key}"`);
      if (hostPort === undefined || !Number.isInteger(hostPort) || hostPort < 1 || hostPort > 65535) throw badParameter(`invalid port specification: "${b.HostPort}"`);
      out.push({ containerPort, protocol, hostPort, ...(b.HostIp && b.HostIp !== '0.0.0.0' ? { hostIP: b.HostIp } : {}) });
    }
  }
  return out;
}

/** Port keys that need a host port picked by the engine. */
export function unassignedPorts(hc: HostConfig, exposed: Record<string, object> | null | undefined): string[] {
  const keys = new Set<string>();
  if (hc.PublishAllPorts) for (const k of Object.keys(exposed ?? {})) if (!(hc.PortBindings ?? {})[k]?.some((b) => b.HostPort)) keys.add(k);
  for (const [k, list] of Object.entries(hc.PortBindings ?? {})) if ((list ?? [{}]).some((b) => !b.HostPort)) keys.add(k);
  return [...keys].map((k) => (k.includes('/') ? k : `${k}/tcp`));
}

/** `-v`, `--mount`: every mount as a parsed bind, volume or tmpfs. */
export function parseMounts(hc: HostConfig): MountSpec[] {
  const out: MountSpec[] = [];
  for (const bind of hc.Binds ?? []) {
    const parts = bind.split(':');
    if (parts.length < 2 || parts.length > 3 || !parts[0] || !parts[1]) throw badParameter(`invalid volume specification: '${bind}'`);
    const [source, target, mode = ''] = parts;
    if (!target.startsWith('/')) throw badParameter(`invalid volume specification: '${bind}': invalid mount config for type "bind": invalid mount path: '${target}' mount path must be absolute`);
    const readOnly = mode.split(',').includes('ro');
    out.push({ Type: source.startsWith('/') ? 'bind' : 'volume', Source: source, Target: target, ReadOnly: readOnly });
  }
  for (const m of hc.Mounts ?? []) {
    if (!m.Target?.startsWith('/')) throw badParameter(`invalid mount config: mount path must be absolute: '${m.Target ?? ''}'`);
    if (m.Type !== 'bind' && m.Type !== 'volume' && m.Type !== 'tmpfs') throw badParameter(`invalid mount config: mount type unknown: '${m.Type ?? ''}'`);
    if (m.Type === 'bind' && !m.Source?.startsWith('/')) throw badParameter(`invalid mount config for type "bind": invalid mount path: '${m.Source ?? ''}'`);
    out.push(m);
  }
  return out;
}

/** `CAP_NET_ADMIN` and `NET_ADMIN` both name a capability; the pod API uses the short form. */
function capName(c: string): string {
  return c.toUpperCase().replace(/^CAP_/, '');
}

/** Docker's healthcheck as a readiness probe (health in `docker ps` is readiness). */
export function healthProbe(rec: ContainerRecord): Probe | undefined {
  const h = rec.config.Healthcheck;
  const test = h?.Test ?? [];
  if (!test.length || test[0] === 'NONE') return undefined;
  let command: string[];
  if (test[0] === 'CMD-SHELL') command = ['/bin/sh', '-c', test.slice(1).join(' ')];
  else if (test[0] === 'CMD') command = test.slice(1);
  else throw badParameter(`invalid healthcheck test: ${JSON.stringify(test)}`);
  const seconds = (ns: number | undefined, fallback: number) => (ns ? Math.max(1, Math.ceil(ns / 1e9)) : fallback);
  return {
    exec: { command },
    periodSeconds: seconds(h?.Interval, 30),
    timeoutSeconds: seconds(h?.Timeout, 30),
    failureThreshold: h?.Retries || 3,
    ...(h?.StartPeriod ? { initialDelaySeconds: seconds(h.StartPeriod, 0) } : {}),
  };
}

/** The pod of one run of `rec`. */
export function podFor(rec: ContainerRecord, podName: string, place: PodPlacement): Pod {
  const hc = rec.hostConfig;
  const policy = checkRestartPolicy(hc.RestartPolicy);
  const volumes: Volume[] = [];
  const volumeMounts: VolumeMount[] = [];
  parseMounts(hc).forEach((m, i) => {
    const name = `v${i}`;
    if (m.Type === 'tmpfs') volumes.push({ name, emptyDir: { medium: 'Memory' } });
    else if (m.Type === 'bind') volumes.push({ name, hostPath: { path: m.Source!, type: '' } });
    else volumes.push({ name, hostPath: { path: place.volumeDir(m.Source || rec.id.slice(0, 12) + '-' + i), type: 'DirectoryOrCreate' } });
    volumeMounts.push({ name, mountPath: m.Target!, readOnly: !!m.ReadOnly });
  });
  const env = (rec.config.Env ?? []).filter((e) => e.includes('=')).map((e) => ({ name: e.slice(0, e.indexOf('=')), value: e.slice(e.indexOf('=') + 1) }));
  const limits: Record<string, string> = {};
  if (hc.Memory) limits.memory = String(hc.Memory);
  if (hc.NanoCpus) limits.cpu = `${Math.max(1, Math.round(hc.NanoCpus / 1e6))}m`;
  const securityContext: Container['securityContext'] = {};
  if (hc.Privileged) securityContext.privileged = true;
  if (hc.ReadonlyRootfs) securityContext.readOnlyRootFilesystem = true;
  if (hc.CapAdd?.length || hc.CapDrop?.length) securityContext.capabilities = { add: hc.CapAdd?.map(capName), drop: hc.CapDrop?.map(capName) };
  const user = /^(\d+)(?::(\d+))?$/.exec(rec.config.User ?? '');
  if (user) {
    securityContext.runAsUser = Number(user[1]);
    if (user[2] !== undefined) securityContext.runAsGroup = Number(user[2]);
  }
  const probe = healthProbe(rec);
  const container: Container = {
    name: POD_CONTAINER,
    image: rec.imageRef,
    imagePullPolicy: 'IfNotPresent',
    command: [rec.path, ...rec.args],
    env,
    ...(rec.config.WorkingDir ? { workingDir: rec.config.WorkingDir } : {}),
    ports: containerPorts(hc, rec.config.ExposedPorts, place.assignedPorts),
    volumeMounts,
    resources: Object.keys(limits).length ? { limits } : {},
    ...(Object.keys(securityContext).length ? { securityContext } : {}),
    ...(probe ? { readinessProbe: probe } : {}),
    tty: !!rec.config.Tty,
    stdin: !!rec.config.OpenStdin,
    stdinOnce: !!rec.config.StdinOnce,
  };
  const search = Object.keys(rec.networks).map((n) => place.networkSearch?.(n)).filter((s): s is string => !!s);
  const hostNetwork = hc.NetworkMode === 'host';
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: podName,
      namespace: DOCKER_NAMESPACE,
      labels: { [KIND_LABEL]: 'container', [CONTAINER_LABEL]: rec.id.slice(0, 12) },
      annotations: { [ID_ANNOTATION]: rec.id, 'docker.skiff.dev/name': rec.name },
    },
    spec: {
      ...(place.nodeName ? { nodeName: place.nodeName } : {}),
      restartPolicy: policy.name === 'no' ? 'Never' : policy.name === 'on-failure' ? 'OnFailure' : 'Always',
      terminationGracePeriodSeconds: rec.config.StopTimeout ?? 10,
      ...(hostNetwork ? { hostNetwork: true } : { hostname: podHostname(rec) }),
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      containers: [container],
      volumes,
      ...(search.length ? { dnsConfig: { searches: search } } : {}),
    },
  };
}

/** The pod hostname: `--hostname` as a DNS label (its first label), else the short ID as dockerd does. */
function podHostname(rec: ContainerRecord): string {
  const h = (rec.config.Hostname ?? '').toLowerCase().split('.')[0].replace(/[^a-z0-9-]/g, '-').replace(/^-+|-+$/g, '').slice(0, 63);
  return h || rec.id.slice(0, 12);
}
