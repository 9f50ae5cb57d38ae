/** Builders and a recording host for scheduler tests and benchmarks. */
import type { Affinity, Container, Node, Pod, Taint, Toleration, TopologySpreadConstraint } from 'kubernetes-types/core/v1.js';
import type { Scheduler, SchedulerHost } from '../scheduler.js';

export interface NodeSpec {
  cpu?: string;
  memory?: string;
  pods?: number;
  labels?: Record<string, string>;
  taints?: Taint[];
  unschedulable?: boolean;
  extra?: Record<string, string>;
}

/** A Ready node with the given allocatable (default 4 cpu, 8Gi, 110 pods) and a hostname label. */
export function makeNode(name: string, s: NodeSpec = {}): Node {
  const alloc = { cpu: s.cpu ?? '4', memory: s.memory ?? '8Gi', pods: String(s.pods ?? 110), ...(s.extra ?? {}) };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, uid: `node-${name}`, labels: { 'kubernetes.io/hostname': name, ...(s.labels ?? {}) } },
    spec: { taints: s.taints, unschedulable: s.unschedulable },
    status: { allocatable: alloc, capacity: alloc, conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

export interface PodSpecLite {
  namespace?: string;
  cpu?: string;
  memory?: string;
  requests?: Record<string, string>;
  priority?: number;
  labels?: Record<string, string>;
  nodeName?: string;
  nodeSelector?: Record<string, string>;
  tolerations?: Toleration[];
  affinity?: Affinity;
  hostPorts?: number[];
  topologySpreadConstraints?: TopologySpreadConstraint[];
  schedulerName?: string;
  initContainers?: Container[];
  phase?: string;
  creationTimestamp?: string;
  startTime?: string;
  preemptionPolicy?: string;
  uid?: string;
}

/** A one-container pod requesting the given resources. */
export function makePod(name: string, s: PodSpecLite = {}): Pod {
  const requests: Record<string, string> = { ...(s.requests ?? {}) };
  if (s.cpu) requests.cpu = s.cpu;
  if (s.memory) requests.memory = s.memory;
  const ns = s.namespace ?? 'default';
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ns, uid: s.uid ?? `uid-${ns}-${name}`, labels: s.labels, creationTimestamp: s.creationTimestamp },
    spec: {
      schedulerName: s.schedulerName ?? 'default-scheduler',
      nodeName: s.nodeName,
      priority: s.priority,
      preemptionPolicy: s.preemptionPolicy,
      nodeSelector: s.nodeSelector,
      tolerations: s.tolerations,
      affinity: s.affinity,
      topologySpreadConstraints: s.topologySpreadConstraints,
      initContainers: s.initContainers,
      containers: [
        {
          name: 'c',
          image: 'busybox',
          resources: Object.keys(requests).length > 0 ? { requests } : undefined,
          ports: s.hostPorts?.map((p) => ({ containerPort: p, hostPort: p })),
        },
      ],
    },
    status: { phase: s.phase ?? 'Pending', startTime: s.startTime },
  };
}

/**
 * A host that records calls. When attached to a scheduler it plays the API server:
 * a bind becomes an update of the pod with spec.nodeName, an eviction a delete.
 */
export class RecordingHost implements SchedulerHost {
  readonly binds = new Map<string, string>();
  readonly reports = new Map<string, string>();
  readonly evicted: string[] = [];
  readonly nominated = new Map<string, string>();
  scheduler: Scheduler | undefined;
  /** Make bind fail for matching pods. */
  failBind: (pod: Pod) => boolean = () => false;

  async bind(pod: Pod, nodeName: string): Promise<void> {
    if (this.failBind(pod)) throw new Error(`Operation cannot be fulfilled on pods/binding "${pod.metadata?.name}": conflict`);
    this.binds.set(pod.metadata!.name!, nodeName);
    this.scheduler?.updatePod(pod, { ...pod, spec: { ...pod.spec!, nodeName } });
  }

  async reportUnschedulable(pod: Pod, message: string): Promise<void> {
    this.reports.set(pod.metadata!.name!, message);
  }

  async evict(victim: Pod): Promise<void> {
    this.evicted.push(victim.metadata!.name!);
    this.scheduler?.deletePod(victim);
  }

  async nominate(pod: Pod, nodeName: string): Promise<void> {
    this.nominated.set(pod.metadata!.name!, nodeName);
  }
}
