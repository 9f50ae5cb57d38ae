/**
 * The container runtime interface the node agent drives: CRI's RuntimeService, simplified.
 * A pod is a sandbox (network/IPC/UTS namespaces + an IP) holding containers. Every object
 * carries labels/annotations that the runtime persists, so an agent that restarts lists
 * what exists and adopts it instead of starting pods twice.
 */
import type { Readable, Writable } from 'node:stream';

/**
 * A port published on the node for a pod (CRI's PortMapping). The pod network's portmap
 * plugin applies it; the runtime only carries it from the sandbox config to the network.
 */
export interface PortMapping {
  hostPort: number;
  containerPort: number;
  protocol?: 'tcp' | 'udp' | 'sctp';
  hostIP?: string;
}

/** What the runtime tells the pod network when it attaches or detaches a sandbox. */
export interface PodNetworkOptions {
  portMappings?: PortMapping[];
  /** CNI_ARGS, e.g. K8S_POD_NAMESPACE, K8S_POD_NAME. */
  args?: Record<string, string>;
}

/**
 * The pod network as the runtime sees it: attach a sandbox's network namespace and detach it
 * again, as containerd's CRI plugin calls CNI. `network/cni.ts`'s `CniNetwork` satisfies it
 * (structurally: the network component does not import the runtime). `del` must tolerate
 * state that is already gone, since teardown is retried.
 */
export interface PodNetwork {
  add(sandboxId: string, netnsPath: string, ifName?: string, opts?: PodNetworkOptions): Promise<{ ip: string }>;
  del(sandboxId: string, netnsPath: string, ifName?: string, opts?: PodNetworkOptions): Promise<void>;
}

/** Label keys the agent uses (same names as the kubelet's, so tools recognise them). */
export const Labels = {
  podName: 'io.kubernetes.pod.name',
  podNamespace: 'io.kubernetes.pod.namespace',
  podUid: 'io.kubernetes.pod.uid',
  containerName: 'io.kubernetes.container.name',
  /** Annotation: how many times the kubelet restarted this container. */
  restartCount: 'io.kubernetes.container.restartCount',
} as const;

export interface PodSandboxConfig {
  /** Pod name/namespace/uid: used for CNI_ARGS and the sandbox's identity. */
  name: string;
  namespace: string;
  uid: string;
  /** Hostname inside the pod (UTS namespace); defaults to the pod name. */
  hostname?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  portMappings?: PortMapping[];
  /** `hostNetwork: true`: no namespace, no CNI; the pod IP is the node's. */
  hostNetwork?: boolean;
  /** `hostPID: true`: containers share the node's PID namespace (they see its processes). */
  hostPID?: boolean;
  /** `hostIPC: true`: containers share the node's IPC namespace and /dev/shm. */
  hostIPC?: boolean;
  /** Namespaced sysctls (net.*, kernel.shm*, …) set in every container of the pod. */
  sysctls?: Record<string, string>;
}

export type SandboxState = 'ready' | 'notready';

