import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ALL_CAPABILITIES, capabilitiesOfMask, containerSecurity, DEFAULT_CAPABILITIES, hostDevices, maskOfCapabilities, MASKED_PATHS, READONLY_PATHS,
  resolveCapabilities, type HostSecurity,
} from './security.js';

const amd64 = { arch: 'amd64', kernel: '6.1.0' };
/** A host whose bounding set lacks CAP_SYS_RESOURCE (as some sandboxed VMs). */
const host: HostSecurity = { capabilities: ALL_CAPABILITIES.filter((c) => c !== 'CAP_SYS_RESOURCE'), seccomp: amd64 };

test('the default capability set is Docker/containerd’s: CapEff 00000000a80425fb', () => {
  const caps = resolveCapabilities({}, host.capabilities);
  assert.equal(maskOfCapabilities(caps), '00000000a80425fb');
  assert.deepEqual(new Set(caps), new Set(DEFAULT_CAPABILITIES));
  assert.deepEqual(capabilitiesOfMask('00000000a80425fb'), caps);
});

test('add and drop as containerd: ALL first, then single names; drop wins over add', () => {
  const cases: [{ add?: string[]; drop?: string[] }, string[]][] = [
    [{ drop: ['ALL'] }, []],
    [{ drop: ['ALL'], add: ['NET_BIND_SERVICE'] }, ['CAP_NET_BIND_SERVICE']],
    [{ drop: ['NET_RAW', 'cap_chown'] }, DEFAULT_CAPABILITIES.filter((c) => c !== 'CAP_NET_RAW' && c !== 'CAP_CHOWN')],
    [{ add: ['SYS_ADMIN'] }, [...DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN']],
    [{ add: ['ALL'], drop: ['CHOWN'] }, host.capabilities.filter((c) => c !== 'CAP_CHOWN')],
    [{ add: ['NET_ADMIN'], drop: ['NET_ADMIN'] }, DEFAULT_CAPABILITIES],
  ];
  for (const [capabilities, want] of cases) {
    assert.deepEqual(new Set(resolveCapabilities({ capabilities }, host.capabilities)), new Set(want), JSON.stringify(capabilities));
  }
  assert.throws(() => resolveCapabilities({ capabilities: { add: ['SYS_RESOURCE'] } }, host.capabilities), /CAP_SYS_RESOURCE cannot be added/);
  assert.throws(() => resolveCapabilities({ capabilities: { add: ['FLY'] } }, host.capabilities), /unknown capability "CAP_FLY"/);
});

test('security settings per container kind', () => {
  type Row = [string, Parameters<typeof containerSecurity>[0], { caps: string; seccomp: boolean; masked: boolean; privileged: boolean; nnp: boolean }];
  const rows: Row[] = [
    ['default', {}, { caps: '00000000a80425fb', seccomp: true, masked: true, privileged: false, nnp: false }],
    ['privileged: every capability the host grants, no seccomp, no masks', { privileged: true, seccomp: { type: 'RuntimeDefault' } }, { caps: maskOfCapabilities(host.capabilities), seccomp: false, masked: false, privileged: true, nnp: false }],
    ['Unconfined', { seccomp: { type: 'Unconfined' } }, { caps: '00000000a80425fb', seccomp: false, masked: true, privileged: false, nnp: false }],
    ['procMount Unmasked', { procMount: 'Unmasked' }, { caps: '00000000a80425fb', seccomp: true, masked: false, privileged: false, nnp: false }],
    ['allowPrivilegeEscalation: false', { noNewPrivileges: true }, { caps: '00000000a80425fb', seccomp: true, masked: true, privileged: false, nnp: true }],
  ];
  for (const [name, spec, want] of rows) {
    const s = containerSecurity(spec, host);
    assert.equal(maskOfCapabilities(s.capabilities.effective), want.caps, name);
    assert.deepEqual(s.capabilities.bounding, s.capabilities.effective, name);
    assert.deepEqual(s.capabilities.permitted, s.capabilities.effective, name);
    assert.equal(!!s.seccomp, want.seccomp, name);
    assert.deepEqual(s.maskedPaths, want.masked ? MASKED_PATHS : [], name);
    assert.deepEqual(s.readonlyPaths, want.masked ? READONLY_PATHS : [], name);
    assert.equal(s.privileged, want.privileged, name);
    assert.equal(s.noNewPrivileges, want.nnp, name);
  }
  assert.ok(MASKED_PATHS.includes('/proc/kcore') && READONLY_PATHS.includes('/proc/sys'));
});

test('a Localhost profile is translated for the container; an unloaded one is an error', () => {
  const s = containerSecurity({ seccomp: { type: 'Localhost', path: '/p.json' } }, host, { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] });
  assert.deepEqual(s.seccomp?.syscalls, [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }]);
  assert.throws(() => containerSecurity({ seccomp: { type: 'Localhost', path: '/p.json' } }, host), /was not loaded/);
});

test('host devices: character devices with their numbers, without pts/shm/console', { skip: process.platform !== 'linux' && 'linux only' }, () => {
  const devs = hostDevices();
  const nul = devs.find((d) => d.path === '/dev/null');
  assert.deepEqual(nul && { type: nul.type, major: nul.major, minor: nul.minor }, { type: 'c', major: 1, minor: 3 });
  assert.ok(!devs.some((d) => d.path.startsWith('/dev/pts/') || d.path === '/dev/console' || d.path.startsWith('/dev/shm/')));
});
