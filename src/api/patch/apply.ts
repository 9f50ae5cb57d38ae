/**
 * Server-side apply, minimum version (`application/apply-patch+yaml`): the applied
 * configuration is merged into the live object with strategic-merge semantics
 * (maps recursively, keyed lists by their merge key). Field ownership, managedFields
 * and conflict detection are not tracked yet, so fields dropped from the applied
 * configuration are kept rather than removed.
 */
import { badRequest } from '../errors.js';
import { isPlainObject } from './merge.js';
import { applyStrategicMergePatch, stripDirectives } from './strategic.js';

type Obj = Record<string, unknown>;

/** In an apply configuration `null` means "not specified", never "delete". */
function dropNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(dropNulls);
  if (isPlainObject(v)) return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== null).map(([k, x]) => [k, dropNulls(x)]));
  return v;
}

/**
 * Returns the object that results from applying `applied` to `live` (or creating it
 * from `applied` when `live` is undefined). Inputs are not mutated. `managedFields`
 * in the applied configuration are ignored, as upstream rejects them there.
 */
export function applyServerSideApply<T = Obj>(live: unknown, applied: unknown): T {
  if (!isPlainObject(applied)) throw badRequest('the body of an apply patch must be an object');
  const config = dropNulls(stripDirectives(applied)) as Obj;
  if (isPlainObject(config.metadata)) delete (config.metadata as Obj).managedFields;
  const kind = typeof config.kind === 'string' ? config.kind : isPlainObject(live) && typeof live.kind === 'string' ? live.kind : undefined;
  if (live === undefined || live === null) return structuredClone(config) as T;
  return applyStrategicMergePatch<T>(live, config, kind);
}
