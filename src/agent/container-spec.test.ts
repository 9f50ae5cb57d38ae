import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { buildEnv, containerResources, expandVars, qosClass, resolveCommand, resolveUser, ContainerConfigError, mergeEnv } from './container-spec.js';

test('command/args against Entrypoint/Cmd follow the Kubernetes rules', () => {
  const img = { Entrypoint: ['/ep'], Cmd: ['a', 'b'] };
  assert.deepEqual(resolveCommand({}, img), ['/ep', 'a', 'b']);
  assert.deepEqual(resolveCommand({ command: ['x'] }, img), ['x']);
  assert.deepEqual(resolveCommand({ command: ['x'], args: ['y'] }, img), ['x', 'y']);
  assert.deepEqual(resolveCommand({ args: ['y'] }, img), ['/ep', 'y']);
  assert.deepEqual(resolveCommand({ args: ['$(A)', '$$(A)', '$(B)'] }, img, new Map([['A', '1']])), ['/ep', '1', '$(A)', '$(B)']);
});

test('$(VAR) expansion', () => {
  const v = new Map([['A', 'x']]);
  assert.equal(expandVars('$(A)-$(A)', v), 'x-x');
  assert.equal(expandVars('$$ $(NOPE) $ $(A', v), '$ $(NOPE) $ $(A');
});

test('env: envFrom prefix, configMap/secret refs, fieldRef, missing key errors', async () => {
  const pod: Pod = { metadata: { name: 'p', namespace: 'ns', uid: 'u1', labels: { a: 'b' } }, spec: { containers: [{ name: 'c', resources: { limits: { memory: '64Mi' } } }] } };
  const src = {
    getConfigMap: async (_ns: string, n: string) => (n === 'cm' ? { data: { K: 'v', X: 'from-cm' } } : undefined),
    getSecret: async (_ns: string, n: string) => (n === 's' ? { data: { pw: Buffer.from('pw!').toString('base64') } } : undefined),
    podIP: '10.0.0.5', hostIP: '127.0.0.1', nodeName: 'n1',
  };
  const env = await buildEnv(pod, {
    name: 'c',
    envFrom: [{ configMapRef: { name: 'cm' }, prefix: 'CM_' }],
    env: [
      { name: 'A', valueFrom: { configMapKeyRef: { name: 'cm', key: 'K' } } },
      { name: 'B', valueFrom: { secretKeyRef: { name: 's', key: 'pw' } } },
      { name: 'C', value: '$(A)/$(CM_X)' },
      { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
      { name: 'L', valueFrom: { fieldRef: { fieldPath: "metadata.labels['a']" } } },
      { name: 'M', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } },
      { name: 'O', valueFrom: { configMapKeyRef: { name: 'missing', key: 'k', optional: true } } },
    ],
  }, src);
  assert.deepEqual(Object.fromEntries(env), { CM_K: 'v', CM_X: 'from-cm', A: 'v', B: 'pw!', C: 'v/from-cm', IP: '10.0.0.5', L: 'b', M: '64' });
  await assert.rejects(buildEnv(pod, { name: 'c', env: [{ name: 'Z', valueFrom: { configMapKeyRef: { name: 'cm', key: 'nope' } } }] }, src), (e: Error) => e instanceof ContainerConfigError && /couldn't find key nope in ConfigMap ns\/cm/.test(e.message));
  assert.deepEqual(mergeEnv(['PATH=/bin', 'A=img'], new Map([['A', 'c']])), ['PATH=/bin', 'A=c']);
});

test('resources → cgroup values, and QoS classes', () => {
  assert.deepEqual(containerResources({ resources: { requests: { cpu: '250m' }, limits: { cpu: '500m', memory: '128Mi' } } }), { cpuShares: 256, cpuPeriod: 100000, cpuQuota: 50000, memoryLimitBytes: 134217728 });
  assert.deepEqual(containerResources({}), { cpuShares: 2 });
  const p = (r: object): Pod => ({ spec: { containers: [{ name: 'c', resources: r }] } });
  assert.equal(qosClass(p({})), 'BestEffort');
  assert.equal(qosClass(p({ limits: { cpu: '1', memory: '1Gi' }, requests: { cpu: '1', memory: '1Gi' } })), 'Guaranteed');
  assert.equal(qosClass(p({ requests: { cpu: '100m' } })), 'Burstable');
});

test('user: runAsUser/runAsGroup override the image USER resolved through passwd', () => {
  const passwd = 'root:x:0:0::/root:/bin/sh\napp:x:1000:2000::/home/app:/bin/sh\n';
  const read = (f: 'passwd' | 'group') => (f === 'passwd' ? passwd : 'root:x:0:\nstaff:x:50:\n');
  const pod: Pod = { spec: { containers: [] } };
  assert.deepEqual(resolveUser(pod, { name: 'c' }, 'app', read), { uid: 1000, gid: 2000, additionalGids: [] });
  assert.deepEqual(resolveUser(pod, { name: 'c' }, '1000:staff', read), { uid: 1000, gid: 50, additionalGids: [] });
  assert.deepEqual(resolveUser({ spec: { containers: [], securityContext: { runAsUser: 5, fsGroup: 7 } } }, { name: 'c', securityContext: { runAsGroup: 6 } }, 'app', read), { uid: 5, gid: 6, additionalGids: [7] });
  assert.throws(() => resolveUser(pod, { name: 'c', securityContext: { runAsNonRoot: true } }, undefined, read), /runAsNonRoot/);
});
