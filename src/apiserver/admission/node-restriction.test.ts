import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_USER, ApiServer } from '../server.js';
import { MemoryStore } from '../../store/memory.js';
import { StatusError } from '../../api/errors.js';
import { forbiddenNodeLabels } from './node-restriction.js';

const node = (name: string) => ({ name: `system:node:${name}`, groups: ['system:nodes', 'system:authenticated'] });

async function refused(p: Promise<unknown>, message: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof StatusError, String(err));
    assert.equal(err.code, 403);
    assert.equal(err.message, message);
    return true;
  });
}

test('forbiddenNodeLabels: node-restriction and unknown kubernetes.io labels; kubelet labels pass', () => {
  assert.deepEqual(forbiddenNodeLabels(['kubernetes.io/hostname', 'node.kubernetes.io/exclude-from-external-load-balancers', 'team', 'example.com/x']), []);
  assert.deepEqual(forbiddenNodeLabels(['node-restriction.kubernetes.io/secure', 'foo.node-restriction.kubernetes.io/a', 'kubernetes.io/role', 'node-role.kubernetes.io/control-plane']), [
    'foo.node-restriction.kubernetes.io/a', 'kubernetes.io/role', 'node-restriction.kubernetes.io/secure', 'node-role.kubernetes.io/control-plane',
  ]);
});

