import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Container, Pod, PodSecurityContext } from 'kubernetes-types/core/v1.js';
import { containerSecurity, effectiveSecurityContext, imageUser, normalizeSysctl, parseAllowedUnsafeSysctls, podSysctls, runAsNonRootError, sysctlAdmissionError } from './security-context.js';

const pod = (sc: PodSecurityContext = {}, spec: Partial<NonNullable<Pod['spec']>> = {}): Pod => ({
  metadata: { name: 'web', namespace: 'shop', uid: 'u1' },
  spec: { containers: [], securityContext: sc, ...spec },
});
const ctr = (securityContext: Container['securityContext'] = {}): Container => ({ name: 'app', securityContext });

test('the container securityContext wins over the pod’s, field by field', () => {
  const sc = effectiveSecurityContext(pod({ runAsUser: 1, runAsGroup: 2, runAsNonRoot: true, seccompProfile: { type: 'Unconfined' } }), ctr({ runAsUser: 3 }));
  assert.deepEqual(sc, { runAsUser: 3, runAsGroup: 2, runAsNonRoot: true, seccompProfile: { type: 'Unconfined' } });
});

test('image USER as the runtime reports it', () => {
  assert.deepEqual(imageUser(undefined), { uid: 0, username: '' });
  assert.deepEqual(imageUser('1000:50'), { uid: 1000, username: '' });
  assert.deepEqual(imageUser('nobody'), { username: 'nobody' });
});

