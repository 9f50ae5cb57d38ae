/**
 * OpenAPI v3 component schemas of the main kinds, expanded from the compact generated data
 * (openapi-schemas.data.ts, made by scripts/openapi-gen.ts) in the shape kube-apiserver publishes:
 * references as `allOf: [{$ref}]`, arrays with `items`, maps with `additionalProperties`,
 * plus the strategic-merge-patch metadata kubectl reads from the schema when it builds
 * client-side apply patches (merge keys and strategies).
 */
import { KIND_SCHEMAS, SCHEMA_DATA } from './openapi-schemas.data.js';

export type Schema = Record<string, unknown>;

const REF = '#/components/schemas/';
const INT_OR_STRING = 'io.k8s.apimachinery.pkg.util.intstr.IntOrString';

/** "Type.field" → [patch strategy, merge key?], as upstream declares them. */
const PATCH_META: Record<string, [string, string?]> = {
  'PodSpec.containers': ['merge', 'name'],
  'PodSpec.initContainers': ['merge', 'name'],
  'PodSpec.ephemeralContainers': ['merge', 'name'],
  'PodSpec.volumes': ['merge,retainKeys', 'name'],
  'PodSpec.imagePullSecrets': ['merge', 'name'],
  'PodSpec.hostAliases': ['merge', 'ip'],
  'PodSpec.topologySpreadConstraints': ['merge', 'topologyKey'],
  'PodSpec.resourceClaims': ['merge,retainKeys', 'name'],
  'PodSpec.schedulingGates': ['merge', 'name'],
  'Container.env': ['merge', 'name'],
  'Container.ports': ['merge', 'containerPort'],
  'Container.volumeMounts': ['merge', 'mountPath'],
  'Container.volumeDevices': ['merge', 'devicePath'],
  'EphemeralContainer.env': ['merge', 'name'],
  'EphemeralContainer.volumeMounts': ['merge', 'mountPath'],
  'EphemeralContainer.volumeDevices': ['merge', 'devicePath'],
  'ServiceSpec.ports': ['merge', 'port'],
  'ObjectMeta.ownerReferences': ['merge', 'uid'],
  'ObjectMeta.finalizers': ['merge'],
  'PodStatus.conditions': ['merge', 'type'],
  'PodStatus.podIPs': ['merge', 'ip'],
  'NodeStatus.conditions': ['merge', 'type'],
  'NodeStatus.addresses': ['merge', 'type'],
  'NodeSpec.podCIDRs': ['merge'],
  'NamespaceStatus.conditions': ['merge', 'type'],
  'DeploymentStatus.conditions': ['merge', 'type'],
  'DeploymentSpec.strategy': ['retainKeys'],
  'ReplicaSetStatus.conditions': ['merge', 'type'],
  'StatefulSetStatus.conditions': ['merge', 'type'],
  'DaemonSetStatus.conditions': ['merge', 'type'],
  'DaemonSetSpec.updateStrategy': ['retainKeys'],
  'JobStatus.conditions': ['merge', 'type'],
  'PersistentVolumeClaimStatus.conditions': ['merge', 'type'],
};

function shortName(schemaName: string): string {
  return schemaName.slice(schemaName.lastIndexOf('.') + 1);
}

/** One encoded field type (see openapi-schemas.data.ts) as a schema; records the names it refers to. */
function typeSchema(t: string, refs: Set<string>): Schema {
  if (t.startsWith('[]')) return { type: 'array', items: { default: defaultOf(t.slice(2)), ...typeSchema(t.slice(2), refs) } };
  if (t.startsWith('map[]')) return { type: 'object', additionalProperties: { default: defaultOf(t.slice(5)), ...typeSchema(t.slice(5), refs) } };
  if (t.startsWith('#')) {
    refs.add(t.slice(1));
    return { allOf: [{ $ref: REF + t.slice(1) }] };
  }
  if (t === 'IntOrString') {
    refs.add(INT_OR_STRING);
    return { allOf: [{ $ref: REF + INT_OR_STRING }] };
  }
  if (t === 'object') return { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
  const [type, format] = t.split(':');
  return format ? { type, format } : { type };
}

function defaultOf(t: string): unknown {
  if (t.startsWith('#')) return {};
  if (t === 'string') return '';
  return undefined;
}

interface Expanded {
  schema: Schema;
  refs: Set<string>;
}

let expanded: Map<string, Expanded> | undefined;

function expandAll(): Map<string, Expanded> {
  if (expanded) return expanded;
  expanded = new Map();
  for (const [name, data] of Object.entries(SCHEMA_DATA)) {
    const refs = new Set<string>();
    const properties: Record<string, Schema> = {};
    for (const [field, [type, description]] of Object.entries(data.f)) {
      const s = typeSchema(type, refs);
      // Ref fields carry no description of their own in the source models: use the type's.
      const desc = description ?? (type.startsWith('#') ? SCHEMA_DATA[type.slice(1)]?.d : undefined);
      const prop: Schema = { ...(desc ? { description: desc } : {}), ...s };
      if (type.startsWith('#')) prop.default = {};
      const meta = PATCH_META[`${shortName(name)}.${field}`];
      if (meta) {
        prop['x-kubernetes-patch-strategy'] = meta[0];
        if (meta[1]) prop['x-kubernetes-patch-merge-key'] = meta[1];
      }
      properties[field] = JSON.parse(JSON.stringify(prop)) as Schema; // drops undefined defaults
    }
    const schema: Schema = { description: data.d, type: 'object', ...(data.r ? { required: data.r } : {}), properties };
    expanded.set(name, { schema, refs });
  }
  expanded.set(INT_OR_STRING, {
    schema: {
      description:
        'IntOrString is a type that can hold an int32 or a string.  When used in JSON or YAML marshalling and unmarshalling, it produces or consumes the inner type.  This allows you to have, for example, a JSON field that can accept a name or number.',
      type: 'string',
      format: 'int-or-string',
    },
    refs: new Set(),
  });
  return expanded;
}

/** The schema name of a kind ("apps/v1", "Deployment"), if we publish one. */
export function kindSchemaName(groupVersion: string, kind: string): string | undefined {
  return KIND_SCHEMAS[`${groupVersion}/${kind}`];
}

/** The named schemas plus every schema they refer to, transitively. */
export function schemaClosure(names: Iterable<string>): Record<string, Schema> {
  const all = expandAll();
  const out: Record<string, Schema> = {};
  const queue = [...names];
  while (queue.length) {
    const n = queue.pop()!;
    if (out[n]) continue;
    const e = all.get(n);
    if (!e) continue;
    out[n] = e.schema;
    queue.push(...e.refs);
  }
  return out;
}
