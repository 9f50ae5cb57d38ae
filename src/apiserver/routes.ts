/**
 * Resource URLs: which resource, version, namespace, name and subresource a path under
 * /api/{version} or /apis/{group}/{version} names.
 */
import { StatusError } from '../api/errors.js';
import type { Registry, ResourceDef } from '../api/registry.js';

/** A request's target, resolved against the registry. */
export interface ResourcePath {
  def: ResourceDef;
  /** The version the client speaks (may differ from the stored one, see ResourceDef.conversions). */
  version: string;
  /** '' for cluster-scoped resources and for lists across all namespaces. */
  namespace: string;
  /** '' for the collection. */
  name: string;
  subresource: string;
}

/** The 404 upstream answers for URLs that name nothing. */
export function pageNotFound(): StatusError {
  return new StatusError(404, 'NotFound', 'the server could not find the requested resource', {});
}

/**
 * Resolves the path segments after the group/version: [namespaces, NS,] PLURAL [, NAME [, SUB]].
 * Throws 404 for anything the registry does not serve.
 */
export function resolveResourcePath(reg: Registry, group: string, version: string, rest: string[]): ResourcePath {
  let namespace = '';
  let plural: string;
  let name = '';
  let sub = '';
  // /namespaces/{ns}/{resource}/... unless this is the namespace object itself (namespaces/{name}[/status|finalize]).
  if (rest[0] === 'namespaces' && rest.length >= 3 && reg.lookup(group, version, rest[2])?.namespaced) {
    namespace = rest[1];
    [plural, name = '', sub = ''] = rest.slice(2);
    if (rest.length > 5) throw pageNotFound();
  } else {
    [plural, name = '', sub = ''] = rest;
    if (rest.length > 3) throw pageNotFound();
  }
  const def = reg.lookup(group, version, plural);
  if (!def) throw pageNotFound();
  if (def.namespaced === false && namespace) throw pageNotFound();
  if (sub && !(def.subresources ?? []).includes(sub)) throw pageNotFound();
  return { def, version, namespace, name, subresource: sub };
}
