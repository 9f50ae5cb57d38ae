import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { DEPLOYMENTS, PODS, REPLICASETS } from '../client/resources.js';
import { resolveFenceposts, REVISION, REVISION_HISTORY } from './deployment-util.js';
import { newDeploymentController } from './deployment.js';
import { newReplicaSetController } from './replicaset.js';
import { harness, makePodsReady, type Harness } from './testing/harness.js';
import { isPodReady } from './util.js';

function deployment(replicas: number, image = 'nginx:1', spec: Partial<Deployment['spec']> = {}): Deployment {
  return {
    apiVersion: 'apps/v1', kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default' },
    spec: {
      replicas, selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image }] } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
      revisionHistoryLimit: 10, progressDeadlineSeconds: 600,
      ...spec,
    },
  };
}

function setup(): Harness {
  const h = harness();
  h.start(newReplicaSetController(h.ctx), newDeploymentController(h.ctx));
  return h;
}

const getD = (h: Harness) => h.client.peek<Deployment>(DEPLOYMENTS, 'default', 'web')!;
const rses = (h: Harness) => h.client.objects<ReplicaSet>(REPLICASETS, 'default');
const activePods = (h: Harness) => h.client.objects<Pod>(PODS, 'default').filter((p) => !p.metadata?.deletionTimestamp);
const condOf = (d: Deployment, t: string) => d.status?.conditions?.find((c) => c.type === t);
const setImage = (h: Harness, image: string) => h.client.patch(DEPLOYMENTS, 'default', 'web', 'merge', { spec: { template: { spec: { containers: [{ name: 'c', image }] } } } });

async function rollToCompletion(h: Harness, check?: () => void): Promise<void> {
  for (let i = 0; i < 50; i++) {
    await h.settle();
    check?.();
    if (await makePodsReady(h.client, h.clock, undefined, 'node-1', 1) === 0) {
      await h.settle();
      return;
    }
  }
  throw new Error('rollout did not finish');
}

test('a new deployment gets a hashed ReplicaSet, events, revision and the status rollout status reads', async () => {
  const h = setup();
  await h.client.create(DEPLOYMENTS, 'default', deployment(3));
  await h.settle();
  const [rs] = rses(h);
  const hash = rs.metadata!.labels!['pod-template-hash'];
  assert.equal(rs.metadata!.name, `web-${hash}`);
  assert.equal(rs.spec!.selector.matchLabels!['pod-template-hash'], hash);
  assert.equal(rs.spec!.template!.metadata!.labels!['pod-template-hash'], hash);
  assert.equal(rs.metadata!.annotations![REVISION], '1');
  assert.equal(rs.metadata!.annotations!['deployment.kubernetes.io/desired-replicas'], '3');
  assert.equal(rs.metadata!.annotations!['deployment.kubernetes.io/max-replicas'], '4');
  assert.equal(rs.metadata!.ownerReferences![0].kind, 'Deployment');
  assert.ok(h.recorder.events.includes(`Normal ScalingReplicaSet Scaled up replica set web-${hash} from 0 to 3`));
  assert.equal(getD(h).metadata!.annotations![REVISION], '1');
  assert.equal(activePods(h).length, 3);
  let d = getD(h);
  assert.equal(condOf(d, 'Available')!.status, 'False');
  assert.equal(condOf(d, 'Progressing')!.reason, 'ReplicaSetUpdated');
  await makePodsReady(h.client, h.clock);
  await h.settle();
  d = getD(h);
  assert.deepEqual(
    { og: d.status!.observedGeneration, r: d.status!.replicas, u: d.status!.updatedReplicas, rd: d.status!.readyReplicas, a: d.status!.availableReplicas, un: d.status!.unavailableReplicas },
    { og: d.metadata!.generation, r: 3, u: 3, rd: 3, a: 3, un: 0 });
  assert.equal(condOf(d, 'Available')!.reason, 'MinimumReplicasAvailable');
  assert.equal(condOf(d, 'Available')!.status, 'True');
  assert.equal(condOf(d, 'Progressing')!.reason, 'NewReplicaSetAvailable');
  assert.equal(condOf(d, 'Progressing')!.message, `ReplicaSet "web-${hash}" has successfully progressed.`);
  h.stop();
});

for (const [surge, unavail] of [[1, 1], [2, 0], [0, 1], ['50%', '25%']] as const) {
  test(`rolling update keeps within maxSurge=${surge} maxUnavailable=${unavail} at every step`, async () => {
    const h = setup();
    const replicas = 4;
    await h.client.create(DEPLOYMENTS, 'default', deployment(replicas, 'nginx:1', { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: surge, maxUnavailable: unavail } } }));
    await rollToCompletion(h);
    assert.equal(getD(h).status!.availableReplicas, replicas);
    const { surge: s, unavailable: u } = resolveFenceposts(getD(h));
    await setImage(h, 'nginx:2');
    let steps = 0;
    await rollToCompletion(h, () => {
      steps++;
      const pods = activePods(h);
      assert.ok(pods.length <= replicas + s, `step ${steps}: ${pods.length} pods > ${replicas}+${s}`);
      const ready = pods.filter(isPodReady).length;
      assert.ok(ready >= replicas - u, `step ${steps}: ${ready} ready < ${replicas}-${u}`);
    });
    const d = getD(h);
    assert.equal(d.status!.updatedReplicas, replicas);
    assert.equal(d.status!.replicas, replicas);
    assert.equal(d.status!.availableReplicas, replicas);
    assert.equal(condOf(d, 'Progressing')!.reason, 'NewReplicaSetAvailable');
    const all = rses(h);
    assert.equal(all.length, 2);
    assert.deepEqual(all.map((r) => r.spec!.replicas).sort(), [0, replicas]);
    assert.ok(activePods(h).every((p) => p.spec!.containers[0].image === 'nginx:2'));
    assert.ok(steps > 2);
    h.stop();
  });
}

