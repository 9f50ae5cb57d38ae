import { test } from 'node:test';
import assert from 'node:assert/strict';
import { memoryApi, type MemoryApi } from '../../testing/memory-api.js';
import { podSecurityAdmission } from './admission.js';
import { DEFAULT_POD_SECURITY_CONFIG, type PodSecurityConfig } from './config.js';
import type { WriteContext } from '../../objects.js';

const P = 'pod-security.kubernetes.io/';

async function setup(config: PodSecurityConfig = DEFAULT_POD_SECURITY_CONFIG): Promise<MemoryApi> {
  const api = await memoryApi();
  api.storage.addAdmission(podSecurityAdmission({ cache: api.cache, registry: api.registry, config }));
  return api;
}

const pod = (name: string, securityContext: object = { privileged: true }) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name },
  spec: { containers: [{ name: 'c', image: 'busybox', securityContext }] },
});

const RESTRICTED_OK = { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } };

async function namespace(api: MemoryApi, name: string, labels: Record<string, string>) {
  const r = await api.request('POST', '/api/v1/namespaces', { body: { metadata: { name, labels } } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
}

test('enforce=restricted refuses a privileged pod with upstream message; a compliant pod is admitted', async () => {
  const api = await setup();
  await namespace(api, 'r', { [`${P}enforce`]: 'restricted' });
  const r = await api.request('POST', '/api/v1/namespaces/r/pods', { body: pod('x') });
  assert.equal(r.status, 403);
  assert.equal(
    r.body.message,
    'pods "x" is forbidden: violates PodSecurity "restricted:latest": privileged (container "c" must not set securityContext.privileged=true), ' +
      'allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false), ' +
      'unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]), ' +
      'runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true), ' +
      'seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")',
  );
  assert.equal(r.body.reason, 'Forbidden');
  assert.equal((await api.request('POST', '/api/v1/namespaces/r/pods', { body: pod('ok', RESTRICTED_OK) })).status, 201);
  api.close();
});

test('warn gives a Warning header, audit an annotation; both leave the pod admitted', async () => {
  const api = await setup();
  await namespace(api, 'w', { [`${P}warn`]: 'baseline', [`${P}audit`]: 'baseline' });
  const r = await api.request('POST', '/api/v1/namespaces/w/pods', { body: pod('x') });
  assert.equal(r.status, 201);
  assert.equal(r.raw.headers?.warning, '299 - "would violate PodSecurity \\"baseline:latest\\": privileged (container \\"c\\" must not set securityContext.privileged=true)"');
  const ctx: WriteContext = { user: api.ctx.user, warnings: [], auditAnnotations: {} };
  await api.storage.create(api.def('Pod'), 'w', pod('y'), ctx);
  assert.deepEqual(ctx.auditAnnotations, {
    [`${P}enforce-policy`]: 'privileged:latest',
    [`${P}audit-violations`]: 'would violate PodSecurity "baseline:latest": privileged (container "c" must not set securityContext.privileged=true)',
  });
  api.close();
});

test('workloads get warnings, never a refusal', async () => {
  const api = await setup();
  await namespace(api, 'r', { [`${P}enforce`]: 'baseline' });
  const d = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' }, spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: pod('t').spec } } };
  const r = await api.request('POST', '/apis/apps/v1/namespaces/r/deployments', { body: d });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.match(r.raw.headers!.warning, /would violate PodSecurity \\"baseline:latest\\": privileged/);
  api.close();
});

test('tightening a namespace warns about its existing pods; bad labels are refused', async () => {
  const api = await setup();
  for (const n of ['a', 'b', 'c']) assert.equal((await api.request('POST', '/api/v1/namespaces/default/pods', { body: pod(n) })).status, 201);
  assert.equal((await api.request('POST', '/api/v1/namespaces/default/pods', { body: pod('fine', RESTRICTED_OK) })).status, 201);
  const r = await api.request('PATCH', '/api/v1/namespaces/default', {
    body: { metadata: { labels: { [`${P}enforce`]: 'baseline' } } },
    headers: { 'content-type': 'application/merge-patch+json' },
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(
    r.raw.headers?.warning,
    '299 - "existing pods in namespace \\"default\\" violate the new PodSecurity enforce level \\"baseline:latest\\"", 299 - "a (and 2 other pods): privileged"',
  );
  const bad = await api.request('PATCH', '/api/v1/namespaces/default', {
    body: { metadata: { labels: { [`${P}enforce`]: 'strict' } } },
    headers: { 'content-type': 'application/merge-patch+json' },
  });
  assert.equal(bad.status, 422);
  assert.equal(bad.body.message, `Namespace "default" is invalid: metadata.labels[${P}enforce]: Invalid value: "strict": must be one of privileged, baseline, restricted`);
  api.close();
});

test('exemptions: namespaces, usernames and runtime classes are not checked; cluster defaults apply to unlabelled namespaces', async () => {
  const api = await setup({
    defaults: { enforce: { level: 'restricted', version: { latest: true } }, audit: { level: 'privileged', version: { latest: true } }, warn: { level: 'privileged', version: { latest: true } } },
    exemptions: { namespaces: ['free'], usernames: ['ci-bot'], runtimeClasses: ['kata'] },
  });
  assert.equal((await api.request('POST', '/api/v1/namespaces/default/pods', { body: pod('x') })).status, 403, 'the default enforce level applies');
  await namespace(api, 'free', {});
  assert.equal((await api.request('POST', '/api/v1/namespaces/free/pods', { body: pod('x') })).status, 201);
  const kata = pod('k');
  (kata.spec as Record<string, unknown>).runtimeClassName = 'kata';
  assert.equal((await api.request('POST', '/api/v1/namespaces/default/pods', { body: kata })).status, 201);
  const ctx: WriteContext = { user: { name: 'ci-bot', groups: [] }, auditAnnotations: {} };
  await api.storage.create(api.def('Pod'), 'default', pod('bot'), ctx);
  assert.deepEqual(ctx.auditAnnotations, { [`${P}exempt`]: 'user' });
  api.close();
});
