/**
 * Pure Deployment helpers, after upstream pkg/controller/deployment/util/deployment_util.go:
 * the template hash, fenceposts (maxSurge/maxUnavailable), revisions and the annotations
 * that carry them, the new ReplicaSet of a template, replica sums, proportional scaling and
 * the Deployment conditions. Nothing here talks to the API or reads the clock.
 */
import type { Deployment, DeploymentCondition, DeploymentStatus, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { PodTemplateSpec } from 'kubernetes-types/core/v1.js';
import { rfc3339 } from '../util/clock.js';
import type { KObject } from '../client/types.js';
import { canonicalJSON, copy, fnv32a, newControllerRef, safeEncodeString, scaledValue } from './util.js';

/** A Deployment as the controller reads it (from the cache or the server). */
export type D = Deployment & KObject;
/** A ReplicaSet as the controller reads it. */
export type RS = ReplicaSet & KObject;
export type Status = DeploymentStatus;
export type Cond = DeploymentCondition;

export const REVISION = 'deployment.kubernetes.io/revision';
export const REVISION_HISTORY = 'deployment.kubernetes.io/revision-history';
export const DESIRED_REPLICAS = 'deployment.kubernetes.io/desired-replicas';
export const MAX_REPLICAS = 'deployment.kubernetes.io/max-replicas';
export const POD_TEMPLATE_HASH = 'pod-template-hash';
const MAX_REV_HISTORY_CHARS = 2000;
/** Deployment annotations that are not copied to its ReplicaSets (upstream skipCopyAnnotation). */
const SKIP_COPY = new Set(['kubectl.kubernetes.io/last-applied-configuration', REVISION, REVISION_HISTORY, DESIRED_REPLICAS, MAX_REPLICAS, 'deprecated.deployment.rollback.to']);
/** progressDeadlineSeconds meaning "no deadline" (math.MaxInt32). */
const NO_DEADLINE = 2147483647;

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

/** spec.replicas with the API default (1). */
export const desiredReplicas = (d: Deployment): number => d.spec?.replicas ?? 1;

export const isRolling = (d: Deployment): boolean => (d.spec?.strategy?.type ?? 'RollingUpdate') === 'RollingUpdate';

/** maxSurge and maxUnavailable as absolute numbers (upstream ResolveFenceposts): surge rounds up, unavailable down, never both zero. */
export function resolveFenceposts(d: Deployment): { surge: number; unavailable: number } {
  const desired = desiredReplicas(d);
  const ru = d.spec?.strategy?.rollingUpdate;
  const surge = scaledValue(ru?.maxSurge, desired, true, '25%');
  let unavailable = scaledValue(ru?.maxUnavailable, desired, false, '25%');
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return { surge, unavailable };
}

/** upstream MaxSurge: 0 for Recreate. */
export function maxSurge(d: Deployment): number {
  return isRolling(d) ? resolveFenceposts(d).surge : 0;
}

/** upstream MaxUnavailable: 0 for Recreate or zero replicas, never more than the replicas. */
export function maxUnavailable(d: Deployment): number {
  const replicas = desiredReplicas(d);
  if (!isRolling(d) || replicas === 0) return 0;
  return Math.min(resolveFenceposts(d).unavailable, replicas);
}

export const specReplicas = (rs: ReplicaSet | undefined): number => rs?.spec?.replicas ?? 0;
/** upstream GetReplicaCountForReplicaSets. */
export const sumSpec = (rss: readonly (ReplicaSet | undefined)[]): number => rss.reduce((n, r) => n + specReplicas(r), 0);
/** Sum of one status count (GetActualReplicaCountForReplicaSets, GetAvailableReplicaCountForReplicaSets, …). */
export const sumStatus = (rss: readonly (ReplicaSet | undefined)[], f: 'replicas' | 'readyReplicas' | 'availableReplicas'): number =>
  rss.reduce((n, r) => n + (r?.status?.[f] ?? 0), 0);
/** The revision annotation as a number (0 when absent or malformed). */
export const revisionOf = (rs: ReplicaSet): number => Number(rs.metadata?.annotations?.[REVISION] ?? 0) || 0;
const created = (o: KObject): number => Date.parse(o.metadata?.creationTimestamp ?? '') || 0;
/** Oldest first, by name on a tie (upstream ReplicaSetsByCreationTimestamp). */
export const byCreation = (a: RS, b: RS): number => created(a) - created(b) || (a.metadata!.name! < b.metadata!.name! ? -1 : 1);
/** upstream FilterActiveReplicaSets: those with replicas wanted. */
export const activeReplicaSets = (rss: readonly RS[]): RS[] => rss.filter((r) => specReplicas(r) > 0);
/** upstream HasProgressDeadline. */
export const hasProgressDeadline = (d: Deployment): boolean => d.spec?.progressDeadlineSeconds !== undefined && d.spec.progressDeadlineSeconds !== NO_DEADLINE;
/** upstream GetDeploymentCondition. */
export const getCondition = (s: Status | undefined, type: string): Cond | undefined => s?.conditions?.find((c) => c.type === type);

/** upstream NewDeploymentCondition, stamped at `now` (ms). */
export function newCondition(type: string, status: 'True' | 'False' | 'Unknown', reason: string, message: string, now: number): Cond {
  const t = rfc3339(now);
  return { type, status, reason, message, lastUpdateTime: t, lastTransitionTime: t };
}

/** upstream SetDeploymentCondition: same status and reason → no change; same status → keep transition time. */
export function setCondition(s: Status, c: Cond): void {
  const cur = getCondition(s, c.type);
  if (cur && cur.status === c.status && cur.reason === c.reason) return;
  if (cur && cur.status === c.status) c = { ...c, lastTransitionTime: cur.lastTransitionTime };
  s.conditions = [...(s.conditions ?? []).filter((x) => x.type !== c.type), c];
}

/** upstream RemoveDeploymentCondition. */
export function removeCondition(s: Status, type: string): void {
  s.conditions = (s.conditions ?? []).filter((c) => c.type !== type);
}

/** The ReplicaSet whose template is the Deployment's (upstream FindNewReplicaSet), and the others, oldest first. */
export function splitReplicaSets(d: Deployment, rsList: readonly RS[]): { existing?: RS; oldRSs: RS[] } {
  const sorted = [...rsList].sort(byCreation);
  const existing = sorted.find((rs) => equalIgnoreHash(rs.spec?.template, d.spec?.template));
  return { existing, oldRSs: sorted.filter((rs) => rs !== existing) };
}

/** The revision a new (or newly current) ReplicaSet gets: one past the old ones (upstream MaxRevision + 1). */
export function nextRevision(oldRSs: readonly RS[]): string {
  return String(Math.max(0, ...oldRSs.map(revisionOf)) + 1);
}

/** upstream SetNewReplicaSetAnnotations: copies the Deployment's annotations and raises the revision, keeping a history. Returns whether anything changed. */
export function setNewRSAnnotations(d: Deployment, rs: RS, newRevision: string, exists: boolean): boolean {
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

/** upstream SetReplicasAnnotations: desired-replicas and max-replicas (desired + surge). Returns whether they changed. */
export function setReplicasAnnotations(rs: RS, d: Deployment): boolean {
  const md = rs.metadata as { annotations?: Record<string, string> };
  const ann = (md.annotations ??= {});
  const desired = String(desiredReplicas(d));
  const max = String(desiredReplicas(d) + maxSurge(d));
  if (ann[DESIRED_REPLICAS] === desired && ann[MAX_REPLICAS] === max) return false;
  ann[DESIRED_REPLICAS] = desired; ann[MAX_REPLICAS] = max;
  return true;
}

/**
 * The ReplicaSet a Deployment's template gets (upstream getNewReplicaSet's object): named
 * `<deployment>-<hash>`, the hash in its selector and pod labels, owned by the Deployment,
 * with zero replicas (the caller sizes it).
 */
export function newReplicaSetFor(d: D): RS {
  const hash = computeHash(d.spec?.template, d.status?.collisionCount);
  const template = copy(d.spec!.template) as PodTemplateSpec & { metadata: { labels: Record<string, string> } };
  template.metadata = { ...(template.metadata ?? {}), labels: { ...(template.metadata?.labels ?? {}), [POD_TEMPLATE_HASH]: hash } };
  const selector = copy(d.spec!.selector) as { matchLabels?: Record<string, string> };
  selector.matchLabels = { ...(selector.matchLabels ?? {}), [POD_TEMPLATE_HASH]: hash };
  return {
    apiVersion: 'apps/v1', kind: 'ReplicaSet',
    metadata: {
      name: `${d.metadata!.name}-${hash}`, namespace: d.metadata!.namespace,
      ownerReferences: [newControllerRef(d, 'apps/v1', 'Deployment')],
      labels: template.metadata.labels,
    },
    spec: { replicas: 0, minReadySeconds: d.spec?.minReadySeconds, selector, template },
  };
}

/** upstream NewRSNewReplicas: how far the new ReplicaSet may grow now (all at once for Recreate, within maxSurge for RollingUpdate). */
export function newRSNewReplicas(d: Deployment, allRSs: readonly RS[], newRS: RS): number {
  if (!isRolling(d)) return desiredReplicas(d);
  const desired = desiredReplicas(d);
  const current = sumSpec(allRSs);
  const maxTotal = desired + maxSurge(d);
  if (current >= maxTotal) return specReplicas(newRS);
  const up = Math.min(maxTotal - current, desired - specReplicas(newRS));
  return specReplicas(newRS) + up;
}

/** upstream isScalingEvent: an active ReplicaSet was sized for a different replica count. */
export function isScalingEvent(d: Deployment, all: readonly RS[]): boolean {
  const desired = desiredReplicas(d);
  return activeReplicaSets(all).some((rs) => {
    const a = rs.metadata?.annotations?.[DESIRED_REPLICAS];
    return a !== undefined && Number(a) !== desired;
  });
}

/** upstream FindActiveOrLatest: the one ReplicaSet that should get the whole count, if there is one. */
export function findActiveOrLatest(newRS: RS | undefined, oldRSs: readonly RS[]): RS | undefined {
  const all = [...oldRSs, ...(newRS ? [newRS] : [])];
  const act = activeReplicaSets(all);
  if (act.length === 1) return act[0];
  if (act.length === 0 && all.length) return newRS ?? [...oldRSs].sort(byCreation).at(-1);
  return undefined;
}

/** upstream IsSaturated: the new ReplicaSet has all desired replicas, annotated and available. */
export function isSaturated(d: Deployment, rs: RS | undefined): boolean {
  const desired = desiredReplicas(d);
  return !!rs && specReplicas(rs) === desired && Number(rs.metadata?.annotations?.[DESIRED_REPLICAS]) === desired && (rs.status?.availableReplicas ?? 0) === desired;
}

/** upstream getReplicaSetFraction / GetProportion: this ReplicaSet's share of `toAdd`, within what is left. */
export function proportion(rs: RS, d: Deployment, toAdd: number, added: number): number {
  if (specReplicas(rs) === 0 || toAdd === 0 || toAdd === added) return 0;
  let fraction: number;
  if (desiredReplicas(d) === 0) fraction = -specReplicas(rs);
  else {
    const deploymentReplicas = desiredReplicas(d) + maxSurge(d);
    const ann = Number(rs.metadata?.annotations?.[MAX_REPLICAS]);
    const annotated = Number.isInteger(ann) && ann > 0 ? ann : (d.status?.replicas ?? 0);
    // Go's math.Round: halves away from zero.
    const raw = (specReplicas(rs) * deploymentReplicas) / (annotated || 1);
    fraction = Math.sign(raw) * Math.round(Math.abs(raw)) - specReplicas(rs);
  }
  const allowed = toAdd - added;
  return toAdd > 0 ? Math.min(fraction, allowed) : Math.max(fraction, allowed);
}

/**
 * upstream scale()'s proportional part: spreads a change of the allowed total (desired +
 * maxSurge) over the active ReplicaSets by their size; the biggest takes the rounding
 * leftover. Returns the new size of each, in the order to apply them, and the direction.
 */
export function proportionalScale(d: Deployment, active: readonly RS[]): { sizes: Array<{ rs: RS; size: number }>; direction: 'up' | 'down' } {
  const desired = desiredReplicas(d);
  const allowed = desired > 0 ? desired + maxSurge(d) : 0;
  const toAdd = allowed - sumSpec(active);
  // Biggest first; on a tie the newest grows first and the oldest shrinks first.
  const sorted = [...active].sort((a, b) => specReplicas(b) - specReplicas(a) || (toAdd > 0 ? created(b) - created(a) : created(a) - created(b)));
  let added = 0;
  const sizes = sorted.map((rs) => {
    if (toAdd === 0) return { rs, size: specReplicas(rs) };
    const p = proportion(rs, d, toAdd, added);
    added += p;
    return { rs, size: specReplicas(rs) + p };
  });
  if (sizes.length && toAdd !== 0) sizes[0].size = Math.max(0, sizes[0].size + (toAdd - added));
  return { sizes, direction: toAdd > 0 ? 'up' : 'down' };
}

/** upstream cleanupDeployment's choice: the oldest unused ReplicaSets beyond revisionHistoryLimit. */
export function replicaSetsToCleanUp(d: Deployment, oldRSs: readonly RS[]): RS[] {
  const limit = d.spec?.revisionHistoryLimit;
  if (limit === undefined || limit === null) return [];
  const cleanable = oldRSs.filter((rs) => !rs.metadata?.deletionTimestamp);
  const diff = cleanable.length - limit;
  if (diff <= 0) return [];
  cleanable.sort((a, b) => revisionOf(a) - revisionOf(b) || byCreation(a, b));
  // Only those fully scaled down and observed as such.
  return cleanable.slice(0, diff).filter((rs) =>
    (rs.status?.replicas ?? 0) === 0 && specReplicas(rs) === 0 && (rs.metadata?.generation ?? 0) <= (rs.status?.observedGeneration ?? 0));
}

/** upstream calculateStatus: replica counts from the ReplicaSets and the Available condition, stamped at `now`. */
export function calculateStatus(all: readonly (RS | undefined)[], newRS: RS | undefined, d: D, now: number): Status {
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
  if (available >= desiredReplicas(d) - maxUnavailable(d)) setCondition(s, newCondition('Available', 'True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.', now));
  else setCondition(s, newCondition('Available', 'False', 'MinimumReplicasUnavailable', 'Deployment does not have minimum availability.', now));
  return s;
}

/** upstream DeploymentComplete: every replica updated and available, and the spec observed. */
export function deploymentComplete(d: Deployment, s: Status | undefined): boolean {
  const desired = desiredReplicas(d);
  return (s?.updatedReplicas ?? 0) === desired && (s?.replicas ?? 0) === desired && (s?.availableReplicas ?? 0) === desired
    && (s?.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0);
}

/** upstream DeploymentProgressing: `s` has more updated, ready or available replicas, or fewer old ones, than the current status. */
export function deploymentProgressing(d: Deployment, s: Status): boolean {
  const o = d.status ?? {};
  return (s.updatedReplicas ?? 0) > (o.updatedReplicas ?? 0)
    || ((s.replicas ?? 0) - (s.updatedReplicas ?? 0)) < ((o.replicas ?? 0) - (o.updatedReplicas ?? 0))
    || (s.readyReplicas ?? 0) > (o.readyReplicas ?? 0)
    || (s.availableReplicas ?? 0) > (o.availableReplicas ?? 0);
}

/** upstream DeploymentTimedOut: the last progress is older than progressDeadlineSeconds at `now`. */
export function deploymentTimedOut(d: Deployment, s: Status, now: number): boolean {
  const c = getCondition(s, 'Progressing');
  if (!c || c.reason === 'NewReplicaSetAvailable') return false;
  if (c.reason === 'ProgressDeadlineExceeded') return true;
  const from = Date.parse(c.lastUpdateTime ?? '');
  return from + d.spec!.progressDeadlineSeconds! * 1000 < now;
}

/** Status equality as the server would see it (key order does not matter). */
export function sameStatus(a: Status | undefined, b: Status): boolean {
  return canonicalJSON(a ?? {}) === canonicalJSON(b);
}
