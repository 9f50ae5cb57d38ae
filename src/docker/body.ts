/** Request bodies of the Docker API. */
import { badParameter } from './errors.js';
import type { DockerCall } from './route.js';

/** A JSON body, or a 400 naming what is wrong with it (`allowEmpty`: undefined for no body). */
export async function jsonBody<T>(call: DockerCall, allowEmpty = false): Promise<T | undefined> {
  const raw = (await call.body()).toString('utf8');
  if (!raw.trim()) {
    if (allowEmpty) return undefined;
    throw badParameter('invalid JSON: the request body is empty');
  }
  try {
    return JSON.parse(raw) as T;
  } catch (err) {
    throw badParameter(`invalid JSON: ${(err as Error).message}`);
  }
}

/** A JSON object body (not null, an array or a scalar), or a 400. */
export async function jsonObject<T extends object>(call: DockerCall, allowEmpty = false): Promise<T> {
  const v = await jsonBody<unknown>(call, allowEmpty);
  if (v === undefined && allowEmpty) return {} as T;
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw badParameter('invalid JSON: expected an object');
  return v as T;
}
