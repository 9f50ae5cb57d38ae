/**
 * COPY and ADD: sources from the build context, from URLs (ADD) or from another stage or image
 * (`--from`), copied with ownership (`--chown`) and mode (`--chmod`) onto the step's overlay;
 * ADD unpacks local tar archives. The step's cache key includes the digest of what is copied,
 * so it is computed before anything is mounted.
 */
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, closeSync, copyFileSync, createWriteStream, existsSync, lchownSync, lstatSync, mkdirSync, openSync, readdirSync,
  readlinkSync, readSync, rmSync, statSync, symlinkSync, unlinkSync, type Stats } from 'node:fs';
import { basename, join, posix } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ImageStore } from '../image/store.js';
import type { ImageInfo } from '../image/image-index.js';
import { runOrThrow } from '../util/exec.js';
import { cacheKey } from './cache.js';
import { globToRegExp, hasGlob, treeDigest, type BuildContext } from './context.js';
import type { Instruction } from './dockerfile.js';
import { ensureSnapshot } from './layer.js';
import { mountWorkspace, resolveInRoot, resolveUser, type Workspace } from './rootfs.js';
import { expandWord, expandWords } from './shell-lex.js';
import { BuildError, expansionEnv, type StageState } from './stage.js';

/** Runs a filesystem step on an overlay of the stage (or takes it from the cache); the builder's. */
export type FsStep = (state: StageState, key: string, label: string, createdBy: string, fn: (ws: Workspace, step: number) => Promise<void>) => Promise<void>;

/** What COPY/ADD needs from the build it is part of. */
export interface CopyStepContext {
  store: ImageStore;
  /** The build context directory. */
  context: BuildContext;
  /** Scratch space for downloads and read-only mounts. */
  tmpRoot: string;
  /** The Dockerfile's escape character. */
  escape: string;
  /** The built state of the earlier stage `name` names, or undefined when it names no stage (then it is an image). */
  stage(name: string, before: number, line: number): StageState | undefined;
  /** Fetches an image missing from the store. */
  pull(ref: string): Promise<ImageInfo>;
  fsStep: FsStep;
}

/** Runs a COPY or ADD instruction as a filesystem step of `state`. */
export async function copyStep(c: CopyStepContext, state: StageState, inst: Instruction, label: string): Promise<void> {
  const env = expansionEnv(state);
  const esc = c.escape;
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
      fromState = c.stage(fromName, state.index, inst.line);
      if (!fromState) fromImage = c.store.resolve(fromName) ?? await c.pull(fromName);
      for (const s of srcs) sources.push({ kind: 'root', path: s });
      contentKey = cacheKey('from', fromState ? fromState.key : fromImage!.digest, srcs);
    } else {
      const parts: string[] = [];
      for (const s of srcs) {
        if (/^https?:\/\//i.test(s)) {
          if (!isAdd) throw new BuildError(`COPY cannot fetch URLs (${s}); use ADD or RUN wget`, inst.line);
          const file = join(c.tmpRoot, `dl-${cacheKey(s, Date.now()).slice(0, 16)}`);
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
        const hits = c.context.match(s);
        for (const h of hits) {
          sources.push({ kind: 'ctx', ...h });
          const tree = h.stat.isDirectory() ? [h, ...c.context.below(h.rel)] : [h];
          parts.push(`${h.rel}:${await treeDigest(tree.map((t) => ({ ...t, rel: t.rel.slice(h.rel.length) })))}`);
        }
      }
      contentKey = cacheKey(parts);
    }
    const many = sources.length > 1 || srcs.some(hasGlob);
    if (many && !dest.endsWith('/')) {
      throw new BuildError(`When using ${inst.keyword} with more than one source file, the destination must be a directory and end with a /`, inst.line);
    }
    const key = cacheKey(state.key, inst.keyword, contentKey, dest, chown ?? '', chmod ?? '');
    const shownSrc = srcs.join(' ');
    await c.fsStep(state, key, label, `${inst.keyword} ${fromName ? `--from=${fromName} ` : ''}${shownSrc} ${dest} # buildkit`, async (ws) => {
      const owner = chown ? resolveUser(ws.merged, chown) : { uid: 0, gid: 0 };
      let fromRoot: Workspace | undefined;
      try {
        if (fromState || fromImage) {
          const layers = fromState ? fromState.layers : fromImage!.manifest.layers.map((d, i) => ({ desc: d, diffId: fromImage!.config.rootfs.diff_ids[i]! }));
          const dirs = await Promise.all(layers.map((l) => ensureSnapshot(c.store, l)));
          fromRoot = await mountWorkspace(c.tmpRoot, dirs, { readOnly: true });
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
            await copyOne(ws.merged, src.abs, src.stat, dest, owner, chmod, isAdd, src.stat.isDirectory() ? c.context.below(src.rel).map((e) => ({ ...e, rel: e.rel.slice(src.rel.length).replace(/^\//, '') })) : undefined);
          } else {
            const matches = matchInRoot(fromRoot!.merged, src.path);
            if (matches.length === 0) throw new BuildError(`${inst.keyword} --from=${fromName}: "${src.path}" not found`, inst.line);
            if (matches.length > 1 && !dest.endsWith('/')) throw new BuildError(`${src.path} matches several files; the destination must end with /`, inst.line);
            for (const m of matches) {
              const st = lstatSync(m);
              await copyOne(ws.merged, m, st, dest.endsWith('/') || matches.length > 1 ? dest : dest, owner, chmod, false, st.isDirectory() ? walkTree(m) : undefined);
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
async function copyOne(root: string, abs: string, st: Stats, dest: string, owner: { uid: number; gid: number }, chmod: number | undefined,
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
