/**
 * CronJob controller, after upstream pkg/controller/cronjob/cronjob_controllerv2.go: at each
 * scheduled time (5-field cron or @hourly/@daily/…/@every, in spec.timeZone or the controller's
 * zone) creates a Job `<cronjob>-<scheduled time in minutes since the epoch>` from
 * spec.jobTemplate, honouring concurrencyPolicy (Allow / Forbid / Replace),
 * startingDeadlineSeconds and suspend; keeps status.active, lastScheduleTime and
 * lastSuccessfulTime; deletes finished jobs beyond successfulJobsHistoryLimit /
 * failedJobsHistoryLimit. Each sync requeues the key for the next scheduled time (+100 ms),
 * all through the injected clock.
 */
import type { CronJob } from 'kubernetes-types/batch/v1.js';
import type { Job } from 'kubernetes-types/batch/v1.js';
import type { ObjectReference } from 'kubernetes-types/core/v1.js';
import { isReason } from '../api/errors.js';
import { rfc3339 } from '../util/clock.js';
import { keyOf, splitKey, INDEX_OWNER_UID, type Informer } from '../client/informer.js';
import { CRONJOBS, JOBS } from '../client/resources.js';
import type { KObject } from '../client/types.js';
import { QueueController, type ReconcileResult } from './base.js';
import { isJobFinished } from './job.js';
import type { Controller, ControllerContext } from './types.js';
import { controllerRef, copy, errText, newControllerRef, parseGoDuration, resolveControllerRef } from './util.js';

type CJ = CronJob & KObject;
type J = Job & KObject;

export const CRONJOB_SCHEDULED_TIMESTAMP_ANNOTATION = 'batch.kubernetes.io/cronjob-scheduled-timestamp';
const NEXT_SCHEDULE_DELTA_MS = 100;

// ---------------------------------------------------------------------------
// Schedules (robfig/cron v3 ParseStandard semantics)

/** A parsed schedule: the next activation strictly after `t` (ms), or undefined if none in 5 years. */
export interface Schedule { next(t: number): number | undefined }

const FIELD_BOUNDS: Array<[number, number, Record<string, number>?]> = [
  [0, 59], [0, 23], [1, 31],
  [1, 12, { jan: 1, feb: 2, mar: 3, apr: 4, may: 5, jun: 6, jul: 7, aug: 8, sep: 9, oct: 10, nov: 11, dec: 12 }],
  [0, 6, { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 }],
];
const DESCRIPTORS: Record<string, string> = {
  '@yearly': '0 0 1 1 *', '@annually': '0 0 1 1 *', '@monthly': '0 0 1 * *', '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *', '@midnight': '0 0 * * *', '@hourly': '0 * * * *',
};

function parseField(expr: string, [min, max, names]: (typeof FIELD_BOUNDS)[number]): { set: Set<number>; star: boolean } {
  const set = new Set<number>();
  let star = false;
  const num = (s: string) => {
    const n = names?.[s.toLowerCase()] ?? (/^\d+$/.test(s) ? Number(s) : NaN);
    if (Number.isNaN(n)) throw new Error(`failed to parse int from ${s}`);
    return n;
  };
  for (const part of expr.split(',')) {
    const [range, stepS] = part.split('/');
    let lo: number; let hi: number;
    if (range === '*' || range === '?') { lo = min; hi = max; if (stepS === undefined) star = true; }
    else {
      const [a, b] = range.split('-');
      lo = num(a);
      hi = b !== undefined ? num(b) : stepS !== undefined ? max : lo;
    }
    const step = stepS === undefined ? 1 : Number(stepS);
    if (!(step > 0) || lo < min || hi > max || lo > hi) throw new Error(`invalid range ${part}`);
    for (let i = lo; i <= hi; i += step) set.add(i);
    // robfig sets the star bit for "*" and "*/n" alike, which only matters for dom/dow.
    if ((range === '*' || range === '?')) star = true;
  }
  return { set, star };
}

