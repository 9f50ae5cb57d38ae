/**
 * StatefulSet controller, after upstream pkg/controller/statefulset (stateful_set_control.go):
 * pods `<sts>-<ordinal>` with stable names, hostname = pod name and subdomain =
 * spec.serviceName, one PersistentVolumeClaim `<template>-<sts>-<ordinal>` per
 * volumeClaimTemplate (created before the pod; there is no provisioner here, claims are only
 * created). OrderedReady creates one pod at a time in ascending order, waiting for each to be
 * Running and Ready (and available after minReadySeconds), and removes surplus pods one at a
 * time from the highest ordinal; Parallel creates and deletes without waiting. Templates are
 * versioned by ControllerRevisions `<sts>-<hash>`; RollingUpdate replaces pods from the highest
 * ordinal down to spec.updateStrategy.rollingUpdate.partition, one at a time, each once its
 * successor is healthy; pods below the partition are (re)created at currentRevision. OnDelete
 * only uses the update revision for pods that were deleted. Not implemented: maxUnavailable
 * (alpha upstream) and the whenScaled PVC retention policy (claims are kept).
 */
import type { ControllerRevision, StatefulSet, StatefulSetStatus } from 'kubernetes-types/apps/v1.js';
import type { PersistentVolumeClaim, Pod, PodTemplateSpec, Volume } from 'kubernetes-types/core/v1.js';
import { isReason } from '../api/errors.js';
import { selectorFromLabelSelector } from '../api/labels.js';
import { keyOf, splitKey, INDEX_OWNER_UID, type Informer } from '../client/informer.js';
import { CONTROLLER_REVISIONS, PERSISTENT_VOLUME_CLAIMS, PODS, STATEFULSETS } from '../client/resources.js';
import type { KObject } from '../client/types.js';
import { QueueController, type ReconcileResult } from './base.js';
import { templateHash } from './daemonset.js';
import type { Controller, ControllerContext } from './types.js';
import { canonicalJSON, copy, errText, isPodAvailable, isPodReady, newControllerRef, resolveControllerRef } from './util.js';

type SS = StatefulSet & KObject;
type P = Pod & KObject;
type CR = ControllerRevision & KObject;
type PVC = PersistentVolumeClaim & KObject;

export const STS_POD_NAME_LABEL = 'statefulset.kubernetes.io/pod-name';
export const POD_INDEX_LABEL = 'apps.kubernetes.io/pod-index';
export const REVISION_LABEL = 'controller-revision-hash';

/** The ordinal in `<sts>-<ordinal>`, or -1. */
export function ordinalOf(sts: StatefulSet, pod: Pod): number {
  const prefix = `${sts.metadata!.name}-`;
  const n = pod.metadata?.name ?? '';
  if (!n.startsWith(prefix) || !/^(0|[1-9]\d*)$/.test(n.slice(prefix.length))) return -1;
  return Number(n.slice(prefix.length));
}

export const claimName = (template: string, sts: string, ordinal: number) => `${template}-${sts}-${ordinal}`;

const runningAndReady = (p: Pod) => p.status?.phase === 'Running' && isPodReady(p);
const terminated = (p: Pod) => p.status?.phase === 'Failed' || p.status?.phase === 'Succeeded';

export interface StatefulSetController extends Controller { readonly queue: QueueController['queue'] }

