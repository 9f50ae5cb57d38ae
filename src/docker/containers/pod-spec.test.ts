import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DockerError } from '../errors.js';
import { checkRestartPolicy, podNameFor, type ContainerRecord } from './model.js';
import { containerPorts, healthProbe, parseMounts, podFor, unassignedPorts } from './pod-spec.js';

const rec = (over: Partial<ContainerRecord> = {}): ContainerRecord => ({
  id: 'ab'.repeat(32),
  name: 'web',
  created: '2026-01-01T00:00:00Z',
  image: 'busybox',
  imageRef: 'docker.io/library/busybox:latest',
  imageId: 'sha256:' + 'c'.repeat(64),
  path: 'httpd',
  args: ['-f'],
  config: { Env: ['A=1', 'B=x=y'] },
  hostConfig: {},
  networks: {},
  state: { desired: 'created', restartCount: 0, exitCode: 0 },
  ...over,
});

const place = { nodeName: 'n1', volumeDir: (n: string) => `/vols/${n}/_data` };

test('restart policies map to pod policies; unknown ones are 400s', () => {
  const policy = (Name: string, MaximumRetryCount = 0) => podFor(rec({ hostConfig: { RestartPolicy: { Name, MaximumRetryCount } } }), 'p', place).spec!.restartPolicy;
  assert.deepEqual([policy('no'), policy('always'), policy('unless-stopped'), policy('on-failure', 3), policy('')], ['Never', 'Always', 'Always', 'OnFailure', 'Never']);
  assert.throws(() => checkRestartPolicy({ Name: 'sometimes' }), (e: DockerError) => e.status === 400 && /unknown policy 'sometimes'/.test(e.message));
  assert.throws(() => checkRestartPolicy({ Name: 'always', MaximumRetryCount: 2 }), /only be used with 'on-failure'/);
});

test('run options become the pod container: env, command, ports, mounts, limits, security', () => {
  const pod = podFor(
    rec({
      config: { Env: ['A=1', 'B=x=y', 'NOVALUE'], User: '1000:100', WorkingDir: '/w', Tty: true, OpenStdin: true, StopTimeout: 3, Hostname: 'My.Host' },
      hostConfig: {
        PortBindings: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '8080' }], '53/udp': [{ HostPort: '5353' }] },
        Binds: ['/srv:/srv:ro', 'data:/data'],
        Mounts: [{ Type: 'tmpfs', Target: '/tmp' }],
        Memory: 64 * 1024 * 1024,
        NanoCpus: 500_000_000,
        ReadonlyRootfs: true,
        CapAdd: ['CAP_NET_ADMIN'],
        CapDrop: ['MKNOD'],
      },
    }),
    'web',
    place,
  );
  const c = pod.spec!.containers[0];
  assert.deepEqual(c.command, ['httpd', '-f']);
  assert.deepEqual(c.env, [{ name: 'A', value: '1' }, { name: 'B', value: 'x=y' }]);
  assert.deepEqual(c.ports, [{ containerPort: 80, protocol: 'TCP', hostPort: 8080, hostIP: '127.0.0.1' }, { containerPort: 53, protocol: 'UDP', hostPort: 5353 }]);
  assert.deepEqual(pod.spec!.volumes, [
    { name: 'v0', hostPath: { path: '/srv', type: '' } },
    { name: 'v1', hostPath: { path: '/vols/data/_data', type: 'DirectoryOrCreate' } },
    { name: 'v2', emptyDir: { medium: 'Memory' } },
  ]);
  assert.deepEqual(c.volumeMounts?.map((m) => [m.mountPath, m.readOnly]), [['/srv', true], ['/data', false], ['/tmp', false]]);
  assert.deepEqual(c.resources, { limits: { memory: String(64 * 1024 * 1024), cpu: '500m' } });
  assert.deepEqual(c.securityContext, { readOnlyRootFilesystem: true, capabilities: { add: ['NET_ADMIN'], drop: ['MKNOD'] }, runAsUser: 1000, runAsGroup: 100 });
  assert.equal(c.workingDir, '/w');
  assert.equal(c.tty, true);
  assert.equal(c.stdin, true);
  assert.equal(pod.spec!.terminationGracePeriodSeconds, 3);
  assert.equal(pod.spec!.hostname, 'my');
  assert.equal(pod.spec!.nodeName, 'n1');
  assert.equal(pod.spec!.enableServiceLinks, false);
  assert.equal(pod.metadata!.annotations!['docker.skiff.dev/id'], 'ab'.repeat(32));
});

test('bad mounts and ports are 400s; -P and -p 80 ask the engine for host ports', () => {
  assert.throws(() => parseMounts({ Binds: ['/x:relative'] }), /mount path must be absolute/);
  assert.throws(() => parseMounts({ Binds: ['onlyone'] }), /invalid volume specification/);
  assert.throws(() => containerPorts({ PortBindings: { 'eighty/tcp': [{ HostPort: '1' }] } }, {}), /invalid port specification/);
  assert.deepEqual(unassignedPorts({ PublishAllPorts: true }, { '80/tcp': {} }), ['80/tcp']);
  assert.deepEqual(unassignedPorts({ PortBindings: { '81/tcp': [{ HostIp: '', HostPort: '' }] } }, {}), ['81/tcp']);
  assert.deepEqual(containerPorts({ PortBindings: { '81/tcp': [{ HostPort: '' }] } }, {}, { '81/tcp': 40000 }), [{ containerPort: 81, protocol: 'TCP', hostPort: 40000 }]);
});

test('health checks become exec readiness probes', () => {
  const probe = healthProbe(rec({ config: { Healthcheck: { Test: ['CMD-SHELL', 'wget -q localhost'], Interval: 2e9, Retries: 5 } } }));
  assert.deepEqual(probe, { exec: { command: ['/bin/sh', '-c', 'wget -q localhost'] }, periodSeconds: 2, timeoutSeconds: 30, failureThreshold: 5 });
  assert.equal(healthProbe(rec({ config: { Healthcheck: { Test: ['NONE'] } } })), undefined);
});

test('pod names: the container name when it is a DNS label, else a safe form plus the ID', () => {
  assert.equal(podNameFor({ id: 'ab'.repeat(32), name: 'web' }), 'web');
  assert.equal(podNameFor({ id: 'ab'.repeat(32), name: 'proj_web_1' }), 'proj-web-1-abababab');
});
