/**
 * What a request asks for, in authorization terms: upstream's RequestInfoFactory
 * (k8s.io/apiserver/pkg/endpoints/request/requestinfo.go) turned into {@link RequestAttributes}.
 * Pure: the method, the path and the query decide everything.
 */
import type { UserInfo } from '../objects.js';
import type { RequestAttributes } from './types.js';

/** Subresources of a namespace itself (upstream's namespaceSubresources): namespaces/NS/status is not a resource named status. */
const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);

const METHOD_VERBS: Record<string, string> = { POST: 'create', GET: 'get', HEAD: 'get', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };

function isTrue(v: string | null): boolean {
  return v !== null && /^(true|1)$/i.test(v);
}

/**
 * Attributes of one request. /api/VERSION/… and /apis/GROUP/VERSION/… below the discovery
 * documents are resource requests; everything else (/api, /apis/apps, /openapi/v3, /version,
 * /metrics) is a non-resource request whose verb is the lower-cased method.
 */
export function requestAttributes(user: UserInfo, method: string, path: string, query: URLSearchParams): RequestAttributes {
  const m = method.toUpperCase();
  const nonResource: RequestAttributes = {
    user, verb: m.toLowerCase(), resourceRequest: false, path, apiGroup: '', apiVersion: '', resource: '', subresource: '', namespace: '', name: '',
  };
  const parts = path.split('/').filter((p) => p !== '').map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  let group = '';
  let version: string;
  let rest: string[];
  if (parts[0] === 'api') {
    if (parts.length < 3) return nonResource; // /api, /api/v1
    version = parts[1];
    rest = parts.slice(2);
  } else if (parts[0] === 'apis') {
    if (parts.length < 4) return nonResource; // /apis, /apis/G, /apis/G/V
    group = parts[1];
    version = parts[2];
    rest = parts.slice(3);
  } else {
    return nonResource;
  }
  let verb = METHOD_VERBS[m] ?? m.toLowerCase();
  let namespace = '';
  if (rest[0] === 'namespaces') {
    if (rest.length > 1) {
      namespace = rest[1];
      // namespaces/NS/pods/… names a resource in NS; namespaces/NS[/status|finalize] is the namespace itself.
      if (rest.length > 2 && !NAMESPACE_SUBRESOURCES.has(rest[2])) rest = rest.slice(2);
    }
  }
  const resource = rest[0] ?? '';
  let name = rest[1] ?? '';
  const subresource = rest[2] ?? '';
  if (!name && verb === 'get') verb = isTrue(query.get('watch')) ? 'watch' : 'list';
  else if (!name && verb === 'delete') verb = 'deletecollection';
  if (verb === 'list' || verb === 'watch') {
    // A list or watch narrowed to one object by metadata.name is authorized as that object (upstream 1.x).
    const fs = query.get('fieldSelector');
    if (fs) {
      for (const term of fs.split(',')) {
        const [k, v] = term.split(/==?/);
        if (k?.trim() === 'metadata.name' && v !== undefined && !term.includes('!=')) name = v.trim();
      }
    }
  }
  return { user, verb, resourceRequest: true, path, apiGroup: group, apiVersion: version, resource, subresource, namespace, name };
}
