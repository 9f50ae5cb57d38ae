/**
 * What a pod sync must do, decided without side effects (kuberuntime_manager.go computePodActions
 * and the killPod ordering of syncTerminatingPod): from the pod's spec and what the runtime has,
 * which containers to kill (with the grace period and why), whether a sandbox must be created,
 * which container to start next (init containers one at a time and in order, then every app
 * container whose restartPolicy allows it), which ones wait in CrashLoopBackOff and until when,
 * and whether the pod failed for good. The pod worker executes the result.
 */
import type { Container, Pod } from 'kubernetes-types/core/v1.js';
import { Labels, type ContainerStatus, type PodSandboxStatus } from '../runtime/types.js';
import { formatDuration, type Backoff } from './backoff.js';
import { containerHash, HASH_ANNOTATION } from './container-spec.js';

/** Volumes are set up again about this often (configMap/secret/downwardAPI updates). */
export const VOLUME_RESYNC_MS = 10_000;

/** Newest first: by restart count, then creation time. */
export function sortInstances(list: ContainerStatus[]): ContainerStatus[] {
  const rc = (c: ContainerStatus) => Number(c.annotations[Labels.restartCount] ?? 0);
  return [...list].sort((a, b) => rc(b) - rc(a) || b.createdAt.getTime() - a.createdAt.getTime());
}

/** The container name an instance was created for. */
export function instanceName(c: ContainerStatus): string {
  return c.labels[Labels.containerName] ?? c.name;
}

/** Instances per container name, newest first. */
export function instancesByName(containers: ContainerStatus[]): Map<string, ContainerStatus[]> {
  const byName = new Map<string, ContainerStatus[]>();
  for (const c of containers) {
    const n = instanceName(c);
    byName.set(n, [...(byName.get(n) ?? []), c]);
  }
  for (const [n, l] of byName) byName.set(n, sortInstances(l));
  return byName;
}

/** The sandbox containers may run in: ready, and its network namespace still exists (not lost to a reboot). */
export function liveSandbox(sandboxes: PodSandboxStatus[], netnsExists: (path: string) => boolean): PodSandboxStatus | undefined {
  return sandboxes.find((s) => s.state === 'ready' && (!s.netnsPath || netnsExists(s.netnsPath)));
}

/** The pod's termination grace period in seconds (the deletion's, else the spec's, else 30). */
export function graceSeconds(pod: Pod): number {
  return pod.metadata?.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
}

/** The back-off state computePodActions reads (never advances). */
export type BackoffView = Pick<Backoff, 'isInBackOffSince' | 'get' | 'retryAt'>;

/** The observed state of one pod and what the decision reads besides. */
export interface PodActionsInput {
  pod: Pod;
  uid: string;
  /** The live sandbox ({@link liveSandbox}), if any. */
  sandbox: PodSandboxStatus | undefined;
  /** Every instance the runtime has for the pod, in any sandbox. */
  containers: ContainerStatus[];
  now: number;
  /** Crash back-off per `<uid>/<container name>`. */
  backoff: BackoffView;
  /** Whether a running container passed its startup probe (sidecars gate the next init container on it). */
  started(containerId: string): boolean;
  /** When the volumes were last set up (ms epoch; 0: never). */
  volumesSyncedAt: number;
}

/** Why a container is started. */
export type StartReason = 'NotCreated' | 'NotStarted' | 'Restart' | 'SpecChanged';

export interface ContainerToStart {
  container: Container;
  init: boolean;
  /** The newest instance before this one (restart count, back-off), in any sandbox. */
  prior?: ContainerStatus;
  reason: StartReason;
  message: string;
}

export interface ContainerToKill {
  instance: ContainerStatus;
  name: string;
  graceSeconds: number;
  /** SandboxGone: running outside the live sandbox; SpecChanged: its spec hash changed. */
  reason: 'SandboxGone' | 'SpecChanged';
  message: string;
}

/** A container that must wait before its restart (CrashLoopBackOff). */
export interface BackOffWait {
  name: string;
  /** The waiting message the status shows. */
  message: string;
  /** When to sync again. */
  retryAt: number;
}

export interface PodActions {
  /** Kill these first, in order. */
  kill: ContainerToKill[];
  /** A sandbox must be created before anything starts. */
  createSandbox: boolean;
  /** Start these, in order; at most one init container, and then no app container. */
  start: ContainerToStart[];
  backOff: BackOffWait[];
  /** All init containers completed (sidecars: running and started). */
  initialized: boolean;
  /** The pod failed for good (an init container failed under restartPolicy Never). */
  failedMessage?: string;
  /** Set up (or refresh) the pod's volumes in this sync. */
  syncVolumes: boolean;
}

