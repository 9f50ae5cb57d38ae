/**
 * JSON merge patch (RFC 7386), `application/merge-patch+json`: objects merge key by key,
 * `null` deletes a key, anything else (arrays included) replaces the target value.
 */
import { badRequest } from '../errors.js';

/** A plain JSON object (not an array, not null). */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function mergeValue(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return structuredClone(patch);
  const out: Record<string, unknown> = isPlainObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergeValue(out[k], v);
  }
  return out;
}

/**
 * Applies an RFC 7386 merge patch and returns a new object; inputs are not mutated.
 * The patch must be a JSON object: upstream answers anything else with 400 "Invalid JSON Patch".
 */
export function applyMergePatch<T = Record<string, unknown>>(target: unknown, patch: unknown): T {
  if (!isPlainObject(patch)) throw badRequest('Invalid JSON Patch');
  // Untouched subtrees are shared by mergeValue; one clone at the end keeps the result independent.
  return structuredClone(mergeValue(target, patch)) as T;
}

/**
 * The merge patch that turns `original` into `modified` (CreateMergePatch), e.g. for
 * clients and tests; arrays that differ are sent whole.
 */
export function createMergePatch(original: unknown, modified: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const o = isPlainObject(original) ? original : {};
  const m = isPlainObject(modified) ? modified : {};
  for (const k of Object.keys(o)) if (!(k in m)) out[k] = null;
  for (const [k, v] of Object.entries(m)) {
    if (isPlainObject(v) && isPlainObject(o[k])) {
      const sub = createMergePatch(o[k], v);
      if (Object.keys(sub).length) out[k] = sub;
    } else if (JSON.stringify(v) !== JSON.stringify(o[k])) {
      out[k] = structuredClone(v);
    }
  }
  return out;
}
