/**
 * Decodes Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`) into the
 * plain JSON objects the rest of the API server works with. kubectl's create generators and
 * `autoscale` POST this format; skiff always answers in JSON, so only decoding exists.
 *
 * Wire format (apimachinery runtime/serializer/protobuf): the 4 bytes `k8s\0`, then a
 * runtime.Unknown {1 typeMeta {1 apiVersion, 2 kind}, 2 raw, 3 contentEncoding, 4 contentType}
 * whose `raw` is the typed message.
 */
import protobuf from 'protobufjs';
import { badRequest, StatusError } from '../api/errors.js';
import { KIND_TYPES, schemaRoot } from './protobuf-schema.js';

/** The 4-byte prefix of every Kubernetes protobuf body. */
export const PROTOBUF_MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

/** Media type for Kubernetes protobuf. */
export const PROTOBUF_CONTENT_TYPE = 'application/vnd.kubernetes.protobuf';

/** The object decoded from a protobuf body, with its type. */
export interface DecodedObject {
  apiVersion: string;
  kind: string;
  /** The object as the JSON API carries it, `apiVersion` and `kind` included. */
  object: Record<string, unknown>;
}

// Upstream types nest at most ~12 levels; anything deeper is hostile.
const MAX_DEPTH = 32;

/** Thrown inside the decoder; turned into a 400 at the top. */
class DecodeError extends Error {}

/**
 * Decodes a Kubernetes protobuf body into `{apiVersion, kind, object}`.
 * Throws a 400 StatusError for a missing magic, malformed bytes, or a kind skiff has no schema for.
 */
export function decodeProtobufObject(body: Buffer): DecodedObject {
  if (body.length < PROTOBUF_MAGIC.length || !body.subarray(0, 4).equals(PROTOBUF_MAGIC)) {
    throw badRequest('the protobuf body does not start with the Kubernetes magic number "k8s\\x00"');
  }
  let unknown: { apiVersion: string; kind: string; raw: Uint8Array; contentEncoding: string; contentType: string };
  try {
    unknown = decodeUnknown(body.subarray(4));
  } catch (err) {
    throw malformed(err);
  }
  const { apiVersion, kind } = unknown;
  if (!kind) throw badRequest('Object \'Kind\' is missing in protobuf body');
  if (unknown.contentEncoding) {
    throw badRequest(`unsupported contentEncoding ${JSON.stringify(unknown.contentEncoding)} in protobuf body`);
  }
  if (unknown.contentType && !unknown.contentType.startsWith(PROTOBUF_CONTENT_TYPE)) {
    throw badRequest(`unsupported contentType ${JSON.stringify(unknown.contentType)} in protobuf body`);
  }
  const typeName = Object.hasOwn(KIND_TYPES, apiVersion) ? KIND_TYPES[apiVersion]![kind] : undefined;
  if (!typeName || !Object.hasOwn(KIND_TYPES[apiVersion]!, kind)) {
    throw badRequest(`no kind "${kind}" is registered for version "${apiVersion}" in protobuf bodies; send application/json instead`);
  }
  const type = schemaRoot().lookupType(typeName);
  let decoded: Record<string, unknown>;
  try {
    decoded = decodeMessage(type, unknown.raw, 0);
  } catch (err) {
    throw malformed(err);
  }
  return { apiVersion, kind, object: { apiVersion, kind, ...decoded } };
}

function malformed(err: unknown): StatusError {
  if (err instanceof StatusError) return err;
  const why = err instanceof Error ? err.message : String(err);
  return badRequest(`malformed protobuf body: ${why}`);
}

/** runtime.Unknown, read by hand: it is tiny and `raw` must stay bytes. */
function decodeUnknown(buf: Uint8Array) {
  const out: { apiVersion: string; kind: string; raw: Uint8Array; contentEncoding: string; contentType: string } = {
    apiVersion: '', kind: '', raw: new Uint8Array(0), contentEncoding: '', contentType: '',
  };
  const r = protobuf.Reader.create(buf);
  while (r.pos < r.len) {
    const tag = r.uint32();
    const id = tag >>> 3;
    const wt = tag & 7;
    if (id === 1 && wt === 2) {
      const tm = protobuf.Reader.create(r.bytes());
      while (tm.pos < tm.len) {
        const t = tm.uint32();
        if (t >>> 3 === 1 && (t & 7) === 2) out.apiVersion = tm.string();
        else if (t >>> 3 === 2 && (t & 7) === 2) out.kind = tm.string();
        else skipField(tm, t & 7);
      }
    } else if (id === 2 && wt === 2) out.raw = r.bytes();
    else if (id === 3 && wt === 2) out.contentEncoding = r.string();
    else if (id === 4 && wt === 2) out.contentType = r.string();
    else skipField(r, wt);
  }
  return out;
}

