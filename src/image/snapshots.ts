/**
 * Snapshots: unpacked layers in `<dataDir>/snapshots/<diffID hex>/fs`, one directory per layer,
 * shared by every image that has the layer and ready to be an overlayfs lower dir (whiteouts are
 * char devices 0/0, opaque dirs carry trusted.overlay.opaque=y).
 *
 * A snapshot is filled in a `.tmp-*` dir and renamed into place, so a crash never leaves a half
 * snapshot under its final name, and two processes unpacking the same layer both succeed.
 */
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpName } from './content-store.js';
import { extractLayer } from './layer-tar.js';
import { digestHex } from './oci.js';

/** The snapshot directories of one data dir. */
export class SnapshotStore {
  private readonly unpacking = new Map<string, Promise<string>>();

  /** @param dir `<dataDir>/snapshots` */
  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  /** The snapshot dir of a layer (`…/snapshots/<diffID hex>/fs`), whether or not it exists. */
  path(diffId: string): string {
    return join(this.dir, digestHex(diffId), 'fs');
  }

  /**
   * Makes sure the snapshot of `diffId` exists and returns its dir. When it does not, `fill`
   * creates the dir it is given (a path that does not exist yet): it makes it and writes the
   * layer's content into it, or renames a finished overlay upper dir to it; the result is then
   * renamed into place. If another process finished the same layer
   * first, theirs is kept: it is as good as ours.
   */
  async install(diffId: string, fill: (fsDir: string) => Promise<void>): Promise<string> {
    const fs = this.path(diffId);
    if (existsSync(fs)) return fs;
    const final = join(this.dir, digestHex(diffId));
    const tmp = join(this.dir, `.tmp-${tmpName()}`);
    await mkdir(tmp, { recursive: true });
    try {
      await fill(join(tmp, 'fs'));
      try {
        await rename(tmp, final);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
      }
      return fs;
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  /**
   * Unpacks the layer blob at `blobPath` (once per diffID, however many callers ask at the same
   * time) and returns its snapshot dir. The blob must uncompress to `diffId`.
   */
  unpack(blobPath: string, layerDigest: string, diffId: string): Promise<string> {
    const existing = this.unpacking.get(diffId);
    if (existing) return existing;
    const p = this.install(diffId, async (fsDir) => {
      await mkdir(fsDir);
      const got = await extractLayer(blobPath, fsDir);
      if (got !== diffId) throw new Error(`layer ${layerDigest} uncompresses to ${got}, but the image config says ${diffId}; the image is corrupt, pull it again`);
    }).finally(() => this.unpacking.delete(diffId));
    this.unpacking.set(diffId, p);
    return p;
  }

  /**
   * Deletes every snapshot whose diffID is not in `keep` (diffIDs, or their hex), nor named by
   * `inUse` (snapshot dirs or diffIDs, e.g. layers of running containers whose image is gone).
   * Returns the hex names removed.
   */
  async pruneExcept(keep: Iterable<string>, inUse: Iterable<string> = []): Promise<string[]> {
    const kept = new Set<string>();
    for (const k of keep) kept.add(k.startsWith('sha256:') ? digestHex(k) : k);
    for (const u of inUse) {
      const m = /([a-f0-9]{64})(?:\/fs)?\/?$/.exec(u);
      if (m) kept.add(m[1]!);
    }
    const removed: string[] = [];
    for (const name of readdirSync(this.dir)) {
      if (name.startsWith('.tmp-') || kept.has(name)) continue;
      await rm(join(this.dir, name), { recursive: true, force: true });
      removed.push(name);
    }
    return removed;
  }
}