/** Decides one sync of a pod that is not being deleted. Pure: reads its input, changes nothing. */
export function computePodActions(input: PodActionsInput): PodActions {
  const { pod, uid, sandbox: sb, containers, now, backoff } = input;
  const actions: PodActions = { kill: [], createSandbox: false, start: [], backOff: [], initialized: true, syncVolumes: false };
  // Containers outside the live sandbox are dead (reboot, sandbox lost): make sure of it.
  for (const c of containers) {
    if (c.state === 'running' && c.sandboxId !== sb?.id) {
      actions.kill.push({ instance: c, name: instanceName(c), graceSeconds: 0, reason: 'SandboxGone', message: 'its pod sandbox is gone' });
    }
  }
  const byName = instancesByName(containers);
  const apiTerminal = pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
  const policy = pod.spec?.restartPolicy ?? 'Always';
  const podName = `${pod.metadata?.name}_${pod.metadata?.namespace}(${uid})`;

  const restartAllowed = (c: Container, init: boolean, cur: ContainerStatus): boolean => {
    if (init) return c.restartPolicy === 'Always' || (policy !== 'Never' && cur.exitCode !== 0);
    return policy === 'Always' || (policy === 'OnFailure' && cur.exitCode !== 0);
  };
  /** Starts `c` when it must run now; records a back-off wait when it must wait. */
  const consider = (c: Container, init: boolean, cur: ContainerStatus | undefined): void => {
    const prior = byName.get(c.name)?.[0];
    if (!cur) return void actions.start.push({ container: c, init, prior, reason: 'NotCreated', message: `Container ${c.name} is not created in the pod's sandbox` });
    if (cur.state === 'created' || cur.state === 'unknown') return void actions.start.push({ container: c, init, prior, reason: 'NotStarted', message: `Container ${c.name} was created but never started` });
    if (cur.state === 'running' || !restartAllowed(c, init, cur)) return;
    const key = `${uid}/${c.name}`;
    const finished = cur.finishedAt?.getTime() ?? now;
    if (backoff.isInBackOffSince(key, finished)) {
      const message = `back-off ${formatDuration(backoff.get(key))} restarting failed container=${c.name} pod=${podName}`;
      actions.backOff.push({ name: c.name, message, retryAt: backoff.retryAt(key, finished) ?? now + 1000 });
      return;
    }
    actions.start.push({ container: c, init, prior, reason: 'Restart', message: `Container ${c.name} exited with ${cur.exitCode}; restartPolicy ${init ? (c.restartPolicy ?? policy) : policy} restarts it` });
  };

  if (!apiTerminal) {
    for (const c of pod.spec?.initContainers ?? []) {
      const latest = byName.get(c.name)?.[0];
      // Init containers run again in a new sandbox (after a reboot), as upstream.
      const cur = sb && latest?.sandboxId === sb.id ? latest : undefined;
      if (c.restartPolicy === 'Always') {
        // A sidecar: the next init container waits until it runs and passed its startup probe.
        if (cur?.state === 'running' && input.started(cur.id)) continue;
        actions.initialized = false;
        if (cur?.state !== 'running') consider(c, true, cur);
        break;
      }
      if (cur?.state === 'exited' && cur.exitCode === 0) continue;
      actions.initialized = false;
      if (cur?.state === 'running') break;
      if (cur?.state === 'exited' && policy === 'Never') {
        actions.failedMessage = `init container ${c.name} failed with exit code ${cur.exitCode}`;
        break;
      }
      consider(c, true, cur);
      break;
    }
    if (actions.initialized) {
      for (const c of pod.spec?.containers ?? []) {
        const cur = byName.get(c.name)?.[0];
        if (cur?.state === 'running' && cur.annotations[HASH_ANNOTATION] && cur.annotations[HASH_ANNOTATION] !== containerHash(c)) {
          // Already being killed as outside the sandbox: once is enough.
          if (!actions.kill.some((k) => k.instance.id === cur.id)) {
            actions.kill.push({ instance: cur, name: c.name, graceSeconds: graceSeconds(pod), reason: 'SpecChanged', message: `Container ${c.name} definition changed, will be restarted` });
          }
          // A spec change is not a crash: no back-off (the prior instance was running).
          actions.start.push({ container: c, init: false, prior: cur, reason: 'SpecChanged', message: `Container ${c.name} definition changed` });
          continue;
        }
        consider(c, false, cur);
      }
    }
  }
  actions.createSandbox = actions.start.length > 0 && !sb;
  actions.syncVolumes = !apiTerminal && (actions.start.length > 0 || now - input.volumesSyncedAt > VOLUME_RESYNC_MS);
  return actions;
}

/** The order and grace of a pod's graceful termination (killPod with sidecars last). */
export interface TerminationPlan {
  /** Seconds of the grace period left. */
  graceSeconds: number;
  /** Stop each group in parallel, one group after the other: app containers, then sidecars. */
  groups: ContainerStatus[][];
}

/**
 * How to stop a deleted pod's running containers: what is left of the grace period since the
 * termination began `elapsedMs` ago, app containers first, then the restartable init containers.
 */
export function computeTermination(pod: Pod, containers: ContainerStatus[], elapsedMs: number): TerminationPlan {
  const running = containers.filter((c) => c.state === 'running');
  const left = Math.max(0, graceSeconds(pod) - Math.floor(elapsedMs / 1000));
  const sidecars = new Set((pod.spec?.initContainers ?? []).filter((c) => c.restartPolicy === 'Always').map((c) => c.name));
  const main = running.filter((c) => !sidecars.has(c.labels[Labels.containerName] ?? ''));
  const side = running.filter((c) => sidecars.has(c.labels[Labels.containerName] ?? ''));
  return { graceSeconds: left, groups: [main, side] };
}
