/**
 * Pod status computation (pkg/kubelet/kubelet_pods.go generateAPIPodStatus, getPhase,
 * pkg/kubelet/status/generate.go): a pure function of the pod spec, what the runtime has, and
 * what the pod worker knows (waiting reasons, probe results). The status manager writes it only
 * when it differs from what was last written.
 */
import type { ContainerState, ContainerStatus as K8sContainerStatus, Pod, PodCondition, PodStatus } from 'kubernetes-types/core/v1.js';
import { rfc3339 } from '../util/clock.js';
import type { ContainerStatus } from '../runtime/types.js';
import { qosClass } from './container-spec.js';

/** Why a container has no running instance (set by the pod worker). */
export interface Waiting {
  reason: string;
  message?: string;
}

/** Everything about one container the status needs. */
export interface ContainerView {
  /** Newest instance first; at most the current and the previous. */
  instances: ContainerStatus[];
  /** Set when the newest instance is not running and will not run yet (back-off, image, config). */
  waiting?: Waiting;
  /** Probe state of the newest (running) instance. */
  ready: boolean;
  started: boolean;
  /** Reported `image` and `imageID` (imageID never empty). */
  image: string;
  imageID: string;
  restartCount: number;
  /** Termination message of exited instances, by container id. */
  terminationMessages?: Map<string, string>;
}

export interface StatusInput {
  pod: Pod;
  now: number;
  hostIP: string;
  podIP: string;
  sandboxReady: boolean;
  init: Map<string, ContainerView>;
  containers: Map<string, ContainerView>;
  /** Set when the pod can never run (e.g. an init container failed with restartPolicy Never). */
  failedMessage?: string;
}

const iso = (d: Date | undefined, fallback: number) => rfc3339(d ? d.getTime() : fallback);

function terminated(c: ContainerStatus, now: number, msg?: string): ContainerState {
  return {
    terminated: {
      exitCode: c.exitCode ?? 0,
      reason: c.reason ?? (c.exitCode === 0 ? 'Completed' : 'Error'),
      ...(msg || c.message ? { message: msg || c.message } : {}),
      startedAt: iso(c.startedAt ?? c.createdAt, now),
      finishedAt: iso(c.finishedAt, now),
      containerID: `runc://${c.id}`,
    },
  };
}

/** The API status of one container. */
export function containerStatus(name: string, v: ContainerView, now: number, defaultWaiting: string): K8sContainerStatus {
  const [cur, prev] = v.instances;
  const s: K8sContainerStatus = {
    name,
    image: v.image,
    imageID: v.imageID,
    ready: false,
    restartCount: v.restartCount,
    started: false,
    state: {},
    lastState: {},
  };
  if (cur) s.containerID = `runc://${cur.id}`;
  const msg = (c: ContainerStatus) => v.terminationMessages?.get(c.id);
  if (cur?.state === 'running') {
    s.state = { running: { startedAt: iso(cur.startedAt ?? cur.createdAt, now) } };
    s.started = v.started;
    s.ready = v.ready && v.started;
    if (prev?.state === 'exited') s.lastState = terminated(prev, now, msg(prev));
  } else if (cur?.state === 'exited') {
    if (v.waiting) {
      s.state = { waiting: { reason: v.waiting.reason, ...(v.waiting.message ? { message: v.waiting.message } : {}) } };
      s.lastState = terminated(cur, now, msg(cur));
    } else {
      s.state = terminated(cur, now, msg(cur));
      if (prev?.state === 'exited') s.lastState = terminated(prev, now, msg(prev));
    }
  } else {
    const w = v.waiting ?? { reason: defaultWaiting };
    s.state = { waiting: { reason: w.reason, ...(w.message ? { message: w.message } : {}) } };
    const last = cur?.state === 'created' || cur?.state === 'unknown' ? prev : cur;
    if (last?.state === 'exited') s.lastState = terminated(last, now, msg(last));
  }
  return s;
}

function isSidecar(pod: Pod, name: string): boolean {
  return pod.spec?.initContainers?.find((c) => c.name === name)?.restartPolicy === 'Always';
}

/** True when every init container has finished (sidecars: started). */
export function initDone(pod: Pod, init: Map<string, ContainerView>): boolean {
  for (const c of pod.spec?.initContainers ?? []) {
    const v = init.get(c.name);
    const cur = v?.instances[0];
    if (isSidecar(pod, c.name)) {
      if (cur?.state !== 'running' || !v!.started) return false;
    } else if (cur?.state !== 'exited' || cur.exitCode !== 0) return false;
  }
  return true;
}

/** getPhase: Pending, Running, Succeeded or Failed. */
export function podPhase(pod: Pod, statuses: K8sContainerStatus[], initialized: boolean, initFailed: boolean): PodStatus['phase'] {
  const policy = pod.spec?.restartPolicy ?? 'Always';
  if (!initialized) {
    if (initFailed && policy === 'Never') return 'Failed';
    return 'Pending';
  }
  let running = 0;
  let waiting = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const s of statuses) {
    if (s.state?.running) running++;
    else if (s.state?.terminated) {
      stopped++;
      if (s.state.terminated.exitCode === 0) succeeded++;
    } else if (s.state?.waiting) {
      if (s.lastState?.terminated) stopped++;
      else waiting++;
    } else waiting++;
  }
  if (waiting > 0) return 'Pending';
  if (running > 0) return 'Running';
  if (stopped > 0) {
    if (policy === 'Always') return 'Running';
    if (stopped === succeeded) return 'Succeeded';
    if (policy === 'OnFailure') return 'Running';
    return 'Failed';
  }
  return 'Pending';
}

