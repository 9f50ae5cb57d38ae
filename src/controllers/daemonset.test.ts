import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ControllerRevision, DaemonSet, DaemonSetSpec } from 'kubernetes-types/apps/v1.js';
import type { Node, Pod, Taint } from 'kubernetes-types/core/v1.js';
import type { TestClient } from './testing/harness.js';
import { CONTROLLER_REVISIONS, DAEMONSETS, NODES, PODS } from '../client/resources.js';
import { daemonPodNode, newDaemonSetController, nodeShouldRunDaemonPod } from './daemonset.js';
import { harness, makePodsReady } from './testing/harness.js';

const node = (name: string, labels: Record<string, string> = {}, taints: Taint[] = []): Node => ({
  apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name, ...labels } }, spec: taints.length ? { taints } : {},
});
const dsObj = (spec: Partial<DaemonSetSpec> = {}, image = 'agent:1'): DaemonSet => ({
  apiVersion: 'apps/v1', kind: 'DaemonSet',
  metadata: { name: 'agent', namespace: 'kube-system', annotations: { 'deprecated.daemonset.template.generation': '1' } },
  spec: {
    selector: { matchLabels: { app: 'agent' } },
    template: { metadata: { labels: { app: 'agent' } }, spec: { containers: [{ name: 'c', image }] } },
    updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } },
    revisionHistoryLimit: 10,
    ...spec,
  },
});
const livePods = (c: TestClient) => c.objects<Pod>(PODS, 'kube-system').filter((p) => !p.metadata?.deletionTimestamp);
const getDS = (c: TestClient) => c.peek<DaemonSet>(DAEMONSETS, 'kube-system', 'agent')!;

/** Binds pods to the node their affinity names and makes them Running and Ready (scheduler + kubelet). */
async function bindAndRun(c: TestClient, h: ReturnType<typeof harness>): Promise<void> {
  for (const p of livePods(c)) {
    if (p.spec?.nodeName) continue;
    await c.patch(PODS, 'kube-system', p.metadata!.name!, 'merge', { spec: { nodeName: daemonPodNode(p) } });
  }
  await makePodsReady(c, h.clock);
}

test('nodeShouldRunDaemonPod: selectors, taints and the default tolerations', () => {
  const ds = dsObj();
  assert.deepEqual(nodeShouldRunDaemonPod(node('a'), ds), { shouldRun: true, shouldContinueRunning: true });
  assert.deepEqual(nodeShouldRunDaemonPod(node('a', {}, [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }]), ds), { shouldRun: false, shouldContinueRunning: true });
  assert.deepEqual(nodeShouldRunDaemonPod(node('a', {}, [{ key: 'dedicated', effect: 'NoExecute' }]), ds), { shouldRun: false, shouldContinueRunning: false });
  // Default tolerations: unschedulable, not-ready, disk pressure.
  for (const t of [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }, { key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' }, { key: 'node.kubernetes.io/disk-pressure', effect: 'NoSchedule' }]) {
    assert.equal(nodeShouldRunDaemonPod(node('a', {}, [t]), ds).shouldRun, true, t.key);
  }
  const sel = dsObj();
  sel.spec!.template.spec!.nodeSelector = { role: 'edge' };
  assert.equal(nodeShouldRunDaemonPod(node('a'), sel).shouldRun, false);
  assert.equal(nodeShouldRunDaemonPod(node('b', { role: 'edge' }), sel).shouldRun, true);
  const tol = dsObj();
  tol.spec!.template.spec!.tolerations = [{ key: 'dedicated', operator: 'Exists' }];
  assert.equal(nodeShouldRunDaemonPod(node('a', {}, [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }]), tol).shouldRun, true);
});

