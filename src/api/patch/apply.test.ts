import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyServerSideApply } from './apply.js';

// Free-form JSON objects.
type Any = any;

const applied = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'default', labels: { app: 'web' } },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: 'web' } },
    template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'nginx', image: 'nginx:1.27', ports: [{ containerPort: 80 }] }] } },
  },
};

test('creates from the applied configuration when nothing is live', () => {
  const out = applyServerSideApply<Any>(undefined, { ...applied, metadata: { ...applied.metadata, managedFields: [{ manager: 'x' }] } });
  assert.deepEqual(out.spec, applied.spec);
  assert.equal(out.metadata.managedFields, undefined);
});

test('merges into the live object, keeping server-set and other managers\' fields', () => {
  const live = {
    ...structuredClone(applied),
    metadata: { ...applied.metadata, uid: 'u1', resourceVersion: '5', annotations: { 'deployment.kubernetes.io/revision': '1' } },
    spec: {
      ...structuredClone(applied.spec),
      replicas: 5,
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'nginx', image: 'nginx:1.25', ports: [{ containerPort: 80, protocol: 'TCP' }] }, { name: 'istio-proxy', image: 'proxy' }] } },
    },
    status: { replicas: 5 },
  };
  const before = structuredClone(live);
  const out = applyServerSideApply<Any>(live, { ...applied, spec: { ...applied.spec, strategy: null } });
  assert.equal(out.metadata.uid, 'u1');
  assert.equal(out.metadata.annotations['deployment.kubernetes.io/revision'], '1');
  assert.equal(out.spec.replicas, 2);
  assert.deepEqual(out.spec.template.spec.containers, [
    { name: 'nginx', image: 'nginx:1.27', ports: [{ containerPort: 80, protocol: 'TCP' }] },
    { name: 'istio-proxy', image: 'proxy' },
  ]);
  assert.deepEqual(out.status, { replicas: 5 });
  assert.equal('strategy' in out.spec, false);
  assert.deepEqual(live, before);
});
