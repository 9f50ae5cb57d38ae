import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { diagnose, formatCpu, formatMemory, isHealthy } from './diagnosis.js';
import type { TimelineEntry } from './timeline-entries.js';

const e = (reason: string, message: string, type: 'Normal' | 'Warning' = 'Warning'): TimelineEntry => ({ time: '2024-01-01T00:00:00.000Z', type, reason, message, source: 'scheduler' });

function pod(o: { bound?: boolean; phase?: string; ready?: boolean; cs?: object[]; cpu?: string; mem?: string; limitMem?: string; ns?: string } = {}): Pod {
  return {
    metadata: { name: 'web', namespace: o.ns ?? 'default' },
    spec: {
      ...(o.bound === false ? {} : { nodeName: 'n1' }),
      containers: [{ name: 'app', image: 'busybox', resources: { requests: { ...(o.cpu ? { cpu: o.cpu } : {}), ...(o.mem ? { memory: o.mem } : {}) }, limits: o.limitMem ? { memory: o.limitMem } : {} } }],
    },
    status: { phase: o.phase ?? 'Running', conditions: [{ type: 'Ready', status: o.ready ? 'True' : 'False' }], containerStatuses: o.cs as never },
  };
}
const waiting = (reason: string, message = '', last?: object) => [{ name: 'app', image: 'registry.example/app:1', imageID: '', ready: false, restartCount: 4, state: { waiting: { reason, message } }, ...(last ? { lastState: { terminated: last } } : {}) }];

test('diagnosis table', () => {
  const cases: { name: string; pod: Pod | undefined; entries?: TimelineEntry[]; summary: RegExp; next: RegExp }[] = [
    { name: 'Insufficient cpu', pod: pod({ bound: false, phase: 'Pending', cpu: '500m' }), entries: [e('FailedScheduling', '0/3 nodes are available: 2 Insufficient cpu, 1 node(s) had untolerated taint {x: y}. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.')], summary: /^no node has 500m CPU free for pod web \(0\/3 nodes are available: 2 Insufficient cpu, 1 node\(s\) had untolerated taint \{x: y\}\.\)$/, next: /lower the CPU request or add a node/ },
    { name: 'Insufficient memory', pod: pod({ bound: false, phase: 'Pending', mem: '3Gi' }), entries: [e('FailedScheduling', '0/1 nodes are available: 1 Insufficient memory.')], summary: /no node has 3Gi memory free/, next: /lower the memory request/ },
    { name: 'taint', pod: pod({ bound: false, phase: 'Pending' }), entries: [e('FailedScheduling', '0/1 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}.')], summary: /taint/, next: /toleration/ },
    { name: 'pending PVC', pod: pod({ bound: false, phase: 'Pending' }), entries: [e('FailedScheduling', '0/1 nodes are available: persistentvolumeclaim "data" not found.')], summary: /waits for its PersistentVolumeClaim/, next: /kubectl get pvc/ },
    { name: 'not scheduled yet', pod: pod({ bound: false, phase: 'Pending' }), summary: /waits to be scheduled/, next: /skiff status/ },
    { name: 'ErrImagePull', pod: pod({ phase: 'Pending', cs: waiting('ErrImagePull', 'Failed to pull image "registry.example/app:1": getaddrinfo ENOTFOUND registry.example') }), summary: /image "registry.example\/app:1" of container app cannot be pulled \(ErrImagePull\): .*ENOTFOUND/, next: /skiff images.*skiff pull/ },
    { name: 'ImagePullBackOff', pod: pod({ phase: 'Pending', cs: waiting('ImagePullBackOff', 'Back-off pulling image') }), summary: /cannot be pulled \(ImagePullBackOff\)/, next: /check the image name and registry/ },
    { name: 'CrashLoopBackOff', pod: pod({ ns: 'shop', cs: waiting('CrashLoopBackOff', 'back-off 40s', { exitCode: 3, reason: 'Error' }) }), summary: /keeps crashing \(CrashLoopBackOff\): last exit code 3 \(Error\), 4 restarts/, next: /kubectl logs web -n shop -c app --previous/ },
    { name: 'OOMKilled crash loop', pod: pod({ limitMem: '64Mi', cs: waiting('CrashLoopBackOff', '', { exitCode: 137, reason: 'OOMKilled' }) }), summary: /OOMKilled, limit 64Mi/, next: /raise resources.limits.memory of container app above 64Mi/ },
    { name: 'missing ConfigMap key', pod: pod({ phase: 'Pending', cs: waiting('CreateContainerConfigError', 'couldn\'t find key url in ConfigMap default/settings') }), summary: /cannot be created \(CreateContainerConfigError\)/, next: /create the missing ConfigMap/ },
    { name: 'missing Secret', pod: pod({ phase: 'Pending', cs: waiting('CreateContainerConfigError', 'secret "db" not found') }), summary: /CreateContainerConfigError/, next: /missing Secret/ },
    { name: 'probe failing', pod: pod({ phase: 'Running', ready: false, cs: [{ name: 'app', image: 'x', imageID: '', ready: false, restartCount: 0, state: { running: {} } }] }), entries: [e('Unhealthy', 'Readiness probe failed: HTTP probe failed with statuscode: 503')], summary: /not ready: readiness probe failing/, next: /probe's path, port/ },
    { name: 'healthy', pod: pod({ phase: 'Running', ready: true, cs: [{ name: 'app', image: 'x', imageID: '', ready: true, restartCount: 0, state: { running: {} } }] }), summary: /^healthy: pod web is running and ready on n1$/, next: /nothing to do/ },
    { name: 'failed with exit code', pod: pod({ phase: 'Failed', cs: [{ name: 'app', image: 'x', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: 2, reason: 'Error' } } }] }), summary: /failed: exit code 2 \(Error\)/, next: /kubectl logs web/ },
    { name: 'completed', pod: pod({ phase: 'Succeeded' }), summary: /ran to completion/, next: /nothing to do/ },
    { name: 'gone', pod: undefined, entries: [e('Deleted', 'Pod deleted', 'Normal')], summary: /no longer exists \(last: Deleted: Pod deleted\)/, next: /kept for a while/ },
  ];
  for (const c of cases) {
    const d = diagnose({ kind: 'Pod', object: c.pod, entries: c.entries ?? [] });
    assert.match(d.summary, c.summary, `${c.name}: summary ${d.summary}`);
    assert.match(d.next, c.next, `${c.name}: next ${d.next}`);
  }
});

