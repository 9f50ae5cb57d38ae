/**
 * What Docker clients read about a container (pure): the State derived from the record and
 * the current pod, `docker ps` summaries and their filters, and `docker inspect`.
 */
import { parseFilters as parseFilterMap } from '../filters.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { badParameter } from '../errors.js';
import type { ContainerRecord } from './model.js';
import { containerPorts, parseMounts } from './pod-spec.js';

export interface DockerState {
  Status: 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';
  Running: boolean;
  Paused: boolean;
  Restarting: boolean;
  OOMKilled: boolean;
  Dead: boolean;
  Pid: number;
  ExitCode: number;
  Error: string;
  StartedAt: string;
  FinishedAt: string;
  Health?: { Status: 'starting' | 'healthy' | 'unhealthy'; FailingStreak: number; Log: unknown[] };
}

const ZERO_TIME = '0001-01-01T00:00:00Z';

/** The state of `rec`, whose current pod is `pod` (undefined when none exists). */
export function containerState(rec: ContainerRecord, pod: Pod | undefined): DockerState & { restartCount: number } {
  const s = rec.state;
  const base: DockerState = {
    Status: s.desired === 'created' ? 'created' : 'exited',
    Running: false,
    Paused: false,
    Restarting: false,
    OOMKilled: false,
    Dead: false,
    Pid: 0,
    ExitCode: s.exitCode,
    Error: s.error ?? '',
    StartedAt: s.startedAt ?? ZERO_TIME,
    FinishedAt: s.finishedAt ?? ZERO_TIME,
  };
  let restartCount = s.restartCount;
  const cs = pod?.status?.containerStatuses?.[0];
  if (pod && cs) {
    restartCount += cs.restartCount ?? 0;
    const last = cs.lastState?.terminated;
    if (cs.state?.running) {
      base.Status = s.paused ? 'paused' : 'running';
      base.Running = true;
      base.Paused = !!s.paused;
      base.StartedAt = cs.state.running.startedAt ?? base.StartedAt;
      if (last) base.FinishedAt = last.finishedAt ?? base.FinishedAt;
      base.ExitCode = 0;
      if (rec.config.Healthcheck?.Test?.length && rec.config.Healthcheck.Test[0] !== 'NONE') {
        base.Health = { Status: cs.ready ? 'healthy' : 'starting', FailingStreak: 0, Log: [] };
      }
    } else if (cs.state?.terminated) {
      const t = cs.state.terminated;
      base.Status = 'exited';
      base.ExitCode = t.exitCode ?? 0;
      base.OOMKilled = t.reason === 'OOMKilled';
      base.StartedAt = t.startedAt ?? base.StartedAt;
      base.FinishedAt = t.finishedAt ?? base.FinishedAt;
    } else if (last) {
      // Waiting after an exit: the restart policy brings it back after a back-off.
      base.Status = 'restarting';
      base.Restarting = true;
      base.ExitCode = last.exitCode ?? 0;
      base.StartedAt = last.startedAt ?? base.StartedAt;
      base.FinishedAt = last.finishedAt ?? base.FinishedAt;
    } else if (s.desired === 'running') {
      // Still being created (image unpacked, sandbox set up).
      base.Status = 'created';
      const w = cs.state?.waiting;
      if (w?.reason && w.reason !== 'ContainerCreating' && w.reason !== 'PodInitializing') base.Error = `${w.reason}: ${w.message ?? ''}`.trim();
    }
  } else if (pod && s.desired === 'running') {
    base.Status = 'created';
  }
  return { ...base, restartCount };
}

/** Docker's `units.HumanDuration` (go-units): seconds and minutes truncated, hours rounded. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(ms / 60_000);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.floor(ms / 3_600_000 + 0.5);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(hours / 24 / 365)} years`;
}

/** The `Status` column of `docker ps`. */
export function statusText(st: DockerState, now: number): string {
  const since = (t: string) => humanDuration(now - Date.parse(t));
  switch (st.Status) {
    case 'running':
      return `Up ${since(st.StartedAt)}${st.Health ? ` (${st.Health.Status === 'starting' ? 'health: starting' : st.Health.Status})` : ''}`;
    case 'paused':
      return `Up ${since(st.StartedAt)} (Paused)`;
    case 'restarting':
      return `Restarting (${st.ExitCode}) ${since(st.FinishedAt)} ago`;
    case 'exited':
      return st.FinishedAt === ZERO_TIME ? `Exited (${st.ExitCode})` : `Exited (${st.ExitCode}) ${since(st.FinishedAt)} ago`;
    default:
      return 'Created';
  }
}

