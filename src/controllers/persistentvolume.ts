/**
 * The PersistentVolume controller (upstream pkg/controller/volume/persistentvolume plus the
 * storage-object-in-use protection controller) with skiff's built-in local-path provisioner:
 *  - claims bind to the smallest matching Available volume, or the one they name; the
 *    volume is written first (claimRef), then the claim (volumeName), then both statuses;
 *  - claims of a WaitForFirstConsumer class wait until a pod using them is placed on a node
 *    (the claim then gets `volume.kubernetes.io/selected-node`), and the local-path
 *    provisioner creates a volume on that node: a directory under the node's storage dir
 *    with node affinity to it;
 *  - a volume whose claim is gone is Released; reclaim policy Delete deletes it, Retain keeps it;
 *  - the pvc-protection and pv-protection finalizers hold a claim while a pod uses it and a
 *    volume while it is bound;
 *  - the default StorageClass `local-path` exists, and claims without a class get the default.
 * Keys on the queue: `claim:<ns>/<name>`, `volume:<name>`.
 */
import type { PersistentVolume, PersistentVolumeClaim, Pod } from 'kubernetes-types/core/v1.js';
import type { StorageClass } from 'kubernetes-types/storage/v1.js';
import { isReason } from '../api/errors.js';
import { keyOf, splitKey, type Informer } from '../client/informer.js';
import { NODES, PERSISTENT_VOLUME_CLAIMS, PERSISTENT_VOLUMES, PODS, STORAGE_CLASSES } from '../client/resources.js';
import type { KObject } from '../client/types.js';
import { QueueController, type ReconcileResult } from './base.js';
import { isPodTerminal } from './endpoints.js';
import type { Controller, ControllerContext } from './types.js';
import {
  ANN_BIND_COMPLETED,
  ANN_BOUND_BY_CONTROLLER,
  ANN_NODE_STORAGE_DIR,
  ANN_STORAGE_PROVISIONER,
  LOCAL_PATH_PROVISIONER,
  PVC_PROTECTION,
  PV_PROTECTION,
  defaultClassOf,
  defaultStorageClass,
  isReleased,
  localPathVolume,
} from './pv-binding.js';
import { ANN_SELECTED_NODE, findMatchingVolume, isBoundTo } from '../api/storage/volume-matching.js';

type PVC = PersistentVolumeClaim & KObject;
type PV = PersistentVolume & KObject;
type SC = StorageClass & KObject;
type PodObj = Pod & KObject;

/** Where a node keeps local-path volumes when it does not say (the default data dir's). */
const DEFAULT_STORAGE_DIR = '/var/lib/skiff/storage';
const INDEX_CLAIM = 'claim';
const ENSURE_DEFAULT_CLASS = 'default-storage-class';

function claimsOf(pod: Pod): string[] {
  const ns = pod.metadata?.namespace ?? 'default';
  return (pod.spec?.volumes ?? []).flatMap((v) => (v.persistentVolumeClaim ? [`${ns}/${v.persistentVolumeClaim.claimName}`] : []));
}

