/**
 * What a build knows about one stage as it goes (its layers, image config, history, ARGs and
 * cache key), the errors a build raises, and the pure helpers that edit a stage's config.
 */
import type { ContainerConfig, HistoryEntry } from '../image/oci.js';
import type { Instruction } from './dockerfile.js';
import type { BuiltLayer } from './layer.js';

/** Image config fields Docker writes that the OCI type leaves out. */
export interface BuildContainerConfig extends ContainerConfig {
  Healthcheck?: { Test: string[]; Interval?: number; Timeout?: number; StartPeriod?: number; StartInterval?: number; Retries?: number };
  OnBuild?: string[] | null;
  Shell?: string[];
}

/** A build error tied to a Dockerfile line; `exitCode` is the failing RUN's. */
export class BuildError extends Error {
  override name = 'BuildError';
  constructor(message: string, readonly line = 0, readonly exitCode?: number) {
    super(line ? `Dockerfile:${line}: ${message}` : message);
  }
}

/** A stage being built. */
export interface StageState {
  name?: string;
  index: number;
  layers: BuiltLayer[];
  config: BuildContainerConfig;
  history: HistoryEntry[];
  author?: string;
  architecture: string;
  os: string;
  /** Cache key of the filesystem so far. */
  key: string;
  /** ARG values in scope. */
  args: Map<string, string>;
  shell: string[];
  /** CMD set in this stage (ENTRYPOINT then keeps it). */
  cmdSet: boolean;
  /** Set when the base came from an image (for COPY --from=image cache keys). */
  baseDigest?: string;
}

export const DEFAULT_SHELL = ['/bin/sh', '-c'];

export function envToMap(env: string[] | undefined): Map<string, string> {
  const m = new Map<string, string>();
  for (const e of env ?? []) {
    const i = e.indexOf('=');
    if (i > 0) m.set(e.slice(0, i), e.slice(i + 1));
  }
  return m;
}

export function setEnv(env: string[] | undefined, key: string, value: string): string[] {
  const out = (env ?? []).filter((e) => !e.startsWith(key + '='));
  out.push(`${key}=${value}`);
  return out;
}

/** Go duration (`30s`, `1m30s`, `500ms`) → nanoseconds. */
export function parseDuration(s: string, what: string, line: number): number {
  const units: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  let total = 0;
  let rest = s.trim();
  if (rest === '0') return 0;
  while (rest) {
    const m = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/.exec(rest);
    if (!m) throw new BuildError(`invalid duration for ${what}: ${JSON.stringify(s)} (use e.g. 30s, 1m30s, 500ms)`, line);
    total += Number(m[1]) * units[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  return Math.round(total);
}

/** Keeps the config's keys in one order so equal configs serialize (and hash) equally. */
export function orderedConfig(c: BuildContainerConfig): BuildContainerConfig {
  const keys: (keyof BuildContainerConfig)[] = ['User', 'ExposedPorts', 'Env', 'Entrypoint', 'Cmd', 'Volumes', 'WorkingDir', 'Labels', 'StopSignal', 'OnBuild', 'Shell', 'Healthcheck'];
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    const v = c[k];
    if (v === undefined || v === '' || (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0)) continue;
    if (k === 'OnBuild' && (!v || (v as string[]).length === 0)) continue;
    if (k === 'ExposedPorts' || k === 'Volumes' || k === 'Labels') {
      const o = v as Record<string, unknown>;
      out[k] = Object.fromEntries(Object.keys(o).sort().map((x) => [x, o[x]]));
    } else out[k] = v;
  }
  return out as BuildContainerConfig;
}

/** Variables for expansion: ARGs, overridden by ENV (Docker: ENV wins over ARG). */
export function expansionEnv(state: StageState): Map<string, string> {
  const m = new Map(state.args);
  for (const [k, v] of envToMap(state.config.Env)) m.set(k, v);
  return m;
}

/** The image config's Healthcheck for a HEALTHCHECK instruction (durations in nanoseconds). */
export function parseHealthcheck(inst: Instruction): NonNullable<BuildContainerConfig['Healthcheck']> {
  const words = inst.args.trim();
  const kind = words.split(/\s+/)[0]?.toUpperCase();
  if (kind === 'NONE') {
    if (Object.keys(inst.flags).length) throw new BuildError('HEALTHCHECK NONE takes no options', inst.line);
    return { Test: ['NONE'] };
  }
  if (kind !== 'CMD') throw new BuildError('HEALTHCHECK needs CMD <command> or NONE', inst.line);
  const rest = words.slice(3).trim();
  if (!rest) throw new BuildError('HEALTHCHECK CMD needs a command', inst.line);
  const json = rest.startsWith('[') ? (() => { try { return JSON.parse(rest) as string[]; } catch { return undefined; } })() : undefined;
  const hc: NonNullable<BuildContainerConfig['Healthcheck']> = { Test: json ? ['CMD', ...json] : ['CMD-SHELL', rest] };
  const f = inst.flags;
  if (f.interval !== undefined) hc.Interval = parseDuration(f.interval, '--interval', inst.line);
  if (f.timeout !== undefined) hc.Timeout = parseDuration(f.timeout, '--timeout', inst.line);
  if (f['start-period'] !== undefined) hc.StartPeriod = parseDuration(f['start-period'], '--start-period', inst.line);
  if (f['start-interval'] !== undefined) hc.StartInterval = parseDuration(f['start-interval'], '--start-interval', inst.line);
  if (f.retries !== undefined) {
    if (!/^\d+$/.test(f.retries) || Number(f.retries) < 1) throw new BuildError('--retries must be at least 1', inst.line);
    hc.Retries = Number(f.retries);
  }
  return hc;
}
