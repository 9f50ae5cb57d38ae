import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fieldErrorString, type FieldError } from '../errors.js';
import type { KObject } from '../registry.js';
import { cronScheduleError, cronjobs, jobs } from './batch.js';

const msgs = (errs: FieldError[] | undefined): string[] => (errs ?? []).map(fieldErrorString);
const NOW = Date.parse('2024-05-01T12:00:00Z');
const UID = '0b7e2f3a-1111-2222-3333-444455556666';
type J = Record<string, any>;

/** What `kubectl create job pi --image=perl` sends, after the server set name and uid. */
function createdJob(): KObject {
  const job: KObject = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'pi', uid: UID, creationTimestamp: '2024-05-01T11:58:00Z' },
    spec: { template: { metadata: {}, spec: { containers: [{ name: 'pi', image: 'perl:5.34' }], restartPolicy: 'Never' } } },
    status: {},
  };
  jobs.strategy.defaults!(job);
  jobs.strategy.prepareForCreate!(job);
  return job;
}

test('job defaults and generated selector', () => {
  const job = createdJob();
  const s = job.spec as J;
  assert.equal(s.completions, 1);
  assert.equal(s.parallelism, 1);
  assert.equal(s.backoffLimit, 6);
  assert.equal(s.completionMode, 'NonIndexed');
  assert.equal(s.suspend, false);
  assert.equal(s.podReplacementPolicy, 'TerminatingOrFailed');
  assert.equal(s.manualSelector, undefined);
  assert.deepEqual(s.selector, { matchLabels: { 'batch.kubernetes.io/controller-uid': UID } });
  const labels = {
    'batch.kubernetes.io/controller-uid': UID,
    'batch.kubernetes.io/job-name': 'pi',
    'controller-uid': UID,
    'job-name': 'pi',
  };
  assert.deepEqual(s.template.metadata.labels, labels);
  assert.deepEqual(job.metadata!.labels, labels);
  assert.deepEqual(msgs(jobs.strategy.validate!(job)), []);

  const parallel: KObject = { metadata: { name: 'p', uid: UID }, spec: { parallelism: 3, template: { spec: { containers: [{ name: 'a', image: 'x' }], restartPolicy: 'Never' } } } };
  jobs.strategy.defaults!(parallel);
  assert.equal((parallel.spec as J).completions, undefined);
  assert.equal((parallel.spec as J).parallelism, 3);
});

test('job validation: restartPolicy, counts, selector', () => {
  const job = createdJob();
  const s = job.spec as J;
  s.template.spec.restartPolicy = 'Always';
  s.backoffLimit = -1;
  assert.deepEqual(msgs(jobs.strategy.validate!(job)), [
    'spec.backoffLimit: Invalid value: -1: must be greater than or equal to 0',
    'spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"',
  ]);

  const manual: KObject = {
    metadata: { name: 'm', uid: UID },
    spec: { manualSelector: true, selector: { matchLabels: { app: 'm' } }, template: { metadata: { labels: { app: 'other' } }, spec: { containers: [{ name: 'a', image: 'x' }], restartPolicy: 'Never' } } },
  };
  jobs.strategy.defaults!(manual);
  jobs.strategy.prepareForCreate!(manual);
  assert.deepEqual((manual.spec as J).selector, { matchLabels: { app: 'm' } });
  assert.deepEqual(msgs(jobs.strategy.validate!(manual)), [
    'spec.template.metadata.labels: Invalid value: map[string]string{"app":"other"}: `selector` does not match template `labels`',
  ]);
});

test('job update: template immutable unless suspended and never started', () => {
  const old = createdJob();
  const upd = structuredClone(old);
  (upd.spec as J).template.spec.containers[0].image = 'perl:5.36';
  const out = msgs(jobs.strategy.validateUpdate!(upd, old));
  assert.equal(out.length, 1);
  assert.match(out[0], /^spec\.template: Invalid value: .*: field is immutable$/);

  const sel = structuredClone(old);
  (sel.spec as J).selector.matchLabels.extra = 'x';
  (sel.spec as J).template.metadata.labels.extra = 'x';
  assert.ok(msgs(jobs.strategy.validateUpdate!(sel, old)).some((m) => m.startsWith('spec.selector: Invalid value: v1.LabelSelector{') && m.endsWith(': field is immutable')));

  const suspended = createdJob();
  (suspended.spec as J).suspend = true;
  const sched = structuredClone(suspended);
  (sched.spec as J).template.spec.nodeSelector = { zone: 'a' };
  assert.deepEqual(msgs(jobs.strategy.validateUpdate!(sched, suspended)), []);
  suspended.status = { startTime: '2024-05-01T11:59:00Z' };
  assert.equal(msgs(jobs.strategy.validateUpdate!(sched, suspended)).length, 1);
});