test('deployment diagnosis names the first unhealthy pod', () => {
  const dep = { kind: 'Deployment', metadata: { name: 'web' }, spec: { replicas: 2 }, status: { availableReplicas: 1, updatedReplicas: 2 } };
  const sick = diagnose({ kind: 'Pod', object: pod({ cs: waiting('CrashLoopBackOff', '', { exitCode: 1 }) }), entries: [] });
  const ok = diagnose({ kind: 'Pod', object: pod({ ready: true }), entries: [] });
  assert.ok(isHealthy(ok) && !isHealthy(sick));
  const d = diagnose({ kind: 'Deployment', object: dep, entries: [], pods: [{ name: 'web-a', diagnosis: ok, healthy: true }, { name: 'web-b', diagnosis: sick, healthy: false }] });
  assert.match(d.summary, /^Deployment web has 1\/2 replicas available; pod web-b: container app keeps crashing/);
  assert.match(d.next, /--previous/);
  const fine = diagnose({ kind: 'Deployment', object: { ...dep, status: { availableReplicas: 2, updatedReplicas: 2 } }, entries: [], pods: [{ name: 'web-a', diagnosis: ok, healthy: true }] });
  assert.equal(fine.summary, 'healthy: Deployment web has 2/2 replicas available');
});

test('quantities in diagnoses', () => {
  assert.equal(formatCpu(500), '500m');
  assert.equal(formatCpu(2000), '2');
  assert.equal(formatMemory(3 * 2 ** 30), '3Gi');
  assert.equal(formatMemory(1.5 * 2 ** 20), '1.5Mi');
});
