/**
 * Typed decoding of request bodies against the OpenAPI v3 schemas the server publishes, as
 * kube-apiserver's JSON decoding into Go structs does it: a value of the wrong type is a 400
 * naming the Go struct field ("json: cannot unmarshal string into Go struct field
 * DeploymentSpec.spec.replicas of type int32"); fields the schema does not declare are
 * dropped and, per `fieldValidation`, reported (Strict: 400 "strict decoding error: unknown
 * field …", Warn: a Warning header, Ignore: nothing). Each schema is walked once into a tree
 * of closures (compileSchema), so a request costs one pass over its own object.
 */
import { badRequest, fieldErrors, invalid } from '../api/errors.js';
import type { KObject, ResourceDef } from '../api/registry.js';
import { groupVersion } from '../api/registry.js';
import { kindSchemaName, schemaClosure, type Schema } from './openapi-schemas.js';
import { writeOptionsKind, type ApiRequest, type ApiResponse } from './request.js';
import type { ResourcePath } from './routes.js';

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

/** What one pass found: unknown field paths (already removed from the object). */
export interface FieldCheck {
  unknown: string[];
}

/** A compiled schema node: checks `v` in place (removing unknown fields), throws TypeMismatch. */
export type Checker = (v: unknown, c: FieldCheck, path: string, goPath: string) => void;

/** A value whose JSON type does not fit the Go type; `field` is the Go struct field path. */
export class TypeMismatch extends Error {
  constructor(
    readonly value: string,
    readonly struct: string,
    readonly field: string,
    readonly goType: string,
  ) {
    super(`json: cannot unmarshal ${value} into Go struct field ${struct}.${field} of type ${goType}`);
  }
}

const REF = '#/components/schemas/';
const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