test('undo brings back the old template: its ReplicaSet is reused with the next revision', async () => {
  const h = setup();
  await h.client.create(DEPLOYMENTS, 'default', deployment(2));
  await rollToCompletion(h);
  const first = rses(h)[0].metadata!.name!;
  await setImage(h, 'nginx:2');
  await rollToCompletion(h);
  assert.equal(getD(h).metadata!.annotations![REVISION], '2');
  await setImage(h, 'nginx:1');
  await rollToCompletion(h);
  const all = rses(h);
  assert.equal(all.length, 2, 'no third ReplicaSet');
  const reused = all.find((r) => r.metadata!.name === first)!;
  assert.equal(reused.metadata!.annotations![REVISION], '3');
  assert.equal(reused.metadata!.annotations![REVISION_HISTORY], '1');
  assert.equal(reused.spec!.replicas, 2);
  assert.equal(getD(h).metadata!.annotations![REVISION], '3');
  h.stop();
});

test('paused: no new ReplicaSet, scaling still applies, condition DeploymentPaused; resume rolls out', async () => {
  const h = setup();
  await h.client.create(DEPLOYMENTS, 'default', deployment(2));
  await rollToCompletion(h);
  await h.client.patch(DEPLOYMENTS, 'default', 'web', 'merge', { spec: { paused: true } });
  await setImage(h, 'nginx:2');
  await h.client.patch(DEPLOYMENTS, 'default', 'web', 'merge', { spec: { replicas: 3 } });
  await h.settle();
  assert.equal(rses(h).length, 1);
  assert.equal(rses(h)[0].spec!.replicas, 3);
  const p = condOf(getD(h), 'Progressing')!;
  assert.deepEqual([p.status, p.reason, p.message], ['Unknown', 'DeploymentPaused', 'Deployment is paused']);
  assert.equal(getD(h).status!.observedGeneration, getD(h).metadata!.generation);
  await h.client.patch(DEPLOYMENTS, 'default', 'web', 'merge', { spec: { paused: null } });
  await rollToCompletion(h);
  assert.equal(rses(h).length, 2);
  assert.equal(condOf(getD(h), 'Progressing')!.reason, 'NewReplicaSetAvailable');
  h.stop();
});

test('a rollout that makes no progress exceeds its deadline', async () => {
  const h = setup();
  await h.client.create(DEPLOYMENTS, 'default', deployment(2, 'nginx:1', { progressDeadlineSeconds: 60 }));
  await rollToCompletion(h);
  await setImage(h, 'nginx:broken');
  await h.settle();
  assert.equal(condOf(getD(h), 'Progressing')!.status, 'True');
  await h.clock.advance(30_000);
  await h.settle();
  assert.equal(condOf(getD(h), 'Progressing')!.status, 'True');
  await h.clock.advance(32_000);
  await h.settle();
  const c = condOf(getD(h), 'Progressing')!;
  assert.deepEqual([c.status, c.reason], ['False', 'ProgressDeadlineExceeded']);
  assert.match(c.message!, /has timed out progressing/);
  h.stop();
});

test('Recreate scales the old ReplicaSet to zero and waits for its pods before creating the new one', async () => {
  const h = setup();
  await h.client.create(DEPLOYMENTS, 'default', deployment(3, 'nginx:1', { strategy: { type: 'Recreate' } }));
  await rollToCompletion(h);
  const oldName = rses(h)[0].metadata!.name;
  await setImage(h, 'nginx:2');
  await h.settle();
  // The harness's kubelet confirms pod deletions at once, so the old pods are already gone and the new RS is up.
  const all = rses(h);
  assert.equal(all.find((r) => r.metadata!.name === oldName)!.spec!.replicas, 0);
  const fresh = all.find((r) => r.metadata!.name !== oldName)!;
  assert.equal(fresh.spec!.replicas, 3);
  const scaleEvents = h.recorder.events.filter((e) => e.includes('ScalingReplicaSet'));
  const downIdx = scaleEvents.findIndex((e) => e.includes(`Scaled down replica set ${oldName} from 3 to 0`));
  const upIdx = scaleEvents.findIndex((e) => e.includes(`replica set ${fresh.metadata!.name}`));
  assert.ok(downIdx >= 0 && upIdx > downIdx, scaleEvents.join('\n'));
  await rollToCompletion(h);
  assert.equal(getD(h).status!.availableReplicas, 3);
  h.stop();
});

test('scaling mid-rollout spreads the new replicas proportionally', async () => {
  const h = setup();
  await h.client.create(DEPLOYMENTS, 'default', deployment(10, 'nginx:1', { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 3, maxUnavailable: 2 } } }));
  await rollToCompletion(h);
  await setImage(h, 'nginx:2');
  await h.settle();
  const before = rses(h).map((r) => r.spec!.replicas!).sort((a, b) => a - b);
  assert.deepEqual(before, [5, 8]); // new 5 (surge 3 + 2 unavailable freed), old 8
  await h.client.patch(DEPLOYMENTS, 'default', 'web', 'merge', { spec: { replicas: 20 } });
  await h.settle();
  const after = rses(h).map((r) => r.spec!.replicas!).sort((a, b) => a - b);
  assert.equal(after[0] + after[1], 23, 'total = 20 + maxSurge 3');
  assert.deepEqual(after, [9, 14]);
  h.stop();
});
