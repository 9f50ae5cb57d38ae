/** Pods (core/v1): strategy, the `kubectl get pods` columns, graceful deletion and binding to a node. */
import { badRequest, conflict, fieldErrors, invalid } from '../errors.js';
import type { KObject, Obj, ResourceDef } from '../registry.js';
import { age, humanDuration } from '../meta.js';
import { defaultPodSpec, validatePodSpec, validatePodUpdate } from './pod-spec.js';
import { defineResource, specOf, statusOf } from './common.js';

/** The STATUS column of `kubectl get pods`, as printPod computes it. */
export function podStatusReason(pod: KObject): string {
  const status = statusOf(pod);
  let reason: string = status.reason || status.phase || 'Unknown';
  const initStatuses: Obj[] = status.initContainerStatuses ?? [];
  const initContainers: Obj[] = specOf(pod).initContainers ?? [];
  let initializing = false;
  for (let i = 0; i < initStatuses.length; i++) {
    const c = initStatuses[i];
    const sidecar = initContainers.find((x) => x.name === c.name)?.restartPolicy === 'Always';
    if (c.state?.terminated && c.state.terminated.exitCode === 0) continue;
    if (sidecar && c.started) continue;
    if (c.state?.terminated) {
      reason = c.state.terminated.reason ? `Init:${c.state.terminated.reason}` : c.state.terminated.signal ? `Init:Signal:${c.state.terminated.signal}` : `Init:ExitCode:${c.state.terminated.exitCode}`;
    } else if (c.state?.waiting?.reason && c.state.waiting.reason !== 'PodInitializing') {
      reason = `Init:${c.state.waiting.reason}`;
    } else {
      reason = `Init:${i}/${initContainers.length}`;
    }
    initializing = true;
    break;
  }
  if (!initializing) {
    let hasRunning = false;
    const cs: Obj[] = status.containerStatuses ?? [];
    for (let i = cs.length - 1; i >= 0; i--) {
      const c = cs[i];
      if (c.state?.waiting?.reason) reason = c.state.waiting.reason;
      else if (c.state?.terminated?.reason) reason = c.state.terminated.reason;
      else if (c.state?.terminated) reason = c.state.terminated.signal ? `Signal:${c.state.terminated.signal}` : `ExitCode:${c.state.terminated.exitCode}`;
      else if (c.ready && c.state?.running) hasRunning = true;
    }
    if (reason === 'Completed' && hasRunning) {
      const ready = (status.conditions ?? []).some((x: Obj) => x.type === 'Ready' && x.status === 'True');
      reason = ready ? 'Running' : 'NotReady';
    }
  }
  if (pod.metadata?.deletionTimestamp && status.reason === 'NodeLost') reason = 'Unknown';
  else if (pod.metadata?.deletionTimestamp) reason = 'Terminating';
  return reason;
}

function podCells(pod: KObject, now: number): unknown[] {
  const status = statusOf(pod);
  const spec = specOf(pod);
  const containers: Obj[] = spec.containers ?? [];
  const cs: Obj[] = status.containerStatuses ?? [];
  const ready = cs.filter((c) => c.ready).length;
  let restarts = 0;
  let lastRestart = 0;
  for (const c of [...cs, ...(status.initContainerStatuses ?? [])]) {
    restarts += c.restartCount ?? 0;
    const t = c.lastState?.terminated?.finishedAt;
    if (t) lastRestart = Math.max(lastRestart, Date.parse(t));
  }
  const restartCell = restarts && lastRestart ? `${restarts} (${humanDuration(now - lastRestart)} ago)` : String(restarts);
  const gates: Obj[] = spec.readinessGates ?? [];
  const gateCell = gates.length
    ? `${gates.filter((g) => (status.conditions ?? []).some((c: Obj) => c.type === g.conditionType && c.status === 'True')).length}/${gates.length}`
    : '<none>';
  return [
    pod.metadata?.name,
    `${ready}/${containers.length}`,
    podStatusReason(pod),
    restartCell,
    age(pod, now),
    status.podIP || '<none>',
    spec.nodeName || '<none>',
    status.nominatedNodeName || '<none>',
    gateCell,
  ];
}

