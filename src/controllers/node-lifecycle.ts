/**
 * Node lifecycle controller, after upstream pkg/controller/nodelifecycle:
 *  - health: a node whose Lease in kube-node-lease (or Ready heartbeat) has not changed for
 *    nodeMonitorGracePeriod (50 s) gets every condition set to Unknown with
 *    "Kubelet stopped posting node status.", timed on our own clock as upstream does;
 *  - taints: Ready=Unknown → node.kubernetes.io/unreachable (NoSchedule and NoExecute),
 *    Ready=False → node.kubernetes.io/not-ready (both effects), removed when Ready=True;
 *    spec.unschedulable → node.kubernetes.io/unschedulable:NoSchedule (cordon);
 *  - eviction (taint manager): pods on a node with NoExecute taints are deleted once their
 *    tolerations run out (tolerationSeconds from the taint's timeAdded; no toleration → at once).
 */
import type { Node, NodeCondition, Pod, Taint, Toleration } from 'kubernetes-types/core/v1.js';
import type { Lease } from '../client/leader-election.js';
import { isReason } from '../api/errors.js';
import { rfc3339 } from '../util/clock.js';
import { INDEX_NODE, keyOf } from '../client/informer.js';
import { LEASES, NODES, PODS } from '../client/resources.js';
import type { KObject } from '../client/types.js';
import { QueueController, type ReconcileResult } from './base.js';
import type { Controller, ControllerContext } from './types.js';
import { copy, errText } from './util.js';

type N = Node & KObject;
type P = Pod & KObject;

export const TAINT_UNREACHABLE = 'node.kubernetes.io/unreachable';
export const TAINT_NOT_READY = 'node.kubernetes.io/not-ready';
export const TAINT_UNSCHEDULABLE = 'node.kubernetes.io/unschedulable';
const LEASE_NS = 'kube-node-lease';
const MANAGED = new Set([TAINT_UNREACHABLE, TAINT_NOT_READY, TAINT_UNSCHEDULABLE]);

/** Whether `t` tolerates `taint` (upstream Toleration.ToleratesTaint). */
export function tolerates(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  if (!t.key && t.operator !== 'Exists') return false;
  if (t.operator === 'Exists') return true;
  return (t.value ?? '') === (taint.value ?? '');
}

/**
 * When a pod must leave a node with these NoExecute taints: 0 at once, a time in ms, or
 * Infinity if it tolerates them forever (upstream getMinTolerationTime).
 */
export function evictionTime(pod: Pod, taints: Taint[]): number {
  let at = Infinity;
  for (const taint of taints) {
    const matching = (pod.spec?.tolerations ?? []).filter((t) => tolerates(t, taint));
    if (!matching.length) return 0;
    const added = Date.parse(taint.timeAdded ?? '') || 0;
    for (const t of matching) {
      if (t.tolerationSeconds === undefined || t.tolerationSeconds === null) continue;
      at = Math.min(at, added + Math.max(0, t.tolerationSeconds) * 1000);
    }
  }
  return at;
}

