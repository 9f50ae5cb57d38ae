/**
 * Simulated nodes, in the manner of KWOK: registers N Nodes, keeps their Leases fresh, and plays
 * the kubelet's part for pods bound to them (Running and Ready at once; deletions finished at once;
 * pods with restartPolicy Never/OnFailure finish as Succeeded after `jobDurationSeconds`).
 * It is an API client like any other component and exists for scheduler/controller tests and
 * capacity what-ifs; it never stands in for the real agent in agent tests.
 */
import { isReason } from '../api/errors.js';
import { Informer } from '../client/informer.js';
import { ExponentialFailureRateLimiter, WorkQueue } from '../client/workqueue.js';
import { LEASES, NODES, PODS } from '../client/resources.js';
import type { Client, KObject } from '../client/types.js';

import type { Obj } from '../api/registry.js';

export interface SimOptions {
  client: Client;
  nodes: number;
  prefix?: string;
  cpu?: string;
  memory?: string;
  pods?: number;
  /** Seconds between Lease renewals per node (kubelet: 10). */
  leaseIntervalSeconds?: number;
  /** Spread nodes over this many zones (label topology.kubernetes.io/zone). */
  zones?: number;
  /** Extra labels on every node. */
  labels?: Record<string, string>;
  /** Taints on every node. */
  taints?: Obj[];
  /** Concurrent API writes. */
  concurrency?: number;
  /**
   * Seconds a pod with restartPolicy Never or OnFailure (a Job's pod) runs before it
   * finishes (default 1): Succeeded, or Failed when the annotation
   * `sim.skiff.dev/exit-code` is non-zero. Pods with restartPolicy Always run until deleted.
   */
  jobDurationSeconds?: number;
  log?: (msg: string) => void;
}

/** RFC 3339 with microseconds, as metav1.MicroTime. */
function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

