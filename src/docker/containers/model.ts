/**
 * The Docker container as skiff keeps it. A container is a one-container pod in the `docker`
 * namespace; its definition and the state a pod cannot hold (stopped on purpose, the last exit,
 * the restart count across `docker start`s) live in one ConfigMap per container, named by the
 * 64-hex ID, in the same namespace. The pod is the running instance: `docker stop` deletes it,
 * `docker start` creates it again from the record. Both are ordinary API objects, so kubectl
 * sees everything and a restart of the daemon loses nothing.
 */
import { randomBytes } from 'node:crypto';
import type { ConfigMap } from 'kubernetes-types/core/v1.js';
import { badParameter } from '../errors.js';

/** Namespace of every Docker container's pod and record. */
export const DOCKER_NAMESPACE = 'docker';
/** Label on records and pods: what kind of Docker object. */
export const KIND_LABEL = 'docker.skiff.dev/kind';
/** Label on pods: the first 12 hex of the container ID (label values are at most 63 chars). */
export const CONTAINER_LABEL = 'docker.skiff.dev/container';
/** Annotation on pods: the full container ID. */
export const ID_ANNOTATION = 'docker.skiff.dev/id';
/** ConfigMap data key of the record. */
export const RECORD_KEY = 'container.json';

/** `HostConfig.RestartPolicy`. */
export interface RestartPolicy {
  Name?: string;
  MaximumRetryCount?: number;
}

export interface PortBinding {
  HostIp?: string;
  HostPort?: string;
}

export interface MountSpec {
  Type?: 'bind' | 'volume' | 'tmpfs' | string;
  Source?: string;
  Target?: string;
  ReadOnly?: boolean;
}

export interface HostConfig {
  Binds?: string[] | null;
  PortBindings?: Record<string, PortBinding[] | null> | null;
  PublishAllPorts?: boolean;
  RestartPolicy?: RestartPolicy;
  AutoRemove?: boolean;
  NetworkMode?: string;
  Memory?: number;
  NanoCpus?: number;
  CpuShares?: number;
  ReadonlyRootfs?: boolean;
  CapAdd?: string[] | null;
  CapDrop?: string[] | null;
  Privileged?: boolean;
  Init?: boolean | null;
  Mounts?: MountSpec[] | null;
  LogConfig?: { Type?: string; Config?: Record<string, string> };
  [k: string]: unknown;
}

export interface HealthConfig {
  Test?: string[] | null;
  Interval?: number;
  Timeout?: number;
  Retries?: number;
  StartPeriod?: number;
}

/** The create body's container config (`Config` in inspect). */
export interface ContainerConfig {
  Hostname?: string;
  Domainname?: string;
  User?: string;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  ExposedPorts?: Record<string, object> | null;
  Tty?: boolean;
  OpenStdin?: boolean;
  StdinOnce?: boolean;
  Env?: string[] | null;
  Cmd?: string[] | string | null;
  Entrypoint?: string[] | string | null;
  Image?: string;
  WorkingDir?: string;
  Labels?: Record<string, string> | null;
  StopSignal?: string;
  StopTimeout?: number | null;
  Healthcheck?: HealthConfig | null;
  Volumes?: Record<string, object> | null;
  [k: string]: unknown;
}

export interface CreateBody extends ContainerConfig {
  HostConfig?: HostConfig;
  NetworkingConfig?: { EndpointsConfig?: Record<string, { Aliases?: string[] | null } | null> | null };
}

/** What the engine remembers between pods. */
export interface RecordState {
  /** What the user asked for last: created (never started), running, stopped (stop/kill, or exited for good). */
  desired: 'created' | 'running' | 'stopped';
  /** Restarts by the restart policy, over every pod of this container. */
  restartCount: number;
  exitCode: number;
  startedAt?: string;
  finishedAt?: string;
  error?: string;
  /** The pod of the current (or last) run. */
  podName?: string;
  paused?: boolean;
  /** Set when `docker stop`/`kill` ended the last run (unless-stopped stays down at daemon start). */
  stoppedByUser?: boolean;
}