/** `Ports` of a summary and `NetworkSettings.Ports` of inspect, from the bindings. */
function portViews(rec: ContainerRecord, assigned: Record<string, number>): { summary: object[]; settings: Record<string, { HostIp: string; HostPort: string }[] | null> } {
  const summary: object[] = [];
  const settings: Record<string, { HostIp: string; HostPort: string }[] | null> = {};
  for (const key of Object.keys(rec.config.ExposedPorts ?? {})) settings[key.includes('/') ? key : `${key}/tcp`] = null;
  let ports: ReturnType<typeof containerPorts> = [];
  try {
    ports = containerPorts(rec.hostConfig, rec.config.ExposedPorts, assigned);
  } catch {
    ports = [];
  }
  for (const p of ports) {
    const key = `${p.containerPort}/${(p.protocol ?? 'TCP').toLowerCase()}`;
    const ip = p.hostIP ?? '0.0.0.0';
    (settings[key] ??= []).push({ HostIp: ip, HostPort: String(p.hostPort) });
    summary.push({ IP: ip, PrivatePort: p.containerPort, PublicPort: p.hostPort, Type: (p.protocol ?? 'TCP').toLowerCase() });
  }
  return { summary, settings };
}

/** Host ports the current pod got, by `port/proto` (for `-P` and `-p 80`). */
export function assignedPorts(pod: Pod | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of pod?.spec?.containers?.[0]?.ports ?? []) if (p.hostPort) out[`${p.containerPort}/${(p.protocol ?? 'TCP').toLowerCase()}`] = p.hostPort;
  return out;
}

function mountViews(rec: ContainerRecord): object[] {
  let mounts: ReturnType<typeof parseMounts> = [];
  try {
    mounts = parseMounts(rec.hostConfig);
  } catch {
    mounts = [];
  }
  return mounts.map((m) => ({
    Type: m.Type,
    ...(m.Type === 'volume' ? { Name: m.Source, Driver: 'local' } : {}),
    Source: m.Source ?? '',
    Destination: m.Target,
    Mode: m.ReadOnly ? 'ro' : '',
    RW: !m.ReadOnly,
    Propagation: m.Type === 'bind' ? 'rprivate' : '',
  }));
}

function networkViews(rec: ContainerRecord, pod: Pod | undefined): Record<string, object> {
  const ip = pod?.status?.podIP ?? '';
  const names = Object.keys(rec.networks).length ? Object.keys(rec.networks) : [rec.hostConfig.NetworkMode || 'bridge'];
  return Object.fromEntries(
    names.map((n) => [n === 'default' ? 'bridge' : n, { Aliases: rec.networks[n]?.aliases ?? null, NetworkID: n, EndpointID: ip ? rec.id.slice(0, 12) : '', Gateway: '', IPAddress: ip, IPPrefixLen: ip ? 24 : 0, MacAddress: '' }]),
  );
}

/** One `docker ps` entry. */
export function summaryOf(rec: ContainerRecord, pod: Pod | undefined, now: number): Record<string, unknown> {
  const st = containerState(rec, pod);
  return {
    Id: rec.id,
    Names: [`/${rec.name}`],
    Image: rec.image,
    ImageID: rec.imageId,
    Command: [rec.path, ...rec.args].map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(' '),
    Created: Math.floor(Date.parse(rec.created) / 1000),
    Ports: portViews(rec, assignedPorts(pod)).summary,
    Labels: rec.config.Labels ?? {},
    State: st.Status,
    Status: statusText(st, now),
    HostConfig: { NetworkMode: rec.hostConfig.NetworkMode || 'bridge' },
    NetworkSettings: { Networks: networkViews(rec, pod) },
    Mounts: mountViews(rec),
  };
}

