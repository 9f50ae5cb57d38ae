/**
 * The Dockerfile builder. Stages are built in order (only those the target needs); each
 * RUN, COPY, ADD and WORKDIR runs on an overlay of the stage's layers and its upper dir
 * becomes a layer, the other instructions only edit the image config. Every instruction gets
 * a history entry (`empty_layer` when it made no layer), as BuildKit writes them.
 *
 * Layer cache: a layer step's key is a hash of its parent key (the chain back to the base
 * image's manifest digest), the instruction after expansion, what it depends on (RUN: env,
 * user, working dir, network; COPY/ADD: the digest of the copied content and ownership) and
 * maps to the layer it made, in `<dataDir>/build-cache/`. An unchanged rebuild therefore
 * mounts nothing and runs nothing.
 *
 * Reproducibility: layer tars have fixed mtimes and numeric owners, gzip has no timestamp,
 * and `created` is SOURCE_DATE_EPOCH (default 0), so identical inputs give identical digests.
 */
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, copyFileSync, createWriteStream, existsSync, lstatSync, mkdirSync, openSync, readdirSync,
  readFileSync, readSync, closeSync, readlinkSync, renameSync, rmSync, lchownSync, symlinkSync, unlinkSync, writeFileSync, type Stats, statSync } from 'node:fs';
import { basename, join, posix } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  DEFAULT_PATH_ENV, hostArchitecture, MediaTypes, type ContainerConfig, type HistoryEntry, type ImageConfig, type ImageInfo,
  type ImageManifest, type ImageStore,
} from '../image/store.js';
import { normalizeReference } from '../image/reference.js';
import { BuildContext, hasGlob, globToRegExp, treeDigest } from './context.js';
import { DockerfileError, parseDockerfile, parseInstruction, type Instruction, type ParsedDockerfile, type Stage } from './dockerfile.js';
import { commitLayer, ensureSnapshot, type BuiltLayer } from './layer.js';
import { createProgress, type BuildProgress, type ProgressMode } from './progress.js';
import { mountWorkspace, resolveInRoot, resolveUser, RUNTIME_MOUNTPOINTS, type Workspace } from './rootfs.js';
import { defaultBuildRunner, runInRootfs, type BuildNetwork } from './run.js';
import type { ProcessRunner } from '../runtime/types.js';
import { runOrThrow } from '../util/exec.js';
import { expandWord, expandWords, parseKeyValues } from './shell-lex.js';

/** Image config fields Docker writes that the OCI type leaves out. */
export interface BuildContainerConfig extends ContainerConfig {
  Healthcheck?: { Test: string[]; Interval?: number; Timeout?: number; StartPeriod?: number; StartInterval?: number; Retries?: number };
  OnBuild?: string[] | null;
  Shell?: string[];
}

export interface BuildOptions {
  store: ImageStore;
  /** The build context directory. */
  contextDir: string;
  /** Dockerfile path (default `<contextDir>/Dockerfile`), or its text in `dockerfileContent`. */
  dockerfile?: string;
  dockerfileContent?: string;
  /** References to tag the result with (none: the image is stored untagged). */
  tags?: string[];
  buildArgs?: Record<string, string>;
  /** Stage name (or index) to stop at; default the last stage. */
  target?: string;
  noCache?: boolean;
  /** Progress writer or mode (default: tty on a terminal, else plain, on stderr). */
  progress?: BuildProgress | ProgressMode;
  /** Default network for RUN (`RUN --network=` overrides); default host. */
  network?: BuildNetwork;
  /** Seconds since the epoch for `created` and file mtimes; default $SOURCE_DATE_EPOCH or 0. */
  sourceDateEpoch?: number;
  /** Fetches a base image missing from the store (default: pull it from its registry). */
  pull?: (ref: string) => Promise<ImageInfo>;
  /** Runs RUN steps (default: runc on the store's data dir, see {@link defaultBuildRunner}). */
  runner?: ProcessRunner;
}

export interface BuildResult {
  /** The stored image (first tag, or untagged). */
  image: ImageInfo;
  /** Manifest digest. */
  digest: string;
  /** Image ID (config digest). */
  id: string;
  steps: number;
  cached: number;
}

/** A build error tied to a Dockerfile line; `exitCode` is the failing RUN's. */
export class BuildError extends Error {
  override name = 'BuildError';
  constructor(message: string, readonly line = 0, readonly exitCode?: number) {
    super(line ? `Dockerfile:${line}: ${message}` : message);
  }
}

