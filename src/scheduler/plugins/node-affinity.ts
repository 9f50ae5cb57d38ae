/**
 * NodeAffinity: spec.nodeSelector and required node affinity filter nodes; preferred
 * node affinity terms add their weight to the score of nodes they match.
 * Requirement semantics follow upstream component-helpers/scheduling/corev1/nodeaffinity.
 */
import type { Node, NodeSelectorRequirement, NodeSelectorTerm, Pod } from 'kubernetes-types/core/v1.js';
import {
  ActionType,
  MAX_NODE_SCORE,
  Status,
  type CycleState,
  type EnqueueExtensions,
  type FilterPlugin,
  type PreFilterPlugin,
  type PreFilterResult,
  type PreScorePlugin,
  type Result,
  type ScorePlugin,
} from '../framework.js';
import type { NodeInfo, PodInfo } from '../node-info.js';
import { asNode, defaultNormalizeScore } from './helpers.js';

export const NAME = 'NodeAffinity';
/** Upstream ErrReasonPod. */
export const ERR_REASON_POD = "node(s) didn't match Pod's node affinity/selector";

const REJECT = Status.unresolvable(NAME, ERR_REASON_POD);

type NodeView = { name: string; labels: Record<string, string> };
type Matcher = (n: NodeView) => boolean;

function parseIntStrict(s: string): number | undefined {
  return /^[+-]?\d+$/.test(s) ? Number(s) : undefined;
}

function requirementMatcher(r: NodeSelectorRequirement, field: boolean): Matcher {
  const values = r.values ?? [];
  const get = field
    ? (n: NodeView) => (r.key === 'metadata.name' ? n.name : undefined)
    : (n: NodeView) => (Object.prototype.hasOwnProperty.call(n.labels, r.key) ? n.labels[r.key] : undefined);
  if (field && r.key !== 'metadata.name') return () => false;
  switch (r.operator) {
    case 'In': {
      const set = new Set(values);
      return (n) => {
        const v = get(n);
        return v !== undefined && set.has(v);
      };
    }
    case 'NotIn': {
      const set = new Set(values);
      return (n) => {
        const v = get(n);
        return v === undefined || !set.has(v);
      };
    }
    case 'Exists':
      return field ? () => false : (n) => get(n) !== undefined;
    case 'DoesNotExist':
      return field ? () => false : (n) => get(n) === undefined;
    case 'Gt':
    case 'Lt': {
      const bound = values.length === 1 ? parseIntStrict(values[0]) : undefined;
      if (field || bound === undefined) return () => false;
      const gt = r.operator === 'Gt';
      return (n) => {
        const v = get(n);
        const x = v === undefined ? undefined : parseIntStrict(v);
        if (x === undefined) return false;
        return gt ? x > bound : x < bound;
      };
    }
    default:
      return () => false;
  }
}

/** A term matches when all its expressions and fields match; an empty term matches nothing. */
export function termMatcher(t: NodeSelectorTerm): Matcher {
  const ms = [
    ...(t.matchExpressions ?? []).map((r) => requirementMatcher(r, false)),
    ...(t.matchFields ?? []).map((r) => requirementMatcher(r, true)),
  ];
  if (ms.length === 0) return () => false;
  return (n) => {
    for (const m of ms) if (!m(n)) return false;
    return true;
  };
}

/** Terms are ORed. */
export function nodeSelectorMatcher(terms: readonly NodeSelectorTerm[]): Matcher {
  const ms = terms.map(termMatcher);
  return (n) => {
    for (const m of ms) if (m(n)) return true;
    return false;
  };
}

interface Compiled {
  /** undefined: the pod places no hard node constraint. */
  required?: Matcher;
  preferred: { weight: number; match: Matcher }[];
  /** Node names from metadata.name In matchFields, when every term has one. */
  nodeNames?: Set<string>;
}

const compiled = new WeakMap<Pod, Compiled>();

/** Parses a pod's node constraints once per pod object. */
export function compile(pod: Pod): Compiled {
  let c = compiled.get(pod);
  if (c) return c;
  const sel = pod.spec?.nodeSelector;
  const na = pod.spec?.affinity?.nodeAffinity;
  const parts: Matcher[] = [];
  if (sel && Object.keys(sel).length > 0) {
    const entries = Object.entries(sel);
    parts.push((n) => {
      for (const [k, v] of entries) if (n.labels[k] !== v) return false;
      return true;
    });
  }
  const terms = na?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  let nodeNames: Set<string> | undefined;
  if (terms) {
    parts.push(nodeSelectorMatcher(terms));
    // Like upstream PreFilter: when every term pins metadata.name, only those nodes need filtering.
    const names = new Set<string>();
    let all = terms.length > 0;
    for (const t of terms) {
      const f = (t.matchFields ?? []).find((r) => r.key === 'metadata.name' && r.operator === 'In');
      if (!f) {
        all = false;
        break;
      }
      for (const v of f.values ?? []) names.add(v);
    }
    if (all) nodeNames = names;
  }
  const required = parts.length === 0 ? undefined : parts.length === 1 ? parts[0] : (n: NodeView) => parts.every((p) => p(n));
  const preferred = (na?.preferredDuringSchedulingIgnoredDuringExecution ?? [])
    .filter((p) => p.weight !== 0)
    .map((p) => ({ weight: p.weight, match: termMatcher(p.preference) }));
  c = { required, preferred, nodeNames };
  compiled.set(pod, c);
  return c;
}

/** Whether the node satisfies the pod's nodeSelector and required node affinity. */
export function podMatchesNodeSelectorAndAffinity(pod: Pod, node: { name: string; labels: Record<string, string> }): boolean {
  const r = compile(pod).required;
  return !r || r(node);
}

export class NodeAffinity implements PreFilterPlugin, FilterPlugin, PreScorePlugin, ScorePlugin, EnqueueExtensions {
  readonly name = NAME;

  preFilter(_s: CycleState, pod: PodInfo): Result | PreFilterResult {
    const c = compile(pod.pod);
    if (!c.required) return Status.skip;
    if (c.nodeNames) return { nodeNames: c.nodeNames };
    return null;
  }

  filter(_s: CycleState, pod: PodInfo, nodeInfo: NodeInfo): Result {
    const r = compile(pod.pod).required;
    return !r || r(nodeInfo) ? null : REJECT;
  }

  preScore(_s: CycleState, pod: PodInfo): Result {
    return compile(pod.pod).preferred.length === 0 ? Status.skip : null;
  }

  score(_s: CycleState, pod: PodInfo, nodeInfo: NodeInfo): number {
    let sum = 0;
    for (const p of compile(pod.pod).preferred) if (p.match(nodeInfo)) sum += p.weight;
    return sum;
  }

  normalizeScore(_s: CycleState, _p: PodInfo, scores: number[]): Result {
    defaultNormalizeScore(MAX_NODE_SCORE, false, scores);
    return null;
  }

  eventsToRegister() {
    return [
      {
        event: { resource: 'Node' as const, action: ActionType.Add | ActionType.UpdateNodeLabel },
        hint: (pod: Pod, _old: unknown, obj: unknown) => {
          const node: Node | undefined = asNode(obj);
          if (!node) return 'Queue' as const;
          const view = { name: node.metadata?.name ?? '', labels: node.metadata?.labels ?? {} };
          return podMatchesNodeSelectorAndAffinity(pod, view) ? ('Queue' as const) : ('QueueSkip' as const);
        },
      },
    ];
  }
}

export const newNodeAffinity = () => new NodeAffinity();
