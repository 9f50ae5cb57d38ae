/**
 * Audit policy (audit.k8s.io/v1 Policy) and its rule matching, as upstream's
 * k8s.io/apiserver/pkg/audit/policy/checker.go: the first rule that matches a request decides
 * its level (None, Metadata, Request, RequestResponse) and the stages left out; no match is None.
 */
import { parse } from 'yaml';

export type Level = 'None' | 'Metadata' | 'Request' | 'RequestResponse';
export type Stage = 'RequestReceived' | 'ResponseStarted' | 'ResponseComplete' | 'Panic';
const LEVELS: readonly Level[] = ['None', 'Metadata', 'Request', 'RequestResponse'];
const STAGES: readonly Stage[] = ['RequestReceived', 'ResponseStarted', 'ResponseComplete', 'Panic'];

export interface GroupResources {
  group: string;
  resources: string[];
  resourceNames: string[];
}

export interface PolicyRule {
  level: Level;
  users: string[];
  userGroups: string[];
  verbs: string[];
  resources: GroupResources[];
  namespaces: string[];
  nonResourceURLs: string[];
  omitStages: Stage[];
}

export interface AuditPolicy {
  rules: PolicyRule[];
  omitStages: Stage[];
}

/** What a rule is matched against (upstream's authorizer.Attributes). */
export interface RequestAttributes {
  user: string;
  groups: string[];
  verb: string;
  resourceRequest: boolean;
  apiGroup?: string;
  resource?: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  path: string;
}

export interface Decision {
  level: Level;
  omitStages: Stage[];
}

/** `skiff up`'s default: every write at Metadata, nothing else. */
export const WRITES_AT_METADATA: AuditPolicy = {
  omitStages: ['RequestReceived'],
  rules: [
    { level: 'Metadata', users: [], userGroups: [], verbs: ['create', 'update', 'patch', 'delete', 'deletecollection'], resources: [], namespaces: [], nonResourceURLs: [], omitStages: [] },
  ],
};

const strings = (v: unknown, at: string): string[] => {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new Error(`${at}: must be a list of strings`);
  return v as string[];
};

const stages = (v: unknown, at: string): Stage[] => {
  const s = strings(v, at);
  for (const x of s) if (!(STAGES as readonly string[]).includes(x)) throw new Error(`${at}: Unsupported value: ${JSON.stringify(x)}: supported values: ${STAGES.map((y) => `"${y}"`).join(', ')}`);
  return s as Stage[];
};

/** Parses a Policy document; errors name the field. */
export function parseAuditPolicy(text: string, source = 'audit policy'): AuditPolicy {
  const doc = parse(text) as Record<string, any> | null;
  const fail = (m: string): never => {
    throw new Error(`${source}: ${m}`);
  };
  if (!doc || doc.kind !== 'Policy') fail('kind must be Policy (apiVersion audit.k8s.io/v1)');
  try {
    const rules = ((doc!.rules ?? []) as Record<string, any>[]).map((r, i): PolicyRule => {
      const at = `rules[${i}]`;
      if (!(LEVELS as readonly string[]).includes(r.level)) fail(`${at}.level: Unsupported value: ${JSON.stringify(r.level ?? '')}: supported values: ${LEVELS.map((l) => `"${l}"`).join(', ')}`);
      const nonResourceURLs = strings(r.nonResourceURLs, `${at}.nonResourceURLs`);
      const resources = ((r.resources ?? []) as Record<string, any>[]).map((g, j) => ({
        group: typeof g.group === 'string' ? g.group : '',
        resources: strings(g.resources, `${at}.resources[${j}].resources`),
        resourceNames: strings(g.resourceNames, `${at}.resources[${j}].resourceNames`),
      }));
      const namespaces = strings(r.namespaces, `${at}.namespaces`);
      if (nonResourceURLs.length && (resources.length || namespaces.length)) fail(`${at}.nonResourceURLs: Invalid value: rules cannot apply to both regular resources and non-resource URLs`);
      return {
        level: r.level as Level,
        users: strings(r.users, `${at}.users`),
        userGroups: strings(r.userGroups, `${at}.userGroups`),
        verbs: strings(r.verbs, `${at}.verbs`),
        resources,
        namespaces,
        nonResourceURLs,
        omitStages: stages(r.omitStages, `${at}.omitStages`),
      };
    });
    return { rules, omitStages: stages(doc!.omitStages, 'omitStages') };
  } catch (err) {
    if ((err as Error).message.startsWith(source)) throw err;
    throw new Error(`${source}: ${(err as Error).message}`);
  }
}

function matchesResource(r: PolicyRule, a: RequestAttributes): boolean {
  if (!a.resourceRequest) return false;
  if (r.namespaces.length && !r.namespaces.includes(a.namespace ?? '')) return false;
  if (!r.resources.length) return true;
  const combined = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  for (const gr of r.resources) {
    if (gr.group !== (a.apiGroup ?? '')) continue;
    if (!gr.resources.length) return true;
    if (gr.resourceNames.length && !gr.resourceNames.includes(a.name ?? '')) continue;
    for (const res of gr.resources) {
      if (res === combined || res === '*') return true;
      if (a.subresource && res.startsWith('*/') && res.slice(2) === a.subresource) return true;
      if (res.endsWith('/*') && res.slice(0, -2) === a.resource) return true;
    }
  }
  return false;
}

function matchesNonResource(r: PolicyRule, a: RequestAttributes): boolean {
  return r.nonResourceURLs.some((u) => u === '*' || u === a.path || (u.endsWith('*') && a.path.startsWith(u.slice(0, -1))));
}

export function ruleMatches(r: PolicyRule, a: RequestAttributes): boolean {
  if (r.users.length && !r.users.includes(a.user)) return false;
  if (r.userGroups.length && !a.groups.some((g) => r.userGroups.includes(g))) return false;
  if (r.verbs.length && !r.verbs.includes(a.verb)) return false;
  if ((r.namespaces.length || r.resources.length) && !matchesResource(r, a)) return false;
  if (r.nonResourceURLs.length && (a.resourceRequest || !matchesNonResource(r, a))) return false;
  return true;
}

/** The level and omitted stages for a request: the first matching rule's, or None. */
export function decide(policy: AuditPolicy, a: RequestAttributes): Decision {
  for (const r of policy.rules) {
    if (ruleMatches(r, a)) return { level: r.level, omitStages: [...new Set([...policy.omitStages, ...r.omitStages])] };
  }
  return { level: 'None', omitStages: policy.omitStages };
}
