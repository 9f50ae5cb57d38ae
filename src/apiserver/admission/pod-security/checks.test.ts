import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LATEST, type Level, type LevelVersion } from './api.js';
import { BASELINE_CHECKS } from './baseline.js';
import type { Json } from './check.js';
import { Evaluator, forbiddenDetail } from './evaluator.js';
import { RESTRICTED_CHECKS } from './restricted.js';

const evaluator = new Evaluator();
const all = [...BASELINE_CHECKS, ...RESTRICTED_CHECKS];

/** A pod that passes restricted; `patch` changes it. */
function restrictedPod(patch: (spec: Json, meta: Json) => void = () => {}): { meta: Json; spec: Json } {
  const spec: Json = {
    securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
    containers: [{ name: 'c', image: 'busybox', securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } }],
  };
  const meta: Json = { name: 'p' };
  patch(spec, meta);
  return { meta, spec };
}

function run(id: string, pod: { meta: Json; spec: Json }, minor = evaluator.maxMinor) {
  const check = all.find((c) => c.id === id)!;
  let impl = check.versions[0];
  for (const v of check.versions) if (v.minimumVersion <= minor) impl = v;
  return impl.checkPod(pod.meta, pod.spec);
}

const c0 = (spec: Json) => spec.containers[0];

/** [check id, change to a compliant pod, forbidden reason, forbidden detail] — upstream's wording. */
const TABLE: [string, (spec: Json, meta: Json) => void, string, string][] = [
  ['hostNamespaces', (s) => Object.assign(s, { hostNetwork: true, hostPID: true, hostIPC: true }), 'host namespaces', 'hostNetwork=true, hostPID=true, hostIPC=true'],
  ['privileged', (s) => (c0(s).securityContext.privileged = true), 'privileged', 'container "c" must not set securityContext.privileged=true'],
  ['capabilities_baseline', (s) => (c0(s).securityContext.capabilities.add = ['SYS_ADMIN', 'NET_RAW', 'CHOWN']), 'non-default capabilities', 'container "c" must not include "NET_RAW", "SYS_ADMIN" in securityContext.capabilities.add'],
  ['hostPathVolumes', (s) => (s.volumes = [{ name: 'h', hostPath: { path: '/' } }, { name: 'e', emptyDir: {} }]), 'hostPath volumes', 'volume "h"'],
  [
    'hostPorts',
    (s) => {
      c0(s).ports = [{ containerPort: 80, hostPort: 8080 }, { containerPort: 81, hostPort: 10 }];
      s.containers.push({ name: 'd', ports: [{ containerPort: 1, hostPort: 8080 }] });
    },
    'hostPort',
    'containers "c", "d" use hostPorts 10, 8080',
  ],
  ['hostProbesAndHostLifecycle', (s) => (c0(s).livenessProbe = { httpGet: { host: '10.0.0.1', port: 80 } }), 'probe or lifecycle host', 'container "c" uses probe or lifecycle host "10.0.0.1"'],
  ['appArmorProfile', (s) => (c0(s).securityContext.appArmorProfile = { type: 'Unconfined' }), 'forbidden AppArmor profile', 'container "c" must not set AppArmor profile type to "Unconfined"'],
  [
    'appArmorProfile',
    (s, m) => {
      s.securityContext.appArmorProfile = { type: 'Unconfined' };
      m.annotations = { 'container.apparmor.security.beta.kubernetes.io/c': 'unconfined' };
    },
    'forbidden AppArmor profiles',
    'pod and annotation must not set AppArmor profile type to "Unconfined", "container.apparmor.security.beta.kubernetes.io/c="unconfined""',
  ],
  ['seLinuxOptions', (s) => (s.securityContext.seLinuxOptions = { type: 'spc_t', user: 'u' }), 'seLinuxOptions', 'pod set forbidden securityContext.seLinuxOptions: type "spc_t"; user may not be set'],
  ['procMount', (s) => (c0(s).securityContext.procMount = 'Unmasked'), 'procMount', 'container "c" must not set securityContext.procMount to "Unmasked"'],
  ['seccompProfile_baseline', (s) => (c0(s).securityContext.seccompProfile = { type: 'Unconfined' }), 'seccompProfile', 'container "c" must not set securityContext.seccompProfile.type to "Unconfined"'],
  ['sysctls', (s) => (s.securityContext.sysctls = [{ name: 'kernel.msgmax', value: '1' }, { name: 'net.ipv4.tcp_syncookies', value: '1' }, { name: 'vm.swappiness', value: '1' }]), 'forbidden sysctls', 'kernel.msgmax, vm.swappiness'],
  ['windowsHostProcess', (s) => (s.securityContext.windowsOptions = { hostProcess: true }), 'hostProcess', 'pod must not set securityContext.windowsOptions.hostProcess=true'],
  ['restrictedVolumes', (s) => (s.volumes = [{ name: 'n', nfs: { server: 'x', path: '/' } }, { name: 'h', hostPath: { path: '/' } }, { name: 'ok', secret: { secretName: 's' } }]), 'restricted volume types', 'volumes "n", "h" use restricted volume types "hostPath", "nfs"'],
  ['allowPrivilegeEscalation', (s) => delete c0(s).securityContext.allowPrivilegeEscalation, 'allowPrivilegeEscalation != false', 'container "c" must set securityContext.allowPrivilegeEscalation=false'],
  ['runAsNonRoot', (s) => delete s.securityContext.runAsNonRoot, 'runAsNonRoot != true', 'pod or container "c" must set securityContext.runAsNonRoot=true'],
  ['runAsNonRoot', (s) => (c0(s).securityContext.runAsNonRoot = false), 'runAsNonRoot != true', 'container "c" must not set securityContext.runAsNonRoot=false'],
  ['runAsUser', (s) => ((s.securityContext.runAsUser = 0), (c0(s).securityContext.runAsUser = 0)), 'runAsUser=0', 'pod and container "c" must not set runAsUser=0'],
  ['seccompProfile_restricted', (s) => delete s.securityContext.seccompProfile, 'seccompProfile', 'pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"'],
  [
    'capabilities_restricted',
    (s) => {
      c0(s).securityContext.capabilities = { add: ['NET_BIND_SERVICE', 'SYS_TIME'] };
    },
    'unrestricted capabilities',
    'container "c" must set securityContext.capabilities.drop=["ALL"]; container "c" must not include "SYS_TIME" in securityContext.capabilities.add',
  ],
  ['procMount_restricted', (s) => (Object.assign(s, { hostUsers: false }), (c0(s).securityContext.procMount = 'Unmasked')), 'procMount', 'container "c" must not set securityContext.procMount to "Unmasked"'],
];

