import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StatusError } from '../errors.js';
import { applyStrategicMergePatch, stripDirectives } from './strategic.js';

// Patched objects are free-form JSON; tests index into them directly.
type Any = any;

function deployment(): Any {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', finalizers: ['a'], labels: { app: 'web' } },
    spec: {
      replicas: 2,
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          containers: [
            { name: 'nginx', image: 'nginx:1.25', ports: [{ containerPort: 80, protocol: 'TCP' }], env: [{ name: 'A', value: '1' }], args: ['-x'] },
            { name: 'side', image: 'busybox' },
          ],
          tolerations: [{ key: 'k', operator: 'Exists' }],
        },
      },
    },
    status: { conditions: [{ type: 'Available', status: 'True' }, { type: 'Progressing', status: 'True' }] },
  };
}

test('the observed kubectl 3-way apply body (surface §1.10)', () => {
  const live = deployment();
  const before = structuredClone(live);
  const patch = {
    spec: {
      strategy: { $retainKeys: ['type'], rollingUpdate: null, type: 'Recreate' },
      template: {
        spec: {
          '$setElementOrder/containers': [{ name: 'nginx' }],
          containers: [{ image: 'nginx:1.27', name: 'nginx', ports: null }, { $patch: 'delete', name: 'side' }],
        },
      },
    },
  };
  const out = applyStrategicMergePatch<Any>(live, patch, 'Deployment');
  assert.deepEqual(out.spec.strategy, { type: 'Recreate' });
  assert.deepEqual(out.spec.template.spec.containers, [{ name: 'nginx', image: 'nginx:1.27', env: [{ name: 'A', value: '1' }], args: ['-x'] }]);
  assert.equal(out.spec.replicas, 2);
  assert.ok(!JSON.stringify(out).includes('$'), 'no directive survives');
  assert.deepEqual(live, before, 'input not mutated');
});

test('lists merge by their key; atomic lists are replaced', () => {
  const out = applyStrategicMergePatch<Any>(deployment(), {
    metadata: { finalizers: ['b', 'a'] },
    spec: {
      template: {
        spec: {
          containers: [{ name: 'nginx', ports: [{ containerPort: 443 }], env: [{ name: 'B', value: '2' }, { name: 'A', value: '9' }], args: ['-y'] }, { name: 'new', image: 'redis' }],
          tolerations: [{ key: 'other', operator: 'Exists' }],
        },
      },
    },
    status: { conditions: [{ type: 'Progressing', status: 'False' }] },
  });
  const [nginx, side, added] = out.spec.template.spec.containers;
  assert.deepEqual(nginx.ports, [{ containerPort: 80, protocol: 'TCP' }, { containerPort: 443 }]);
  assert.deepEqual(nginx.env, [{ name: 'A', value: '9' }, { name: 'B', value: '2' }]);
  assert.deepEqual(nginx.args, ['-y']);
  assert.equal(side.name, 'side');
  assert.deepEqual(added, { name: 'new', image: 'redis' });
  assert.deepEqual(out.spec.template.spec.tolerations, [{ key: 'other', operator: 'Exists' }]);
  assert.deepEqual(out.metadata.finalizers, ['a', 'b']);
  assert.deepEqual(out.status.conditions, [{ type: 'Available', status: 'True' }, { type: 'Progressing', status: 'False' }]);
});

test('ports merge by containerPort in a container but by port in a Service', () => {
  const svc = { kind: 'Service', spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }] } };
  const out = applyStrategicMergePatch<Any>(svc, { spec: { ports: [{ port: 80, targetPort: 9090 }, { port: 443, name: 'https' }] } });
  assert.deepEqual(out.spec.ports, [{ name: 'http', port: 80, targetPort: 9090 }, { port: 443, name: 'https' }]);
  const pod = { kind: 'Pod', spec: { containers: [{ name: 'c', ports: [{ containerPort: 80, name: 'http' }] }] } };
  const p2 = applyStrategicMergePatch<Any>(pod, { spec: { containers: [{ name: 'c', ports: [{ containerPort: 80, hostPort: 8080 }] }] } });
  assert.deepEqual(p2.spec.containers[0].ports, [{ containerPort: 80, name: 'http', hostPort: 8080 }]);
});

test('CronJob containers are found under spec.jobTemplate.spec.template.spec', () => {
  const cj = { kind: 'CronJob', spec: { jobTemplate: { spec: { template: { spec: { containers: [{ name: 'a', image: 'x' }, { name: 'b', image: 'y' }] } } } } } };
  const out = applyStrategicMergePatch<Any>(cj, { spec: { jobTemplate: { spec: { template: { spec: { containers: [{ name: 'b', image: 'z' }] } } } } } });
  assert.deepEqual(out.spec.jobTemplate.spec.template.spec.containers, [{ name: 'a', image: 'x' }, { name: 'b', image: 'z' }]);
});