/** One Docker container: its definition and state. */
export interface ContainerRecord {
  id: string;
  name: string;
  created: string;
  /** Image as the client named it (`busybox`). */
  image: string;
  /** Normalised reference the pod runs (`docker.io/library/busybox:latest`). */
  imageRef: string;
  /** Image ID (`sha256:…` of the config). */
  imageId: string;
  /** Entrypoint and Cmd as they run (the image's when the client gave none). */
  path: string;
  args: string[];
  config: ContainerConfig;
  hostConfig: HostConfig;
  /** Networks joined, by name, with the aliases the container answers to there. */
  networks: Record<string, { aliases: string[] }>;
  state: RecordState;
}

/** A new 64-hex container ID. */
export function newContainerId(): string {
  return randomBytes(32).toString('hex');
}

const NAME_RE = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/** Checks a `--name`; dockerd's wording for a bad one. */
export function checkName(name: string): string {
  if (!NAME_RE.test(name)) throw badParameter(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  return name.replace(/^\//, '');
}

const ADJECTIVES = ['admiring', 'brave', 'calm', 'eager', 'focused', 'gifted', 'happy', 'jolly', 'keen', 'lucid', 'merry', 'nifty', 'quirky', 'serene', 'tender', 'vibrant', 'wizardly', 'zealous'];
const NAMES = ['turing', 'hopper', 'lovelace', 'curie', 'darwin', 'euler', 'fermat', 'gauss', 'hypatia', 'kepler', 'noether', 'pascal', 'ritchie', 'thompson', 'wozniak', 'yalow'];

/** Docker-style random name (`happy_turing`), with a digit when `taken` already has it. */
export function generateName(taken: (n: string) => boolean): string {
  for (let i = 0; ; i++) {
    const pick = <T>(a: T[]) => a[randomBytes(1)[0] % a.length];
    const name = `${pick(ADJECTIVES)}_${pick(NAMES)}${i > 10 ? randomBytes(1)[0] % 10 : ''}`;
    if (!taken(name)) return name;
  }
}

/**
 * The pod name of a run: the container name when it is a DNS label already (what people see in
 * `kubectl get pods -n docker`), else a DNS-safe form of it plus part of the ID.
 */
export function podNameFor(rec: Pick<ContainerRecord, 'id' | 'name'>): string {
  if (/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(rec.name)) return rec.name;
  const safe = rec.name.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40);
  return `${safe || 'c'}-${rec.id.slice(0, 8)}`;
}

/** `always`, `unless-stopped`, `on-failure`, `no`/empty; anything else is a 400. */
export function checkRestartPolicy(p: RestartPolicy | undefined): { name: 'no' | 'always' | 'unless-stopped' | 'on-failure'; max: number } {
  const name = p?.Name ?? '';
  const max = p?.MaximumRetryCount ?? 0;
  if (name === '' || name === 'no') {
    if (max) throw badParameter(`invalid restart policy: maximum retry count can only be used with 'on-failure'`);
    return { name: 'no', max: 0 };
  }
  if (name === 'always' || name === 'unless-stopped') {
    if (max) throw badParameter(`invalid restart policy: maximum retry count can only be used with 'on-failure'`);
    return { name, max: 0 };
  }
  if (name === 'on-failure') {
    if (max < 0) throw badParameter('invalid restart policy: maximum retry count cannot be negative');
    return { name, max };
  }
  throw badParameter(`invalid restart policy: unknown policy '${name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'`);
}

/** The record stored as a ConfigMap. */
export function recordToConfigMap(rec: ContainerRecord, resourceVersion?: string): ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: rec.id,
      namespace: DOCKER_NAMESPACE,
      labels: { [KIND_LABEL]: 'container', [CONTAINER_LABEL]: rec.id.slice(0, 12) },
      annotations: { 'docker.skiff.dev/name': rec.name },
      ...(resourceVersion ? { resourceVersion } : {}),
    },
    data: { [RECORD_KEY]: JSON.stringify(rec) },
  };
}

/** The record a ConfigMap holds, or undefined when it is not one. */
export function recordFromConfigMap(cm: ConfigMap): ContainerRecord | undefined {
  const text = cm.data?.[RECORD_KEY];
  if (!text) return undefined;
  try {
    return JSON.parse(text) as ContainerRecord;
  } catch {
    return undefined;
  }
}

/** Docker strings-or-arrays (`Cmd: "echo hi"` from old clients) as arrays. */
export function asArgv(v: string[] | string | null | undefined): string[] | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'string') return v === '' ? [] : ['/bin/sh', '-c', v];
  return v;
}
