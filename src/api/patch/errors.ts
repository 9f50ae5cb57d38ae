/** Errors shared by the patch appliers, mapped as the API server maps them (handlers/patch.go). */
import { StatusError } from '../errors.js';

/**
 * The 422 upstream builds with NewGenericServerResponse for a patch that decodes but
 * cannot be applied. Its message is generic on the wire; `detail` is kept as the
 * error's `cause` for logs and tests.
 */
export function patchRejected(detail: string): StatusError {
  const err = new StatusError(422, 'Invalid', 'the server rejected our request due to an error in our request');
  (err as Error).cause = detail;
  return err;
}