/** Creates the node lifecycle controller. */
export function newNodeLifecycleController(ctx: ControllerContext): Controller & { readonly queue: QueueController['queue'] } {
  const { client, clock } = ctx;
  const grace = (ctx.options.nodeMonitorGracePeriodSeconds ?? 50) * 1000;
  const period = (ctx.options.nodeMonitorPeriodSeconds ?? 5) * 1000;
  const nodeInf = ctx.informers.informerFor<N>(NODES);
  const leaseInf = ctx.informers.informerFor<Lease>(LEASES);
  const podInf = ctx.informers.informerFor<P>(PODS);
  const recorder = ctx.recorder('node-controller');
  const qc = new QueueController('node-lifecycle', ctx, [nodeInf, leaseInf, podInf], reconcile);
  const q = qc.queue;
  /** Per node: the last health signal we saw and when (on our clock). */
  const health = new Map<string, { signal: string; at: number }>();

  nodeInf.addEventHandler({ onAdd: (n) => q.add(keyOf(n)), onUpdate: (_o, n) => q.add(keyOf(n)), onDelete: (n) => health.delete(n.metadata!.name!) });
  leaseInf.addEventHandler({
    onAdd: (l) => { if (l.metadata?.namespace === LEASE_NS) q.add(l.metadata.name!); },
    onUpdate: (_o, l) => { if (l.metadata?.namespace === LEASE_NS) q.add(l.metadata.name!); },
  });
  podInf.addEventHandler({
    onAdd: (p) => { if (p.spec?.nodeName) q.add(p.spec.nodeName); },
    onUpdate: (o, p) => { if (p.spec?.nodeName && p.spec.nodeName !== o.spec?.nodeName) q.add(p.spec.nodeName); },
  });

  async function reconcile(name: string): Promise<ReconcileResult> {
    const node = nodeInf.get(undefined, name);
    if (!node) { health.delete(name); return; }
    const now = clock.now();
    // 1. Health: has the kubelet said anything since last time?
    const lease = leaseInf.get(LEASE_NS, name);
    const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
    const signal = JSON.stringify([lease?.spec?.renewTime, ready?.lastHeartbeatTime, ready?.status]);
    const h = health.get(name);
    if (!h || h.signal !== signal) health.set(name, { signal, at: now });
    const last = health.get(name)!.at;
    let current: N = node;
    if (now - last > grace && ready?.status !== 'Unknown') {
      current = await markUnknown(node, now);
    }
    // 2. Taints from conditions and cordon.
    current = await syncTaints(current, now);
    // 3. Evict pods whose tolerations ran out.
    const noExec = (current.spec?.taints ?? []).filter((t) => t.effect === 'NoExecute');
    let next = Infinity;
    if (noExec.length) {
      for (const pod of podInf.byIndex(INDEX_NODE, name)) {
        if (pod.metadata?.deletionTimestamp) continue;
        const at = evictionTime(pod, noExec);
        if (at <= now) {
          recorder.event(pod, 'Normal', 'TaintManagerEviction', `Marking for deletion Pod ${pod.metadata!.namespace}/${pod.metadata!.name}`);
          try {
            await client.delete(PODS, pod.metadata!.namespace, pod.metadata!.name!);
          } catch (err) {
            if (!isReason(err, 'NotFound')) ctx.log?.(`node-lifecycle: evicting ${keyOf(pod)}: ${errText(err)}`);
          }
        } else next = Math.min(next, at);
      }
    }
    // Health must be re-checked even when nothing happens: that is how silence is noticed.
    const untilGrace = ready?.status === 'Unknown' ? period : Math.max(1, last + grace - now + 1);
    return { requeueAfterMs: Math.min(period, untilGrace, next === Infinity ? Infinity : Math.max(1, next - now)) };
  }

  async function markUnknown(node: N, now: number): Promise<N> {
    const ts = rfc3339(now);
    const msg = 'Kubelet stopped posting node status.';
    const conds = copy(node.status?.conditions ?? []) as NodeCondition[];
    const types = conds.length ? conds.map((c) => c.type) : ['Ready'];
    const next: NodeCondition[] = types.map((t) => {
      const c = conds.find((x) => x.type === t);
      return {
        ...(c ?? { type: t }), type: t, status: 'Unknown', reason: 'NodeStatusUnknown', message: msg,
        lastHeartbeatTime: c?.lastHeartbeatTime, lastTransitionTime: c?.status === 'Unknown' ? c.lastTransitionTime : ts,
      };
    });
    recorder.event(node, 'Normal', 'NodeNotReady', `Node ${node.metadata!.name} status is now: NodeNotReady`);
    return client.update<N>(NODES, undefined, { ...node, status: { ...node.status, conditions: next } }, { subresource: 'status' });
  }

  async function syncTaints(node: N, now: number): Promise<N> {
    const ready = node.status?.conditions?.find((c) => c.type === 'Ready')?.status;
    const want: Taint[] = [];
    const existing = node.spec?.taints ?? [];
    const keep = (key: string, effect: Taint['effect']) => {
      const old = existing.find((t) => t.key === key && t.effect === effect);
      want.push(old ?? { key, effect, ...(effect === 'NoExecute' ? { timeAdded: rfc3339(now) } : {}) });
    };
    if (ready === 'Unknown') { keep(TAINT_UNREACHABLE, 'NoSchedule'); keep(TAINT_UNREACHABLE, 'NoExecute'); }
    else if (ready === 'False') { keep(TAINT_NOT_READY, 'NoSchedule'); keep(TAINT_NOT_READY, 'NoExecute'); }
    else if (ready === undefined) keep(TAINT_NOT_READY, 'NoSchedule');
    if (node.spec?.unschedulable) keep(TAINT_UNSCHEDULABLE, 'NoSchedule');
    const taints = [...existing.filter((t) => !MANAGED.has(t.key)), ...want];
    const sig = (ts: readonly Taint[]) => JSON.stringify([...ts].map((t) => `${t.key}:${t.effect}:${t.value ?? ''}`).sort());
    if (sig(taints) === sig(existing)) return node;
    const next: N = { ...node, spec: { ...node.spec, taints } };
    if (!taints.length) delete (next.spec as { taints?: Taint[] }).taints;
    return client.update<N>(NODES, undefined, next);
  }

  return qc;
}
