import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Labels } from '../runtime/types.js';
import {
  buildEnv, containerHash, containerResources, expandVars, generateContainerConfig, HASH_ANNOTATION, qosClass, resolveCommand, resolveUser,
  ContainerConfigError, mergeEnv,
} from './container-spec.js';

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
  // /etc/group memberships of the user, then supplementalGroups and fsGroup (containerd's order); Strict skips the file.
  const withGroups = (f: 'passwd' | 'group') => (f === 'passwd' ? passwd : 'root:x:0:\nstaff:x:50:app,bob\nwheel:x:10:root\n');
  assert.deepEqual(resolveUser({ spec: { containers: [], securityContext: { supplementalGroups: [60], fsGroup: 70 } } }, { name: 'c' }, 'app', withGroups), { uid: 1000, gid: 2000, additionalGids: [50, 60, 70] });
  assert.deepEqual(resolveUser({ spec: { containers: [], securityContext: { supplementalGroupsPolicy: 'Strict' } as never } }, { name: 'c' }, 'app', withGroups), { uid: 1000, gid: 2000, additionalGids: [] });
  assert.deepEqual(resolveUser(pod, { name: 'c' }, undefined, withGroups), { uid: 0, gid: 0, additionalGids: [10] });
});

test('generateContainerConfig: argv, env, user, mounts, resources, security, files and labels of one instance', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-ccfg-'));
  try {
    const podDir = join(dir, 'pod');
    const vol = join(dir, 'vol');
    const pod: Pod = { metadata: { name: 'web', namespace: 'shop', uid: 'u1' }, spec: { containers: [] } };
    const c = {
      name: 'app', image: 'busybox', args: ['-c', 'echo $(GREETING)'], env: [{ name: 'GREETING', value: 'hi' }],
      volumeMounts: [{ name: 'data', mountPath: '/data', subPath: 'sub' }],
      securityContext: { runAsUser: 1000, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
      resources: { limits: { cpu: '500m', memory: '64Mi' } },
    };
    const spec = await generateContainerConfig({
      pod, uid: 'u1', container: c, init: false, restartCount: 2,
      image: { ref: 'docker.io/library/busybox:latest', digest: 'sha256:abc', id: 'sha256:def', size: 1, config: { config: { Entrypoint: ['/bin/sh'], Env: ['PATH=/bin', 'GREETING=img'] } }, manifest: {} } as never,
      layers: [],
      envSources: { getConfigMap: async () => undefined, getSecret: async () => undefined, podIP: '10.0.0.2', hostIP: '10.0.0.1', nodeName: 'n' },
      volumes: new Map([['data', { hostPath: vol, readOnly: false }]]), podDir, nodeName: 'node-a',
    });
    assert.deepEqual(spec.command, ['/bin/sh', '-c', 'echo hi']);
    assert.deepEqual(spec.env, ['PATH=/bin', 'GREETING=hi']);
    assert.deepEqual(spec.user, { uid: 1000, gid: 0, additionalGids: [] });
    assert.equal(spec.image, 'docker.io/library/busybox:latest');
    assert.deepEqual(spec.mounts, [
      { containerPath: '/data', hostPath: join(vol, 'sub'), readOnly: false, propagation: 'private' },
      { containerPath: '/dev/termination-log', hostPath: join(podDir, 'containers', 'app', '2-termination-log') },
    ]);
    assert.ok(existsSync(join(vol, 'sub')) && existsSync(join(podDir, 'containers', 'app', '2-termination-log')));
    assert.deepEqual(spec.resources, { cpuShares: 512, cpuPeriod: 100_000, cpuQuota: 50_000, memoryLimitBytes: 64 * 1024 * 1024 });
    assert.equal(spec.readOnlyRootfs, true);
    assert.equal(spec.noNewPrivileges, true);
    assert.deepEqual(spec.capabilities, { add: undefined, drop: ['ALL'] });
    assert.equal(spec.etcHostsPath, join(podDir, 'etc-hosts'));
    assert.equal(spec.hostnamePath, join(podDir, 'hostname'));
    assert.equal(spec.logPath, join(podDir, 'logs', 'app', '2.log'));
    assert.equal(spec.labels?.[Labels.containerName], 'app');
    assert.equal(spec.labels?.[Labels.podUid], 'u1');
    assert.equal(spec.annotations?.[HASH_ANNOTATION], containerHash(c));
    assert.equal(spec.annotations?.[Labels.restartCount], '2');
    await assert.rejects(
      generateContainerConfig({
        pod, uid: 'u1', container: { name: 'x', image: 'busybox', volumeMounts: [{ name: 'nope', mountPath: '/n' }] }, init: true, restartCount: 0,
        image: { config: { config: { Cmd: ['sh'] } } } as never, layers: [], envSources: { getConfigMap: async () => undefined, getSecret: async () => undefined, podIP: '', hostIP: '', nodeName: '' },
        volumes: new Map(), podDir, nodeName: 'node-a',
      }),
      ContainerConfigError,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
