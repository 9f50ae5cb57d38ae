/**
 * Diagnosis: from an object's timeline and its current state, the one-line verdict and what to
 * do next ("no node has 500m CPU free; lower the request or add a node"). Pure; the timeline
 * controller stores it in the Timeline and `skiff why` prints it.
 */
import type { Container, ContainerStatus, Pod } from 'kubernetes-types/core/v1.js';
import type { KObject, Obj } from '../api/registry.js';
import { milliValue, value } from '../api/quantity.js';
import type { TimelineEntry } from './timeline-entries.js';

export interface Diagnosis {
  summary: string;
  next: string;
}

function lastEntry(entries: readonly TimelineEntry[], reasons: string[]): TimelineEntry | undefined {
  for (let i = entries.length - 1; i >= 0; i--) if (reasons.includes(entries[i]!.reason)) return entries[i];
  return undefined;
}

/** "500m" / "2" CPU from millicores. */
export function formatCpu(milli: number): string {
  return milli % 1000 === 0 ? String(milli / 1000) : `${milli}m`;
}

/** "256Mi" / "1.5Gi" memory from bytes. */
export function formatMemory(bytes: number): string {
  const units: [string, number][] = [['Gi', 2 ** 30], ['Mi', 2 ** 20], ['Ki', 2 ** 10]];
  for (const [u, n] of units) if (bytes >= n) return `${Number((bytes / n).toFixed(1))}${u}`;
  return `${bytes}`;
}

/** What the scheduler counts for a pod: the larger of the sum of its containers and its biggest init container. */
export function podRequest(pod: Pod, resource: 'cpu' | 'memory'): number {
  const of = (c: Container) => {
    const q = c.resources?.requests?.[resource] ?? c.resources?.limits?.[resource];
    return q === undefined ? 0 : resource === 'cpu' ? milliValue(q) : value(q);
  };
  const sum = (pod.spec?.containers ?? []).reduce((n, c) => n + of(c), 0);
  const init = Math.max(0, ...(pod.spec?.initContainers ?? []).map(of));
  return Math.max(sum, init);
}

/** Next steps for a FailedScheduling message (`0/3 nodes are available: 2 Insufficient cpu, …`). */
function unschedulable(pod: Pod, message: string): Diagnosis {
  const name = pod.metadata?.name ?? '';
  const why = message.replace(/\s*preemption:.*$/s, '').trim();
  if (/Insufficient cpu/.test(message)) {
    return { summary: `no node has ${formatCpu(podRequest(pod, 'cpu'))} CPU free for pod ${name} (${why})`, next: 'lower the CPU request or add a node (`kubectl describe nodes` shows what is allocated)' };
  }
  if (/Insufficient memory/.test(message)) {
    return { summary: `no node has ${formatMemory(podRequest(pod, 'memory'))} memory free for pod ${name} (${why})`, next: 'lower the memory request or add a node (`kubectl describe nodes` shows what is allocated)' };
  }
  if (/persistentvolumeclaim|PersistentVolumeClaim/.test(message)) {
    return { summary: `pod ${name} waits for its PersistentVolumeClaim (${why})`, next: 'check the claim with `kubectl get pvc` and `kubectl describe pvc`: create it, or give it a StorageClass or a matching PersistentVolume' };
  }
  if (/untolerated taint/.test(message)) {
    return { summary: `every node carries a taint pod ${name} does not tolerate (${why})`, next: 'add a toleration to the pod, or remove the taint (`kubectl taint nodes NODE KEY-`)' };
  }
  if (/node affinity|node selector|nodeSelector/i.test(message)) {
    return { summary: `no node matches the node selector or affinity of pod ${name} (${why})`, next: 'fix spec.nodeSelector / spec.affinity, or label a node (`kubectl label nodes NODE KEY=VALUE`)' };
  }
  if (/no nodes available|0\/0 nodes/.test(message)) {
    return { summary: `there are no nodes to run pod ${name} on`, next: 'start a node (`skiff up` runs one; `skiff agent` joins another machine) and check `kubectl get nodes`' };
  }
  if (/free ports|host port/i.test(message)) {
    return { summary: `the host port pod ${name} asks for is taken on every node (${why})`, next: 'drop spec.containers[].ports[].hostPort or free the port' };
  }
  return { summary: `pod ${name} cannot be scheduled: ${why}`, next: '`kubectl describe pod` and `kubectl describe nodes` show what the nodes lack' };
}

function statuses(pod: Pod): ContainerStatus[] {
  return [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
}

function memoryLimit(pod: Pod, container: string): string | undefined {
  const c = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].find((x) => x.name === container);
  const lim = c?.resources?.limits?.memory;
  return lim === undefined ? undefined : String(lim);
}