test('job table cells', () => {
  const job = createdJob();
  assert.deepEqual(jobs.table!.columns.filter((c) => !c.priority).map((c) => c.name), ['Name', 'Status', 'Completions', 'Duration', 'Age']);
  assert.deepEqual(jobs.table!.cells(job, NOW), ['pi', 'Running', '0/1', '', '2m', 'pi', 'perl:5.34', `batch.kubernetes.io/controller-uid=${UID}`]);
  job.status = {
    startTime: '2024-05-01T11:58:05Z',
    completionTime: '2024-05-01T11:58:20Z',
    succeeded: 1,
    conditions: [{ type: 'SuccessCriteriaMet', status: 'True' }, { type: 'Complete', status: 'True' }],
  };
  assert.deepEqual(jobs.table!.cells(job, NOW).slice(0, 5), ['pi', 'Complete', '1/1', '15s', '2m']);
  job.status = { conditions: [{ type: 'Suspended', status: 'True' }] };
  assert.equal(jobs.table!.cells(job, NOW)[1], 'Suspended');
  const par: KObject = { metadata: { name: 'w' }, spec: { parallelism: 3 }, status: { succeeded: 2, conditions: [{ type: 'Failed', status: 'True' }] } };
  assert.deepEqual(jobs.table!.cells(par, NOW).slice(1, 3), ['Failed', '2/1 of 3']);
});

test('cron schedules parse like robfig/cron ParseStandard', () => {
  assert.equal(cronScheduleError('*/5 * * * *'), undefined);
  assert.equal(cronScheduleError('0 9 * jan-mar mon-fri'), undefined);
  assert.equal(cronScheduleError('@hourly'), undefined);
  assert.equal(cronScheduleError('@every 1h30m'), undefined);
  assert.equal(cronScheduleError('* * * *'), 'expected exactly 5 fields, found 4: [* * * *]');
  assert.equal(cronScheduleError('60 * * * *'), 'end of range (60) above maximum (59): 60');
  assert.equal(cronScheduleError('* * 0 * *'), 'beginning of range (0) below minimum (1): 0');
  assert.equal(cronScheduleError('x * * * *'), 'failed to parse int from x: strconv.Atoi: parsing "x": invalid syntax');
  assert.equal(cronScheduleError('@fortnightly'), 'unrecognized descriptor: @fortnightly');
});

function cronJob(): KObject {
  return {
    metadata: { name: 'backup', creationTimestamp: '2024-04-30T12:00:00Z' },
    spec: {
      schedule: '0 3 * * *',
      jobTemplate: { spec: { template: { spec: { containers: [{ name: 'b', image: 'busybox' }], restartPolicy: 'OnFailure' } } } },
    },
  };
}

test('cronjob defaults, validation and table', () => {
  const cj = cronJob();
  cronjobs.strategy.defaults!(cj);
  const s = cj.spec as J;
  assert.equal(s.concurrencyPolicy, 'Allow');
  assert.equal(s.suspend, false);
  assert.equal(s.successfulJobsHistoryLimit, 3);
  assert.equal(s.failedJobsHistoryLimit, 1);
  assert.equal(s.jobTemplate.spec.template.spec.dnsPolicy, 'ClusterFirst');
  assert.equal(s.jobTemplate.spec.backoffLimit, undefined);
  assert.deepEqual(msgs(cronjobs.strategy.validate!(cj)), []);

  s.schedule = '61 * * * *';
  s.concurrencyPolicy = 'Sometimes';
  s.jobTemplate.spec.template.spec.restartPolicy = 'Always';
  assert.deepEqual(msgs(cronjobs.strategy.validate!(cj)), [
    'spec.schedule: Invalid value: "61 * * * *": end of range (61) above maximum (59): 61',
    'spec.concurrencyPolicy: Unsupported value: "Sometimes": supported values: "Allow", "Forbid", "Replace"',
    'spec.jobTemplate.spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"',
  ]);
  s.schedule = 'TZ=UTC 0 3 * * *';
  s.concurrencyPolicy = 'Forbid';
  s.jobTemplate.spec.template.spec.restartPolicy = 'Never';
  assert.deepEqual(msgs(cronjobs.strategy.validate!(cj)), ['spec.schedule: Invalid value: "TZ=UTC 0 3 * * *": cannot use TZ or CRON_TZ in schedule, use timeZone field instead']);
  s.schedule = '0 3 * * *';
  cj.metadata!.name = 'x'.repeat(53);
  assert.deepEqual(msgs(cronjobs.strategy.validate!(cj)), [`metadata.name: Invalid value: "${'x'.repeat(53)}": must be no more than 52 characters`]);

  cj.metadata!.name = 'backup';
  cj.status = { active: [{ name: 'backup-1' }], lastScheduleTime: '2024-05-01T11:00:00Z' };
  assert.deepEqual(cronjobs.table!.columns.filter((c) => !c.priority).map((c) => c.name), ['Name', 'Schedule', 'Timezone', 'Suspend', 'Active', 'Last Schedule', 'Age']);
  assert.deepEqual(cronjobs.table!.cells(cj, NOW), ['backup', '0 3 * * *', '<none>', 'False', 1, '60m', '24h', 'b', 'busybox', '']);
});
