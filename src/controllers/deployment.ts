/**
 * Deployment controller, after upstream pkg/controller/deployment: owns ReplicaSets named
 * `<deployment>-<pod-template-hash>`, rolls between them (RollingUpdate within
 * maxSurge/maxUnavailable, or Recreate), scales proportionally when the replica count
 * changes mid-rollout, keeps revision annotations (so `rollout history/undo` work: undo
 * brings back a template whose old ReplicaSet is found again and gets the next revision),
 * honours pause, detects a missed progress deadline, cleans up old ReplicaSets beyond
 * revisionHistoryLimit and writes the status `kubectl rollout status` and `wait` read.
 */
import type { Deployment, DeploymentCondition, DeploymentStatus, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { Pod, PodTemplateSpec } from 'kubernetes-types/core/v1.js';
import { isReason } from '../api/errors.js';
import { selectorFromLabelSelector } from '../api/labels.js';
import { rfc3339 } from '../client/clock.js';
import { keyOf, splitKey, INDEX_OWNER_UID, type Informer } from '../client/informer.js';
import { DEPLOYMENTS, PODS, REPLICASETS } from '../client/resources.js';
import type { KObject } from '../client/types.js';
import { QueueController, type ReconcileResult } from './base.js';
import type { Controller, ControllerContext } from './types.js';
import { canonicalJSON, controllerRef, copy, errText, fnv32a, newControllerRef, safeEncodeString, scaledValue } from './util.js';

type D = Deployment & KObject;
type RS = ReplicaSet & KObject;
type P = Pod & KObject;
type Status = DeploymentStatus;
type Cond = DeploymentCondition;

export const REVISION = 'deployment.kubernetes.io/revision';
export const REVISION_HISTORY = 'deployment.kubernetes.io/revision-history';
export const DESIRED_REPLICAS = 'deployment.kubernetes.io/desired-replicas';
export const MAX_REPLICAS = 'deployment.kubernetes.io/max-replicas';
export const POD_TEMPLATE_HASH = 'pod-template-hash';
const MAX_REV_HISTORY_CHARS = 2000;
/** Deployment annotations that are not copied to its ReplicaSets (upstream skipCopyAnnotation). */
const SKIP_COPY = new Set(['kubectl.kubernetes.io/last-applied-configuration', REVISION, REVISION_HISTORY, DESIRED_REPLICAS, MAX_REPLICAS, 'deprecated.deployment.rollback.to']);

/**
 * upstream controller.ComputeHash: FNV-32a over the pod template (here its canonical JSON)
 * plus the collision count as 8 little-endian bytes, printed in decimal and mapped onto the
 * safe alphabet.
 */
export function computeHash(template: PodTemplateSpec | undefined, collisionCount?: number): string {
  let h = fnv32a(new TextEncoder().encode(canonicalJSON(template ?? {})));
  if (collisionCount !== undefined && collisionCount !== null) {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setUint32(0, collisionCount >>> 0, true);
    h = fnv32a(b, h);
  }
  return safeEncodeString(String(h));
}

/** Template equality ignoring the pod-template-hash label (upstream EqualIgnoreHash). */
export function equalIgnoreHash(a: PodTemplateSpec | undefined, b: PodTemplateSpec | undefined): boolean {
  const strip = (t: PodTemplateSpec | undefined) => {
    const c = copy(t ?? {}) as { metadata?: { labels?: Record<string, string> } };
    if (c.metadata?.labels) {
      delete c.metadata.labels[POD_TEMPLATE_HASH];
      if (Object.keys(c.metadata.labels).length === 0) delete c.metadata.labels;
    }
    if (c.metadata && Object.keys(c.metadata).length === 0) delete c.metadata;
    return canonicalJSON(c);
  };
  return strip(a) === strip(b);
}

const isRolling = (d: Deployment) => (d.spec?.strategy?.type ?? 'RollingUpdate') === 'RollingUpdate';

/** maxSurge and maxUnavailable as absolute numbers (upstream ResolveFenceposts): surge rounds up, unavailable down, never both zero. */
export function resolveFenceposts(d: Deployment): { surge: number; unavailable: number } {
  const desired = d.spec?.replicas ?? 1;
  const ru = d.spec?.strategy?.rollingUpdate;
  const surge = scaledValue(ru?.maxSurge, desired, true, '25%');
  let unavailable = scaledValue(ru?.maxUnavailable, desired, false, '25%');
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return { surge, unavailable };
}

export function maxSurge(d: Deployment): number {
  return isRolling(d) ? resolveFenceposts(d).surge : 0;
}

export function maxUnavailable(d: Deployment): number {
  const replicas = d.spec?.replicas ?? 1;
  if (!isRolling(d) || replicas === 0) return 0;
  return Math.min(resolveFenceposts(d).unavailable, replicas);
}

const specReplicas = (rs: ReplicaSet | undefined) => rs?.spec?.replicas ?? 0;
const sumSpec = (rss: (ReplicaSet | undefined)[]) => rss.reduce((n, r) => n + specReplicas(r), 0);
const sumStatus = (rss: (ReplicaSet | undefined)[], f: 'replicas' | 'readyReplicas' | 'availableReplicas') => rss.reduce((n, r) => n + (r?.status?.[f] ?? 0), 0);
const revisionOf = (rs: ReplicaSet): number => Number(rs.metadata?.annotations?.[REVISION] ?? 0) || 0;
const created = (o: KObject) => Date.parse(o.metadata?.creationTimestamp ?? '') || 0;
const byCreation = (a: RS, b: RS) => created(a) - created(b) || (a.metadata!.name! < b.metadata!.name! ? -1 : 1);
const active = (rss: RS[]) => rss.filter((r) => specReplicas(r) > 0);
const hasDeadline = (d: Deployment) => d.spec?.progressDeadlineSeconds !== undefined && d.spec.progressDeadlineSeconds !== 2147483647;
const cond = (s: Status | undefined, t: string) => s?.conditions?.find((c) => c.type === t);

/** The Deployment controller plus handles tests use. */
export interface DeploymentController extends Controller {
  readonly queue: QueueController['queue'];
}

/** Creates the Deployment controller. */
export function newDeploymentController(ctx: ControllerContext): DeploymentController {
  const { client, clock } = ctx;
  const dInf = ctx.informers.informerFor<D>(DEPLOYMENTS);
  const rsInf = ctx.informers.informerFor<RS>(REPLICASETS);
  const podInf = ctx.informers.informerFor<P>(PODS);
  const recorder = ctx.recorder('deployment-controller');
  const qc = new QueueController('deployment', ctx, [dInf, rsInf, podInf] as Informer<KObject>[], sync);
  const q = qc.queue;

  const now = () => rfc3339(clock.now());
  const newCondition = (type: string, status: 'True' | 'False' | 'Unknown', reason: string, message: string): Cond =>
    ({ type, status, reason, message, lastUpdateTime: now(), lastTransitionTime: now() });
  /** upstream SetDeploymentCondition: same status and reason → no change; same status → keep transition time. */
  function setCondition(s: Status, c: Cond): void {
    const cur = cond(s, c.type);
    if (cur && cur.status === c.status && cur.reason === c.reason) return;
    if (cur && cur.status === c.status) c = { ...c, lastTransitionTime: cur.lastTransitionTime };
    s.conditions = [...(s.conditions ?? []).filter((x) => x.type !== c.type), c];
  }
  const removeCondition = (s: Status, t: string) => { s.conditions = (s.conditions ?? []).filter((c) => c.type !== t); };

  const deploymentForRS = (rs: RS): D | undefined => {
    const ref = controllerRef(rs);
    if (!ref || ref.kind !== 'Deployment') return undefined;
    const d = dInf.get(rs.metadata?.namespace, ref.name);
    return d && d.metadata?.uid === ref.uid ? d : undefined;
  };
  const enqueueForRS = (rs: RS) => {
    const d = deploymentForRS(rs);
    if (d) { q.add(keyOf(d)); return; }
    if (controllerRef(rs)) return;
    // An orphan: any deployment whose selector matches may adopt it.
    for (const d2 of dInf.list(rs.metadata?.namespace)) {
      const sel = selectorFromLabelSelector(d2.spec?.selector);
      if (!sel.empty() && sel.matches(rs.metadata?.labels)) q.add(keyOf(d2));
    }
  };

  dInf.addEventHandler({ onAdd: (d) => q.add(keyOf(d)), onUpdate: (_o, d) => q.add(keyOf(d)), onDelete: (d) => q.add(keyOf(d)) });
  rsInf.addEventHandler({
    onAdd: enqueueForRS,
    onUpdate: (old, cur) => {
      const oldRef = controllerRef(old);
      if (oldRef && oldRef.uid !== controllerRef(cur)?.uid) enqueueForRS(old);
      enqueueForRS(cur);
    },
    onDelete: (rs) => { const d = deploymentForRS(rs); if (d) q.add(keyOf(d)); },
  });
  // Recreate waits for old pods to be gone, so their deletion must wake the deployment.
  podInf.addEventHandler({
    onDelete: (pod) => {
      const ref = controllerRef(pod);
      if (!ref || ref.kind !== 'ReplicaSet') return;
      const rs = rsInf.get(pod.metadata?.namespace, ref.name);
      const d = rs && deploymentForRS(rs);
      if (d && d.spec?.strategy?.type === 'Recreate') q.add(keyOf(d));
    },
  });

  async function sync(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const cached = dInf.get(namespace, name);
    if (!cached) return;
    // Everything below works on a copy and replaces it with what the server returns.
    const st = { d: copy(cached) as D, requeueAfterMs: undefined as number | undefined };
    const sel = selectorFromLabelSelector(st.d.spec?.selector);
    if (sel.empty()) {
      recorder.event(st.d, 'Warning', 'SelectingAll', 'This deployment is selecting all pods. A non-empty selector is required.');
      if (st.d.status?.observedGeneration !== st.d.metadata?.generation) {
        await writeStatus(st, { ...copy(st.d.status ?? {}), observedGeneration: st.d.metadata?.generation });
      }
      return;
    }
    const rsList = await claimReplicaSets(st.d, sel);
    if (st.d.metadata?.deletionTimestamp) {
      const { newRS, oldRSs } = await getAllRSs(st, rsList, false);
      await syncStatusOnly(st, [...oldRSs, newRS], newRS);
      return;
    }
    await checkPausedConditions(st);
    if (st.d.spec?.paused) { await scaleSync(st, rsList); return; }
    if (await isScalingEvent(st, rsList)) { await scaleSync(st, rsList); return; }
    if (st.d.spec?.strategy?.type === 'Recreate') await rolloutRecreate(st, rsList);
    else await rolloutRolling(st, rsList);
    return st.requeueAfterMs !== undefined ? { requeueAfterMs: st.requeueAfterMs } : undefined;
  }

  type State = { d: D; requeueAfterMs: number | undefined };

  async function claimReplicaSets(d: D, sel: ReturnType<typeof selectorFromLabelSelector>): Promise<RS[]> {
    const uid = d.metadata!.uid!;
    const out: RS[] = [];
    for (const rs of rsInf.byIndex(INDEX_OWNER_UID, uid)) {
      if (sel.matches(rs.metadata?.labels)) { out.push(rs); continue; }
      if (d.metadata?.deletionTimestamp) continue;
      const refs = (rs.metadata?.ownerReferences ?? []).filter((r) => r.uid !== uid);
      try {
        await client.patch(REPLICASETS, rs.metadata!.namespace, rs.metadata!.name!, 'merge', { metadata: { ownerReferences: refs.length ? refs : null, resourceVersion: rs.metadata!.resourceVersion } });
      } catch (err) { if (!isReason(err, 'NotFound')) throw err; }
    }
    if (d.metadata?.deletionTimestamp) return out;
    let canAdopt: boolean | undefined;
    for (const rs of rsInf.list(d.metadata?.namespace, sel)) {
      if (controllerRef(rs) || rs.metadata?.deletionTimestamp) continue;
      if (canAdopt === undefined) {
        try {
          const fresh = await client.get<D>(DEPLOYMENTS, d.metadata!.namespace, d.metadata!.name!);
          canAdopt = fresh.metadata?.uid === uid && !fresh.metadata?.deletionTimestamp;
        } catch { canAdopt = false; }
      }
      if (!canAdopt) break;
      try {
        out.push(await client.patch<RS>(REPLICASETS, rs.metadata!.namespace, rs.metadata!.name!, 'merge', {
          metadata: { ownerReferences: [...(rs.metadata?.ownerReferences ?? []), newControllerRef(d, 'apps/v1', 'Deployment')], resourceVersion: rs.metadata!.resourceVersion },
        }));
      } catch (err) { if (!isReason(err, 'NotFound')) throw err; }
    }
    return out;
  }

  async function checkPausedConditions(st: State): Promise<void> {
    if (!hasDeadline(st.d)) return;
    const c = cond(st.d.status, 'Progressing');
    if (c?.reason === 'ProgressDeadlineExceeded') return;
    const paused = !!st.d.spec?.paused;
    const s = copy(st.d.status ?? {}) as Status;
    let changed = false;
    if (paused && c?.reason !== 'DeploymentPaused') {
      setCondition(s, newCondition('Progressing', 'Unknown', 'DeploymentPaused', 'Deployment is paused')); changed = true;
    } else if (!paused && c?.reason === 'DeploymentPaused') {
      setCondition(s, newCondition('Progressing', 'Unknown', 'DeploymentResumed', 'Deployment is resumed')); changed = true;
    }
    if (changed) await writeStatus(st, s);
  }

  /** Finds (or creates) the ReplicaSet of the current template, syncing revision annotations. */
  async function getAllRSs(st: State, rsList: RS[], createIfMissing: boolean): Promise<{ newRS?: RS; oldRSs: RS[] }> {
    const d = st.d;
    const sorted = [...rsList].sort(byCreation);
    const existing = sorted.find((rs) => equalIgnoreHash(rs.spec?.template, d.spec?.template));
    const oldRSs = sorted.filter((rs) => rs !== existing);
    const maxOld = Math.max(0, ...oldRSs.map(revisionOf));
    const newRevision = String(maxOld + 1);
    if (existing) {
      const rsCopy = copy(existing) as RS;
      const annotationsChanged = setNewRSAnnotations(d, rsCopy, newRevision, true);
      const mrsChanged = (rsCopy.spec?.minReadySeconds ?? 0) !== (d.spec?.minReadySeconds ?? 0);
      let newRS: RS = existing;
      if (annotationsChanged || mrsChanged) {
        (rsCopy.spec as { minReadySeconds?: number }).minReadySeconds = d.spec?.minReadySeconds;
        newRS = await client.update<RS>(REPLICASETS, rsCopy.metadata!.namespace, rsCopy);
      }
      await setDeploymentRevision(st, newRS.metadata?.annotations?.[REVISION] ?? newRevision);
      if (hasDeadline(st.d) && !cond(st.d.status, 'Progressing')) {
        const s = copy(st.d.status ?? {}) as Status;
        setCondition(s, newCondition('Progressing', 'True', 'FoundNewReplicaSet', `Found new replica set "${newRS.metadata!.name}"`));
        await writeStatus(st, s);
      }
      return { newRS, oldRSs };
    }
    if (!createIfMissing) return { oldRSs };
    const collisionCount = d.status?.collisionCount;
    const hash = computeHash(d.spec?.template, collisionCount);
    const template = copy(d.spec!.template) as PodTemplateSpec & { metadata: { labels: Record<string, string> } };
    template.metadata = { ...(template.metadata ?? {}), labels: { ...(template.metadata?.labels ?? {}), [POD_TEMPLATE_HASH]: hash } };
    const selector = copy(d.spec!.selector) as { matchLabels?: Record<string, string> };
    selector.matchLabels = { ...(selector.matchLabels ?? {}), [POD_TEMPLATE_HASH]: hash };
    const rs: RS = {
      apiVersion: 'apps/v1', kind: 'ReplicaSet',
      metadata: {
        name: `${d.metadata!.name}-${hash}`, namespace: d.metadata!.namespace,
        ownerReferences: [newControllerRef(d, 'apps/v1', 'Deployment')],
        labels: template.metadata.labels,
      },
      spec: { replicas: 0, minReadySeconds: d.spec?.minReadySeconds, selector, template },
    };
    const replicas = newRSNewReplicas(d, [...oldRSs, rs], rs);
    (rs.spec as { replicas?: number }).replicas = replicas;
    setNewRSAnnotations(d, rs, newRevision, false);
    let createdRS: RS;
    try {
      createdRS = await client.create<RS>(REPLICASETS, d.metadata!.namespace, rs);
    } catch (err) {
      if (isReason(err, 'AlreadyExists')) {
        let found: RS | undefined;
        try { found = await client.get<RS>(REPLICASETS, d.metadata!.namespace, rs.metadata!.name!); } catch { /* fall through */ }
        if (found && controllerRef(found)?.uid === d.metadata!.uid && equalIgnoreHash(found.spec?.template, d.spec?.template)) {
          return { newRS: found, oldRSs };
        }
        // A different ReplicaSet holds our name: bump collisionCount so the next hash differs.
        const s = copy(st.d.status ?? {}) as Status;
        s.collisionCount = (s.collisionCount ?? 0) + 1;
        await writeStatus(st, s);
        throw err;
      }
      if (hasDeadline(d)) {
        const s = copy(st.d.status ?? {}) as Status;
        setCondition(s, newCondition('Progressing', 'False', 'ReplicaSetCreateError', `Failed to create new replica set "${rs.metadata!.name}": ${errText(err)}`));
        await writeStatus(st, s);
      }
      recorder.event(d, 'Warning', 'FailedCreate', `Failed to create new replica set "${rs.metadata!.name}": ${errText(err)}`);
      throw err;
    }
    if (replicas > 0) recorder.event(d, 'Normal', 'ScalingReplicaSet', `Scaled up replica set ${createdRS.metadata!.name} from 0 to ${replicas}`);
    await setDeploymentRevision(st, newRevision);
    if (hasDeadline(st.d)) {
      const s = copy(st.d.status ?? {}) as Status;
      setCondition(s, newCondition('Progressing', 'True', 'NewReplicaSetCreated', `Created new replica set "${createdRS.metadata!.name}"`));
      await writeStatus(st, s);
    }
    return { newRS: createdRS, oldRSs };
  }

  /** upstream SetNewReplicaSetAnnotations. Returns whether anything changed. */
  function setNewRSAnnotations(d: D, rs: RS, newRevision: string, exists: boolean): boolean {
    const md = rs.metadata as { annotations?: Record<string, string> };
    const ann = (md.annotations ??= {});
    let changed = false;
    for (const [k, v] of Object.entries(d.metadata?.annotations ?? {})) {
      if (SKIP_COPY.has(k) || ann[k] === v) continue;
      ann[k] = v; changed = true;
    }
    const oldRevision = ann[REVISION];
    if ((Number(oldRevision) || 0) < Number(newRevision)) {
      ann[REVISION] = newRevision; changed = true;
      if (oldRevision) {
        const hist = ann[REVISION_HISTORY] ? `${ann[REVISION_HISTORY]},${oldRevision}` : oldRevision;
        ann[REVISION_HISTORY] = hist.length > MAX_REV_HISTORY_CHARS ? hist.slice(hist.indexOf(',', hist.length - MAX_REV_HISTORY_CHARS) + 1) : hist;
      }
    }
    if (!exists && setReplicasAnnotations(rs, d)) changed = true;
    if (Object.keys(ann).length === 0) delete md.annotations;
    return changed;
  }

  function setReplicasAnnotations(rs: RS, d: D): boolean {
    const md = rs.metadata as { annotations?: Record<string, string> };
    const ann = (md.annotations ??= {});
    const desired = String(d.spec?.replicas ?? 1);
    const max = String((d.spec?.replicas ?? 1) + maxSurge(d));
    if (ann[DESIRED_REPLICAS] === desired && ann[MAX_REPLICAS] === max) return false;
    ann[DESIRED_REPLICAS] = desired; ann[MAX_REPLICAS] = max;
    return true;
  }

  async function setDeploymentRevision(st: State, revision: string): Promise<void> {
    if (st.d.metadata?.annotations?.[REVISION] === revision) return;
    // Through the status subresource, as upstream's UpdateStatus: annotations change without bumping generation.
    st.d = await client.patch<D>(DEPLOYMENTS, st.d.metadata!.namespace, st.d.metadata!.name!, 'merge', { metadata: { annotations: { [REVISION]: revision } } }, { subresource: 'status' });
  }

  function newRSNewReplicas(d: D, allRSs: RS[], newRS: RS): number {
    if (!isRolling(d)) return d.spec?.replicas ?? 1;
    const desired = d.spec?.replicas ?? 1;
    const current = sumSpec(allRSs);
    const maxTotal = desired + maxSurge(d);
    if (current >= maxTotal) return specReplicas(newRS);
    const up = Math.min(maxTotal - current, desired - specReplicas(newRS));
    return specReplicas(newRS) + up;
  }

  /** Scales one ReplicaSet (and refreshes its replica annotations); records ScalingReplicaSet. */
  async function scaleRS(st: State, rs: RS, newScale: number, op?: 'up' | 'down'): Promise<{ scaled: boolean; rs: RS }> {
    const d = st.d;
    const sizeChanged = specReplicas(rs) !== newScale;
    const rsCopy = copy(rs) as RS;
    const annChanged = setReplicasAnnotations(rsCopy, d);
    if (!sizeChanged && !annChanged) return { scaled: false, rs };
    const oldScale = specReplicas(rs);
    (rsCopy.spec as { replicas?: number }).replicas = newScale;
    const updated = await client.update<RS>(REPLICASETS, rsCopy.metadata!.namespace, rsCopy);
    if (sizeChanged) {
      const dir = op ?? (newScale > oldScale ? 'up' : 'down');
      recorder.event(d, 'Normal', 'ScalingReplicaSet', `Scaled ${dir} replica set ${updated.metadata!.name} from ${oldScale} to ${newScale}`);
    }
    return { scaled: sizeChanged, rs: updated };
  }

  async function rolloutRolling(st: State, rsList: RS[]): Promise<void> {
    const got = await getAllRSs(st, rsList, true);
    const newRS = got.newRS!;
    let oldRSs = got.oldRSs;
    const d = st.d;
    const desired = d.spec?.replicas ?? 1;
    // Scale up the new ReplicaSet, if we can.
    if (specReplicas(newRS) !== desired) {
      const target = specReplicas(newRS) > desired ? desired : newRSNewReplicas(d, [...oldRSs, newRS], newRS);
      const r = await scaleRS(st, newRS, target);
      if (r.scaled) { await syncRolloutStatus(st, [...oldRSs, r.rs], r.rs); return; }
    }
    // Scale down old ReplicaSets, if we can.
    const oldCount = sumSpec(oldRSs);
    if (oldCount > 0) {
      const all = [...oldRSs, newRS];
      const minAvailable = desired - maxUnavailable(d);
      const newUnavailable = specReplicas(newRS) - (newRS.status?.availableReplicas ?? 0);
      const maxScaledDown = sumSpec(all) - minAvailable - newUnavailable;
      if (maxScaledDown > 0) {
        let total = 0;
        // Unhealthy replicas of old sets go first: removing them costs no availability.
        oldRSs = [...oldRSs].sort(byCreation);
        for (let i = 0; i < oldRSs.length && total < maxScaledDown; i++) {
          const rs = oldRSs[i];
          const avail = rs.status?.availableReplicas ?? 0;
          if (specReplicas(rs) === 0 || specReplicas(rs) === avail) continue;
          const n = Math.min(maxScaledDown - total, specReplicas(rs) - avail);
          const r = await scaleRS(st, rs, specReplicas(rs) - n);
          oldRSs[i] = r.rs;
          total += n;
        }
        // Then healthy ones, while availability stays above the minimum.
        const available = sumStatus([...oldRSs, newRS], 'availableReplicas');
        if (available > minAvailable) {
          const toScale = available - minAvailable;
          let done = 0;
          for (let i = 0; i < oldRSs.length && done < toScale; i++) {
            const rs = oldRSs[i];
            if (specReplicas(rs) === 0) continue;
            const n = Math.min(specReplicas(rs), toScale - done);
            const r = await scaleRS(st, rs, specReplicas(rs) - n);
            oldRSs[i] = r.rs;
            done += n;
          }
          total += done;
        }
        if (total > 0) { await syncRolloutStatus(st, [...oldRSs, newRS], newRS); return; }
      }
    }
    if (deploymentComplete(st.d, st.d.status)) await cleanup(st, oldRSs);
    await syncRolloutStatus(st, [...oldRSs, newRS], newRS);
  }

  async function rolloutRecreate(st: State, rsList: RS[]): Promise<void> {
    let { newRS, oldRSs } = await getAllRSs(st, rsList, false);
    let scaledDown = false;
    for (let i = 0; i < oldRSs.length; i++) {
      if (specReplicas(oldRSs[i]) === 0) continue;
      const r = await scaleRS(st, oldRSs[i], 0);
      oldRSs[i] = r.rs;
      scaledDown ||= r.scaled;
    }
    if (scaledDown) { await syncRolloutStatus(st, [...oldRSs, newRS], newRS); return; }
    // Wait until no old pod runs any more.
    const oldRunning = sumStatus(oldRSs, 'replicas') > 0 || oldRSs.some((rs) =>
      podInf.byIndex(INDEX_OWNER_UID, rs.metadata!.uid!).some((p) => p.status?.phase !== 'Failed' && p.status?.phase !== 'Succeeded'));
    if (oldRunning) { await syncRolloutStatus(st, [...oldRSs, newRS], newRS); return; }
    if (!newRS) ({ newRS, oldRSs } = await getAllRSs(st, rsList, true));
    const r = await scaleRS(st, newRS!, st.d.spec?.replicas ?? 1);
    newRS = r.rs;
    if (deploymentComplete(st.d, st.d.status)) await cleanup(st, oldRSs);
    await syncRolloutStatus(st, [...oldRSs, newRS], newRS);
  }

  async function isScalingEvent(st: State, rsList: RS[]): Promise<boolean> {
    const { newRS, oldRSs } = await getAllRSs(st, rsList, false);
    const desired = st.d.spec?.replicas ?? 1;
    return active([...oldRSs, ...(newRS ? [newRS] : [])]).some((rs) => {
      const a = rs.metadata?.annotations?.[DESIRED_REPLICAS];
      return a !== undefined && Number(a) !== desired;
    });
  }

  /** Paused deployments and replica-count changes: scale only, no new ReplicaSet (upstream sync). */
  async function scaleSync(st: State, rsList: RS[]): Promise<void> {
    const got = await getAllRSs(st, rsList, false);
    const all = await scale(st, got.newRS, got.oldRSs);
    if (st.d.spec?.paused) await cleanup(st, all.oldRSs);
    await syncStatusOnly(st, [...all.oldRSs, all.newRS], all.newRS);
  }

  async function scale(st: State, newRS: RS | undefined, oldRSs: RS[]): Promise<{ newRS?: RS; oldRSs: RS[] }> {
    const d = st.d;
    const desired = d.spec?.replicas ?? 1;
    const all = [...oldRSs, ...(newRS ? [newRS] : [])];
    const replace = (rs: RS) => {
      if (newRS && rs.metadata!.uid === newRS.metadata!.uid) newRS = rs;
      else oldRSs = oldRSs.map((o) => (o.metadata!.uid === rs.metadata!.uid ? rs : o));
    };
    // One active (or else the newest) ReplicaSet: it gets the full count.
    const act = active(all);
    let only: RS | undefined;
    if (act.length === 1) only = act[0];
    else if (act.length === 0 && all.length) only = newRS ?? [...oldRSs].sort(byCreation).at(-1);
    if (only) {
      if (specReplicas(only) !== desired) replace((await scaleRS(st, only, desired)).rs);
      return { newRS, oldRSs };
    }
    if (act.length === 0) return { newRS, oldRSs };
    // A saturated new ReplicaSet: old ones go to zero.
    if (newRS && specReplicas(newRS) === desired && Number(newRS.metadata?.annotations?.[DESIRED_REPLICAS]) === desired && (newRS.status?.availableReplicas ?? 0) === desired) {
      for (const o of active(oldRSs)) replace((await scaleRS(st, o, 0)).rs);
      return { newRS, oldRSs };
    }
    if (!isRolling(d)) return { newRS, oldRSs };
    // Proportional scaling: spread the difference over active ReplicaSets by their size.
    const allowed = desired > 0 ? desired + maxSurge(d) : 0;
    const toAdd = allowed - sumSpec(act);
    const sorted = [...act].sort((a, b) => specReplicas(b) - specReplicas(a) || (toAdd > 0 ? created(b) - created(a) : created(a) - created(b)));
    let added = 0;
    const sizes = new Map<string, number>();
    for (const rs of sorted) {
      if (toAdd === 0) { sizes.set(rs.metadata!.name!, specReplicas(rs)); continue; }
      const p = proportion(rs, d, toAdd, added);
      sizes.set(rs.metadata!.name!, specReplicas(rs) + p);
      added += p;
    }
    for (let i = 0; i < sorted.length; i++) {
      const rs = sorted[i];
      let size = sizes.get(rs.metadata!.name!)!;
      if (i === 0 && toAdd !== 0) size = Math.max(0, size + (toAdd - added));
      replace((await scaleRS(st, rs, size, toAdd > 0 ? 'up' : 'down')).rs);
    }
    return { newRS, oldRSs };
  }

  function proportion(rs: RS, d: D, toAdd: number, added: number): number {
    if (specReplicas(rs) === 0 || toAdd === 0 || toAdd === added) return 0;
    let fraction: number;
    if ((d.spec?.replicas ?? 1) === 0) fraction = -specReplicas(rs);
    else {
      const deploymentReplicas = (d.spec?.replicas ?? 1) + maxSurge(d);
      const ann = Number(rs.metadata?.annotations?.[MAX_REPLICAS]);
      const annotated = Number.isInteger(ann) && ann > 0 ? ann : (d.status?.replicas ?? 0);
      // Go's math.Round: halves away from zero.
      const raw = (specReplicas(rs) * deploymentReplicas) / (annotated || 1);
      fraction = Math.sign(raw) * Math.round(Math.abs(raw)) - specReplicas(rs);
    }
    const allowed = toAdd - added;
    return toAdd > 0 ? Math.min(fraction, allowed) : Math.max(fraction, allowed);
  }

  /** Deletes the oldest zero-sized ReplicaSets beyond revisionHistoryLimit. */
  async function cleanup(st: State, oldRSs: RS[]): Promise<void> {
    const limit = st.d.spec?.revisionHistoryLimit;
    if (limit === undefined || limit === null) return;
    const cleanable = oldRSs.filter((rs) => !rs.metadata?.deletionTimestamp);
    const diff = cleanable.length - limit;
    if (diff <= 0) return;
    cleanable.sort((a, b) => revisionOf(a) - revisionOf(b) || byCreation(a, b));
    for (const rs of cleanable.slice(0, diff)) {
      if ((rs.status?.replicas ?? 0) !== 0 || specReplicas(rs) !== 0 || (rs.metadata?.generation ?? 0) > (rs.status?.observedGeneration ?? 0)) continue;
      try { await client.delete(REPLICASETS, rs.metadata!.namespace, rs.metadata!.name!); } catch (err) { if (!isReason(err, 'NotFound')) throw err; }
    }
  }

  function calculateStatus(all: (RS | undefined)[], newRS: RS | undefined, d: D): Status {
    const available = sumStatus(all, 'availableReplicas');
    const total = sumSpec(all);
    const s: Status = {
      observedGeneration: d.metadata?.generation,
      replicas: sumStatus(all, 'replicas'),
      updatedReplicas: sumStatus([newRS], 'replicas'),
      readyReplicas: sumStatus(all, 'readyReplicas'),
      availableReplicas: available,
      unavailableReplicas: Math.max(0, total - available),
      ...(d.status?.collisionCount !== undefined ? { collisionCount: d.status.collisionCount } : {}),
      conditions: copy(d.status?.conditions ?? []),
    };
    const desired = d.spec?.replicas ?? 1;
    if (available >= desired - maxUnavailable(d)) setCondition(s, newCondition('Available', 'True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.'));
    else setCondition(s, newCondition('Available', 'False', 'MinimumReplicasUnavailable', 'Deployment does not have minimum availability.'));
    return s;
  }

  function deploymentComplete(d: D, s: Status | undefined): boolean {
    const desired = d.spec?.replicas ?? 1;
    return (s?.updatedReplicas ?? 0) === desired && (s?.replicas ?? 0) === desired && (s?.availableReplicas ?? 0) === desired
      && (s?.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0);
  }

  async function syncStatusOnly(st: State, all: (RS | undefined)[], newRS: RS | undefined): Promise<void> {
    const s = calculateStatus(all, newRS, st.d);
    if (!sameStatus(st.d.status, s)) await writeStatus(st, s);
  }

  async function syncRolloutStatus(st: State, all: (RS | undefined)[], newRS: RS | undefined): Promise<void> {
    const d = st.d;
    const s = calculateStatus(all, newRS, d);
    if (!hasDeadline(d)) removeCondition(s, 'Progressing');
    const current = cond(d.status, 'Progressing');
    const isComplete = s.replicas === s.updatedReplicas && current?.reason === 'NewReplicaSetAvailable';
    const rsName = newRS?.metadata?.name ?? '';
    if (hasDeadline(d) && !isComplete) {
      if (deploymentComplete(d, s)) {
        setCondition(s, newCondition('Progressing', 'True', 'NewReplicaSetAvailable', `ReplicaSet "${rsName}" has successfully progressed.`));
      } else if (isProgressing(d, s)) {
        // Progress refreshes lastUpdateTime (the deadline is measured from it) but keeps the transition time.
        const c = newCondition('Progressing', 'True', 'ReplicaSetUpdated', `ReplicaSet "${rsName}" is progressing.`);
        if (current?.status === 'True') c.lastTransitionTime = current.lastTransitionTime;
        removeCondition(s, 'Progressing');
        setCondition(s, c);
      } else if (timedOut(d, s)) {
        setCondition(s, newCondition('Progressing', 'False', 'ProgressDeadlineExceeded', `ReplicaSet "${rsName}" has timed out progressing.`));
      }
    }
    const failure = all.map((rs) => rs?.status?.conditions?.find((c) => c.type === 'ReplicaFailure' && c.status === 'True')).find(Boolean);
    if (failure) setCondition(s, { type: 'ReplicaFailure', status: failure.status, reason: failure.reason, message: failure.message, lastUpdateTime: now(), lastTransitionTime: failure.lastTransitionTime ?? now() });
    else removeCondition(s, 'ReplicaFailure');
    if (sameStatus(d.status, s)) {
      requeueStuck(st, s);
      return;
    }
    const prevTimedOut = cond(d.status, 'Progressing')?.reason === 'ProgressDeadlineExceeded';
    await writeStatus(st, s);
    if (!prevTimedOut && cond(s, 'Progressing')?.reason === 'ProgressDeadlineExceeded') {
      recorder.event(st.d, 'Warning', 'ProgressDeadlineExceeded', `Deployment "${st.d.metadata!.name}" has timed out progressing.`);
    }
    requeueStuck(st, s);
  }

  function isProgressing(d: D, s: Status): boolean {
    const o = d.status ?? {};
    return (s.updatedReplicas ?? 0) > (o.updatedReplicas ?? 0)
      || ((s.replicas ?? 0) - (s.updatedReplicas ?? 0)) < ((o.replicas ?? 0) - (o.updatedReplicas ?? 0))
      || (s.readyReplicas ?? 0) > (o.readyReplicas ?? 0)
      || (s.availableReplicas ?? 0) > (o.availableReplicas ?? 0);
  }

  function timedOut(d: D, s: Status): boolean {
    const c = cond(s, 'Progressing');
    if (!c || c.reason === 'NewReplicaSetAvailable') return false;
    if (c.reason === 'ProgressDeadlineExceeded') return true;
    const from = Date.parse(c.lastUpdateTime ?? '');
    return from + d.spec!.progressDeadlineSeconds! * 1000 < clock.now();
  }

  /** Without further events a stuck rollout would never be looked at again: schedule the deadline check. */
  function requeueStuck(st: State, s: Status): void {
    const c = cond(st.d.status, 'Progressing');
    if (!hasDeadline(st.d) || !c) return;
    if (deploymentComplete(st.d, s) || c.reason === 'ProgressDeadlineExceeded') return;
    const after = Date.parse(c.lastUpdateTime ?? '') + st.d.spec!.progressDeadlineSeconds! * 1000 - clock.now();
    st.requeueAfterMs = after < 1000 ? 1000 : after + 1000;
  }

  function sameStatus(a: Status | undefined, b: Status): boolean {
    return canonicalJSON(a ?? {}) === canonicalJSON(b);
  }

  async function writeStatus(st: State, s: Status): Promise<void> {
    const next: D = { ...st.d, status: s };
    try {
      st.d = await client.update<D>(DEPLOYMENTS, st.d.metadata!.namespace, next, { subresource: 'status' });
    } catch (err) {
      if (!isReason(err, 'NotFound')) throw err;
    }
  }

  return qc as DeploymentController;
}
