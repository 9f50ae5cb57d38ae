import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { CERTIFICATE_SIGNING_REQUESTS } from '../client/resources.js';
import { createCertificateRequest, createSelfSignedCa, DAY_MS, parseCertificateRequest } from '../client/cert.js';
import { KUBELET_CLIENT_SIGNER, KUBELET_SERVING_SIGNER } from '../api/resources/certificates.js';
import { newCsrApprovingController, newCsrSigningController, nodeCsrCheck } from './csr.js';
import { harness } from './testing/harness.js';

const CLIENT_USAGES = ['digital signature', 'key encipherment', 'client auth'];
const SERVING_USAGES = ['digital signature', 'key encipherment', 'server auth'];

test('nodeCsrCheck: node client and serving requests as upstream defines them', async () => {
  const client = await parseCertificateRequest((await createCertificateRequest({ commonName: 'system:node:n1', organizations: ['system:nodes'] })).csrPem);
  assert.equal(nodeCsrCheck(KUBELET_CLIENT_SIGNER, CLIENT_USAGES, client), null);
  assert.match(nodeCsrCheck(KUBELET_CLIENT_SIGNER, ['server auth'], client)!, /usages/);
  assert.match(nodeCsrCheck(KUBELET_SERVING_SIGNER, SERVING_USAGES, client)!, /at least one DNS name or IP/);
  const admin = await parseCertificateRequest((await createCertificateRequest({ commonName: 'system:node:n1', organizations: ['system:masters'] })).csrPem);
  assert.equal(nodeCsrCheck(KUBELET_CLIENT_SIGNER, CLIENT_USAGES, admin), 'subject O must be exactly ["system:nodes"]');
});

test('node bootstrap CSRs are approved and signed; others wait for a human', async () => {
  const ca = await createSelfSignedCa('test-ca', 10 * DAY_MS);
  const h = harness();
  const server = await h.client.started;
  h.start(newCsrApprovingController(h.ctx), newCsrSigningController(h.ctx, { ca }));
  const def = server.registry.byKind('certificates.k8s.io', 'CertificateSigningRequest')!;
  const create = async (name: string, user: { name: string; groups: string[] }, signerName: string, usages: string[], subject: { commonName: string; organizations: string[]; hosts?: string[] }) => {
    const { csrPem } = await createCertificateRequest(subject);
    await server.storage.create(def, '', { apiVersion: 'certificates.k8s.io/v1', kind: 'CertificateSigningRequest', metadata: { name }, spec: { request: Buffer.from(csrPem).toString('base64'), signerName, usages, username: 'forged' } }, { user });
  };
  const bootstrapper = { name: 'system:bootstrap:abcdef', groups: ['system:bootstrappers', 'system:authenticated'] };
  const n1 = { name: 'system:node:n1', groups: ['system:nodes', 'system:authenticated'] };
  const nobody = { name: 'mallory', groups: ['system:authenticated'] };
  await create('boot', bootstrapper, KUBELET_CLIENT_SIGNER, CLIENT_USAGES, { commonName: 'system:node:n1', organizations: ['system:nodes'] });
  await create('serving', n1, KUBELET_SERVING_SIGNER, SERVING_USAGES, { commonName: 'system:node:n1', organizations: ['system:nodes'], hosts: ['n1', '10.0.0.7'] });
  await create('steal', nobody, KUBELET_CLIENT_SIGNER, CLIENT_USAGES, { commonName: 'system:node:n2', organizations: ['system:nodes'] });
  await create('other-serving', n1, KUBELET_SERVING_SIGNER, SERVING_USAGES, { commonName: 'system:node:n2', organizations: ['system:nodes'], hosts: ['n2'] });
  for (let i = 0; i < 50 && !(h.client.peek<any>(CERTIFICATE_SIGNING_REQUESTS, undefined, 'boot')?.status?.certificate && h.client.peek<any>(CERTIFICATE_SIGNING_REQUESTS, undefined, 'serving')?.status?.certificate); i++) {
    await h.settle();
    await new Promise((r) => setTimeout(r, 20));
  }
  const get = (n: string) => h.client.peek<any>(CERTIFICATE_SIGNING_REQUESTS, undefined, n)!;
  assert.equal(get('boot').spec.username, 'system:bootstrap:abcdef', 'the requester is stamped, not taken from the body');
  assert.equal(get('boot').status.conditions[0].reason, 'AutoApproved');
  const cert = new X509Certificate(Buffer.from(get('boot').status.certificate, 'base64'));
  assert.equal(cert.subject, 'O=system:nodes\nCN=system:node:n1');
  assert.ok(cert.verify(new X509Certificate(ca.certPem).publicKey));
  assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.2']);
  const serving = new X509Certificate(Buffer.from(get('serving').status.certificate, 'base64'));
  assert.ok(serving.checkIP('10.0.0.7') && serving.checkHost('n1'));
  assert.deepEqual(serving.keyUsage, ['1.3.6.1.5.5.7.3.1']);
  for (const n of ['steal', 'other-serving']) assert.equal(get(n).status, undefined, `${n} stays pending`);
  h.stop();
});
