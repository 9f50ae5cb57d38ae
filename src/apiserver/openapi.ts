/**
 * OpenAPI v3 as far as kubectl needs it: a root listing one document per group/version
 * (with a content hash, since kubectl caches by URL), and per-GV documents that declare
 * the PATCH operations with their group/version/kind, so client-side apply and default
 * `--validate=strict` work. The main kinds carry full schemas (openapi-schemas.ts) with
 * their nested types, so `kubectl explain` can walk them; other kinds are open objects.
 */
import { createHash } from 'node:crypto';
import { groupVersion, type Registry } from '../api/registry.js';
import { kindSchemaName, schemaClosure } from './openapi-schemas.js';

function gvPath(group: string, version: string): string {
  return group ? `apis/${group}/${version}` : `api/${version}`;
}

export class OpenApi {
  private readonly docs = new Map<string, string>();
  private readonly root: string;

  constructor(registry: Registry, schemas: Record<string, unknown> = {}) {
    const paths: Record<string, { serverRelativeURL: string }> = {};
    for (const g of registry.groups()) {
      for (const version of g.versions) {
        const doc = this.gvDocument(registry, g.name, version, schemas);
        const text = JSON.stringify(doc);
        const key = gvPath(g.name, version);
        this.docs.set(key, text);
        const hash = createHash('sha512').update(text).digest('hex').slice(0, 128).toUpperCase();
        paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${hash}` };
      }
    }
    this.root = JSON.stringify({ paths });
  }

  rootDocument(): string {
    return this.root;
  }

  /** The document for "apis/apps/v1" or "api/v1". */
  document(path: string): string | undefined {
    return this.docs.get(path);
  }

  private gvDocument(registry: Registry, group: string, version: string, schemas: Record<string, unknown>) {
    const paths: Record<string, unknown> = {};
    const components: Record<string, unknown> = {};
    const base = group ? `/apis/${group}/${version}` : `/api/${version}`;
    for (const d of registry.inGroupVersion(group, version)) {
      const gvk = { group, version, kind: d.kind };
      const item = d.namespaced ? `${base}/namespaces/{namespace}/${d.plural}/{name}` : `${base}/${d.plural}/{name}`;
      const gv = groupVersion(group, version);
      const known = kindSchemaName(gv, d.kind);
      const schemaName = known ?? `io.k8s.${group || 'core'}.${version}.${d.kind}`;
      const ref = { $ref: `#/components/schemas/${schemaName}` };
      const params = [
        { name: 'fieldValidation', in: 'query', schema: { type: 'string', uniqueItems: true } },
        { name: 'fieldManager', in: 'query', schema: { type: 'string', uniqueItems: true } },
        { name: 'dryRun', in: 'query', schema: { type: 'string', uniqueItems: true } },
      ];
      const op = (verb: string) => ({
        'x-kubernetes-action': verb,
        'x-kubernetes-group-version-kind': gvk,
        parameters: params,
        responses: { '200': { content: { 'application/json': { schema: ref } } } },
      });
      paths[item] = { get: op('get'), put: op('put'), patch: op('patch'), delete: op('delete') };
      const coll = d.namespaced ? `${base}/namespaces/{namespace}/${d.plural}` : `${base}/${d.plural}`;
      paths[coll] = { get: op('list'), post: op('post') };
      let schema = schemas[`${gv}/${d.kind}`] as Record<string, unknown> | undefined;
      if (!schema && known) {
        const closure = schemaClosure([known]);
        schema = closure[known];
        Object.assign(components, closure);
      }
      if (!schema && d.openApiSchema) {
        schema = d.openApiSchema;
        Object.assign(components, schemaClosure(d.openApiSchemaRefs ?? []));
      }
      schema ??= { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
      components[schemaName] = { ...schema, 'x-kubernetes-group-version-kind': [gvk] };
    }
    return {
      openapi: '3.0.0',
      info: { title: 'Kubernetes', version: 'v1.32.0' },
      paths,
      components: { schemas: components },
    };
  }
}
