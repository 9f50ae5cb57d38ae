/**
 * Node registration and heartbeats (pkg/kubelet/kubelet_node_status.go, nodelease): registers
 * the Node with labels, podCIDR, capacity/allocatable, addresses and nodeInfo; renews the Lease
 * in kube-node-lease every 10 s; posts the node status when it changed or about once a minute.
 */
import { join } from 'node:path';
import { readFileSync, statfsSync } from 'node:fs';
import os from 'node:os';
import type { Node, NodeCondition, NodeStatus } from 'kubernetes-types/core/v1.js';
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import { isReason } from '../api/errors.js';
import { Quantity } from '../api/quantity.js';
import { rfc3339, rfc3339Micro, type Clock, type Timer } from '../util/clock.js';
import { LEASES, NODES } from '../client/resources.js';
import type { Client } from '../client/types.js';
import type { ImageStore } from '../image/store.js';
import { runSync } from '../util/exec.js';

export const KUBELET_VERSION = 'v1.32.0-skiff';

export interface NodeManagerOptions {
  client: Client;
  nodeName: string;
  podCidr: string;
  hostIP: string;
  port: number;
  dataDir: string;
  reserved?: { cpu?: string; memory?: string };
  clock: Clock;
  images?: ImageStore;
  leaseIntervalMs?: number;
  statusIntervalMs?: number;
  log(msg: string): void;
}

