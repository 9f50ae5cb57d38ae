import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ClusterRole } from 'kubernetes-types/rbac/v1.js';
import { CLUSTER_ROLES } from '../client/resources.js';
import { aggregatedRules, newClusterRoleAggregationController } from './clusterrole-aggregation.js';
import { harness } from './testing/harness.js';

const has = (role: ClusterRole | undefined, resource: string, verb: string) =>
  !!role?.rules?.some((r) => r.resources?.includes(resource) && r.verbs.includes(verb));

test('aggregatedRules takes matching roles in name order and drops duplicates', () => {
  const rule = { apiGroups: [''], resources: ['pods'], verbs: ['get'] };
  const agg = { metadata: { name: 'agg' }, aggregationRule: { clusterRoleSelectors: [{ matchLabels: { a: 'true' } }] } };
  const rules = aggregatedRules(agg, [
    agg,
    { metadata: { name: 'z', labels: { a: 'true' } }, rules: [rule, { apiGroups: [''], resources: ['secrets'], verbs: ['get'] }] },
    { metadata: { name: 'b', labels: { a: 'true' } }, rules: [rule] },
    { metadata: { name: 'c', labels: { a: 'false' } }, rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }] },
  ]);
  assert.deepEqual(rules, [rule, { apiGroups: [''], resources: ['secrets'], verbs: ['get'] }]);
});

test('a labelled ClusterRole extends view, and through it edit and admin; removing the label takes it back', async () => {
  const h = harness();
  h.start(newClusterRoleAggregationController(h.ctx));
  await h.settle();
  const role = (name: string) => h.client.peek<ClusterRole>(CLUSTER_ROLES, undefined, name);
  assert.ok(has(role('view'), 'pods', 'list'), 'view has the system:aggregate-to-view rules');
  assert.ok(has(role('admin'), 'rolebindings', 'create'), 'admin has the system:aggregate-to-admin rules');
  await h.client.create(CLUSTER_ROLES, undefined, {
    metadata: { name: 'widgets-view', labels: { 'rbac.authorization.k8s.io/aggregate-to-view': 'true' } },
    rules: [{ apiGroups: ['example.com'], resources: ['widgets'], verbs: ['get', 'list'] }],
  });
  await h.settle();
  for (const name of ['view', 'edit', 'admin']) assert.ok(has(role(name), 'widgets', 'list'), `${name} aggregates widgets`);
  const cur = role('widgets-view')!;
  await h.client.update(CLUSTER_ROLES, undefined, { ...cur, metadata: { ...cur.metadata, labels: {} } });
  await h.settle();
  for (const name of ['view', 'edit', 'admin']) assert.ok(!has(role(name), 'widgets', 'list'), `${name} lost widgets`);
  h.stop();
});
