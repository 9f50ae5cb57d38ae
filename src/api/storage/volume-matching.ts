/**
 * Which PersistentVolume can serve a claim (upstream pkg/volume/util and the PV controller's
 * findMatchingVolume): the PersistentVolume controller binds with these and the scheduler's
 * VolumeBinding plugin checks, per node, that a WaitForFirstConsumer claim will find a volume.
 */
import type { PersistentVolume, PersistentVolumeClaim } from 'kubernetes-types/core/v1.js';
import { Quantity } from '../quantity.js';
import { selectorFromLabelSelector } from '../labels.js';

function requestBytes(claim: PersistentVolumeClaim): number {
  const r = claim.spec?.resources?.requests?.storage;
  return r ? Quantity.parse(String(r)).value() : 0;
}

function capacityBytes(pv: PersistentVolume): number {
  const c = pv.spec?.capacity?.storage;
  return c ? Quantity.parse(String(c)).value() : 0;
}

/** The node a WaitForFirstConsumer claim is provisioned on, set once its first pod is placed. */
export const ANN_SELECTED_NODE = 'volume.kubernetes.io/selected-node';

/** Whether the volume's claimRef names this claim (uid too, when the ref has one). */
export function isBoundTo(pv: PersistentVolume, claim: PersistentVolumeClaim): boolean {
  const ref = pv.spec?.claimRef;
  if (!ref) return false;
  if (ref.namespace !== claim.metadata?.namespace || ref.name !== claim.metadata?.name) return false;
  return !ref.uid || ref.uid === claim.metadata?.uid;
}

/** Why a volume cannot serve a claim, or undefined when it can (upstream checkVolumeSatisfyClaim). */
export function volumeMismatch(pv: PersistentVolume, claim: PersistentVolumeClaim): string | undefined {
  if ((pv.spec?.storageClassName ?? '') !== (claim.spec?.storageClassName ?? '')) return 'storageClassName does not match';
  if ((pv.spec?.volumeMode ?? 'Filesystem') !== (claim.spec?.volumeMode ?? 'Filesystem')) return 'incompatible volumeMode';
  const modes = new Set(pv.spec?.accessModes ?? []);
  if (!(claim.spec?.accessModes ?? []).every((m) => modes.has(m))) return 'incompatible accessMode';
  if (capacityBytes(pv) < requestBytes(claim)) return 'requested PV is too small';
  return undefined;
}

/**
 * The volume a claim binds to: the one pre-bound to it, else the smallest Available volume
 * that satisfies it and its selector (upstream findBestMatchForClaim).
 */
export function findMatchingVolume(
  claim: PersistentVolumeClaim,
  volumes: readonly PersistentVolume[],
  /** Further condition on a candidate, e.g. the scheduler's "its node affinity admits this node". */
  accept?: (pv: PersistentVolume) => boolean,
): PersistentVolume | undefined {
  const wanted = claim.spec?.volumeName;
  const selector = claim.spec?.selector ? selectorFromLabelSelector(claim.spec.selector) : undefined;
  let best: PersistentVolume | undefined;
  for (const pv of volumes) {
    if (pv.metadata?.deletionTimestamp) continue;
    if (wanted && pv.metadata?.name !== wanted) continue;
    const ref = pv.spec?.claimRef;
    if (ref && !isBoundTo(pv, claim)) continue;
    if (!ref && pv.status?.phase && pv.status.phase !== 'Available' && pv.status.phase !== 'Pending') continue;
    if (volumeMismatch(pv, claim)) continue;
    if (selector && !selector.matches(pv.metadata?.labels)) continue;
    if (accept && !accept(pv)) continue;
    // A volume already pointing at this claim wins outright.
    if (ref) return pv;
    if (!best || capacityBytes(pv) < capacityBytes(best)) best = pv;
  }
  return best;
}
