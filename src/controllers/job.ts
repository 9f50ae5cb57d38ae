/**
 * Job controller, after upstream pkg/controller/job/job_controller.go (1.32 behaviour):
 * runs pods of a Job's template until spec.completions of them succeeded (NonIndexed), or
 * one pod per completion index succeeded (Indexed: index in the
 * batch.kubernetes.io/job-completion-index annotation and label, JOB_COMPLETION_INDEX env,
 * hostname `<job>-<index>`), never more than spec.parallelism at once.
 *
 * Terminal states are reached in two steps as upstream: first the "target" condition
 * (SuccessCriteriaMet / FailureTarget) is added and the remaining active pods are deleted;
 * once no pod is still running or terminating, the final condition (Complete with
 * completionTime / Failed) is added. Failures: backoffLimit (pods Failed for
 * restartPolicy Never, container restarts for OnFailure) → BackoffLimitExceeded;
 * activeDeadlineSeconds → DeadlineExceeded. Recreating pods after failures backs off
 * 10 s · 2^(n-1) (max 10 min). spec.suspend deletes active pods and sets Suspended;
 * resuming resets startTime. ttlSecondsAfterFinished (upstream's separate TTL-after-finished
 * controller) is folded in here: the finished job is deleted with Foreground propagation.
 *
 * Simplification (documented): pods are counted by phase rather than through the
 * batch.kubernetes.io/job-tracking finalizer and status.uncountedTerminatedPods. Counts are
 * kept monotonic (a terminated pod that is deleted later is not "uncounted"), and completed
 * indexes are merged with status.completedIndexes, but a pod deleted before it ever reached a
 * terminal phase is not counted as failed.
 */
import type { Pod, PodTemplateSpec, Container } from 'kubernetes-types/core/v1.js';
import type { Job, JobCondition, JobStatus } from 'kubernetes-types/batch/v1.js';
import { isReason } from '../api/errors.js';
import { selectorFromLabelSelector } from '../api/labels.js';
import { rfc3339 } from '../util/clock.js';
import { keyOf, splitKey, INDEX_OWNER_UID, type Informer } from '../client/informer.js';
import { JOBS, PODS } from '../client/resources.js';
import type { KObject } from '../client/types.js';
import { QueueController, type ReconcileResult } from './base.js';
import { Expectations } from './expectations.js';
import { comparePodsForDeletion, slowStartBatch } from './replicaset.js';
import type { Controller, ControllerContext } from './types.js';
import { copy, errText, isPodReady, newControllerRef, resolveControllerRef } from './util.js';

type J = Job & KObject;
type P = Pod & KObject;

export const JOB_COMPLETION_INDEX_ANNOTATION = 'batch.kubernetes.io/job-completion-index';
export const JOB_COMPLETION_INDEX_ENV = 'JOB_COMPLETION_INDEX';
/** Upstream DefaultJobPodFailureBackOff and MaxJobPodFailureBackOff. */
export const POD_FAILURE_BACKOFF_MS = 10_000;
export const MAX_POD_FAILURE_BACKOFF_MS = 10 * 60_000;

export interface JobController extends Controller {
  readonly queue: QueueController['queue'];
  readonly expectations: Expectations;
}

const terminal = (p: Pod) => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';
const isActive = (p: Pod) => !terminal(p) && !p.metadata?.deletionTimestamp;
const isTerminating = (p: Pod) => !terminal(p) && !!p.metadata?.deletionTimestamp;

/** The completion index of a pod of an Indexed job, or -1. */
export function podIndex(p: Pod): number {
  const v = p.metadata?.annotations?.[JOB_COMPLETION_INDEX_ANNOTATION] ?? p.metadata?.labels?.[JOB_COMPLETION_INDEX_ANNOTATION];
  if (v === undefined || !/^\d+$/.test(v)) return -1;
  return Number(v);
}

/** Parses "1,3-5,7" into a sorted set of indexes below `completions`. */
export function parseIndexes(s: string | undefined, completions: number): Set<number> {
  const out = new Set<number>();
  for (const part of (s ?? '').split(',').filter(Boolean)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) continue;
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    for (let i = a; i <= b && i < completions; i++) out.add(i);
  }
  return out;
}

/** Formats indexes as upstream: ascending, runs of three or more as "a-b". */
export function formatIndexes(set: Iterable<number>): string {
  const xs = [...set].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < xs.length;) {
    let j = i;
    while (j + 1 < xs.length && xs[j + 1] === xs[j] + 1) j++;
    if (j - i >= 2) parts.push(`${xs[i]}-${xs[j]}`);
    else for (let k = i; k <= j; k++) parts.push(String(xs[k]));
    i = j + 1;
  }
  return parts.join(',');
}

