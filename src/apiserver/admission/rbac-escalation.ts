/**
 * RBAC escalation prevention, as upstream's rbac policybased REST storage: writing a Role or
 * ClusterRole needs every rule it grants (unless the requester may `escalate` roles), and
 * writing a binding needs every rule of the bound role (unless the requester may `bind` it).
 * Members of system:masters pass (upstream's EscalationAllowed).
 */
import { forbidden, notFound } from '../../api/errors.js';
import type { KObject, ResourceDef } from '../../api/registry.js';
import type { AdmissionPlugin, UserInfo } from '../objects.js';
import type { WatchCache } from '../watch-cache.js';
import type { Authorizer, RequestAttributes } from '../authz/types.js';
import { SYSTEM_MASTERS } from '../authz/chain.js';
import { compactRuleString, compactRules, uncovered, type PolicyRule } from '../authz/rbac-rules.js';
import { RBAC_GROUP, type RbacAuthorizer } from '../authz/rbac.js';

export interface EscalationOptions {
  cache: WatchCache;
  rbac: RbacAuthorizer;
  /** The whole authorization chain, asked about the `escalate` and `bind` verbs. */
  authorizer: Authorizer;
}

/** Upstream's ConfirmNoEscalation message (without the `… is forbidden: ` prefix). */
export function escalationMessage(user: UserInfo, missing: PolicyRule[]): string {
  const lines = [...new Set(compactRules(missing).map(compactRuleString))].sort();
  return `user ${JSON.stringify(user.name)} (groups=[${user.groups.map((g) => JSON.stringify(g)).join(' ')}]) is attempting to grant RBAC permissions not currently held:\n${lines.join('\n')}`;
}

function specialVerb(user: UserInfo, verb: string, resource: string, namespace: string, name: string): RequestAttributes {
  return {
    user, verb, resourceRequest: true, path: '', apiGroup: RBAC_GROUP, apiVersion: '*', resource, subresource: '', namespace, name,
  };
}

/** Rules unchanged and the object otherwise the same but for bookkeeping: nothing new is granted. */
function grantsNothingNew(obj: KObject, old: KObject | undefined): boolean {
  if (!old) return false;
  const grant = (o: KObject) => JSON.stringify([o.rules ?? [], o.aggregationRule ?? null, o.roleRef ?? null, o.subjects ?? []]);
  return grant(obj) === grant(old);
}

export function rbacEscalationAdmission(opts: EscalationOptions): AdmissionPlugin {
  return async (op, def: ResourceDef, obj, old, ctx) => {
    if (def.group !== RBAC_GROUP || (op !== 'CREATE' && op !== 'UPDATE')) return;
    const user = ctx.user;
    if (user.groups.includes(SYSTEM_MASTERS) || grantsNothingNew(obj, old)) return;
    const namespace = obj.metadata?.namespace ?? '';
    const name = obj.metadata?.name ?? '';
    const gr = { group: def.group, resource: def.plural };
    let rules: PolicyRule[];
    if (def.kind === 'Role' || def.kind === 'ClusterRole') {
      if ((await opts.authorizer.authorize(specialVerb(user, 'escalate', def.plural, namespace, name))).decision === 'allow') return;
      // An aggregated role's rules are whatever its selectors pick up later, so only escalate may write one.
      if (def.kind === 'ClusterRole' && obj.aggregationRule) throw forbidden(gr, name, 'must have cluster-admin privileges to use the aggregationRule');
      rules = (obj.rules as PolicyRule[] | undefined) ?? [];
    } else if (def.kind === 'RoleBinding' || def.kind === 'ClusterRoleBinding') {
      const ref = (obj.roleRef ?? {}) as { kind?: string; name?: string };
      const refResource = ref.kind === 'Role' ? 'roles' : 'clusterroles';
      if ((await opts.authorizer.authorize(specialVerb(user, 'bind', refResource, namespace, ref.name ?? ''))).decision === 'allow') return;
      const refDef = opts.rbac.roleDef(ref.kind === 'Role' ? 'Role' : 'ClusterRole');
      const role = opts.cache.get(refDef, ref.kind === 'Role' ? namespace : '', ref.name ?? '');
      if (!role) throw notFound({ group: RBAC_GROUP, resource: refResource }, ref.name ?? '');
      rules = (role.obj.rules as PolicyRule[] | undefined) ?? [];
    } else {
      return;
    }
    const missing = uncovered(opts.rbac.rulesFor(user, namespace), rules);
    if (missing.length) throw forbidden(gr, name, escalationMessage(user, missing));
  };
}
