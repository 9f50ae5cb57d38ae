/**
 * Code generator (not part of the product): writes src/apiserver/openapi-schemas.data.ts, the
 * field names, types, required fields and descriptions of the main kinds and every type
 * reachable from them, read from @kubernetes/client-node's generated models (a devDependency,
 * hence a committed output). Run it from the repository root after upgrading client-node or
 * adding a kind to KINDS below, then commit the regenerated file:
 *
 *   npx tsx scripts/openapi-gen.ts
 *
 * The output is compact; openapi-schemas.ts expands it into OpenAPI v3 component schemas.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const MODELS = fileURLToPath(new URL('../node_modules/@kubernetes/client-node/dist/gen/models/', import.meta.url));
const OUT = fileURLToPath(new URL('../src/apiserver/openapi-schemas.data.ts', import.meta.url));

/** Top-level kinds: [group, version, client-node class]. Order matters: a nested type belongs to the first group that reaches it. */
const KINDS: [string, string, string, boolean?][] = [
  ['', 'v1', 'V1Pod'],
  ['', 'v1', 'V1PodTemplateSpec', true], // nested only: owned by core, as upstream
  ['', 'v1', 'V1Service'],
  ['', 'v1', 'V1ConfigMap'],
  ['', 'v1', 'V1Secret'],
  ['', 'v1', 'V1Namespace'],
  ['', 'v1', 'V1Node'],
  ['', 'v1', 'V1ServiceAccount'],
  ['', 'v1', 'V1PersistentVolumeClaim'],
  ['apps', 'v1', 'V1Deployment'],
  ['apps', 'v1', 'V1ReplicaSet'],
  ['apps', 'v1', 'V1StatefulSet'],
  ['apps', 'v1', 'V1DaemonSet'],
  ['batch', 'v1', 'V1Job'],
  ['batch', 'v1', 'V1CronJob'],
];

const META = new Set(['ObjectMeta', 'ListMeta', 'LabelSelector', 'LabelSelectorRequirement', 'ManagedFieldsEntry', 'OwnerReference', 'Condition']);

interface Attr {
  name: string;
  baseName: string;
  type: string;
  format: string;
}

function attrs(cls: string): Attr[] {
  const js = readFileSync(join(MODELS, `${cls}.js`), 'utf8');
  const m = new RegExp(`${cls}\\.attributeTypeMap = (\\[[\\s\\S]*?\\]);`).exec(js);
  if (!m) throw new Error(`no attributeTypeMap in ${cls}`);
  return JSON.parse(m[1]) as Attr[];
}

