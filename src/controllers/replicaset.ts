/**
 * ReplicaSet controller, after upstream pkg/controller/replicaset: keeps the number of
 * active pods that a ReplicaSet controls equal to spec.replicas. Creates in slow-start
 * batches (1, 2, 4, …) so a failing template costs one request, not hundreds; tracks
 * expectations so it never double-creates before its pod cache catches up; adopts orphan
 * pods matching its selector and releases pods that stopped matching; deletes the pods that
 * matter least first (ActivePodsWithRanks); and writes status (replicas, fullyLabeledReplicas,
 * readyReplicas, availableReplicas, observedGeneration, ReplicaFailure condition).
 */
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { ReplicaSet, ReplicaSetCondition } from 'kubernetes-types/apps/v1.js';
import { isReason } from '../api/errors.js';
import { selectorFromLabelSelector, selectorFromSet } from '../api/labels.js';
import { rfc3339 } from '../util/clock.js';
import { keyOf, splitKey, INDEX_OWNER_UID, type Informer } from '../client/informer.js';
import { PODS, REPLICASETS } from '../client/resources.js';
import type { KObject } from '../client/types.js';
import { claimObjects, selectingControllers } from './controller-ref-manager.js';
import { QueueController, type ReconcileResult } from './base.js';
import { Expectations } from './expectations.js';
import type { Controller, ControllerContext } from './types.js';
import { controllerRef, copy, errText, isPodActive, isPodAvailable, isPodReady, maxRestarts, newControllerRef, podCondition, resolveControllerRef } from './util.js';

type RS = ReplicaSet & KObject;
type P = Pod & KObject;

const SLOW_START_INITIAL_BATCH = 1;
const DELETION_COST = 'controller.kubernetes.io/pod-deletion-cost';

/** The ReplicaSet controller plus handles tests use. */
export interface ReplicaSetController extends Controller {
  readonly queue: QueueController['queue'];
  readonly expectations: Expectations;
}

/**
 * Orders pods so that the ones to delete first come first (upstream ActivePodsWithRanks):
 * unassigned < assigned; Pending < Unknown < Running; not ready < ready; lower
 * pod-deletion-cost first; more co-located related pods first; more recently ready first;
 * more restarts first; newer first.
 */
export function comparePodsForDeletion(a: Pod, b: Pod, rankA = 0, rankB = 0): number {
  const assigned = (p: Pod) => (p.spec?.nodeName ? 1 : 0);
  if (assigned(a) !== assigned(b)) return assigned(a) - assigned(b);
  const phaseRank = (p: Pod) => ({ Pending: 0, Unknown: 1, Running: 2 } as Record<string, number>)[p.status?.phase ?? 'Pending'] ?? 0;
  if (phaseRank(a) !== phaseRank(b)) return phaseRank(a) - phaseRank(b);
  const ready = (p: Pod) => (isPodReady(p) ? 1 : 0);
  if (ready(a) !== ready(b)) return ready(a) - ready(b);
  const cost = (p: Pod) => Number(p.metadata?.annotations?.[DELETION_COST] ?? 0) || 0;
  if (cost(a) !== cost(b)) return cost(a) - cost(b);
  if (rankA !== rankB) return rankB - rankA;
  if (isPodReady(a) && isPodReady(b)) {
    const t = (p: Pod) => Date.parse(podCondition(p, 'Ready')?.lastTransitionTime ?? '') || 0;
    if (t(a) !== t(b)) return t(b) - t(a);
  }
  if (maxRestarts(a) !== maxRestarts(b)) return maxRestarts(b) - maxRestarts(a);
  const created = (p: Pod) => Date.parse(p.metadata?.creationTimestamp ?? '') || 0;
  if (created(a) !== created(b)) return created(b) - created(a);
  return 0;
}