function podDiagnosis(pod: Pod, entries: readonly TimelineEntry[]): Diagnosis {
  const name = pod.metadata?.name ?? '';
  const ns = pod.metadata?.namespace && pod.metadata.namespace !== 'default' ? ` -n ${pod.metadata.namespace}` : '';
  const phase = pod.status?.phase ?? 'Pending';
  if (pod.metadata?.deletionTimestamp) return { summary: `pod ${name} is being deleted`, next: 'wait for its containers to stop (the grace period), or `kubectl delete pod --force --grace-period=0` if its node is gone' };
  if (phase === 'Succeeded') return { summary: `pod ${name} ran to completion`, next: `nothing to do; \`kubectl logs ${name}${ns}\` shows its output` };
  if (pod.status?.reason === 'Evicted') return { summary: `pod ${name} was evicted: ${pod.status.message ?? ''}`.trim(), next: 'its controller makes a replacement; free resources on the node or set requests so it is not evicted again' };
  if (!pod.spec?.nodeName) {
    const fs = lastEntry(entries, ['FailedScheduling']);
    if (fs) return unschedulable(pod, fs.message);
    if (pod.spec?.schedulingGates?.length) return { summary: `pod ${name} is held by scheduling gates (${pod.spec.schedulingGates.map((g) => g.name).join(', ')})`, next: 'remove the gates when the pod may be scheduled' };
    return { summary: `pod ${name} waits to be scheduled`, next: 'check that the scheduler runs (`skiff status`) and that nodes are Ready (`kubectl get nodes`)' };
  }
  const all = statuses(pod);
  for (const c of all) {
    const w = c.state?.waiting;
    if (!w?.reason) continue;
    if (w.reason === 'ErrImagePull' || w.reason === 'ImagePullBackOff' || w.reason === 'InvalidImageName') {
      return {
        summary: `image "${c.image}" of container ${c.name} cannot be pulled (${w.reason})${w.message ? `: ${w.message}` : ''}`,
        next: 'check the image name and registry (and imagePullSecrets); `skiff images` lists the node\'s images, `skiff pull IMAGE` fetches one, `skiff push` puts one in the built-in registry',
      };
    }
    if (w.reason === 'CrashLoopBackOff') {
      const t = c.lastState?.terminated;
      if (t?.reason === 'OOMKilled') {
        const lim = memoryLimit(pod, c.name);
        return { summary: `container ${c.name} keeps being killed for running out of memory (OOMKilled${lim ? `, limit ${lim}` : ''}; ${c.restartCount} restarts)`, next: `raise resources.limits.memory of container ${c.name}${lim ? ` above ${lim}` : ''} or make it use less` };
      }
      return {
        summary: `container ${c.name} keeps crashing (CrashLoopBackOff): last exit code ${t?.exitCode ?? '?'}${t?.reason ? ` (${t.reason})` : ''}, ${c.restartCount} restarts`,
        next: `read why it exits: \`kubectl logs ${name}${ns} -c ${c.name} --previous\``,
      };
    }
    if (w.reason === 'CreateContainerConfigError' || w.reason === 'CreateContainerError') {
      const missing = /(configmap|secret)/i.exec(w.message ?? '');
      return {
        summary: `container ${c.name} cannot be created (${w.reason})${w.message ? `: ${w.message}` : ''}`,
        next: missing ? `create the missing ${missing[1]!.toLowerCase() === 'secret' ? 'Secret' : 'ConfigMap'} or key (\`kubectl get ${missing[1]!.toLowerCase()}s${ns}\`), or mark the reference optional` : '`kubectl describe pod` shows the error; fix the container spec',
      };
    }
  }
  const mount = lastEntry(entries, ['FailedMount', 'FailedAttachVolume']);
  if (phase === 'Pending' && mount) return { summary: `a volume of pod ${name} cannot be mounted: ${mount.message}`, next: 'check that the ConfigMaps, Secrets and PersistentVolumeClaims the pod mounts exist (`kubectl get cm,secret,pvc`)' };
  const sandbox = lastEntry(entries, ['FailedCreatePodSandBox']);
  if (phase === 'Pending' && sandbox && !pod.status?.podIP) return { summary: `the pod sandbox of ${name} could not be set up: ${sandbox.message}`, next: 'check the node (`skiff status`, the `skiff up` log); runc, the CNI plugins and nftables must be installed' };
  if (phase === 'Failed') {
    const t = all.map((c) => c.state?.terminated).find((x) => x && (x.exitCode ?? 0) !== 0);
    if (t?.reason === 'OOMKilled') return { summary: `pod ${name} failed: a container was killed for running out of memory (OOMKilled)`, next: 'raise resources.limits.memory or make it use less' };
    return { summary: `pod ${name} failed${t ? `: exit code ${t.exitCode}${t.reason ? ` (${t.reason})` : ''}` : pod.status?.message ? `: ${pod.status.message}` : ''}`, next: `\`kubectl logs ${name}${ns}\` shows why` };
  }
  const oom = all.find((c) => c.lastState?.terminated?.reason === 'OOMKilled');
  const ready = pod.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
  if (phase === 'Running' && ready) {
    if (oom) {
      const lim = memoryLimit(pod, oom.name);
      return { summary: `pod ${name} runs, but container ${oom.name} was OOM-killed before (${oom.restartCount} restarts${lim ? `, limit ${lim}` : ''})`, next: `raise resources.limits.memory of container ${oom.name}` };
    }
    return { summary: `healthy: pod ${name} is running and ready on ${pod.spec.nodeName}`, next: 'nothing to do' };
  }
  const probe = lastEntry(entries, ['Unhealthy']);
  if (phase === 'Running' && probe) {
    const kind = /^(\w+) probe/i.exec(probe.message)?.[1]?.toLowerCase() ?? 'a';
    return { summary: `pod ${name} runs but is not ready: ${kind} probe failing (${probe.message})`, next: 'check the probe\'s path, port and timing against the app (`kubectl describe pod`, `kubectl logs`)' };
  }
  if (phase === 'Running') return { summary: `pod ${name} is running but not ready yet`, next: 'wait for its readiness probes; `kubectl describe pod` shows the container states' };
  const last = entries[entries.length - 1];
  return { summary: `pod ${name} is ${phase}${last ? ` (last: ${last.reason}: ${last.message})` : ''}`, next: `\`kubectl describe pod ${name}${ns}\` shows the details` };
}