export interface PodSandboxStatus {
  id: string;
  state: SandboxState;
  /** Path of the pod's network namespace ('' for host network). */
  netnsPath: string;
  ip: string;
  hostname: string;
  createdAt: Date;
  config: PodSandboxConfig;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface Mount {
  /** Path inside the container. */
  containerPath: string;
  /** Host path for a bind mount; ignored for tmpfs. */
  hostPath?: string;
  readOnly?: boolean;
  /** `bind` (default) or `tmpfs` (emptyDir with medium: Memory). */
  type?: 'bind' | 'tmpfs';
  /** tmpfs size limit in bytes. */
  sizeBytes?: number;
  /** Bind propagation: private (default), rslave (HostToContainer), rshared (Bidirectional). */
  propagation?: 'private' | 'rslave' | 'rshared';
}

export interface Resources {
  /** cpu.shares (v1) — converted to cpu.weight by runc on v2. */
  cpuShares?: number;
  /** CFS quota in microseconds per period (limit). */
  cpuQuota?: number;
  /** CFS period in microseconds (default 100000). */
  cpuPeriod?: number;
  memoryLimitBytes?: number;
  /** Max number of processes (pids cgroup). */
  pidsLimit?: number;
}

/** Which seccomp filter a container gets (CRI's SecurityProfile). */
export type SeccompChoice =
  | { type: 'RuntimeDefault' }
  | { type: 'Unconfined' }
  /** A profile file on the node, Docker's JSON format (kubelet's `<root>/seccomp/<localhostProfile>`). */
  | { type: 'Localhost'; path: string };

/** What to run. Image Entrypoint/Cmd vs command/args are resolved by the caller. */
export interface ContainerSpec {
  /** Container name in the pod (also labelled). */
  name: string;
  /** The image reference (for status only). */
  image: string;
  /** Snapshot dirs from ImageStore.unpack, bottom layer first. */
  rootfsLayers: string[];
  /** argv; argv[0] is looked up in PATH from `env`. */
  command: string[];
  env?: string[];
  cwd?: string;
  user?: { uid: number; gid: number; additionalGids?: number[] };
  mounts?: Mount[];
  resources?: Resources;
  capabilities?: { add?: string[]; drop?: string[] };
  privileged?: boolean;
  readOnlyRootfs?: boolean;
  /** Forbid gaining privileges (allowPrivilegeEscalation: false). */
  noNewPrivileges?: boolean;
  /** Default RuntimeDefault (Docker's profile); ignored for privileged containers. */
  seccomp?: SeccompChoice;
  /** `Unmasked`: no masked or read-only /proc paths. Default `Default`. */
  procMount?: 'Default' | 'Unmasked';
  tty?: boolean;
  /** Keep stdin open (a FIFO the agent can attach to). */
  stdin?: boolean;
  /** Host files bind-mounted at /etc/hosts, /etc/resolv.conf, /etc/hostname. */
  etcHostsPath?: string;
  resolvConfPath?: string;
  hostnamePath?: string;
  /** The image's STOPSIGNAL (e.g. "SIGQUIT" or "3"); default SIGTERM. */
  stopSignal?: string;
  /** Where the CRI-format log goes; default `<stateDir>/containers/<id>/container.log`. */
  logPath?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export type ContainerState = 'created' | 'running' | 'exited' | 'unknown';

export interface ContainerStatus {
  id: string;
  sandboxId: string;
  name: string;
  image: string;
  state: ContainerState;
  /** Host PID of the container's init, 0 when not running. */
  pid: number;
  exitCode?: number;
  createdAt: Date;
  startedAt?: Date;
  finishedAt?: Date;
  /** Kubelet reasons: OOMKilled, Error, Completed; StartError when it never started. */
  reason?: 'OOMKilled' | 'Error' | 'Completed' | 'StartError';
  message?: string;
  logPath: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface ContainerFilter {
  sandboxId?: string;
  state?: ContainerState;
  /** All must match. */
  labels?: Record<string, string>;
}

export interface SandboxFilter {
  state?: SandboxState;
  labels?: Record<string, string>;
}

export interface ExecResult {
  exitCode: number;
  stdout: Buffer;
  stderr: Buffer;
  /** True when the command was killed because the timeout passed. */
  timedOut: boolean;
}

export interface ExecOptions {
  cmd: string[];
  tty?: boolean;
  stdin?: boolean;
  env?: string[];
  cwd?: string;
}

/** A running exec session (kubectl exec): streams plus the exit code. */
export interface ExecSession {
  /** Present when `stdin` was requested. End it to send EOF. */
  stdin: Writable | null;
  stdout: Readable;
  /** Null with a tty (stderr is merged into stdout). */
  stderr: Readable | null;
  exitCode: Promise<number>;
  /** Kills the exec'd process. */
  kill(signal?: NodeJS.Signals): void;
}

export interface ContainerStats {
  /** Cumulative CPU time in nanoseconds. */
  cpuUsageNanos: number;
  /** Memory usage minus inactive file cache (the kubelet's working set). */
  memoryWorkingSetBytes: number;
  memoryUsageBytes: number;
  timestamp: Date;
}

/**
 * One process run to completion in a root filesystem the caller prepared (an overlay it
 * mounted): no pod sandbox, no shim, no log file. What BuildKit's executor asks of runc for
 * a Dockerfile RUN step. Writes to the root land in it, which is the point.
 */
export interface ProcessSpec {
  /** Host path of the root filesystem, used in place. */
  rootfs: string;
  /** argv; argv[0] is looked up in PATH from `env`. */
  args: string[];
  env?: string[];
  /** Working directory inside the root; it must exist (default `/`). */
  cwd?: string;
  user?: { uid: number; gid: number; additionalGids?: number[] };
  mounts?: Mount[];
  /** `host` shares the node's network namespace; `none` gives a private one with only loopback. */
  network: 'host' | 'none';
  /** Hostname in the process's own UTS namespace (and $HOSTNAME). */
  hostname?: string;
  /** Receives stdout and stderr as they are written (chunks, not lines). */
  onOutput?: (chunk: Buffer, stream: 'stdout' | 'stderr') => void;
}

/** Runs single processes to completion (the builder's RUN steps). Implemented by RuncRuntime. */
export interface ProcessRunner {
  /** Resolves with the exit code (128+n for a signal); rejects only when the process cannot be run at all. */
  runProcess(spec: ProcessSpec): Promise<{ exitCode: number }>;
}

/** The runtime the node agent drives. Implemented by RuncRuntime (real) and a simulated one. */
export interface Runtime {
  runPodSandbox(config: PodSandboxConfig): Promise<{ id: string; netnsPath: string; ip: string }>;
  /** Stops every container of the sandbox (SIGKILL after `timeoutSeconds`) and detaches the network. */
  stopPodSandbox(id: string, timeoutSeconds?: number): Promise<void>;
  /** Stops if needed and removes the sandbox, its containers and namespaces. Idempotent. */
  removePodSandbox(id: string): Promise<void>;
  podSandboxStatus(id: string): Promise<PodSandboxStatus | undefined>;
  listPodSandboxes(filter?: SandboxFilter): Promise<PodSandboxStatus[]>;

  createContainer(sandboxId: string, spec: ContainerSpec): Promise<string>;
  startContainer(id: string): Promise<void>;
  /** Sends the stop signal, then SIGKILL after `timeoutSeconds`; resolves once it has exited. */
  stopContainer(id: string, timeoutSeconds: number): Promise<void>;
  /** Removes a container (kills it first if it still runs). Idempotent. */
  removeContainer(id: string): Promise<void>;
  containerStatus(id: string): Promise<ContainerStatus | undefined>;
  listContainers(filter?: ContainerFilter): Promise<ContainerStatus[]>;
  /** Resolves when the container has exited (or after `timeoutMs`, with its then state). */
  waitContainer(id: string, timeoutMs?: number): Promise<ContainerStatus | undefined>;

  execSync(id: string, cmd: string[], timeoutSeconds?: number): Promise<ExecResult>;
  exec(id: string, opts: ExecOptions): Promise<ExecSession>;
  /** Path of the container's CRI-format log file. */
  logPath(id: string): string;
  stats(id: string): Promise<ContainerStats | undefined>;
}
