/**
 * The API server's codec: decoding request bodies (JSON, YAML, protobuf) into objects of the
 * requested resource and version, delete options, and encoding objects, errors and version
 * conversions into responses. Content negotiation for tables lives in table.ts.
 */
import YAML from 'yaml';
import { StatusError, badRequest, fieldErrors, internalError, invalid, requestEntityTooLarge, unsupportedMediaType, type Status } from '../api/errors.js';
import { groupVersion, parseApiVersion, type KObject } from '../api/registry.js';
import { clone } from '../api/meta.js';
import { decodeProtobufObject } from './protobuf.js';
import { checkRequestObject } from './field-validation.js';
import { jsonResponse, queryBool, writeOptionsKind, type ApiRequest, type ApiResponse } from './request.js';
import type { DeleteOptions } from './objects.js';
import type { ResourcePath } from './routes.js';
import type { CachedObject } from './watch-cache.js';
import type { IncludeObject } from './table.js';

/** The largest request body the server reads (upstream's limit is 3 MiB as well). */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;

const MAX_YAML_DEPTH = 300;

/**
 * The yaml parser recurses per nesting level; near the stack limit V8 may abort the whole
 * process (a fatal "RegExpCompiler allocation failed") instead of throwing. Refuse deep
 * documents first: flow brackets, and block indentation plus leading "- " per line.
 */
export function checkYamlDepth(body: Buffer): void {
  let flow = 0;
  let lineStart = true;
  let indent = 0;
  for (let i = 0; i < body.length; i++) {
    const ch = body[i];
    if (ch === 0x0a) {
      lineStart = true;
      indent = 0;
      continue;
    }
    if (lineStart) {
      if (ch === 0x20 || ch === 0x09) indent++;
      else if (ch === 0x2d && (body[i + 1] === 0x20 || body[i + 1] === 0x0a)) indent += 2;
      else lineStart = false;
      if (indent > MAX_YAML_DEPTH) throw badRequest(`the YAML body is nested more than ${MAX_YAML_DEPTH} levels deep`);
    }
    if (ch === 0x5b || ch === 0x7b) {
      if (++flow > MAX_YAML_DEPTH) throw badRequest(`the YAML body is nested more than ${MAX_YAML_DEPTH} levels deep`);
    } else if (ch === 0x5d || ch === 0x7d) flow = Math.max(0, flow - 1);
  }
}

/** Decodes JSON, YAML or protobuf into an object; rejects anything but a JSON object. */
export function decodeBody(req: ApiRequest): KObject {
  const body = req.body ?? Buffer.alloc(0);
  if (body.length > MAX_BODY_BYTES) throw requestEntityTooLarge(MAX_BODY_BYTES);
  const ct = (req.headers['content-type'] ?? 'application/json').split(';')[0].trim().toLowerCase();
  let value: unknown;
  if (ct === 'application/vnd.kubernetes.protobuf') {
    return decodeProtobufObject(body).object as KObject;
  } else if (ct === 'application/json' || ct === '' || ct === '*/*') {
    try {
      value = JSON.parse(body.toString('utf8'));
    } catch (err) {
      throw badRequest(`the body of the request could not be decoded as JSON: ${(err as Error).message}`);
    }
  } else if (ct === 'application/yaml' || ct === 'application/x-yaml' || ct === 'text/yaml') {
    checkYamlDepth(body);
    try {
      value = YAML.parse(body.toString('utf8'), { maxAliasCount: 100 });
    } catch (err) {
      throw badRequest(`the body of the request could not be decoded as YAML: ${(err as Error).message}`);
    }
  } else {
    throw unsupportedMediaType(ct);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw badRequest('the body of the request must be a JSON object');
  }
  const obj = value as KObject;
  if (obj.metadata !== undefined && (obj.metadata === null || typeof obj.metadata !== 'object' || Array.isArray(obj.metadata))) {
    throw badRequest('metadata must be an object');
  }
  return obj;
}

/**
 * Decodes a body into an object of the resource at the storage version, checking kind and
 * apiVersion against the URL.
 */