/** `docker inspect` of a container. */
export function inspectOf(rec: ContainerRecord, pod: Pod | undefined): Record<string, unknown> {
  const { restartCount, ...state } = containerState(rec, pod);
  const ports = portViews(rec, assignedPorts(pod));
  const ip = pod?.status?.podIP ?? '';
  return {
    Id: rec.id,
    Created: rec.created,
    Path: rec.path,
    Args: rec.args,
    State: state,
    Image: rec.imageId,
    ResolvConfPath: '',
    HostnamePath: '',
    HostsPath: '',
    LogPath: '',
    Name: `/${rec.name}`,
    RestartCount: restartCount,
    Driver: 'overlay2',
    Platform: 'linux',
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    ExecIDs: null,
    HostConfig: {
      NetworkMode: 'bridge',
      PortBindings: {},
      RestartPolicy: { Name: 'no', MaximumRetryCount: 0 },
      AutoRemove: false,
      Binds: null,
      ...rec.hostConfig,
      LogConfig: { Type: 'json-file', Config: {} },
    },
    Mounts: mountViews(rec),
    Config: {
      Hostname: rec.config.Hostname || rec.id.slice(0, 12),
      Domainname: '',
      User: '',
      AttachStdin: false,
      AttachStdout: false,
      AttachStderr: false,
      Tty: false,
      OpenStdin: false,
      StdinOnce: false,
      Env: [],
      Cmd: null,
      Entrypoint: null,
      WorkingDir: '',
      Labels: {},
      ...rec.config,
      Image: rec.image,
    },
    NetworkSettings: {
      Bridge: '',
      SandboxID: pod?.metadata?.uid ?? '',
      Ports: ports.settings,
      IPAddress: ip,
      IPPrefixLen: ip ? 24 : 0,
      Gateway: '',
      MacAddress: '',
      Networks: networkViews(rec, pod),
    },
  };
}

/** Filters of `docker ps` (`{"name":{"x":true}}` from the CLI, `{"name":["x"]}` from docker-py). */
export function parseFilters(raw: string | null): Record<string, string[]> {
  return Object.fromEntries(parseFilterMap(raw));
}

const PS_FILTERS = new Set(['name', 'id', 'status', 'label', 'ancestor', 'exited', 'health', 'network', 'volume', 'before', 'since', 'is-task', 'publish', 'expose']);

/** Whether a container passes `docker ps` filters; unknown filter names are a 400. */
export function matchesFilters(rec: ContainerRecord, pod: Pod | undefined, filters: Record<string, string[]>): boolean {
  for (const key of Object.keys(filters)) if (!PS_FILTERS.has(key)) throw badParameter(`invalid filter '${key}'`);
  const st = containerState(rec, pod);
  const any = (key: string, test: (v: string) => boolean) => !filters[key]?.length || filters[key].some(test);
  const labels = rec.config.Labels ?? {};
  return (
    any('name', (v) => nameMatches(v, rec.name)) &&
    any('id', (v) => rec.id.startsWith(v)) &&
    any('status', (v) => st.Status === v) &&
    any('exited', (v) => st.Status === 'exited' && String(st.ExitCode) === v) &&
    any('health', (v) => (st.Health?.Status ?? 'none') === v) &&
    // Label filters must all hold (dockerd ANDs them); the others are alternatives.
    (filters.label ?? []).every((v) => {
      const i = v.indexOf('=');
      return i < 0 ? v in labels : labels[v.slice(0, i)] === v.slice(i + 1);
    }) &&
    any('ancestor', (v) => rec.image === v || rec.imageRef === v || rec.imageId.startsWith(v) || rec.imageId === `sha256:${v}` || rec.image === `${v}:latest` || `${rec.image}:latest` === v) &&
    any('network', (v) => v in rec.networks || (rec.hostConfig.NetworkMode ?? 'default') === v) &&
    any('volume', (v) => parseMounts(rec.hostConfig).some((m) => m.Source === v || m.Target === v))
  );
}

/** `name` filters are regular expressions in dockerd; one that does not compile matches as text. */
function nameMatches(filter: string, name: string): boolean {
  const f = filter.replace(/^\//, '');
  try {
    return new RegExp(f).test(name);
  } catch {
    return name.includes(f);
  }
}
