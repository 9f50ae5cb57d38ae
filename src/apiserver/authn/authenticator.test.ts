import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN_USER, ApiServer } from '../server.js';
import { MemoryStore } from '../../store/memory.js';
import { HttpTransport } from '../../client/rest.js';
import { createClientCert, createSelfSignedCa, createServingCert, DAY_MS } from '../../client/cert.js';
import { bootstrapTokenSecret } from './bootstrap-token.js';

let dir: string;
let server: ApiServer;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'skiff-authn-'));
  // An existing, world-readable data dir: the server tightens it.
  mkdirSync(join(dir, 'data'), { mode: 0o755 });
  server = await ApiServer.start({ dataDir: join(dir, 'data'), port: 0, store: new MemoryStore() });
});
after(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function get(o: { certPem?: string; keyPem?: string; token?: string }, path = '/api/v1/namespaces'): Promise<number> {
  const t = new HttpTransport({ server: server.url, caPem: server.pki.caCertPem, ...o });
  try {
    return (await t.request({ method: 'GET', path })).status;
  } finally {
    t.close();
  }
}

test('a client certificate signed by the cluster CA authenticates; none, a foreign one or a server-only one does not', async () => {
  const ca = { certPem: server.pki.caCertPem, keyPem: server.pki.caKeyPem };
  assert.equal(await get(server.pki.adminCert), 200, 'the admin certificate alone is enough');
  assert.equal(await get({}), 401);
  const foreignCa = await createSelfSignedCa('other-ca', DAY_MS);
  assert.equal(await get(await createClientCert({ commonName: 'kubernetes-admin', organizations: ['system:masters'], lifetimeMs: DAY_MS, issuer: foreignCa })), 401);
  // Right CA, but a serving certificate: no clientAuth usage, so not an identity.
  assert.equal(await get(await createServingCert({ commonName: 'kubernetes-admin', hosts: ['127.0.0.1'], lifetimeMs: DAY_MS, issuer: ca })), 401);
  assert.equal(await get({ token: server.pki.adminToken }), 200, 'the admin token still works');
});

test('the certificate subject becomes the user: CN the name, every O a group, plus system:authenticated', async () => {
  const user = await server.authenticator.authenticate({
    method: 'GET', path: '/api', query: new URLSearchParams(), headers: {},
    clientCertificate: { subject: 'O=system:nodes\nO=team-a\nCN=system:node:n1', extKeyUsage: ['1.3.6.1.5.5.7.3.2'] },
  });
  assert.deepEqual(user, { name: 'system:node:n1', groups: ['system:nodes', 'team-a', 'system:authenticated'] });
  const noCn = await server.authenticator.authenticate({
    method: 'GET', path: '/api', query: new URLSearchParams(), headers: {},
    clientCertificate: { subject: 'O=system:masters', extKeyUsage: ['1.3.6.1.5.5.7.3.2'] },
  });
  assert.equal(noCn, undefined);
});

test('a bootstrap token authenticates as system:bootstrap:<id> until its Secret is gone or expired', async () => {
  const secretDef = server.registry.byKind('', 'Secret')!;
  const token = 'abcdef.0123456789abcdef';
  assert.equal(await server.authenticator.authenticateToken(token), undefined);
  await server.storage.create(secretDef, 'kube-system', bootstrapTokenSecret(token, 'test') as never, { user: ADMIN_USER });
  assert.deepEqual(await server.authenticator.authenticateToken(token), { name: 'system:bootstrap:abcdef', groups: ['system:bootstrappers', 'system:authenticated'] });
  assert.equal(await server.authenticator.authenticateToken('abcdef.0123456789abcdee'), undefined, 'wrong secret');
  // A bootstrap token only asks for certificates (upstream's system:node-bootstrapper role).
  assert.equal(await get({ token }, '/apis/certificates.k8s.io/v1/certificatesigningrequests'), 200);
  assert.equal(await get({ token }), 403);
  assert.equal(await get({ token }, '/api/v1/namespaces/kube-system/secrets'), 403);
  await server.storage.update(secretDef, 'kube-system', 'bootstrap-token-abcdef', (cur) => ({ ...cur, data: { ...(cur.data as object), expiration: Buffer.from('2020-01-01T00:00:00Z').toString('base64') } }), { user: ADMIN_USER });
  assert.equal(await server.authenticator.authenticateToken(token), undefined, 'expired');
});

test('the data dir is 0700; keys and the kubeconfig are 0600', () => {
  const data = join(dir, 'data');
  assert.equal(statSync(data).mode & 0o777, 0o700);
  assert.equal(statSync(join(data, 'pki')).mode & 0o777, 0o700);
  for (const f of ['pki/ca.key', 'pki/apiserver.key', 'pki/admin.key', 'pki/apiserver-kubelet-client.key', 'pki/sa.key', 'pki/admin-token', 'kubeconfig']) {
    assert.equal(statSync(join(data, f)).mode & 0o777, 0o600, f);
  }
});
