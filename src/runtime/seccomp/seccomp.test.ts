import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_SECCOMP_PROFILE, kernelAtLeast, ociSeccomp, parseSeccompProfile, runtimeDefaultSeccomp } from './seccomp.js';

const amd64 = { arch: 'amd64', kernel: '6.1.0-18-amd64' };
const DEFAULT_CAPS = ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID', 'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE'];

/** Every syscall name the filter allows unconditionally (no argument checks). */
function allowed(s: ReturnType<typeof runtimeDefaultSeccomp>): Set<string> {
  return new Set(s.syscalls.filter((r) => r.action === 'SCMP_ACT_ALLOW' && !r.args).flatMap((r) => r.names));
}

test('RuntimeDefault denies with EPERM by default, on the native arch and its sub-arches', () => {
  const s = runtimeDefaultSeccomp(DEFAULT_CAPS, amd64);
  assert.equal(s.defaultAction, 'SCMP_ACT_ERRNO');
  assert.equal(s.defaultErrnoRet, 1);
  assert.deepEqual(s.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
  assert.deepEqual(runtimeDefaultSeccomp(DEFAULT_CAPS, { arch: 'arm64', kernel: '6.1' }).architectures, ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
});

test('namespace and mount syscalls need CAP_SYS_ADMIN; clone is allowed only without CLONE_NEW* flags', () => {
  const plain = runtimeDefaultSeccomp(DEFAULT_CAPS, amd64);
  const a = allowed(plain);
  for (const n of ['read', 'write', 'execve', 'chroot', 'arch_prctl']) assert.ok(a.has(n), n);
  for (const n of ['unshare', 'setns', 'mount', 'umount2', 'bpf', 'kcmp', 'reboot', 'init_module', 'clock_settime', 'open_by_handle_at']) assert.ok(!a.has(n), n);
  const clone = plain.syscalls.filter((r) => r.names.includes('clone'));
  assert.deepEqual(clone, [{ names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 2114060288, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }] }]);
  assert.deepEqual(plain.syscalls.find((r) => r.names.includes('clone3')), { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 });

  const admin = runtimeDefaultSeccomp([...DEFAULT_CAPS, 'CAP_SYS_ADMIN'], amd64);
  const b = allowed(admin);
  for (const n of ['unshare', 'setns', 'mount', 'clone', 'clone3']) assert.ok(b.has(n), n);
  assert.ok(!admin.syscalls.some((r) => r.names.includes('clone3') && r.action === 'SCMP_ACT_ERRNO'), 'clone3 ENOSYS rule dropped with CAP_SYS_ADMIN');
  assert.ok(allowed(runtimeDefaultSeccomp([...DEFAULT_CAPS, 'CAP_SYS_PTRACE'], amd64)).has('kcmp'));
});

test('arch and kernel conditions', () => {
  assert.ok(!allowed(runtimeDefaultSeccomp(DEFAULT_CAPS, { arch: 'arm64', kernel: '6.1' })).has('arch_prctl'));
  assert.ok(allowed(runtimeDefaultSeccomp(DEFAULT_CAPS, { arch: 'arm64', kernel: '6.1' })).has('set_tls'));
  // ptrace without CAP_SYS_PTRACE from kernel 4.8 on.
  assert.ok(allowed(runtimeDefaultSeccomp(DEFAULT_CAPS, { arch: 'amd64', kernel: '4.8.0' })).has('ptrace'));
  assert.ok(!allowed(runtimeDefaultSeccomp(DEFAULT_CAPS, { arch: 'amd64', kernel: '4.4.0' })).has('ptrace'));
  assert.equal(kernelAtLeast('6.18.44-fc', '4.8'), true);
  assert.equal(kernelAtLeast('4.10', '4.8'), true);
  assert.equal(kernelAtLeast('3.16', '4.8'), false);
  assert.throws(() => kernelAtLeast('garbage', '4.8'), /invalid kernel version/);
});

test('a Localhost profile in Docker or plain OCI form; both architectures and archMap is refused', () => {
  const p = parseSeccompProfile(JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64'], syscalls: [{ name: 'mkdir', action: 'SCMP_ACT_ERRNO' }] }), '/x/deny-mkdir.json');
  assert.deepEqual(ociSeccomp(p, DEFAULT_CAPS, amd64), { defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64'], syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] });
  assert.equal(ociSeccomp({ defaultAction: '' }, DEFAULT_CAPS, amd64), undefined);
  assert.throws(() => ociSeccomp({ ...DEFAULT_SECCOMP_PROFILE, architectures: ['SCMP_ARCH_X86_64'] }, DEFAULT_CAPS, amd64), /both 'architectures' and 'archMap'/);
  assert.throws(() => parseSeccompProfile('{not json', '/x/bad.json'), /decoding seccomp profile \/x\/bad.json failed/);
  assert.throws(() => parseSeccompProfile('{"syscalls":[{"action":"SCMP_ACT_ALLOW"}]}', '/x/bad.json'), /needs names and an action/);
});