test('one pinned pod per eligible node, with default tolerations, revision hash and status', async () => {
  const h = harness();
  for (const n of ['n0', 'n1', 'n2']) await h.client.create(NODES, undefined, node(n));
  await h.client.create(NODES, undefined, node('gpu', {}, [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }]));
  h.start(newDaemonSetController(h.ctx));
  await h.client.create(DAEMONSETS, 'kube-system', dsObj());
  await h.settle();
  const pods = livePods(h.client);
  assert.deepEqual(pods.map(daemonPodNode).sort(), ['n0', 'n1', 'n2']);
  const p = pods[0];
  assert.equal(p.spec!.nodeName, undefined, 'the scheduler binds it');
  assert.deepEqual(p.spec!.affinity!.nodeAffinity!.requiredDuringSchedulingIgnoredDuringExecution!.nodeSelectorTerms.length, 1);
  assert.ok(p.spec!.tolerations!.some((t) => t.key === 'node.kubernetes.io/unreachable' && t.effect === 'NoExecute' && t.operator === 'Exists'));
  assert.ok(p.spec!.tolerations!.some((t) => t.key === 'node.kubernetes.io/unschedulable' && t.effect === 'NoSchedule'));
  const revs = h.client.objects<ControllerRevision>(CONTROLLER_REVISIONS, 'kube-system');
  assert.equal(revs.length, 1);
  assert.equal(revs[0].revision, 1);
  const hash = revs[0].metadata!.labels!['controller-revision-hash'];
  assert.equal(revs[0].metadata!.name, `agent-${hash}`);
  assert.equal(p.metadata!.labels!['controller-revision-hash'], hash);
  assert.equal(p.metadata!.labels!['pod-template-generation'], '1');
  let st = getDS(h.client).status!;
  assert.equal(st.desiredNumberScheduled, 3);
  assert.equal(st.currentNumberScheduled, 3);
  assert.equal(st.numberReady, 0);
  await bindAndRun(h.client, h);
  await h.settle();
  st = getDS(h.client).status!;
  assert.deepEqual({ ...st }, {
    currentNumberScheduled: 3, desiredNumberScheduled: 3, numberMisscheduled: 0, numberReady: 3, updatedNumberScheduled: 3,
    numberAvailable: 3, numberUnavailable: 0, observedGeneration: 1,
  });

  // A new node gets a pod; a node that gains a NoExecute taint loses it.
  await h.client.create(NODES, undefined, node('n3'));
  await h.client.patch(NODES, undefined, 'n0', 'merge', { spec: { taints: [{ key: 'evict', effect: 'NoExecute' }] } });
  await h.settle();
  assert.deepEqual(livePods(h.client).map(daemonPodNode).sort(), ['n1', 'n2', 'n3']);
  assert.equal(h.client.count('create', 'pods'), 4, 'no duplicates');
  h.stop();
});

test('RollingUpdate replaces pods node by node within maxUnavailable', async () => {
  const h = harness();
  for (const n of ['n0', 'n1', 'n2']) await h.client.create(NODES, undefined, node(n));
  h.start(newDaemonSetController(h.ctx));
  await h.client.create(DAEMONSETS, 'kube-system', dsObj());
  await h.settle();
  await bindAndRun(h.client, h);
  await h.settle();
  await h.client.patch(DAEMONSETS, 'kube-system', 'agent', 'merge', {
    metadata: { annotations: { 'deprecated.daemonset.template.generation': '2' } },
    spec: { template: { spec: { containers: [{ name: 'c', image: 'agent:2' }] } } },
  });
  await h.settle();
  const revs = h.client.objects<ControllerRevision>(CONTROLLER_REVISIONS, 'kube-system');
  assert.deepEqual(revs.map((r) => r.revision).sort(), [1, 2]);
  const image = (p: Pod) => p.spec!.containers[0].image;
  let pods = livePods(h.client);
  // One old pod went away and a new one replaces it; the other two stay until it is available.
  assert.equal(pods.filter((p) => image(p) === 'agent:2').length, 1);
  assert.equal(pods.filter((p) => image(p) === 'agent:1').length, 2);
  for (let round = 0; round < 3; round++) {
    await bindAndRun(h.client, h);
    await h.settle();
    pods = livePods(h.client);
    assert.ok(pods.filter((p) => image(p) === 'agent:1').length >= 2 - round - 1, 'never more than one node down');
  }
  pods = livePods(h.client);
  assert.deepEqual(pods.map(image), ['agent:2', 'agent:2', 'agent:2']);
  const st = getDS(h.client).status!;
  assert.equal(st.updatedNumberScheduled, 3);
  assert.equal(st.numberAvailable, 3);
  assert.equal(st.observedGeneration, 2);
  h.stop();
});

test('failed daemon pods are deleted and recreated', async () => {
  const h = harness();
  await h.client.create(NODES, undefined, node('n0'));
  h.start(newDaemonSetController(h.ctx));
  await h.client.create(DAEMONSETS, 'kube-system', dsObj());
  await h.settle();
  const [p] = livePods(h.client);
  await h.client.patch(PODS, 'kube-system', p.metadata!.name!, 'merge', { status: { phase: 'Failed' } }, { subresource: 'status' });
  await h.settle();
  const pods = livePods(h.client);
  assert.equal(pods.length, 1);
  assert.notEqual(pods[0].metadata!.name, p.metadata!.name);
  h.stop();
});
