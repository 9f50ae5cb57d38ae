/**
 * DefaultPreemption (PostFilter): when a pod fits nowhere, find a node where evicting
 * pods of lower priority makes it fit, evicting as few and as unimportant pods as
 * possible. The scheduler then deletes the victims and nominates the node.
 */
import type { Pod } from 'kubernetes-types/core/v1.js';
import {
  Code,
  FitError,
  Status,
  isSuccess,
  type CycleState,
  type Diagnosis,
  type Handle,
  type PostFilterPlugin,
  type PostFilterResult,
  type Result,
} from '../framework.js';
import type { NodeInfo, PodInfo } from '../node-info.js';

export const NAME = 'DefaultPreemption';
export const ERR_NO_VICTIMS = 'No preemption victims found for incoming pod';
export const ERR_NOT_HELPFUL = 'Preemption is not helpful for scheduling';

export interface DefaultPreemptionArgs {
  /** Upstream defaults: 10% of nodes, at least 100. */
  minCandidateNodesPercentage?: number;
  minCandidateNodesAbsolute?: number;
  random?: () => number;
}

function startTime(p: Pod): number {
  const t = p.status?.startTime ? Date.parse(p.status.startTime) : NaN;
  return Number.isNaN(t) ? Number.MAX_SAFE_INTEGER : t;
}

/** Upstream util.MoreImportantPod: higher priority, then earlier start. */
export function moreImportantPod(a: PodInfo, b: PodInfo): boolean {
  if (a.priority !== b.priority) return a.priority > b.priority;
  return startTime(a.pod) < startTime(b.pod);
}

interface Candidate {
  nodeName: string;
  /** Most important first. */
  victims: PodInfo[];
}

export class DefaultPreemption implements PostFilterPlugin {
  readonly name = NAME;
  private readonly pct: number;
  private readonly abs: number;
  private readonly random: () => number;

  constructor(
    private readonly handle: Handle,
    args?: DefaultPreemptionArgs,
  ) {
    this.pct = args?.minCandidateNodesPercentage ?? 10;
    this.abs = args?.minCandidateNodesAbsolute ?? 100;
    this.random = args?.random ?? Math.random;
  }

  postFilter(state: CycleState, pod: PodInfo, diagnosis: Diagnosis): { result?: PostFilterResult; status: Result } {
    const out = this.preempt(state, pod, diagnosis);
    const msg = out.status?.message() ?? '';
    if (out.status && msg.length > 0) return { result: out.result, status: new Status(out.status.code, [`preemption: ${msg}`], NAME) };
    return out;
  }

  /** Upstream PodEligibleToPreemptOthers. */
  eligible(pod: PodInfo): { ok: boolean; msg?: string } {
    if (pod.pod.spec?.preemptionPolicy === 'Never') return { ok: false, msg: 'not eligible due to preemptionPolicy=Never.' };
    const nominated = pod.pod.status?.nominatedNodeName;
    if (nominated) {
      // A victim of an earlier preemption still terminating: wait for it rather than preempting more.
      const ni = this.handle.snapshot.get(nominated);
      if (ni?.pods.some((p) => p.pod.metadata?.deletionTimestamp && p.priority < pod.priority)) {
        return { ok: false, msg: 'not eligible due to a terminating pod on the nominated node.' };
      }
    }
    return { ok: true };
  }

