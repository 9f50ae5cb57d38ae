/**
 * The pure decisions of the PersistentVolume controller (upstream
 * pkg/controller/volume/persistentvolume): which volume a claim binds to, when a claim waits
 * for its first consumer, when a bound volume is released, and what the built-in local-path
 * provisioner creates for a claim on a node.
 */
import type { PersistentVolume, PersistentVolumeClaim } from 'kubernetes-types/core/v1.js';
import type { StorageClass } from 'kubernetes-types/storage/v1.js';
// Claim/volume matching (and the selected-node annotation) live in api/storage/volume-matching.ts:
// the scheduler's VolumeBinding plugin decides with them too.

/** The provisioner name of the built-in dynamic provisioner. */
export const LOCAL_PATH_PROVISIONER = 'skiff.dev/local-path';
/** The default StorageClass the control plane keeps, as k3s's `local-path`. */
export const DEFAULT_STORAGE_CLASS = 'local-path';
export const ANN_DEFAULT_CLASS = 'storageclass.kubernetes.io/is-default-class';
export const ANN_BIND_COMPLETED = 'pv.kubernetes.io/bind-completed';
export const ANN_BOUND_BY_CONTROLLER = 'pv.kubernetes.io/bound-by-controller';
export const ANN_PROVISIONED_BY = 'pv.kubernetes.io/provisioned-by';
export const ANN_STORAGE_PROVISIONER = 'volume.kubernetes.io/storage-provisioner';
/** Where a node keeps local-path volumes; the agent publishes it on its Node. */
export const ANN_NODE_STORAGE_DIR = 'skiff.dev/storage-dir';
export const PVC_PROTECTION = 'kubernetes.io/pvc-protection';
export const PV_PROTECTION = 'kubernetes.io/pv-protection';

/** The default StorageClass object. */
export function defaultStorageClass(): StorageClass {
  return {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name: DEFAULT_STORAGE_CLASS, annotations: { [ANN_DEFAULT_CLASS]: 'true' } },
    provisioner: LOCAL_PATH_PROVISIONER,
    volumeBindingMode: 'WaitForFirstConsumer',
    reclaimPolicy: 'Delete',
    allowVolumeExpansion: true,
  };
}

/** The class marked default (newest wins when several are, as upstream). */
export function defaultClassOf(classes: readonly StorageClass[]): StorageClass | undefined {
  return classes
    .filter((c) => c.metadata?.annotations?.[ANN_DEFAULT_CLASS] === 'true')
    .sort((a, b) => (b.metadata?.creationTimestamp ?? '').localeCompare(a.metadata?.creationTimestamp ?? ''))[0];
}

/** Whether a bound volume's claim is gone (deleted, or replaced by one with another uid). */
export function isReleased(pv: PersistentVolume, claim: PersistentVolumeClaim | undefined): boolean {
  const ref = pv.spec?.claimRef;
  if (!ref) return false;
  if (!claim) return true;
  return !!ref.uid && ref.uid !== claim.metadata?.uid;
}

/** The local-path volume for a claim on a node: a directory under the node's storage dir, pinned to that node. */
export function localPathVolume(claim: PersistentVolumeClaim, cls: StorageClass, node: string, storageDir: string): PersistentVolume {
  const md = claim.metadata!;
  const name = `pvc-${md.uid}`;
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name, annotations: { [ANN_PROVISIONED_BY]: LOCAL_PATH_PROVISIONER }, finalizers: [PV_PROTECTION] },
    spec: {
      capacity: { storage: String(claim.spec?.resources?.requests?.storage ?? '0') },
      accessModes: claim.spec?.accessModes ?? ['ReadWriteOnce'],
      persistentVolumeReclaimPolicy: (cls.reclaimPolicy ?? 'Delete') as 'Delete' | 'Retain',
      storageClassName: cls.metadata!.name,
      volumeMode: claim.spec?.volumeMode ?? 'Filesystem',
      hostPath: { path: `${storageDir.replace(/\/+$/, '')}/${name}_${md.namespace}_${md.name}`, type: 'DirectoryOrCreate' },
      nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [node] }] }] } },
      claimRef: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: md.namespace, name: md.name, uid: md.uid, resourceVersion: md.resourceVersion },
    },
  };
}