test('a node writes only its own Node, Lease and pod statuses; only a node sets its agent endpoint', async () => {
  const s = await ApiServer.inProcess({ store: new MemoryStore() });
  try {
    const admin = { user: ADMIN_USER };
    const def = (k: string, g = '') => s.registry.byKind(g, k)!;
    const n1 = { user: node('n1') };
    await s.storage.create(def('Node'), '', { metadata: { name: 'n1', labels: { 'kubernetes.io/hostname': 'n1' } } }, n1);
    await s.storage.create(def('Node'), '', { metadata: { name: 'n2' } }, admin);
    await refused(s.storage.create(def('Node'), '', { metadata: { name: 'n3' } }, n1), 'nodes "n3" is forbidden: node "n1" is not allowed to modify node "n3"');
    await refused(s.storage.update(def('Node'), '', 'n2', (cur) => ({ ...cur, metadata: { ...cur.metadata, labels: { a: 'b' } } }), n1), 'nodes "n2" is forbidden: node "n1" is not allowed to modify node "n2"');
    await refused(
      s.storage.update(def('Node'), '', 'n1', (cur) => ({ ...cur, metadata: { ...cur.metadata, labels: { ...cur.metadata?.labels, 'node-restriction.kubernetes.io/secure': 'true' } } }), n1),
      'nodes "n1" is forbidden: is not allowed to modify labels: node-restriction.kubernetes.io/secure',
    );
    await refused(s.storage.update(def('Node'), '', 'n1', (cur) => ({ ...cur, spec: { taints: [{ key: 'k', effect: 'NoSchedule' }] } }), n1), 'nodes "n1" is forbidden: node "n1" is not allowed to modify taints');
    await refused(s.storage.create(def('Node'), '', { metadata: { name: 'n1x', labels: { 'node-role.kubernetes.io/master': '' } } }, { user: node('n1x') }),
      'nodes "n1x" is forbidden: node "n1x" is not allowed to set the following labels: node-role.kubernetes.io/master');

    // The agent endpoint: the node itself sets it; a ServiceAccount may not, an admin may.
    const endpoint = { addresses: [{ type: 'InternalIP', address: '127.0.0.1' }], daemonEndpoints: { kubeletEndpoint: { Port: 10250 } } };
    await s.storage.update(def('Node'), '', 'n1', (cur) => ({ ...cur, status: endpoint }), n1, 'status');
    const sa = { user: { name: 'system:serviceaccount:default:default', groups: ['system:serviceaccounts', 'system:authenticated'] } };
    await refused(s.storage.create(def('Node'), '', { metadata: { name: 'evil' }, status: endpoint }, sa),
      'nodes "evil" is forbidden: user "system:serviceaccount:default:default" is not allowed to set status.addresses or status.daemonEndpoints: only the node itself reports where its agent is reached');
    await refused(s.storage.update(def('Node'), '', 'n2', (cur) => ({ ...cur, status: endpoint }), sa, 'status'), /* same rule on status updates */
      'nodes "n2" is forbidden: user "system:serviceaccount:default:default" is not allowed to set status.addresses or status.daemonEndpoints: only the node itself reports where its agent is reached');
    // Conditions from the node lifecycle controller (no endpoint change) pass.
    await s.storage.update(def('Node'), '', 'n1', (cur) => ({ ...cur, status: { ...(cur.status as object), conditions: [{ type: 'Ready', status: 'Unknown' }] } }), { user: { name: 'system:kube-controller-manager', groups: ['system:authenticated'] } }, 'status');

    // Leases: its own, in kube-node-lease.
    await s.storage.create(def('Lease', 'coordination.k8s.io'), 'kube-node-lease', { metadata: { name: 'n1' }, spec: {} }, n1);
    await refused(s.storage.create(def('Lease', 'coordination.k8s.io'), 'kube-node-lease', { metadata: { name: 'n2' }, spec: {} }, n1),
      'leases.coordination.k8s.io "n2" is forbidden: can only access node lease with the same name as the requesting node');

    // Pods: status of its own pods only; no regular pods; deletes of its own pods.
    const pod = (name: string, nodeName: string) => ({ metadata: { name }, spec: { nodeName, containers: [{ name: 'c', image: 'busybox' }] } });
    await s.storage.create(def('Pod'), 'default', pod('mine', 'n1'), admin);
    await s.storage.create(def('Pod'), 'default', pod('theirs', 'n2'), admin);
    await s.storage.update(def('Pod'), 'default', 'mine', (cur) => ({ ...cur, status: { phase: 'Running' } }), n1, 'status');
    await refused(s.storage.update(def('Pod'), 'default', 'theirs', (cur) => ({ ...cur, status: { phase: 'Failed' } }), n1, 'status'),
      'pods "theirs" is forbidden: node "n1" can only update pod status for pods with spec.nodeName set to itself');
    await refused(s.storage.create(def('Pod'), 'default', pod('new', 'n1'), n1),
      'pods "new" is forbidden: pod does not have "kubernetes.io/config.mirror" annotation, node "n1" can only create mirror pods');
    await refused(s.storage.delete(def('Pod'), 'default', 'theirs', { gracePeriodSeconds: 0 }, n1), 'pods "theirs" is forbidden: node "n1" can only delete pods with spec.nodeName set to itself');
    await s.storage.delete(def('Pod'), 'default', 'mine', { gracePeriodSeconds: 0 }, n1);
  } finally {
    await s.stop();
  }
});

test('a node requests tokens only bound to a pod scheduled on it', async () => {
  const s = await ApiServer.inProcess({ store: new MemoryStore() });
  try {
    const admin = { user: ADMIN_USER };
    const def = (k: string) => s.registry.byKind('', k)!;
    await s.storage.create(def('ServiceAccount'), 'default', { metadata: { name: 'robot' } }, admin);
    const p = await s.storage.create(def('Pod'), 'default', { metadata: { name: 'p' }, spec: { nodeName: 'n2', serviceAccountName: 'robot', containers: [{ name: 'c', image: 'busybox' }] } }, admin);
    const uid = p.metadata!.uid;
    await refused(s.tokens.issue('default', 'robot', { spec: {} }, node('n1')), 'serviceaccounts "robot" is forbidden: node requested token not bound to a pod');
    await refused(s.tokens.issue('default', 'robot', { spec: { boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: 'p', uid } } }, node('n1')),
      'serviceaccounts "robot" is forbidden: node requested token bound to a pod scheduled on a different node');
    const ok = await s.tokens.issue('default', 'robot', { spec: { boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: 'p', uid } } }, node('n2'));
    assert.ok((ok.status as { token: string }).token);
  } finally {
    await s.stop();
  }
});
