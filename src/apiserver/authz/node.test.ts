import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_USER, ApiServer } from '../server.js';
import { MemoryStore } from '../../store/memory.js';
import { NodeAuthorizer, nodeIdentity, podReferences } from './node.js';
import type { RequestAttributes } from './types.js';

const node = (name: string) => ({ name: `system:node:${name}`, groups: ['system:nodes', 'system:authenticated'] });

function attrs(user: RequestAttributes['user'], verb: string, resource: string, namespace: string, name: string, extra: Partial<RequestAttributes> = {}): RequestAttributes {
  return { user, verb, resourceRequest: true, path: '', apiGroup: '', apiVersion: 'v1', resource, subresource: '', namespace, name, ...extra };
}

test('nodeIdentity: system:node:NAME in system:nodes', () => {
  assert.deepEqual(nodeIdentity(node('a')), { isNode: true, nodeName: 'a' });
  assert.deepEqual(nodeIdentity({ name: 'system:node:a', groups: [] }), { isNode: false, nodeName: '' });
  assert.deepEqual(nodeIdentity({ name: 'system:node:', groups: ['system:nodes'] }), { isNode: true, nodeName: '' });
});

test('podReferences reads volumes, projections, env, envFrom, image pull secrets, claims and the ServiceAccount', () => {
  const r = podReferences({
    metadata: { name: 'p' },
    spec: {
      serviceAccountName: 'robot',
      imagePullSecrets: [{ name: 'pull' }],
      containers: [{ name: 'c', env: [{ name: 'A', valueFrom: { secretKeyRef: { name: 'env-s', key: 'k' } } }, { name: 'B', valueFrom: { configMapKeyRef: { name: 'env-cm', key: 'k' } } }], envFrom: [{ secretRef: { name: 'from-s' } }, { configMapRef: { name: 'from-cm' } }] }],
      volumes: [
        { name: 'v1', secret: { secretName: 'vol-s' } },
        { name: 'v2', configMap: { name: 'vol-cm' } },
        { name: 'v3', projected: { sources: [{ secret: { name: 'proj-s' } }, { configMap: { name: 'proj-cm' } }, { serviceAccountToken: { path: 't' } }] } },
        { name: 'v4', persistentVolumeClaim: { claimName: 'data' } },
        { name: 'scratch', ephemeral: { volumeClaimTemplate: { spec: {} } } },
        { name: 'v6', csi: { driver: 'x', nodePublishSecretRef: { name: 'csi-s' } } },
      ],
    },
  });
  assert.deepEqual([...r.secrets].sort(), ['csi-s', 'env-s', 'from-s', 'proj-s', 'pull', 'vol-s']);
  assert.deepEqual([...r.configMaps].sort(), ['env-cm', 'from-cm', 'proj-cm', 'vol-cm']);
  assert.deepEqual([...r.claims].sort(), ['data', 'p-scratch']);
  assert.equal(r.serviceAccount, 'robot');
});

