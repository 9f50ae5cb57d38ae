import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { Job, JobSpec } from 'kubernetes-types/batch/v1.js';
import { rfc3339 } from '../util/clock.js';
import { JOBS, PODS } from '../client/resources.js';
import type { TestClient } from './testing/harness.js';
import { formatIndexes, newJobController, parseIndexes } from './job.js';
import { harness, makePodsReady } from './testing/harness.js';

const jobObj = (name: string, spec: Partial<JobSpec> = {}): Job => ({
  apiVersion: 'batch/v1', kind: 'Job',
  metadata: { name, namespace: 'default' },
  spec: {
    parallelism: 1, completions: 1, backoffLimit: 6, completionMode: 'NonIndexed', suspend: false,
    selector: { matchLabels: { 'batch.kubernetes.io/job-name': name } },
    template: {
      metadata: { labels: { 'batch.kubernetes.io/job-name': name, 'job-name': name } },
      spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] },
    },
    ...spec,
  },
});

const podsOf = (c: TestClient, job: string) => c.objects<Pod>(PODS, 'default').filter((p) => p.metadata?.ownerReferences?.some((r) => r.name === job && r.kind === 'Job'));
const getJob = (c: TestClient, name: string) => c.peek<Job>(JOBS, 'default', name)!;
const cond = (j: Job, type: string) => j.status?.conditions?.find((c) => c.type === type);

/** Moves pods to a terminal phase as the kubelet would. */
async function finish(c: TestClient, pods: Pod[], phase: 'Succeeded' | 'Failed', at: number): Promise<void> {
  for (const p of pods) {
    await c.patch(PODS, 'default', p.metadata!.name!, 'merge', {
      status: { phase, containerStatuses: [{ name: 'c', ready: false, restartCount: 0, image: 'busybox', imageID: '', state: { terminated: { exitCode: phase === 'Succeeded' ? 0 : 1, finishedAt: rfc3339(at) } } }] },
    }, { subresource: 'status' });
  }
}

test('index sets parse and format as upstream', () => {
  assert.equal(formatIndexes([7, 1, 3, 4, 5]), '1,3-5,7');
  assert.equal(formatIndexes([0, 1]), '0,1');
  assert.deepEqual([...parseIndexes('1,3-5,7,9', 8)].sort(), [1, 3, 4, 5, 7]);
});

test('runs completions pods, parallelism at a time, and completes in two steps', async () => {
  const h = harness();
  h.start(newJobController(h.ctx));
  await h.client.create(JOBS, 'default', jobObj('pi', { completions: 3, parallelism: 2 }));
  await h.settle();
  let pods = podsOf(h.client, 'pi');
  assert.equal(pods.length, 2);
  const uid = getJob(h.client, 'pi').metadata!.uid!;
  for (const p of pods) {
    assert.match(p.metadata!.name!, /^pi-[a-z0-9]{5}$/);
    assert.equal(p.metadata!.labels!['batch.kubernetes.io/job-name'], 'pi');
    assert.deepEqual(p.metadata!.ownerReferences![0], { apiVersion: 'batch/v1', kind: 'Job', name: 'pi', uid, controller: true, blockOwnerDeletion: true });
  }
  let j = getJob(h.client, 'pi');
  assert.equal(j.status!.active, 2);
  assert.equal(j.status!.startTime, '2024-01-01T00:00:00Z');
  await makePodsReady(h.client, h.clock);
  await h.settle();
  assert.equal(getJob(h.client, 'pi').status!.ready, 2);

  await finish(h.client, pods, 'Succeeded', h.clock.now());
  await h.settle();
  pods = podsOf(h.client, 'pi');
  assert.equal(pods.length, 3, 'one more pod for the last completion, not two');
  j = getJob(h.client, 'pi');
  assert.equal(j.status!.succeeded, 2);
  assert.equal(j.status!.active, 1);
  assert.equal(cond(j, 'Complete'), undefined);

  await h.clock.advance(5000);
  await finish(h.client, pods.filter((p) => !p.status?.phase || p.status.phase !== 'Succeeded'), 'Succeeded', h.clock.now());
  await h.settle();
  j = getJob(h.client, 'pi');
  assert.equal(j.status!.succeeded, 3);
  assert.equal(j.status!.active, 0);
  assert.equal(cond(j, 'SuccessCriteriaMet')?.status, 'True');
  assert.equal(cond(j, 'Complete')?.status, 'True');
  assert.equal(cond(j, 'Complete')?.reason, 'CompletionsReached');
  assert.equal(j.status!.completionTime, '2024-01-01T00:00:05Z');
  assert.equal(h.client.count('create', 'pods'), 3);
  assert.ok(h.recorder.events.includes('Normal Completed Job completed'));
  assert.equal(h.recorder.events.filter((e) => e.startsWith('Normal SuccessfulCreate Created pod: pi-')).length, 3);
  h.stop();
});

