/**
 * End-to-end with the real kubectl: Pod Security admission (enforce refuses with upstream's
 * message, warn prints `Warning:` lines, tightening a namespace warns about existing pods, the
 * cluster default and exemptions from the flags) and the audit log (Metadata events for
 * kubectl's writes with user and objectRef, pod-security annotations, a None rule silencing a
 * user, size rotation keeping --audit-log-maxbackup files).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventually, manifestFile, startCluster, type TestCluster } from './support/cluster.js';

let c: TestCluster;
let auditLog: string;
const P = 'pod-security.kubernetes.io';

before(async () => {
  const policy = manifestFile(`apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: None
  users: [system:kube-controller-manager, system:serviceaccount:kube-system:service-account-controller]
- level: Metadata
  verbs: [create, update, patch, delete, deletecollection]
`);
  const psa = manifestFile(`apiVersion: pod-security.admission.config.k8s.io/v1
kind: PodSecurityConfiguration
exemptions:
  namespaces: [legacy]
`);
  const args = ['--pod-security', 'baseline', '--pod-security-config', psa, '--audit-policy', policy, '--audit-log-maxsize', '0.03', '--audit-log-maxbackup', '2'];
  c = await startCluster({ args });
  auditLog = join(c.dataDir, 'audit.log');
});
after(async () => {
  await c?.destroy();
});

const privilegedPod = (name: string) => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
spec:
  containers:
  - name: c
    image: busybox
    securityContext:
      privileged: true
`;

function events(): Record<string, any>[] {
  const files = readdirSync(c.dataDir).filter((n) => n.startsWith('audit')).sort();
  return files.flatMap((f) => readFileSync(join(c.dataDir, f), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)));
}

test('a restricted namespace refuses a privileged pod with the PodSecurity message; kubectl exits non-zero', () => {
  c.k(['create', 'namespace', 'r']);
  c.k(['label', 'namespace', 'r', `${P}/enforce=restricted`]);
  const r = c.kubectl(['apply', '-n', 'r', '-f', '-'], { input: privilegedPod('x') });
  assert.notEqual(r.code, 0);
  assert.match(
    r.stderr,
    /pods "x" is forbidden: violates PodSecurity "restricted:latest": privileged \(container "c" must not set securityContext\.privileged=true\), allowPrivilegeEscalation != false \(container "c" must set securityContext\.allowPrivilegeEscalation=false\), unrestricted capabilities \(container "c" must set securityContext\.capabilities\.drop=\["ALL"\]\), runAsNonRoot != true \(pod or container "c" must set securityContext\.runAsNonRoot=true\), seccompProfile \(pod or container "c" must set securityContext\.seccompProfile\.type to "RuntimeDefault" or "Localhost"\)/,
  );
  assert.equal(c.kubectl(['get', 'pod', 'x', '-n', 'r']).code, 1, 'nothing was stored');
});

test('the cluster default (--pod-security baseline) applies to unlabelled namespaces; exempt namespaces are not checked', () => {
  const r = c.kubectl(['apply', '-f', '-'], { input: privilegedPod('p') });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /violates PodSecurity "baseline:latest": privileged \(container "c" must not set securityContext\.privileged=true\)/);
  c.k(['create', 'namespace', 'legacy']);
  const ok = c.kubectl(['apply', '-n', 'legacy', '-f', '-'], { input: privilegedPod('p') });
  assert.equal(ok.code, 0, ok.stderr);
});

test('warn prints a Warning line and admits the pod', () => {
  c.k(['create', 'namespace', 'w']);
  c.k(['label', 'namespace', 'w', `${P}/enforce=privileged`, `${P}/warn=baseline`]);
  const r = c.kubectl(['apply', '-n', 'w', '-f', '-'], { input: privilegedPod('x') });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^Warning: would violate PodSecurity "baseline:latest": privileged \(container "c" must not set securityContext\.privileged=true\)$/m);
  assert.match(r.stdout, /pod\/x created/);
});

test('labelling a namespace that has violating pods warns about them', () => {
  c.k(['create', 'namespace', 'e']);
  c.k(['label', 'namespace', 'e', `${P}/enforce=privileged`, `${P}/warn=privileged`, `${P}/audit=privileged`]);
  for (const n of ['a', 'b']) c.k(['apply', '-n', 'e', '-f', '-'], { input: privilegedPod(n) });
  const r = c.kubectl(['label', 'namespace', 'e', `${P}/enforce=baseline`, '--overwrite']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^Warning: existing pods in namespace "e" violate the new PodSecurity enforce level "baseline:latest"$/m);
  assert.match(r.stderr, /^Warning: a \(and 1 other pod\): privileged$/m);
  const bad = c.kubectl(['label', 'namespace', 'e', `${P}/warn=loud`, '--overwrite']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /metadata\.labels\[pod-security\.kubernetes\.io\/warn\]: Invalid value: "loud": must be one of privileged, baseline, restricted/);
});

test('audit: kubectl create is a Metadata event with user and objectRef; denials carry the pod-security annotations; a None rule silences a user', async () => {
  c.k(['create', 'configmap', 'audited', '--from-literal=k=do-not-log']);
  const ev = (await eventually(() => events().find((e) => e.verb === 'create' && e.objectRef?.resource === 'configmaps' && e.objectRef?.name === 'audited'), 10_000, 'the audit event of kubectl create'))!;
  assert.equal(ev.level, 'Metadata');
  assert.equal(ev.stage, 'ResponseComplete');
  assert.equal(ev.user.username, 'kubernetes-admin');
  assert.ok(ev.user.groups.includes('system:masters'));
  assert.deepEqual(ev.sourceIPs, ['127.0.0.1']);
  assert.match(ev.userAgent, /^kubectl\//);
  assert.equal(ev.objectRef.namespace, 'default');
  assert.equal(ev.responseStatus.code, 201);
  assert.ok(!JSON.stringify(events()).includes('do-not-log'), 'Metadata level logs no objects');
  const denied = events().find((e) => e.objectRef?.namespace === 'r' && e.objectRef?.resource === 'pods' && e.verb === 'create');
  assert.ok(denied, 'the refused pod is audited');
  assert.equal(denied.responseStatus.code, 403);
  assert.equal(denied.annotations[`${P}/enforce-policy`], 'restricted:latest');
  // The controllers are busy (a new namespace gets its default ServiceAccount) but silenced by the policy.
  await eventually(() => c.kubectl(['get', 'serviceaccount', 'default', '-n', 'w']).code === 0 || undefined, 20_000, 'the default ServiceAccount');
  assert.deepEqual(events().filter((e) => ['system:kube-controller-manager', 'system:serviceaccount:kube-system:service-account-controller'].includes(e.user?.username)), []);
  assert.ok(!events().some((e) => e.objectRef?.resource === 'serviceaccounts' && e.objectRef?.namespace === 'w'), 'the controllers\' write is not logged');
  assert.ok(!events().some((e) => e.verb === 'get' || e.verb === 'list' || e.verb === 'watch'), 'reads are not logged');
});

test('audit: the log rotates by size and keeps --audit-log-maxbackup files', async () => {
  const docs = Array.from({ length: 150 }, (_, i) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: rot-${i}\n  labels: {padding: "${'x'.repeat(50)}"}\ndata: {k: v}\n`).join('---\n');
  c.k(['create', '-f', manifestFile(docs)]);
  const backups = () => readdirSync(c.dataDir).filter((n) => /^audit-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}\.log$/.test(n));
  await eventually(() => events().some((e) => e.objectRef?.name === 'rot-149') || undefined, 10_000, 'the last event');
  assert.equal(backups().length, 2, readdirSync(c.dataDir).join(' '));
  assert.ok(existsSync(auditLog));
  for (const f of [...backups(), 'audit.log']) assert.ok(readFileSync(join(c.dataDir, f)).length <= 0.03 * 1024 * 1024, `${f} is within the size limit`);
  // The oldest events were rotated away, the newest are all there.
  const names = new Set(events().map((e) => e.objectRef?.name));
  assert.ok(!names.has('audited'), 'events beyond maxbackup files are gone');
  assert.ok(names.has('rot-149') && names.has('rot-140'));
});