/** Skips one unknown field. Groups (wire types 3/4) are refused: Kubernetes never emits them. */
function skipField(r: protobuf.Reader, wt: number): void {
  switch (wt) {
    case 0: r.uint64(); return;
    case 1: r.skip(8); return;
    case 2: r.skip(r.uint32()); return;
    case 5: r.skip(4); return;
    default: throw new DecodeError(`unsupported wire type ${wt}`);
  }
}

const WIRE_TYPE: Record<string, number> = {
  int32: 0, int64: 0, uint32: 0, uint64: 0, sint32: 0, sint64: 0, bool: 0, enum: 0,
  fixed64: 1, sfixed64: 1, double: 1,
  string: 2, bytes: 2,
  fixed32: 5, sfixed32: 5, float: 5,
};

function readScalar(r: protobuf.Reader, type: string): unknown {
  switch (type) {
    case 'int32': return r.int32();
    case 'uint32': return r.uint32();
    case 'sint32': return r.sint32();
    case 'int64': return longToNumber(r.int64());
    case 'uint64': return longToNumber(r.uint64());
    case 'sint64': return longToNumber(r.sint64());
    case 'bool': return r.bool();
    case 'string': return r.string();
    case 'bytes': return Buffer.from(r.bytes()).toString('base64');
    case 'double': return r.double();
    case 'float': return r.float();
    case 'fixed32': return r.fixed32();
    case 'sfixed32': return r.sfixed32();
    case 'fixed64': return longToNumber(r.fixed64());
    case 'sfixed64': return longToNumber(r.sfixed64());
    default: throw new DecodeError(`unsupported scalar type ${type}`);
  }
}

function longToNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (v && typeof (v as { toNumber?: unknown }).toNumber === 'function') return (v as { toNumber(): number }).toNumber();
  return Number(v);
}

function zeroOf(type: string): unknown {
  if (type === 'string' || type === 'bytes') return '';
  if (type === 'bool') return false;
  return 0;
}

function isZero(v: unknown): boolean {
  return v === 0 || v === false || v === '';
}

/** Decodes a length-delimited value of a message type, applying the well-known JSON forms. */
function decodeTypedValue(type: protobuf.Type, bytes: Uint8Array, depth: number): unknown {
  switch (type.fullName) {
    case '.meta.Time':
    case '.meta.MicroTime': {
      const t = decodeMessage(type, bytes, depth);
      const seconds = typeof t.seconds === 'number' ? t.seconds : 0;
      const nanos = typeof t.nanos === 'number' ? t.nanos : 0;
      // The zero time marshals to JSON null; such fields are simply left out.
      if (seconds === 0 && nanos === 0) return undefined;
      const ms = seconds * 1000 + Math.floor(nanos / 1e6);
      const d = new Date(ms);
      if (Number.isNaN(d.getTime())) throw new DecodeError(`time out of range: ${seconds}s`);
      const iso = d.toISOString();
      if (type.fullName === '.meta.Time') return iso.replace(/\.\d{3}Z$/, 'Z');
      return iso.replace(/\.(\d{3})Z$/, (_m, frac: string) => `.${frac}${String(nanos % 1e6).padStart(6, '0').slice(0, 3)}Z`);
    }
    case '.intstr.IntOrString': {
      const v = decodeMessage(type, bytes, depth);
      return v.type === 1 ? (v.strVal ?? '') : (v.intVal ?? 0);
    }
    case '.resource.Quantity': {
      const v = decodeMessage(type, bytes, depth);
      return v.string ?? '';
    }
    default:
      return decodeMessage(type, bytes, depth);
  }
}

/**
 * Decodes one message into its JSON form. Uses a fresh Reader per nested message so protobufjs'
 * own bounds checks stop truncated or oversized lengths at the message edge.
 */
