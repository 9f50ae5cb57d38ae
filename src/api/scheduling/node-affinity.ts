/**
 * Node selector and node affinity matching, as upstream's
 * component-helpers/scheduling/corev1/nodeaffinity: the scheduler's NodeAffinity and
 * PodTopologySpread plugins and the DaemonSet controller all decide with these.
 * Matchers are compiled once from the selector and then called per node.
 */
import type { Node, NodeSelectorRequirement, NodeSelectorTerm, Pod } from 'kubernetes-types/core/v1.js';

/** What matching looks at on a node (a scheduler NodeInfo has this shape too). */
export interface NodeView {
  name: string;
  labels: Record<string, string>;
}

/** A compiled selector: whether a node matches. */
export type NodeMatcher = (n: NodeView) => boolean;

/** The view of an API Node object. */
export function nodeView(node: Node): NodeView {
  return { name: node.metadata?.name ?? '', labels: node.metadata?.labels ?? {} };
}

function parseIntStrict(s: string): number | undefined {
  return /^[+-]?\d+$/.test(s) ? Number(s) : undefined;
}

/** One requirement on a label (`field` false) or on a field (only metadata.name is supported, as upstream). */
function requirementMatcher(r: NodeSelectorRequirement, field: boolean): NodeMatcher {
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
export function nodeSelectorTermMatcher(t: NodeSelectorTerm): NodeMatcher {
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

/** A NodeSelector: its terms are ORed. */
export function nodeSelectorMatcher(terms: readonly NodeSelectorTerm[]): NodeMatcher {
  const ms = terms.map(nodeSelectorTermMatcher);
  return (n) => {
    for (const m of ms) if (m(n)) return true;
    return false;
  };
}

/** null: the pod places no hard node constraint. */
const requiredCache = new WeakMap<Pod, NodeMatcher | null>();

/**
 * The pod's hard node constraints, spec.nodeSelector AND required node affinity, compiled
 * once per pod object (upstream GetRequiredNodeAffinity); undefined when it has none.
 */
export function requiredNodeAffinity(pod: Pod): NodeMatcher | undefined {
  let m = requiredCache.get(pod);
  if (m === undefined) {
    m = compileRequired(pod);
    requiredCache.set(pod, m);
  }
  return m ?? undefined;
}

function compileRequired(pod: Pod): NodeMatcher | null {
  const parts: NodeMatcher[] = [];
  const sel = pod.spec?.nodeSelector;
  if (sel && Object.keys(sel).length > 0) {
    const entries = Object.entries(sel);
    parts.push((n) => {
      for (const [k, v] of entries) if (n.labels[k] !== v) return false;
      return true;
    });
  }
  const terms = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  if (terms) parts.push(nodeSelectorMatcher(terms));
  if (parts.length === 0) return null;
  if (parts.length === 1) return parts[0];
  return (n) => parts.every((p) => p(n));
}

/** Whether the node satisfies the pod's nodeSelector and required node affinity. */
export function podMatchesNodeSelectorAndAffinity(pod: Pod, node: NodeView): boolean {
  const r = requiredNodeAffinity(pod);
  return !r || r(node);
}