function unescape(s: string): string {
  return s.replace(/\\(["'\\])/g, '$1').trim();
}

/** Class description, per-property descriptions and required properties, from the .d.ts. */
function docs(cls: string): { desc: string; fields: Map<string, string>; required: string[] } {
  const dts = readFileSync(join(MODELS, `${cls}.d.ts`), 'utf8');
  const head = /\/\*\*\n\* ([\s\S]*?)\n\*\/\nexport declare class/.exec(dts);
  const fields = new Map<string, string>();
  const required: string[] = [];
  const body = dts.slice(dts.indexOf('export declare class'));
  let comment: string[] | undefined;
  let pending = '';
  for (const line of body.split('\n').slice(1)) {
    const t = line.trim();
    if (t === '/**') comment = [];
    else if (t === '*/') {
      pending = (comment ?? []).join(' ');
      comment = undefined;
    } else if (comment) comment.push(t.replace(/^\* ?/, ''));
    else {
      const m = /^'([^']+)'(\??): /.exec(t);
      if (m) {
        if (pending) fields.set(m[1], unescape(pending));
        if (!m[2]) required.push(m[1]);
      }
      pending = '';
    }
  }
  return { desc: head ? unescape(head[1].replace(/\n\* ?/g, ' ')) : '', fields, required };
}

function shortName(cls: string): { version: string; name: string } {
  const m = /^(?:[A-Z][a-z]+)?(V\d+(?:alpha\d+|beta\d+)?)([A-Z].*)$/.exec(cls);
  if (!m) throw new Error(`unexpected class ${cls}`);
  return { version: m[1].toLowerCase(), name: m[2] };
}

const owner = new Map<string, string>(); // class → schema name
const order: string[] = [];

function schemaName(cls: string, group: string): string {
  const { version, name } = shortName(cls);
  if (META.has(name)) return `io.k8s.apimachinery.pkg.apis.meta.v1.${name}`;
  return `io.k8s.api.${group || 'core'}.${version}.${name}`;
}

/** Encodes one attribute's type: string, integer:int32, []X, map[]X, #schema, … */
function encode(a: Attr, group: string, queue: string[]): string {
  const one = (t: string, format: string): string => {
    if (t === 'string') return format && format !== 'int-or-string' ? `string:${format}` : 'string';
    if (t === 'number') return format === 'double' ? 'number:double' : format ? `integer:${format}` : 'number';
    if (t === 'boolean') return 'boolean';
    if (t === 'Date') return `string:${format || 'date-time'}`;
    if (t === 'any') return 'object';
    if (t === 'IntOrString') return 'IntOrString';
    let m = /^Array<(.+)>$/.exec(t);
    if (m) return `[]${one(m[1], format)}`;
    m = /^\{ \[key: string\]: (.+); \}$/.exec(t);
    if (m) return `map[]${one(m[1], format)}`;
    if (/^(?:[A-Z][a-z]+)?V\d/.test(t)) {
      if (!owner.has(t)) {
        owner.set(t, schemaName(t, group));
        queue.push(t);
      }
      return `#${owner.get(t)}`;
    }
    throw new Error(`unknown type ${t}`);
  };
  return one(a.type, a.format);
}

type Out = { d: string; r?: string[]; f: Record<string, [string, string] | [string]> };
const out: Record<string, Out> = {};
const kinds: Record<string, string> = {};

for (const [group, version, cls, nestedOnly] of KINDS) {
  const top = schemaName(cls, group);
  owner.set(cls, top);
  if (!nestedOnly) kinds[`${group ? `${group}/` : ''}${version}/${shortName(cls).name}`] = top;
  const queue = [cls];
  while (queue.length) {
    const c = queue.shift()!;
    const name = owner.get(c)!;
    if (out[name]) continue;
    order.push(name);
    const doc = docs(c);
    const f: Out['f'] = {};
    for (const a of attrs(c)) {
      const t = encode(a, group, queue);
      const d = doc.fields.get(a.name) ?? '';
      f[a.baseName] = d ? [t, d] : [t];
    }
    const required = doc.required.filter((r) => f[attrs(c).find((a) => a.name === r)?.baseName ?? r]).map((r) => attrs(c).find((a) => a.name === r)!.baseName);
    out[name] = { d: doc.desc, ...(required.length ? { r: required } : {}), f };
  }
}

const sorted: Record<string, Out> = {};
for (const k of Object.keys(out).sort()) sorted[k] = out[k];

const text = `// Generated by scripts/openapi-gen.ts from @kubernetes/client-node's models; do not edit.
// Field types: string[:format], integer:int32|int64, number[:double], boolean, object (anything),
// IntOrString, []T (array), map[]T (map of string to T), #name (another schema here).
/* eslint-disable */

export interface SchemaData {
  /** description */
  d: string;
  /** required fields */
  r?: string[];
  /** field → [type, description?] */
  f: Record<string, [string, string] | [string]>;
}

/** "group/version/Kind" (core: "v1/Kind") → schema name. */
export const KIND_SCHEMAS: Record<string, string> = ${JSON.stringify(kinds, null, 2)};

export const SCHEMA_DATA: Record<string, SchemaData> = {
${Object.entries(sorted)
  .map(([k, v]) => {
    const fields = Object.entries(v.f).map(([n, t]) => `    ${JSON.stringify(n)}: ${JSON.stringify(t)},`);
    return `  ${JSON.stringify(k)}: {\n    d: ${JSON.stringify(v.d)},${v.r ? `\n    r: ${JSON.stringify(v.r)},` : ''}\n    f: {\n  ${fields.join('\n  ')}\n    },\n  },`;
  })
  .join('\n')}
};
`;
writeFileSync(OUT, text);
console.log(`wrote ${Object.keys(sorted).length} schemas, ${text.length} bytes to ${OUT}`);
