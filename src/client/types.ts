/**
 * The client interface every component (controllers, scheduler, agent) is written against.
 * Implementations: {@link RestClient} (rest.ts) over HTTPS or the in-process transport; tests use the
 * same client against an in-process API server (apiserver/testing/test-api.ts).
 */
import type { StatusError } from '../api/errors.js';

export type { StatusError };

/** Identifies one REST resource: group/version/plural, its scope and its Kind. */
export interface ResourceRef { group: string; version: string; resource: string; namespaced: boolean; kind: string }
export interface ListOptions { labelSelector?: string; fieldSelector?: string; resourceVersion?: string; limit?: number; continue?: string }
export interface WatchOptions extends ListOptions { allowWatchBookmarks?: boolean; timeoutSeconds?: number }
export interface ObjectList<T> { metadata: { resourceVersion: string; continue?: string }; items: T[] }
export interface WatchEvent<T> { type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR'; object: T }
export interface WriteOptions { dryRun?: boolean; fieldManager?: string; subresource?: string }
export interface DeleteOptions { propagationPolicy?: 'Background' | 'Foreground' | 'Orphan'; gracePeriodSeconds?: number; preconditions?: { uid?: string; resourceVersion?: string }; dryRun?: boolean }
export type PatchType = 'merge' | 'strategic' | 'json' | 'apply';
/** Every method rejects with a StatusError (src/api/errors.ts) carrying the server's Status. */
export interface Client {
  get<T>(r: ResourceRef, namespace: string | undefined, name: string, opts?: { subresource?: string }): Promise<T>;
  list<T>(r: ResourceRef, namespace: string | undefined, opts?: ListOptions): Promise<ObjectList<T>>;
  /** Streams events until cancel() or the server ends the stream; onClose(err?) is called exactly once (err is a StatusError for an ERROR event like 410 Expired, or a network error). */
  watch<T>(r: ResourceRef, namespace: string | undefined, opts: WatchOptions, onEvent: (e: WatchEvent<T>) => void, onClose: (err?: Error) => void): { cancel(): void };
  create<T>(r: ResourceRef, namespace: string | undefined, obj: T, opts?: WriteOptions & { name?: string /* for subresources like pods/NAME/binding, pods/NAME/eviction */ }): Promise<T>;
  update<T>(r: ResourceRef, namespace: string | undefined, obj: T, opts?: WriteOptions): Promise<T>;  // subresource 'status' | 'scale'
  patch<T>(r: ResourceRef, namespace: string | undefined, name: string, type: PatchType, body: unknown, opts?: WriteOptions): Promise<T>;
  delete<T = unknown>(r: ResourceRef, namespace: string | undefined, name: string, opts?: DeleteOptions): Promise<T>;
}

/** Object shapes are the API's own (src/api/registry.ts); the client speaks the same objects. */
export type { KObject, ObjectMeta as ObjectMetaLike, OwnerReference as OwnerReferenceLike } from '../api/registry.js';