test('every check passes a restricted pod and words a violation exactly as upstream', () => {
  for (const c of all) assert.deepEqual(run(c.id, restrictedPod()), { allowed: true }, c.id);
  for (const [id, patch, reason, detail] of TABLE) {
    const r = run(id, restrictedPod(patch));
    assert.deepEqual(r, { allowed: false, forbiddenReason: reason, forbiddenDetail: detail }, id);
  }
  const covered = new Set(TABLE.map((t) => t[0]));
  assert.deepEqual(all.map((c) => c.id).filter((id) => !covered.has(id)), [], 'every check has a row');
});

test('versions: checks apply from their version on; user-namespace pods relax from v1.35; Windows pods skip Linux-only checks', () => {
  const hostProbe = restrictedPod((s) => (c0(s).readinessProbe = { tcpSocket: { host: 'h', port: 1 } }));
  assert.equal(run('hostProbesAndHostLifecycle', hostProbe, 34).allowed, false);
  const lv = (minor: number): LevelVersion => ({ level: 'baseline', version: { latest: false, minor } });
  assert.equal(evaluator.evaluateAggregate(lv(33), hostProbe.meta, hostProbe.spec).allowed, true, 'not a check before v1.34');
  assert.equal(evaluator.evaluateAggregate(lv(34), hostProbe.meta, hostProbe.spec).allowed, false);
  const sysctl = restrictedPod((s) => (s.securityContext.sysctls = [{ name: 'net.ipv4.tcp_rmem', value: '1' }]));
  assert.equal(evaluator.evaluateAggregate(lv(31), sysctl.meta, sysctl.spec).allowed, false);
  assert.equal(evaluator.evaluateAggregate(lv(32), sysctl.meta, sysctl.spec).allowed, true);
  const root = restrictedPod((s) => ((s.securityContext.runAsUser = 0), (s.hostUsers = false)));
  const r = (minor: number): LevelVersion => ({ level: 'restricted', version: { latest: false, minor } });
  assert.equal(evaluator.evaluateAggregate(r(34), root.meta, root.spec).allowed, false);
  assert.equal(evaluator.evaluateAggregate(r(35), root.meta, root.spec).allowed, true);
  const win = restrictedPod((s) => ((s.os = { name: 'windows' }), delete c0(s).securityContext.allowPrivilegeEscalation));
  assert.equal(evaluator.evaluateAggregate(r(24), win.meta, win.spec).allowed, false);
  assert.equal(evaluator.evaluateAggregate(r(25), win.meta, win.spec).allowed, true);
});

test('a privileged container under restricted:latest: the full upstream message, baseline reasons first, overrides applied', () => {
  const pod = { meta: { name: 'x' }, spec: { containers: [{ name: 'c', image: 'busybox', securityContext: { privileged: true }, ports: [{ containerPort: 80 }] }], volumes: [{ name: 'h', hostPath: { path: '/' } }] } };
  const at = (level: Level) => forbiddenDetail(evaluator.evaluateAggregate({ level, version: LATEST }, pod.meta, pod.spec));
  assert.equal(at('privileged'), '');
  assert.equal(at('baseline'), 'hostPath volumes (volume "h"), privileged (container "c" must not set securityContext.privileged=true)');
  assert.equal(
    at('restricted'),
    'privileged (container "c" must not set securityContext.privileged=true), ' +
      'allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false), ' +
      'unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]), ' +
      'restricted volume types (volume "h" uses restricted volume type "hostPath"), ' +
      'runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true), ' +
      'seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")',
  );
});