function finishTime(p: Pod): number {
  let t = 0;
  for (const cs of [...(p.status?.containerStatuses ?? []), ...(p.status?.initContainerStatuses ?? [])]) {
    const f = cs.state?.terminated?.finishedAt;
    if (f) t = Math.max(t, Date.parse(f) || 0);
  }
  if (t) return t;
  const c = p.status?.conditions?.find((x) => x.type === 'Ready');
  return Date.parse(c?.lastTransitionTime ?? '') || Date.parse(p.metadata?.creationTimestamp ?? '') || 0;
}

const condTrue = (job: Job, type: string) => job.status?.conditions?.some((c) => c.type === type && c.status === 'True') ?? false;

/** A job with a Complete or Failed condition. */
export function isJobFinished(job: Job): boolean {
  return condTrue(job, 'Complete') || condTrue(job, 'Failed');
}

/** Creates the Job controller. */
export function newJobController(ctx: ControllerContext): JobController {
  const { client, clock } = ctx;
  const jobInf = ctx.informers.informerFor<J>(JOBS);
  const podInf = ctx.informers.informerFor<P>(PODS);
  const recorder = ctx.recorder('job-controller');
  const burst = ctx.options.burstReplicas ?? 500;
  const expectations = new Expectations(clock);
  const qc = new QueueController('job', ctx, [jobInf as Informer<KObject>, podInf as Informer<KObject>], sync);
  const q = qc.queue;

  const jobForPod = (pod: P): J | undefined => resolveControllerRef(jobInf, pod, 'Job');
  const onPodDelete = (pod: P) => {
    const j = jobForPod(pod);
    if (!j) return;
    expectations.deletionObserved(keyOf(j), keyOf(pod));
    q.add(keyOf(j));
  };
  jobInf.addEventHandler({
    onAdd: (j) => q.add(keyOf(j)),
    onUpdate: (_o, j) => q.add(keyOf(j)),
    onDelete: (j) => { expectations.delete(keyOf(j)); },
  });
  podInf.addEventHandler({
    onAdd: (pod) => {
      if (pod.metadata?.deletionTimestamp) { onPodDelete(pod); return; }
      const j = jobForPod(pod);
      if (j) { expectations.creationObserved(keyOf(j)); q.add(keyOf(j)); }
    },
    onUpdate: (old, cur) => {
      if (cur.metadata?.deletionTimestamp && !old.metadata?.deletionTimestamp) { onPodDelete(cur); return; }
      const j = jobForPod(cur);
      if (j) q.add(keyOf(j));
    },
    onDelete: onPodDelete,
  });

  async function sync(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const cached = jobInf.get(namespace, name);
    if (!cached) { expectations.delete(key); return; }
    const job = copy(cached) as J;
    if (job.metadata?.deletionTimestamp) return;
    const now = clock.now();
    const nowStr = rfc3339(now);

    if (isJobFinished(job)) return handleTTL(job, now);

    const uid = job.metadata!.uid!;
    const selector = selectorFromLabelSelector(job.spec?.selector);
    const pods = podInf.byIndex(INDEX_OWNER_UID, uid).filter((p) => selector.matches(p.metadata?.labels));
    const indexed = job.spec?.completionMode === 'Indexed';
    const completions = job.spec?.completions ?? undefined;
    const parallelism = job.spec?.parallelism ?? 1;
    const backoffLimit = job.spec?.backoffLimit ?? 6;
    const suspended = job.spec?.suspend === true;
    const prev: JobStatus = job.status ?? {};
    const status: JobStatus = copy(prev);
    const conditions: JobCondition[] = status.conditions ?? [];
    let requeueMs: number | undefined;
    const requeue = (ms: number) => { requeueMs = requeueMs === undefined ? ms : Math.min(requeueMs, ms); };

    const active = pods.filter(isActive);
    const terminating = pods.filter(isTerminating);
    const succeededPods = pods.filter((p) => p.status?.phase === 'Succeeded');
    const failedPods = pods.filter((p) => p.status?.phase === 'Failed');

    // Counters (monotonic; see the header).
    let completedIdx = new Set<number>();
    if (indexed) {
      completedIdx = parseIndexes(prev.completedIndexes, completions ?? 0);
      for (const p of succeededPods) {
        const i = podIndex(p);
        if (i >= 0 && i < (completions ?? 0)) completedIdx.add(i);
      }
      status.succeeded = completedIdx.size;
      status.completedIndexes = formatIndexes(completedIdx);
    } else {
      status.succeeded = Math.max(prev.succeeded ?? 0, succeededPods.length);
    }
    status.failed = Math.max(prev.failed ?? 0, failedPods.length);

    const setCond = (type: string, st: 'True' | 'False', reason: string, message: string): boolean => {
      const c = conditions.find((x) => x.type === type);
      if (c) {
        if (c.status === st && c.reason === reason && c.message === message) return false;
        if (c.status !== st) c.lastTransitionTime = nowStr;
        Object.assign(c, { status: st, reason, message, lastProbeTime: nowStr });
        return true;
      }
      conditions.push({ type, status: st, reason, message, lastProbeTime: nowStr, lastTransitionTime: nowStr });
      return true;
    };

    // Suspend / resume.
    if (suspended) {
      if (setCond('Suspended', 'True', 'JobSuspended', 'Job suspended')) recorder.event(job, 'Normal', 'Suspended', 'Job suspended');
    } else {
      if (condTrue(job, 'Suspended')) {
        setCond('Suspended', 'False', 'JobResumed', 'Job resumed');
        recorder.event(job, 'Normal', 'Resumed', 'Job resumed');
        status.startTime = nowStr;
      }
      status.startTime ??= nowStr;
    }

    // Success and failure criteria (target conditions first, as upstream).
    const failureTarget = conditions.find((c) => c.type === 'FailureTarget' && c.status === 'True');
    let successTarget = conditions.find((c) => c.type === 'SuccessCriteriaMet' && c.status === 'True');
    if (!failureTarget && !successTarget) {
      let failReason: [string, string] | undefined;
      const restarts = active.reduce((n, p) => n + [...(p.status?.containerStatuses ?? []), ...(p.status?.initContainerStatuses ?? [])]
        .reduce((m, cs) => m + (cs.restartCount ?? 0), 0), 0);
      const onFailure = job.spec?.template?.spec?.restartPolicy === 'OnFailure';
      // upstream exceedsBackoffLimit / pastBackoffLimitOnFailure
      const pastOnFailure = onFailure && (backoffLimit === 0 ? restarts > 0 : restarts >= backoffLimit);
      if ((status.failed ?? 0) > backoffLimit || pastOnFailure) {
        failReason = ['BackoffLimitExceeded', 'Job has reached the specified backoff limit'];
      } else if (!suspended && job.spec?.activeDeadlineSeconds !== undefined && status.startTime) {
        const deadline = Date.parse(status.startTime) + job.spec.activeDeadlineSeconds * 1000;
        if (now >= deadline) failReason = ['DeadlineExceeded', 'Job was active longer than specified deadline'];
        else requeue(deadline - now);
      }
      if (failReason) {
        setCond('FailureTarget', 'True', failReason[0], failReason[1]);
      } else {
        const done = indexed
          ? completedIdx.size >= (completions ?? 0)
          : completions === undefined
            ? (status.succeeded ?? 0) > 0 && active.length === 0
            : (status.succeeded ?? 0) >= completions;
        if (done) {
          setCond('SuccessCriteriaMet', 'True', 'CompletionsReached', 'Reached expected number of succeeded pods');
          successTarget = conditions.find((c) => c.type === 'SuccessCriteriaMet');
        }
      }
    }
    const finishing = conditions.find((c) => (c.type === 'FailureTarget' || c.type === 'SuccessCriteriaMet') && c.status === 'True');

    const needsSync = expectations.satisfied(key);
    let manageErr: Error | undefined;
    let activeCount = active.length;
    if (finishing || suspended) {
      // Stop everything that still runs.
      if (active.length && needsSync) {
        const { deleted, err } = await deletePods(job, key, active);
        activeCount -= deleted;
        manageErr = err;
      }
    } else if (needsSync) {
      const r = await manage(job, key, active, terminating, failedPods, succeededPods, completedIdx, parallelism, completions, indexed, now);
      activeCount = r.active;
      manageErr = r.err;
      if (r.requeueMs !== undefined) requeue(r.requeueMs);
    }

    status.active = activeCount;
    status.ready = active.filter(isPodReady).length;
    status.terminating = terminating.length + (activeCount < active.length ? active.length - activeCount : 0);

    // Final conditions once nothing runs any more.
    if (finishing && activeCount === 0 && status.terminating === 0) {
      status.terminating = 0;
      status.ready = 0;
      if (finishing.type === 'SuccessCriteriaMet') {
        setCond('Complete', 'True', finishing.reason ?? 'CompletionsReached', finishing.message ?? '');
        status.completionTime = nowStr;
        recorder.event(job, 'Normal', 'Completed', 'Job completed');
      } else {
        setCond('Failed', 'True', finishing.reason ?? 'BackoffLimitExceeded', finishing.message ?? '');
        recorder.event(job, 'Warning', finishing.reason ?? 'Failed', finishing.message ?? '');
      }
    }
    if (conditions.length) status.conditions = conditions;

    await updateStatus(job, status);
    if (manageErr) throw manageErr;
    const ttl = job.spec?.ttlSecondsAfterFinished;
    if (isJobFinished({ status }) && ttl !== undefined && ttl !== null) requeue(ttl * 1000);
    return requeueMs !== undefined ? { requeueAfterMs: Math.max(0, requeueMs) } : undefined;
  }

  /** Creates or deletes pods so that the right number run (upstream manageJob). */
  async function manage(
    job: J, key: string, active: P[], terminating: P[], failed: P[], succeeded: P[], completedIdx: Set<number>,
    parallelism: number, completions: number | undefined, indexed: boolean, now: number,
  ): Promise<{ active: number; err?: Error; requeueMs?: number }> {
    let activeCount = active.length;
    const succeededCount = indexed ? completedIdx.size : Math.max(job.status?.succeeded ?? 0, succeeded.length);
    let wantActive: number;
    if (completions === undefined) wantActive = succeededCount > 0 ? activeCount : parallelism;
    else wantActive = Math.max(0, Math.min(parallelism, completions - succeededCount));

    // Indexed: delete pods of completed or out-of-range indexes, and duplicates.
    const toDelete: P[] = [];
    const activeByIndex = new Map<number, P>();
    if (indexed) {
      const sorted = [...active].sort((a, b) => comparePodsForDeletion(b, a));
      for (const p of sorted) {
        const i = podIndex(p);
        if (i < 0 || i >= (completions ?? 0) || completedIdx.has(i) || activeByIndex.has(i)) toDelete.push(p);
        else activeByIndex.set(i, p);
      }
    }
    if (toDelete.length === 0 && activeCount > wantActive) {
      const sorted = [...active].sort((a, b) => comparePodsForDeletion(a, b));
      toDelete.push(...sorted.slice(0, Math.min(activeCount - wantActive, burst)));
    }
    if (toDelete.length) {
      const { deleted, err } = await deletePods(job, key, toDelete);
      return { active: activeCount - deleted, err };
    }

    // With podReplacementPolicy Failed, pods still terminating hold their slot.
    const holding = job.spec?.podReplacementPolicy === 'Failed' ? terminating.length : 0;
    let diff = Math.min(wantActive - activeCount - holding, burst);
    if (diff <= 0) return { active: activeCount };

    // Back off after failures since the last success (upstream backoffRecord).
    const lastSuccess = Math.max(0, ...succeeded.map(finishTime));
    const recentFailures = failed.map(finishTime).filter((t) => t >= lastSuccess);
    if (recentFailures.length) {
      const delay = Math.min(POD_FAILURE_BACKOFF_MS * 2 ** (recentFailures.length - 1), MAX_POD_FAILURE_BACKOFF_MS);
      const readyAt = Math.max(...recentFailures) + delay;
      if (now < readyAt) return { active: activeCount, requeueMs: readyAt - now };
    }

    const indexes: number[] = [];
    if (indexed) {
      for (let i = 0; i < (completions ?? 0) && indexes.length < diff; i++) {
        if (!completedIdx.has(i) && !activeByIndex.has(i) && !terminatingIndexHeld(job, terminating, i)) indexes.push(i);
      }
      diff = indexes.length;
      if (diff === 0) return { active: activeCount };
    }
    expectations.expectCreations(key, diff);
    let n = 0;
    const { created, err } = await slowStartBatch(diff, 1, () => createPod(job, indexed ? indexes[n++] : undefined));
    if (diff - created > 0) expectations.lowerCreations(key, diff - created);
    activeCount += created;
    return { active: activeCount, err };
  }

  function terminatingIndexHeld(job: J, terminating: P[], i: number): boolean {
    return job.spec?.podReplacementPolicy === 'Failed' && terminating.some((p) => podIndex(p) === i);
  }

  async function deletePods(job: J, key: string, pods: P[]): Promise<{ deleted: number; err?: Error }> {
    expectations.expectDeletions(key, pods.map(keyOf));
    let deleted = 0;
    let firstErr: Error | undefined;
    await Promise.all(pods.map(async (pod) => {
      try {
        await client.delete(PODS, pod.metadata!.namespace, pod.metadata!.name!);
        deleted++;
        recorder.event(job, 'Normal', 'SuccessfulDelete', `Deleted pod: ${pod.metadata!.name}`);
      } catch (err) {
        expectations.deletionObserved(key, keyOf(pod));
        if (isReason(err, 'NotFound')) { deleted++; return; }
        recorder.event(job, 'Warning', 'FailedDelete', `Error deleting: ${errText(err)}`);
        firstErr ??= err as Error;
      }
    }));
    return { deleted, err: firstErr };
  }

  async function createPod(job: J, index: number | undefined): Promise<void> {
    const t: PodTemplateSpec = copy(job.spec?.template ?? {});
    const spec = t.spec ?? { containers: [] };
    const labels = { ...(t.metadata?.labels ?? {}) };
    const annotations = { ...(t.metadata?.annotations ?? {}) };
    let generateName = `${job.metadata!.name}-`;
    if (index !== undefined) {
      annotations[JOB_COMPLETION_INDEX_ANNOTATION] = String(index);
      labels[JOB_COMPLETION_INDEX_ANNOTATION] = String(index);
      generateName = `${job.metadata!.name}-${index}-`;
      spec.hostname ||= `${job.metadata!.name}-${index}`;
      const addEnv = (c: Container) => {
        if (c.env?.some((e) => e.name === JOB_COMPLETION_INDEX_ENV)) return;
        c.env = [...(c.env ?? []), { name: JOB_COMPLETION_INDEX_ENV, valueFrom: { fieldRef: { fieldPath: `metadata.annotations['${JOB_COMPLETION_INDEX_ANNOTATION}']` } } }];
      };
      spec.containers.forEach(addEnv);
      spec.initContainers?.forEach(addEnv);
    }
    const pod: P = {
      apiVersion: 'v1', kind: 'Pod',
      metadata: {
        generateName,
        namespace: job.metadata!.namespace,
        labels,
        ...(Object.keys(annotations).length ? { annotations } : {}),
        ...(t.metadata?.finalizers ? { finalizers: t.metadata.finalizers } : {}),
        ownerReferences: [newControllerRef(job, 'batch/v1', 'Job')],
      },
      spec,
    };
    try {
      const created = await client.create<P>(PODS, job.metadata!.namespace, pod);
      recorder.event(job, 'Normal', 'SuccessfulCreate', `Created pod: ${created.metadata!.name}`);
    } catch (err) {
      recorder.event(job, 'Warning', 'FailedCreate', `Error creating: ${errText(err)}`);
      throw err;
    }
  }

  async function updateStatus(job: J, status: JobStatus): Promise<void> {
    const prev = job.status ?? {};
    if (JSON.stringify(normalize(prev)) === JSON.stringify(normalize(status))) return;
    try {
      await client.update(JOBS, job.metadata!.namespace, { ...job, status }, { subresource: 'status' });
    } catch (err) {
      if (!isReason(err, 'NotFound')) throw err;
    }
  }

  /** ttlSecondsAfterFinished: deletes the finished job (and, in the foreground, its pods). */
  async function handleTTL(job: J, now: number): Promise<ReconcileResult> {
    const ttl = job.spec?.ttlSecondsAfterFinished;
    if (ttl === undefined || ttl === null) return;
    const fin = job.status?.completionTime
      ?? job.status?.conditions?.find((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True')?.lastTransitionTime;
    const at = (Date.parse(fin ?? '') || now) + ttl * 1000;
    if (now < at) return { requeueAfterMs: at - now };
    try {
      await client.delete(JOBS, job.metadata!.namespace, job.metadata!.name!, { propagationPolicy: 'Foreground', preconditions: { uid: job.metadata!.uid } });
    } catch (err) {
      if (!isReason(err, 'NotFound') && !isReason(err, 'Conflict')) throw err;
    }
  }

  return Object.assign(qc, { expectations }) as JobController;
}

function normalize(s: JobStatus): unknown {
  return { ...s, active: s.active ?? 0, ready: s.ready ?? 0, succeeded: s.succeeded ?? 0, failed: s.failed ?? 0, terminating: s.terminating ?? 0, completedIndexes: s.completedIndexes || undefined };
}
