/** Builders and a recording host for scheduler tests and benchmarks. */
import type {
  Affinity,
  Container,
  Node,
  PersistentVolume,
  PersistentVolumeClaim,
  Pod,
  Taint,
  Toleration,
  TopologySpreadConstraint,
  Volume,
} from 'kubernetes-types/core/v1.js';
import type { StorageClass } from 'kubernetes-types/storage/v1.js';
import type { StorageLister } from '../framework.js';
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
  /** Names of claims the pod mounts (persistentVolumeClaim volumes named after them). */
  claims?: string[];
  volumes?: Volume[];
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
      volumes: s.claims || s.volumes ? [...(s.volumes ?? []), ...(s.claims ?? []).map((c) => ({ name: c, persistentVolumeClaim: { claimName: c } }))] : undefined,
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

export interface ClaimSpec {
  namespace?: string;
  storageClassName?: string;
  volumeName?: string;
  accessModes?: string[];
  storage?: string;
  deleting?: boolean;
  selectedNode?: string;
}

/** A PersistentVolumeClaim (default: ReadWriteOnce, 1Gi, class `local-path`). */
export function makeClaim(name: string, s: ClaimSpec = {}): PersistentVolumeClaim {
  const ns = s.namespace ?? 'default';
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: {
      name,
      namespace: ns,
      uid: `pvc-${ns}-${name}`,
      deletionTimestamp: s.deleting ? '2026-01-01T00:00:00Z' : undefined,
      annotations: s.selectedNode ? { 'volume.kubernetes.io/selected-node': s.selectedNode } : undefined,
    },
    spec: {
      storageClassName: 'storageClassName' in s ? s.storageClassName : 'local-path',
      volumeName: s.volumeName,
      accessModes: s.accessModes ?? ['ReadWriteOnce'],
      resources: { requests: { storage: s.storage ?? '1Gi' } },
    },
    status: { phase: s.volumeName ? 'Bound' : 'Pending' },
  };
}

export interface VolumeSpec {
  storageClassName?: string;
  /** Node the volume is pinned to (required node affinity on kubernetes.io/hostname). */
  node?: string;
  storage?: string;
  accessModes?: string[];
  /** `<namespace>/<name>` of the claim it is bound to. */
  claim?: string;
}

/** A hostPath PersistentVolume, Available unless bound to a claim. */
export function makeVolume(name: string, s: VolumeSpec = {}): PersistentVolume {
  const [ns, claim] = s.claim?.split('/') ?? [];
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name },
    spec: {
      storageClassName: s.storageClassName ?? 'local-path',
      capacity: { storage: s.storage ?? '1Gi' },
      accessModes: s.accessModes ?? ['ReadWriteOnce'],
      hostPath: { path: `/tmp/${name}` },
      nodeAffinity: s.node ? { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [s.node] }] }] } } : undefined,
      claimRef: claim ? { kind: 'PersistentVolumeClaim', namespace: ns, name: claim, uid: `pvc-${ns}-${claim}` } : undefined,
    },
    status: { phase: claim ? 'Bound' : 'Available' },
  };
}

/** A StorageClass (default: WaitForFirstConsumer with a provisioner that can provision anywhere). */
export function makeClass(name: string, s: Partial<Pick<StorageClass, 'provisioner' | 'volumeBindingMode' | 'allowedTopologies'>> = {}): StorageClass {
  return {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name },
    provisioner: s.provisioner ?? 'skiff.dev/local-path',
    volumeBindingMode: s.volumeBindingMode ?? 'WaitForFirstConsumer',
    allowedTopologies: s.allowedTopologies,
  };
}

/** A StorageLister over plain arrays; tests push into them between cycles. */
export class FakeStorage implements StorageLister {
  claims: PersistentVolumeClaim[] = [];
  pvs: PersistentVolume[] = [];
  classes: StorageClass[] = [];

  claim(namespace: string, name: string): PersistentVolumeClaim | undefined {
    return this.claims.find((c) => c.metadata?.namespace === namespace && c.metadata?.name === name);
  }

  volume(name: string): PersistentVolume | undefined {
    return this.pvs.find((v) => v.metadata?.name === name);
  }

  volumes(): readonly PersistentVolume[] {
    return this.pvs;
  }

  storageClass(name: string): StorageClass | undefined {
    return this.classes.find((c) => c.metadata?.name === name);
  }
}