  private preempt(state: CycleState, pod: PodInfo, diagnosis: Diagnosis): { result?: PostFilterResult; status: Result } {
    const el = this.eligible(pod);
    if (!el.ok) return { status: Status.unschedulable(NAME, el.msg!) };
    const all = this.handle.snapshot.list();
    const potential: NodeInfo[] = [];
    // Only nodes rejected with plain Unschedulable can be helped by removing pods.
    for (const ni of all) if (diagnosis.nodeToStatus.get(ni.name)?.code === Code.Unschedulable) potential.push(ni);
    const statuses = new Map<string, Status>();
    const candidates: Candidate[] = [];
    if (potential.length > 0) {
      const n = potential.length;
      let want = Math.trunc((n * this.pct) / 100);
      if (want < this.abs) want = this.abs;
      if (want > n) want = n;
      const offset = Math.floor(this.random() * n);
      for (let i = 0; i < n && candidates.length < want; i++) {
        const ni = potential[(offset + i) % n];
        const r = this.selectVictimsOnNode(state.clone(), pod, ni.clone());
        if (r.victims && r.victims.length > 0) candidates.push({ nodeName: ni.name, victims: r.victims });
        else statuses.set(ni.name, r.status ?? Status.error(NAME, `expected at least one victim pod on node "${ni.name}"`));
      }
    }
    if (candidates.length === 0) {
      const fe = new FitError(pod.pod, all.length, {
        nodeToStatus: statuses,
        absentNodesStatus: Status.unresolvable(NAME, ERR_NOT_HELPFUL),
        unschedulablePlugins: new Set(),
      });
      return { result: { nominatedNodeName: '' }, status: Status.unschedulable(NAME, fe.message()) };
    }
    const best = pickOneNodeForPreemption(candidates);
    return { result: { nominatedNodeName: best.nodeName, victims: best.victims.map((v) => v.pod) }, status: null };
  }

  /**
   * Removes every lower-priority pod, checks the pod then fits, and gives back
   * ("reprieves") as many as possible, most important first (upstream SelectVictimsOnNode).
   */
  selectVictimsOnNode(state: CycleState, pod: PodInfo, ni: NodeInfo): { victims?: PodInfo[]; status?: Status } {
    const h = this.handle;
    const potential = ni.pods.filter((p) => p.priority < pod.priority);
    if (potential.length === 0) return { status: Status.unresolvable(NAME, ERR_NO_VICTIMS) };
    for (const p of potential) {
      ni.removePod(p.key);
      const r = h.runPreFilterExtensionRemovePod(state, pod, p, ni);
      if (!isSuccess(r)) return { status: r! };
    }
    const fits = h.runFilterPluginsWithNominatedPods(state, pod, ni);
    if (!isSuccess(fits)) return { status: fits! };
    potential.sort((a, b) => (moreImportantPod(a, b) ? -1 : moreImportantPod(b, a) ? 1 : 0));
    const victims: PodInfo[] = [];
    for (const p of potential) {
      ni.addPod(p);
      const r = h.runPreFilterExtensionAddPod(state, pod, p, ni);
      if (!isSuccess(r)) return { status: r! };
      if (!isSuccess(h.runFilterPluginsWithNominatedPods(state, pod, ni))) {
        ni.removePod(p.key);
        h.runPreFilterExtensionRemovePod(state, pod, p, ni);
        victims.push(p);
      }
    }
    return { victims };
  }
}

/**
 * Upstream pickOneNodeForPreemption without PDBs: lowest highest-priority victim, then
 * lowest priority sum, then fewest victims, then latest start of the top victims, then first.
 */
function pickOneNodeForPreemption(cs: Candidate[]): Candidate {
  const scoreFns: ((c: Candidate) => number)[] = [
    (c) => -c.victims[0].priority,
    (c) => -c.victims.reduce((s, v) => s + v.priority + 2 ** 31, 0),
    (c) => -c.victims.length,
    (c) => {
      const top = c.victims[0].priority;
      let earliest = Infinity;
      for (const v of c.victims) if (v.priority === top) earliest = Math.min(earliest, startTime(v.pod));
      return earliest;
    },
  ];
  let pool = cs;
  for (const f of scoreFns) {
    let best = -Infinity;
    let next: Candidate[] = [];
    for (const c of pool) {
      const s = f(c);
      if (s > best) {
        best = s;
        next = [c];
      } else if (s === best) next.push(c);
    }
    if (next.length === 1) return next[0];
    pool = next;
  }
  return pool[0];
}

export const newDefaultPreemption = (args: unknown, handle: Handle) => new DefaultPreemption(handle, args as DefaultPreemptionArgs | undefined);
