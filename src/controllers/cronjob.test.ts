import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CronJob, CronJobSpec, Job } from 'kubernetes-types/batch/v1.js';
import { rfc3339 } from '../util/clock.js';
import type { TestClient } from './testing/harness.js';
import { CRONJOBS, JOBS } from '../client/resources.js';
import { mostRecentScheduleTime, newCronJobController, parseSchedule } from './cronjob.js';
import { harness } from './testing/harness.js';

const T = (s: string) => Date.parse(s);
const iso = (t: number | undefined) => (t === undefined ? undefined : new Date(t).toISOString());

test('schedules: steps, ranges, names, descriptors, dom/dow OR, @every', () => {
  const nexts = (spec: string, from: string, n: number, tz?: string) => {
    const s = parseSchedule(spec, tz);
    const out: string[] = [];
    let t = T(from);
    for (let i = 0; i < n; i++) { t = s.next(t)!; out.push(iso(t)!); }
    return out;
  };
  assert.deepEqual(nexts('*/15 * * * *', '2024-01-01T00:07:30Z', 3), ['2024-01-01T00:15:00.000Z', '2024-01-01T00:30:00.000Z', '2024-01-01T00:45:00.000Z']);
  assert.deepEqual(nexts('@hourly', '2024-01-01T00:00:00Z', 2), ['2024-01-01T01:00:00.000Z', '2024-01-01T02:00:00.000Z']);
  // Mon-Fri at 09:30; 2024-01-05 is a Friday.
  assert.deepEqual(nexts('30 9 * * mon-fri', '2024-01-05T10:00:00Z', 2), ['2024-01-08T09:30:00.000Z', '2024-01-09T09:30:00.000Z']);
  // Both day fields restricted: either matches (the 1st, or any Monday).
  assert.deepEqual(nexts('0 0 1 * 1', '2024-01-01T00:00:00Z', 3), ['2024-01-08T00:00:00.000Z', '2024-01-15T00:00:00.000Z', '2024-01-22T00:00:00.000Z']);
  assert.deepEqual(nexts('0 0 29 2 *', '2024-03-01T00:00:00Z', 1), ['2028-02-29T00:00:00.000Z']);
  assert.deepEqual(nexts('@yearly', '2024-06-01T00:00:00Z', 1), ['2025-01-01T00:00:00.000Z']);
  assert.deepEqual(nexts('@every 90s', '2024-01-01T00:00:00Z', 2), ['2024-01-01T00:01:30.000Z', '2024-01-01T00:03:00.000Z']);
  assert.throws(() => parseSchedule('* * *'));
  assert.throws(() => parseSchedule('61 * * * *'));
});

test('schedules honour the time zone, across DST', () => {
  const s = parseSchedule('0 9 * * *', 'America/New_York');
  assert.equal(iso(s.next(T('2024-01-10T00:00:00Z'))), '2024-01-10T14:00:00.000Z');
  assert.equal(iso(s.next(T('2024-07-10T00:00:00Z'))), '2024-07-10T13:00:00.000Z');
  assert.equal(iso(parseSchedule('CRON_TZ=Asia/Tokyo 0 0 * * *').next(T('2024-01-01T00:00:00Z'))), '2024-01-01T15:00:00.000Z');
  assert.throws(() => parseSchedule('0 0 * * *', 'Mars/Olympus'));
});

test('mostRecentScheduleTime counts missed runs and respects startingDeadlineSeconds', () => {
  const cj: CronJob = { metadata: { creationTimestamp: '2024-01-01T00:00:00Z' }, spec: { schedule: '* * * * *', jobTemplate: {} } };
  const s = parseSchedule('* * * * *', 'UTC');
  assert.deepEqual(mostRecentScheduleTime(cj, T('2024-01-01T00:10:30Z'), s), { time: T('2024-01-01T00:10:00Z'), missed: 10 });
  cj.spec!.startingDeadlineSeconds = 120;
  assert.deepEqual(mostRecentScheduleTime(cj, T('2024-01-01T00:10:30Z'), s), { time: T('2024-01-01T00:10:00Z'), missed: 2 });
  cj.status = { lastScheduleTime: '2024-01-01T00:10:00Z' };
  assert.deepEqual(mostRecentScheduleTime(cj, T('2024-01-01T00:10:30Z'), s), { time: undefined, missed: 0 });
});

const cjObj = (spec: Partial<CronJobSpec> = {}): CronJob => ({
  apiVersion: 'batch/v1', kind: 'CronJob',
  metadata: { name: 'cj', namespace: 'default' },
  spec: {
    schedule: '*/5 * * * *', timeZone: 'UTC', concurrencyPolicy: 'Allow', suspend: false, successfulJobsHistoryLimit: 3, failedJobsHistoryLimit: 1,
    jobTemplate: { metadata: { labels: { team: 'a' } }, spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } } } },
    ...spec,
  },
});
const jobs = (c: TestClient) => c.objects<Job>(JOBS, 'default');
const getCJ = (c: TestClient) => c.peek<CronJob>(CRONJOBS, 'default', 'cj')!;
async function finishJob(c: TestClient, name: string, type: 'Complete' | 'Failed', at: number): Promise<void> {
  await c.patch(JOBS, 'default', name, 'merge', {
    status: { startTime: rfc3339(at - 1000), ...(type === 'Complete' ? { completionTime: rfc3339(at) } : {}), conditions: [{ type, status: 'True', lastTransitionTime: rfc3339(at) }] },
  }, { subresource: 'status' });
}

