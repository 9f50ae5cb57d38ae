/**
 * DaemonSet controller, after upstream pkg/controller/daemon: one pod per eligible node.
 * A node is eligible when the template's nodeSelector and required node affinity match it and
 * its NoSchedule/NoExecute taints are tolerated (template tolerations plus the default daemon
 * tolerations); a pod already running stays while only NoSchedule taints are untolerated.
 * Pods are pinned with required node affinity `matchFields metadata.name In [node]` (as
 * upstream) and bound by the scheduler. Templates are versioned by ControllerRevisions
 * `<ds>-<hash>` whose hash labels the pods (controller-revision-hash). RollingUpdate replaces
 * old pods node by node within maxUnavailable (maxSurge is not implemented: with maxSurge > 0
 * the update proceeds as with maxUnavailable 1); OnDelete leaves them. Failed daemon pods are
 * deleted and recreated.
 */
import type { ControllerRevision, DaemonSet, DaemonSetStatus } from 'kubernetes-types/apps/v1.js';
import type { Node, Pod, Toleration } from 'kubernetes-types/core/v1.js';
import { isReason } from '../api/errors.js';
import { selectorFromLabelSelector } from '../api/labels.js';
import { keyOf, splitKey, INDEX_OWNER_UID, type Informer } from '../client/informer.js';
import { CONTROLLER_REVISIONS, DAEMONSETS, NODES, PODS } from '../client/resources.js';
import type { KObject } from '../client/types.js';
import { nodeView, podMatchesNodeSelectorAndAffinity } from '../api/scheduling/node-affinity.js';
import { tolerationsTolerateTaint } from '../api/scheduling/taints.js';
import { QueueController, type ReconcileResult } from './base.js';
import { Expectations } from './expectations.js';
import type { Controller, ControllerContext } from './types.js';
import { canonicalJSON, controllerRef, copy, errText, fnv32a, isPodAvailable, isPodReady, newControllerRef, safeEncodeString, scaledValue } from './util.js';

type DS = DaemonSet & KObject;
type P = Pod & KObject;
type N = Node & KObject;
type CR = ControllerRevision & KObject;

export const CONTROLLER_REVISION_HASH_LABEL = 'controller-revision-hash';
export const POD_TEMPLATE_GENERATION_LABEL = 'pod-template-generation';
const TEMPLATE_GENERATION_ANNOTATION = 'deprecated.daemonset.template.generation';

/** The tolerations upstream adds to every daemon pod (AddOrUpdateDaemonPodTolerations). */
export function daemonPodTolerations(hostNetwork: boolean): Toleration[] {
  const t = (key: string, effect: string): Toleration => ({ key, operator: 'Exists', effect });
  return [
    t('node.kubernetes.io/not-ready', 'NoExecute'),
    t('node.kubernetes.io/unreachable', 'NoExecute'),
    t('node.kubernetes.io/disk-pressure', 'NoSchedule'),
    t('node.kubernetes.io/memory-pressure', 'NoSchedule'),
    t('node.kubernetes.io/pid-pressure', 'NoSchedule'),
    t('node.kubernetes.io/unschedulable', 'NoSchedule'),
    ...(hostNetwork ? [t('node.kubernetes.io/network-unavailable', 'NoSchedule')] : []),
  ];
}

function withDefaultTolerations(existing: Toleration[] | undefined, hostNetwork: boolean): Toleration[] {
  const out = [...(existing ?? [])];
  for (const d of daemonPodTolerations(hostNetwork)) {
    if (!out.some((x) => x.key === d.key && x.effect === d.effect && x.operator === 'Exists')) out.push(d);
  }
  return out;
}

/** The hash naming a template's ControllerRevision (upstream ComputeHash, FNV over the template). */
export function templateHash(template: unknown, collisionCount = 0): string {
  let h = fnv32a(new TextEncoder().encode(canonicalJSON(template)));
  if (collisionCount) h = fnv32a(new TextEncoder().encode(String(collisionCount)), h);
  return safeEncodeString(String(h));
}

/** Whether a daemon pod should be placed on / keep running on the node (upstream NodeShouldRunDaemonPod). */
export function nodeShouldRunDaemonPod(node: Node, ds: DaemonSet, probe?: Pod): { shouldRun: boolean; shouldContinueRunning: boolean } {
  const pod: Pod = probe ?? { spec: { ...(ds.spec?.template?.spec ?? { containers: [] }) } };
  const no = { shouldRun: false, shouldContinueRunning: false };
  if (!podMatchesNodeSelectorAndAffinity(pod, nodeView(node))) return no;
  const tolerations = withDefaultTolerations(pod.spec?.tolerations, !!pod.spec?.hostNetwork);
  let shouldRun = true;
  for (const taint of node.spec?.taints ?? []) {
    if (taint.effect !== 'NoSchedule' && taint.effect !== 'NoExecute') continue;
    if (tolerationsTolerateTaint(tolerations, taint)) continue;
    if (taint.effect === 'NoExecute') return no;
    shouldRun = false;
  }
  return { shouldRun, shouldContinueRunning: true };
}

