/**
 * ClusterRole aggregation, after upstream pkg/controller/clusterroleaggregation: a ClusterRole
 * with an `aggregationRule` gets, as its rules, the rules of every ClusterRole its selectors
 * match (in name order, duplicates dropped), so a labelled role extends admin/edit/view.
 * Any ClusterRole change re-checks every aggregated role (a label may have come or gone).
 */
import type { ClusterRole } from 'kubernetes-types/rbac/v1.js';
import type { LabelSelector } from 'kubernetes-types/meta/v1.js';
import { isReason } from '../api/errors.js';
import { selectorFromLabelSelector } from '../api/labels.js';
import { jsonEqual } from '../api/meta.js';
import type { Informer } from '../client/informer.js';
import { CLUSTER_ROLES } from '../client/resources.js';
import type { KObject } from '../client/types.js';
import { QueueController, type ReconcileResult } from './base.js';
import type { Controller, ControllerContext } from './types.js';
import { copy } from './util.js';

type CR = ClusterRole & KObject;
type Rule = NonNullable<ClusterRole['rules']>[number];

/** The rules `role` aggregates from `all` (pure; upstream's syncClusterRole). */
export function aggregatedRules(role: CR, all: readonly CR[]): Rule[] {
  const selectors = (role.aggregationRule?.clusterRoleSelectors ?? []).map((s) => selectorFromLabelSelector(s as LabelSelector));
  const out: Rule[] = [];
  const sources = all
    .filter((r) => r.metadata?.name !== role.metadata?.name && selectors.some((s) => s.matches(r.metadata?.labels)))
    .sort((a, b) => (a.metadata!.name! < b.metadata!.name! ? -1 : 1));
  for (const src of sources) {
    for (const rule of src.rules ?? []) if (!out.some((r) => jsonEqual(r, rule))) out.push(rule);
  }
  return out;
}

export function newClusterRoleAggregationController(ctx: ControllerContext): Controller & { readonly queue: QueueController['queue'] } {
  const { client } = ctx;
  const inf = ctx.informers.informerFor<CR>(CLUSTER_ROLES);
  const qc = new QueueController('clusterrole-aggregation', ctx, [inf as unknown as Informer<KObject>], sync);
  const enqueueAggregated = () => {
    for (const r of inf.list()) if (r.aggregationRule) qc.queue.add(r.metadata!.name!);
  };
  inf.addEventHandler({ onAdd: enqueueAggregated, onUpdate: enqueueAggregated, onDelete: enqueueAggregated });

  async function sync(name: string): Promise<ReconcileResult> {
    const role = inf.get(undefined, name);
    if (!role?.aggregationRule) return;
    const rules = aggregatedRules(role, inf.list());
    if (jsonEqual(role.rules ?? [], rules)) return;
    const next = copy(role) as CR;
    next.rules = rules;
    try {
      await client.update(CLUSTER_ROLES, undefined, next);
    } catch (err) {
      // Conflict: a newer version is on its way through the informer, which re-queues us.
      if (!isReason(err, 'NotFound') && !isReason(err, 'Conflict')) throw err;
    }
  }

  return qc;
}