export function decodeResourceBody(req: ApiRequest, rp: ResourcePath, warnings?: string[]): KObject {
  const obj = decodeBody(req);
  const { def } = rp;
  if (obj.kind !== undefined && obj.kind !== def.kind) {
    throw badRequest(`the object provided is unrecognized (must be of type ${def.kind}): ${obj.kind}`);
  }
  if (obj.apiVersion !== undefined) {
    const { group, version } = parseApiVersion(String(obj.apiVersion));
    if (group !== def.group || version !== rp.version) {
      throw badRequest(`the API version in the data (${obj.apiVersion}) does not match the expected API version (${groupVersion(def.group, rp.version)})`);
    }
  }
  // The server owns generation (it sets or keeps it), but upstream's typed decoding refuses
  // a non-integer here with 400 before that, so a client learns its body was wrong.
  const gen = (obj.metadata as { generation?: unknown } | undefined)?.generation;
  if (gen !== undefined && gen !== null && !Number.isSafeInteger(gen)) {
    const what = typeof gen === 'number' ? `number ${gen}` : Array.isArray(gen) ? 'array' : typeof gen === 'string' ? 'string' : typeof gen;
    throw badRequest(`${def.kind} in version "${rp.version}" cannot be handled as a ${def.kind}: json: cannot unmarshal ${what} into Go struct field ObjectMeta.metadata.generation of type int64`);
  }
  // Typed decoding and fieldValidation, in the requested version, before any conversion or defaulting.
  if (warnings) warnings.push(...checkRequestObject(req, rp, obj));
  return toStorageVersion(rp, obj);
}

/** Converts an object of the requested version to the stored version (HPA v1 → v2). */
export function toStorageVersion(rp: ResourcePath, obj: KObject): KObject {
  const conv = rp.def.conversions?.[rp.version];
  return conv ? conv.toStorage(obj) : obj;
}

/** A stored object in the requested version (HPA v1 vs v2 share one stored object); never mutates `o`. */
export function inRequestedVersion(rp: ResourcePath, o: KObject): KObject {
  const conv = rp.def.conversions?.[rp.version];
  return conv ? conv.fromStorage(clone(o)) : o;
}

/** JSON of a stored object in the requested version. */
export function encodeObject(rp: ResourcePath, o: KObject): string {
  return JSON.stringify(inRequestedVersion(rp, o));
}

/** Like encodeObject, but reuses the cache's serialization when no conversion is needed. */
export function encodeCached(rp: ResourcePath, c: CachedObject): string {
  return rp.def.conversions?.[rp.version] ? encodeObject(rp, c.obj) : c.json;
}

/** The `includeObject` parameter of table requests. */
export function includeObject(req: ApiRequest): IncludeObject {
  const v = req.query.get('includeObject');
  return v === 'Object' || v === 'None' ? v : 'Metadata';
}

/**
 * Upstream's ValidateDryRun for a write verb: dryRun is absent or every value is `All`, and
 * anything else is 422 before the verb runs, so a misspelt dry run never becomes a real write.
 * Returns whether the request is a dry run.
 */
export function checkDryRun(method: string, values: unknown): boolean {
  if (Array.isArray(values) && values.every((v) => v === 'All')) return values.length > 0;
  const kind = writeOptionsKind(method) ?? 'DeleteOptions';
  throw invalid('meta.k8s.io', kind, '', [fieldErrors.notSupported('dryRun', values, ['All'])]);
}

/** DeleteOptions from the body (if any) and the query, which wins. */
export function deleteOptions(req: ApiRequest): DeleteOptions {
  let opts: DeleteOptions = {};
  if (req.body && req.body.length) {
    const b = decodeBody(req);
    opts = b as DeleteOptions;
  }
  const q = req.query;
  const pp = q.get('propagationPolicy');
  if (pp) opts.propagationPolicy = pp as DeleteOptions['propagationPolicy'];
  const gp = q.get('gracePeriodSeconds');
  if (gp !== null) opts.gracePeriodSeconds = Number(gp);
  if (q.get('orphanDependents') !== null) opts.orphanDependents = queryBool(q, 'orphanDependents');
  if (q.getAll('dryRun').length) opts.dryRun = q.getAll('dryRun');
  // The body may carry dryRun too; a value other than All must not fall through to a real delete.
  if (opts.dryRun !== undefined) checkDryRun('DELETE', opts.dryRun);
  if (opts.propagationPolicy && !['Background', 'Foreground', 'Orphan'].includes(opts.propagationPolicy)) {
    throw badRequest(`invalid propagationPolicy: ${JSON.stringify(opts.propagationPolicy)}: must be one of Orphan, Foreground, Background`);
  }
  if (opts.gracePeriodSeconds !== undefined && !Number.isFinite(opts.gracePeriodSeconds)) {
    throw badRequest('gracePeriodSeconds must be a number');
  }
  return opts;
}

/** The Status answer of a successful write that returns no object (bindings, evictions). */
export function successStatus(code: number): ApiResponse {
  return jsonResponse(code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code });
}

/** Any error as a Status response; errors outside the catalogue are logged and become 500. */
export function errorResponse(err: unknown): ApiResponse {
  let se: StatusError;
  if (err instanceof StatusError) se = err;
  else {
    console.error('skiff: internal error:', err);
    se = internalError(err);
  }
  const status: Status = se.toStatus();
  return jsonResponse(se.code, status);
}
