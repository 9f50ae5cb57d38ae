/** Test harness for controllers: a fake API, a fake clock, shared informers and an in-memory recorder. */
import type { Pod } from 'kubernetes-types/core/v1.js';
import { FakeClock, flushAsync } from '../client/clock.js';
import { FakeRecorder } from '../client/events.js';
import { FakeClient } from '../client/fake.js';
import { SharedInformerFactory } from '../client/informer.js';
import { PODS } from '../client/resources.js';
import { rfc3339 } from '../client/clock.js';
import type { Controller, ControllerContext, ControllerOptions } from './types.js';

export interface Harness {
  clock: FakeClock;
  client: FakeClient;
  informers: SharedInformerFactory;
  recorder: FakeRecorder;
  ctx: ControllerContext;
  /** Starts controllers in the background. */
  start(...cs: Controller[]): void;
  /** Lets watches, handlers and workers run until nothing changes any more (no time passes). */
  settle(): Promise<void>;
  stop(): void;
}

export function harness(options: ControllerOptions = {}, start = '2024-01-01T00:00:00Z'): Harness {
  const clock = new FakeClock(start);
  const client = new FakeClient({ clock });
  const informers = new SharedInformerFactory(client, { clock });
  const recorder = new FakeRecorder();
  const ctx: ControllerContext = { client, informers, recorder: () => recorder, clock, options };
  const running: Controller[] = [];
  return {
    clock, client, informers, recorder, ctx,
    start(...cs) { for (const c of cs) { running.push(c); void c.run(1); } informers.start(); },
    async settle() {
      let last = -1;
      for (let i = 0; i < 200; i++) {
        await flushAsync(5);
        const rv = client.resourceVersion();
        if (rv === last) return;
        last = rv;
      }
      throw new Error('controllers did not settle');
    },
    stop() { for (const c of running) c.stop(); informers.stop(); },
  };
}

/** Makes pods Running and Ready (as a node agent would), stamping the Ready transition at `now`. */
export async function makePodsReady(client: FakeClient, clock: FakeClock, filter: (p: Pod) => boolean = () => true, node = 'node-1', limit = Infinity): Promise<number> {
  let n = 0;
  for (const p of client.objects<Pod>(PODS)) {
    if (n >= limit) break;
    if (!filter(p) || p.metadata?.deletionTimestamp) continue;
    if (p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) continue;
    const ts = rfc3339(clock.now());
    if (!p.spec?.nodeName) await client.patch(PODS, p.metadata!.namespace, p.metadata!.name!, 'merge', { spec: { nodeName: node } });
    await client.patch(PODS, p.metadata!.namespace, p.metadata!.name!, 'merge', {
      status: {
        phase: 'Running',
        conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: ts }, { type: 'ContainersReady', status: 'True', lastTransitionTime: ts }],
      },
    }, { subresource: 'status' });
    n++;
  }
  return n;
}
