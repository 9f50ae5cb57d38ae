/**
 * What a request asks for, read from its method and path as upstream's RequestInfoFactory
 * does: verb (get, list, watch, create, update, patch, delete, deletecollection; the
 * lower-cased method for non-resource URLs), API group and version, namespace, resource,
 * subresource and name. Audit events and policy rules are phrased in these terms.
 */
import { queryBool, type ApiRequest } from '../request.js';

export interface RequestInfo {
  resourceRequest: boolean;
  verb: string;
  path: string;
  apiGroup?: string;
  apiVersion?: string;
  namespace?: string;
  resource?: string;
  subresource?: string;
  name?: string;
}

const METHOD_VERBS: Record<string, string> = { POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete', GET: 'get', HEAD: 'get' };

export function requestInfo(req: ApiRequest): RequestInfo {
  const method = req.method.toUpperCase();
  const path = req.path;
  const nonResource = (): RequestInfo => ({ resourceRequest: false, verb: method.toLowerCase(), path });
  let parts: string[];
  try {
    parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  } catch {
    return nonResource();
  }
  let apiGroup: string;
  let apiVersion: string;
  if (parts[0] === 'api' && parts.length >= 2) {
    apiGroup = '';
    apiVersion = parts[1];
    parts = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 3) {
    apiGroup = parts[1];
    apiVersion = parts[2];
    parts = parts.slice(3);
  } else {
    return nonResource();
  }
  if (!parts.length) return nonResource();
  let verb = METHOD_VERBS[method] ?? method.toLowerCase();
  let namespace: string | undefined;
  if (parts[0] === 'namespaces' && parts.length > 1) {
    namespace = parts[1];
    // /namespaces/NAME/status and /finalize are the namespace's own subresources.
    if (parts.length > 2 && parts[2] !== 'status' && parts[2] !== 'finalize') parts = parts.slice(2);
  }
  const [resource, name, subresource] = parts;
  if (!name) {
    if (verb === 'get') verb = queryBool(req.query, 'watch') ? 'watch' : 'list';
    else if (verb === 'delete') verb = 'deletecollection';
  } else if (verb === 'get' && queryBool(req.query, 'watch')) {
    verb = 'watch';
  }
  return { resourceRequest: true, verb, path, apiGroup, apiVersion, namespace, resource, name, subresource };
}
