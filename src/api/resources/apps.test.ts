import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fieldErrorString, type FieldError } from '../errors.js';
import type { KObject } from '../registry.js';
import { appsResources, controllerrevisions, daemonsets, deployments, replicasets, statefulsets } from './apps.js';

const msgs = (errs: FieldError[] | undefined): string[] => (errs ?? []).map(fieldErrorString);
const NOW = Date.parse('2024-05-01T12:00:00Z');

/** What `kubectl create deployment web --image=nginx` sends. */
function kubectlCreateDeployment(): KObject {
  return {
    kind: 'Deployment',
    apiVersion: 'apps/v1',
    metadata: { name: 'web', creationTimestamp: null as unknown as string, labels: { app: 'web' } },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { creationTimestamp: null, labels: { app: 'web' } },
        spec: { containers: [{ name: 'nginx', image: 'nginx', resources: {} }] },
      },
      strategy: {},
    },
    status: {},
  };
}

function defaulted<T extends KObject>(obj: T, def = deployments): T {
  def.strategy.defaults!(obj);
  return obj;
}

test('a kubectl-created Deployment gets the upstream defaults and validates', () => {
  const d = defaulted(kubectlCreateDeployment());
  const s = d.spec as Record<string, any>;
  assert.deepEqual(s.strategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } });
  assert.equal(s.revisionHistoryLimit, 10);
  assert.equal(s.progressDeadlineSeconds, 600);
  const ps = s.template.spec;
  assert.equal(ps.restartPolicy, 'Always');
  assert.equal(ps.dnsPolicy, 'ClusterFirst');
  assert.equal(ps.terminationGracePeriodSeconds, 30);
  assert.equal(ps.schedulerName, 'default-scheduler');
  assert.deepEqual(ps.securityContext, {});
  assert.equal(ps.containers[0].imagePullPolicy, 'Always');
  assert.equal(ps.containers[0].terminationMessagePath, '/dev/termination-log');
  assert.deepEqual(msgs(deployments.strategy.validate!(d)), []);
  const noReplicas = kubectlCreateDeployment();
  delete (noReplicas.spec as Record<string, any>).replicas;
  assert.equal((defaulted(noReplicas).spec as Record<string, any>).replicas, 1);
});

test('deployment validation messages', () => {
  const d = defaulted(kubectlCreateDeployment());
  const s = d.spec as Record<string, any>;
  s.replicas = -1;
  assert.deepEqual(msgs(deployments.strategy.validate!(d)), ['spec.replicas: Invalid value: -1: must be greater than or equal to 0']);

  const e = defaulted(kubectlCreateDeployment());
  (e.spec as Record<string, any>).selector = {};
  assert.deepEqual(msgs(deployments.strategy.validate!(e)), [
    'spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment',
  ]);

  const m = defaulted(kubectlCreateDeployment());
  (m.spec as Record<string, any>).template.metadata.labels = { app: 'x' };
  assert.deepEqual(msgs(deployments.strategy.validate!(m)), [
    'spec.template.metadata.labels: Invalid value: map[string]string{"app":"x"}: `selector` does not match template `labels`',
  ]);

  const r = defaulted(kubectlCreateDeployment());
  (r.spec as Record<string, any>).template.spec.restartPolicy = 'Never';
  assert.deepEqual(msgs(deployments.strategy.validate!(r)), ['spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"']);
});

test('deployment strategy validation', () => {
  const d = defaulted(kubectlCreateDeployment());
  const st = (d.spec as Record<string, any>).strategy;
  st.rollingUpdate = { maxSurge: 0, maxUnavailable: 0 };
  assert.deepEqual(msgs(deployments.strategy.validate!(d)), [
    'spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:0, IntVal:0, StrVal:""}: may not be 0 when `maxSurge` is 0',
  ]);
  st.rollingUpdate = { maxSurge: '25%', maxUnavailable: '150%' };
  assert.deepEqual(msgs(deployments.strategy.validate!(d)), [
    'spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:"150%"}: must not be greater than 100%',
  ]);
  st.type = 'Recreate';
  assert.deepEqual(msgs(deployments.strategy.validate!(d)), ["spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'"]);
  delete st.rollingUpdate;
  const s = d.spec as Record<string, any>;
  s.minReadySeconds = 700;
  s.revisionHistoryLimit = -1;
  assert.deepEqual(msgs(deployments.strategy.validate!(d)), [
    'spec.revisionHistoryLimit: Invalid value: -1: must be greater than or equal to 0',
    'spec.progressDeadlineSeconds: Invalid value: 600: must be greater than minReadySeconds',
  ]);
});