/** The node a daemon pod is (or will be) on: spec.nodeName, else its matchFields metadata.name. */
export function daemonPodNode(p: Pod): string | undefined {
  if (p.spec?.nodeName) return p.spec.nodeName;
  for (const term of p.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? []) {
    for (const f of term.matchFields ?? []) if (f.key === 'metadata.name' && f.operator === 'In' && f.values?.length === 1) return f.values[0];
  }
  return undefined;
}

export interface DaemonSetController extends Controller {
  readonly queue: QueueController['queue'];
  readonly expectations: Expectations;
}

export function newDaemonSetController(ctx: ControllerContext): DaemonSetController {
  const { client, clock } = ctx;
  const dsInf = ctx.informers.informerFor<DS>(DAEMONSETS);
  const podInf = ctx.informers.informerFor<P>(PODS);
  const nodeInf = ctx.informers.informerFor<N>(NODES);
  const crInf = ctx.informers.informerFor<CR>(CONTROLLER_REVISIONS);
  const recorder = ctx.recorder('daemonset-controller');
  const burst = ctx.options.burstReplicas ?? 250;
  const expectations = new Expectations(clock);
  const qc = new QueueController('daemonset', ctx, [dsInf, podInf, nodeInf, crInf] as Informer<KObject>[], sync);
  const q = qc.queue;

  const dsForPod = (p: P): DS | undefined => {
    const ref = controllerRef(p);
    if (!ref || ref.kind !== 'DaemonSet') return undefined;
    const ds = dsInf.get(p.metadata?.namespace, ref.name);
    return ds && ds.metadata?.uid === ref.uid ? ds : undefined;
  };
  const onPodDelete = (p: P) => {
    const ds = dsForPod(p);
    if (!ds) return;
    expectations.deletionObserved(keyOf(ds), keyOf(p));
    q.add(keyOf(ds));
  };
  const all = () => { for (const ds of dsInf.list()) q.add(keyOf(ds)); };
  dsInf.addEventHandler({
    onAdd: (ds) => q.add(keyOf(ds)),
    onUpdate: (_o, ds) => q.add(keyOf(ds)),
    onDelete: (ds) => expectations.delete(keyOf(ds)),
  });
  podInf.addEventHandler({
    onAdd: (p) => {
      if (p.metadata?.deletionTimestamp) return onPodDelete(p);
      const ds = dsForPod(p);
      if (ds) { expectations.creationObserved(keyOf(ds)); q.add(keyOf(ds)); }
    },
    onUpdate: (o, p) => {
      if (p.metadata?.deletionTimestamp && !o.metadata?.deletionTimestamp) return onPodDelete(p);
      const ds = dsForPod(p);
      if (!ds) return;
      q.add(keyOf(ds));
      const mrs = ds.spec?.minReadySeconds ?? 0;
      if (mrs > 0 && !isPodReady(o) && isPodReady(p)) q.addAfter(keyOf(ds), mrs * 1000 + 1000);
    },
    onDelete: onPodDelete,
  });
  nodeInf.addEventHandler({
    onAdd: all,
    onUpdate: (o, n) => {
      if (JSON.stringify(o.metadata?.labels) !== JSON.stringify(n.metadata?.labels) || JSON.stringify(o.spec?.taints) !== JSON.stringify(n.spec?.taints)) all();
    },
    onDelete: all,
  });

  async function sync(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const ds = dsInf.get(namespace, name);
    if (!ds) { expectations.delete(key); return; }
    if (ds.metadata?.deletionTimestamp) return;
    const selector = selectorFromLabelSelector(ds.spec?.selector);
    const { hash } = await ensureRevision(ds);
    const pods = podInf.byIndex(INDEX_OWNER_UID, ds.metadata!.uid!).filter((p) => selector.matches(p.metadata?.labels));
    const byNode = new Map<string, P[]>();
    for (const p of pods) {
      const n = daemonPodNode(p);
      if (!n) continue;
      const list = byNode.get(n) ?? [];
      list.push(p);
      byNode.set(n, list);
    }
    const nodes = nodeInf.list();
    const probe: Pod = { spec: { ...(ds.spec?.template?.spec ?? { containers: [] }) } };
    const now = clock.now();
    const mrs = ds.spec?.minReadySeconds ?? 0;
    const toCreate: string[] = [];
    const toDelete: P[] = [];
    const running = new Map<string, P>(); // node → the pod kept there
    let desired = 0; let current = 0; let misscheduled = 0; let ready = 0; let updated = 0; let available = 0;
    let failedSeen = false;
    for (const node of nodes) {
      const nodeName = node.metadata!.name!;
      const { shouldRun, shouldContinueRunning } = nodeShouldRunDaemonPod(node, ds, probe);
      const onNode = (byNode.get(nodeName) ?? []).filter((p) => !p.metadata?.deletionTimestamp);
      if (shouldRun) desired++;
      if (onNode.length && (shouldRun || shouldContinueRunning)) {
        if (shouldRun) current++;
      } else if (onNode.length) misscheduled++;
      if (shouldRun && onNode.length === 0) { toCreate.push(nodeName); continue; }
      if (!shouldContinueRunning) { toDelete.push(...onNode); continue; }
      if (!onNode.length) continue;
      // Failed pods are deleted (and recreated next time); keep the oldest of several.
      const live: P[] = [];
      for (const p of onNode) {
        if (p.status?.phase === 'Failed') { toDelete.push(p); failedSeen = true; } else live.push(p);
      }
      live.sort((a, b) => (Date.parse(a.metadata?.creationTimestamp ?? '') || 0) - (Date.parse(b.metadata?.creationTimestamp ?? '') || 0));
      toDelete.push(...live.slice(1));
      if (!live.length) continue;
      const keep = live[0];
      running.set(nodeName, keep);
      if (!shouldRun) continue;
      if (isPodReady(keep)) ready++;
      if (isPodAvailable(keep, mrs, now)) available++;
      if (keep.metadata?.labels?.[CONTROLLER_REVISION_HASH_LABEL] === hash) updated++;
    }

    // RollingUpdate: replace old pods while at most maxUnavailable nodes lack an available pod.
    if (ds.spec?.updateStrategy?.type !== 'OnDelete') {
      const maxUnavailable = Math.max(1, scaledValue(ds.spec?.updateStrategy?.rollingUpdate?.maxUnavailable, desired, true, 1) || 0);
      let unavailable = toCreate.length;
      const old: P[] = [];
      for (const [, p] of running) {
        if (!isPodAvailable(p, mrs, now)) unavailable++;
        if (p.metadata?.labels?.[CONTROLLER_REVISION_HASH_LABEL] !== hash) old.push(p);
      }
      for (const p of old) {
        if (!isPodAvailable(p, mrs, now)) { toDelete.push(p); continue; } // already counted as unavailable
        if (unavailable >= maxUnavailable) continue;
        toDelete.push(p);
        unavailable++;
      }
    }

    let err: Error | undefined;
    if (expectations.satisfied(key)) err = await manage(ds, key, hash, toCreate.slice(0, burst), toDelete.slice(0, burst));

    const status: DaemonSetStatus = {
      ...(ds.status?.collisionCount !== undefined ? { collisionCount: ds.status.collisionCount } : {}),
      ...(ds.status?.conditions ? { conditions: copy(ds.status.conditions) } : {}),
      currentNumberScheduled: current,
      desiredNumberScheduled: desired,
      numberMisscheduled: misscheduled,
      numberReady: ready,
      updatedNumberScheduled: updated,
      numberAvailable: available,
      numberUnavailable: Math.max(0, desired - available),
      observedGeneration: ds.metadata?.generation,
    };
    if (canonicalJSON(status) !== canonicalJSON({ ...ds.status, numberAvailable: ds.status?.numberAvailable ?? 0, numberUnavailable: ds.status?.numberUnavailable ?? 0 })) {
      try {
        await client.update(DAEMONSETS, ds.metadata!.namespace, { ...copy(ds), status }, { subresource: 'status' });
      } catch (e) {
        if (!isReason(e, 'NotFound')) throw e;
      }
    }
    if (err) throw err;
    if (failedSeen) return { requeueAfterMs: 1000 };
    if (mrs > 0 && ready !== available) return { requeueAfterMs: mrs * 1000 };
  }

  async function manage(ds: DS, key: string, hash: string, nodesToCreate: string[], toDelete: P[]): Promise<Error | undefined> {
    let firstErr: Error | undefined;
    expectations.expectCreations(key, nodesToCreate.length);
    expectations.expectDeletions(key, toDelete.map(keyOf));
    // Creations in slow-start batches as upstream.
    let i = 0;
    for (let batch = Math.min(1, nodesToCreate.length); batch > 0 && !firstErr; batch = Math.min(2 * batch, nodesToCreate.length - i)) {
      const slice = nodesToCreate.slice(i, i + batch);
      i += batch;
      await Promise.all(slice.map(async (node) => {
        try {
          const created = await client.create<P>(PODS, ds.metadata!.namespace, daemonPod(ds, node, hash));
          recorder.event(ds, 'Normal', 'SuccessfulCreate', `Created pod: ${created.metadata!.name}`);
        } catch (err) {
          expectations.lowerCreations(key, 1);
          recorder.event(ds, 'Warning', 'FailedCreate', `Error creating: ${errText(err)}`);
          firstErr ??= err as Error;
        }
      }));
    }
    if (i < nodesToCreate.length) expectations.lowerCreations(key, nodesToCreate.length - i);
    await Promise.all(toDelete.map(async (p) => {
      try {
        await client.delete(PODS, p.metadata!.namespace, p.metadata!.name!);
        recorder.event(ds, 'Normal', 'SuccessfulDelete', `Deleted pod: ${p.metadata!.name}`);
      } catch (err) {
        expectations.deletionObserved(key, keyOf(p));
        if (isReason(err, 'NotFound')) return;
        recorder.event(ds, 'Warning', 'FailedDelete', `Error deleting: ${errText(err)}`);
        firstErr ??= err as Error;
      }
    }));
    return firstErr;
  }

  function daemonPod(ds: DS, node: string, hash: string): P {
    const t = copy(ds.spec?.template ?? {});
    const spec = t.spec ?? { containers: [] };
    spec.tolerations = withDefaultTolerations(spec.tolerations, !!spec.hostNetwork);
    spec.affinity = {
      ...(spec.affinity ?? {}),
      nodeAffinity: {
        ...(spec.affinity?.nodeAffinity ?? {}),
        requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [node] }] }] },
      },
    };
    const gen = ds.metadata?.annotations?.[TEMPLATE_GENERATION_ANNOTATION];
    return {
      apiVersion: 'v1', kind: 'Pod',
      metadata: {
        generateName: `${ds.metadata!.name}-`,
        namespace: ds.metadata!.namespace,
        labels: { ...(t.metadata?.labels ?? {}), [CONTROLLER_REVISION_HASH_LABEL]: hash, ...(gen ? { [POD_TEMPLATE_GENERATION_LABEL]: gen } : {}) },
        ...(t.metadata?.annotations ? { annotations: t.metadata.annotations } : {}),
        ownerReferences: [newControllerRef(ds, 'apps/v1', 'DaemonSet')],
      },
      spec,
    };
  }

  /** Makes sure the current template has a ControllerRevision with the highest revision; trims history. */
  async function ensureRevision(ds: DS): Promise<{ hash: string }> {
    const hash = templateHash(ds.spec?.template, ds.status?.collisionCount ?? 0);
    const revs = crInf.byIndex(INDEX_OWNER_UID, ds.metadata!.uid!);
    const maxRev = Math.max(0, ...revs.map((r) => r.revision ?? 0));
    const name = `${ds.metadata!.name}-${hash}`;
    const mine = revs.find((r) => r.metadata?.name === name);
    if (!mine) {
      const cr: CR = {
        apiVersion: 'apps/v1', kind: 'ControllerRevision',
        metadata: {
          name, namespace: ds.metadata!.namespace,
          labels: { ...(ds.spec?.template?.metadata?.labels ?? {}), [CONTROLLER_REVISION_HASH_LABEL]: hash },
          ownerReferences: [newControllerRef(ds, 'apps/v1', 'DaemonSet')],
        },
        data: { spec: { template: { ...copy(ds.spec?.template ?? {}), $patch: 'replace' } } },
        revision: maxRev + 1,
      };
      try {
        await client.create(CONTROLLER_REVISIONS, ds.metadata!.namespace, cr);
      } catch (err) {
        if (!isReason(err, 'AlreadyExists')) throw err;
      }
    } else if ((mine.revision ?? 0) < maxRev) {
      // A rollback to an older template: it becomes the newest revision.
      await client.patch(CONTROLLER_REVISIONS, ds.metadata!.namespace, name, 'merge', { revision: maxRev + 1 });
    }
    // History: keep revisionHistoryLimit old revisions not in use by any pod.
    const limit = ds.spec?.revisionHistoryLimit ?? 10;
    const inUse = new Set(podInf.byIndex(INDEX_OWNER_UID, ds.metadata!.uid!).map((p) => p.metadata?.labels?.[CONTROLLER_REVISION_HASH_LABEL]));
    const old = revs.filter((r) => r.metadata?.name !== name && !inUse.has(r.metadata?.labels?.[CONTROLLER_REVISION_HASH_LABEL]))
      .sort((a, b) => (a.revision ?? 0) - (b.revision ?? 0));
    for (const r of old.slice(0, Math.max(0, old.length - limit))) {
      try { await client.delete(CONTROLLER_REVISIONS, r.metadata!.namespace, r.metadata!.name!); } catch (err) { if (!isReason(err, 'NotFound')) throw err; }
    }
    return { hash };
  }

  return Object.assign(qc, { expectations }) as DaemonSetController;
}