/** GOARCH of this machine. */
export function goArch(): string {
  return ({ x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x' } as Record<string, string>)[process.arch] ?? process.arch;
}

function osImage(): string {
  try {
    const m = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'));
    if (m) return m[1]!;
  } catch {
    /* no os-release */
  }
  return 'Linux';
}

function runcVersion(): string {
  const r = runSync('runc', ['--version']);
  if (r.code !== 0) return 'unknown';
  return /runc version (\S+)/.exec(r.stdout.toString())?.[1] ?? 'unknown';
}

/** Host capacity: cpu cores, memory, 110 pods, ephemeral storage of the data dir's filesystem. */
export function hostCapacity(dataDir: string): Record<string, string> {
  let storage = 0;
  try {
    const s = statfsSync(dataDir);
    storage = s.blocks * s.bsize;
  } catch {
    storage = 0;
  }
  return {
    cpu: String(os.cpus().length),
    memory: `${Math.floor(os.totalmem() / 1024)}Ki`,
    pods: '110',
    'ephemeral-storage': `${Math.floor(storage / 1024)}Ki`,
    'hugepages-2Mi': '0',
  };
}

/** Capacity minus what is reserved for the system. */
export function allocatableFrom(capacity: Record<string, string>, reserved: { cpu?: string; memory?: string } = {}): Record<string, string> {
  const out = { ...capacity };
  if (reserved.cpu) {
    const m = Quantity.parse(capacity.cpu!).milliValue() - Quantity.parse(reserved.cpu).milliValue();
    out.cpu = `${Math.max(0, m)}m`;
  }
  if (reserved.memory) {
    const b = Quantity.parse(capacity.memory!).value() - Quantity.parse(reserved.memory).value();
    out.memory = `${Math.max(0, Math.floor(b / 1024))}Ki`;
  }
  return out;
}

/** Keeps this node's Node object and Lease current. */
/** The Node annotation naming the directory of the node's local-path volumes. */
export const NODE_STORAGE_DIR_ANNOTATION = 'skiff.dev/storage-dir';

/** The directory under a node's data dir that holds its local-path volumes. */
export function storageDirOf(dataDir: string): string {
  return join(dataDir, 'storage');
}

export class NodeManager {
  private leaseTimer?: Timer;
  private statusTimer?: Timer;
  private stopped = false;
  private lastStatusJson = '';
  private lastStatusAt = 0;
  private nodeUid = '';
  readonly capacity: Record<string, string>;
  readonly allocatable: Record<string, string>;
  private readonly nodeInfo: NonNullable<NodeStatus['nodeInfo']>;

  constructor(private readonly o: NodeManagerOptions) {
    this.capacity = hostCapacity(o.dataDir);
    this.allocatable = allocatableFrom(this.capacity, o.reserved);
    this.nodeInfo = {
      machineID: readOr('/etc/machine-id'),
      systemUUID: readOr('/sys/class/dmi/id/product_uuid') || readOr('/etc/machine-id'),
      bootID: readOr('/proc/sys/kernel/random/boot_id'),
      kernelVersion: os.release(),
      osImage: osImage(),
      containerRuntimeVersion: `runc://${runcVersion()}`,
      kubeletVersion: KUBELET_VERSION,
      kubeProxyVersion: KUBELET_VERSION,
      operatingSystem: 'linux',
      architecture: goArch(),
    };
  }

  /** Registers (or adopts) the Node, posts its status and starts the heartbeats. */
  async start(): Promise<void> {
    await this.register();
    await this.postStatus(true);
    await this.renewLease();
    this.scheduleLease();
    this.scheduleStatus();
  }

  stop(): void {
    this.stopped = true;
    this.leaseTimer?.cancel();
    this.statusTimer?.cancel();
  }

  private async register(): Promise<void> {
    const { client, nodeName, podCidr } = this.o;
    // Where the local-path provisioner puts this node's volumes.
    const storageAnnotation = { [NODE_STORAGE_DIR_ANNOTATION]: storageDirOf(this.o.dataDir) };
    const labels = {
      'kubernetes.io/hostname': nodeName,
      'kubernetes.io/os': 'linux',
      'kubernetes.io/arch': goArch(),
      'beta.kubernetes.io/os': 'linux',
      'beta.kubernetes.io/arch': goArch(),
    };
    const node: Node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: nodeName, labels, annotations: { 'node.alpha.kubernetes.io/ttl': '0', 'volumes.kubernetes.io/controller-managed-attach-detach': 'true', ...storageAnnotation } },
      spec: { podCIDR: podCidr, podCIDRs: [podCidr] },
    };
    try {
      const created = await client.create<Node>(NODES, undefined, node);
      this.nodeUid = created.metadata?.uid ?? '';
    } catch (e) {
      if (!isReason(e, 'AlreadyExists')) throw e;
      const existing = await client.get<Node>(NODES, undefined, nodeName);
      this.nodeUid = existing.metadata?.uid ?? '';
      const patch: Record<string, unknown> = { metadata: { labels, annotations: storageAnnotation } };
      if (!existing.spec?.podCIDR) patch.spec = { podCIDR: podCidr, podCIDRs: [podCidr] };
      await client.patch(NODES, undefined, nodeName, 'merge', patch);
    }
  }

  private conditions(old: NodeCondition[] | undefined, now: number): NodeCondition[] {
    const c = (type: string, status: string, reason: string, message: string): NodeCondition => {
      const prev = old?.find((x) => x.type === type);
      return {
        type, status, reason, message,
        lastHeartbeatTime: rfc3339(now),
        lastTransitionTime: prev?.status === status && prev.lastTransitionTime ? prev.lastTransitionTime : rfc3339(now),
      };
    };
    return [
      c('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
      c('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
      c('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
      c('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
    ];
  }

  /** Posts the status if it changed (ignoring heartbeat times) or `force`/a minute passed. */
  async postStatus(force = false): Promise<void> {
    const { client, nodeName, clock } = this.o;
    const now = clock.now();
    const images = (this.o.images?.list() ?? []).filter((i) => i.ref).slice(0, 50).map((i) => ({ names: [i.ref, `${i.ref.replace(/:[^:/]+$/, '')}@${i.digest}`], sizeBytes: i.size }));
    const base: NodeStatus = {
      capacity: this.capacity,
      allocatable: this.allocatable,
      addresses: [{ type: 'InternalIP', address: this.o.hostIP }, { type: 'Hostname', address: nodeName }],
      daemonEndpoints: { kubeletEndpoint: { Port: this.o.port } },
      nodeInfo: this.nodeInfo,
      images,
    };
    const json = JSON.stringify(base);
    if (!force && json === this.lastStatusJson && now - this.lastStatusAt < (this.o.statusIntervalMs ?? 60_000)) return;
    const current = await client.get<Node>(NODES, undefined, nodeName).catch(() => undefined);
    const status: NodeStatus = { ...base, conditions: this.conditions(current?.status?.conditions, now) };
    await client.patch(NODES, undefined, nodeName, 'merge', { status }, { subresource: 'status' });
    this.lastStatusJson = json;
    this.lastStatusAt = now;
  }

  private async renewLease(): Promise<void> {
    const { client, nodeName, clock } = this.o;
    const now = rfc3339Micro(clock.now());
    const spec = { holderIdentity: nodeName, leaseDurationSeconds: 40, renewTime: now };
    try {
      await client.patch<Lease>(LEASES, 'kube-node-lease', nodeName, 'merge', { spec });
    } catch (e) {
      if (!isReason(e, 'NotFound')) throw e;
      const lease: Lease = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: {
          name: nodeName,
          namespace: 'kube-node-lease',
          ownerReferences: this.nodeUid ? [{ apiVersion: 'v1', kind: 'Node', name: nodeName, uid: this.nodeUid }] : undefined,
        },
        spec: { ...spec, acquireTime: now },
      };
      await client.create(LEASES, 'kube-node-lease', lease).catch((err) => {
        if (!isReason(err, 'AlreadyExists')) throw err;
      });
    }
  }

  private scheduleLease(): void {
    if (this.stopped) return;
    this.leaseTimer = this.o.clock.setTimeout(() => {
      this.renewLease()
        .catch((e) => this.o.log(`renewing node lease failed (will retry): ${(e as Error).message}`))
        .finally(() => this.scheduleLease());
    }, this.o.leaseIntervalMs ?? 10_000);
  }

  private scheduleStatus(): void {
    if (this.stopped) return;
    this.statusTimer = this.o.clock.setTimeout(() => {
      this.postStatus()
        .catch(async (e) => {
          this.o.log(`updating node status failed (will retry): ${(e as Error).message}`);
          // The Node may have been deleted: register again.
          if (isReason(e, 'NotFound')) await this.register().catch(() => {});
        })
        .finally(() => this.scheduleStatus());
    }, 10_000);
  }
}

function readOr(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '';
  }
}
