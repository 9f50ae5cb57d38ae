/**
 * Scheduler core throughput: 5,000 fake nodes, 10,000 pods fed straight into the
 * scheduler (no API server); binds resolve at once and are confirmed like an informer would.
 * Usage: node dist/bench/scheduler-core.js [plain|affinity] [nodes] [pods]
 *   plain     resource requests only (the ≥1,500 pods/s target)
 *   affinity  every pod also has a hostname anti-affinity to its app and a zone topology spread
 * Prints one JSON line.
 */
import type { Pod } from 'kubernetes-types/core/v1.js';
import { Scheduler, type SchedulerHost } from '../src/scheduler/scheduler.js';
import { makeNode, makePod } from '../src/scheduler/testing/builders.js';

const variant = process.argv[2] ?? 'plain';
const numNodes = Number(process.argv[3] ?? 5000);
const numPods = Number(process.argv[4] ?? 10000);

let bound = 0;
let unschedulable = 0;
const host: SchedulerHost = {
  async bind(pod: Pod, nodeName: string) {
    bound++;
    sched.updatePod(pod, { ...pod, spec: { ...pod.spec!, nodeName } });
  },
  async reportUnschedulable() {
    unschedulable++;
  },
};
const sched = new Scheduler(host);

for (let i = 0; i < numNodes; i++) {
  sched.addNode(makeNode(`node-${i}`, { cpu: '32', memory: '128Gi', pods: 110, labels: { 'topology.kubernetes.io/zone': `zone-${i % 10}` } }));
}
const pods: Pod[] = [];
for (let i = 0; i < numPods; i++) {
  const app = `app-${i % 100}`;
  const s: Parameters<typeof makePod>[1] = { cpu: `${100 + (i % 5) * 100}m`, memory: `${128 * (1 + (i % 4))}Mi`, labels: { app } };
  if (variant === 'affinity') {
    s.affinity = {
      podAntiAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { app } } }],
      },
    };
    s.topologySpreadConstraints = [
      { maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app } } },
    ];
  }
  pods.push(makePod(`pod-${i}`, s));
}

const t0 = performance.now();
for (const p of pods) sched.addPod(p);
await sched.drain();
const secs = (performance.now() - t0) / 1000;
console.log(
  JSON.stringify({
    bench: 'scheduler-core',
    variant,
    nodes: numNodes,
    pods: numPods,
    scheduled: bound,
    unschedulable,
    seconds: Number(secs.toFixed(3)),
    podsPerSecond: Math.round(bound / secs),
  }),
);
