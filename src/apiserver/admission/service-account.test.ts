import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isReason } from '../../api/errors.js';
import type { KObject, ResourceDef } from '../../api/registry.js';
import { defaultRegistry } from '../../api/resources/index.js';
import type { WatchCache } from '../watch-cache.js';
import { serviceAccountAdmission, SERVICE_ACCOUNT_MOUNT_PATH } from './service-account.js';

const registry = defaultRegistry();
const podsDef = registry.byKind('', 'Pod')!;
const ctx = { user: { name: 'admin', groups: [] } };

function fakeCache(sas: Record<string, KObject>): WatchCache {
  return { get: (_d: ResourceDef, ns: string, name: string) => (sas[`${ns}/${name}`] ? { obj: sas[`${ns}/${name}`] } : undefined) } as unknown as WatchCache;
}

const pod = (spec: Record<string, unknown> = {}): KObject => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'ns1' },
  spec: { initContainers: [{ name: 'i', image: 'x' }], containers: [{ name: 'a', image: 'x' }, { name: 'b', image: 'x', volumeMounts: [{ name: 'mine', mountPath: SERVICE_ACCOUNT_MOUNT_PATH }] }], ...spec },
});

test('defaults the service account and adds the projected token volume to every container', async () => {
  const adm = serviceAccountAdmission({ cache: fakeCache({ 'ns1/default': { metadata: { name: 'default' }, imagePullSecrets: [{ name: 'reg' }] } as KObject }), registry });
  const p = pod();
  await adm('CREATE', podsDef, p, undefined, ctx);
  const spec = p.spec as any;
  assert.equal(spec.serviceAccountName, 'default');
  assert.deepEqual(spec.imagePullSecrets, [{ name: 'reg' }]);
  assert.equal(spec.volumes.length, 1);
  const v = spec.volumes[0];
  assert.match(v.name, /^kube-api-access-[a-z0-9]{5}$/);
  assert.deepEqual(v.projected, {
    defaultMode: 420,
    sources: [
      { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
      { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
      { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
    ],
  });
  const mount = { name: v.name, readOnly: true, mountPath: SERVICE_ACCOUNT_MOUNT_PATH };
  assert.deepEqual(spec.initContainers[0].volumeMounts, [mount]);
  assert.deepEqual(spec.containers[0].volumeMounts, [mount]);
  assert.deepEqual(spec.containers[1].volumeMounts, [{ name: 'mine', mountPath: SERVICE_ACCOUNT_MOUNT_PATH }], 'an existing mount at the path wins');
});

test('automountServiceAccountToken: the pod wins over the ServiceAccount', async () => {
  const adm = serviceAccountAdmission({ cache: fakeCache({ 'ns1/bot': { metadata: { name: 'bot' }, automountServiceAccountToken: false } as KObject }), registry });
  let p = pod({ serviceAccountName: 'bot' });
  await adm('CREATE', podsDef, p, undefined, ctx);
  assert.equal((p.spec as any).volumes, undefined);
  p = pod({ serviceAccountName: 'bot', automountServiceAccountToken: true });
  await adm('CREATE', podsDef, p, undefined, ctx);
  assert.equal((p.spec as any).volumes.length, 1);
});

test('a missing ServiceAccount is Forbidden; updates and mirror pods are untouched', async () => {
  const adm = serviceAccountAdmission({ cache: fakeCache({}), registry, waitForServiceAccountMs: 0 });
  await assert.rejects(async () => adm('CREATE', podsDef, pod(), undefined, ctx), (e) => isReason(e, 'Forbidden') && /error looking up service account ns1\/default/.test((e as Error).message));
  const p = pod();
  await adm('UPDATE', podsDef, p, pod(), ctx);
  assert.equal((p.spec as any).serviceAccountName, undefined);
  const m = pod();
  m.metadata!.annotations = { 'kubernetes.io/config.mirror': 'x' };
  await adm('CREATE', podsDef, m, undefined, ctx);
  assert.equal((m.spec as any).volumes, undefined);
});