function rfc3339(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

export class SimulatedNodes {
  private readonly prefix: string;
  private readonly names: string[];
  private readonly nodeIndex = new Map<string, number>();
  private readonly podCounter = new Map<string, number>();
  private readonly queue = new WorkQueue<string>({ name: 'sim-pods', rateLimiter: new ExponentialFailureRateLimiter(5, 30_000) });
  private pods?: Informer<KObject>;
  private leaseTimer?: NodeJS.Timeout;
  private stopped = false;
  private readonly leases = new Map<string, Obj>();

  constructor(private readonly opts: SimOptions) {
    this.prefix = opts.prefix ?? 'sim-';
    this.names = Array.from({ length: opts.nodes }, (_, i) => `${this.prefix}${i}`);
    this.names.forEach((n, i) => this.nodeIndex.set(n, i));
  }

  private log(msg: string): void {
    this.opts.log?.(msg);
  }

  /** Registers the nodes, starts heartbeats and the pod loop. */
  async start(): Promise<void> {
    const t0 = Date.now();
    await this.inParallel(this.names, (n) => this.registerNode(n));
    this.log(`registered ${this.names.length} nodes in ${Date.now() - t0} ms`);
    await this.inParallel(this.names, (n) => this.renewLease(n));
    this.scheduleLeases();
    this.pods = new Informer<KObject>(this.opts.client, PODS, { fieldSelector: 'spec.nodeName!=' });
    this.pods.addEventHandler({
      onAdd: (p) => this.enqueue(p),
      onUpdate: (_o, p) => this.enqueue(p),
    });
    this.pods.start();
    const workers = this.opts.concurrency ?? 16;
    for (let i = 0; i < workers; i++) void this.worker();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.leaseTimer);
    this.pods?.stop();
    this.queue.shutDown();
  }

  private async inParallel<T>(items: T[], fn: (x: T) => Promise<void>): Promise<void> {
    let next = 0;
    const width = this.opts.concurrency ?? 16;
    await Promise.all(
      Array.from({ length: Math.min(width, items.length) }, async () => {
        while (next < items.length && !this.stopped) await fn(items[next++]);
      }),
    );
  }

  private nodeObject(name: string): Obj {
    const i = this.nodeIndex.get(name)!;
    const zones = this.opts.zones ?? 3;
    return {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name,
        labels: {
          'kubernetes.io/hostname': name,
          'kubernetes.io/os': 'linux',
          'kubernetes.io/arch': 'amd64',
          'topology.kubernetes.io/zone': `zone-${i % zones}`,
          'skiff.dev/simulated': 'true',
          ...(this.opts.labels ?? {}),
        },
        annotations: { 'node.alpha.kubernetes.io/ttl': '0' },
      },
      spec: { podCIDR: this.podCidr(i), podCIDRs: [this.podCidr(i)], ...(this.opts.taints?.length ? { taints: this.opts.taints } : {}) },
    };
  }

  private nodeStatus(name: string): Obj {
    const i = this.nodeIndex.get(name)!;
    const now = rfc3339(Date.now());
    const cap = this.capacity();
    const cond = (type: string, status: string, reason: string, message: string) => ({ type, status, reason, message, lastHeartbeatTime: now, lastTransitionTime: now });
    return {
      capacity: cap,
      allocatable: cap,
      phase: 'Running',
      conditions: [
        cond('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
        cond('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
        cond('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
        cond('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
      ],
      addresses: [
        { type: 'InternalIP', address: `10.255.${(i >> 8) & 255}.${i & 255}` },
        { type: 'Hostname', address: name },
      ],
      nodeInfo: {
        machineID: '',
        systemUUID: '',
        bootID: '',
        kernelVersion: 'simulated',
        osImage: 'skiff simulated node',
        containerRuntimeVersion: 'simulated://1.0',
        kubeletVersion: 'v1.32.0-skiff',
        kubeProxyVersion: '',
        operatingSystem: 'linux',
        architecture: 'amd64',
      },
    };
  }

  /** What every simulated node offers (capacity = allocatable). */
  private capacity(): Record<string, string> {
    return { cpu: this.opts.cpu ?? '32', memory: this.opts.memory ?? '256Gi', pods: String(this.opts.pods ?? 110), 'ephemeral-storage': '1Ti' };
  }

  private podCidr(i: number): string {
    return `10.${128 + ((i >> 8) & 127)}.${i & 255}.0/24`;
  }

  private async registerNode(name: string): Promise<void> {
    const c = this.opts.client;
    try {
      await c.create<Obj>(NODES, undefined, this.nodeObject(name));
    } catch (err) {
      if (!isReason(err, 'AlreadyExists')) throw err;
    }
    // A merge patch, not an update: the node lifecycle controller may touch the node meanwhile.
    await c.patch(NODES, undefined, name, 'merge', { status: this.nodeStatus(name) }, { subresource: 'status' });
  }

  private scheduleLeases(): void {
    const interval = (this.opts.leaseIntervalSeconds ?? 10) * 1000;
    // Spread renewals over the interval so the API server sees a steady rate, like real kubelets.
    let i = 0;
    const perTick = Math.max(1, Math.ceil(this.names.length / (interval / 100)));
    const tick = () => {
      if (this.stopped) return;
      const batch = this.names.slice(i, i + perTick);
      i = (i + perTick) % Math.max(1, this.names.length);
      for (const n of batch) this.renewLease(n).catch((err) => this.log(`lease ${n}: ${(err as Error).message}`));
      this.leaseTimer = setTimeout(tick, Math.max(1, (interval * perTick) / this.names.length));
      this.leaseTimer.unref?.();
    };
    tick();
  }

  private async renewLease(name: string): Promise<void> {
    const c = this.opts.client;
    const now = microTime(Date.now());
    const held = this.leases.get(name);
    try {
      if (held) {
        held.spec.renewTime = now;
        this.leases.set(name, await c.update<Obj>(LEASES, 'kube-node-lease', held));
        return;
      }
      const lease = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name, namespace: 'kube-node-lease' },
        spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: now },
      };
      this.leases.set(name, await c.create<Obj>(LEASES, 'kube-node-lease', lease));
    } catch (err) {
      if (isReason(err, 'AlreadyExists') || isReason(err, 'Conflict')) {
        const cur = await c.get<Obj>(LEASES, 'kube-node-lease', name);
        cur.spec.renewTime = now;
        cur.spec.holderIdentity = name;
        this.leases.set(name, await c.update<Obj>(LEASES, 'kube-node-lease', cur));
        return;
      }
      throw err;
    }
  }

  private enqueue(p: KObject): void {
    const node = (p as Obj).spec?.nodeName;
    if (!this.nodeIndex.has(node)) return;
    if (p.metadata?.deletionTimestamp || (p as Obj).status?.phase === 'Pending' || !(p as Obj).status?.phase) {
      this.queue.add(`${p.metadata?.namespace}/${p.metadata?.name}`);
    }
  }

  private async worker(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      try {
        await this.sync(key);
        this.queue.forget(key);
      } catch (err) {
        if (!isReason(err, 'NotFound') && !isReason(err, 'Conflict')) this.log(`pod ${key}: ${(err as Error).message}`);
        if (!isReason(err, 'NotFound')) this.queue.addRateLimited(key);
      } finally {
        this.queue.done(key);
      }
    }
  }

  private async sync(key: string): Promise<void> {
    const [ns, name] = key.split('/');
    const pod = this.pods!.get(ns, name) as Obj | undefined;
    if (!pod) return;
    const c = this.opts.client;
    if (pod.metadata.deletionTimestamp) {
      await c.delete(PODS, ns, name, { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata.uid } });
      return;
    }
    if (pod.status?.phase && pod.status.phase !== 'Pending') return;
    const nodeName: string = pod.spec.nodeName;
    const i = this.nodeIndex.get(nodeName)!;
    const n = (this.podCounter.get(nodeName) ?? 0) + 1;
    this.podCounter.set(nodeName, n);
    const ip = `10.${128 + ((i >> 8) & 127)}.${i & 255}.${(n % 253) + 1}`;
    const hostIP = `10.255.${(i >> 8) & 255}.${i & 255}`;
    const now = rfc3339(Date.now());
    const cond = (type: string) => ({ type, status: 'True', lastProbeTime: null, lastTransitionTime: now });
    const containers = (pod.spec.containers ?? []) as Obj[];
    const status = {
      phase: 'Running',
      conditions: [cond('PodReadyToStartContainers'), cond('Initialized'), cond('Ready'), cond('ContainersReady'), cond('PodScheduled')],
      hostIP,
      hostIPs: [{ ip: hostIP }],
      podIP: ip,
      podIPs: [{ ip }],
      startTime: now,
      qosClass: pod.status?.qosClass,
      containerStatuses: containers.map((ct) => ({
        name: ct.name,
        image: ct.image,
        imageID: `simulated://${ct.image}`,
        containerID: `simulated://${pod.metadata.uid}-${ct.name}`,
        ready: true,
        started: true,
        restartCount: 0,
        state: { running: { startedAt: now } },
      })),
    };
    await c.patch(PODS, ns, name, 'merge', { status }, { subresource: 'status' });
    if (pod.spec.restartPolicy === 'Never' || pod.spec.restartPolicy === 'OnFailure') {
      const t = setTimeout(() => {
        this.finishPod(ns, name, pod.metadata.uid, containers).catch((err) => {
          if (!isReason(err, 'NotFound')) this.log(`pod ${key}: ${(err as Error).message}`);
        });
      }, (this.opts.jobDurationSeconds ?? 1) * 1000);
      t.unref?.();
    }
  }

  /** Ends a run-to-completion pod as the kubelet would when its containers exit. */
  private async finishPod(ns: string, name: string, uid: string, containers: Obj[]): Promise<void> {
    if (this.stopped) return;
    const cur = this.pods?.get(ns, name) as Obj | undefined;
    if (!cur || cur.metadata.uid !== uid || cur.metadata.deletionTimestamp || cur.status?.phase !== 'Running') return;
    const exitCode = Number(cur.metadata.annotations?.['sim.skiff.dev/exit-code'] ?? 0) || 0;
    const now = rfc3339(Date.now());
    const notReady = (type: string) => ({ type, status: 'False', reason: 'PodCompleted', lastProbeTime: null, lastTransitionTime: now });
    const started = cur.status?.startTime ?? now;
    await this.opts.client.patch(PODS, ns, name, 'merge', {
      status: {
        phase: exitCode === 0 ? 'Succeeded' : 'Failed',
        conditions: [
          { type: 'PodReadyToStartContainers', status: 'False', lastProbeTime: null, lastTransitionTime: now },
          { type: 'Initialized', status: 'True', reason: 'PodCompleted', lastProbeTime: null, lastTransitionTime: started },
          notReady('Ready'), notReady('ContainersReady'),
          { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: started },
        ],
        containerStatuses: containers.map((ct) => ({
          name: ct.name,
          image: ct.image,
          imageID: `simulated://${ct.image}`,
          containerID: `simulated://${uid}-${ct.name}`,
          ready: false,
          started: false,
          restartCount: 0,
          state: { terminated: { exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', startedAt: started, finishedAt: now, containerID: `simulated://${uid}-${ct.name}` } },
        })),
      },
    }, { subresource: 'status' });
  }
}
