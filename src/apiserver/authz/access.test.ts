import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore } from '../../store/memory.js';
import { ADMIN_USER, ApiServer } from '../server.js';
import type { UserInfo } from '../objects.js';

const rbac = '/apis/rbac.authorization.k8s.io/v1';

async function call(s: ApiServer, user: UserInfo, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await s.handler.handle({
    method, path, query: new URLSearchParams(), headers: { accept: 'application/json', 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : Buffer.from(JSON.stringify(body)), user,
  });
  return { status: res.status, body: res.body ? JSON.parse(String(res.body)) : undefined };
}

const bob: UserInfo = { name: 'bob', groups: ['system:authenticated'] };

async function withServer(fn: (s: ApiServer) => Promise<void>) {
  const s = await ApiServer.inProcess({ store: new MemoryStore() });
  try {
    await fn(s);
  } finally {
    await s.stop();
  }
}

test('escalation: roles and bindings may grant only what the requester holds, unless escalate/bind', () =>
  withServer(async (s) => {
    await call(s, ADMIN_USER, 'POST', `${rbac}/namespaces/default/roles`, {
      metadata: { name: 'rbac-writer' }, rules: [{ apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles', 'rolebindings'], verbs: ['get', 'list', 'create', 'update', 'delete'] }, { apiGroups: [''], resources: ['pods'], verbs: ['get'] }],
    });
    await call(s, ADMIN_USER, 'POST', `${rbac}/namespaces/default/rolebindings`, {
      metadata: { name: 'bob' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'rbac-writer' }, subjects: [{ kind: 'User', name: 'bob' }],
    });
    const more = await call(s, bob, 'POST', `${rbac}/namespaces/default/roles`, {
      metadata: { name: 'more' }, rules: [{ apiGroups: [''], resources: ['pods', 'secrets'], verbs: ['get', 'list'] }],
    });
    assert.equal(more.status, 403);
    assert.equal(more.body.message, 'roles.rbac.authorization.k8s.io "more" is forbidden: user "bob" (groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently held:\n'
      + '{APIGroups:[""], Resources:["pods"], Verbs:["list"]}\n{APIGroups:[""], Resources:["secrets"], Verbs:["get" "list"]}');
    assert.equal((await call(s, bob, 'POST', `${rbac}/namespaces/default/roles`, { metadata: { name: 'less' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }] })).status, 201);
    // No aggregation controller runs here, so bind a role with rules of its own.
    const bindAdmin = { metadata: { name: 'bob-admin' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:aggregate-to-edit' }, subjects: [{ kind: 'User', name: 'bob' }] };
    const denied = await call(s, bob, 'POST', `${rbac}/namespaces/default/rolebindings`, bindAdmin);
    assert.equal(denied.status, 403);
    assert.match(denied.body.message, /^rolebindings\.rbac\.authorization\.k8s\.io "bob-admin" is forbidden: user "bob" .* is attempting to grant RBAC permissions not currently held:\n/);
    // `bind` on that ClusterRole by name lets him.
    await call(s, ADMIN_USER, 'POST', `${rbac}/namespaces/default/roles`, {
      metadata: { name: 'bind-admin' }, rules: [{ apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterroles'], verbs: ['bind'], resourceNames: ['system:aggregate-to-edit'] }],
    });
    await call(s, ADMIN_USER, 'POST', `${rbac}/namespaces/default/rolebindings`, {
      metadata: { name: 'bob-bind' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'bind-admin' }, subjects: [{ kind: 'User', name: 'bob' }],
    });
    assert.equal((await call(s, bob, 'POST', `${rbac}/namespaces/default/rolebindings`, bindAdmin)).status, 201);
    // An aggregationRule needs escalate on clusterroles.
    await call(s, ADMIN_USER, 'POST', `${rbac}/clusterroles`, { metadata: { name: 'cr-writer' }, rules: [{ apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterroles'], verbs: ['create'] }] });
    await call(s, ADMIN_USER, 'POST', `${rbac}/clusterrolebindings`, {
      metadata: { name: 'bob-cr' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cr-writer' }, subjects: [{ kind: 'User', name: 'bob' }],
    });
    const agg = await call(s, bob, 'POST', `${rbac}/clusterroles`, { metadata: { name: 'agg' }, aggregationRule: { clusterRoleSelectors: [{ matchLabels: { x: 'y' } }] } });
    assert.equal(agg.status, 403);
    assert.equal(agg.body.message, 'clusterroles.rbac.authorization.k8s.io "agg" is forbidden: must have cluster-admin privileges to use the aggregationRule');
    // `escalate` on roles lets a role grant anything (so does `*`, which includes it).
    await call(s, ADMIN_USER, 'POST', `${rbac}/namespaces/default/roles`, {
      metadata: { name: 'escalate' }, rules: [{ apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles'], verbs: ['escalate'] }],
    });
    await call(s, ADMIN_USER, 'POST', `${rbac}/namespaces/default/rolebindings`, {
      metadata: { name: 'bob-escalate' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'escalate' }, subjects: [{ kind: 'User', name: 'bob' }],
    });
    assert.equal((await call(s, bob, 'POST', `${rbac}/namespaces/default/roles`, { metadata: { name: 'more' }, rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }] })).status, 201);
  }));

test('impersonation needs the impersonate verb on each user, group and extra', () =>
  withServer(async (s) => {
    const as = (h: Record<string, string>) => call(s, bob, 'GET', '/api/v1/namespaces/default/pods', undefined, h);
    const r = await as({ 'impersonate-user': 'alice' });
    assert.equal(r.status, 403);
    assert.equal(r.body.message, 'users "alice" is forbidden: User "bob" cannot impersonate resource "users" in API group "" at the cluster scope');
    assert.equal((await as({ 'impersonate-group': 'x' })).status, 400, 'a group without a user');
    await call(s, ADMIN_USER, 'POST', `${rbac}/clusterroles`, { metadata: { name: 'imp' }, rules: [{ apiGroups: [''], resources: ['users'], verbs: ['impersonate'], resourceNames: ['alice'] }] });
    await call(s, ADMIN_USER, 'POST', `${rbac}/clusterrolebindings`, { metadata: { name: 'imp' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'imp' }, subjects: [{ kind: 'User', name: 'bob' }] });
    const asAlice = await as({ 'impersonate-user': 'alice' });
    assert.equal(asAlice.status, 403, 'alice herself may not list pods');
    assert.match(asAlice.body.message, /User "alice" cannot list resource "pods"/);
    const masters = await as({ 'impersonate-user': 'alice', 'impersonate-group': 'system:masters' });
    assert.equal(masters.body.message, 'groups "system:masters" is forbidden: User "bob" cannot impersonate resource "groups" in API group "" at the cluster scope');
    const who = await call(s, bob, 'POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' }, { 'impersonate-user': 'alice' });
    assert.equal(who.status, 201);
    assert.deepEqual(who.body.status.userInfo, { username: 'alice', groups: ['system:authenticated'] });
  }));

test('access reviews answer from the authorization chain', () =>
  withServer(async (s) => {
    const ssar = (spec: unknown) => call(s, bob, 'POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec });
    assert.equal((await ssar({ resourceAttributes: { verb: 'list', resource: 'pods', namespace: 'default' } })).body.status.allowed, false);
    assert.equal((await ssar({ nonResourceAttributes: { verb: 'get', path: '/version' } })).body.status.allowed, true);
    assert.equal((await ssar({})).status, 422);
    const sar = await call(s, ADMIN_USER, 'POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
      spec: { user: 'system:kube-scheduler', resourceAttributes: { verb: 'create', resource: 'pods', subresource: 'binding', namespace: 'x' } },
    });
    assert.equal(sar.body.status.allowed, true);
    assert.equal((await call(s, bob, 'POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', { spec: { user: 'x', resourceAttributes: { verb: 'get', resource: 'pods' } } })).status, 403);
    const rules = await call(s, bob, 'POST', '/apis/authorization.k8s.io/v1/selfsubjectrulesreviews', { spec: { namespace: 'default' } });
    assert.ok(rules.body.status.resourceRules.some((r: { resources: string[] }) => r.resources.includes('selfsubjectaccessreviews')));
    assert.ok(rules.body.status.nonResourceRules.some((r: { nonResourceURLs: string[] }) => r.nonResourceURLs.includes('/version')));
    assert.equal((await call(s, ADMIN_USER, 'GET', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews')).status, 405);
  }));