function condition(old: PodCondition[] | undefined, type: string, status: boolean, now: number, reason?: string, message?: string): PodCondition {
  const prev = old?.find((c) => c.type === type);
  const st = status ? 'True' : 'False';
  const c: PodCondition = {
    type,
    status: st,
    lastProbeTime: null as unknown as string,
    lastTransitionTime: prev && prev.status === st && prev.lastTransitionTime ? prev.lastTransitionTime : rfc3339(now),
  };
  if (!status && reason) c.reason = reason;
  if (!status && message) c.message = message;
  return c;
}

/** The full pod status from what the node sees. */
export function computeStatus(inp: StatusInput): PodStatus {
  const { pod, now } = inp;
  const old = pod.status ?? {};
  const initStatuses = (pod.spec?.initContainers ?? []).map((c) => containerStatus(c.name, inp.init.get(c.name) ?? emptyView(c.image ?? ''), now, 'PodInitializing'));
  const initialized = initDone(pod, inp.init);
  const initFailed = !!inp.failedMessage;
  const statuses = (pod.spec?.containers ?? []).map((c) =>
    containerStatus(c.name, inp.containers.get(c.name) ?? emptyView(c.image ?? ''), now, initialized ? 'ContainerCreating' : 'PodInitializing'),
  );
  for (const s of initStatuses) if (s.state?.waiting && !inp.init.get(s.name)?.instances.length && !inp.init.get(s.name)?.waiting) s.state.waiting.reason = 'PodInitializing';
  // The first init container that has not run yet is the one being created.
  const firstPending = initStatuses.find((s) => !s.state?.terminated || s.state.terminated.exitCode !== 0);
  if (firstPending?.state?.waiting?.reason === 'PodInitializing') firstPending.state.waiting.reason = 'ContainerCreating';
  let phase = podPhase(pod, statuses, initialized, initFailed);
  if (old.phase === 'Succeeded' || old.phase === 'Failed') phase = old.phase;
  const notReady = statuses.filter((s) => !s.ready).map((s) => s.name);
  const incomplete = initStatuses.filter((s) => !(s.state?.terminated?.exitCode === 0) && !(isSidecar(pod, s.name) && s.started)).map((s) => s.name);
  const terminal = phase === 'Succeeded' || phase === 'Failed';
  const containersReady = notReady.length === 0 && !terminal;
  const gates = (pod.spec?.readinessGates ?? []).map((g) => g.conditionType);
  const gatesOk = gates.every((t) => old.conditions?.find((c) => c.type === t)?.status === 'True');
  const reason = terminal ? 'PodCompleted' : !initialized ? 'ContainersNotInitialized' : 'ContainersNotReady';
  const crMsg = !initialized ? `containers with incomplete status: [${incomplete.join(' ')}]` : `containers with unready status: [${notReady.join(' ')}]`;
  const conds: PodCondition[] = [
    condition(old.conditions, 'PodReadyToStartContainers', inp.sandboxReady && !terminal, now),
    condition(old.conditions, 'Initialized', initialized || (terminal && incomplete.length === 0), now, terminal ? 'PodCompleted' : 'ContainersNotInitialized', `containers with incomplete status: [${incomplete.join(' ')}]`),
    condition(old.conditions, 'Ready', containersReady && gatesOk, now, !containersReady ? reason : 'ReadinessGatesNotReady', !containersReady ? crMsg : `corresponding condition of pod readiness gate "${gates.find((t) => old.conditions?.find((c) => c.type === t)?.status !== 'True')}" does not exist.`),
    condition(old.conditions, 'ContainersReady', containersReady, now, reason, crMsg),
  ];
  const sched = old.conditions?.find((c) => c.type === 'PodScheduled');
  conds.push(sched ?? { type: 'PodScheduled', status: 'True', lastProbeTime: null as unknown as string, lastTransitionTime: rfc3339(now) });
  for (const c of old.conditions ?? []) if (!conds.some((x) => x.type === c.type)) conds.push(c);
  const status: PodStatus = {
    phase,
    conditions: conds,
    hostIP: inp.hostIP,
    hostIPs: [{ ip: inp.hostIP }],
    startTime: old.startTime ?? rfc3339(now),
    qosClass: old.qosClass ?? qosClass(pod),
    containerStatuses: statuses,
  };
  if (inp.podIP) {
    status.podIP = inp.podIP;
    status.podIPs = [{ ip: inp.podIP }];
  } else if (old.podIP && !terminal) {
    status.podIP = old.podIP;
    status.podIPs = old.podIPs;
  }
  if (initStatuses.length) status.initContainerStatuses = initStatuses;
  if (inp.failedMessage && phase === 'Failed') status.message = inp.failedMessage;
  if (old.nominatedNodeName) status.nominatedNodeName = old.nominatedNodeName;
  return status;
}

function emptyView(image: string): ContainerView {
  return { instances: [], ready: false, started: false, image, imageID: image, restartCount: 0 };
}
