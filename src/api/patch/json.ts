/**
 * JSON patch (RFC 6902), `application/json-patch+json`, applied with fast-json-patch.
 *
 * Error mapping follows the API server (handlers/patch.go): a body that does not
 * decode as a list of operations is 400 BadRequest; an operation that fails while
 * applying (test mismatch, missing path) is 422 Invalid with the generic message
 * "the server rejected our request due to an error in our request".
 */
import fjp from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';
import { badRequest, StatusError } from '../errors.js';
import { patchRejected } from './errors.js';

/** upstream maxJSONPatchOperations. */
export const MAX_JSON_PATCH_OPERATIONS = 10000;

const OPS = new Set(['add', 'remove', 'replace', 'move', 'copy', 'test']);

/** Checks the shape of every operation; throws 400 naming the first bad one. */
function checkOperations(ops: unknown): asserts ops is Operation[] {
  if (!Array.isArray(ops)) throw badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  ops.forEach((op: unknown, i) => {
    const where = `operation ${i}`;
    if (typeof op !== 'object' || op === null || Array.isArray(op)) throw badRequest(`invalid JSON patch: ${where} is not an object`);
    const o = op as Record<string, unknown>;
    if (typeof o.op !== 'string' || !OPS.has(o.op)) throw badRequest(`invalid JSON patch: ${where}: unexpected op ${JSON.stringify(o.op ?? null)}`);
    if (typeof o.path !== 'string') throw badRequest(`invalid JSON patch: ${where} (${o.op}): missing "path"`);
    if (o.path !== '' && !o.path.startsWith('/')) throw badRequest(`invalid JSON patch: ${where} (${o.op}): path ${JSON.stringify(o.path)} must start with "/"`);
    if ((o.op === 'move' || o.op === 'copy') && typeof o.from !== 'string') throw badRequest(`invalid JSON patch: ${where} (${o.op}): missing "from"`);
    if ((o.op === 'add' || o.op === 'replace' || o.op === 'test') && !('value' in o)) throw badRequest(`invalid JSON patch: ${where} (${o.op}): missing "value"`);
  });
}

const DETAIL: Record<string, string> = {
  TEST_OPERATION_FAILED: 'test operation failed',
  OPERATION_PATH_UNRESOLVABLE: 'path does not exist',
  OPERATION_FROM_UNRESOLVABLE: '"from" path does not exist',
  OPERATION_PATH_CANNOT_ADD: 'cannot add at path',
  OPERATION_PATH_ILLEGAL_ARRAY_INDEX: 'illegal array index',
  OPERATION_VALUE_OUT_OF_BOUNDS: 'array index out of bounds',
};

const applyFailed = patchRejected;

/**
 * Applies RFC 6902 operations to a copy of `target` and returns it.
 * Throws 400 for malformed operations, 413 for too many, 422 when an operation fails.
 */
export function applyJsonPatch<T = Record<string, unknown>>(target: unknown, ops: unknown): T {
  checkOperations(ops);
  if (ops.length > MAX_JSON_PATCH_OPERATIONS) {
    throw new StatusError(413, 'RequestEntityTooLarge', `Request entity too large: The allowed maximum operations in a JSON patch is ${MAX_JSON_PATCH_OPERATIONS}, got: ${ops.length}`);
  }
  const doc = structuredClone(target);
  try {
    // validate=true checks each op against the document as it goes; the clone is mutated in place.
    return fjp.applyPatch(doc, structuredClone(ops), true, true, true).newDocument as T;
  } catch (e) {
    if (e instanceof fjp.JsonPatchError) {
      const op = e.operation as Record<string, unknown> | undefined;
      const what = DETAIL[e.name] ?? e.name;
      throw applyFailed(`${what}: operation ${e.index ?? '?'} (${String(op?.op)} ${String(op?.path)})`);
    }
    throw applyFailed(e instanceof Error ? e.message : String(e));
  }
}
