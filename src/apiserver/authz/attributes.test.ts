import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requestAttributes } from './attributes.js';
import { forbiddenError } from './forbidden.js';

const user = { name: 'system:serviceaccount:default:default', groups: ['system:serviceaccounts', 'system:authenticated'] };
const q = (s = '') => new URLSearchParams(s);

test('request attributes as upstream RequestInfoFactory resolves them', () => {
  const cases: [string, string, string, Partial<ReturnType<typeof requestAttributes>>][] = [
    ['GET', '/api/v1/namespaces/ns/pods', '', { verb: 'list', resource: 'pods', namespace: 'ns', name: '', resourceRequest: true }],
    ['GET', '/api/v1/namespaces/ns/pods', 'watch=true', { verb: 'watch', resource: 'pods' }],
    ['GET', '/api/v1/pods', 'watch=1&fieldSelector=metadata.name%3Dweb', { verb: 'watch', name: 'web', namespace: '' }],
    ['GET', '/api/v1/namespaces/ns/pods/p', '', { verb: 'get', name: 'p', subresource: '' }],
    ['GET', '/api/v1/namespaces/ns/pods/p/log', '', { verb: 'get', subresource: 'log' }],
    ['POST', '/api/v1/namespaces/ns/pods/p/exec', '', { verb: 'create', subresource: 'exec' }],
    ['POST', '/api/v1/namespaces/ns/pods/p/binding', '', { verb: 'create', subresource: 'binding' }],
    ['POST', '/api/v1/namespaces/ns/pods/p/eviction', '', { verb: 'create', subresource: 'eviction' }],
    ['POST', '/api/v1/namespaces/ns/serviceaccounts/sa/token', '', { verb: 'create', resource: 'serviceaccounts', subresource: 'token' }],
    ['PUT', '/apis/apps/v1/namespaces/ns/deployments/d/scale', '', { verb: 'update', apiGroup: 'apps', subresource: 'scale' }],
    ['PATCH', '/apis/apps/v1/namespaces/ns/deployments/d/status', '', { verb: 'patch', subresource: 'status' }],
    ['DELETE', '/api/v1/namespaces/ns/pods', '', { verb: 'deletecollection' }],
    ['DELETE', '/api/v1/nodes/n1', '', { verb: 'delete', resource: 'nodes', name: 'n1', namespace: '' }],
    ['GET', '/api/v1/namespaces/kube-system', '', { verb: 'get', resource: 'namespaces', name: 'kube-system', namespace: 'kube-system' }],
    ['PUT', '/api/v1/namespaces/x/finalize', '', { verb: 'update', resource: 'namespaces', name: 'x', subresource: 'finalize' }],
    ['GET', '/apis/metrics.k8s.io/v1beta1/namespaces/ns/pods', '', { verb: 'list', apiGroup: 'metrics.k8s.io', resource: 'pods' }],
    ['GET', '/api', '', { verb: 'get', resourceRequest: false, path: '/api' }],
    ['GET', '/api/v1', '', { resourceRequest: false }],
    ['GET', '/apis/apps/v1', '', { resourceRequest: false }],
    ['GET', '/openapi/v3', '', { resourceRequest: false, verb: 'get' }],
    ['POST', '/logs', '', { resourceRequest: false, verb: 'post' }],
  ];
  for (const [method, path, query, want] of cases) {
    const got = requestAttributes(user, method, path, q(query));
    for (const [k, v] of Object.entries(want)) assert.equal(got[k as keyof typeof got], v, `${method} ${path}?${query}: ${k}`);
  }
});

test('forbidden messages are worded as upstream', () => {
  const attrs = (m: string, p: string, s = '') => requestAttributes(user, m, p, q(s));
  const cases: [ReturnType<typeof requestAttributes>, string | undefined, string][] = [
    [attrs('GET', '/api/v1/namespaces/kube-system/secrets'), undefined,
      'secrets is forbidden: User "system:serviceaccount:default:default" cannot list resource "secrets" in API group "" in the namespace "kube-system"'],
    [attrs('DELETE', '/api/v1/nodes/n1'), undefined,
      'nodes "n1" is forbidden: User "system:serviceaccount:default:default" cannot delete resource "nodes" in API group "" at the cluster scope'],
    [attrs('GET', '/api/v1/namespaces/d/pods/p/log'), undefined,
      'pods "p" is forbidden: User "system:serviceaccount:default:default" cannot get resource "pods/log" in API group "" in the namespace "d"'],
    [attrs('POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings'), undefined,
      'clusterrolebindings.rbac.authorization.k8s.io is forbidden: User "system:serviceaccount:default:default" cannot create resource "clusterrolebindings" in API group "rbac.authorization.k8s.io" at the cluster scope'],
    [attrs('GET', '/metrics'), undefined, 'forbidden: User "system:serviceaccount:default:default" cannot get path "/metrics"'],
    [attrs('GET', '/api/v1/namespaces/d/secrets/s'), 'no relationship found between node \'n\' and this object',
      'secrets "s" is forbidden: User "system:serviceaccount:default:default" cannot get resource "secrets" in API group "" in the namespace "d": no relationship found between node \'n\' and this object'],
  ];
  for (const [a, reason, msg] of cases) {
    const err = forbiddenError(a, reason);
    assert.equal(err.code, 403);
    assert.equal(err.message, msg);
  }
});