function describe(v: unknown, wantsInt: boolean): string {
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return wantsInt ? `number ${v}` : 'number';
  if (typeof v === 'boolean') return 'bool';
  return typeof v; // string, object
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function join(path: string, field: string): string {
  return path ? `${path}.${field}` : field;
}

/** "io.k8s.api.apps.v1.DeploymentSpec" → "v1.DeploymentSpec", the Go type as the decoder prints it. */
function goTypeName(schemaName: string): string {
  const parts = schemaName.split('.');
  return parts.slice(-2).join('.');
}

const ACCEPT_ANY: Checker = () => {};

/**
 * Compiles schemas in the expanded OpenAPI form (properties, items, additionalProperties,
 * `allOf: [{$ref}]`, int-or-string, x-kubernetes-preserve-unknown-fields) into checkers.
 * `named` resolves references; compiled references are shared (and may be recursive).
 */
export class SchemaCompiler {
  private readonly compiled = new Map<string, { check: Checker; goType: string }>();

  constructor(private readonly named: Record<string, Schema>) {}

  /** The checker of a whole object whose Go struct is `structName`. */
  root(schema: Schema, structName: string): Checker {
    return this.node(schema, structName, structName).check;
  }

  private ref(name: string): { check: Checker; goType: string } {
    let c = this.compiled.get(name);
    if (c) return c;
    const schema = this.named[name];
    if (!schema) return { check: ACCEPT_ANY, goType: goTypeName(name) };
    let real: Checker = ACCEPT_ANY;
    c = { check: (v, fc, p, g) => real(v, fc, p, g), goType: goTypeName(name) };
    this.compiled.set(name, c);
    const struct = name.slice(name.lastIndexOf('.') + 1);
    real = this.node(schema, struct, c.goType).check;
    // Replace the indirection by the real closure for later users.
    c.check = real;
    return c;
  }

  /** `struct` names the Go struct that owns the properties of an object node. */
  private node(s: Schema, struct: string, goType?: string): { check: Checker; goType: string } {
    const allOf = s.allOf as Schema[] | undefined;
    const $ref = (s.$ref as string | undefined) ?? (allOf?.length === 1 ? (allOf[0].$ref as string | undefined) : undefined);
    if ($ref?.startsWith(REF)) return this.ref($ref.slice(REF.length));
    if (s['x-kubernetes-preserve-unknown-fields'] === true && !s.properties) return { check: ACCEPT_ANY, goType: 'interface {}' };
    if (s['x-kubernetes-int-or-string'] === true || s.format === 'int-or-string') return { check: intOrString(), goType: 'intstr.IntOrString' };
    const type = s.type as string | undefined;
    const format = s.format as string | undefined;
    if (type === 'string') return { check: scalar((v) => typeof v === 'string', false, 'string'), goType: 'string' };
    if (type === 'boolean') return { check: scalar((v) => typeof v === 'boolean', false, 'bool'), goType: 'bool' };
    if (type === 'number') return { check: scalar((v) => typeof v === 'number', false, 'float64'), goType: 'float64' };
    if (type === 'integer') {
      const int32 = format === 'int32';
      const ok = int32 ? (v: unknown) => Number.isInteger(v) && (v as number) >= INT32_MIN && (v as number) <= INT32_MAX : (v: unknown) => Number.isSafeInteger(v);
      const t = int32 ? 'int32' : 'int64';
      return { check: scalar(ok, true, t), goType: t };
    }
    if (type === 'array') {
      const item = s.items ? this.node(s.items as Schema, struct) : { check: ACCEPT_ANY, goType: 'interface {}' };
      const goT = `[]${item.goType}`;
      const itemCheck = item.check;
      return {
        goType: goT,
        check: (v, c, path, goPath) => {
          if (v === null || v === undefined) return;
          if (!Array.isArray(v)) throw new TypeMismatch(describe(v, false), '', goPath, goT);
          if (itemCheck === ACCEPT_ANY) return;
          for (let i = 0; i < v.length; i++) itemCheck(v[i], c, `${path}[${i}]`, goPath);
        },
      };
    }
    const props = s.properties as Record<string, Schema> | undefined;
    if (props) return { check: this.object(props, struct, goType ?? struct), goType: goType ?? struct };
    const ap = s.additionalProperties;
    if (isPlainObject(ap)) {
      const value = this.node(ap as Schema, struct);
      const goT = `map[string]${value.goType}`;
      const valueCheck = value.check;
      return {
        goType: goT,
        check: (v, c, path, goPath) => {
          if (v === null || v === undefined) return;
          if (!isPlainObject(v)) throw new TypeMismatch(describe(v, false), '', goPath, goT);
          if (valueCheck === ACCEPT_ANY) return;
          for (const k of Object.keys(v)) valueCheck(v[k], c, join(path, k), goPath);
        },
      };
    }
    if (type === 'object') return { check: objectOnly(), goType: 'map[string]interface {}' };
    return { check: ACCEPT_ANY, goType: 'interface {}' };
  }

  private object(props: Record<string, Schema>, struct: string, goType: string): Checker {
    const fields = new Map<string, Checker>();
    const goTypes = new Map<string, string>();
    // Compile lazily per field, after all named schemas are registered (recursion safe).
    const pending = Object.entries(props);
    let ready = false;
    const prepare = () => {
      for (const [k, p] of pending) {
        const n = this.node(p, struct);
        fields.set(k, n.check);
        goTypes.set(k, n.goType);
      }
      ready = true;
    };
    return (v, c, path, goPath) => {
      if (v === null || v === undefined) return;
      if (!ready) prepare();
      if (!isPlainObject(v)) throw new TypeMismatch(describe(v, false), '', goPath, goType);
      for (const k in v) {
        const f = fields.get(k);
        if (f === undefined) {
          c.unknown.push(join(path, k));
          delete v[k];
          continue;
        }
        if (f !== ACCEPT_ANY) {
          try {
            f(v[k], c, join(path, k), goPath ? `${goPath}.${k}` : k);
          } catch (err) {
            // The Go struct named in the message is the one that declares the field.
            if (err instanceof TypeMismatch && err.struct === '' && err.field === (goPath ? `${goPath}.${k}` : k)) {
              throw new TypeMismatch(err.value, struct, err.field, err.goType);
            }
            throw err;
          }
        }
      }
    };
  }
}

function scalar(ok: (v: unknown) => boolean, wantsInt: boolean, goType: string): Checker {
  return (v, _c, _path, goPath) => {
    if (v === null || v === undefined || ok(v)) return;
    throw new TypeMismatch(describe(v, wantsInt), '', goPath, goType);
  };
}

function intOrString(): Checker {
  return (v, _c, _path, goPath) => {
    if (v === null || v === undefined || typeof v === 'string') return;
    if (Number.isInteger(v) && (v as number) >= INT32_MIN && (v as number) <= INT32_MAX) return;
    throw new TypeMismatch(describe(v, true), '', goPath, 'intstr.IntOrString');
  };
}

function objectOnly(): Checker {
  return (v, _c, _path, goPath) => {
    if (v === null || v === undefined || isPlainObject(v)) return;
    throw new TypeMismatch(describe(v, false), '', goPath, 'map[string]interface {}');
  };
}

const byDef = new WeakMap<ResourceDef, Map<string, Checker | null>>();

/** The compiled checker of a resource at a version, or null when the server has no schema for it. */
export function checkerFor(def: ResourceDef, version: string): Checker | null {
  let perVersion = byDef.get(def);
  if (!perVersion) byDef.set(def, (perVersion = new Map()));
  let c = perVersion.get(version);
  if (c !== undefined) return c;
  const known = kindSchemaName(groupVersion(def.group, version), def.kind);
  if (known) {
    const named = schemaClosure([known]);
    c = new SchemaCompiler(named).root(named[known], def.kind);
  } else if (def.openApiSchema) {
    c = new SchemaCompiler(schemaClosure(def.openApiSchemaRefs ?? [])).root(def.openApiSchema, def.kind);
  } else c = null;
  perVersion.set(version, c);
  return c;
}

const MODES: readonly string[] = ['Ignore', 'Strict', 'Warn'];

/** The `fieldValidation` query parameter; absent means Warn (upstream's server-side default). */
export function fieldValidationMode(method: string, value: string | null): FieldValidation {
  if (value === null || value === '') return 'Warn';
  if (MODES.includes(value)) return value as FieldValidation;
  const kind = writeOptionsKind(method) ?? 'CreateOptions';
  throw invalid('meta.k8s.io', kind, '', [fieldErrors.notSupported('fieldValidation', value, ['', ...MODES])]);
}

/**
 * Checks a decoded body of `def` at `version` in place: type errors and (Strict) unknown or
 * duplicate fields throw 400; unknown fields are removed in every mode. Returns the warnings
 * to send (Warn mode).
 */
export function checkFields(def: ResourceDef, version: string, obj: KObject, mode: FieldValidation, duplicates: string[] = []): string[] {
  const check = checkerFor(def, version);
  const prefix = `${def.kind} in version "${version}" cannot be handled as a ${def.kind}: `;
  const found: FieldCheck = { unknown: [] };
  if (check) {
    try {
      check(obj, found, '', '');
    } catch (err) {
      if (err instanceof TypeMismatch) throw badRequest(prefix + err.message);
      throw err;
    }
  }
  if (mode === 'Ignore') return [];
  const problems = [...found.unknown.map((p) => `unknown field ${JSON.stringify(p)}`), ...duplicates.map((p) => `duplicate field ${JSON.stringify(p)}`)];
  if (!problems.length) return [];
  if (mode === 'Strict') throw badRequest(`${prefix}strict decoding error: ${problems.join(', ')}`);
  return problems;
}

/** The Warning header value for warnings (RFC 7234 form, code 299, as kube-apiserver sends). */
export function warningHeader(warnings: string[]): string {
  return warnings.map((w) => `299 - ${JSON.stringify(w)}`).join(', ');
}

/**
 * Paths of keys that occur twice in one JSON object of `text` ("spec.replicas",
 * "spec.containers[0].name"), as the strict decoder reports them. JSON.parse keeps the last
 * value silently, so this is a separate scan over already-valid JSON: strings, and the
 * object and array nesting, nothing else.
 */
export function duplicateFields(text: string): string[] {
  const out: string[] = [];
  // One frame per open object or array: its path, its keys (objects) or next index (arrays).
  const paths: string[] = [];
  const keys: (string[] | null)[] = [];
  const index: number[] = [];
  let path = '';
  let lastKey = '';
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 0x22 /* " */) {
      const start = i + 1;
      let escaped = false;
      for (i++; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (c === 0x5c) {
          escaped = true;
          i++;
        } else if (c === 0x22) break;
      }
      if (expectKey) {
        const raw = text.slice(start, i);
        lastKey = escaped ? (JSON.parse(`"${raw}"`) as string) : raw;
        const seen = keys[keys.length - 1]!;
        if (seen.includes(lastKey)) out.push(path ? `${path}.${lastKey}` : lastKey);
        else seen.push(lastKey);
        expectKey = false;
      }
    } else if (ch === 0x7b /* { */ || ch === 0x5b /* [ */) {
      const top = keys.length - 1;
      let child = path;
      if (top >= 0) child = keys[top] ? (path ? `${path}.${lastKey}` : lastKey) : `${path}[${index[top]}]`;
      paths.push(path);
      path = child;
      keys.push(ch === 0x7b ? [] : null);
      index.push(0);
      expectKey = ch === 0x7b;
    } else if (ch === 0x7d /* } */ || ch === 0x5d /* ] */) {
      keys.pop();
      index.pop();
      path = paths.pop() ?? '';
      expectKey = false;
    } else if (ch === 0x2c /* , */) {
      const top = keys.length - 1;
      if (top >= 0) {
        if (keys[top]) expectKey = true;
        else index[top]++;
      }
    }
  }
  return out;
}

