/**
 * skiff.dev/v1 Timeline: the bounded, long-lived history of one object ("why is my pod not
 * running?"), named `<kind lower-case>.<object name>` in the object's namespace and written by
 * the timeline controller. Entries are oldest first; `diagnosis` is the one-line verdict with
 * the next step. Cluster-scoped objects (nodes) get no Timeline: their condition changes are
 * written into the timelines of the pods on them.
 */
import { fieldErrors, type FieldError } from '../errors.js';
import type { KObject, Obj, ResourceDef } from '../registry.js';
import { age } from '../meta.js';
import { columns, defineResource, wide } from './common.js';

export const TIMELINE_GROUP = 'skiff.dev';
/** Most entries a Timeline may hold (the controller keeps 200; writers of their own get headroom). */
export const TIMELINE_MAX_ENTRIES = 1000;

const str = { type: 'string' };
const OBJECT_META = 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';

/** The OpenAPI v3 schema served for `kubectl explain timelines` and strict field validation. */
export const TIMELINE_SCHEMA: Record<string, unknown> = {
  description: 'Timeline is the ordered history of one object: scheduling attempts, image pulls, container starts and exits, probe failures, back-offs, evictions and node condition changes, kept beyond the lifetime of Events.',
  type: 'object',
  properties: {
    apiVersion: { ...str, description: 'APIVersion defines the versioned schema of this representation of an object.' },
    kind: { ...str, description: 'Kind is a string value representing the REST resource this object represents.' },
    metadata: { description: 'Standard object metadata; the name is <kind lower-case>.<object name>.', default: {}, allOf: [{ $ref: `#/components/schemas/${OBJECT_META}` }] },
    involvedObject: {
      description: 'The object this timeline is about.',
      type: 'object',
      properties: {
        kind: { ...str, description: 'Kind of the object (Pod, Deployment, ReplicaSet).' },
        name: { ...str, description: 'Name of the object.' },
        namespace: { ...str, description: 'Namespace of the object.' },
        uid: { ...str, description: 'UID of the object the newest entries are about.' },
      },
    },
    entries: {
      description: 'What happened to the object, oldest first; repeats are merged and counted. At most 200 are kept.',
      type: 'array',
      items: {
        type: 'object',
        required: ['time', 'type', 'reason', 'message', 'source'],
        properties: {
          time: { ...str, format: 'date-time', description: 'When it happened (the latest occurrence of a merged repeat).' },
          type: { ...str, description: 'Normal or Warning.' },
          reason: { ...str, description: 'Short, machine-readable reason (Scheduled, FailedScheduling, Pulled, Started, BackOff, OOMKilled, …).' },
          message: { ...str, description: 'Human-readable description.' },
          source: { ...str, description: "Who reported it: 'scheduler', 'agent/NODE', 'controller/replicaset', …" },
          count: { type: 'integer', format: 'int32', description: 'How many times it happened, when more than once.' },
        },
      },
    },
    diagnosis: {
      description: 'The one-line verdict on the object as it is now, and what to do next.',
      type: 'object',
      properties: {
        summary: { ...str, description: 'What is wrong (or "healthy").' },
        next: { ...str, description: 'What to do next.' },
      },
    },
  },
};

/** Schema names besides the Timeline's own that its schema refers to. */
export const TIMELINE_SCHEMA_REFS = [OBJECT_META];

function validateTimeline(obj: KObject): FieldError[] {
  const errs: FieldError[] = [];
  const io = obj.involvedObject as Obj | undefined;
  if (io !== undefined && (typeof io !== 'object' || io === null || Array.isArray(io))) errs.push(fieldErrors.invalid('involvedObject', io, 'must be an object'));
  else if (io?.namespace && obj.metadata?.namespace && io.namespace !== obj.metadata.namespace) {
    errs.push(fieldErrors.invalid('involvedObject.namespace', io.namespace, 'does not match metadata.namespace'));
  }
  const entries = obj.entries;
  if (entries === undefined) return errs;
  if (!Array.isArray(entries)) return [...errs, fieldErrors.invalid('entries', entries, 'must be a list')];
  if (entries.length > TIMELINE_MAX_ENTRIES) errs.push(fieldErrors.tooMany('entries', entries.length, TIMELINE_MAX_ENTRIES));
  entries.forEach((e: Obj, i) => {
    const at = `entries[${i}]`;
    if (!e || typeof e !== 'object') return errs.push(fieldErrors.invalid(at, e, 'must be an object'));
    if (!e.time || Number.isNaN(Date.parse(String(e.time)))) errs.push(fieldErrors.invalid(`${at}.time`, e.time, 'must be an RFC 3339 time'));
    if (e.type !== 'Normal' && e.type !== 'Warning') errs.push(fieldErrors.notSupported(`${at}.type`, e.type, ['Normal', 'Warning']));
    if (!e.reason) errs.push(fieldErrors.required(`${at}.reason`));
    if (e.count !== undefined && (!Number.isInteger(e.count) || e.count < 1)) errs.push(fieldErrors.invalid(`${at}.count`, e.count, 'must be a positive integer'));
    return undefined;
  });
  return errs;
}

export const timelines: ResourceDef = defineResource(TIMELINE_GROUP, 'Timeline', 'timelines', true, {
  shortNames: ['tl'],
  categories: ['skiff'],
  strategy: {
    validate: validateTimeline,
    selectableFields: {
      'involvedObject.kind': (o) => (o.involvedObject as Obj | undefined)?.kind ?? '',
      'involvedObject.name': (o) => (o.involvedObject as Obj | undefined)?.name ?? '',
      'involvedObject.uid': (o) => (o.involvedObject as Obj | undefined)?.uid ?? '',
    },
  },
  openApiSchema: TIMELINE_SCHEMA,
  openApiSchemaRefs: TIMELINE_SCHEMA_REFS,
  table: {
    columns: columns('Name', 'Object', { name: 'Entries', type: 'integer' }, 'Last', 'Diagnosis', 'Age', wide('Next')),
    cells: (t: KObject, now) => {
      const io = (t.involvedObject ?? {}) as Obj;
      const entries = (Array.isArray(t.entries) ? t.entries : []) as Obj[];
      const last = entries[entries.length - 1];
      const d = (t.diagnosis ?? {}) as Obj;
      return [t.metadata?.name, `${String(io.kind ?? '').toLowerCase()}/${io.name ?? ''}`, entries.length, last?.reason ?? '', d.summary ?? '', age(t, now), d.next ?? ''];
    },
  },
});
