/** The image store an image command works on: the cluster's (see data-dir.ts), announced on stderr. */
import { ImageStore } from '../image/store.js';
import { announceStore, resolveDataDir } from './data-dir.js';

/** Option text of `--data-dir` on every image command. */
export const DATA_DIR_HELP = 'skiff data dir (default: $SKIFF_DATA_DIR, the current kubeconfig context\'s, else the default)';

/** Opens the image store of `--data-dir` / SKIFF_DATA_DIR / the kubeconfig context / the default, and says which. */
export function openImageStore(flag: string | undefined): ImageStore {
  const d = resolveDataDir(flag);
  announceStore(d);
  return ImageStore.open(d.dir);
}
