/**
 * RBAC rule matching, as upstream's rbac/v1 helpers (pkg/apis/rbac/v1/evaluation_helpers.go):
 * does one PolicyRule allow one request, and which subjects a binding applies to. Pure.
 */
import type { UserInfo } from '../objects.js';
import type { RequestAttributes } from './types.js';

/** rbac.authorization.k8s.io/v1 PolicyRule. */
export interface PolicyRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

/** rbac.authorization.k8s.io/v1 Subject. */
export interface Subject {
  kind: string;
  name: string;
  namespace?: string;
  apiGroup?: string;
}

export const VERB_ALL = '*';

export function verbMatches(rule: PolicyRule, verb: string): boolean {
  return rule.verbs.includes(VERB_ALL) || rule.verbs.includes(verb);
}

export function apiGroupMatches(rule: PolicyRule, group: string): boolean {
  const gs = rule.apiGroups ?? [];
  return gs.includes('*') || gs.includes(group);
}

/** `pods/log` matches pods' log subresource; `*` matches everything; `*∕scale` matches every scale subresource. */
export function resourceMatches(rule: PolicyRule, resource: string, subresource: string): boolean {
  const combined = subresource ? `${resource}/${subresource}` : resource;
  for (const r of rule.resources ?? []) {
    if (r === '*' || r === combined) return true;
    if (subresource && r === `*/${subresource}`) return true;
  }
  return false;
}

export function resourceNameMatches(rule: PolicyRule, name: string): boolean {
  const names = rule.resourceNames ?? [];
  return names.length === 0 || names.includes(name);
}

/** `*` matches every path; `/apis/*` every path under /apis/; else exact. */
export function nonResourceURLMatches(rule: PolicyRule, path: string): boolean {
  for (const u of rule.nonResourceURLs ?? []) {
    if (u === '*' || u === path) return true;
    if (u.endsWith('*') && path.startsWith(u.slice(0, -1))) return true;
  }
  return false;
}

/** Whether `rule` allows the request (upstream's RuleAllows). */
export function ruleAllows(a: RequestAttributes, rule: PolicyRule): boolean {
  if (!verbMatches(rule, a.verb)) return false;
  if (a.resourceRequest) {
    return apiGroupMatches(rule, a.apiGroup) && resourceMatches(rule, a.resource, a.subresource) && resourceNameMatches(rule, a.name);
  }
  return nonResourceURLMatches(rule, a.path);
}

export function rulesAllow(a: RequestAttributes, rules: readonly PolicyRule[]): boolean {
  for (const r of rules) if (ruleAllows(a, r)) return true;
  return false;
}

/** The user name of a ServiceAccount (serviceaccount.MakeUsername). */
export function serviceAccountUsername(namespace: string, name: string): string {
  return `system:serviceaccount:${namespace}:${name}`;
}

/**
 * The key a subject is indexed under: `u:NAME` for users and ServiceAccounts (as their user
 * names), `g:NAME` for groups. A ServiceAccount subject without a namespace takes the binding's.
 */
export function subjectKey(s: Subject, bindingNamespace: string): string | undefined {
  switch (s.kind) {
    case 'User':
      return `u:${s.name}`;
    case 'Group':
      return `g:${s.name}`;
    case 'ServiceAccount': {
      const ns = s.namespace || bindingNamespace;
      return ns ? `u:${serviceAccountUsername(ns, s.name)}` : undefined;
    }
    default:
      return undefined;
  }
}

/** The index keys a user is reached by: their name and each group. */
export function userKeys(user: UserInfo): string[] {
  return [`u:${user.name}`, ...user.groups.map((g) => `g:${g}`)];
}

/** Whether `subject` names `user` (upstream's appliesToUser). */
export function appliesToUser(user: UserInfo, s: Subject, bindingNamespace: string): boolean {
  const k = subjectKey(s, bindingNamespace);
  return k !== undefined && userKeys(user).includes(k);
}

/**
 * Whether `owner` covers every permission of `rule` (upstream's validation.Covers, used by
 * escalation checks): each verb × group × resource × name (or URL) of `rule` is allowed by some
 * owner rule. Wildcards in `rule` are only covered by the same wildcard.
 */
export function covers(owner: readonly PolicyRule[], rule: PolicyRule): boolean {
  for (const atom of breakdown(rule)) {
    if (!owner.some((o) => ruleCoversAtom(o, atom))) return false;
  }
  return true;
}