/** Wall-clock fields of `t` in `tz` (undefined = UTC). */
function wallClock(t: number, tz: string | undefined): number {
  if (!tz || tz === 'UTC' || tz === 'Etc/UTC') return t;
  const f = fmtCache.get(tz) ?? new Intl.DateTimeFormat('en-US', {
    timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
  });
  fmtCache.set(tz, f);
  const p: Record<string, number> = {};
  for (const x of f.formatToParts(new Date(t))) if (x.type !== 'literal') p[x.type] = Number(x.value);
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) + (t % 1000 + 1000) % 1000;
}
const fmtCache = new Map<string, Intl.DateTimeFormat>();

/** The instant at which the wall clock in `tz` shows `wall` (a gap moves forward, as Go's time.Date). */
function fromWall(wall: number, tz: string | undefined): number {
  if (!tz || tz === 'UTC' || tz === 'Etc/UTC') return wall;
  const off1 = wallClock(wall, tz) - wall;
  const guess = wall - off1;
  const off2 = wallClock(guess, tz) - guess;
  return off1 === off2 ? guess : Math.max(guess, wall - off2);
}

/** Parses a CronJob schedule (with an optional TZ=/CRON_TZ= prefix); `tz` is the default zone. */
export function parseSchedule(schedule: string, tz?: string): Schedule {
  let s = schedule.trim();
  const m = /^(?:CRON_)?TZ=(\S+)\s+/.exec(s);
  if (m) { tz = m[1]; s = s.slice(m[0].length); }
  if (tz) new Intl.DateTimeFormat('en-US', { timeZone: tz }); // throws RangeError on an unknown zone
  if (s.startsWith('@every ')) {
    const ms = parseGoDuration(s.slice(7));
    const d = Math.max(1000, Math.floor(ms / 1000) * 1000);
    return { next: (t) => Math.floor(t / 1000) * 1000 + d };
  }
  const spec = DESCRIPTORS[s] ?? s;
  const fields = spec.split(/\s+/).filter(Boolean);
  if (fields.length !== 5) throw new Error(`expected exactly 5 fields, found ${fields.length}: [${fields.join(' ')}]`);
  const [minute, hour, dom, month, dow] = fields.map((f, i) => parseField(f, FIELD_BOUNDS[i]));
  const dayMatches = (d: Date) => {
    const a = dom.set.has(d.getUTCDate());
    const b = dow.set.has(d.getUTCDay());
    return dom.star || dow.star ? a && b : a || b;
  };
  return {
    next(t: number): number | undefined {
      // Work on the wall clock, represented as a UTC date.
      const d = new Date(Math.floor(wallClock(t, tz) / 60_000) * 60_000 + 60_000);
      const yearLimit = d.getUTCFullYear() + 5;
      wrap: for (;;) {
        if (d.getUTCFullYear() > yearLimit) return undefined;
        let added = false;
        while (!month.set.has(d.getUTCMonth() + 1)) {
          if (!added) { added = true; d.setUTCDate(1); d.setUTCHours(0, 0, 0, 0); }
          d.setUTCMonth(d.getUTCMonth() + 1);
          if (d.getUTCMonth() === 0) continue wrap;
        }
        while (!dayMatches(d)) {
          if (!added) { added = true; d.setUTCHours(0, 0, 0, 0); }
          d.setUTCDate(d.getUTCDate() + 1);
          if (d.getUTCDate() === 1) continue wrap;
        }
        while (!hour.set.has(d.getUTCHours())) {
          if (!added) { added = true; d.setUTCMinutes(0, 0, 0); }
          d.setUTCHours(d.getUTCHours() + 1);
          if (d.getUTCHours() === 0) continue wrap;
        }
        while (!minute.set.has(d.getUTCMinutes())) {
          added = true;
          d.setUTCMinutes(d.getUTCMinutes() + 1);
          if (d.getUTCMinutes() === 0) continue wrap;
        }
        const real = fromWall(d.getTime(), tz);
        if (real > t) return real;
        // A wall time repeated by a DST fall-back: look further.
        d.setUTCMinutes(d.getUTCMinutes() + 1);
      }
    },
  };
}