test('selectors are immutable on update', () => {
  const old = defaulted(kubectlCreateDeployment());
  const upd = defaulted(kubectlCreateDeployment());
  (upd.spec as Record<string, any>).selector = { matchLabels: { app: 'web', tier: 'fe' } };
  (upd.spec as Record<string, any>).template.metadata.labels = { app: 'web', tier: 'fe' };
  assert.deepEqual(msgs(deployments.strategy.validateUpdate!(upd, old)), [
    'spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"web", "tier":"fe"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable',
  ]);
  assert.deepEqual(msgs(deployments.strategy.validateUpdate!(old, old)), []);
});

test('annotation changes bump a deployment generation (rollout bookkeeping)', () => {
  const old = defaulted(kubectlCreateDeployment());
  old.metadata!.generation = 3;
  const upd = structuredClone(old);
  upd.metadata!.annotations = { 'kubernetes.io/change-cause': 'x' };
  deployments.strategy.prepareForUpdate!(upd, old);
  assert.equal(upd.metadata!.generation, 4);
});

test('deployment table cells', () => {
  const d = defaulted(kubectlCreateDeployment());
  d.metadata!.creationTimestamp = '2024-05-01T11:55:00Z';
  d.status = { replicas: 3, readyReplicas: 2, updatedReplicas: 3, availableReplicas: 2 };
  (d.spec as Record<string, any>).replicas = 3;
  assert.deepEqual(deployments.table!.columns.map((c) => [c.name, c.priority ?? 0]), [
    ['Name', 0], ['Ready', 0], ['Up-to-date', 0], ['Available', 0], ['Age', 0], ['Containers', 1], ['Images', 1], ['Selector', 1],
  ]);
  assert.deepEqual(deployments.table!.cells(d, NOW), ['web', '2/3', 3, 2, '5m', 'nginx', 'nginx', 'app=web']);
});

function replicaSet(): KObject {
  return {
    metadata: { name: 'web-5d4f', creationTimestamp: '2024-04-30T12:00:00Z' },
    spec: {
      selector: { matchLabels: { app: 'web', 'pod-template-hash': '5d4f' } },
      template: { metadata: { labels: { app: 'web', 'pod-template-hash': '5d4f' } }, spec: { containers: [{ name: 'a', image: 'nginx:1' }, { name: 'b', image: 'busybox' }] } },
    },
    status: { replicas: 2, readyReplicas: 1 },
  };
}

test('replicasets: default replicas, validation and table', () => {
  const rs = defaulted(replicaSet(), replicasets);
  assert.equal((rs.spec as Record<string, any>).replicas, 1);
  assert.deepEqual(msgs(replicasets.strategy.validate!(rs)), []);
  assert.deepEqual(replicasets.table!.cells(rs, NOW), ['web-5d4f', 1, 2, 1, '24h', 'a,b', 'nginx:1,busybox', 'app=web,pod-template-hash=5d4f']);
  (rs.spec as Record<string, any>).selector = { matchLabels: {} };
  assert.deepEqual(msgs(replicasets.strategy.validate!(rs)), [
    'spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment',
  ]);
});

function daemonSet(): KObject {
  return {
    metadata: { name: 'agent', creationTimestamp: '2024-05-01T11:00:00Z' },
    spec: {
      selector: { matchLabels: { app: 'agent' } },
      template: { metadata: { labels: { app: 'agent' } }, spec: { nodeSelector: { 'kubernetes.io/os': 'linux' }, containers: [{ name: 'agent', image: 'agent:2' }] } },
    },
  };
}

test('daemonsets: defaults, rolling update rules, template generation, table', () => {
  const ds = defaulted(daemonSet(), daemonsets);
  const s = ds.spec as Record<string, any>;
  assert.deepEqual(s.updateStrategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } });
  assert.equal(s.revisionHistoryLimit, 10);
  assert.deepEqual(msgs(daemonsets.strategy.validate!(ds)), []);
  s.updateStrategy.rollingUpdate = { maxUnavailable: 1, maxSurge: 1 };
  assert.deepEqual(msgs(daemonsets.strategy.validate!(ds)), [
    'spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: intstr.IntOrString{Type:0, IntVal:1, StrVal:""}: may not be set when maxUnavailable is non-zero',
  ]);
  s.updateStrategy.rollingUpdate = { maxUnavailable: 0, maxSurge: 0 };
  assert.deepEqual(msgs(daemonsets.strategy.validate!(ds)), ['spec.updateStrategy.rollingUpdate.maxUnavailable: Required value: cannot be 0 when maxSurge is 0']);

  const created = defaulted(daemonSet(), daemonsets);
  daemonsets.strategy.prepareForCreate!(created);
  assert.equal(created.metadata!.annotations!['deprecated.daemonset.template.generation'], '1');
  const upd = structuredClone(created);
  (upd.spec as Record<string, any>).template.spec.containers[0].image = 'agent:3';
  daemonsets.strategy.prepareForUpdate!(upd, created);
  assert.equal(upd.metadata!.annotations!['deprecated.daemonset.template.generation'], '2');

  created.status = { desiredNumberScheduled: 3, currentNumberScheduled: 3, numberReady: 2, updatedNumberScheduled: 3, numberAvailable: 2 };
  assert.deepEqual(daemonsets.table!.columns.filter((c) => !c.priority).map((c) => c.name), ['Name', 'Desired', 'Current', 'Ready', 'Up-to-date', 'Available', 'Node Selector', 'Age']);
  assert.deepEqual(daemonsets.table!.cells(created, NOW), ['agent', 3, 3, 2, 3, 2, 'kubernetes.io/os=linux', '60m', 'agent', 'agent:2', 'app=agent']);
});