/** Creates the ReplicaSet controller. */
export function newReplicaSetController(ctx: ControllerContext): ReplicaSetController {
  const { client, clock } = ctx;
  const rsInf = ctx.informers.informerFor<RS>(REPLICASETS);
  const podInf = ctx.informers.informerFor<P>(PODS);
  const recorder = ctx.recorder('replicaset-controller');
  const burst = ctx.options.burstReplicas ?? 500;
  const expectations = new Expectations(clock);
  const qc: QueueController = new QueueController('replicaset', ctx, [rsInf as Informer<KObject>, podInf as Informer<KObject>], sync);
  const q = qc.queue;

  const rsForRef = (pod: P): RS | undefined => resolveControllerRef(rsInf, pod, 'ReplicaSet');
  const matchingRSes = (pod: P): RS[] => selectingControllers(rsInf, pod);

  const onPodDelete = (pod: P) => {
    const rs = rsForRef(pod);
    if (!rs) return;
    const k = keyOf(rs);
    expectations.deletionObserved(k, keyOf(pod));
    q.add(k);
  };

  rsInf.addEventHandler({
    onAdd: (rs) => q.add(keyOf(rs)),
    onUpdate: (_o, rs) => q.add(keyOf(rs)),
    onDelete: (rs) => { expectations.delete(keyOf(rs)); q.add(keyOf(rs)); },
  });
  podInf.addEventHandler({
    onAdd: (pod) => {
      if (pod.metadata?.deletionTimestamp) { onPodDelete(pod); return; }
      const rs = rsForRef(pod);
      if (rs) { expectations.creationObserved(keyOf(rs)); q.add(keyOf(rs)); return; }
      if (!controllerRef(pod)) for (const r of matchingRSes(pod)) q.add(keyOf(r));
    },
    onUpdate: (old, cur) => {
      if (cur.metadata?.deletionTimestamp) {
        // A pod being deleted counts as deleted for expectations (upstream does the same).
        onPodDelete(cur);
        return;
      }
      const labelsChanged = JSON.stringify(old.metadata?.labels) !== JSON.stringify(cur.metadata?.labels);
      const oldRef = controllerRef(old);
      const curRef = controllerRef(cur);
      if (oldRef && oldRef.uid !== curRef?.uid) {
        const ors = rsForRef(old);
        if (ors) q.add(keyOf(ors));
      }
      const rs = rsForRef(cur);
      if (rs) {
        q.add(keyOf(rs));
        // A pod that just became ready becomes available minReadySeconds later.
        const mrs = rs.spec?.minReadySeconds ?? 0;
        if (mrs > 0 && !isPodReady(old) && isPodReady(cur)) q.addAfter(keyOf(rs), mrs * 1000 + 1000);
        return;
      }
      if (!curRef && (labelsChanged || oldRef)) for (const r of matchingRSes(cur)) q.add(keyOf(r));
    },
    onDelete: onPodDelete,
  });

  async function sync(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const rs = rsInf.get(namespace, name);
    if (!rs) { expectations.delete(key); return; }
    const needsSync = expectations.satisfied(key);
    const selector = selectorFromLabelSelector(rs.spec?.selector);
    const pods = await claimObjects({ client, owner: rs, ownerResource: REPLICASETS, ownerApiVersion: 'apps/v1', ownerKind: 'ReplicaSet', informer: podInf, resource: PODS, selector });
    const active = pods.filter(isPodActive);
    let manageErr: { err: Error; kind: 'FailedCreate' | 'FailedDelete' } | undefined;
    if (needsSync && !rs.metadata?.deletionTimestamp) manageErr = await manageReplicas(active, rs, key);
    const status = calculateStatus(rs, active, manageErr);
    const updated = await updateStatus(rs, status);
    if (manageErr) throw manageErr.err;
    const mrs = rs.spec?.minReadySeconds ?? 0;
    if (mrs > 0 && updated.readyReplicas === updated.replicas && updated.availableReplicas !== updated.replicas) {
      return { requeueAfterMs: mrs * 1000 };
    }
  }

  /** Adopts orphans that match, releases owned pods that no longer match (ControllerRefManager). */
  async function manageReplicas(active: P[], rs: RS, key: string): Promise<{ err: Error; kind: 'FailedCreate' | 'FailedDelete' } | undefined> {
    const want = rs.spec?.replicas ?? 1;
    let diff = active.length - want;
    if (diff < 0) {
      diff = Math.min(-diff, burst);
      expectations.expectCreations(key, diff);
      const { created, err } = await slowStartBatch(diff, SLOW_START_INITIAL_BATCH, () => createPod(rs));
      // Creations that were skipped or failed will never be observed.
      if (diff - created > 0) expectations.lowerCreations(key, diff - created);
      return err ? { err, kind: 'FailedCreate' } : undefined;
    }
    if (diff > 0) {
      diff = Math.min(diff, burst);
      const victims = podsToDelete(rs, active, diff);
      expectations.expectDeletions(key, victims.map(keyOf));
      const errs: Error[] = [];
      await Promise.all(victims.map(async (pod) => {
        try {
          await client.delete(PODS, pod.metadata!.namespace, pod.metadata!.name!);
          recorder.event(rs, 'Normal', 'SuccessfulDelete', `Deleted pod: ${pod.metadata!.name}`);
        } catch (err) {
          if (isReason(err, 'NotFound')) return;
          expectations.deletionObserved(key, keyOf(pod));
          recorder.event(rs, 'Warning', 'FailedDelete', `Error deleting: ${errText(err)}`);
          errs.push(err as Error);
        }
      }));
      return errs.length ? { err: errs[0], kind: 'FailedDelete' } : undefined;
    }
    return undefined;
  }

  function podsToDelete(rs: RS, active: P[], n: number): P[] {
    // Rank by how many pods of the same owner (e.g. all ReplicaSets of one Deployment) share the node.
    const owner = controllerRef(rs);
    const related: P[] = owner
      ? rsInf.byIndex(INDEX_OWNER_UID, owner.uid).flatMap((r) => podInf.byIndex(INDEX_OWNER_UID, r.metadata!.uid!)).filter(isPodActive)
      : active;
    const onNode = new Map<string, number>();
    for (const p of related) onNode.set(p.spec?.nodeName ?? '', (onNode.get(p.spec?.nodeName ?? '') ?? 0) + 1);
    const ranked = active.map((p) => ({ p, rank: onNode.get(p.spec?.nodeName ?? '') ?? 0 }));
    ranked.sort((a, b) => comparePodsForDeletion(a.p, b.p, a.rank, b.rank));
    return ranked.slice(0, n).map((x) => x.p);
  }

  async function createPod(rs: RS): Promise<void> {
    const t = rs.spec?.template ?? {};
    const pod: P = {
      apiVersion: 'v1', kind: 'Pod',
      metadata: {
        generateName: `${rs.metadata!.name}-`,
        namespace: rs.metadata!.namespace,
        labels: copy(t.metadata?.labels ?? {}),
        ...(t.metadata?.annotations ? { annotations: copy(t.metadata.annotations) } : {}),
        ...(t.metadata?.finalizers ? { finalizers: copy(t.metadata.finalizers) } : {}),
        ownerReferences: [newControllerRef(rs, 'apps/v1', 'ReplicaSet')],
      },
      spec: copy(t.spec ?? { containers: [] }),
    };
    try {
      const created = await client.create<P>(PODS, rs.metadata!.namespace, pod);
      recorder.event(rs, 'Normal', 'SuccessfulCreate', `Created pod: ${created.metadata!.name}`);
    } catch (err) {
      recorder.event(rs, 'Warning', 'FailedCreate', `Error creating: ${errText(err)}`);
      throw err;
    }
  }

  function calculateStatus(rs: RS, active: P[], manageErr?: { err: Error; kind: string }): NonNullable<RS['status']> {
    const tmplSel = selectorFromSet(rs.spec?.template?.metadata?.labels ?? {});
    const now = clock.now();
    const mrs = rs.spec?.minReadySeconds ?? 0;
    const status: NonNullable<RS['status']> = {
      replicas: active.length,
      fullyLabeledReplicas: active.filter((p) => tmplSel.matches(p.metadata?.labels)).length,
      readyReplicas: active.filter(isPodReady).length,
      availableReplicas: active.filter((p) => isPodAvailable(p, mrs, now)).length,
      observedGeneration: rs.metadata?.generation,
    };
    let conditions: ReplicaSetCondition[] = copy(rs.status?.conditions ?? []);
    const existing = conditions.find((c) => c.type === 'ReplicaFailure');
    if (manageErr && !existing) {
      conditions.push({ type: 'ReplicaFailure', status: 'True', reason: manageErr.kind, message: errText(manageErr.err), lastTransitionTime: rfc3339(now) });
    } else if (!manageErr && existing) {
      conditions = conditions.filter((c) => c.type !== 'ReplicaFailure');
    }
    if (conditions.length) status.conditions = conditions;
    return status;
  }

  async function updateStatus(rs: RS, status: NonNullable<RS['status']>): Promise<NonNullable<RS['status']>> {
    const cur: Partial<NonNullable<RS['status']>> = rs.status ?? {};
    const same = (['replicas', 'fullyLabeledReplicas', 'readyReplicas', 'availableReplicas', 'observedGeneration'] as const)
      .every((f) => (cur[f] ?? 0) === (status[f] ?? 0))
      && JSON.stringify(cur.conditions ?? []) === JSON.stringify(status.conditions ?? []);
    if (same) return status;
    const next: RS = { ...copy(rs), status };
    try {
      await client.update(REPLICASETS, rs.metadata!.namespace, next, { subresource: 'status' });
    } catch (err) {
      if (isReason(err, 'NotFound')) return status;
      throw err;
    }
    return status;
  }

  return Object.assign(qc, { expectations }) as ReplicaSetController;
}

/**
 * Runs `count` calls in batches of 1, 2, 4, … and stops at the first batch with an error,
 * as upstream's slowStartBatch. Returns how many succeeded and the first error.
 */
export async function slowStartBatch(count: number, initial: number, fn: () => Promise<void>): Promise<{ created: number; err?: Error }> {
  let remaining = count;
  let created = 0;
  for (let batch = Math.min(remaining, initial); batch > 0; batch = Math.min(2 * batch, remaining)) {
    const results = await Promise.allSettled(Array.from({ length: batch }, () => fn()));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    created += results.filter((r) => r.status === 'fulfilled').length;
    if (failed) return { created, err: failed.reason as Error };
    remaining -= batch;
  }
  return { created };
}