/**
 * upstream mostRecentScheduleTime: the latest activation in (earliest, now], how many were
 * missed, and the earliest time considered (lastScheduleTime or creation, not before now −
 * startingDeadlineSeconds).
 */
export function mostRecentScheduleTime(cj: CronJob, now: number, sched: Schedule): { time?: number; missed: number } {
  let earliest = Date.parse(cj.status?.lastScheduleTime ?? cj.metadata?.creationTimestamp ?? '') || now;
  const sds = cj.spec?.startingDeadlineSeconds;
  if (sds !== undefined && sds !== null) earliest = Math.max(earliest, now - sds * 1000);
  if (earliest > now) return { missed: 0 };
  let t = sched.next(earliest);
  let last: number | undefined;
  let missed = 0;
  while (t !== undefined && t <= now) {
    last = t;
    missed++;
    if (missed > 100_000) break;
    t = sched.next(t);
  }
  return { time: last, missed };
}

/** `<cronjob>-<minutes since the epoch>`, as upstream getJobName. */
export function jobNameFor(cj: CronJob, scheduled: number): string {
  return `${cj.metadata!.name}-${Math.floor(scheduled / 60_000)}`;
}

// ---------------------------------------------------------------------------
// The controller

export interface CronJobControllerOptions {
  /** Time zone for CronJobs without spec.timeZone (default: the process's zone). */
  defaultTimeZone?: string;
}

