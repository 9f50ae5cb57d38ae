/**
 * One entry point for PATCH bodies: picks the patch algorithm from the request's
 * Content-Type, decodes the body, and applies it to the live object.
 */
import { parse as parseYaml } from 'yaml';
import { badRequest, StatusError } from '../errors.js';
import { applyServerSideApply } from './apply.js';
import { applyJsonPatch } from './json.js';
import { applyMergePatch } from './merge.js';
import { applyStrategicMergePatch } from './strategic.js';

export { applyMergePatch, createMergePatch, isPlainObject } from './merge.js';
export { applyJsonPatch } from './json.js';
export { applyStrategicMergePatch, stripDirectives, registerStrategicType } from './strategic.js';
export { applyServerSideApply } from './apply.js';

export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';

const MEDIA_TYPES: Record<string, PatchType> = {
  'application/json-patch+json': 'json',
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
  'application/apply-patch+yaml': 'apply',
};

/**
 * The patch type for a Content-Type header (parameters such as `charset` ignored).
 * Throws 415 with upstream's list of accepted patch media types.
 */
export function patchTypeOf(contentType: string | undefined): PatchType {
  const media = (contentType ?? '').split(';')[0].trim().toLowerCase();
  const t = MEDIA_TYPES[media];
  if (!t) {
    throw new StatusError(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json`,
    );
  }
  return t;
}

/** Decodes a patch body: JSON for the JSON-based types, YAML (a superset of JSON) for apply. */
export function decodePatchBody(type: PatchType, body: string | Uint8Array | unknown): unknown {
  if (typeof body !== 'string' && !(body instanceof Uint8Array)) return body;
  const text = typeof body === 'string' ? body : Buffer.from(body).toString('utf8');
  try {
    return type === 'apply' ? parseYaml(text) : JSON.parse(text);
  } catch (e) {
    throw badRequest(`error decoding patch: ${(e as Error).message}`);
  }
}

/**
 * Applies a PATCH body to `live` (undefined for a server-side apply that creates) and
 * returns the new object. `kind` picks the strategic merge key table.
 */
export function applyPatch(contentType: string | undefined, live: unknown, body: unknown, kind?: string): Record<string, unknown> {
  const type = patchTypeOf(contentType);
  const patch = decodePatchBody(type, body);
  switch (type) {
    case 'json':
      return applyJsonPatch(live, patch);
    case 'merge':
      return applyMergePatch(live, patch);
    case 'strategic':
      return applyStrategicMergePatch(live, patch, kind);
    case 'apply':
      return applyServerSideApply(live, patch);
  }
}
