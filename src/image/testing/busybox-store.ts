/** Test support: a throwaway image store that holds `busybox:latest`. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeBusyboxRootfs } from '../bootstrap-rootfs.js';
import { ImageStore } from '../store.js';

/** A store in a temp dir with `busybox:latest` (from the host's busybox). */
export async function busyboxStore(): Promise<{ store: ImageStore; dir: string; cleanup(): void }> {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-img-'));
  const store = ImageStore.open(join(dir, 'data'));
  const tar = join(dir, 'busybox.tar');
  await writeBusyboxRootfs(tar);
  await store.importRootfs(tar, 'busybox:latest');
  return { store, dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