function qosClass(pod: KObject): string {
  const spec = specOf(pod);
  const all: Obj[] = [...(spec.containers ?? []), ...(spec.initContainers ?? [])];
  let anyRequest = false;
  let guaranteed = true;
  for (const c of all) {
    const req = c.resources?.requests ?? {};
    const lim = c.resources?.limits ?? {};
    for (const r of ['cpu', 'memory']) {
      if (req[r] !== undefined || lim[r] !== undefined) anyRequest = true;
      if (lim[r] === undefined || (req[r] !== undefined && String(req[r]) !== String(lim[r]))) guaranteed = false;
    }
  }
  if (!anyRequest) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

export const pods: ResourceDef = {
  group: '',
  versions: ['v1'],
  kind: 'Pod',
  plural: 'pods',
  singular: 'pod',
  namespaced: true,
  shortNames: ['po'],
  categories: ['all'],
  subresources: ['status', 'binding', 'eviction', 'log', 'exec', 'attach', 'portforward', 'ephemeralcontainers'],
  strategy: {
    hasStatus: true,
    // Clients see a deleted pod's final state, as upstream's pod storage returns it.
    returnDeletedObject: true,
    defaults(obj) {
      defaultPodSpec((obj.spec ??= {}) as Obj);
    },
    prepareForCreate(obj) {
      obj.status = { phase: 'Pending', qosClass: qosClass(obj) };
    },
    checkGracefulDelete: podGracePeriod,
    prepareForUpdate(obj, old) {
      // The scheduler binds through pods/binding; keep a bound node on updates that omit it.
      const spec = specOf(obj);
      const oldSpec = specOf(old);
      if (!spec.nodeName && oldSpec.nodeName) spec.nodeName = oldSpec.nodeName;
    },
    validate(obj) {
      return validatePodSpec(specOf(obj), 'spec');
    },
    validateUpdate(obj, old) {
      return [...validatePodSpec(specOf(obj), 'spec'), ...validatePodUpdate(obj, old)];
    },
    selectableFields: {
      'spec.nodeName': (o) => specOf(o).nodeName ?? '',
      'spec.restartPolicy': (o) => specOf(o).restartPolicy ?? '',
      'spec.schedulerName': (o) => specOf(o).schedulerName ?? '',
      'spec.serviceAccountName': (o) => specOf(o).serviceAccountName ?? '',
      'spec.hostNetwork': (o) => String(!!specOf(o).hostNetwork),
      'status.phase': (o) => statusOf(o).phase ?? '',
      'status.podIP': (o) => statusOf(o).podIP ?? '',
      'status.nominatedNodeName': (o) => statusOf(o).nominatedNodeName ?? '',
    },
  },
  table: {
    columns: [
      { name: 'Name', type: 'string', format: 'name' },
      { name: 'Ready', type: 'string', description: 'The aggregate readiness state of this pod for accepting traffic.' },
      { name: 'Status', type: 'string', description: 'The aggregate status of the containers in this pod.' },
      { name: 'Restarts', type: 'string', description: 'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.' },
      { name: 'Age', type: 'string' },
      { name: 'IP', type: 'string', priority: 1, description: 'IP address allocated to the pod.' },
      { name: 'Node', type: 'string', priority: 1, description: 'Name of the node where the pod is running.' },
      { name: 'Nominated Node', type: 'string', priority: 1 },
      { name: 'Readiness Gates', type: 'string', priority: 1 },
    ],
    cells: podCells,
  },
};

/**
 * Seconds of graceful termination a DELETE grants a pod (0 = none), as the pod strategy's
 * CheckGracefulDelete: unscheduled or finished pods have no kubelet to wait for.
 */
export function podGracePeriod(pod: KObject, requested: number | undefined): number {
  const spec = specOf(pod) as { nodeName?: string; terminationGracePeriodSeconds?: number };
  const phase = statusOf(pod).phase as string | undefined;
  if (!spec.nodeName || phase === 'Succeeded' || phase === 'Failed') return 0;
  const g = requested ?? spec.terminationGracePeriodSeconds ?? 30;
  if (g < 0) throw badRequest('gracePeriodSeconds must be non-negative');
  return g;
}

/** Checks a Binding before it is applied: it must name a target node. */
export function validateBinding(podName: string, binding: KObject): void {
  const target = binding.target as { name?: string } | undefined;
  if (!target?.name) throw invalid('', 'Binding', podName, [fieldErrors.required('target.name')]);
}

/**
 * Assigns `pod` to the Binding's target node (pods/binding), as upstream's BindingREST:
 * a pod that is being deleted or already assigned cannot be bound again.
 */
export function bindPodToNode(pod: KObject, binding: KObject): KObject {
  const podName = pod.metadata?.name ?? '';
  validateBinding(podName, binding);
  const spec = (pod.spec ??= {}) as { nodeName?: string };
  if (pod.metadata?.deletionTimestamp) throw conflict({ group: '', resource: 'pods' }, podName, `pod ${podName} is being deleted, cannot be assigned to a host`);
  if (spec.nodeName) throw conflict({ group: '', resource: 'pods' }, podName, `pod ${podName} is already assigned to node "${spec.nodeName}"`);
  spec.nodeName = (binding.target as { name: string }).name;
  return pod;
}

/** POST namespaces/NS/bindings: the older way to bind, a write to pods/NAME/binding. */
export const bindings = defineResource('', 'Binding', 'bindings', true, {
  verbs: ['create'],
  createAs: { plural: 'pods', subresource: 'binding' },
});