function decodeMessage(type: protobuf.Type, bytes: Uint8Array, depth: number): Record<string, unknown> {
  if (depth > MAX_DEPTH) throw new DecodeError('message nesting too deep');
  const r = protobuf.Reader.create(bytes);
  const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  while (r.pos < r.len) {
    const tag = r.uint32();
    const id = tag >>> 3;
    const wt = tag & 7;
    if (id === 0) throw new DecodeError('invalid field number 0');
    const field = type.fieldsById[id];
    if (!field) {
      skipField(r, wt);
      continue;
    }
    const name = field.name;
    if (field instanceof protobuf.MapField) {
      if (wt !== 2) throw new DecodeError(`field ${type.name}.${name}: wrong wire type ${wt}`);
      const [k, v] = decodeMapEntry(field, r.bytes(), depth + 1);
      const map = (out[name] ??= Object.create(null)) as Record<string, unknown>;
      map[k] = v;
      continue;
    }
    const msgType = field.resolvedType instanceof protobuf.Type ? field.resolvedType : null;
    if (msgType) {
      if (wt !== 2) throw new DecodeError(`field ${type.name}.${name}: wrong wire type ${wt}`);
      const v = decodeTypedValue(msgType, r.bytes(), depth + 1);
      if (field.repeated) ((out[name] ??= []) as unknown[]).push(v ?? null);
      else if (v !== undefined) out[name] = v;
      else delete out[name];
      continue;
    }
    const expected = WIRE_TYPE[field.type];
    if (expected === undefined) throw new DecodeError(`field ${type.name}.${name}: unsupported type ${field.type}`);
    if (field.repeated) {
      const list = (out[name] ??= []) as unknown[];
      if (wt === 2 && expected !== 2) {
        // packed encoding of a repeated number
        const packed = protobuf.Reader.create(r.bytes());
        while (packed.pos < packed.len) list.push(readScalar(packed, field.type));
      } else if (wt === expected) {
        list.push(readScalar(r, field.type));
      } else {
        throw new DecodeError(`field ${type.name}.${name}: wrong wire type ${wt}`);
      }
      continue;
    }
    if (wt !== expected) throw new DecodeError(`field ${type.name}.${name}: wrong wire type ${wt}`);
    out[name] = readScalar(r, field.type);
  }
  return toJsonShape(type, out);
}

function decodeMapEntry(field: protobuf.MapField, bytes: Uint8Array, depth: number): [string, unknown] {
  if (depth > MAX_DEPTH) throw new DecodeError('message nesting too deep');
  const r = protobuf.Reader.create(bytes);
  let key: unknown;
  let value: unknown;
  const valueType = field.resolvedType instanceof protobuf.Type ? field.resolvedType : null;
  while (r.pos < r.len) {
    const tag = r.uint32();
    const id = tag >>> 3;
    const wt = tag & 7;
    if (id === 1) {
      if (wt !== WIRE_TYPE[field.keyType]) throw new DecodeError(`map ${field.name}: wrong key wire type ${wt}`);
      key = readScalar(r, field.keyType);
    } else if (id === 2) {
      if (valueType) {
        if (wt !== 2) throw new DecodeError(`map ${field.name}: wrong value wire type ${wt}`);
        value = decodeTypedValue(valueType, r.bytes(), depth + 1);
      } else {
        if (wt !== WIRE_TYPE[field.type]) throw new DecodeError(`map ${field.name}: wrong value wire type ${wt}`);
        value = readScalar(r, field.type);
      }
    } else {
      skipField(r, wt);
    }
  }
  // A missing key or value means the zero value, as in Go's decoder.
  if (value === undefined) value = valueType ? (valueType.fullName === '.resource.Quantity' ? '0' : {}) : zeroOf(field.type);
  return [String(key ?? zeroOf(field.keyType)), value];
}

/**
 * Applies Go's JSON rules to a decoded message: drop omitempty zero values, keep present pointer
 * fields, fill non-omitempty scalars, merge inlined structs. Returns a plain object.
 */
function toJsonShape(type: protobuf.Type, raw: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of type.fieldsArray) {
    const name = field.name;
    const opts = field.options ?? {};
    const present = Object.hasOwn(raw, name);
    const value = raw[name];
    if (opts['(inline)']) {
      if (present && value && typeof value === 'object') Object.assign(out, value);
      continue;
    }
    if (field instanceof protobuf.MapField) {
      // fromEntries defines own properties, so a hostile "__proto__" key stays a plain key
      if (present) out[name] = Object.fromEntries(Object.entries(value as object));
      continue;
    }
    if (field.repeated || field.resolvedType instanceof protobuf.Type) {
      if (present) out[name] = value;
      continue;
    }
    if (present) {
      if (opts['(ptr)'] || opts['(req)'] || !isZero(value)) out[name] = value;
    } else if (opts['(req)']) {
      out[name] = zeroOf(field.type);
    }
  }
  return out;
}