test('runAsNonRoot: refusals with the kubelet’s wording', () => {
  const rows: [string, Pod, Container, string | undefined, RegExp | undefined][] = [
    ['not asked', pod(), ctr(), undefined, undefined],
    ['image root', pod({ runAsNonRoot: true }), ctr(), undefined,
      /^container has runAsNonRoot and image will run as root \(pod: "web_shop\(u1\)", container: app\)$/],
    ['image non-numeric', pod(), ctr({ runAsNonRoot: true }), 'nobody',
      /^container has runAsNonRoot and image has non-numeric user \(nobody\), cannot verify user is non-root \(pod: "web_shop\(u1\)", container: app\)$/],
    ['runAsUser 0', pod({ runAsNonRoot: true }), ctr({ runAsUser: 0 }), '1000', /^container's runAsUser breaks non-root policy/],
    ['runAsUser 1000 over a root image', pod({ runAsNonRoot: true, runAsUser: 1000 }), ctr(), undefined, undefined],
    ['image 1000', pod({ runAsNonRoot: true }), ctr(), '1000:1000', undefined],
    ['container turns it off', pod({ runAsNonRoot: true }), ctr({ runAsNonRoot: false }), undefined, undefined],
  ];
  for (const [name, p, c, user, want] of rows) {
    const err = runAsNonRootError(p, c, imageUser(user));
    if (want) assert.match(err ?? '', want, name);
    else assert.equal(err, undefined, name);
  }
});

test('container security: seccomp choice, no_new_privs, privileged, read-only root, procMount', () => {
  const rows: [string, Pod, Container, object | RegExp][] = [
    ['defaults: RuntimeDefault seccomp, no_new_privs off', pod(), ctr(),
      { privileged: false, readOnlyRootfs: false, noNewPrivileges: false, seccomp: { type: 'RuntimeDefault' }, procMount: 'Default' }],
    ['pod Unconfined', pod({ seccompProfile: { type: 'Unconfined' } }), ctr(), { seccomp: { type: 'Unconfined' } }],
    ['container Localhost under the seccomp dir', pod({ seccompProfile: { type: 'Unconfined' } }), ctr({ seccompProfile: { type: 'Localhost', localhostProfile: 'profiles/audit.json' } }),
      { seccomp: { type: 'Localhost', path: '/var/lib/skiff/seccomp/profiles/audit.json' } }],
    ['Localhost escaping the dir', pod(), ctr({ seccompProfile: { type: 'Localhost', localhostProfile: '../x.json' } }), /relative path under the node's seccomp directory/],
    ['allowPrivilegeEscalation false', pod(), ctr({ allowPrivilegeEscalation: false }), { noNewPrivileges: true }],
    ['allowPrivilegeEscalation true', pod(), ctr({ allowPrivilegeEscalation: true }), { noNewPrivileges: false }],
    ['privileged, read-only root, caps', pod(), ctr({ privileged: true, readOnlyRootFilesystem: true, capabilities: { add: ['NET_ADMIN'], drop: ['ALL'] } }),
      { privileged: true, readOnlyRootfs: true, capabilities: { add: ['NET_ADMIN'], drop: ['ALL'] } }],
    ['procMount Unmasked needs hostUsers: false', pod(), ctr({ procMount: 'Unmasked' }), /`hostUsers` must be false to use `Unmasked`/],
    ['procMount Unmasked in a user namespace', pod({}, { hostUsers: false }), ctr({ procMount: 'Unmasked' }), { procMount: 'Unmasked' }],
  ];
  for (const [name, p, c, want] of rows) {
    const got = containerSecurity(p, c, '/var/lib/skiff/seccomp');
    if (want instanceof RegExp) assert.match(String(got), want, name);
    else {
      assert.equal(typeof got, 'object', `${name}: ${String(got)}`);
      for (const [k, v] of Object.entries(want)) assert.deepEqual((got as Record<string, unknown>)[k], v, `${name}: ${k}`);
    }
  }
});

test('sysctl admission: safe ones pass, unsafe ones SysctlForbidden unless allowed, none in shared host namespaces', () => {
  const sys = (names: string[], spec: Partial<NonNullable<Pod['spec']>> = {}) => pod({ sysctls: names.map((name) => ({ name, value: '1' })) }, spec);
  const k = '6.1.0';
  assert.equal(sysctlAdmissionError(sys(['kernel.shm_rmid_forced', 'net.ipv4.ip_local_port_range', 'net.ipv4.tcp_keepalive_time', 'net/ipv4/ping_group_range']), [], k), undefined);
  assert.equal(sysctlAdmissionError(sys(['kernel.msgmax']), [], k), 'forbidden sysctl: "kernel.msgmax" not allowlisted');
  assert.equal(sysctlAdmissionError(sys(['kernel.msgmax']), ['kernel.msg*'], k), undefined);
  assert.equal(sysctlAdmissionError(sys(['net.core.somaxconn']), ['net.core.somaxconn'], k), undefined);
  assert.equal(sysctlAdmissionError(sys(['net.ipv4.tcp_syncookies'], { hostNetwork: true }), [], k), 'forbidden sysctl: "net.ipv4.tcp_syncookies" not allowed with host net enabled');
  assert.equal(sysctlAdmissionError(sys(['kernel.shm_rmid_forced'], { hostIPC: true }), [], k), 'forbidden sysctl: "kernel.shm_rmid_forced" not allowed with host ipc enabled');
  // Kernel-gated safe sysctls.
  assert.equal(sysctlAdmissionError(sys(['net.ipv4.tcp_keepalive_time']), [], '4.4.0'), 'forbidden sysctl: "net.ipv4.tcp_keepalive_time" not allowlisted');
  assert.equal(normalizeSysctl('net/ipv4/conf/eth0.100/forwarding'), 'net.ipv4.conf.eth0/100.forwarding');
  assert.deepEqual(podSysctls(sys(['net/ipv4/ip_unprivileged_port_start'])), { 'net.ipv4.ip_unprivileged_port_start': '1' });
  assert.equal(podSysctls(pod()), undefined);
});

test('--allowed-unsafe-sysctls: namespaced names and patterns only', () => {
  assert.deepEqual(parseAllowedUnsafeSysctls(['kernel.msg*', 'net.core.somaxconn', 'net/ipv4/tcp_fastopen', 'fs.mqueue.*']), ['kernel.msg*', 'net.core.somaxconn', 'net.ipv4.tcp_fastopen', 'fs.mqueue.*']);
  assert.throws(() => parseAllowedUnsafeSysctls(['kernel.*']), /the sysctls "kernel\.\*" are not known to be namespaced/);
  assert.throws(() => parseAllowedUnsafeSysctls(['vm.swappiness']), /the sysctl "vm\.swappiness" is not known to be namespaced/);
  assert.throws(() => parseAllowedUnsafeSysctls(['Net.X;']), /must be a sysctl name or a pattern ending in \*/);
});
