/**
 * The one storage key layout of API objects, as kube-apiserver lays out etcd:
 * /registry/{group|core}/{plural}/{namespace}/{name} (cluster-scoped: no namespace segment).
 * Object storage writes with these keys and the watch cache reads them back; nothing else
 * builds or parses a key.
 */
import type { ResourceDef } from '../api/registry.js';

/** Prefix of every API object in the store. */
export const REGISTRY_ROOT = '/registry/';

/** Prefix of all objects of a resource, ending in '/'. */
export function storagePrefix(def: ResourceDef): string {
  return `${REGISTRY_ROOT}${def.group || 'core'}/${def.plural}/`;
}

/** The storage key of an object. */
export function storageKey(def: ResourceDef, namespace: string | undefined, name: string): string {
  return def.namespaced ? `${storagePrefix(def)}${namespace}/${name}` : `${storagePrefix(def)}${name}`;
}

/**
 * The resource prefix of a key (what {@link storagePrefix} returns for its resource),
 * or undefined when the key is not below /registry/{group}/{plural}/.
 */
export function resourcePrefixOf(key: string): string | undefined {
  if (!key.startsWith(REGISTRY_ROOT)) return undefined;
  const groupEnd = key.indexOf('/', REGISTRY_ROOT.length);
  const pluralEnd = groupEnd < 0 ? -1 : key.indexOf('/', groupEnd + 1);
  return pluralEnd < 0 ? undefined : key.slice(0, pluralEnd + 1);
}

/** Namespace ('' when cluster-scoped) and name of the object a key of `def` stores. */
export function parseStorageKey(def: ResourceDef, key: string): { namespace: string; name: string } {
  const rest = key.slice(storagePrefix(def).length);
  if (!def.namespaced) return { namespace: '', name: rest };
  const slash = rest.indexOf('/');
  return { namespace: rest.slice(0, slash), name: rest.slice(slash + 1) };
}
