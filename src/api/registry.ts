/**
 * The resource registry: one entry per resource drives REST routing, discovery, OpenAPI,
 * table printing, defaulting and validation. Handlers are generic over these entries.
 */
import type { FieldError } from './errors.js';
import type { NameRule } from './validation.js';

/**
 * A loosely typed JSON object, for reading nested fields of objects whose shape the
 * code checks as it goes (specs, statuses, list items).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Obj = Record<string, any>;

/** Any Kubernetes object as JSON. */
export interface KObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  [field: string]: unknown;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  managedFields?: unknown[];
  selfLink?: string;
  [field: string]: unknown;
}

/** A column of a server-side Table, as metav1.TableColumnDefinition. */
export interface TableColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  format?: string;
  description?: string;
  /** 1 = shown only with -o wide. */
  priority?: number;
}

export interface TableConvertor {
  columns: TableColumn[];
  /** Cells for one object, Name first; `now` is ms since epoch (for ages). */
  cells(obj: KObject, now: number): unknown[];
}

/** How the scale subresource maps onto the object. */
export interface ScaleSpec {
  specReplicasPath: string[];
  statusReplicasPath: string[];
  /** Path to the label selector (a metav1.LabelSelector) rendered into status.selector. */
  labelSelectorPath: string[];
}

/** Per-resource behaviour, as upstream's rest strategies. All hooks may mutate `obj`. */
export interface Strategy {
  /** Fill in defaults (runs on create and update, like the defaulting in decoding). */
  defaults?(obj: KObject): void;
  /** Adjust a new object before validation (e.g. reset status). */
  prepareForCreate?(obj: KObject): void;
  /** Adjust an update before validation; `old` is the stored object (read-only). */
  prepareForUpdate?(obj: KObject, old: KObject): void;
  validate?(obj: KObject): FieldError[];
  validateUpdate?(obj: KObject, old: KObject): FieldError[];
  /** Field-selector values this resource supports besides metadata.name/namespace. */
  selectableFields?: Record<string, (obj: KObject) => string | undefined>;
  /** Bump metadata.generation when anything but metadata and status changes. */
  tracksGeneration?: boolean;
  /** The object has a status that only the status subresource changes. */
  hasStatus?: boolean;
  /**
   * Seconds of graceful termination a DELETE grants (0 = remove at once), as upstream's
   * CheckGracefulDelete; `requested` is DeleteOptions.gracePeriodSeconds. Default: 0.
   */
  checkGracefulDelete?(obj: KObject, requested: number | undefined): number;
  /**
   * Finalizers held outside metadata.finalizers that also keep a deleted object
   * (a namespace's spec.finalizers). Default: none.
   */
  deletionFinalizers?(obj: KObject): string[];
  /** Marks an object whose deletion has to wait (namespace phase Terminating); returns whether it changed `obj`. */
  prepareForDelete?(obj: KObject): boolean;
  /** DELETE answers with the deleted object rather than a Success Status (pods), as upstream's ReturnDeletedObject. */
  returnDeletedObject?: boolean;
}

/** Converts between the stored version and another served version of the same resource. */
export interface VersionConversion {
  fromStorage(obj: KObject): KObject;
  toStorage(obj: KObject): KObject;
}

export interface ResourceDef {
  group: string;
  /** Served versions, preferred (= storage) first. */
  versions: string[];
  kind: string;
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  /** Subresource names: status, scale, binding, eviction, log, exec, attach, portforward, finalize, proxy. */
  subresources?: string[];
  scale?: ScaleSpec;
  strategy: Strategy;
  table?: TableConvertor;
  /** Conversions for non-storage versions, keyed by version. */
  conversions?: Record<string, VersionConversion>;
  /** Verbs for discovery; default is the full set. */
  verbs?: string[];
  /** Which rule object names follow; default DNS-1123 subdomain. */
  nameRule?: NameRule;
  /**
   * Creating this resource is a write to a subresource of another object named by the body's
   * metadata.name: POST namespaces/NS/bindings is POST namespaces/NS/pods/NAME/binding.
   */
  createAs?: { plural: string; subresource: string };
  /** A create-only review (TokenReview, SubjectAccessReview): answered by the API server, never stored. */
  review?: boolean;
  /**
   * The OpenAPI v3 schema of a kind skiff defines itself (no upstream model to generate it from),
   * and the names of the generated schemas it refers to (ObjectMeta).
   */
  openApiSchema?: Record<string, unknown>;
  openApiSchemaRefs?: string[];
}

export const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

/** "apps/v1" or "v1". */
export function groupVersion(group: string, version: string): string {
  return group ? `${group}/${version}` : version;
}

/** Splits "apps/v1" into group and version ("v1" → core). */
export function parseApiVersion(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.indexOf('/');
  return i < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}

/** All resources, looked up by group+plural, by kind, or by any name a user may type. */
export class Registry {
  private readonly byGroupResource = new Map<string, ResourceDef>();
  private readonly byGroupKind = new Map<string, ResourceDef>();
  readonly all: ResourceDef[] = [];

  add(def: ResourceDef): this {
    this.all.push(def);
    this.byGroupResource.set(`${def.group}/${def.plural}`, def);
    this.byGroupKind.set(`${def.group}/${def.kind}`, def);
    return this;
  }

  /** The resource served at /apis/{group}/{version}/{plural}, if that version is served. */
  lookup(group: string, version: string, plural: string): ResourceDef | undefined {
    const def = this.byGroupResource.get(`${group}/${plural}`);
    return def && def.versions.includes(version) ? def : undefined;
  }

  byKind(group: string, kind: string): ResourceDef | undefined {
    return this.byGroupKind.get(`${group}/${kind}`);
  }

  /** Groups in discovery order: core first, then as registered. */
  groups(): { name: string; versions: string[] }[] {
    const out = new Map<string, string[]>();
    for (const d of this.all) {
      const vs = out.get(d.group) ?? [];
      for (const v of d.versions) if (!vs.includes(v)) vs.push(v);
      out.set(d.group, vs);
    }
    return [...out].map(([name, versions]) => ({ name, versions }));
  }

  /** Resources served in one group/version. */
  inGroupVersion(group: string, version: string): ResourceDef[] {
    return this.all.filter((d) => d.group === group && d.versions.includes(version));
  }
}
