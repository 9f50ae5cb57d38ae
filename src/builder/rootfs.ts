/**
 * Working root filesystems for build steps: an overlay mount of a stage's layer snapshots
 * (read-only lowers) with a fresh upper dir, so whatever a step changes lands in the upper
 * dir, which becomes the step's layer. Also path resolution inside such a root (symlinks
 * resolved against the root, never the host) and user/group lookup in its /etc files.
 */
import { randomBytes } from 'node:crypto';
import { lstatSync, mkdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { runOrThrow } from '../util/exec.js';

/** A mounted overlay: `merged` shows lowers + upper; writes go to `upper`. */
export interface Workspace {
  dir: string;
  upper: string;
  merged: string;
  /** Unmounts (idempotent). The upper dir stays until {@link Workspace.remove}. */
  unmount(): Promise<void>;
  /** Unmounts and deletes everything. */
  remove(): Promise<void>;
}

/**
 * Mounts `layers` (snapshot dirs, bottom first) with a new upper dir under `tmpRoot`.
 * An empty directory is always the bottom lower so that zero or one layer works too.
 * With `readOnly` there is no upper dir (for `COPY --from` sources).
 */
export async function mountWorkspace(tmpRoot: string, layers: string[], opts: { readOnly?: boolean } = {}): Promise<Workspace> {
  const dir = join(tmpRoot, `ws-${process.pid}-${randomBytes(6).toString('hex')}`);
  const upper = join(dir, 'upper');
  const work = join(dir, 'work');
  const merged = join(dir, 'merged');
  const empty = join(dir, 'empty');
  for (const d of [upper, work, merged, empty]) mkdirSync(d, { recursive: true });
  const lowers = [...layers].reverse();
  lowers.push(empty);
  if (opts.readOnly && lowers.length < 2) lowers.push(empty);
  let options = `lowerdir=${lowers.join(':')}`;
  if (!opts.readOnly) options += `,upperdir=${upper},workdir=${work}`;
  if (options.length > 4000) {
    throw new Error(`too many layers (${layers.length}) to mount in one overlay; squash the base image or merge RUN steps`);
  }
  try {
    await runOrThrow('mount', ['-t', 'overlay', 'overlay', '-o', options, merged]);
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`cannot mount the build overlay (are you root, and is overlayfs available?): ${(e as Error).message}`);
  }
  let mounted = true;
  const unmount = async () => {
    if (!mounted) return;
    try {
      await runOrThrow('umount', [merged]);
    } catch {
      await runOrThrow('umount', ['-l', merged]).catch(() => {});
    }
    mounted = false;
    // The work dir holds an overlay-private directory root cannot always delete while mounted.
    await rm(work, { recursive: true, force: true }).catch(() => {});
  };
  return {
    dir,
    upper,
    merged,
    unmount,
    async remove() {
      await unmount();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Resolves `path` (absolute, in container terms) inside `root`, following symlinks as the
 * container would see them: absolute link targets restart at `root`, `..` never leaves it.
 * With `followLast` false the final component is not followed (for creating or replacing it).
 * Returns the host path.
 */
export function resolveInRoot(root: string, path: string, followLast = true): string {
  const parts = posix.normalize('/' + path).split('/').filter(Boolean);
  const done: string[] = [];
  let hops = 0;
  while (parts.length) {
    const p = parts.shift()!;
    if (p === '.') continue;
    if (p === '..') {
      done.pop();
      continue;
    }
    const host = join(root, ...done, p);
    let st;
    try {
      st = lstatSync(host);
    } catch {
      done.push(p);
      continue;
    }
    if (st.isSymbolicLink() && (followLast || parts.length > 0)) {
      if (++hops > 40) throw new Error(`too many levels of symbolic links resolving ${path}`);
      const target = readlinkSync(host);
      if (target.startsWith('/')) done.length = 0;
      parts.unshift(...target.split('/').filter(Boolean));
      continue;
    }
    done.push(p);
  }
  return join(root, ...done);
}

/** uid/gid (and supplementary groups) of a USER string inside a root filesystem. */
export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
}

function readDb(root: string, file: string): string[][] {
  try {
    return readFileSync(resolveInRoot(root, file), 'utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => l.split(':'));
  } catch {
    return [];
  }
}

/**
 * Looks `user[:group]` up in `root`'s /etc/passwd and /etc/group, as runc/Docker do: numbers
 * need no entry; names must exist; the group defaults to the user's primary group.
 */
export function resolveUser(root: string, spec: string): ResolvedUser {
  const [u = '', g] = spec.split(':', 2);
  const passwd = readDb(root, '/etc/passwd');
  const groups = readDb(root, '/etc/group');
  let uid: number;
  let gid: number | undefined;
  let userName: string | undefined;
  if (/^\d+$/.test(u)) {
    uid = Number(u);
    const e = passwd.find((x) => x[2] === u);
    if (e) {
      gid = Number(e[3]);
      userName = e[0];
    }
  } else {
    const e = passwd.find((x) => x[0] === u);
    if (!e) throw new Error(`unable to find user ${u}: no matching entries in passwd file (add the user in an earlier RUN, or use a numeric uid)`);
    uid = Number(e[2]);
    gid = Number(e[3]);
    userName = u;
  }
  if (g !== undefined && g !== '') {
    if (/^\d+$/.test(g)) gid = Number(g);
    else {
      const e = groups.find((x) => x[0] === g);
      if (!e) throw new Error(`unable to find group ${g}: no matching entries in group file`);
      gid = Number(e[2]);
    }
  }
  const additionalGids = userName && g === undefined
    ? groups.filter((x) => (x[3] ?? '').split(',').includes(userName!)).map((x) => Number(x[2])).filter((n) => n !== gid)
    : [];
  return { uid, gid: gid ?? 0, additionalGids };
}

/** Mount points runc creates in the rootfs; removed from a step's upper dir when it made them. */
export const RUNTIME_MOUNTPOINTS = ['proc', 'sys', 'dev'];