test('creates a job named by the scheduled minute at each schedule, with owner, labels and annotation', async () => {
  const h = harness();
  h.start(newCronJobController(h.ctx));
  await h.client.create(CRONJOBS, 'default', cjObj());
  await h.settle();
  assert.equal(jobs(h.client).length, 0, 'nothing before the first scheduled time');
  await h.clock.advance(5 * 60_000 + 200);
  await h.settle();
  const js = jobs(h.client);
  assert.equal(js.length, 1);
  const minutes = T('2024-01-01T00:05:00Z') / 60_000;
  assert.equal(js[0].metadata!.name, `cj-${minutes}`);
  assert.equal(js[0].metadata!.labels!.team, 'a');
  assert.equal(js[0].metadata!.annotations!['batch.kubernetes.io/cronjob-scheduled-timestamp'], '2024-01-01T00:05:00Z');
  assert.equal(js[0].metadata!.ownerReferences![0].kind, 'CronJob');
  assert.equal(js[0].metadata!.ownerReferences![0].controller, true);
  let cj = getCJ(h.client);
  assert.equal(cj.status!.lastScheduleTime, '2024-01-01T00:05:00Z');
  assert.deepEqual(cj.status!.active!.map((r) => r.name), [`cj-${minutes}`]);
  assert.ok(h.recorder.events.includes(`Normal SuccessfulCreate Created job cj-${minutes}`));

  // Allow: the next run starts while the first is still active.
  await h.clock.advance(5 * 60_000);
  await h.settle();
  assert.equal(jobs(h.client).length, 2);
  assert.equal(getCJ(h.client).status!.active!.length, 2);

  // A finished job leaves status.active and sets lastSuccessfulTime.
  await finishJob(h.client, `cj-${minutes}`, 'Complete', h.clock.now());
  await h.settle();
  cj = getCJ(h.client);
  assert.equal(cj.status!.active!.length, 1);
  assert.equal(cj.status!.lastSuccessfulTime, rfc3339(h.clock.now()));
  assert.equal(h.client.count('create', 'jobs'), 2, 'never a duplicate');
  h.stop();
});

test('Forbid skips a run while one is active; Replace deletes the active one', async () => {
  const h = harness();
  h.start(newCronJobController(h.ctx));
  await h.client.create(CRONJOBS, 'default', cjObj({ concurrencyPolicy: 'Forbid' }));
  await h.clock.advance(5 * 60_000 + 200);
  await h.settle();
  assert.equal(jobs(h.client).length, 1);
  await h.clock.advance(5 * 60_000);
  await h.settle();
  assert.equal(jobs(h.client).length, 1, 'Forbid: no second job');
  assert.ok(h.recorder.events.includes('Normal JobAlreadyActive Not starting job because prior execution is running and concurrency policy is Forbid'));

  await h.client.patch(CRONJOBS, 'default', 'cj', 'merge', { spec: { concurrencyPolicy: 'Replace' } });
  await h.clock.advance(5 * 60_000);
  await h.settle();
  const names = jobs(h.client).filter((j) => !j.metadata?.deletionTimestamp).map((j) => j.metadata!.name);
  assert.deepEqual(names, [`cj-${T('2024-01-01T00:15:00Z') / 60_000}`]);
  assert.deepEqual(getCJ(h.client).status!.active!.map((r) => r.name), names);
  h.stop();
});

test('startingDeadlineSeconds: a run missed by more than the deadline is skipped', async () => {
  const h = harness();
  h.start(newCronJobController(h.ctx));
  await h.client.create(CRONJOBS, 'default', cjObj({ suspend: true, startingDeadlineSeconds: 30 }));
  await h.clock.advance(12 * 60_000);
  await h.settle();
  assert.equal(jobs(h.client).length, 0, 'suspended');
  await h.client.patch(CRONJOBS, 'default', 'cj', 'merge', { spec: { suspend: false } });
  await h.settle();
  assert.equal(jobs(h.client).length, 0, '00:10 was missed by 2 minutes > 30 s');
  // Without the deadline the most recent missed run starts late.
  await h.client.patch(CRONJOBS, 'default', 'cj', 'merge', { spec: { startingDeadlineSeconds: null } });
  await h.settle();
  assert.deepEqual(jobs(h.client).map((j) => j.metadata!.name), [`cj-${T('2024-01-01T00:10:00Z') / 60_000}`]);
  h.stop();
});

test('history limits delete the oldest finished jobs', async () => {
  const h = harness();
  h.start(newCronJobController(h.ctx));
  await h.client.create(CRONJOBS, 'default', cjObj({ schedule: '* * * * *', successfulJobsHistoryLimit: 2, failedJobsHistoryLimit: 1 }));
  await h.clock.advance(200); // requeues land 100 ms after each minute
  for (let i = 0; i < 5; i++) {
    await h.clock.advance(60_000);
    await h.settle();
    const latest = jobs(h.client).map((j) => j.metadata!.name!).sort().at(-1)!;
    await finishJob(h.client, latest, i === 1 || i === 3 ? 'Failed' : 'Complete', h.clock.now());
    await h.settle();
  }
  const m = (s: string) => `cj-${T(s) / 60_000}`;
  const left = jobs(h.client).filter((j) => !j.metadata?.deletionTimestamp).map((j) => j.metadata!.name).sort();
  // Complete: 00:01, 00:03, 00:05 → keep 00:03, 00:05. Failed: 00:02, 00:04 → keep 00:04.
  assert.deepEqual(left, [m('2024-01-01T00:03:00Z'), m('2024-01-01T00:04:00Z'), m('2024-01-01T00:05:00Z')]);
  h.stop();
});
