import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AUTOUPDATE_ANNOTATION, bootstrapPolicy, clusterRoleBindingObject, clusterRoleObject, reconcileBinding, reconcileRole } from './bootstrap-reconcile.js';
import type { KObject } from '../../api/registry.js';

const role = (name: string) => clusterRoleObject(bootstrapPolicy().roles.find((r) => r.name === name)!);

test('reconcile tops up autoupdate roles and bindings and leaves the others alone', () => {
  const want = role('system:basic-user');
  const trimmed: KObject = { ...structuredClone(want), rules: [(want.rules as unknown[])[0], { apiGroups: ['x'], resources: ['y'], verbs: ['get'] }] };
  const fixed = reconcileRole(trimmed, want)!;
  assert.equal((fixed.rules as unknown[]).length, 3, 'the missing rule is added, the administrator\'s extra rule kept');
  assert.equal(reconcileRole(fixed, want), undefined, 'nothing left to do');
  const pinned = structuredClone(trimmed);
  pinned.metadata!.annotations![AUTOUPDATE_ANNOTATION] = 'false';
  assert.equal(reconcileRole(pinned, want), undefined, 'autoupdate=false is left as it is');

  const view = role('view');
  const noSelectors = { ...structuredClone(view), aggregationRule: { clusterRoleSelectors: [] }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }] };
  const v = reconcileRole(noSelectors, view)!;
  assert.deepEqual(v.aggregationRule, view.aggregationRule, 'selectors restored');
  assert.deepEqual(v.rules, noSelectors.rules, 'aggregated rules belong to the aggregation controller');

  const b = clusterRoleBindingObject(bootstrapPolicy().bindings.find((x) => x.name === 'system:public-info-viewer')!);
  const lonely = { ...structuredClone(b), subjects: [(b.subjects as unknown[])[0]] };
  assert.deepEqual(reconcileBinding(lonely, b)!.subjects, b.subjects);
});

test('every bootstrap binding names a bootstrap role, and every controller role is bound to its ServiceAccount', () => {
  const { roles, bindings } = bootstrapPolicy();
  const names = new Set(roles.map((r) => r.name));
  assert.equal(names.size, roles.length, 'no role twice');
  for (const b of bindings) assert.ok(names.has(b.role), `${b.name} → ${b.role}`);
  for (const r of roles.filter((x) => x.name.startsWith('system:controller:'))) {
    const b = bindings.find((x) => x.role === r.name)!;
    assert.deepEqual(b.subjects, [{ kind: 'ServiceAccount', name: r.name.slice('system:controller:'.length), namespace: 'kube-system' }]);
  }
});