/** Creates the PersistentVolume controller. */
export function newPersistentVolumeController(ctx: ControllerContext): Controller {
  const { client } = ctx;
  const recorder = ctx.recorder('persistentvolume-controller');
  const claims = ctx.informers.informerFor<PVC>(PERSISTENT_VOLUME_CLAIMS);
  const volumes = ctx.informers.informerFor<PV>(PERSISTENT_VOLUMES);
  const classes = ctx.informers.informerFor<SC>(STORAGE_CLASSES);
  const pods = ctx.informers.informerFor<PodObj>(PODS);
  const nodes = ctx.informers.informerFor<KObject>(NODES);
  pods.addIndexer(INDEX_CLAIM, (p) => claimsOf(p as Pod));
  const qc = new QueueController('persistentvolume', ctx, [claims, volumes, classes, pods, nodes] as Informer<KObject>[], sync);
  const q = qc.queue;
  // The default class exists from the start, before any claim asks for it (as k3s ships local-path).
  q.add(ENSURE_DEFAULT_CLASS);
  const enqueueClaim = (c: KObject) => q.add(`claim:${keyOf(c)}`);
  const enqueueVolume = (v: KObject) => q.add(`volume:${v.metadata!.name}`);

  claims.addEventHandler({ onAdd: enqueueClaim, onUpdate: (_o, c) => enqueueClaim(c), onDelete: (c) => {
    for (const v of volumes.list()) if (v.spec?.claimRef?.namespace === c.metadata?.namespace && v.spec?.claimRef?.name === c.metadata?.name) enqueueVolume(v);
  } });
  volumes.addEventHandler({ onAdd: enqueueVolume, onUpdate: (_o, v) => enqueueVolume(v), onDelete: (v) => {
    const ref = v.spec?.claimRef;
    if (ref?.name) q.add(`claim:${ref.namespace}/${ref.name}`);
  } });
  // A new default class adopts class-less claims; a pod placed on a node triggers its claims' provisioning;
  // a pod going away may release its claims' protection.
  classes.addEventHandler({ onAdd: () => claims.list().forEach(enqueueClaim), onUpdate: () => undefined });
  const podChanged = (p: KObject) => {
    for (const key of claimsOf(p as Pod)) q.add(`claim:${key}`);
  };
  pods.addEventHandler({ onAdd: podChanged, onUpdate: (_o, p) => podChanged(p), onDelete: podChanged });

  let classEnsured = false;
  async function ensureDefaultClass(): Promise<void> {
    if (classEnsured) return;
    if (!classes.list().length) {
      try {
        await client.create(STORAGE_CLASSES, undefined, defaultStorageClass() as unknown as KObject);
      } catch (err) {
        if (!isReason(err, 'AlreadyExists')) throw err;
      }
    }
    classEnsured = true;
  }

  async function sync(key: string): Promise<ReconcileResult> {
    await ensureDefaultClass();
    if (key.startsWith('claim:')) return syncClaim(key.slice('claim:'.length));
    if (key.startsWith('volume:')) return syncVolume(key.slice('volume:'.length));
  }

  function consumers(claimKey: string): PodObj[] {
    return pods.byIndex(INDEX_CLAIM, claimKey).filter((p) => !isPodTerminal(p));
  }

  async function syncClaim(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    let claim = claims.get(namespace, name);
    if (!claim) return;
    if (claim.metadata?.deletionTimestamp) {
      // pvc-protection: the claim goes once no pod that is not finished uses it.
      if (claim.metadata.finalizers?.includes(PVC_PROTECTION) && consumers(key).length === 0) {
        await patchClaim(claim, { metadata: { finalizers: claim.metadata.finalizers.filter((f) => f !== PVC_PROTECTION), resourceVersion: claim.metadata.resourceVersion } });
      }
      return;
    }
    if (!claim.metadata?.finalizers?.includes(PVC_PROTECTION)) {
      claim = await patchClaim(claim, { metadata: { finalizers: [...(claim.metadata?.finalizers ?? []), PVC_PROTECTION], resourceVersion: claim.metadata!.resourceVersion } });
      if (!claim) return;
    }
    // Retroactive default class, as upstream since 1.28: only a claim with no class at all.
    if (claim.spec?.storageClassName === undefined || claim.spec.storageClassName === null) {
      const def = defaultClassOf(classes.list());
      if (def) {
        await patchClaim(claim, { spec: { storageClassName: def.metadata!.name } });
        return;
      }
    }
    if (claim.spec?.volumeName && claim.status?.phase === 'Bound') {
      const pv = volumes.get(undefined, claim.spec.volumeName);
      if (!pv) {
        if (claim.status.phase === 'Bound') await setClaimPhase(claim, 'Lost');
        recorder.event(claim, 'Warning', 'ClaimLost', 'Bound claim has lost its PersistentVolume. Data on the volume is lost!');
      }
      return;
    }
    const pv = findMatchingVolume(claim, volumes.list()) as PV | undefined;
    if (pv) return bind(claim, pv);
    const cls = classes.get(undefined, claim.spec?.storageClassName ?? '');
    if (!cls || cls.provisioner !== LOCAL_PATH_PROVISIONER) {
      if (claim.status?.phase !== 'Pending') await setClaimPhase(claim, 'Pending');
      if (!cls && claim.spec?.storageClassName) recorder.event(claim, 'Warning', 'ProvisioningFailed', `storageclass.storage.k8s.io "${claim.spec.storageClassName}" not found`);
      return;
    }
    let node = claim.metadata?.annotations?.[ANN_SELECTED_NODE];
    if (!node) {
      const placed = consumers(key).find((p) => p.spec?.nodeName)?.spec?.nodeName;
      if (!placed && cls.volumeBindingMode === 'WaitForFirstConsumer') {
        if (claim.status?.phase !== 'Pending') await setClaimPhase(claim, 'Pending');
        recorder.event(claim, 'Normal', 'WaitForFirstConsumer', 'waiting for first consumer to be created before binding');
        return;
      }
      node = placed ?? nodes.list()[0]?.metadata?.name;
      if (!node) return { requeueAfterMs: 5_000 };
      await patchClaim(claim, { metadata: { annotations: { [ANN_SELECTED_NODE]: node, [ANN_STORAGE_PROVISIONER]: LOCAL_PATH_PROVISIONER } } });
      return;
    }
    const nodeObj = nodes.get(undefined, node);
    const storageDir = nodeObj?.metadata?.annotations?.[ANN_NODE_STORAGE_DIR] ?? DEFAULT_STORAGE_DIR;
    recorder.event(claim, 'Normal', 'Provisioning', `External provisioner is provisioning volume for claim "${namespace}/${name}"`);
    const volume = localPathVolume(claim, cls, node, storageDir);
    try {
      await client.create(PERSISTENT_VOLUMES, undefined, volume as KObject);
    } catch (err) {
      if (!isReason(err, 'AlreadyExists')) throw err;
    }
    recorder.event(claim, 'Normal', 'ProvisioningSucceeded', `Successfully provisioned volume ${volume.metadata!.name}`);
  }

  /** Binds volume then claim, then both statuses (upstream bind()). */
  async function bind(claim: PVC, pv: PV): Promise<ReconcileResult> {
    const md = claim.metadata!;
    if (!isBoundTo(pv, claim) || !pv.spec?.claimRef?.uid) {
      const claimRef = { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: md.namespace, name: md.name, uid: md.uid, resourceVersion: md.resourceVersion };
      const next = { ...pv, spec: { ...pv.spec, claimRef } } as PV;
      if (!claim.spec?.volumeName) next.metadata = { ...pv.metadata, annotations: { ...pv.metadata?.annotations, [ANN_BOUND_BY_CONTROLLER]: 'yes' } };
      pv = (await client.update(PERSISTENT_VOLUMES, undefined, next)) as PV;
    }
    if (pv.status?.phase !== 'Bound') {
      pv = (await client.update(PERSISTENT_VOLUMES, undefined, { ...pv, status: { ...pv.status, phase: 'Bound' } } as PV, { subresource: 'status' })) as PV;
    }
    if (claim.spec?.volumeName !== pv.metadata!.name || claim.metadata?.annotations?.[ANN_BIND_COMPLETED] !== 'yes') {
      const annotations: Record<string, string> = { ...claim.metadata?.annotations, [ANN_BIND_COMPLETED]: 'yes' };
      if (!claim.spec?.volumeName) annotations[ANN_BOUND_BY_CONTROLLER] = 'yes';
      const updated = await patchClaim(claim, { metadata: { annotations }, spec: { volumeName: pv.metadata!.name } });
      if (!updated) return;
      claim = updated;
    }
    if (claim.status?.phase !== 'Bound') {
      await client.update(
        PERSISTENT_VOLUME_CLAIMS,
        md.namespace,
        { ...claim, status: { ...claim.status, phase: 'Bound', accessModes: pv.spec?.accessModes, capacity: pv.spec?.capacity } } as PVC,
        { subresource: 'status' },
      );
    }
  }

  async function syncVolume(name: string): Promise<ReconcileResult> {
    let pv = volumes.get(undefined, name);
    if (!pv) return;
    const ref = pv.spec?.claimRef;
    const claim = ref?.name ? claims.get(ref.namespace, ref.name) : undefined;
    if (pv.metadata?.deletionTimestamp) {
      // pv-protection: a volume goes once no claim is bound to it.
      const inUse = claim && !isReleased(pv, claim) && claim.spec?.volumeName === name;
      if (pv.metadata.finalizers?.includes(PV_PROTECTION) && !inUse) {
        await client.patch(PERSISTENT_VOLUMES, undefined, name, 'merge', { metadata: { finalizers: pv.metadata.finalizers.filter((f) => f !== PV_PROTECTION), resourceVersion: pv.metadata.resourceVersion } });
      }
      return;
    }
    if (!pv.metadata?.finalizers?.includes(PV_PROTECTION)) {
      pv = (await client.patch(PERSISTENT_VOLUMES, undefined, name, 'merge', { metadata: { finalizers: [...(pv.metadata?.finalizers ?? []), PV_PROTECTION], resourceVersion: pv.metadata!.resourceVersion } })) as PV;
    }
    if (!ref) {
      if (pv.status?.phase !== 'Available') await setVolumePhase(pv, 'Available');
      return;
    }
    if (isReleased(pv, claim)) {
      if (pv.status?.phase !== 'Released' && pv.status?.phase !== 'Failed') pv = await setVolumePhase(pv, 'Released');
      if (pv.spec?.persistentVolumeReclaimPolicy === 'Delete') {
        try {
          await client.delete(PERSISTENT_VOLUMES, undefined, name);
        } catch (err) {
          if (!isReason(err, 'NotFound')) throw err;
        }
      }
      return;
    }
    // Pre-bound to a claim (or provisioned for it): the claim's sync does the binding.
    if (claim) q.add(`claim:${keyOf(claim)}`);
  }

  async function patchClaim(claim: PVC, patch: Record<string, unknown>): Promise<PVC | undefined> {
    try {
      return (await client.patch(PERSISTENT_VOLUME_CLAIMS, claim.metadata!.namespace, claim.metadata!.name!, 'merge', patch)) as PVC;
    } catch (err) {
      if (isReason(err, 'NotFound')) return undefined;
      throw err;
    }
  }

  async function setClaimPhase(claim: PVC, phase: string): Promise<void> {
    try {
      await client.update(PERSISTENT_VOLUME_CLAIMS, claim.metadata!.namespace, { ...claim, status: { ...claim.status, phase } } as PVC, { subresource: 'status' });
    } catch (err) {
      if (!isReason(err, 'NotFound')) throw err;
    }
  }

  async function setVolumePhase(pv: PV, phase: string): Promise<PV> {
    return (await client.update(PERSISTENT_VOLUMES, undefined, { ...pv, status: { ...pv.status, phase } } as PV, { subresource: 'status' })) as PV;
  }

  return qc;
}