export function newCronJobController(ctx: ControllerContext, opts: CronJobControllerOptions = {}): Controller & { readonly queue: QueueController['queue'] } {
  const { client, clock } = ctx;
  const cjInf = ctx.informers.informerFor<CJ>(CRONJOBS);
  const jobInf = ctx.informers.informerFor<J>(JOBS);
  const recorder = ctx.recorder('cronjob-controller');
  const defaultTz = opts.defaultTimeZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
  const qc = new QueueController('cronjob', ctx, [cjInf as Informer<KObject>, jobInf as Informer<KObject>], sync);
  const q = qc.queue;

  const ownerOf = (j: J): CJ | undefined => resolveControllerRef(cjInf, j, 'CronJob');
  const enqueueOwner = (j: J) => { const cj = ownerOf(j); if (cj) q.add(keyOf(cj)); };
  cjInf.addEventHandler({
    onAdd: (cj) => q.add(keyOf(cj)),
    onUpdate: (o, cj) => {
      // A schedule, zone or suspend change moves the next activation: look again now.
      if (JSON.stringify(o.spec) !== JSON.stringify(cj.spec) || o.metadata?.deletionTimestamp !== cj.metadata?.deletionTimestamp) q.add(keyOf(cj));
    },
  });
  jobInf.addEventHandler({ onAdd: enqueueOwner, onUpdate: (_o, j) => enqueueOwner(j), onDelete: enqueueOwner });

  async function sync(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const cached = cjInf.get(namespace, name);
    if (!cached) return;
    const cj = copy(cached) as CJ;
    const now = clock.now();
    const status = (cj.status ??= {});
    const before = JSON.stringify(status);
    const jobs = jobInf.byIndex(INDEX_OWNER_UID, cj.metadata!.uid!);

    // Reconcile status.active with the jobs that exist.
    let active: ObjectReference[] = status.active ?? [];
    const inActive = (uid?: string) => active.some((r) => r.uid === uid);
    for (const j of jobs) {
      const finished = isJobFinished(j);
      if (!inActive(j.metadata?.uid) && !finished) {
        // A job we own but did not list (status write lost, or it is being adopted).
        active.push(jobRef(j));
      } else if (inActive(j.metadata?.uid) && finished) {
        active = active.filter((r) => r.uid !== j.metadata?.uid);
        const cond = j.status?.conditions?.find((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
        recorder.event(cj, 'Normal', 'SawCompletedJob', `Saw completed job: ${j.metadata!.name}, condition: ${cond?.type}`);
      }
      const ct = j.status?.completionTime;
      if (ct && j.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True')) {
        if (!status.lastSuccessfulTime || Date.parse(ct) > Date.parse(status.lastSuccessfulTime)) status.lastSuccessfulTime = ct;
      }
    }
    active = active.filter((r) => {
      if (jobs.some((j) => j.metadata?.uid === r.uid)) return true;
      recorder.event(cj, 'Normal', 'MissingJob', `Active job went missing: ${r.name}`);
      return false;
    });
    status.active = active;

    let requeueMs: number | undefined;
    if (!cj.metadata?.deletionTimestamp) {
      requeueMs = await schedule(cj, status, now);
      await cleanupFinishedJobs(cj, jobs);
    }
    if (!status.active?.length) delete status.active;
    if (JSON.stringify(status) !== before) {
      try {
        await client.update(CRONJOBS, cj.metadata!.namespace, cj, { subresource: 'status' });
      } catch (err) {
        if (!isReason(err, 'NotFound')) throw err;
      }
    }
    return requeueMs !== undefined ? { requeueAfterMs: requeueMs } : undefined;
  }

  /** Creates the job of the most recent unmet schedule; returns when to look again. */
  async function schedule(cj: CJ, status: NonNullable<CJ['status']>, now: number): Promise<number | undefined> {
    if (cj.spec?.suspend) return undefined;
    const tz = cj.spec?.timeZone ?? defaultTz;
    let sched: Schedule;
    try {
      if (cj.spec?.timeZone) new Intl.DateTimeFormat('en-US', { timeZone: cj.spec.timeZone });
    } catch {
      recorder.event(cj, 'Warning', 'UnknownTimeZone', `invalid timeZone: "${cj.spec?.timeZone}": unknown time zone ${cj.spec?.timeZone}`);
      return undefined;
    }
    try {
      sched = parseSchedule(cj.spec?.schedule ?? '', tz);
    } catch (err) {
      recorder.event(cj, 'Warning', 'UnparseableSchedule', `unparseable schedule: "${cj.spec?.schedule}" : ${errText(err)}`);
      return undefined;
    }
    const nextIn = (): number | undefined => {
      const n = sched.next(now);
      return n === undefined ? undefined : n - now + NEXT_SCHEDULE_DELTA_MS;
    };
    const { time: scheduled, missed } = mostRecentScheduleTime({ ...cj, status }, now, sched);
    if (missed > 100) {
      recorder.event(cj, 'Warning', 'TooManyMissedTimes', 'too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew');
    }
    if (scheduled === undefined) return nextIn();
    const sds = cj.spec?.startingDeadlineSeconds;
    if (sds !== undefined && sds !== null && scheduled + sds * 1000 < now) {
      recorder.event(cj, 'Warning', 'MissSchedule', `Missed scheduled time to start a job: ${rfc3339(scheduled)}`);
      return nextIn();
    }
    const jobName = jobNameFor(cj, scheduled);
    if (status.active?.some((r) => r.name === jobName) || (status.lastScheduleTime && Date.parse(status.lastScheduleTime) === scheduled)) return nextIn();
    const policy = cj.spec?.concurrencyPolicy ?? 'Allow';
    if (policy === 'Forbid' && status.active?.length) {
      recorder.event(cj, 'Normal', 'JobAlreadyActive', 'Not starting job because prior execution is running and concurrency policy is Forbid');
      return nextIn();
    }
    if (policy === 'Replace') {
      for (const r of [...(status.active ?? [])]) {
        try {
          await client.delete(JOBS, r.namespace ?? cj.metadata!.namespace, r.name!, { propagationPolicy: 'Background' });
          recorder.event(cj, 'Normal', 'SuccessfulDelete', `Deleted job ${r.name}`);
        } catch (err) {
          if (!isReason(err, 'NotFound')) {
            recorder.event(cj, 'Warning', 'FailedDelete', `Deleted job: ${errText(err)}`);
            throw err;
          }
        }
        status.active = (status.active ?? []).filter((x) => x.uid !== r.uid);
      }
    }
    const tmpl = cj.spec?.jobTemplate ?? {};
    const job: J = {
      apiVersion: 'batch/v1', kind: 'Job',
      metadata: {
        name: jobName,
        namespace: cj.metadata!.namespace,
        labels: copy(tmpl.metadata?.labels ?? {}),
        annotations: { ...copy(tmpl.metadata?.annotations ?? {}), [CRONJOB_SCHEDULED_TIMESTAMP_ANNOTATION]: scheduledTimestamp(scheduled, tz) },
        ownerReferences: [newControllerRef(cj, 'batch/v1', 'CronJob')],
      },
      spec: copy(tmpl.spec ?? { template: {} }),
    };
    let created: J;
    try {
      created = await client.create<J>(JOBS, cj.metadata!.namespace, job);
      recorder.event(cj, 'Normal', 'SuccessfulCreate', `Created job ${jobName}`);
    } catch (err) {
      if (isReason(err, 'AlreadyExists')) {
        // Created by an earlier sync whose status write was lost: take it into account if it is ours.
        const existing = jobInf.get(cj.metadata!.namespace, jobName);
        if (existing && controllerRef(existing)?.uid === cj.metadata!.uid) {
          status.lastScheduleTime = rfc3339(scheduled);
          return nextIn();
        }
      }
      recorder.event(cj, 'Warning', 'FailedCreate', `Error creating job: ${errText(err)}`);
      throw err;
    }
    status.active = [...(status.active ?? []), jobRef(created)];
    status.lastScheduleTime = rfc3339(scheduled);
    return nextIn();
  }

  /** Deletes the oldest finished jobs beyond the history limits. */
  async function cleanupFinishedJobs(cj: CJ, jobs: J[]): Promise<void> {
    const limits: Array<[number | undefined, (j: J) => boolean]> = [
      [cj.spec?.successfulJobsHistoryLimit, (j) => !!j.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True')],
      [cj.spec?.failedJobsHistoryLimit, (j) => !!j.status?.conditions?.some((c) => c.type === 'Failed' && c.status === 'True')],
    ];
    for (const [limit, pick] of limits) {
      if (limit === undefined || limit === null) continue;
      const finished = jobs.filter((j) => pick(j) && !j.metadata?.deletionTimestamp)
        .sort((a, b) => startOf(a) - startOf(b) || (a.metadata!.name! < b.metadata!.name! ? -1 : 1));
      for (const j of finished.slice(0, Math.max(0, finished.length - limit))) {
        try {
          await client.delete(JOBS, j.metadata!.namespace, j.metadata!.name!, { propagationPolicy: 'Background' });
          recorder.event(cj, 'Normal', 'SuccessfulDelete', `Deleted job ${j.metadata!.name}`);
        } catch (err) {
          if (!isReason(err, 'NotFound')) recorder.event(cj, 'Warning', 'FailedDelete', `Deleted job: ${errText(err)}`);
        }
      }
    }
  }

  return qc;
}

function startOf(j: Job): number {
  return Date.parse(j.status?.startTime ?? j.metadata?.creationTimestamp ?? '') || 0;
}

function jobRef(j: J): ObjectReference {
  return { apiVersion: 'batch/v1', kind: 'Job', name: j.metadata!.name, namespace: j.metadata!.namespace, uid: j.metadata!.uid, resourceVersion: j.metadata!.resourceVersion };
}

/** RFC 3339 of the scheduled time with the zone's offset, as upstream formats it. */
function scheduledTimestamp(t: number, tz: string | undefined): string {
  const off = Math.round((wallClock(t, tz) - t) / 60_000);
  const w = new Date(Math.floor(wallClock(t, tz) / 1000) * 1000).toISOString().slice(0, 19);
  if (off === 0) return `${w}Z`;
  const sign = off < 0 ? '-' : '+';
  const a = Math.abs(off);
  return `${w}${sign}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
}
