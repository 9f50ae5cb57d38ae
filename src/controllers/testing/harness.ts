/**
 * Test harness for controllers: the real API server (in process, memory store) stamping times
 * with a fake clock, shared informers over it, and an in-memory event recorder.
 */
import type { Pod } from 'kubernetes-types/core/v1.js';
import { FakeClock, flushAsync, rfc3339 } from '../../util/clock.js';
import { FakeRecorder } from '../../client/events.js';
import { SharedInformerFactory } from '../../client/informer.js';
import { PODS } from '../../client/resources.js';
import { TestClient } from '../../apiserver/testing/test-api.js';
import type { KObject } from '../../client/types.js';
import { MetricsServerStandIn } from './metrics-server.js';
import type { Controller, ControllerContext, ControllerOptions } from '../types.js';

export { TestClient };

export interface Harness {
  clock: FakeClock;
  /** The controllers' client: records calls, can inject failures, reads the server's state synchronously. */
  client: TestClient;
  informers: SharedInformerFactory;
  recorder: FakeRecorder;
  ctx: ControllerContext;
  /** Starts controllers in the background. */
  start(...cs: Controller[]): void;
  /** Lets watches, handlers and workers run until nothing changes any more (no time passes). */
  settle(): Promise<void>;
  stop(): void;
}

/** A harness whose clock starts at `start`; the API server starts in the background (calls wait for it). */
export function harness(options: ControllerOptions = {}, start = '2024-01-01T00:00:00Z'): Harness {
  const clock = new FakeClock(start);
  const client = new TestClient({ clock });
  client.aggregate('metrics.k8s.io', new MetricsServerStandIn());
  const informers = new SharedInformerFactory(client, { clock });
  const recorder = new FakeRecorder();
  const ctx: ControllerContext = { client, informers, recorder: () => recorder, clock, options };
  const running: Controller[] = [];
  acknowledgePodDeletions(client, informers);
  return {
    clock, client, informers, recorder, ctx,
    start(...cs) { for (const c of cs) { running.push(c); void c.run(1); } informers.start(); },
    async settle() {
      await client.started;
      let last = -1;
      for (let i = 0; i < 200; i++) {
        await flushAsync(5);
        const rv = await client.revision();
        if (rv === last) return;
        last = rv;
      }
      throw new Error('controllers did not settle');
    },
    stop() { for (const c of running) c.stop(); informers.stop(); },
  };
}

/**
 * Plays the node agents' part in graceful deletion: once a pod on a node is being deleted and
 * holds no finalizers, its containers are "stopped" at once and the pod is deleted for good
 * (grace period 0), as a kubelet confirms. Without it, bound pods would stay Terminating.
 * It follows the shared pod informer (no second watch) and writes as its own client.
 */
function acknowledgePodDeletions(client: TestClient, informers: SharedInformerFactory): void {
  const agent = client.otherClient();
  const confirm = (p: KObject) => {
    const md = p.metadata!;
    if (!md.deletionTimestamp || md.finalizers?.length || !md.deletionGracePeriodSeconds) return;
    agent.delete(PODS, md.namespace, md.name!, { gracePeriodSeconds: 0, preconditions: { uid: md.uid } }).catch(() => {});
  };
  informers.informerFor<KObject>(PODS).addEventHandler({ onAdd: confirm, onUpdate: (_old, p) => confirm(p) });
}

/**
 * Makes pods Running and Ready as a node agent would: binds unassigned pods to `node` and
 * writes their status, stamping the Ready transition at `now`. It writes as a separate client
 * (the agent), so its calls are not among the controllers' recorded actions.
 */
export async function makePodsReady(client: TestClient, clock: FakeClock, filter: (p: Pod) => boolean = () => true, node = 'node-1', limit = Infinity): Promise<number> {
  const agent = client.otherClient();
  let n = 0;
  for (const p of client.objects<Pod>(PODS)) {
    if (n >= limit) break;
    if (!filter(p) || p.metadata?.deletionTimestamp) continue;
    if (p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) continue;
    const ts = rfc3339(clock.now());
    const { namespace, name } = p.metadata!;
    if (!p.spec?.nodeName) {
      await agent.create(PODS, namespace, { apiVersion: 'v1', kind: 'Binding', metadata: { name }, target: { kind: 'Node', name: node } }, { subresource: 'binding', name });
    }
    await agent.patch(PODS, namespace, name!, 'merge', {
      status: {
        phase: 'Running',
        conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: ts }, { type: 'ContainersReady', status: 'True', lastTransitionTime: ts }],
      },
    }, { subresource: 'status' });
    n++;
  }
  return n;
}
