/**
 * An agent without its own pod range takes the one the control plane gives its Node (the node
 * IPAM controller's spec.podCIDR), as kubelet does with --cluster-cidr set on the
 * controller manager: it registers the Node, then waits for the range.
 */
import type { Node } from 'kubernetes-types/core/v1.js';
import { isReason } from '../api/errors.js';
import { NODES } from '../client/resources.js';
import type { Client } from '../client/types.js';
import { realClock, type Clock } from '../util/clock.js';

export interface AwaitPodCidrOptions {
  client: Client;
  nodeName: string;
  clock?: Clock;
  /** How often the Node is read again (default 500 ms). */
  pollMs?: number;
  /** Gives up with an error after this long (default: never). */
  timeoutMs?: number;
  log?: (m: string) => void;
}

/** The node's pod range once it has one; registers the Node first when it does not exist yet. */
export async function awaitPodCidr(o: AwaitPodCidrOptions): Promise<string> {
  const clock = o.clock ?? realClock;
  try {
    // The full registration (labels, status, lease) follows when the agent starts; this only
    // makes the Node exist so the IPAM controller can give it a range.
    await o.client.create<Node>(NODES, undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name: o.nodeName, labels: { 'kubernetes.io/hostname': o.nodeName, 'kubernetes.io/os': 'linux' } } });
  } catch (err) {
    if (!isReason(err, 'AlreadyExists')) throw err;
  }
  const deadline = o.timeoutMs === undefined ? Infinity : clock.now() + o.timeoutMs;
  let said = false;
  for (;;) {
    const n = await o.client.get<Node>(NODES, undefined, o.nodeName);
    const cidr = n.spec?.podCIDR ?? n.spec?.podCIDRs?.[0];
    if (cidr) return cidr;
    if (!said) o.log?.(`waiting for node ${o.nodeName} to be given a pod range (skiff server --cluster-cidr), or start the agent with --pod-cidr`);
    said = true;
    if (clock.now() >= deadline) throw new Error(`node ${o.nodeName} got no spec.podCIDR in ${o.timeoutMs} ms: is the server running with --cluster-cidr?`);
    await clock.sleep(o.pollMs ?? 500);
  }
}