test('a node reads only what pods bound to it use; leases and its Node under its own name; others get no opinion', async () => {
  const s = await ApiServer.inProcess({ store: new MemoryStore() });
  try {
    const ctx = { user: ADMIN_USER };
    const def = (k: string, g = '') => s.registry.byKind(g, k)!;
    for (const n of ['n1', 'n2']) await s.storage.create(def('Node'), '', { metadata: { name: n } }, ctx);
    await s.storage.create(def('ServiceAccount'), 'default', { metadata: { name: 'robot' } }, ctx);
    await s.storage.create(def('PersistentVolumeClaim'), 'default', { metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, volumeName: 'pv1' } }, ctx);
    await s.storage.create(def('Pod'), 'default', {
      metadata: { name: 'web' },
      spec: { nodeName: 'n1', serviceAccountName: 'robot', containers: [{ name: 'c', image: 'busybox' }], volumes: [{ name: 's', secret: { secretName: 'mounted' } }, { name: 'd', persistentVolumeClaim: { claimName: 'data' } }] },
    }, ctx);
    const authz = new NodeAuthorizer({ cache: s.cache, registry: s.registry });
    const decide = (a: RequestAttributes) => authz.authorize(a);

    assert.equal(decide(attrs(node('n1'), 'get', 'secrets', 'default', 'mounted')).decision, 'allow');
    assert.equal(decide(attrs(node('n1'), 'watch', 'secrets', 'default', 'mounted')).decision, 'allow');
    assert.deepEqual(decide(attrs(node('n1'), 'get', 'secrets', 'default', 'unused')), { decision: 'noOpinion', reason: "no relationship found between node 'n1' and this object" });
    assert.deepEqual(decide(attrs(node('n2'), 'get', 'secrets', 'default', 'mounted')), { decision: 'noOpinion', reason: "no relationship found between node 'n2' and this object" });
    assert.deepEqual(decide(attrs(node('n1'), 'list', 'secrets', 'default', '')), { decision: 'noOpinion', reason: 'No Object name found' });
    assert.deepEqual(decide(attrs(node('n1'), 'delete', 'secrets', 'default', 'mounted')), { decision: 'noOpinion', reason: 'can only read resources of this type' });
    assert.equal(decide(attrs(node('n1'), 'get', 'persistentvolumeclaims', 'default', 'data')).decision, 'allow');
    assert.equal(decide(attrs(node('n1'), 'get', 'persistentvolumes', '', 'pv1')).decision, 'allow');
    assert.equal(decide(attrs(node('n2'), 'get', 'persistentvolumes', '', 'pv1')).decision, 'noOpinion');
    assert.equal(decide(attrs(node('n1'), 'create', 'serviceaccounts', 'default', 'robot', { subresource: 'token' })).decision, 'allow');
    assert.equal(decide(attrs(node('n2'), 'create', 'serviceaccounts', 'default', 'robot', { subresource: 'token' })).decision, 'noOpinion');
    assert.equal(decide(attrs(node('n1'), 'update', 'leases', 'kube-node-lease', 'n1', { apiGroup: 'coordination.k8s.io' })).decision, 'allow');
    assert.deepEqual(decide(attrs(node('n1'), 'update', 'leases', 'kube-node-lease', 'n2', { apiGroup: 'coordination.k8s.io' })), { decision: 'noOpinion', reason: 'can only access node lease with the same name as the requesting node' });
    assert.equal(decide(attrs(node('n1'), 'get', 'nodes', '', 'n1')).decision, 'allow');
    assert.equal(decide(attrs(node('n1'), 'get', 'pods', 'default', 'web')).decision, 'allow');
    assert.equal(decide(attrs(node('n2'), 'get', 'pods', 'default', 'web')).decision, 'noOpinion');
    // A node that does not exist has no relationships.
    assert.equal(decide(attrs(node('ghost'), 'get', 'secrets', 'default', 'mounted')).decision, 'noOpinion');
    // Not a node: no opinion, whatever it asks.
    assert.deepEqual(decide(attrs({ name: 'alice', groups: ['system:authenticated'] }, 'get', 'secrets', 'default', 'mounted')), { decision: 'noOpinion' });
    // The static node rules decide the rest when given.
    const withRules = new NodeAuthorizer({ cache: s.cache, registry: s.registry, nodeRulesAllow: (a) => a.resource === 'services' && a.verb === 'list' });
    assert.equal(withRules.authorize(attrs(node('n1'), 'list', 'services', '', '')).decision, 'allow');
    assert.equal(withRules.authorize(attrs(node('n1'), 'delete', 'services', 'default', 'x')).decision, 'noOpinion');

    // The pod moves away (deleted): the Secret is no longer the node's business.
    await s.storage.delete(def('Pod'), 'default', 'web', { gracePeriodSeconds: 0 }, ctx);
    assert.equal(decide(attrs(node('n1'), 'get', 'secrets', 'default', 'mounted')).decision, 'noOpinion');
  } finally {
    await s.stop();
  }
});
