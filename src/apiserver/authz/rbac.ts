/**
 * The RBAC authorizer, as upstream's plugin/pkg/auth/authorizer/rbac: a request is allowed
 * when a binding that names the user (or one of its groups, or its ServiceAccount) grants a
 * role with a matching rule. Reads Roles, ClusterRoles and bindings from the API server's
 * watch cache, never from the store; bindings are indexed by subject, and the index is
 * rebuilt lazily after the cache reports a binding change, so a request costs a few map
 * lookups.
 */
import type { Registry, ResourceDef } from '../../api/registry.js';
import type { CachedObject, WatchCache } from '../watch-cache.js';
import type { UserInfo } from '../objects.js';
import type { AuthorizationResult, Authorizer, RequestAttributes } from './types.js';
import { rulesAllow, subjectKey, userKeys, type PolicyRule, type Subject } from './rbac-rules.js';

export const RBAC_GROUP = 'rbac.authorization.k8s.io';

interface RoleRef {
  kind: 'Role' | 'ClusterRole';
  name: string;
}

interface IndexedBinding {
  /** '' for ClusterRoleBindings. */
  namespace: string;
  name: string;
  roleRef: RoleRef;
}

/** subject key → bindings, for cluster-wide bindings and per namespace. */
interface SubjectIndex {
  cluster: Map<string, IndexedBinding[]>;
  namespaced: Map<string, Map<string, IndexedBinding[]>>;
}

export class RbacAuthorizer implements Authorizer {
  private readonly defs: { role: ResourceDef; clusterRole: ResourceDef; binding: ResourceDef; clusterBinding: ResourceDef };
  private index?: SubjectIndex;
  private watching = false;
  /** Parsed rules per cached role object (a new object on every change, so no invalidation). */
  private readonly rulesOf = new WeakMap<CachedObject, PolicyRule[]>();

  constructor(
    private readonly cache: WatchCache,
    registry: Registry,
  ) {
    this.defs = {
      role: registry.byKind(RBAC_GROUP, 'Role')!,
      clusterRole: registry.byKind(RBAC_GROUP, 'ClusterRole')!,
      binding: registry.byKind(RBAC_GROUP, 'RoleBinding')!,
      clusterBinding: registry.byKind(RBAC_GROUP, 'ClusterRoleBinding')!,
    };
  }

  /** The ResourceDef of Role or ClusterRole. */
  roleDef(kind: 'Role' | 'ClusterRole'): ResourceDef {
    return kind === 'Role' ? this.defs.role : this.defs.clusterRole;
  }

  authorize(attrs: RequestAttributes): AuthorizationResult {
    let allowed = false;
    this.visitRules(attrs.user, attrs.namespace, (rules) => (allowed = rulesAllow(attrs, rules)));
    return allowed ? { decision: 'allow' } : { decision: 'noOpinion' };
  }

  /**
   * Every rule that applies to `user` in `namespace` ('' = cluster-wide rules only), as
   * upstream's RulesFor: for SelfSubjectRulesReview and escalation checks.
   */
  rulesFor(user: UserInfo, namespace: string): PolicyRule[] {
    const out: PolicyRule[] = [];
    this.visitRules(user, namespace, (rules) => {
      out.push(...rules);
      return false;
    });
    return out;
  }

  /** Calls `visit` with each bound role's rules until it returns true. */
  private visitRules(user: UserInfo, namespace: string, visit: (rules: PolicyRule[]) => boolean): void {
    const index = this.currentIndex();
    const keys = userKeys(user);
    const nsIndex = namespace ? index.namespaced.get(namespace) : undefined;
    for (const m of nsIndex ? [index.cluster, nsIndex] : [index.cluster]) {
      for (const k of keys) {
        for (const b of m.get(k) ?? []) {
          const rules = this.roleRules(b);
          if (rules.length && visit(rules)) return;
        }
      }
    }
  }

  private roleRules(b: IndexedBinding): PolicyRule[] {
    const o = b.roleRef.kind === 'ClusterRole' ? this.cache.get(this.defs.clusterRole, '', b.roleRef.name) : this.cache.get(this.defs.role, b.namespace, b.roleRef.name);
    if (!o) return [];
    let rules = this.rulesOf.get(o);
    if (!rules) {
      rules = ((o.obj.rules as PolicyRule[] | undefined) ?? []).map((r) => ({ ...r, verbs: r.verbs ?? [] }));
      this.rulesOf.set(o, rules);
    }
    return rules;
  }

  private currentIndex(): SubjectIndex {
    if (!this.watching) {
      // Events after this revision mark the index stale; both calls are synchronous, so no change slips between.
      const stale = { namespace: '', onEvent: () => (this.index = undefined) };
      const rev = this.cache.revision();
      this.cache.watch(this.defs.binding, rev, stale);
      this.cache.watch(this.defs.clusterBinding, rev, stale);
      this.watching = true;
    }
    return (this.index ??= this.buildIndex());
  }

  private buildIndex(): SubjectIndex {
    const index: SubjectIndex = { cluster: new Map(), namespaced: new Map() };
    const add = (m: Map<string, IndexedBinding[]>, o: CachedObject) => {
      const ref = o.obj.roleRef as RoleRef | undefined;
      if (!ref || (ref.kind !== 'Role' && ref.kind !== 'ClusterRole')) return;
      const b: IndexedBinding = { namespace: o.namespace, name: o.name, roleRef: ref };
      const seen = new Set<string>();
      for (const s of (o.obj.subjects as Subject[] | undefined) ?? []) {
        const k = subjectKey(s, o.namespace);
        if (!k || seen.has(k)) continue;
        seen.add(k);
        const list = m.get(k);
        if (list) list.push(b);
        else m.set(k, [b]);
      }
    };
    for (const o of this.cache.list(this.defs.clusterBinding, '')) {
      // A ClusterRoleBinding may only refer to a ClusterRole.
      if ((o.obj.roleRef as RoleRef | undefined)?.kind === 'ClusterRole') add(index.cluster, o);
    }
    for (const o of this.cache.list(this.defs.binding, '')) {
      let m = index.namespaced.get(o.namespace);
      if (!m) index.namespaced.set(o.namespace, (m = new Map()));
      add(m, o);
    }
    return index;
  }
}
