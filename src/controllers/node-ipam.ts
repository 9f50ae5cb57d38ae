/**
 * Node IPAM controller, after upstream pkg/controller/nodeipam (the range allocator): every
 * Node without spec.podCIDR gets the next free subnet of the cluster CIDR (spec.podCIDR and
 * spec.podCIDRs); ranges nodes already have are marked used when it starts or sees them, and
 * the range of a deleted node is freed. When the cluster CIDR is exhausted the node gets a
 * `CIDRNotAvailable` event and is retried later. Runs only when a cluster CIDR is configured.
 */
import type { Node } from 'kubernetes-types/core/v1.js';
import { isReason } from '../api/errors.js';
import type { Informer } from '../client/informer.js';
import { NODES } from '../client/resources.js';
import type { KObject } from '../client/types.js';
import { QueueController, type ReconcileResult } from './base.js';
import { CidrSet } from './node-ipam-allocator.js';
import type { Controller, ControllerContext } from './types.js';

type N = Node & KObject;

export interface NodeIpamOptions {
  /** The range pod subnets are cut from, e.g. 10.42.0.0/16. */
  clusterCidr: string;
  /** Prefix length of each node's subnet (upstream --node-cidr-mask-size, default 24). */
  nodeCidrMaskSize?: number;
}

/** How long a node waits before another try when the cluster CIDR is full. */
const EXHAUSTED_RETRY_MS = 10_000;

/** The pod ranges a node has (podCIDRs, or the single podCIDR of older writers). */
function nodeCidrs(n: N): string[] {
  const list = n.spec?.podCIDRs?.length ? n.spec.podCIDRs : n.spec?.podCIDR ? [n.spec.podCIDR] : [];
  return [...list];
}

/**
 * Creates the controller; wire as `(ctx) => newNodeIpamController(ctx, { clusterCidr })`.
 * Throws when the mask size does not fit the cluster CIDR.
 */
export function newNodeIpamController(ctx: ControllerContext, opts: NodeIpamOptions): Controller & { readonly queue: QueueController['queue']; readonly cidrs: CidrSet } {
  const { client } = ctx;
  const cidrs = new CidrSet(opts.clusterCidr, opts.nodeCidrMaskSize ?? 24);
  const recorder = ctx.recorder('node-ipam-controller');
  const nodeInf = ctx.informers.informerFor<N>(NODES);
  const qc = new QueueController('node-ipam', ctx, [nodeInf as unknown as Informer<KObject>], sync);
  const q = qc.queue;
  let occupied = false;

  const seen = (n: N) => {
    // Ranges written by anyone (this controller earlier, another manager, an admin) are taken.
    if (occupied) for (const c of nodeCidrs(n)) cidrs.occupy(c);
    if (nodeCidrs(n).length === 0) q.add(n.metadata!.name!);
  };
  nodeInf.addEventHandler({
    onAdd: seen,
    onUpdate: (_o, n) => seen(n),
    onDelete: (n) => { for (const c of nodeCidrs(n)) cidrs.release(c); },
  });

  async function sync(name: string): Promise<ReconcileResult> {
    if (!occupied) {
      // Before the first allocation, every range already given out is marked used (upstream does this before its workers start).
      for (const n of nodeInf.list()) for (const c of nodeCidrs(n)) if (!cidrs.occupy(c)) ctx.log?.(`node-ipam: node ${n.metadata!.name} has pod CIDR ${c} outside the cluster CIDR ${opts.clusterCidr}; keeping it`);
      occupied = true;
    }
    const node = nodeInf.get(undefined, name);
    if (!node || node.metadata?.deletionTimestamp || nodeCidrs(node).length > 0) return;
    const cidr = cidrs.allocateNext();
    if (!cidr) {
      recorder.event(node, 'Normal', 'CIDRNotAvailable', `Node ${name} status is now: CIDRNotAvailable`);
      return { requeueAfterMs: EXHAUSTED_RETRY_MS };
    }
    try {
      // A patch (as upstream's PatchNodeCIDRs), so the node lifecycle controller's taint
      // updates right after registration do not turn every allocation into a conflict.
      await client.patch(NODES, undefined, name, 'merge', { spec: { podCIDR: cidr, podCIDRs: [cidr] } });
      ctx.log?.(`node-ipam: node ${name} gets pod CIDR ${cidr}`);
    } catch (err) {
      cidrs.release(cidr);
      if (isReason(err, 'NotFound')) return;
      throw err;
    }
  }

  return Object.assign(qc, { cidrs });
}