export function newStatefulSetController(ctx: ControllerContext): StatefulSetController {
  const { client, clock } = ctx;
  const ssInf = ctx.informers.informerFor<SS>(STATEFULSETS);
  const podInf = ctx.informers.informerFor<P>(PODS);
  const pvcInf = ctx.informers.informerFor<PVC>(PERSISTENT_VOLUME_CLAIMS);
  const crInf = ctx.informers.informerFor<CR>(CONTROLLER_REVISIONS);
  const recorder = ctx.recorder('statefulset-controller');
  const qc = new QueueController('statefulset', ctx, [ssInf, podInf, pvcInf, crInf] as Informer<KObject>[], sync);
  const q = qc.queue;
  /** Pods created or deleted but not yet seen in the cache: "ns/name" → expected presence. */
  const pending = new Map<string, boolean>();

  const ssForPod = (p: P): SS | undefined => resolveControllerRef(ssInf, p, 'StatefulSet');
  const onPod = (p: P) => {
    const s = ssForPod(p);
    if (!s) return;
    q.add(keyOf(s));
    const mrs = s.spec?.minReadySeconds ?? 0;
    if (mrs > 0 && isPodReady(p)) q.addAfter(keyOf(s), mrs * 1000 + 1000);
  };
  ssInf.addEventHandler({ onAdd: (s) => q.add(keyOf(s)), onUpdate: (_o, s) => q.add(keyOf(s)) });
  podInf.addEventHandler({ onAdd: onPod, onUpdate: (_o, p) => onPod(p), onDelete: onPod });

  async function sync(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const cached = ssInf.get(namespace, name);
    if (!cached) return;
    const sts = copy(cached) as SS;
    if (sts.metadata?.deletionTimestamp) return;
    const ns = sts.metadata!.namespace!;
    const selector = selectorFromLabelSelector(sts.spec?.selector);
    const { currentRevision, updateRevision, currentTemplate } = await ensureRevisions(sts);
    const all = podInf.byIndex(INDEX_OWNER_UID, sts.metadata!.uid!).filter((p) => selector.matches(p.metadata?.labels));
    // Drop "pending" marks the cache has caught up with.
    for (const [k, present] of pending) {
      const { namespace: pns, name: pn } = splitKey(k);
      if (pns !== ns || !pn.startsWith(`${name}-`)) continue;
      if (!!podInf.get(pns, pn) === present) pending.delete(k);
    }
    const replicas = sts.spec?.replicas ?? 1;
    const start = sts.spec?.ordinals?.start ?? 0;
    const parallel = sts.spec?.podManagementPolicy === 'Parallel';
    const mrs = sts.spec?.minReadySeconds ?? 0;
    const now = clock.now();
    const byOrdinal = new Map<number, P>();
    const condemned: P[] = [];
    for (const p of all) {
      const o = ordinalOf(sts, p);
      if (o < 0) continue;
      if (o >= start && o < start + replicas) byOrdinal.set(o, p);
      else condemned.push(p);
    }
    condemned.sort((a, b) => ordinalOf(sts, b) - ordinalOf(sts, a));
    const rev = (p: Pod) => p.metadata?.labels?.[REVISION_LABEL];
    const healthy = (p: Pod) => runningAndReady(p) && isPodAvailable(p, mrs, now) && !p.metadata?.deletionTimestamp;
    const partition = sts.spec?.updateStrategy?.type === 'RollingUpdate' ? (sts.spec.updateStrategy.rollingUpdate?.partition ?? 0) : 0;

    let err: Error | undefined;
    let waiting = false;
    const act = async (fn: () => Promise<void>) => {
      try { await fn(); } catch (e) { err ??= e as Error; }
    };

    // Replicas, ascending.
    for (let o = start; o < start + replicas && !waiting; o++) {
      const pod = byOrdinal.get(o);
      const podKey = `${ns}/${name}-${o}`;
      if (pending.has(podKey)) { if (!parallel) waiting = true; continue; }
      if (pod && terminated(pod) && !pod.metadata?.deletionTimestamp) {
        await act(() => deletePod(sts, pod, `Pod ${pod.metadata!.name} in StatefulSet ${name} is ${pod.status?.phase}, deleting it`));
        if (!parallel) waiting = true;
        continue;
      }
      if (!pod) {
        const useCurrent = sts.spec?.updateStrategy?.type !== 'OnDelete' && o < start + partition && currentRevision !== updateRevision;
        await act(() => createPod(sts, o, useCurrent ? currentTemplate : sts.spec!.template, useCurrent ? currentRevision : updateRevision));
        if (!parallel) waiting = true;
        continue;
      }
      if (!parallel && !healthy(pod)) waiting = true;
    }
    // Condemned, descending: OrderedReady waits until every other pod is healthy, one at a time.
    if (!waiting) {
      for (const pod of condemned) {
        if (pod.metadata?.deletionTimestamp) { if (!parallel) { waiting = true; break; } continue; }
        if (!parallel && [...byOrdinal.values(), ...condemned].some((p) => p !== pod && !healthy(p) && !terminated(p))) { waiting = true; break; }
        await act(() => deletePod(sts, pod));
        if (!parallel) { waiting = true; break; }
      }
    }
    // RollingUpdate from the highest ordinal down to the partition, one at a time.
    if (!waiting && !err && sts.spec?.updateStrategy?.type !== 'OnDelete' && byOrdinal.size === replicas) {
      for (let o = start + replicas - 1; o >= start + partition; o--) {
        const pod = byOrdinal.get(o)!;
        if (rev(pod) !== updateRevision && !pod.metadata?.deletionTimestamp) {
          await act(() => deletePod(sts, pod));
          break;
        }
        if (!healthy(pod)) break;
      }
    }

    // Status.
    const present = all.filter((p) => ordinalOf(sts, p) >= 0);
    const status: StatefulSetStatus = {
      observedGeneration: sts.metadata?.generation,
      replicas: present.length,
      readyReplicas: present.filter((p) => runningAndReady(p)).length,
      availableReplicas: present.filter((p) => runningAndReady(p) && isPodAvailable(p, mrs, now)).length,
      currentReplicas: present.filter((p) => rev(p) === currentRevision).length,
      updatedReplicas: present.filter((p) => rev(p) === updateRevision).length,
      currentRevision,
      updateRevision,
      collisionCount: sts.status?.collisionCount ?? 0,
      ...(sts.status?.conditions ? { conditions: copy(sts.status.conditions) } : {}),
    };
    if (status.updatedReplicas === replicas && status.readyReplicas === replicas && status.replicas === replicas) {
      status.currentRevision = updateRevision;
      status.currentReplicas = status.updatedReplicas;
    }
    if (canonicalJSON(status) !== canonicalJSON(sts.status ?? {})) {
      try {
        await client.update(STATEFULSETS, ns, { ...sts, status }, { subresource: 'status' });
      } catch (e) {
        if (!isReason(e, 'NotFound')) throw e;
      }
    }
    if (err) throw err;
    if (mrs > 0 && status.availableReplicas !== status.readyReplicas) return { requeueAfterMs: mrs * 1000 };
  }

  async function createPod(sts: SS, ordinal: number, template: PodTemplateSpec | undefined, revision: string): Promise<void> {
    const ns = sts.metadata!.namespace!;
    const stsName = sts.metadata!.name!;
    const podName = `${stsName}-${ordinal}`;
    // Claims first (upstream createPersistentVolumeClaims).
    const volumes: Volume[] = [];
    for (const t of sts.spec?.volumeClaimTemplates ?? []) {
      const cn = claimName(t.metadata!.name!, stsName, ordinal);
      volumes.push({ name: t.metadata!.name!, persistentVolumeClaim: { claimName: cn } });
      if (pvcInf.get(ns, cn)) continue;
      const pvc: PVC = {
        apiVersion: 'v1', kind: 'PersistentVolumeClaim',
        metadata: {
          name: cn, namespace: ns,
          labels: { ...(t.metadata?.labels ?? {}), ...(sts.spec?.selector?.matchLabels ?? {}) },
          ...(t.metadata?.annotations ? { annotations: copy(t.metadata.annotations) } : {}),
          ...(sts.spec?.persistentVolumeClaimRetentionPolicy?.whenDeleted === 'Delete' ? { ownerReferences: [newControllerRef(sts, 'apps/v1', 'StatefulSet')] } : {}),
        },
        spec: copy(t.spec ?? {}),
      };
      try {
        await client.create(PERSISTENT_VOLUME_CLAIMS, ns, pvc);
        recorder.event(sts, 'Normal', 'SuccessfulCreate', `create Claim ${cn} Pod ${podName} in StatefulSet ${stsName} success`);
      } catch (err) {
        if (!isReason(err, 'AlreadyExists')) {
          recorder.event(sts, 'Warning', 'FailedCreate', `create Claim ${cn} for Pod ${podName} in StatefulSet ${stsName} failed error: ${errText(err)}`);
          throw err;
        }
      }
    }
    const t = copy(template ?? {});
    const spec = t.spec ?? { containers: [] };
    const claimNames = new Set(volumes.map((v) => v.name));
    spec.volumes = [...(spec.volumes ?? []).filter((v) => !claimNames.has(v.name)), ...volumes];
    if (!spec.volumes.length) delete spec.volumes;
    spec.hostname = podName;
    if (sts.spec?.serviceName) spec.subdomain = sts.spec.serviceName;
    const pod: P = {
      apiVersion: 'v1', kind: 'Pod',
      metadata: {
        name: podName, namespace: ns,
        labels: { ...(t.metadata?.labels ?? {}), [STS_POD_NAME_LABEL]: podName, [POD_INDEX_LABEL]: String(ordinal), [REVISION_LABEL]: revision },
        ...(t.metadata?.annotations ? { annotations: t.metadata.annotations } : {}),
        ownerReferences: [newControllerRef(sts, 'apps/v1', 'StatefulSet')],
      },
      spec,
    };
    pending.set(`${ns}/${podName}`, true);
    try {
      await client.create(PODS, ns, pod);
      recorder.event(sts, 'Normal', 'SuccessfulCreate', `create Pod ${podName} in StatefulSet ${stsName} successful`);
    } catch (err) {
      pending.delete(`${ns}/${podName}`);
      if (isReason(err, 'AlreadyExists')) return; // the cache will show it
      recorder.event(sts, 'Warning', 'FailedCreate', `create Pod ${podName} in StatefulSet ${stsName} failed error: ${errText(err)}`);
      throw err;
    }
  }

  async function deletePod(sts: SS, pod: P, why?: string): Promise<void> {
    const k = keyOf(pod);
    if (why) recorder.event(sts, 'Warning', 'RecreatingFailedPod', why);
    try {
      await client.delete(PODS, pod.metadata!.namespace, pod.metadata!.name!, { preconditions: { uid: pod.metadata!.uid } });
      pending.set(k, false);
      recorder.event(sts, 'Normal', 'SuccessfulDelete', `delete Pod ${pod.metadata!.name} in StatefulSet ${sts.metadata!.name} successful`);
    } catch (err) {
      if (isReason(err, 'NotFound') || isReason(err, 'Conflict')) return;
      recorder.event(sts, 'Warning', 'FailedDelete', `delete Pod ${pod.metadata!.name} in StatefulSet ${sts.metadata!.name} failed error: ${errText(err)}`);
      throw err;
    }
  }

  /** The update revision (created if missing) and the current one with its template. */
  async function ensureRevisions(sts: SS): Promise<{ currentRevision: string; updateRevision: string; currentTemplate: PodTemplateSpec | undefined }> {
    const ns = sts.metadata!.namespace!;
    const hash = templateHash(sts.spec?.template, sts.status?.collisionCount ?? 0);
    const updateRevision = `${sts.metadata!.name}-${hash}`;
    const revs = crInf.byIndex(INDEX_OWNER_UID, sts.metadata!.uid!);
    const maxRev = Math.max(0, ...revs.map((r) => r.revision ?? 0));
    const mine = revs.find((r) => r.metadata?.name === updateRevision);
    if (!mine) {
      try {
        await client.create(CONTROLLER_REVISIONS, ns, {
          apiVersion: 'apps/v1', kind: 'ControllerRevision',
          metadata: {
            name: updateRevision, namespace: ns,
            labels: { ...(sts.spec?.template?.metadata?.labels ?? {}), [REVISION_LABEL]: hash },
            ownerReferences: [newControllerRef(sts, 'apps/v1', 'StatefulSet')],
          },
          data: { spec: { template: { ...copy(sts.spec?.template ?? {}), $patch: 'replace' } } },
          revision: maxRev + 1,
        } satisfies CR);
      } catch (err) {
        if (!isReason(err, 'AlreadyExists')) throw err;
      }
    } else if ((mine.revision ?? 0) < maxRev) {
      await client.patch(CONTROLLER_REVISIONS, ns, updateRevision, 'merge', { revision: maxRev + 1 });
    }
    const currentRevision = sts.status?.currentRevision || updateRevision;
    const cur = revs.find((r) => r.metadata?.name === currentRevision);
    const data = cur?.data as { spec?: { template?: PodTemplateSpec & { $patch?: string } } } | undefined;
    let currentTemplate: PodTemplateSpec | undefined = sts.spec?.template;
    if (data?.spec?.template) {
      const { $patch: _p, ...tmpl } = data.spec.template;
      currentTemplate = tmpl;
    }
    // History: keep revisionHistoryLimit revisions besides the current and update ones and those in use.
    const limit = sts.spec?.revisionHistoryLimit ?? 10;
    const inUse = new Set(podInf.byIndex(INDEX_OWNER_UID, sts.metadata!.uid!).map((p) => p.metadata?.labels?.[REVISION_LABEL]));
    const old = revs.filter((r) => r.metadata?.name !== updateRevision && r.metadata?.name !== currentRevision && !inUse.has(r.metadata?.name))
      .sort((a, b) => (a.revision ?? 0) - (b.revision ?? 0));
    for (const r of old.slice(0, Math.max(0, old.length - limit))) {
      try { await client.delete(CONTROLLER_REVISIONS, ns, r.metadata!.name!); } catch (err) { if (!isReason(err, 'NotFound')) throw err; }
    }
    return { currentRevision, updateRevision, currentTemplate };
  }

  return qc as StatefulSetController;
}
