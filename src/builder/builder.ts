/**
 * The Dockerfile builder. Stages are built in order (only those the target needs); each
 * RUN, COPY, ADD and WORKDIR runs on an overlay of the stage's layers and its upper dir
 * becomes a layer, the other instructions only edit the image config. Every instruction gets
 * a history entry (`empty_layer` when it made no layer), as BuildKit writes them.
 *
 * This module dispatches instructions and runs filesystem steps; COPY/ADD are in copy.ts,
 * the layer cache (an unchanged rebuild mounts nothing and runs nothing) in cache.ts, the
 * stage state and config helpers in stage.ts, RUN's process in run.ts.
 *
 * Reproducibility: layer tars have fixed mtimes and numeric owners, gzip has no timestamp,
 * and `created` is SOURCE_DATE_EPOCH (default 0), so identical inputs give identical digests.
 */
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import type { ImageStore } from '../image/store.js';
import type { ImageInfo } from '../image/image-index.js';
import { DEFAULT_PATH_ENV, hostArchitecture, MediaTypes, type HistoryEntry, type ImageConfig, type ImageManifest } from '../image/oci.js';
import { normalizeReference } from '../image/reference.js';
import type { ProcessRunner } from '../runtime/types.js';
import { BuildCache, cacheKey } from './cache.js';
import { BuildContext } from './context.js';
import { copyStep, type CopyStepContext } from './copy.js';
import { DockerfileError, parseDockerfile, parseInstruction, type Instruction, type ParsedDockerfile, type Stage } from './dockerfile.js';
import { commitLayer, ensureSnapshot, type BuiltLayer } from './layer.js';
import { createProgress, type BuildProgress, type ProgressMode } from './progress.js';
import { mountWorkspace, resolveInRoot, resolveUser, RUNTIME_MOUNTPOINTS, type Workspace } from './rootfs.js';
import { defaultBuildRunner, runInRootfs, type BuildNetwork } from './run.js';
import { expandWord, expandWords, parseKeyValues } from './shell-lex.js';
import {
  BuildError, DEFAULT_SHELL, envToMap, expansionEnv, orderedConfig, parseHealthcheck, setEnv, type BuildContainerConfig, type StageState,
} from './stage.js';

export { BuildError, type BuildContainerConfig } from './stage.js';

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
  /** Pull base images even when the store has them (`docker build --pull`). */
  alwaysPull?: boolean;
  /** Runs RUN steps (default: runc on the store's data dir, see {@link defaultBuildRunner}). */
  runner?: ProcessRunner;
  /** Labels added to the final image's config (`docker build --label`); they win over LABEL. */
  labels?: Record<string, string>;
  /** Told of every instruction of the stages built, numbered across the build (Docker's classic `Step n/N`). */
  steps?: BuildStepObserver;
}

/**
 * Observes instructions the way Docker's classic builder numbers them: `FROM` and every
 * instruction of each stage built, in order, `n` of `total`. `end` gets an ID of the image
 * state after the instruction (a 64-hex digest of its layers and config), what the classic
 * builder prints as ` ---> <12 hex>`.
 */
export interface BuildStepObserver {
  begin(n: number, total: number, text: string): void;
  end(n: number, id: string): void;
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
  private readonly cache: BuildCache;
  private runner?: ProcessRunner;
  private readonly ctx: BuildContext;
  private readonly buildArgs: Record<string, string>;
  private readonly usedArgs = new Set<string>();
  private readonly globalArgs = new Map<string, string | undefined>();
  private readonly states = new Map<number, StageState>();
  private df!: ParsedDockerfile;
  private steps = 0;
  private cachedSteps = 0;
  private instructionNo = 0;
  private instructionTotal = 0;

  constructor(private readonly opts: BuildOptions) {
    this.store = opts.store;
    this.progress = typeof opts.progress === 'object' ? opts.progress : createProgress(opts.progress ?? (process.stderr.isTTY ? 'tty' : 'plain'));
    const envEpoch = process.env.SOURCE_DATE_EPOCH;
    this.epoch = opts.sourceDateEpoch ?? (envEpoch && /^\d+$/.test(envEpoch) ? Number(envEpoch) : 0);
    this.created = new Date(this.epoch * 1000).toISOString().replace(/\.000Z$/, 'Z');
    this.tmpRoot = join(this.store.dataDir, 'build-tmp');
    this.runner = opts.runner;
    mkdirSync(this.tmpRoot, { recursive: true });
    this.cache = new BuildCache(this.store, !!opts.noCache);
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
    this.instructionTotal = this.df.stages.filter((s) => needed.has(s.index) && s.index <= target.index).reduce((n, s) => n + 1 + s.instructions.length, 0);
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
    const fromNo = this.beginInstruction(stage.from.text);
    const fromStep = this.progress.start(this.label({ name: stage.name, index: stage.index } as StageState, multi, pos, total, `FROM ${baseName}`));
    let state: StageState;
    try {
      state = await this.baseState(stage, baseName);
      this.progress.done(fromStep, {});
      this.endInstruction(fromNo, state);
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
      // ONBUILD triggers belong to the FROM step in Docker's numbering.
      const no = stage.instructions.includes(inst) ? this.beginInstruction(inst.text) : 0;
      try {
        await this.instruction(state, inst, isFs ? this.label(state, multi, pos, total, inst.text) : '');
      } catch (e) {
        if (e instanceof BuildError || e instanceof DockerfileError) throw e;
        throw new BuildError((e as Error).message, inst.line);
      }
      if (no) this.endInstruction(no, state);
    }
    return state;
  }

