/**
 * Claiming objects for a controller, after upstream pkg/controller/controller_ref_manager.go
 * (ClaimObjects): a controller owns what its selector matches. It releases objects it owns
 * that no longer match, and adopts orphans that do, but only after reading itself fresh from
 * the server, so a controller being deleted (or replaced under the same name) never adopts.
 */
import { isReason } from '../api/errors.js';
import type { LabelSelector } from 'kubernetes-types/meta/v1.js';
import { selectorFromLabelSelector, type Selector } from '../api/labels.js';
import { INDEX_ORPHAN_NAMESPACE, INDEX_OWNER_UID, type Informer } from '../client/informer.js';
import type { Client, KObject, ResourceRef } from '../client/types.js';
import { controllerRef, newControllerRef } from './util.js';

export interface ClaimRequest<T extends KObject> {
  client: Client;
  /** The controller object (from the cache). */
  owner: KObject;
  /** Where to read the owner fresh, and how its ownerReference names it. */
  ownerResource: ResourceRef;
  ownerApiVersion: string;
  ownerKind: string;
  /** The objects claimed, their cache and their resource. */
  informer: Informer<T>;
  resource: ResourceRef;
  selector: Selector;
}

/** upstream ClaimObjects: the owner's matching objects after releasing non-matching ones and adopting matching orphans. */
export async function claimObjects<T extends KObject>(r: ClaimRequest<T>): Promise<T[]> {
  const { client, owner, selector } = r;
  const uid = owner.metadata!.uid!;
  const deleting = !!owner.metadata?.deletionTimestamp;
  const out: T[] = [];
  for (const o of r.informer.byIndex(INDEX_OWNER_UID, uid)) {
    if (selector.matches(o.metadata?.labels)) { out.push(o); continue; }
    if (deleting) continue;
    const refs = (o.metadata?.ownerReferences ?? []).filter((x) => x.uid !== uid);
    await ignoreNotFound(client.patch(r.resource, o.metadata!.namespace, o.metadata!.name!, 'merge', {
      metadata: { ownerReferences: refs.length ? refs : null, resourceVersion: o.metadata!.resourceVersion },
    }));
  }
  // An empty selector would adopt everything in the namespace.
  if (deleting || selector.empty()) return out;
  let canAdopt: boolean | undefined;
  for (const o of r.informer.byIndex(INDEX_ORPHAN_NAMESPACE, owner.metadata?.namespace ?? '')) {
    if (!selector.matches(o.metadata?.labels) || controllerRef(o) || o.metadata?.deletionTimestamp) continue;
    if (canAdopt === undefined) {
      try {
        const fresh = await client.get<KObject>(r.ownerResource, owner.metadata!.namespace, owner.metadata!.name!);
        canAdopt = fresh.metadata?.uid === uid && !fresh.metadata?.deletionTimestamp;
      } catch { canAdopt = false; }
    }
    if (!canAdopt) break;
    const adopted = await ignoreNotFound(client.patch<T>(r.resource, o.metadata!.namespace, o.metadata!.name!, 'merge', {
      metadata: { ownerReferences: [...(o.metadata?.ownerReferences ?? []), newControllerRef(owner, r.ownerApiVersion, r.ownerKind)], resourceVersion: o.metadata!.resourceVersion },
    }));
    if (adopted) out.push(adopted);
  }
  return out;
}

/**
 * The controllers in `cache` whose (non-empty) selector matches `o`'s labels: those that may
 * adopt it when it is an orphan (upstream getPodReplicaSets, getDeploymentsForReplicaSet).
 */
export function selectingControllers<T extends KObject & { spec?: { selector?: LabelSelector } }>(cache: { list(namespace?: string): T[] }, o: KObject): T[] {
  return cache.list(o.metadata?.namespace).filter((c) => {
    const sel = selectorFromLabelSelector(c.spec?.selector);
    return !sel.empty() && sel.matches(o.metadata?.labels);
  });
}

/** An object deleted meanwhile is neither released nor adopted: not an error. */
async function ignoreNotFound<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    if (isReason(err, 'NotFound')) return undefined;
    throw err;
  }
}
