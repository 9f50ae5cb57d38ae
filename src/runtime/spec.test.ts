import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildOciSpec } from './spec.js';
import { ALL_CAPABILITIES, MASKED_PATHS, maskOfCapabilities, type HostSecurity } from './security.js';
import type { ContainerSpec } from './types.js';

const host: HostSecurity = { capabilities: ALL_CAPABILITIES.filter((c) => c !== 'CAP_SYS_RESOURCE'), seccomp: { arch: 'amd64', kernel: '6.1.0' } };
const base: ContainerSpec = { name: 'c', image: 'busybox', rootfsLayers: [], command: ['sh'] };
const devices = () => [{ path: '/dev/kvm', type: 'c' as const, major: 10, minor: 232, fileMode: 0o660, uid: 0, gid: 0 }];
type Spec = { process: { capabilities: { effective: string[] }; noNewPrivileges: boolean }; linux: Record<string, unknown>; mounts: { destination: string; source: string; options: string[] }[] };

function oci(spec: Partial<ContainerSpec>, ctx: Partial<Parameters<typeof buildOciSpec>[1]> = {}): Spec {
  return buildOciSpec({ ...base, ...spec }, { rootfsPath: '/r', cgroupsPath: '/x', ipcPath: '/sb/ipc', shmPath: '/sb/shm', host, devices, ...ctx }) as unknown as Spec;
}
const nsTypes = (s: Spec) => (s.linux.namespaces as { type: string; path?: string }[]).map((n) => (n.path ? `${n.type}=${n.path}` : n.type));
const mount = (s: Spec, dest: string) => s.mounts.find((m) => m.destination === dest)!;

test('a default container: Docker capabilities, RuntimeDefault filter, masked paths, read-only /sys, private PID namespace', () => {
  const s = oci({});
  assert.equal(maskOfCapabilities(s.process.capabilities.effective), '00000000a80425fb');
  assert.equal((s.linux.seccomp as { defaultAction: string }).defaultAction, 'SCMP_ACT_ERRNO');
  assert.deepEqual(s.linux.maskedPaths, MASKED_PATHS);
  assert.equal(s.linux.devices, undefined);
  assert.ok(mount(s, '/sys').options.includes('ro'));
  assert.deepEqual(nsTypes(s), ['pid', 'mount', 'ipc=/sb/ipc']);
  assert.equal(mount(s, '/dev/shm').source, '/sb/shm');
});

test('privileged: the host’s capabilities and devices, no filter, no masks, writable /sys, every device allowed', () => {
  const s = oci({ privileged: true });
  assert.equal(maskOfCapabilities(s.process.capabilities.effective), maskOfCapabilities(host.capabilities));
  assert.equal(s.linux.seccomp, undefined);
  assert.equal(s.linux.maskedPaths, undefined);
  assert.equal(s.linux.readonlyPaths, undefined);
  assert.deepEqual(s.linux.devices, devices());
  assert.ok(mount(s, '/sys').options.includes('rw'));
  assert.deepEqual((s.linux.resources as { devices: unknown[] }).devices, [{ allow: true, access: 'rwm' }]);
});

test('host namespaces and sysctls', () => {
  assert.deepEqual(nsTypes(oci({}, { hostPID: true })), ['mount', 'ipc=/sb/ipc']);
  const ipc = oci({}, { hostIPC: true, shmPath: '/dev/shm' });
  assert.deepEqual(nsTypes(ipc), ['pid', 'mount']);
  assert.equal(mount(ipc, '/dev/shm').source, '/dev/shm');
  assert.deepEqual(oci({}, { sysctls: { 'net.ipv4.ip_unprivileged_port_start': '80' } }).linux.sysctl, { 'net.ipv4.ip_unprivileged_port_start': '80' });
  assert.equal(oci({}).linux.sysctl, undefined);
});

test('a missing Localhost profile names the file', () => {
  assert.throws(() => oci({ seccomp: { type: 'Localhost', path: '/nonexistent/p.json' } }), /cannot load seccomp profile "\/nonexistent\/p\.json"/);
  // Privileged containers ignore seccomp, so the file is not even read.
  assert.equal(oci({ privileged: true, seccomp: { type: 'Localhost', path: '/nonexistent/p.json' } }).linux.seccomp, undefined);
});