test('kubectl rollout restart and set image bodies', () => {
  const out = applyStrategicMergePatch<Any>(deployment(), {
    spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': '2024-01-01T00:00:00Z' } }, spec: { containers: [{ name: 'side', image: 'busybox:2' }] } } },
  });
  assert.equal(out.spec.template.metadata.annotations['kubectl.kubernetes.io/restartedAt'], '2024-01-01T00:00:00Z');
  assert.deepEqual(out.spec.template.metadata.labels, { app: 'web' });
  assert.equal(out.spec.template.spec.containers[1].image, 'busybox:2');
  assert.equal(out.spec.template.spec.containers[0].image, 'nginx:1.25');
});

test('$patch directives on maps and lists', () => {
  const live = deployment();
  const replaced = applyStrategicMergePatch<Any>(live, { spec: { strategy: { $patch: 'replace', type: 'Recreate' } } });
  assert.deepEqual(replaced.spec.strategy, { type: 'Recreate' });
  const deleted = applyStrategicMergePatch<Any>(live, { spec: { strategy: { $patch: 'delete' } } });
  assert.equal('strategy' in deleted.spec, false);
  const listReplaced = applyStrategicMergePatch<Any>(live, { spec: { template: { spec: { containers: [{ $patch: 'replace' }, { name: 'only', image: 'x' }] } } } });
  assert.deepEqual(listReplaced.spec.template.spec.containers, [{ name: 'only', image: 'x' }]);
  const unfin = applyStrategicMergePatch<Any>(live, { metadata: { '$deleteFromPrimitiveList/finalizers': ['a'] } });
  assert.deepEqual(unfin.metadata.finalizers, []);
  assert.throws(() => applyStrategicMergePatch(live, { spec: { $patch: 'bogus' } }), (e: unknown) => e instanceof StatusError && e.code === 400);
});

test('$setElementOrder orders merged lists', () => {
  const out = applyStrategicMergePatch<Any>(deployment(), {
    spec: { template: { spec: { '$setElementOrder/containers': [{ name: 'new' }, { name: 'side' }, { name: 'nginx' }], containers: [{ name: 'new', image: 'x' }] } } },
  });
  assert.deepEqual(out.spec.template.spec.containers.map((c: Any) => c.name), ['new', 'side', 'nginx']);
});

test('errors: retainKeys mismatch is 422, a missing merge key is 500, a non-object patch 400', () => {
  assert.throws(() => applyStrategicMergePatch(deployment(), { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate', other: 1 } } }), (e: unknown) => e instanceof StatusError && e.code === 422);
  assert.throws(
    () => applyStrategicMergePatch(deployment(), { spec: { template: { spec: { containers: [{ image: 'x' }] } } } }),
    (e: unknown) => e instanceof StatusError && e.code === 500 && /does not contain declared merge key: name/.test(e.message),
  );
  assert.throws(() => applyStrategicMergePatch(deployment(), [1]), (e: unknown) => e instanceof StatusError && e.code === 400);
});

test('unknown kinds behave like a merge patch with ObjectMeta semantics', () => {
  const out = applyStrategicMergePatch<Any>({ kind: 'Widget', metadata: { ownerReferences: [{ uid: '1', name: 'a' }] }, spec: { items: [1, 2] } }, {
    metadata: { ownerReferences: [{ uid: '2', name: 'b' }] },
    spec: { items: [3] },
  });
  assert.deepEqual(out.metadata.ownerReferences.map((o: Any) => o.uid), ['1', '2']);
  assert.deepEqual(out.spec.items, [3]);
});

test('stripDirectives', () => {
  assert.deepEqual(stripDirectives({ a: { $patch: 'x', b: 1 }, l: [{ $patch: 'delete', name: 'x' }, { name: 'y' }], '$setElementOrder/l': [] }), { a: { b: 1 }, l: [{ name: 'y' }] });
});

test('a keyed list the original lacks is taken as sent', () => {
  const out = applyStrategicMergePatch<Any>({ kind: 'Pod', spec: { containers: [{ name: 'c' }] } }, { spec: { containers: [{ name: 'c', ports: [{ name: 'p', hostPort: 1 }] }] } });
  assert.deepEqual(out.spec.containers[0].ports, [{ name: 'p', hostPort: 1 }]);
});