function isJson(req: ApiRequest, patch: boolean): boolean {
  const ct = (req.headers['content-type'] ?? 'application/json').split(';')[0].trim().toLowerCase();
  if (patch) return ct === 'application/merge-patch+json' || ct === 'application/strategic-merge-patch+json';
  return ct === 'application/json' || ct === '' || ct === '*/*';
}

/** Duplicate keys of a JSON body (create, update, merge patches), unless Ignore. */
export function bodyDuplicates(req: ApiRequest, mode: FieldValidation, patch: boolean): string[] {
  if (mode === 'Ignore' || !req.body?.length || !isJson(req, patch)) return [];
  return duplicateFields(req.body.toString('utf8'));
}

/**
 * The field check of a write request's object (the decoded body, or the result of a patch):
 * protobuf bodies are typed already and skipped. Returns the warnings to send.
 */
export function checkRequestObject(req: ApiRequest, rp: ResourcePath, obj: KObject, patch = false): string[] {
  const mode = fieldValidationMode(req.method, req.query.get('fieldValidation'));
  const ct = req.headers['content-type'] ?? '';
  if (ct.startsWith('application/vnd.kubernetes.protobuf')) return [];
  return checkFields(rp.def, rp.version, obj, mode, bodyDuplicates(req, mode, patch));
}

/** Adds the Warning header of `warnings` (if any) to a response. */
export function withWarnings(res: ApiResponse, warnings: readonly string[]): ApiResponse {
  if (warnings.length) res.headers = { ...res.headers, warning: warningHeader([...warnings]) };
  return res;
}
