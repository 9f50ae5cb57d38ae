/** End-to-end: `skiff server` + `skiff sim` driven by the real kubectl — scheduling, rollouts, deletion, node failure. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, manifestFile, startCluster, startSim, type SimProcess, type TestCluster } from './support/cluster.js';

let c: TestCluster;
const sims: SimProcess[] = [];

before(async () => {
  c = await startCluster({ args: ['--node-monitor-grace-period', '4'] });
  // Three plain nodes (4 cpu each) over zones a/b/c, and one tainted GPU node.
  sims.push(await startSim(c.kubeconfig, ['--nodes', '3', '--cpu', '4', '--memory', '8Gi', '--prefix', 'n', '--zones', '3', '--lease-interval', '1']));
  sims.push(await startSim(c.kubeconfig, ['--nodes', '1', '--cpu', '4', '--memory', '8Gi', '--prefix', 'gpu', '--label', 'accel=gpu', '--taint', 'dedicated=gpu:NoSchedule', '--lease-interval', '1']));
});
after(async () => {
  for (const s of sims) await s.stop();
  await c?.destroy();
});

const json = (args: string[]) => JSON.parse(c.k([...args, '-o', 'json']));
const podsOf = (selector: string) => json(['get', 'pods', '-l', selector]).items as any[];

function deployment(name: string, replicas: number, extra: { cpu?: string; image?: string; spec?: string; tolerateGone?: boolean } = {}): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: ${name}}}
  strategy: {rollingUpdate: {maxSurge: 1, maxUnavailable: 1}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
${extra.spec ?? ''}      containers:
      - name: main
        image: ${extra.image ?? 'busybox:1'}
        resources: {requests: {cpu: "${extra.cpu ?? '100m'}", memory: 64Mi}}
${extra.tolerateGone ? `      tolerations:
      - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 1}
      - {key: node.kubernetes.io/not-ready, operator: Exists, effect: NoExecute, tolerationSeconds: 1}
` : ''}`;
}

const nodeCounts = (pods: any[]) => {
  const m: Record<string, number> = {};
  for (const p of pods) m[p.spec.nodeName ?? '<none>'] = (m[p.spec.nodeName ?? '<none>'] ?? 0) + 1;
  return m;
};

describe('scheduling', () => {
  test('30 replicas spread over the nodes within capacity and become Available', async () => {
    c.k(['apply', '-f', manifestFile(deployment('spread', 30, { cpu: '300m' }))]);
    c.k(['rollout', 'status', 'deploy/spread', '--timeout=60s']);
    const counts = nodeCounts(podsOf('app=spread'));
    assert.equal(counts['gpu0'], undefined, 'no pod may land on the tainted node');
    // 4 cpu per node / 300m = 13 pods at most; least-allocated keeps them even.
    for (const n of ['n0', 'n1', 'n2']) assert.ok(counts[n] >= 8 && counts[n] <= 13, JSON.stringify(counts));
    c.k(['wait', '--for=condition=Available', 'deploy/spread', '--timeout=30s']);
    c.k(['delete', 'deploy', 'spread']);
  });

  test('a pod too big for any node stays Pending and describe says why', async () => {
    c.k(['run', 'huge', '--image=busybox', '--overrides={"spec":{"containers":[{"name":"huge","image":"busybox","resources":{"requests":{"cpu":"64"}}}]}}']);
    const out = await eventually(() => {
      const d = c.k(['describe', 'pod', 'huge']);
      return /FailedScheduling/.test(d) && d;
    }, 20_000, 'FailedScheduling event');
    assert.match(String(out), /0\/4 nodes are available: 1 node\(s\) had untolerated taint \{dedicated: gpu\}, 3 Insufficient cpu\./);
    assert.equal(c.k(['get', 'pod', 'huge', '-o', 'jsonpath={.status.phase}']), 'Pending');
    c.k(['delete', 'pod', 'huge']);
  });

  test('tolerations, node affinity, anti-affinity and topology spread are honoured', async () => {
    c.k(['apply', '-f', manifestFile(deployment('gpuapp', 2, { spec: `      tolerations: [{key: dedicated, operator: Equal, value: gpu, effect: NoSchedule}]
      nodeSelector: {accel: gpu}
` }))]);
    c.k(['apply', '-f', manifestFile(deployment('anti', 3, { spec: `      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
          - labelSelector: {matchLabels: {app: anti}}
            topologyKey: kubernetes.io/hostname
` }))]);
    c.k(['apply', '-f', manifestFile(deployment('zonal', 6, { spec: `      topologySpreadConstraints:
      - {maxSkew: 1, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: DoNotSchedule, labelSelector: {matchLabels: {app: zonal}}}
` }))]);
    for (const d of ['gpuapp', 'anti', 'zonal']) c.k(['rollout', 'status', `deploy/${d}`, '--timeout=60s']);
    assert.deepEqual(nodeCounts(podsOf('app=gpuapp')), { gpu0: 2 });
    const anti = nodeCounts(podsOf('app=anti'));
    assert.equal(Object.keys(anti).length, 3, JSON.stringify(anti));
    assert.ok(!anti['gpu0']);
    const zonal = nodeCounts(podsOf('app=zonal'));
    assert.deepEqual(Object.values(zonal).sort(), [2, 2, 2], JSON.stringify(zonal));
    // A fourth anti-affinity replica cannot fit anywhere.
    c.k(['scale', 'deploy/anti', '--replicas=4']);
    await eventually(() => /didn't match pod anti-affinity rules/.test(c.k(['get', 'events', '--field-selector', 'reason=FailedScheduling'])), 20_000, 'anti-affinity FailedScheduling');
    for (const d of ['gpuapp', 'anti', 'zonal']) c.k(['delete', 'deploy', d]);
  });
});

describe('rollouts', () => {
  test('set image rolls out within maxSurge/maxUnavailable; history, undo, pause, resume, restart, scale', async () => {
    c.k(['apply', '-f', manifestFile(deployment('roll', 6))]);
    c.k(['rollout', 'status', 'deploy/roll', '--timeout=60s']);
    // Watch every observed state of the pods while the rollout runs.
    let violations = '';
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const pods = podsOf('app=roll').filter((p) => !p.metadata.deletionTimestamp);
        const ready = pods.filter((p) => p.status?.conditions?.some((x: any) => x.type === 'Ready' && x.status === 'True'));
        if (pods.length > 6 + 1) violations += `too many pods: ${pods.length}; `;
        if (ready.length < 6 - 1) violations += `too few available: ${ready.length}; `;
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    c.k(['set', 'image', 'deploy/roll', 'main=busybox:2']);
    c.k(['rollout', 'status', 'deploy/roll', '--timeout=60s']);
    sampling = false;
    await sampler;
    assert.equal(violations, '');
    assert.ok(podsOf('app=roll').every((p) => p.spec.containers[0].image === 'busybox:2'));
    const history = c.k(['rollout', 'history', 'deploy/roll']);
    assert.match(history, /^1\s/m);
    assert.match(history, /^2\s/m);
    c.k(['rollout', 'undo', 'deploy/roll']);
    c.k(['rollout', 'status', 'deploy/roll', '--timeout=60s']);
    assert.equal(c.k(['get', 'deploy', 'roll', '-o', 'jsonpath={.spec.template.spec.containers[0].image}']), 'busybox:1');
    assert.equal(json(['get', 'rs', '-l', 'app=roll']).items.length, 2, 'undo reuses the old ReplicaSet');
    c.k(['rollout', 'pause', 'deploy/roll']);
    c.k(['set', 'image', 'deploy/roll', 'main=busybox:3']);
    // The controller has seen the new template (observedGeneration) and still made no ReplicaSet.
    await eventually(() => {
      const d = json(['get', 'deploy', 'roll']);
      return d.status?.observedGeneration === d.metadata.generation;
    }, 20_000, 'the paused Deployment observed');
    assert.equal(json(['get', 'rs', '-l', 'app=roll']).items.length, 2, 'a paused deployment makes no new ReplicaSet');
    c.k(['rollout', 'resume', 'deploy/roll']);
    c.k(['rollout', 'status', 'deploy/roll', '--timeout=60s']);
    assert.equal(json(['get', 'rs', '-l', 'app=roll']).items.length, 3);
    c.k(['rollout', 'restart', 'deploy/roll']);
    c.k(['rollout', 'status', 'deploy/roll', '--timeout=60s']);
    assert.equal(json(['get', 'rs', '-l', 'app=roll']).items.length, 4);
    c.k(['scale', 'deploy/roll', '--replicas=2']);
    await eventually(() => podsOf('app=roll').filter((p) => !p.metadata.deletionTimestamp).length === 2, 20_000, 'scale down to 2');
  });
});

describe('deletion', () => {
  for (const cascade of ['background', 'foreground', 'orphan']) {
    test(`deleting a Deployment with --cascade=${cascade}`, async () => {
      const name = `del-${cascade}`;
      c.k(['apply', '-f', manifestFile(deployment(name, 3))]);
      c.k(['rollout', 'status', `deploy/${name}`, '--timeout=60s']);
      c.k(['delete', 'deploy', name, `--cascade=${cascade}`, '--timeout=30s']);
      if (cascade === 'orphan') {
        const rs = json(['get', 'rs', '-l', `app=${name}`]).items;
        assert.equal(rs.length, 1);
        assert.equal(rs[0].metadata.ownerReferences, undefined);
        assert.equal(podsOf(`app=${name}`).length, 3);
        c.k(['delete', 'rs', '-l', `app=${name}`]);
      }
      await eventually(() => podsOf(`app=${name}`).length === 0 && json(['get', 'rs', '-l', `app=${name}`]).items.length === 0, 30_000, 'nothing left behind');
    });
  }

  test('deleting a namespace removes everything in it', async () => {
    c.k(['create', 'ns', 'doomed']);
    c.k(['-n', 'doomed', 'apply', '-f', manifestFile(deployment('inside', 2))]);
    c.k(['-n', 'doomed', 'create', 'configmap', 'cm', '--from-literal=a=b']);
    c.k(['-n', 'doomed', 'rollout', 'status', 'deploy/inside', '--timeout=60s']);
    c.k(['delete', 'ns', 'doomed', '--timeout=60s']);
    assert.match(c.kubectl(['get', 'ns', 'doomed']).stderr, /not found/);
    assert.equal(json(['get', 'pods', '-A', '--field-selector', 'metadata.namespace=doomed']).items.length, 0);
  });
});

describe('node failure', () => {
  test('a node that stops heartbeating is tainted and its pods are recreated elsewhere', async () => {
    const dying = await startSim(c.kubeconfig, ['--nodes', '1', '--cpu', '64', '--prefix', 'dying', '--label', 'pool=dying', '--lease-interval', '1']);
    sims.push(dying);
    c.k(['apply', '-f', manifestFile(deployment('moving', 2, { tolerateGone: true, spec: `      affinity:
        nodeAffinity:
          preferredDuringSchedulingIgnoredDuringExecution:
          - weight: 100
            preference: {matchExpressions: [{key: pool, operator: In, values: [dying]}]}
` }))]);
    c.k(['rollout', 'status', 'deploy/moving', '--timeout=60s']);
    assert.deepEqual(nodeCounts(podsOf('app=moving')), { dying0: 2 });
    await dying.stop('SIGKILL');
    await eventually(() => /node.kubernetes.io\/unreachable/.test(c.k(['get', 'node', 'dying0', '-o', 'jsonpath={.spec.taints}'])), 30_000, 'unreachable taint');
    assert.match(c.k(['get', 'node', 'dying0']), /NotReady/);
    await eventually(() => {
      const pods = podsOf('app=moving');
      const live = pods.filter((p) => p.spec.nodeName && p.spec.nodeName !== 'dying0' && p.status?.phase === 'Running');
      return live.length === 2;
    }, 60_000, 'pods recreated on healthy nodes');
  });
});