test('failed pods are replaced with backoff until backoffLimit, then FailureTarget and Failed', async () => {
  const h = harness();
  h.start(newJobController(h.ctx));
  await h.client.create(JOBS, 'default', jobObj('bad', { backoffLimit: 1 }));
  await h.settle();
  await finish(h.client, podsOf(h.client, 'bad'), 'Failed', h.clock.now());
  await h.settle();
  // First failure: the replacement waits 10 s.
  assert.equal(podsOf(h.client, 'bad').length, 1);
  assert.equal(getJob(h.client, 'bad').status!.failed, 1);
  await h.clock.advance(9_000);
  await h.settle();
  assert.equal(podsOf(h.client, 'bad').length, 1, 'still backing off');
  await h.clock.advance(1_500);
  await h.settle();
  const pods = podsOf(h.client, 'bad');
  assert.equal(pods.length, 2);
  await finish(h.client, pods.filter((p) => p.status?.phase !== 'Failed'), 'Failed', h.clock.now());
  await h.settle();
  const j = getJob(h.client, 'bad');
  assert.equal(j.status!.failed, 2);
  assert.equal(cond(j, 'FailureTarget')?.reason, 'BackoffLimitExceeded');
  assert.equal(cond(j, 'Failed')?.reason, 'BackoffLimitExceeded');
  assert.equal(cond(j, 'Failed')?.message, 'Job has reached the specified backoff limit');
  assert.equal(j.status!.completionTime, undefined);
  assert.equal(podsOf(h.client, 'bad').length, 2, 'no more pods');
  assert.ok(h.recorder.events.includes('Warning BackoffLimitExceeded Job has reached the specified backoff limit'));
  h.stop();
});

test('restartPolicy OnFailure counts container restarts against backoffLimit', async () => {
  const h = harness();
  h.start(newJobController(h.ctx));
  const spec = jobObj('crashy', { backoffLimit: 2 }).spec!;
  spec.template.spec!.restartPolicy = 'OnFailure';
  await h.client.create(JOBS, 'default', jobObj('crashy', spec));
  await h.settle();
  const [p] = podsOf(h.client, 'crashy');
  await h.client.patch(PODS, 'default', p.metadata!.name!, 'merge', { status: { phase: 'Running', containerStatuses: [{ name: 'c', restartCount: 1, ready: false, image: '', imageID: '' }] } }, { subresource: 'status' });
  await h.settle();
  assert.equal(cond(getJob(h.client, 'crashy'), 'FailureTarget'), undefined);
  await h.client.patch(PODS, 'default', p.metadata!.name!, 'merge', { status: { containerStatuses: [{ name: 'c', restartCount: 2, ready: false, image: '', imageID: '' }] } }, { subresource: 'status' });
  await h.settle();
  const j = getJob(h.client, 'crashy');
  assert.equal(cond(j, 'Failed')?.reason, 'BackoffLimitExceeded');
  assert.equal(podsOf(h.client, 'crashy').length, 0, 'the running pod was deleted');
  h.stop();
});

test('activeDeadlineSeconds fails the job with DeadlineExceeded and deletes its pods', async () => {
  const h = harness();
  h.start(newJobController(h.ctx));
  await h.client.create(JOBS, 'default', jobObj('slow', { activeDeadlineSeconds: 30, parallelism: 2, completions: 4 }));
  await h.settle();
  assert.equal(podsOf(h.client, 'slow').length, 2);
  await h.clock.advance(29_000);
  await h.settle();
  assert.equal(cond(getJob(h.client, 'slow'), 'Failed'), undefined);
  await h.clock.advance(2_000);
  await h.settle();
  const j = getJob(h.client, 'slow');
  assert.equal(cond(j, 'Failed')?.reason, 'DeadlineExceeded');
  assert.equal(cond(j, 'Failed')?.message, 'Job was active longer than specified deadline');
  assert.equal(j.status!.active, 0);
  assert.equal(podsOf(h.client, 'slow').length, 0);
  h.stop();
});