  private beginInstruction(text: string): number {
    const n = ++this.instructionNo;
    this.opts.steps?.begin(n, this.instructionTotal, text);
    return n;
  }

  private endInstruction(n: number, state: StageState): void {
    if (this.opts.steps) this.opts.steps.end(n, cacheKey(state.key, state.layers.map((l) => l.diffId), state.config, state.author ?? '', state.history.length));
  }

  /** What COPY/ADD needs of this build. */
  private copyStepContext(): CopyStepContext {
    return {
      store: this.store,
      context: this.ctx,
      tmpRoot: this.tmpRoot,
      escape: this.df.escape,
      stage: (name, before, line) => this.builtStage(name, before, line),
      pull: (ref) => this.pull(ref),
      fsStep: (state, key, label, createdBy, fn) => this.fsStep(state, key, label, createdBy, fn),
    };
  }

  /** The state of the earlier stage `name` names; undefined when it names no stage. */
  private builtStage(name: string, before: number, line: number): StageState | undefined {
    const st = this.stageRef(name, before);
    if (!st) return undefined;
    const state = this.states.get(st.index);
    if (!state) throw new BuildError(`stage ${name} was not built`, line);
    return state;
  }

  /** Fetches an image missing from the store: with `opts.pull`, else from its registry. */
  private async pull(ref: string): Promise<ImageInfo> {
    if (this.opts.pull) return this.opts.pull(ref);
    const { pullImage } = await import('../image/registry/client.js');
    return pullImage(this.store, ref, { log: (m) => this.progress.info(m) });
  }

  private async baseState(stage: Stage, baseName: string): Promise<StageState> {
    const fresh = (): StageState => ({
      name: stage.name, index: stage.index, layers: [], config: {}, history: [], architecture: hostArchitecture(), os: 'linux',
      key: cacheKey('scratch'), args: new Map(), shell: [...DEFAULT_SHELL], cmdSet: false,
    });
    if (baseName === 'scratch') return fresh();
    const p = this.builtStage(baseName, stage.index, stage.from.line);
    if (p) {
      const copy = structuredClone({ ...p, args: undefined }) as unknown as StageState;
      return { ...copy, name: stage.name, index: stage.index, args: new Map(), cmdSet: false };
    }
    let info = this.opts.alwaysPull ? undefined : this.store.resolve(baseName);
    if (!info) {
      info = await this.pull(baseName).catch((e: Error) => {
        const where = this.opts.alwaysPull ? 'could not be pulled' : 'is not in the local store and could not be pulled';
        throw new BuildError(`base image ${baseName} ${where}: ${e.message}`, stage.from.line);
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
    s.key = cacheKey('image', info.digest);
    s.baseDigest = info.digest;
    if (s.config.Shell?.length) s.shell = [...s.config.Shell];
    return s;
  }

  private history(state: StageState, createdBy: string, empty: boolean): void {
    const h: HistoryEntry = { created: this.created, created_by: createdBy, comment: 'buildkit.dockerfile.v0' };
    if (empty) h.empty_layer = true;
    state.history.push(h);
  }

  private async instruction(state: StageState, inst: Instruction, label: string): Promise<void> {
    const env = expansionEnv(state);
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
        const key = cacheKey(state.key, 'WORKDIR', dir);
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
        await copyStep(this.copyStepContext(), state, inst, label);
        return;
      default:
        throw new BuildError(`${inst.keyword} is not allowed here`, inst.line);
    }
  }

  private healthcheck(state: StageState, inst: Instruction): void {
    state.config.Healthcheck = parseHealthcheck(inst);
    this.history(state, `HEALTHCHECK ${JSON.stringify(state.config.Healthcheck)}`, true);
  }

  /** Runs a filesystem step (or takes it from the cache) and appends its layer + history. */
  private async fsStep(state: StageState, key: string, label: string, createdBy: string, fn: (ws: Workspace, step: number) => Promise<void>): Promise<void> {
    const step = this.progress.start(label);
    this.steps++;
    const hit = this.cache.read(key);
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
      this.cache.write(key, layer);
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
    const key = cacheKey(state.key, 'RUN', args, env, cwd, userSpec, network);
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

  private async commitImage(state: StageState): Promise<BuildResult> {
    const config: ImageConfig & { config: BuildContainerConfig } = {
      created: this.created,
      ...(state.author ? { author: state.author } : {}),
      architecture: state.architecture,
      os: state.os,
      config: orderedConfig({
        ...state.config,
        Env: state.config.Env ?? [DEFAULT_PATH_ENV],
        ...(this.opts.labels && Object.keys(this.opts.labels).length ? { Labels: { ...(state.config.Labels ?? {}), ...this.opts.labels } } : {}),
      }),
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
