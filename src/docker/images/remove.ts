/**
 * `docker rmi` and `docker image prune`, with dockerd's rules (daemon/images/image_delete.go):
 * removing a name untags it and deletes the image only when no other name is left; removing
 * by ID drops every name; an image a container uses, or one named in several repositories,
 * needs `force` and says why in dockerd's words. Blobs no image references any more are then
 * deleted from the store (kept for a grace period, so a registry push in flight keeps its
 * blobs).
 */
import { familiarString, parseNormalized, parseReference, formatReference } from '../../image/reference.js';
import type { ImageStore } from '../../image/store.js';
import { badParameter, conflict } from '../errors.js';
import { boolFilter, parseFilters } from '../filters.js';
import { filterImages, findImage, groupImages, shortHex, type DockerImage } from './summaries.js';

/** One line of `docker rmi` output. */
export type DeleteItem = { Untagged: string } | { Deleted: string };

export interface RemoveDeps {
  store: ImageStore;
  /** IDs of the containers created from image `imageId` (running or not). */
  containersUsingImage(imageId: string): Promise<string[]>;
}

/** Blobs written this recently survive a prune: a push to the built-in registry writes blobs before its manifest. */
const BLOB_GRACE_MS = 10 * 60_000;

/** True when `name` names an image by ID or digest rather than by a tag or `repo@digest`. */
function namesId(name: string): boolean {
  return /^(?:sha256:)?[a-f0-9]{4,64}$/.test(name);
}

/** The full stored reference a tag-like name means (`busybox` → `docker.io/library/busybox:latest`). */
function fullRef(name: string): string {
  const r = parseNormalized(name);
  return r.digest ? formatReference(r) : formatReference(parseReference(name));
}

/** `DELETE /images/{name}`. */
export async function removeImage(deps: RemoveDeps, name: string, opts: { force: boolean; noprune: boolean }): Promise<DeleteItem[]> {
  const { store } = deps;
  const img = findImage(store, name);
  const users = await deps.containersUsingImage(img.id);
  const out: DeleteItem[] = [];
  if (!namesId(name) && img.refs.length > 0) {
    const ref = fullRef(name);
    const last = img.refs.filter((r) => r !== ref).length === 0;
    if (last && users.length > 0 && !opts.force) {
      throw conflict(`conflict: unable to remove repository reference "${name}" (must force) - container ${shortHex(users[0]!)} is using its referenced image ${shortHex(img.id)}`);
    }
    store.remove(ref);
    out.push({ Untagged: familiarString(ref) });
    if (!last) return out;
    if (users.length > 0) {
      // Forced: the name goes, the image stays (as <none>) for the containers using it.
      await keepUntagged(store, img);
      return out;
    }
  } else {
    const repos = new Set(img.refs.map((r) => { const p = parseNormalized(r); return `${p.domain}/${p.path}`; }));
    if (repos.size > 1 && !opts.force) {
      throw conflict(`conflict: unable to delete ${shortHex(img.id)} (must be forced) - image is referenced in multiple repositories`);
    }
    if (users.length > 0 && !opts.force) {
      throw conflict(`conflict: unable to delete ${shortHex(img.id)} (must be forced) - image is being used by running container ${shortHex(users[0]!)}`);
    }
    for (const ref of img.refs) {
      store.remove(ref);
      out.push({ Untagged: familiarString(ref) });
    }
    if (users.length > 0) {
      await keepUntagged(store, img);
      return out;
    }
  }
  deleteImage(store, img);
  out.push({ Deleted: img.id });
  if (!opts.noprune) await store.prune({ graceMs: BLOB_GRACE_MS });
  return out;
}

/** Drops the image's remaining index entries (the untagged one). */
function deleteImage(store: ImageStore, img: DockerImage): void {
  for (const ref of img.refs) store.remove(ref);
  store.remove(img.info.digest);
}

async function keepUntagged(store: ImageStore, img: DockerImage): Promise<void> {
  await store.putManifest(undefined, await store.readBlob(img.info.digest));
}

/**
 * `POST /images/prune`: deletes dangling images (`dangling=false`: every image) no container
 * uses, matching `label`/`until` filters; then the blobs they leave unreferenced.
 */
export async function pruneImages(deps: RemoveDeps, filtersText: string | null): Promise<{ ImagesDeleted: DeleteItem[] | null; SpaceReclaimed: number }> {
  const filters = parseFilters(filtersText);
  const danglingOnly = boolFilter(filters, 'dangling') ?? true;
  filters.delete('dangling');
  for (const n of filters.keys()) if (!['label', 'until'].includes(n)) throw badParameter(`invalid filter '${n}'`);
  const images = groupImages(deps.store.list());
  const candidates = filterImages(images, filters, (n) => findImage(deps.store, n)).filter((i) => !danglingOnly || i.tags.length === 0);
  const deleted: DeleteItem[] = [];
  for (const img of candidates) {
    if ((await deps.containersUsingImage(img.id)).length > 0) continue;
    for (const ref of img.refs) deleted.push({ Untagged: familiarString(ref) });
    deleteImage(deps.store, img);
    deleted.push({ Deleted: img.id });
  }
  const { bytes } = await deps.store.prune({ graceMs: BLOB_GRACE_MS });
  return { ImagesDeleted: deleted.length ? deleted : null, SpaceReclaimed: bytes };
}