function statefulSet(): KObject {
  return {
    metadata: { name: 'db', creationTimestamp: '2024-05-01T11:59:00Z' },
    spec: {
      serviceName: 'db',
      selector: { matchLabels: { app: 'db' } },
      template: { metadata: { labels: { app: 'db' } }, spec: { containers: [{ name: 'pg', image: 'postgres:16', volumeMounts: [{ name: 'data', mountPath: '/var/lib/postgresql' }] }] } },
      volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
    },
  };
}

test('statefulsets: defaults, validation, immutable fields, table', () => {
  const sts = defaulted(statefulSet(), statefulsets);
  const s = sts.spec as Record<string, any>;
  assert.equal(s.replicas, 1);
  assert.equal(s.podManagementPolicy, 'OrderedReady');
  assert.deepEqual(s.updateStrategy, { type: 'RollingUpdate', rollingUpdate: { partition: 0 } });
  assert.equal(s.revisionHistoryLimit, 10);
  assert.deepEqual(s.persistentVolumeClaimRetentionPolicy, { whenDeleted: 'Retain', whenScaled: 'Retain' });
  assert.equal(s.volumeClaimTemplates[0].spec.volumeMode, 'Filesystem');
  assert.equal(s.volumeClaimTemplates[0].status.phase, 'Pending');
  // Mounts may name a claim template; anything else is still not found.
  assert.deepEqual(msgs(statefulsets.strategy.validate!(sts)), []);
  s.template.spec.containers[0].volumeMounts.push({ name: 'logs', mountPath: '/logs' });
  assert.deepEqual(msgs(statefulsets.strategy.validate!(sts)), ['spec.template.spec.containers[0].volumeMounts[1].name: Not found: "logs"']);
  s.template.spec.containers[0].volumeMounts.pop();
  s.podManagementPolicy = 'Random';
  assert.deepEqual(msgs(statefulsets.strategy.validate!(sts)), ["spec.podManagementPolicy: Invalid value: \"Random\": must be 'OrderedReady' or 'Parallel'"]);
  s.podManagementPolicy = 'OrderedReady';

  const upd = structuredClone(sts);
  (upd.spec as Record<string, any>).replicas = 5;
  assert.deepEqual(msgs(statefulsets.strategy.validateUpdate!(upd, sts)), []);
  (upd.spec as Record<string, any>).serviceName = 'other';
  assert.deepEqual(msgs(statefulsets.strategy.validateUpdate!(upd, sts)), [
    "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
  ]);
  sts.status = { readyReplicas: 1 };
  assert.deepEqual(statefulsets.table!.cells(sts, NOW), ['db', '1/1', '60s', 'pg', 'postgres:16']);
});

test('controllerrevisions: controller column and data rules', () => {
  const cr: KObject = {
    metadata: { name: 'agent-6b7', creationTimestamp: '2024-05-01T11:59:30Z', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'agent', uid: 'u', controller: true }] },
    data: { spec: {} },
    revision: 2,
  };
  assert.deepEqual(controllerrevisions.table!.cells(cr, NOW), ['agent-6b7', 'daemonset.apps/agent', 2, '30s']);
  assert.deepEqual(msgs(controllerrevisions.strategy.validate!({ metadata: { name: 'x' }, revision: -1 })), [
    'data: Required value: data is mandatory',
    'revision: Invalid value: -1: must be greater than or equal to 0',
  ]);
});

test('apps resources are registered with the names kubectl uses', () => {
  assert.deepEqual(
    appsResources.map((d) => [d.plural, d.shortNames ?? [], d.subresources ?? []]),
    [
      ['controllerrevisions', [], []],
      ['daemonsets', ['ds'], ['status']],
      ['deployments', ['deploy'], ['status', 'scale']],
      ['replicasets', ['rs'], ['status', 'scale']],
      ['statefulsets', ['sts'], ['status', 'scale']],
    ],
  );
});
