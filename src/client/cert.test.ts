import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer, request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { caCertHash, certificateIdentity, certUsable, createCertificateRequest, createSelfSignedCa, createServingCert, DAY_MS, ensureSelfSignedServingCert, normalizeHosts, parseCertificateRequest, signCertificateRequest } from './cert.js';

test('a serving certificate signed by a CA chains to it and names its hosts', async () => {
  const ca = await createSelfSignedCa('test-ca', 10 * DAY_MS);
  const serving = await createServingCert({ commonName: 'srv', hosts: ['127.0.0.1', 'example.test'], lifetimeMs: DAY_MS, issuer: ca });
  const caCert = new X509Certificate(ca.certPem);
  const cert = new X509Certificate(serving.certPem);
  assert.equal(caCert.ca, true);
  assert.equal(cert.ca, false);
  assert.equal(cert.subject, 'CN=srv');
  assert.equal(cert.issuer, 'CN=test-ca');
  assert.ok(cert.checkIssued(caCert) && cert.verify(caCert.publicKey));
  assert.ok(cert.checkIP('127.0.0.1'));
  assert.ok(cert.checkHost('example.test'));
  assert.equal(cert.checkHost('other.test'), undefined);
  assert.ok(certUsable(serving.certPem, ca.certPem, 0));
  assert.ok(!certUsable(serving.certPem, ca.certPem, 2 * DAY_MS), 'too close to expiry');
  const otherCa = await createSelfSignedCa('other-ca', DAY_MS);
  assert.ok(!certUsable(serving.certPem, otherCa.certPem, 0), 'not issued by that CA');
  assert.ok(!certUsable('garbage', ca.certPem, 0));
});

test('a self-signed serving certificate is kept in files, reused, and reissued when the hosts change', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-cert-'));
  try {
    const opts = { name: 'agent', commonName: 'skiff-agent', hosts: ['127.0.0.1', 'localhost'], lifetimeMs: 365 * DAY_MS };
    const first = await ensureSelfSignedServingCert(dir, opts);
    assert.deepEqual(readdirSync(dir).sort(), ['agent.crt', 'agent.hosts', 'agent.key'], 'only its own certificate: no CA, no token, no signing key');
    assert.equal(statSync(join(dir, 'agent.key')).mode & 0o777, 0o600);
    const cert = new X509Certificate(first.certPem);
    assert.ok(cert.issuer === cert.subject && cert.verify(cert.publicKey), 'self-signed');
    assert.deepEqual(await ensureSelfSignedServingCert(dir, opts), first, 'reused');
    const widened = await ensureSelfSignedServingCert(dir, { ...opts, hosts: [...opts.hosts, '10.0.0.7'] });
    assert.notEqual(widened.certPem, first.certPem);
    assert.ok(new X509Certificate(widened.certPem).checkIP('10.0.0.7'));

    // A client that pins the certificate trusts the server with it.
    const server = createServer({ cert: widened.certPem, key: widened.keyPem }, (_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const body = await new Promise<string>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, path: '/', ca: widened.certPem, agent: false }, (res) => {
          let b = '';
          res.on('data', (c) => (b += c));
          res.on('end', () => resolve(b));
        });
        req.on('error', reject);
        req.end();
      });
      assert.equal(body, 'ok');
    } finally {
      server.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('normalizeHosts trims, lower-cases, deduplicates and sorts', () => {
  assert.deepEqual(normalizeHosts([' LocalHost', 'b', '', 'localhost', '10.0.0.1']), ['10.0.0.1', 'b', 'localhost']);
});

test('a CSR carries its subject and SANs; signing it yields a client or serving certificate for the same key', async () => {
  const ca = await createSelfSignedCa('test-ca', DAY_MS);
  const { csrPem, keyPem } = await createCertificateRequest({ commonName: 'system:node:n1', organizations: ['system:nodes'], hosts: ['n1', '10.0.0.5'] });
  assert.deepEqual(await parseCertificateRequest(csrPem), { commonName: 'system:node:n1', organizations: ['system:nodes'], dnsNames: ['n1'], ipAddresses: ['10.0.0.5'] });
  const certPem = await signCertificateRequest(csrPem, { usages: ['client'], lifetimeMs: DAY_MS, issuer: ca });
  const cert = new X509Certificate(certPem);
  assert.ok(cert.checkPrivateKey(createPrivateKey(keyPem)), 'issued for the requester key');
  assert.ok(cert.verify(new X509Certificate(ca.certPem).publicKey));
  assert.deepEqual(certificateIdentity(certPem), { user: 'system:node:n1', groups: ['system:nodes'] });
  assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.2']);
  assert.ok(cert.checkIP('10.0.0.5'));
  const tampered = csrPem.replace(/^(.{80})(.)/ms, (_m, a: string, b: string) => a + (b === 'A' ? 'B' : 'A'));
  await assert.rejects(parseCertificateRequest(tampered));
});

test('caCertHash is the SHA-256 of the DER certificate', async () => {
  const ca = await createSelfSignedCa('test-ca', DAY_MS);
  assert.equal(caCertHash(ca.certPem), createHash('sha256').update(new X509Certificate(ca.certPem).raw).digest('hex'));
});