/** Rules of `rule` that `owner` lacks, one per uncovered verb/resource/name (upstream's BreakdownRule). */
export function uncovered(owner: readonly PolicyRule[], rules: readonly PolicyRule[]): PolicyRule[] {
  const out: PolicyRule[] = [];
  for (const r of rules) for (const atom of breakdown(r)) if (!owner.some((o) => ruleCoversAtom(o, atom))) out.push(atom);
  return out;
}

/** Splits a rule into rules of one group, resource, verb and name each, or one URL and verb (upstream's BreakdownRule order). */
export function breakdown(rule: PolicyRule): PolicyRule[] {
  const out: PolicyRule[] = [];
  for (const group of rule.apiGroups ?? []) {
    for (const resource of rule.resources ?? []) {
      for (const verb of rule.verbs) {
        if (rule.resourceNames?.length) {
          for (const name of rule.resourceNames) out.push({ verbs: [verb], apiGroups: [group], resources: [resource], resourceNames: [name] });
        } else {
          out.push({ verbs: [verb], apiGroups: [group], resources: [resource] });
        }
      }
    }
  }
  for (const url of rule.nonResourceURLs ?? []) for (const verb of rule.verbs) out.push({ verbs: [verb], nonResourceURLs: [url] });
  return out;
}

/**
 * Merges broken-down rules that differ only in their verb (upstream's CompactRules), so a
 * message lists `Verbs:["get" "list"]` once per resource.
 */
export function compactRules(rules: readonly PolicyRule[]): PolicyRule[] {
  const out: PolicyRule[] = [];
  const byKey = new Map<string, PolicyRule>();
  for (const r of rules) {
    const simple = !r.nonResourceURLs?.length && !r.resourceNames?.length && r.apiGroups?.length === 1 && r.resources?.length === 1;
    if (!simple) {
      out.push(r);
      continue;
    }
    const key = `${r.apiGroups![0]}\0${r.resources![0]}`;
    const have = byKey.get(key);
    if (have) {
      for (const v of r.verbs) if (!have.verbs.includes(v)) have.verbs.push(v);
    } else {
      const copy = { ...r, verbs: [...r.verbs] };
      byKey.set(key, copy);
      out.push(copy);
    }
  }
  return out;
}

function has(list: readonly string[] | undefined, v: string): boolean {
  return !!list && (list.includes('*') || list.includes(v));
}

function ruleCoversAtom(o: PolicyRule, atom: PolicyRule): boolean {
  if (!has(o.verbs, atom.verbs[0])) return false;
  if (atom.nonResourceURLs?.length) {
    const url = atom.nonResourceURLs[0];
    return (o.nonResourceURLs ?? []).some((u) => u === '*' || u === url || (u.endsWith('*') && url.startsWith(u.slice(0, -1))));
  }
  if (!has(o.apiGroups, atom.apiGroups![0])) return false;
  const res = atom.resources![0];
  const ownerRes = o.resources ?? [];
  const resOk = ownerRes.includes('*') || ownerRes.includes(res) || (res.includes('/') && !res.startsWith('*/') && ownerRes.includes(`*/${res.split('/')[1]}`));
  if (!resOk) return false;
  if (!o.resourceNames?.length) return true;
  return !!atom.resourceNames?.length && o.resourceNames.includes(atom.resourceNames[0]);
}

/** One rule as upstream prints it in escalation errors: `{APIGroups:["apps"], Resources:["deployments"], Verbs:["get"]}`. */
export function compactRuleString(r: PolicyRule): string {
  const q = (xs: string[]) => xs.map((x) => JSON.stringify(x)).join(' ');
  const parts: string[] = [];
  if (r.apiGroups?.length) parts.push(`APIGroups:[${q(r.apiGroups)}]`);
  if (r.resources?.length) parts.push(`Resources:[${q(r.resources)}]`);
  if (r.resourceNames?.length) parts.push(`ResourceNames:[${q(r.resourceNames)}]`);
  if (r.nonResourceURLs?.length) parts.push(`NonResourceURLs:[${q(r.nonResourceURLs)}]`);
  parts.push(`Verbs:[${q(r.verbs)}]`);
  return `{${parts.join(', ')}}`;
}
