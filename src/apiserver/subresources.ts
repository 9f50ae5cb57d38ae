/**
 * Subresources with their own REST semantics, as upstream's per-subresource storages:
 * scale (the autoscaling/v1 Scale view of any scalable resource), binding (assign a pod to
 * a node) and eviction (a delete with options). status and finalize are updates of the
 * object itself (crud.ts with a subresource).
 */
import { conflict, invalid, notFound } from '../api/errors.js';
import { validateNonnegativeInt32 } from '../api/validation.js';
import { getPath, setPath } from '../api/meta.js';
import { formatLabelSelector } from '../api/labels.js';
import type { KObject, ResourceDef } from '../api/registry.js';
import { applyPatch } from '../api/patch/index.js';
import { bindPodToNode, validateBinding } from '../api/resources/pods.js';
import { jsonResponse, type ApiRequest, type ApiResponse } from './request.js';
import { checkDryRun, decodeBody, successStatus } from './codec.js';
import { groupResource, type DeleteOptions, type ObjectStorage, type WriteContext } from './objects.js';
import type { ResourcePath } from './routes.js';

/** The autoscaling/v1 Scale view of a scalable object. */
export function toScale(def: ResourceDef, obj: KObject): KObject {
  const s = def.scale!;
  const selector = getPath(obj, s.labelSelectorPath);
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: {
      name: obj.metadata?.name,
      namespace: obj.metadata?.namespace,
      uid: obj.metadata?.uid,
      resourceVersion: obj.metadata?.resourceVersion,
      creationTimestamp: obj.metadata?.creationTimestamp,
    },
    spec: { replicas: (getPath(obj, s.specReplicasPath) as number | undefined) ?? 0 },
    status: {
      replicas: (getPath(obj, s.statusReplicasPath) as number | undefined) ?? 0,
      selector: selector ? formatLabelSelector(selector as never) : '',
    },
  };
}

/**
 * Applies a new Scale (PUT body or patched Scale) to `current`: only spec.replicas changes,
 * and an explicit resourceVersion must match the object's.
 */
export function applyScale(def: ResourceDef, current: KObject, next: KObject, name: string): KObject {
  const replicas = (next.spec as { replicas?: unknown } | undefined)?.replicas;
  const errs = validateNonnegativeInt32('spec.replicas', replicas ?? null);
  if (errs.length) throw invalid('autoscaling', 'Scale', name, errs);
  const rv = next.metadata?.resourceVersion;
  if (rv && rv !== current.metadata?.resourceVersion) throw conflict(groupResource(def), name);
  setPath(current, def.scale!.specReplicasPath, replicas);
  return current;
}

export function getScale(storage: ObjectStorage, rp: ResourcePath): ApiResponse {
  return jsonResponse(200, toScale(rp.def, storage.get(rp.def, rp.namespace, rp.name).obj));
}

/** PUT or PATCH of .../scale. */
export async function updateScale(storage: ObjectStorage, req: ApiRequest, rp: ResourcePath, ctx: WriteContext): Promise<ApiResponse> {
  const { def } = rp;
  const isPut = req.method.toUpperCase() === 'PUT';
  const updated = await storage.update(
    def,
    rp.namespace,
    rp.name,
    (current) => {
      const next = isPut ? decodeBody(req) : (applyPatch(req.headers['content-type'], toScale(def, current), req.body ?? Buffer.alloc(0), 'Scale') as KObject);
      return applyScale(def, current, next, rp.name);
    },
    ctx,
  );
  return jsonResponse(200, toScale(def, updated));
}

/** Assigns a pod to a node (pods/NAME/binding), failing if it is already assigned. */
export async function bindPod(storage: ObjectStorage, podDef: ResourceDef, namespace: string, podName: string, binding: KObject, ctx: WriteContext): Promise<ApiResponse> {
  validateBinding(podName, binding);
  await storage.update(podDef, namespace, podName, (pod) => bindPodToNode(pod, binding), { ...ctx, fieldManager: ctx.fieldManager ?? 'scheduler' }, 'binding');
  return successStatus(201);
}

/** POST of an Eviction: deletes the object with the eviction's delete options. */
export async function evict(storage: ObjectStorage, req: ApiRequest, rp: ResourcePath, ctx: WriteContext): Promise<ApiResponse> {
  const body = decodeBody(req);
  const opts = (body.deleteOptions ?? {}) as DeleteOptions;
  // The eviction's own dryRun counts as the query's does (upstream's propagateDryRun); a
  // value other than All is refused rather than ignored, which would evict for real.
  if (opts.dryRun !== undefined && checkDryRun('DELETE', opts.dryRun)) ctx.dryRun = true;
  await storage.delete(rp.def, rp.namespace, rp.name, opts, ctx);
  return successStatus(201);
}

/**
 * Creates a resource that is really a write to another object's subresource (ResourceDef.createAs):
 * POST namespaces/NS/bindings becomes pods/NAME/binding.
 */
export async function createAsSubresource(storage: ObjectStorage, req: ApiRequest, rp: ResourcePath, ctx: WriteContext): Promise<ApiResponse> {
  const via = rp.def.createAs!;
  const target = storage.registry.lookup(rp.def.group, rp.version, via.plural);
  if (!target) throw notFound(groupResource(rp.def), via.plural);
  const body = decodeBody(req);
  const name = String(body.metadata?.name ?? '');
  if (via.subresource === 'binding') return bindPod(storage, target, rp.namespace, name, body, ctx);
  throw notFound(groupResource(target), `${name}/${via.subresource}`);
}