interface StageState {
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

const DEFAULT_SHELL = ['/bin/sh', '-c'];

function sha(...parts: unknown[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

function envToMap(env: string[] | undefined): Map<string, string> {
  const m = new Map<string, string>();
  for (const e of env ?? []) {
    const i = e.indexOf('=');
    if (i > 0) m.set(e.slice(0, i), e.slice(i + 1));
  }
  return m;
}

function setEnv(env: string[] | undefined, key: string, value: string): string[] {
  const out = (env ?? []).filter((e) => !e.startsWith(key + '='));
  out.push(`${key}=${value}`);
  return out;
}

/** Go duration (`30s`, `1m30s`, `500ms`) → nanoseconds. */
function parseDuration(s: string, what: string, line: number): number {
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
function orderedConfig(c: BuildContainerConfig): BuildContainerConfig {
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

/** Builds a Dockerfile into the store. */
export async function build(opts: BuildOptions): Promise<BuildResult> {
  return new Builder(opts).run();
}

class Builder {
  private readonly store: ImageStore;
  private readonly progress: BuildProgress;
  private readonly epoch: number;
  private readonly created: string;
  private readonly tmpRoot: string;
  private readonly cacheDir: string;
  private runner?: ProcessRunner;
  private readonly ctx: BuildContext;
  private readonly buildArgs: Record<string, string>;
  private readonly usedArgs = new Set<string>();
  private readonly globalArgs = new Map<string, string | undefined>();
  private readonly states = new Map<number, StageState>();
  private df!: ParsedDockerfile;
  private steps = 0;
  private cachedSteps = 0;

  constructor(private readonly opts: BuildOptions) {
    this.store = opts.store;
    this.progress = typeof opts.progress === 'object' ? opts.progress : createProgress(opts.progress ?? (process.stderr.isTTY ? 'tty' : 'plain'));
    const envEpoch = process.env.SOURCE_DATE_EPOCH;
    this.epoch = opts.sourceDateEpoch ?? (envEpoch && /^\d+$/.test(envEpoch) ? Number(envEpoch) : 0);
    this.created = new Date(this.epoch * 1000).toISOString().replace(/\.000Z$/, 'Z');
    this.tmpRoot = join(this.store.dataDir, 'build-tmp');
    this.cacheDir = join(this.store.dataDir, 'build-cache');
    this.runner = opts.runner;
    mkdirSync(this.tmpRoot, { recursive: true });
    mkdirSync(this.cacheDir, { recursive: true });
    this.ctx = new BuildContext(opts.contextDir);
    this.buildArgs = opts.buildArgs ?? {};
  }

  async run(): Promise<BuildResult> {
    if (!existsSync(this.opts.contextDir) || !statSync(this.opts.contextDir).isDirectory()) {
      throw new BuildError(`build context ${this.opts.contextDir} is not a directory`);
    }
    const dfPath = this.opts.dockerfile ?? join(this.opts.contextDir, 'Dockerfile');
    let content = this.opts.dockerfileContent;
    if (content === undefined) {
      if (!existsSync(dfPath)) throw new BuildError(`cannot read ${dfPath}: no such file (pass -f to name the Dockerfile)`);
      content = readFileSync(dfPath, 'utf8');
    }
    this.df = parseDockerfile(content);
    for (const a of this.df.globalArgs) {
      for (const [k, v] of parseKeyValues(a.args, this.globalEnv(), this.df.escape, { allowBareKeys: true })) {
        this.globalArgs.set(k, this.buildArgs[k] ?? v);
        if (k in this.buildArgs) this.usedArgs.add(k);
      }
    }
    const target = this.findTarget();
    const needed = this.neededStages(target);
    for (const stage of this.df.stages) {
      if (!needed.has(stage.index)) continue;
      this.states.set(stage.index, await this.buildStage(stage, needed.size > 1));
      if (stage.index === target.index) break;
    }
    const unused = Object.keys(this.buildArgs).filter((k) => !this.usedArgs.has(k));
    if (unused.length) this.progress.info(`[Warning] One or more build-args [${unused.join(' ')}] were not consumed`);
    return this.commitImage(this.states.get(target.index)!);
  }

  /** ARG values usable in FROM lines: automatic platform args, global ARGs. */
  private globalEnv(): Map<string, string> {
    const arch = hostArchitecture();
    const m = new Map<string, string>([
      ['TARGETPLATFORM', `linux/${arch}`], ['TARGETOS', 'linux'], ['TARGETARCH', arch], ['TARGETVARIANT', ''],
      ['BUILDPLATFORM', `linux/${arch}`], ['BUILDOS', 'linux'], ['BUILDARCH', arch], ['BUILDVARIANT', ''],
    ]);
    for (const [k, v] of this.globalArgs) if (v !== undefined) m.set(k, v);
    return m;
  }

  private findTarget(): Stage {
    const t = this.opts.target;
    if (!t) return this.df.stages[this.df.stages.length - 1]!;
    const s = this.df.stages.find((x) => x.name === t.toLowerCase()) ?? (/^\d+$/.test(t) ? this.df.stages[Number(t)] : undefined);
    if (!s) throw new BuildError(`target stage "${t}" could not be found (stages: ${this.df.stages.map((x) => x.name ?? x.index).join(', ')})`);
    return s;
  }

  private stageRef(name: string, before: number): Stage | undefined {
    const lower = name.toLowerCase();
    const s = this.df.stages.find((x) => x.index < before && x.name === lower);
    if (s) return s;
    if (/^\d+$/.test(name) && Number(name) < before) return this.df.stages[Number(name)];
    return undefined;
  }

  /** The target and every stage it depends on through FROM or COPY --from. */
  private neededStages(target: Stage): Set<number> {
    const need = new Set<number>();
    const visit = (s: Stage) => {
      if (need.has(s.index)) return;
      need.add(s.index);
      const base = this.stageRef(this.expandFrom(s.from), s.index);
      if (base) visit(base);
      for (const i of s.instructions) {
        const from = i.flags.from;
        if ((i.keyword === 'COPY' || i.keyword === 'ADD') && from) {
          const dep = this.stageRef(from, s.index);
          if (dep) visit(dep);
        }
      }
    };
    visit(target);
    return need;
  }

  private expandFrom(from: Instruction): string {
    const word = from.args.split(/\s+/)[0]!;
    try {
      return expandWord(word, this.globalEnv(), this.df.escape);
    } catch (e) {
      throw new BuildError((e as Error).message, from.line);
    }
  }

  private label(state: StageState, multi: boolean, pos: number, total: number, text: string): string {
    const name = multi ? `${state.name ?? `stage-${state.index}`} ` : '';
    return `[${name}${pos}/${total}] ${text}`;
  }

  private async buildStage(stage: Stage, multi: boolean): Promise<StageState> {
    const total = 1 + stage.instructions.filter((i) => ['RUN', 'COPY', 'ADD', 'WORKDIR'].includes(i.keyword)).length;
    let pos = 1;
    const baseName = this.expandFrom(stage.from);
    const fromStep = this.progress.start(this.label({ name: stage.name, index: stage.index } as StageState, multi, pos, total, `FROM ${baseName}`));
    let state: StageState;
    try {
      state = await this.baseState(stage, baseName);
      this.progress.done(fromStep, {});
    } catch (e) {
      this.progress.done(fromStep, { error: (e as Error).message });
      throw e instanceof BuildError ? e : new BuildError((e as Error).message, stage.from.line);
    }
    // ONBUILD triggers of the base run first, then are cleared (Docker semantics).
    const triggers = state.config.OnBuild ?? [];
    state.config.OnBuild = null;
    const list: Instruction[] = [
      ...triggers.map((t) => parseInstruction(t, stage.from.line, this.df.escape)),
      ...stage.instructions,
    ];
    for (const inst of list) {
      const isFs = ['RUN', 'COPY', 'ADD', 'WORKDIR'].includes(inst.keyword);
      if (isFs && pos < total) pos++;
      try {
        await this.instruction(state, inst, isFs ? this.label(state, multi, pos, total, inst.text) : '');
      } catch (e) {
        if (e instanceof BuildError || e instanceof DockerfileError) throw e;
        throw new BuildError((e as Error).message, inst.line);
      }
    }
    return state;
  }

  private async baseState(stage: Stage, baseName: string): Promise<StageState> {
    const fresh = (): StageState => ({
      name: stage.name, index: stage.index, layers: [], config: {}, history: [], architecture: hostArchitecture(), os: 'linux',
      key: sha('scratch'), args: new Map(), shell: [...DEFAULT_SHELL], cmdSet: false,
    });
    if (baseName === 'scratch') return fresh();
    const prev = this.stageRef(baseName, stage.index);
    if (prev) {
      const p = this.states.get(prev.index);
      if (!p) throw new BuildError(`stage ${baseName} was not built`, stage.from.line);
      const copy = structuredClone({ ...p, args: undefined }) as unknown as StageState;
      return { ...copy, name: stage.name, index: stage.index, args: new Map(), cmdSet: false };
    }
    let info = this.store.resolve(baseName);
    if (!info) {
      const pull = this.opts.pull ?? (async (ref: string) => {
        const { pullImage } = await import('../image/registry/client.js');
        return pullImage(this.store, ref, { log: (m) => this.progress.info(m) });
      });
      info = await pull(baseName).catch((e: Error) => {
        throw new BuildError(`base image ${baseName} is not in the local store and could not be pulled: ${e.message}`, stage.from.line);
      });
    }
    const cfg = info.config;
    const s = fresh();
    s.layers = info.manifest.layers.map((d, i) => ({ desc: d, diffId: cfg.rootfs.diff_ids[i]! }));
    s.config = structuredClone(cfg.config ?? {}) as BuildContainerConfig;
    s.history = structuredClone(cfg.history ?? []);
    if (cfg.author) s.author = cfg.author;
    s.architecture = cfg.architecture;
    s.os = cfg.os;
    s.key = sha('image', info.digest);
    s.baseDigest = info.digest;
    if (s.config.Shell?.length) s.shell = [...s.config.Shell];
    return s;
  }

  /** Variables for expansion: ARGs, overridden by ENV (Docker: ENV wins over ARG). */
  private expansionEnv(state: StageState): Map<string, string> {
    const m = new Map(state.args);
    for (const [k, v] of envToMap(state.config.Env)) m.set(k, v);
    return m;
  }

  private history(state: StageState, createdBy: string, empty: boolean): void {
    const h: HistoryEntry = { created: this.created, created_by: createdBy, comment: 'buildkit.dockerfile.v0' };
    if (empty) h.empty_layer = true;
    state.history.push(h);
  }

  private async instruction(state: StageState, inst: Instruction, label: string): Promise<void> {
    const env = this.expansionEnv(state);
    const esc = this.df.escape;
    const c = state.config;
    switch (inst.keyword) {
      case 'ARG': {
        for (const [k, def] of parseKeyValues(inst.args, env, esc, { allowBareKeys: true })) {
          let v: string | undefined;
          if (k in this.buildArgs) {
            v = this.buildArgs[k];
            this.usedArgs.add(k);
          } else if (def !== undefined) v = def;
          else if (this.globalArgs.has(k)) v = this.globalArgs.get(k);
          else if (this.globalEnv().has(k)) v = this.globalEnv().get(k);
          if (v !== undefined) state.args.set(k, v);
          this.history(state, `ARG ${k}${v !== undefined ? `=${v}` : ''}`, true);
        }
        return;
      }
      case 'ENV': {
        const pairs = parseKeyValues(inst.args, env, esc);
        for (const [k, v] of pairs) {
          if (!k) throw new BuildError('ENV names can not be blank', inst.line);
          c.Env = setEnv(c.Env ?? [DEFAULT_PATH_ENV], k, v ?? '');
        }
        this.history(state, `ENV ${pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`, true);
        return;
      }
      case 'LABEL': {
        const pairs = parseKeyValues(inst.args, env, esc);
        c.Labels = { ...(c.Labels ?? {}) };
        for (const [k, v] of pairs) c.Labels[k] = v ?? '';
        this.history(state, `LABEL ${pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`, true);
        return;
      }
      case 'MAINTAINER':
        state.author = inst.args;
        this.history(state, `MAINTAINER ${inst.args}`, true);
        return;
      case 'EXPOSE': {
        const ports: Record<string, object> = { ...(c.ExposedPorts ?? {}) };
        for (const w of expandWords(inst.args, env, esc)) {
          const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(w);
          if (!m) throw new BuildError(`invalid port ${JSON.stringify(w)} in EXPOSE (use PORT, PORT/tcp, PORT/udp or FROM-TO/proto)`, inst.line);
          const lo = Number(m[1]);
          const hi = m[2] ? Number(m[2]) : lo;
          if (hi < lo || hi > 65535) throw new BuildError(`invalid port range ${w} in EXPOSE`, inst.line);
          for (let p = lo; p <= hi; p++) ports[`${p}/${(m[3] ?? 'tcp').toLowerCase()}`] = {};
        }
        c.ExposedPorts = ports;
        this.history(state, `EXPOSE map[${Object.keys(ports).map((p) => `${p}:{}`).join(' ')}]`, true);
        return;
      }
      case 'CMD':
      case 'ENTRYPOINT': {
        const cmd = inst.json ?? [...state.shell, inst.args];
        if (inst.keyword === 'CMD') {
          c.Cmd = cmd;
          state.cmdSet = true;
        } else {
          c.Entrypoint = cmd;
          if (!state.cmdSet) c.Cmd = null;
        }
        this.history(state, `${inst.keyword} ${JSON.stringify(cmd)}`, true);
        return;
      }
      case 'USER':
        c.User = expandWord(inst.args, env, esc);
        this.history(state, `USER ${c.User}`, true);
        return;
      case 'VOLUME': {
        const vols = inst.json ?? expandWords(inst.args, env, esc);
        c.Volumes = { ...(c.Volumes ?? {}) };
        for (const v of vols) {
          if (!v.trim()) throw new BuildError('VOLUME specified can not be an empty string', inst.line);
          c.Volumes[v] = {};
        }
        this.history(state, `VOLUME ${JSON.stringify(vols)}`, true);
        return;
      }
      case 'STOPSIGNAL':
        c.StopSignal = expandWord(inst.args, env, esc);
        this.history(state, `STOPSIGNAL ${c.StopSignal}`, true);
        return;
      case 'SHELL':
        if (!inst.json || inst.json.length === 0) throw new BuildError('SHELL requires the arguments to be in JSON form, e.g. SHELL ["/bin/bash", "-c"]', inst.line);
        state.shell = inst.json;
        c.Shell = inst.json;
        this.history(state, `SHELL ${JSON.stringify(inst.json)}`, true);
        return;
      case 'ONBUILD':
        c.OnBuild = [...(c.OnBuild ?? []), inst.args];
        this.history(state, `ONBUILD ${inst.args}`, true);
        return;
      case 'HEALTHCHECK':
        this.healthcheck(state, inst);
        return;
      case 'WORKDIR': {
        const p = expandWord(inst.args, env, esc);
        const dir = posix.resolve(c.WorkingDir || '/', p);
        c.WorkingDir = dir;
        const key = sha(state.key, 'WORKDIR', dir);
        await this.fsStep(state, key, label, `WORKDIR ${dir}`, async (ws) => {
          mkdirSync(resolveInRoot(ws.merged, dir), { recursive: true });
        });
        return;
      }
      case 'RUN':
        await this.runStep(state, inst, label);
        return;
      case 'COPY':
      case 'ADD':
        await this.copyStep(state, inst, label);
        return;
      default:
        throw new BuildError(`${inst.keyword} is not allowed here`, inst.line);
    }
  }

  private healthcheck(state: StageState, inst: Instruction): void {
    const words = inst.args.trim();
    const kind = words.split(/\s+/)[0]?.toUpperCase();
    if (kind === 'NONE') {
      if (Object.keys(inst.flags).length) throw new BuildError('HEALTHCHECK NONE takes no options', inst.line);
      state.config.Healthcheck = { Test: ['NONE'] };
    } else if (kind === 'CMD') {
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
      state.config.Healthcheck = hc;
    } else {
      throw new BuildError('HEALTHCHECK needs CMD <command> or NONE', inst.line);
    }
    this.history(state, `HEALTHCHECK ${JSON.stringify(state.config.Healthcheck)}`, true);
  }

  private readCache(key: string): { layer: BuiltLayer | null } | undefined {
    if (this.opts.noCache) return undefined;
    try {
      const v = JSON.parse(readFileSync(join(this.cacheDir, `${key}.json`), 'utf8')) as { layer: BuiltLayer | null };
      if (v.layer && !this.store.hasBlob(v.layer.desc.digest)) return undefined;
      return v;
    } catch {
      return undefined;
    }
  }

  private writeCache(key: string, layer: BuiltLayer | undefined): void {
    const tmp = join(this.cacheDir, `${key}.json.tmp-${process.pid}`);
    writeFileSync(tmp, JSON.stringify({ layer: layer ?? null }));
    // rename is atomic: concurrent builds never read half a record.
    renameSync(tmp, join(this.cacheDir, `${key}.json`));
  }

  /** Runs a filesystem step (or takes it from the cache) and appends its layer + history. */
  private async fsStep(state: StageState, key: string, label: string, createdBy: string, fn: (ws: Workspace, step: number) => Promise<void>): Promise<void> {
    const step = this.progress.start(label);
    this.steps++;
    const hit = this.readCache(key);
    if (hit) {
      this.cachedSteps++;
      this.progress.done(step, { cached: true });
      this.append(state, key, hit.layer ?? undefined, createdBy);
      return;
    }
    let ws: Workspace | undefined;
    try {
      const lowers = await Promise.all(state.layers.map((l) => ensureSnapshot(this.store, l)));
      ws = await mountWorkspace(this.tmpRoot, lowers);
      const existed = RUNTIME_MOUNTPOINTS.filter((m) => existsSync(join(ws!.merged, m)));
      try {
        await fn(ws, step);
      } finally {
        await ws.unmount();
      }
      // runc creates /proc, /sys, /dev mount points in an image without them; they are not the step's work.
      for (const m of RUNTIME_MOUNTPOINTS) {
        const p = join(ws.upper, m);
        if (!existed.includes(m) && existsSync(p) && lstatSync(p).isDirectory() && readdirSync(p).length === 0) rmSync(p, { recursive: true });
      }
      const layer = await commitLayer(this.store, ws.upper, this.epoch);
      if (layer) await ensureSnapshot(this.store, layer, ws.upper);
      this.writeCache(key, layer);
      this.progress.done(step, {});
      this.append(state, key, layer, createdBy);
    } catch (e) {
      this.progress.done(step, { error: (e as Error).message.split('\n')[0]! });
      throw e;
    } finally {
      await ws?.remove();
    }
  }

  private append(state: StageState, key: string, layer: BuiltLayer | undefined, createdBy: string): void {
    state.key = key;
    if (layer) state.layers.push(layer);
    this.history(state, createdBy, !layer);
  }

  private async runStep(state: StageState, inst: Instruction, label: string): Promise<void> {
    const args = inst.json ?? [...state.shell, inst.args];
    if (args.length === 0) throw new BuildError('RUN needs a command', inst.line);
    const net = (inst.flags.network || this.opts.network || 'host') as string;
    const network: BuildNetwork = net === 'default' ? this.opts.network ?? 'host' : (net as BuildNetwork);
    if (network !== 'host' && network !== 'none') throw new BuildError(`RUN --network=${net} is not supported (use host, none or default)`, inst.line);
    if (inst.flags.mount !== undefined) throw new BuildError('RUN --mount is not supported yet', inst.line);
    // Build args are in RUN's environment unless ENV sets the same name.
    const envMap = new Map(state.args);
    for (const [k, v] of envToMap(state.config.Env ?? [DEFAULT_PATH_ENV])) envMap.set(k, v);
    const env = [...envMap].map(([k, v]) => `${k}=${v}`);
    const cwd = state.config.WorkingDir || '/';
    const userSpec = state.config.User || '';
    const key = sha(state.key, 'RUN', args, env, cwd, userSpec, network);
    const argNote = state.args.size ? `|${state.args.size} ${[...state.args].map(([k, v]) => `${k}=${v}`).join(' ')} ` : '';
    await this.fsStep(state, key, label, `RUN ${argNote}${args.join(' ')} # buildkit`, async (ws, step) => {
      const user = userSpec ? resolveUser(ws.merged, userSpec) : { uid: 0, gid: 0, additionalGids: [] };
      // Made on the first RUN only: a build without one needs no runtime state.
      this.runner ??= defaultBuildRunner(this.store.dataDir);
      const code = await runInRootfs(this.runner, {
        rootfs: ws.merged, args, env, cwd, user, network,
        onOutput: (line) => this.progress.log(step, line),
      });
      if (code !== 0) {
        const shown = inst.json ? JSON.stringify(args) : `${args.join(' ')}`;
        throw new BuildError(`The command '${shown}' returned a non-zero code: ${code}`, inst.line, code);
      }
    });
  }

  private async copyStep(state: StageState, inst: Instruction, label: string): Promise<void> {
    const env = this.expansionEnv(state);
    const esc = this.df.escape;
    const isAdd = inst.keyword === 'ADD';
    const words = inst.json ? inst.json.map((w) => expandWord(w, env, esc)) : expandWords(inst.args, env, esc);
    if (words.length < 2) throw new BuildError(`${inst.keyword} requires at least two arguments: ${inst.keyword} <src>... <dest>`, inst.line);
    const srcs = words.slice(0, -1);
    const destRaw = words[words.length - 1]!;
    const dest = posix.resolve(state.config.WorkingDir || '/', destRaw) + (destRaw.endsWith('/') || destRaw === '.' ? '/' : '');
    const chown = inst.flags.chown ? expandWord(inst.flags.chown, env, esc) : undefined;
    let chmod: number | undefined;
    if (inst.flags.chmod) {
      if (!/^[0-7]{3,4}$/.test(inst.flags.chmod)) throw new BuildError(`invalid --chmod=${inst.flags.chmod}: use octal like 755`, inst.line);
      chmod = parseInt(inst.flags.chmod, 8);
    }
    const fromName = inst.flags.from ? expandWord(inst.flags.from, env, esc) : undefined;
    if (isAdd && fromName) throw new BuildError('ADD does not accept --from; use COPY --from', inst.line);

    // Resolve sources and their content digest (the cache key needs it before doing any work).
    type Src = { kind: 'ctx'; rel: string; abs: string; stat: Stats } | { kind: 'url'; url: string; file: string; name: string } | { kind: 'root'; path: string };
    const sources: Src[] = [];
    let contentKey: string;
    let fromState: StageState | undefined;
    let fromImage: ImageInfo | undefined;
    const downloads: string[] = [];
    try {
      if (fromName) {
        const st = this.stageRef(fromName, state.index);
        if (st) {
          fromState = this.states.get(st.index);
          if (!fromState) throw new BuildError(`stage ${fromName} was not built`, inst.line);
        } else {
          fromImage = this.store.resolve(fromName);
          if (!fromImage) {
            const { pullImage } = await import('../image/registry/client.js');
            fromImage = this.opts.pull ? await this.opts.pull(fromName) : await pullImage(this.store, fromName, { log: (m) => this.progress.info(m) });
          }
        }
        for (const s of srcs) sources.push({ kind: 'root', path: s });
        contentKey = sha('from', fromState ? fromState.key : fromImage!.digest, srcs);
      } else {
        const parts: string[] = [];
        for (const s of srcs) {
          if (/^https?:\/\//i.test(s)) {
            if (!isAdd) throw new BuildError(`COPY cannot fetch URLs (${s}); use ADD or RUN wget`, inst.line);
            const file = join(this.tmpRoot, `dl-${sha(s, Date.now()).slice(0, 16)}`);
            downloads.push(file);
            const digest = await download(s, file);
            if (inst.flags.checksum && inst.flags.checksum !== digest) {
              throw new BuildError(`ADD ${s}: content digest ${digest} does not match --checksum=${inst.flags.checksum}`, inst.line);
            }
            const name = basename(new URL(s).pathname) || 'index.html';
            sources.push({ kind: 'url', url: s, file, name });
            parts.push(`url:${s}:${digest}`);
            continue;
          }
          const hits = this.ctx.match(s);
          for (const h of hits) {
            sources.push({ kind: 'ctx', ...h });
            const tree = h.stat.isDirectory() ? [h, ...this.ctx.below(h.rel)] : [h];
            parts.push(`${h.rel}:${await treeDigest(tree.map((t) => ({ ...t, rel: t.rel.slice(h.rel.length) })))}`);
          }
        }
        contentKey = sha(parts);
      }
      const many = sources.length > 1 || srcs.some(hasGlob);
      if (many && !dest.endsWith('/')) {
        throw new BuildError(`When using ${inst.keyword} with more than one source file, the destination must be a directory and end with a /`, inst.line);
      }
      const key = sha(state.key, inst.keyword, contentKey, dest, chown ?? '', chmod ?? '');
      const shownSrc = srcs.join(' ');
      await this.fsStep(state, key, label, `${inst.keyword} ${fromName ? `--from=${fromName} ` : ''}${shownSrc} ${dest} # buildkit`, async (ws) => {
        const owner = chown ? resolveUser(ws.merged, chown) : { uid: 0, gid: 0 };
        let fromRoot: Workspace | undefined;
        try {
          if (fromState || fromImage) {
            const layers = fromState ? fromState.layers : fromImage!.manifest.layers.map((d, i) => ({ desc: d, diffId: fromImage!.config.rootfs.diff_ids[i]! }));
            const dirs = await Promise.all(layers.map((l) => ensureSnapshot(this.store, l)));
            fromRoot = await mountWorkspace(this.tmpRoot, dirs, { readOnly: true });
          }
          for (const src of sources) {
            if (src.kind === 'url') {
              const target = dest.endsWith('/') ? dest + src.name : dest;
              const host = resolveInRoot(ws.merged, target);
              mkdirSync(posix.dirname(host), { recursive: true });
              copyFileSync(src.file, host);
              chmodSync(host, chmod ?? 0o600);
              chownSync(host, owner.uid, owner.gid);
            } else if (src.kind === 'ctx') {
              await this.copyOne(ws.merged, src.abs, src.stat, dest, owner, chmod, isAdd, src.stat.isDirectory() ? this.ctx.below(src.rel).map((e) => ({ ...e, rel: e.rel.slice(src.rel.length).replace(/^\//, '') })) : undefined);
            } else {
              const matches = matchInRoot(fromRoot!.merged, src.path);
              if (matches.length === 0) throw new BuildError(`${inst.keyword} --from=${fromName}: "${src.path}" not found`, inst.line);
              if (matches.length > 1 && !dest.endsWith('/')) throw new BuildError(`${src.path} matches several files; the destination must end with /`, inst.line);
              for (const m of matches) {
                const st = lstatSync(m);
                await this.copyOne(ws.merged, m, st, dest.endsWith('/') || matches.length > 1 ? dest : dest, owner, chmod, false, st.isDirectory() ? walkTree(m) : undefined);
              }
            }
          }
        } finally {
          await fromRoot?.remove();
        }
      });
    } finally {
      for (const f of downloads) rmSync(f, { force: true });
    }
  }

  /**
   * Copies one source (file, dir or symlink) to `dest` inside `root`. A directory's content
   * (`children`, relative paths) goes into dest; a file goes to dest/<name> when dest ends
   * with / or is a directory. ADD unpacks local tar archives into dest instead.
   */
  private async copyOne(root: string, abs: string, st: Stats, dest: string, owner: { uid: number; gid: number }, chmod: number | undefined,
    add: boolean, children?: { rel: string; abs: string; stat: Stats }[]): Promise<void> {
    if (st.isDirectory()) {
      const dir = resolveInRoot(root, dest);
      mkdirSync(dir, { recursive: true });
      for (const c of children ?? []) {
        const target = join(resolveInRoot(root, posix.dirname(posix.join(dest, c.rel))), basename(c.rel));
        copyEntry(c.abs, c.stat, target, owner, chmod);
      }
      return;
    }
    if (add && st.isFile() && isArchive(abs)) {
      const dir = resolveInRoot(root, dest);
      mkdirSync(dir, { recursive: true });
      await runOrThrow('tar', ['-x', '-f', abs, '-C', dir, '--numeric-owner', '--same-owner', '--same-permissions']);
      return;
    }
    let target: string;
    const destHost = resolveInRoot(root, dest);
    if (dest.endsWith('/') || (existsSync(destHost) && statSync(destHost).isDirectory())) {
      mkdirSync(destHost, { recursive: true });
      target = join(destHost, basename(abs));
    } else {
      mkdirSync(join(destHost, '..'), { recursive: true });
      target = resolveInRoot(root, dest, false);
    }
    copyEntry(abs, st, target, owner, chmod);
  }

  private async commitImage(state: StageState): Promise<BuildResult> {
    const config: ImageConfig & { config: BuildContainerConfig } = {
      created: this.created,
      ...(state.author ? { author: state.author } : {}),
      architecture: state.architecture,
      os: state.os,
      config: orderedConfig({ ...state.config, Env: state.config.Env ?? [DEFAULT_PATH_ENV] }),
      rootfs: { type: 'layers', diff_ids: state.layers.map((l) => l.diffId) },
      history: state.history,
    };
    const cfgRaw = Buffer.from(JSON.stringify(config));
    const cfg = await this.store.writeBlob(cfgRaw);
    const manifest: ImageManifest = {
      schemaVersion: 2,
      mediaType: MediaTypes.ociManifest,
      config: { mediaType: MediaTypes.ociConfig, digest: cfg.digest, size: cfg.size },
      layers: state.layers.map((l) => l.desc),
    };
    const raw = JSON.stringify(manifest);
    const tags = (this.opts.tags ?? []).map((t) => normalizeReference(t));
    let image: ImageInfo | undefined;
    for (const t of tags) {
      const info = await this.store.putManifest(t, raw);
      image ??= info;
    }
    image ??= await this.store.putManifest(undefined, raw);
    this.progress.info(`writing image ${image.id} done`);
    for (const t of tags) this.progress.info(`naming to ${t} done`);
    return { image, digest: image.digest, id: image.id, steps: this.steps, cached: this.cachedSteps };
  }
}


/** Copies one file, symlink or directory entry (not recursive) to `target`, with owner and mode. */
function copyEntry(abs: string, st: Stats, target: string, owner: { uid: number; gid: number }, chmod: number | undefined): void {
  if (st.isDirectory()) {
    if (!existsSync(target)) mkdirSync(target, { recursive: true, mode: st.mode & 0o7777 });
    chmodSync(target, chmod ?? st.mode & 0o7777);
    chownSync(target, owner.uid, owner.gid);
    return;
  }
  mkdirSync(join(target, '..'), { recursive: true });
  try {
    const t = lstatSync(target);
    if (t.isDirectory()) rmSync(target, { recursive: true });
    else unlinkSync(target);
  } catch {
    /* absent */
  }
  if (st.isSymbolicLink()) {
    symlinkSync(readlinkSync(abs), target);
    try {
      lchownSync(target, owner.uid, owner.gid);
    } catch {
      /* best effort */
    }
    return;
  }
  if (!st.isFile()) return; // sockets, fifos, devices: Docker skips them too
  copyFileSync(abs, target);
  chmodSync(target, chmod ?? st.mode & 0o7777);
  chownSync(target, owner.uid, owner.gid);
}

/** Every entry below a host directory, relative paths, parents first. */
function walkTree(dir: string): { rel: string; abs: string; stat: Stats }[] {
  const out: { rel: string; abs: string; stat: Stats }[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const abs = join(dir, r);
      const stat = lstatSync(abs);
      // A char device 0/0 in a merged overlay cannot appear (overlay hides whiteouts).
      out.push({ rel: r, abs, stat });
      if (stat.isDirectory()) walk(r);
    }
  };
  walk('');
  return out;
}

/** Paths in a mounted root matching `pattern` (globs allowed in the last component). */
function matchInRoot(root: string, pattern: string): string[] {
  const clean = posix.normalize('/' + pattern);
  if (!hasGlob(clean)) {
    const p = resolveInRoot(root, clean);
    return existsSync(p) ? [p] : [];
  }
  const dir = posix.dirname(clean);
  if (hasGlob(dir)) throw new Error(`COPY --from: globs are supported in the last path component only (${pattern})`);
  const host = resolveInRoot(root, dir);
  if (!existsSync(host)) return [];
  const re = globToRegExp(posix.basename(clean));
  return readdirSync(host).sort().filter((n) => re.test(n)).map((n) => resolveInRoot(root, posix.join(dir, n)));
}

/** Whether a file is a tar archive (plain, gzip, bzip2 or xz) that ADD should unpack. */
function isArchive(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(512);
    const n = readSync(fd, b, 0, 512, 0);
    if (n >= 2 && b[0] === 0x1f && b[1] === 0x8b) return true;
    if (n >= 3 && b.toString('latin1', 0, 3) === 'BZh') return true;
    if (n >= 6 && b.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return true;
    return n >= 262 && b.toString('latin1', 257, 262) === 'ustar';
  } finally {
    closeSync(fd);
  }
}

/** Fetches a URL to a file; returns the sha256 digest of the content. */
async function download(url: string, file: string): Promise<string> {
  const res = await fetch(url, { redirect: 'follow' });
  if (!res.ok || !res.body) throw new Error(`ADD ${url}: HTTP ${res.status} ${res.statusText}`);
  const h = createHash('sha256');
  const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
  body.on('data', (c: Buffer) => h.update(c));
  await pipeline(body, createWriteStream(file));
  return `sha256:${h.digest('hex')}`;
}
