import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore } from '../../store/memory.js';
import { ADMIN_USER, ApiServer } from '../server.js';
import type { UserInfo } from '../objects.js';
import { serviceAccountUser } from './component-users.js';
import { requestAttributes } from './attributes.js';

const rbac = '/apis/rbac.authorization.k8s.io/v1';

async function call(s: ApiServer, user: UserInfo, method: string, path: string, body?: unknown, query = '') {
  const res = await s.handler.handle({
    method, path, query: new URLSearchParams(query), headers: { accept: 'application/json', 'content-type': 'application/json' },
    body: body === undefined ? undefined : Buffer.from(JSON.stringify(body)), user,
  });
  return { status: res.status, body: res.body ? JSON.parse(String(res.body)) : undefined };
}

test('RBAC: a Role bound to a ServiceAccount allows exactly its rules, and bindings take effect at once', async () => {
  const s = await ApiServer.inProcess({ store: new MemoryStore() });
  try {
    const sa = serviceAccountUser('default', 'reader');
    assert.equal((await call(s, sa, 'GET', '/api/v1/namespaces/default/pods')).status, 403);
    assert.equal((await call(s, ADMIN_USER, 'POST', `${rbac}/namespaces/default/roles`, {
      metadata: { name: 'pod-reader' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }],
    })).status, 201);
    assert.equal((await call(s, ADMIN_USER, 'POST', `${rbac}/namespaces/default/rolebindings`, {
      metadata: { name: 'read-pods' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'pod-reader' },
      subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace: 'default' }],
    })).status, 201);
    assert.equal((await call(s, sa, 'GET', '/api/v1/namespaces/default/pods')).status, 200);
    const other = await call(s, sa, 'GET', '/api/v1/namespaces/kube-system/pods');
    assert.equal(other.status, 403);
    assert.equal(other.body.message, 'pods is forbidden: User "system:serviceaccount:default:reader" cannot list resource "pods" in API group "" in the namespace "kube-system"');
    assert.equal((await call(s, sa, 'DELETE', '/api/v1/namespaces/default/pods/x')).status, 403);
    assert.equal((await call(s, sa, 'GET', '/api/v1/namespaces/default/pods', undefined, 'watch=true')).status, 403, 'watch is its own verb');
    // Discovery comes from the default system:discovery binding.
    assert.equal((await call(s, sa, 'GET', '/apis')).status, 200);
    assert.equal((await call(s, ADMIN_USER, 'DELETE', `${rbac}/namespaces/default/rolebindings/read-pods`)).status, 200);
    assert.equal((await call(s, sa, 'GET', '/api/v1/namespaces/default/pods')).status, 403, 'unbinding revokes');
  } finally {
    await s.stop();
  }
});

test('RBAC: ClusterRoleBindings to groups, resourceNames, and the bootstrap roles', async () => {
  const s = await ApiServer.inProcess({ store: new MemoryStore() });
  try {
    const view = s.cache.get(s.registry.byKind('rbac.authorization.k8s.io', 'ClusterRole')!, '', 'cluster-admin');
    assert.ok(view, 'cluster-admin exists');
    const alice: UserInfo = { name: 'alice', groups: ['devs', 'system:authenticated'] };
    await call(s, ADMIN_USER, 'POST', `${rbac}/clusterroles`, {
      metadata: { name: 'one-cm' }, rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'], resourceNames: ['a'] }],
    });
    await call(s, ADMIN_USER, 'POST', `${rbac}/clusterrolebindings`, {
      metadata: { name: 'devs-one-cm' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'one-cm' },
      subjects: [{ kind: 'Group', name: 'devs', apiGroup: 'rbac.authorization.k8s.io' }],
    });
    const can = (m: string, p: string) => s.rbac.authorize(requestAttributes(alice, m, p, new URLSearchParams())).decision;
    assert.equal(can('GET', '/api/v1/namespaces/x/configmaps/a'), 'allow');
    assert.equal(can('GET', '/api/v1/namespaces/x/configmaps/b'), 'noOpinion');
    assert.equal(can('GET', '/api/v1/namespaces/x/configmaps'), 'noOpinion');
    assert.equal(can('GET', '/version'), 'allow', 'system:public-info-viewer');
    assert.equal(can('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews'), 'allow', 'system:basic-user');
    const sched: UserInfo = { name: 'system:kube-scheduler', groups: ['system:authenticated'] };
    assert.equal(s.rbac.authorize(requestAttributes(sched, 'POST', '/api/v1/namespaces/d/pods/p/binding', new URLSearchParams())).decision, 'allow');
    assert.equal(s.rbac.authorize(requestAttributes(sched, 'GET', '/api/v1/namespaces/d/secrets', new URLSearchParams())).decision, 'noOpinion');
  } finally {
    await s.stop();
  }
});
