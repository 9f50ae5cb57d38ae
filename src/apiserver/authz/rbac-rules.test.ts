import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compactRules, compactRuleString, covers, ruleAllows, uncovered, type PolicyRule } from './rbac-rules.js';
import { requestAttributes } from './attributes.js';

const user = { name: 'u', groups: [] };
const req = (m: string, p: string, s = '') => requestAttributes(user, m, p, new URLSearchParams(s));

test('rule matching: verbs, groups, resources, subresources, names and URLs', () => {
  const cases: [PolicyRule, ReturnType<typeof req>, boolean][] = [
    [{ verbs: ['get', 'list'], apiGroups: [''], resources: ['pods'] }, req('GET', '/api/v1/namespaces/d/pods'), true],
    [{ verbs: ['get', 'list'], apiGroups: [''], resources: ['pods'] }, req('DELETE', '/api/v1/namespaces/d/pods/p'), false],
    [{ verbs: ['get', 'list'], apiGroups: [''], resources: ['pods'] }, req('GET', '/api/v1/namespaces/d/pods/p/log'), false],
    [{ verbs: ['get'], apiGroups: [''], resources: ['pods/log'] }, req('GET', '/api/v1/namespaces/d/pods/p/log'), true],
    [{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }, req('GET', '/apis/apps/v1/namespaces/d/deployments/x'), false],
    [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }, req('DELETE', '/apis/apps/v1/namespaces/d/deployments'), true],
    [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }, req('GET', '/api/v1/namespaces/d/pods/p/exec'), true],
    [{ verbs: ['update'], apiGroups: ['*'], resources: ['*/scale'] }, req('PUT', '/apis/apps/v1/namespaces/d/deployments/x/scale'), true],
    [{ verbs: ['update'], apiGroups: ['*'], resources: ['*/scale'] }, req('PUT', '/apis/apps/v1/namespaces/d/deployments/x'), false],
    [{ verbs: ['get'], apiGroups: [''], resources: ['configmaps'], resourceNames: ['a'] }, req('GET', '/api/v1/namespaces/d/configmaps/a'), true],
    [{ verbs: ['get'], apiGroups: [''], resources: ['configmaps'], resourceNames: ['a'] }, req('GET', '/api/v1/namespaces/d/configmaps/b'), false],
    [{ verbs: ['list'], apiGroups: [''], resources: ['configmaps'], resourceNames: ['a'] }, req('GET', '/api/v1/namespaces/d/configmaps'), false],
    [{ verbs: ['watch'], apiGroups: [''], resources: ['configmaps'], resourceNames: ['a'] }, req('GET', '/api/v1/namespaces/d/configmaps', 'watch=true&fieldSelector=metadata.name=a'), true],
    [{ verbs: ['get'], nonResourceURLs: ['/healthz'] }, req('GET', '/healthz'), true],
    [{ verbs: ['get'], nonResourceURLs: ['/apis/*'] }, req('GET', '/apis/apps'), true],
    [{ verbs: ['get'], nonResourceURLs: ['/apis/*'] }, req('GET', '/apis'), false],
    [{ verbs: ['get'], nonResourceURLs: ['*'] }, req('GET', '/openapi/v3'), true],
    [{ verbs: ['get'], nonResourceURLs: ['/healthz'] }, req('POST', '/healthz'), false],
    [{ verbs: ['get'], apiGroups: ['*'], resources: ['*'] }, req('GET', '/version'), false],
  ];
  for (const [rule, a, want] of cases) assert.equal(ruleAllows(a, rule), want, `${JSON.stringify(rule)} vs ${a.verb} ${a.path}`);
});

test('covers: a holder covers a rule only with every verb/resource/name of it', () => {
  const owner: PolicyRule[] = [
    { verbs: ['get', 'list'], apiGroups: [''], resources: ['pods', 'pods/log'] },
    { verbs: ['get'], apiGroups: [''], resources: ['configmaps'], resourceNames: ['x'] },
    { verbs: ['get'], nonResourceURLs: ['/apis/*'] },
  ];
  assert.ok(covers(owner, { verbs: ['get'], apiGroups: [''], resources: ['pods'] }));
  assert.ok(covers(owner, { verbs: ['list'], apiGroups: [''], resources: ['pods/log'] }));
  assert.ok(!covers(owner, { verbs: ['delete'], apiGroups: [''], resources: ['pods'] }));
  assert.ok(!covers(owner, { verbs: ['*'], apiGroups: [''], resources: ['pods'] }));
  assert.ok(!covers(owner, { verbs: ['get'], apiGroups: [''], resources: ['configmaps'] }));
  assert.ok(covers(owner, { verbs: ['get'], apiGroups: [''], resources: ['configmaps'], resourceNames: ['x'] }));
  assert.ok(covers(owner, { verbs: ['get'], nonResourceURLs: ['/apis/apps'] }));
  assert.ok(covers([{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }], { verbs: ['*'], apiGroups: ['*'], resources: ['*'] }));
  const missing = uncovered(owner, [{ verbs: ['get', 'delete'], apiGroups: [''], resources: ['pods', 'secrets'] }]);
  assert.deepEqual(missing.map(compactRuleString), [
    '{APIGroups:[""], Resources:["pods"], Verbs:["delete"]}',
    '{APIGroups:[""], Resources:["secrets"], Verbs:["get"]}',
    '{APIGroups:[""], Resources:["secrets"], Verbs:["delete"]}',
  ]);
  assert.deepEqual(compactRules(missing).map(compactRuleString), [
    '{APIGroups:[""], Resources:["pods"], Verbs:["delete"]}',
    '{APIGroups:[""], Resources:["secrets"], Verbs:["get" "delete"]}',
  ]);
});
