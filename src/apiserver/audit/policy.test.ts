import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decide, parseAuditPolicy, type RequestAttributes } from './policy.js';
import { requestInfo } from './request-info.js';

const POLICY = parseAuditPolicy(`apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: None
  users: [system:kube-proxy]
- level: None
  userGroups: [system:nodes]
  verbs: [get]
- level: RequestResponse
  resources:
  - group: ""
    resources: [secrets]
    resourceNames: [vip]
- level: Request
  resources:
  - group: apps
    resources: ["deployments/*"]
  - group: ""
    resources: ["*/log"]
- level: Metadata
  namespaces: [kube-system]
- level: None
  nonResourceURLs: ["/healthz*", /version]
- level: Metadata
  verbs: [create, update, patch, delete]
  omitStages: [ResponseStarted]
`);

const at = (method: string, path: string, user = 'alice', groups: string[] = []): RequestAttributes => {
  const info = requestInfo({ method, path, query: new URLSearchParams(path.includes('?') ? path.split('?')[1] : ''), headers: {} });
  return { user, groups, ...info };
};

test('rules match in order by user, group, verb, resource (group, resources, names, subresources), namespace and URL', () => {
  const level = (a: RequestAttributes) => decide(POLICY, a).level;
  assert.equal(level(at('POST', '/api/v1/namespaces/default/pods', 'system:kube-proxy')), 'None', 'users');
  assert.equal(level(at('GET', '/api/v1/nodes/n1', 'system:node:n1', ['system:nodes'])), 'None', 'userGroups + verbs');
  assert.equal(level(at('PUT', '/api/v1/nodes/n1', 'system:node:n1', ['system:nodes'])), 'Metadata', 'a group rule limited to get lets writes through');
  assert.equal(level(at('GET', '/api/v1/namespaces/default/secrets/vip')), 'RequestResponse', 'resourceNames');
  assert.equal(level(at('GET', '/api/v1/namespaces/default/secrets/other')), 'None');
  assert.equal(level(at('PUT', '/apis/apps/v1/namespaces/default/deployments/web/scale')), 'Request', 'resource/*');
  assert.equal(level(at('PUT', '/apis/apps/v1/namespaces/default/deployments/web')), 'Request', 'resource/* covers the resource itself');
  assert.equal(level(at('GET', '/api/v1/namespaces/default/pods/web/log')), 'Request', '*/subresource');
  assert.equal(level(at('GET', '/api/v1/namespaces/kube-system/configmaps')), 'Metadata', 'namespaces');
  assert.equal(level(at('GET', '/healthz/etcd')), 'None', 'nonResourceURLs prefix');
  assert.equal(level(at('POST', '/apis/apps/v1/namespaces/default/replicasets')), 'Metadata');
  assert.equal(level(at('GET', '/api/v1/namespaces/default/pods')), 'None', 'no rule: None');
  assert.deepEqual(decide(POLICY, at('POST', '/api/v1/namespaces/default/pods')).omitStages.sort(), ['RequestReceived', 'ResponseStarted']);
});

test('request info: verbs and object coordinates as upstream RequestInfoFactory', () => {
  const i = (m: string, p: string) => {
    const [path, q] = p.split('?');
    const r = requestInfo({ method: m, path, query: new URLSearchParams(q ?? ''), headers: {} });
    return [r.verb, r.apiGroup, r.namespace, r.resource, r.name, r.subresource].map((x) => x ?? '').join('|');
  };
  assert.equal(i('GET', '/api/v1/namespaces/ns/pods'), 'list||ns|pods||');
  assert.equal(i('GET', '/api/v1/namespaces/ns/pods?watch=true'), 'watch||ns|pods||');
  assert.equal(i('DELETE', '/apis/apps/v1/namespaces/ns/deployments'), 'deletecollection|apps|ns|deployments||');
  assert.equal(i('PATCH', '/api/v1/namespaces/ns/pods/p/status'), 'patch||ns|pods|p|status');
  assert.equal(i('GET', '/api/v1/namespaces/ns'), 'get||ns|namespaces|ns|');
  assert.equal(i('PUT', '/api/v1/namespaces/ns/finalize'), 'update||ns|namespaces|ns|finalize');
  assert.equal(i('GET', '/api/v1/nodes'), 'list|||nodes||');
  assert.equal(requestInfo({ method: 'GET', path: '/healthz', query: new URLSearchParams(), headers: {} }).resourceRequest, false);
});

test('bad policies are refused with the field named', () => {
  assert.throws(() => parseAuditPolicy('kind: Policy\nrules:\n- level: Everything\n'), /rules\[0\]\.level: Unsupported value: "Everything"/);
  assert.throws(() => parseAuditPolicy('kind: Policy\nrules:\n- level: None\n  omitStages: [Later]\n'), /rules\[0\]\.omitStages: Unsupported value: "Later"/);
  assert.throws(() => parseAuditPolicy('kind: Policy\nrules:\n- level: None\n  nonResourceURLs: [/x]\n  namespaces: [a]\n'), /cannot apply to both/);
  assert.throws(() => parseAuditPolicy('kind: Config\n'), /kind must be Policy/);
});