function workloadDiagnosis(kind: string, obj: KObject, entries: readonly TimelineEntry[], pods: readonly { name: string; diagnosis: Diagnosis; healthy: boolean }[]): Diagnosis {
  const name = obj.metadata?.name ?? '';
  const spec = (obj.spec ?? {}) as Obj;
  const st = (obj.status ?? {}) as Obj;
  const want = spec.replicas ?? 1;
  const available = st.availableReplicas ?? 0;
  const conds = (st.conditions ?? []) as Obj[];
  const failure = conds.find((c) => c.type === 'ReplicaFailure' && c.status === 'True');
  if (failure) return { summary: `${kind} ${name} cannot create pods: ${failure.message ?? failure.reason}`, next: 'fix what the message names (quota, admission, a missing ServiceAccount); `kubectl describe` shows the events' };
  const failedCreate = lastEntry(entries, ['FailedCreate']);
  const sick = pods.find((p) => !p.healthy);
  const deadline = conds.find((c) => c.type === 'Progressing' && c.reason === 'ProgressDeadlineExceeded');
  if (available >= want && (st.updatedReplicas ?? want) >= want && !sick) {
    return { summary: `healthy: ${kind} ${name} has ${available}/${want} replicas available`, next: 'nothing to do' };
  }
  if (spec.paused) return { summary: `${kind} ${name} is paused (${available}/${want} available)`, next: `\`kubectl rollout resume ${kind.toLowerCase()}/${name}\`` };
  if (sick) return { summary: `${kind} ${name} has ${available}/${want} replicas available${deadline ? ' and exceeded its progress deadline' : ''}; pod ${sick.name}: ${sick.diagnosis.summary}`, next: sick.diagnosis.next };
  if (failedCreate) return { summary: `${kind} ${name} cannot create pods: ${failedCreate.message}`, next: 'fix what the message names; `kubectl describe` shows the events' };
  return { summary: `${kind} ${name} is rolling out: ${available}/${want} replicas available`, next: `wait, or watch it with \`kubectl rollout status ${kind.toLowerCase()}/${name}\`` };
}

export interface DiagnoseInput {
  kind: string;
  /** The object now; undefined when it is gone. */
  object: KObject | Pod | undefined;
  entries: readonly TimelineEntry[];
  /** For Deployments and ReplicaSets: their pods' diagnoses. */
  pods?: readonly { name: string; diagnosis: Diagnosis; healthy: boolean }[];
}

/** The verdict on one object and the next step. */
export function diagnose(input: DiagnoseInput): Diagnosis {
  const { kind, object, entries } = input;
  if (!object) {
    const last = entries[entries.length - 1];
    return { summary: `the ${kind.toLowerCase()} no longer exists${last ? ` (last: ${last.reason}: ${last.message})` : ''}`, next: 'nothing to do; its timeline is kept for a while after deletion' };
  }
  if (kind === 'Pod') return podDiagnosis(object as Pod, entries);
  if (kind === 'Deployment' || kind === 'ReplicaSet') return workloadDiagnosis(kind, object as KObject, entries, input.pods ?? []);
  const last = entries[entries.length - 1];
  return { summary: last ? `last: ${last.reason}: ${last.message}` : 'nothing recorded', next: `\`kubectl describe ${kind.toLowerCase()}\`` };
}

/** Whether a diagnosis says all is well. */
export function isHealthy(d: Diagnosis): boolean {
  return d.summary.startsWith('healthy') || /ran to completion/.test(d.summary);
}