test('Indexed jobs run one pod per index with the index annotation, label, env and hostname', async () => {
  const h = harness();
  h.start(newJobController(h.ctx));
  await h.client.create(JOBS, 'default', jobObj('idx', { completionMode: 'Indexed', completions: 3, parallelism: 3 }));
  await h.settle();
  let pods = podsOf(h.client, 'idx');
  assert.equal(pods.length, 3);
  const byIndex = new Map(pods.map((p) => [p.metadata!.annotations!['batch.kubernetes.io/job-completion-index'], p]));
  assert.deepEqual([...byIndex.keys()].sort(), ['0', '1', '2']);
  const p1 = byIndex.get('1')!;
  assert.match(p1.metadata!.name!, /^idx-1-[a-z0-9]{5}$/);
  assert.equal(p1.metadata!.labels!['batch.kubernetes.io/job-completion-index'], '1');
  assert.equal(p1.spec!.hostname, 'idx-1');
  assert.deepEqual(p1.spec!.containers[0].env, [{ name: 'JOB_COMPLETION_INDEX', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']" } } }]);

  // Index 1 fails and is replaced (after backoff) with a pod of the same index; 0 and 2 succeed.
  await finish(h.client, [byIndex.get('0')!, byIndex.get('2')!], 'Succeeded', h.clock.now());
  await finish(h.client, [p1], 'Failed', h.clock.now());
  await h.settle();
  let j = getJob(h.client, 'idx');
  assert.equal(j.status!.completedIndexes, '0,2');
  assert.equal(j.status!.succeeded, 2);
  await h.clock.advance(11_000);
  await h.settle();
  pods = podsOf(h.client, 'idx').filter((p) => p.status?.phase === 'Pending');
  assert.equal(pods.length, 1);
  assert.equal(pods[0].metadata!.annotations!['batch.kubernetes.io/job-completion-index'], '1');
  await finish(h.client, pods, 'Succeeded', h.clock.now());
  await h.settle();
  j = getJob(h.client, 'idx');
  assert.equal(j.status!.completedIndexes, '0-2');
  assert.equal(cond(j, 'Complete')?.status, 'True');
  h.stop();
});

test('suspend deletes active pods and resume restarts them with a new startTime', async () => {
  const h = harness();
  h.start(newJobController(h.ctx));
  await h.client.create(JOBS, 'default', jobObj('s', { suspend: true, parallelism: 2, completions: 2 }));
  await h.settle();
  let j = getJob(h.client, 's');
  assert.equal(podsOf(h.client, 's').length, 0);
  assert.equal(cond(j, 'Suspended')?.reason, 'JobSuspended');
  assert.equal(j.status!.startTime, undefined);
  await h.client.patch(JOBS, 'default', 's', 'merge', { spec: { suspend: false } });
  await h.settle();
  j = getJob(h.client, 's');
  assert.equal(podsOf(h.client, 's').length, 2);
  assert.equal(cond(j, 'Suspended')?.status, 'False');
  assert.equal(cond(j, 'Suspended')?.reason, 'JobResumed');
  assert.ok(j.status!.startTime);
  await h.clock.advance(60_000);
  await h.client.patch(JOBS, 'default', 's', 'merge', { spec: { suspend: true } });
  await h.settle();
  assert.equal(podsOf(h.client, 's').length, 0);
  assert.equal(getJob(h.client, 's').status!.active, 0);
  await h.client.patch(JOBS, 'default', 's', 'merge', { spec: { suspend: false } });
  await h.settle();
  assert.equal(getJob(h.client, 's').status!.startTime, '2024-01-01T00:01:00Z');
  h.stop();
});

test('ttlSecondsAfterFinished deletes the finished job', async () => {
  const h = harness();
  h.start(newJobController(h.ctx));
  await h.client.create(JOBS, 'default', jobObj('ttl', { ttlSecondsAfterFinished: 100 }));
  await h.settle();
  await finish(h.client, podsOf(h.client, 'ttl'), 'Succeeded', h.clock.now());
  await h.settle();
  assert.equal(cond(getJob(h.client, 'ttl'), 'Complete')?.status, 'True');
  await h.clock.advance(99_000);
  await h.settle();
  assert.ok(getJob(h.client, 'ttl'), 'kept until the ttl passes');
  await h.clock.advance(2_000);
  await h.settle();
  const deletes = h.client.actions.filter((a) => a.verb === 'delete' && a.resource === 'jobs');
  assert.equal(deletes.length, 1);
  // Foreground deletion: the fake keeps the job with the foregroundDeletion finalizer for the GC.
  const j = h.client.peek<Job>(JOBS, 'default', 'ttl');
  assert.ok(!j || j.metadata?.deletionTimestamp);
  h.stop();
});

test('parallel job without completions completes once a pod succeeded and the rest finished', async () => {
  const h = harness();
  h.start(newJobController(h.ctx));
  await h.client.create(JOBS, 'default', jobObj('wq', { completions: undefined, parallelism: 3 }));
  await h.settle();
  const pods = podsOf(h.client, 'wq');
  assert.equal(pods.length, 3);
  await finish(h.client, [pods[0]], 'Succeeded', h.clock.now());
  await h.settle();
  assert.equal(podsOf(h.client, 'wq').length, 3, 'no replacement after a success');
  assert.equal(cond(getJob(h.client, 'wq'), 'Complete'), undefined, 'others still run');
  await finish(h.client, pods.slice(1), 'Succeeded', h.clock.now());
  await h.settle();
  const j = getJob(h.client, 'wq');
  assert.equal(cond(j, 'Complete')?.status, 'True');
  assert.equal(j.status!.succeeded, 3);
  h.stop();
});
