/**
 * Reconciles the bootstrap policy at server start, as upstream's rbac/rest PostStartHook:
 * missing roles and bindings are created; existing ones annotated
 * `rbac.authorization.kubernetes.io/autoupdate: "true"` get the rules, aggregation selectors
 * and subjects they lack (never lose any an administrator added). Setting the annotation to
 * "false" keeps a changed default as it is.
 */
import type { KObject, Obj, Registry } from '../../api/registry.js';
import { isReason } from '../../api/errors.js';
import type { ObjectStorage, WriteContext } from '../objects.js';
import { covers, type PolicyRule } from './rbac-rules.js';
import { CLUSTER_ROLES, CLUSTER_ROLE_BINDINGS, type BootstrapBinding, type BootstrapClusterRole } from './bootstrap-policy.js';
import { CONTROLLER_ROLES, CONTROLLER_ROLE_BINDINGS } from './controller-policy.js';
import { RBAC_GROUP } from './rbac.js';

export const AUTOUPDATE_ANNOTATION = 'rbac.authorization.kubernetes.io/autoupdate';
const BOOTSTRAP_LABELS = { 'kubernetes.io/bootstrapping': 'rbac-defaults' };

/** Every default ClusterRole and ClusterRoleBinding. */
export function bootstrapPolicy(): { roles: BootstrapClusterRole[]; bindings: BootstrapBinding[] } {
  return { roles: [...CLUSTER_ROLES, ...CONTROLLER_ROLES], bindings: [...CLUSTER_ROLE_BINDINGS, ...CONTROLLER_ROLE_BINDINGS] };
}

export function clusterRoleObject(role: BootstrapClusterRole): KObject {
  const obj: KObject = {
    apiVersion: `${RBAC_GROUP}/v1`,
    kind: 'ClusterRole',
    metadata: { name: role.name, labels: { ...BOOTSTRAP_LABELS, ...role.labels }, annotations: { [AUTOUPDATE_ANNOTATION]: 'true' } },
    rules: role.rules ?? [],
  };
  if (role.aggregateFrom) obj.aggregationRule = { clusterRoleSelectors: role.aggregateFrom.map((l) => ({ matchLabels: { [l]: 'true' } })) };
  return obj;
}

export function clusterRoleBindingObject(b: BootstrapBinding): KObject {
  return {
    apiVersion: `${RBAC_GROUP}/v1`,
    kind: 'ClusterRoleBinding',
    metadata: { name: b.name, labels: { ...BOOTSTRAP_LABELS }, annotations: { [AUTOUPDATE_ANNOTATION]: 'true' } },
    roleRef: { apiGroup: RBAC_GROUP, kind: 'ClusterRole', name: b.role },
    subjects: b.subjects.map((s) => (s.kind === 'ServiceAccount' ? { ...s } : { ...s, apiGroup: RBAC_GROUP })),
  };
}

/**
 * The reconciled role, or undefined when `existing` needs no change: rules it lacks are
 * appended (aggregated roles keep theirs: the aggregation controller owns them), selectors
 * and labels it lacks are added.
 */
export function reconcileRole(existing: KObject, want: KObject): KObject | undefined {
  if (existing.metadata?.annotations?.[AUTOUPDATE_ANNOTATION] !== 'true') return undefined;
  const out = structuredClone(existing) as Obj;
  let changed = false;
  const labels = (out.metadata.labels ??= {});
  for (const [k, v] of Object.entries(want.metadata?.labels ?? {})) {
    if (labels[k] !== v) {
      labels[k] = v;
      changed = true;
    }
  }
  const wantAgg = want.aggregationRule as { clusterRoleSelectors: unknown[] } | undefined;
  if (wantAgg) {
    const have = (out.aggregationRule ??= { clusterRoleSelectors: [] }) as { clusterRoleSelectors: unknown[] };
    have.clusterRoleSelectors ??= [];
    for (const sel of wantAgg.clusterRoleSelectors) {
      if (!have.clusterRoleSelectors.some((h) => JSON.stringify(h) === JSON.stringify(sel))) {
        have.clusterRoleSelectors.push(sel);
        changed = true;
      }
    }
  } else {
    const rules = (out.rules ??= []) as PolicyRule[];
    for (const rule of want.rules as PolicyRule[]) {
      if (!covers(rules, rule)) {
        rules.push(rule);
        changed = true;
      }
    }
  }
  return changed ? out : undefined;
}

/** The reconciled binding (missing subjects added), or undefined when nothing changes. */
export function reconcileBinding(existing: KObject, want: KObject): KObject | undefined {
  if (existing.metadata?.annotations?.[AUTOUPDATE_ANNOTATION] !== 'true') return undefined;
  const out = structuredClone(existing) as Obj;
  const subjects = (out.subjects ??= []) as Obj[];
  let changed = false;
  for (const s of (want.subjects ?? []) as Obj[]) {
    if (!subjects.some((h) => h.kind === s.kind && h.name === s.name && (h.namespace ?? '') === (s.namespace ?? ''))) {
      subjects.push(s);
      changed = true;
    }
  }
  return changed ? out : undefined;
}

/** Creates or tops up every default role and binding. */
export async function reconcileBootstrapPolicy(storage: ObjectStorage, registry: Registry, ctx: WriteContext): Promise<void> {
  const roleDef = registry.byKind(RBAC_GROUP, 'ClusterRole')!;
  const bindingDef = registry.byKind(RBAC_GROUP, 'ClusterRoleBinding')!;
  const { roles, bindings } = bootstrapPolicy();
  const apply = async (def: typeof roleDef, want: KObject, merge: (existing: KObject, want: KObject) => KObject | undefined) => {
    const name = want.metadata!.name!;
    const cur = storage.cache.get(def, '', name);
    if (!cur) {
      await storage.create(def, '', want, ctx).catch((e) => {
        if (!isReason(e, 'AlreadyExists')) throw e;
      });
      return;
    }
    if (!merge(cur.obj, want)) return;
    await storage.update(def, '', name, (latest) => merge(latest, want) ?? latest, ctx);
  };
  // Independent objects: written concurrently so a fresh store's batch commits together.
  await Promise.all(roles.map((role) => apply(roleDef, clusterRoleObject(role), reconcileRole)));
  await Promise.all(bindings.map((b) => apply(bindingDef, clusterRoleBindingObject(b), reconcileBinding)));
}
