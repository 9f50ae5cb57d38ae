/**
 * NodeAffinity: spec.nodeSelector and required node affinity filter nodes; preferred
 * node affinity terms add their weight to the score of nodes they match.
 * The matching itself is api/scheduling/node-affinity.ts (upstream component-helpers).
 */
import type { Pod } from 'kubernetes-types/core/v1.js';
import {
  nodeSelectorTermMatcher,
  nodeView,
  podMatchesNodeSelectorAndAffinity,
  requiredNodeAffinity,
  type NodeMatcher,
} from '../../api/scheduling/node-affinity.js';
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
import { defaultNormalizeScore, onNodeChange } from './helpers.js';

export const NAME = 'NodeAffinity';
/** Upstream ErrReasonPod. */
export const ERR_REASON_POD = "node(s) didn't match Pod's node affinity/selector";

const REJECT = Status.unresolvable(NAME, ERR_REASON_POD);

interface Compiled {
  /** undefined: the pod places no hard node constraint. */
  required?: NodeMatcher;
  preferred: { weight: number; match: NodeMatcher }[];
  /** Node names from metadata.name In matchFields, when every term has one. */
  nodeNames?: Set<string>;
}

const compiled = new WeakMap<Pod, Compiled>();

/** What the plugin needs of a pod's node constraints, worked out once per pod object. */
function compile(pod: Pod): Compiled {
  let c = compiled.get(pod);
  if (c) return c;
  const na = pod.spec?.affinity?.nodeAffinity;
  const terms = na?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  let nodeNames: Set<string> | undefined;
  if (terms) {
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
  const preferred = (na?.preferredDuringSchedulingIgnoredDuringExecution ?? [])
    .filter((p) => p.weight !== 0)
    .map((p) => ({ weight: p.weight, match: nodeSelectorTermMatcher(p.preference) }));
  c = { required: requiredNodeAffinity(pod), preferred, nodeNames };
  compiled.set(pod, c);
  return c;
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
    return onNodeChange(ActionType.Add | ActionType.UpdateNodeLabel, (pod, node) => podMatchesNodeSelectorAndAffinity(pod, nodeView(node)));
  }
}

export const newNodeAffinity = () => new NodeAffinity();
