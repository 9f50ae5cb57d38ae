import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { X509Certificate } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import {
  ensurePki,
  signServiceAccountToken,
  verifyServiceAccountToken,
  SERVICE_ACCOUNT_ISSUER,
} from './pki.js';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'skiff-pki-'));
}

/** GETs https://<host>:port/ with the given CA; resolves the body or rejects with the TLS error. */
function get(port: number, host: string, ca: string | undefined, servername?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path: '/', ca, servername, agent: false }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
}

test('first run creates CA, serving cert, token and SA keys; files are private', async () => {
  const dir = tempDir();
  try {
    const pki = await ensurePki(dir, { hosts: ['10.43.0.1', 'skiff.example'] });
    assert.match(pki.adminToken, /^[0-9a-f]{64}$/);
    const ca = new X509Certificate(pki.caCertPem);
    assert.equal(ca.subject, 'CN=skiff-ca');
    assert.equal(ca.ca, true);
    assert.ok(Date.parse(ca.validTo) - Date.now() > 9 * 365 * 24 * 3600 * 1000, 'CA lives ~10 years');
    assert.equal(ca.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    const serving = new X509Certificate(pki.servingCertPem);
    assert.ok(serving.checkIssued(ca) && serving.verify(ca.publicKey));
    for (const h of ['127.0.0.1', '10.43.0.1']) assert.ok(serving.checkIP(h), `SAN IP ${h}`);
    for (const h of ['localhost', 'kubernetes.default.svc.cluster.local', 'skiff.example']) assert.ok(serving.checkHost(h), `SAN ${h}`);
    assert.equal(serving.checkHost('evil.example'), undefined);
    for (const f of ['ca.key', 'apiserver.key', 'admin-token', 'sa.key']) {
      assert.equal(statSync(join(dir, f)).mode & 0o777, 0o600, `${f} is 0600`);
    }
    assert.equal(pki.saPrivateKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('reuse reads the files and writes nothing (same material); a changed host list reissues only the serving cert', async () => {
  const dir = tempDir();
  try {
    const first = await ensurePki(dir, { hosts: ['10.43.0.1'] });
    const files = readdirSync(dir).sort();
    const mtimes = files.map((f) => statSync(join(dir, f)).mtimeMs);
    const again = await ensurePki(dir, { hosts: ['10.43.0.1'] });
    assert.deepEqual(readdirSync(dir).sort(), files, 'no file added');
    assert.deepEqual(files.map((f) => statSync(join(dir, f)).mtimeMs), mtimes, 'no file rewritten');
    assert.equal(again.caCertPem, first.caCertPem);
    assert.equal(again.servingCertPem, first.servingCertPem);
    assert.equal(again.adminToken, first.adminToken);
    assert.ok(again.saPublicKey.equals(first.saPublicKey));

    const widened = await ensurePki(dir, { hosts: ['10.43.0.1', '192.168.7.7'] });
    assert.equal(widened.caCertPem, first.caCertPem);
    assert.equal(widened.adminToken, first.adminToken);
    assert.notEqual(widened.servingCertPem, first.servingCertPem);
    assert.ok(new X509Certificate(widened.servingCertPem).checkIP('192.168.7.7'));

    // a serving cert from some other CA is replaced, not trusted
    const other = tempDir();
    try {
      const foreign = await ensurePki(other, { hosts: ['10.43.0.1', '192.168.7.7'] });
      writeFileSync(join(dir, 'apiserver.crt'), foreign.servingCertPem);
      writeFileSync(join(dir, 'apiserver.key'), foreign.servingKeyPem);
      const fixed = await ensurePki(dir, { hosts: ['10.43.0.1', '192.168.7.7'] });
      assert.ok(new X509Certificate(fixed.servingCertPem).checkIssued(new X509Certificate(first.caCertPem)));
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an https server with the serving cert is trusted via the CA for 127.0.0.1 and kubernetes.default, and not without it', async () => {
  const dir = tempDir();
  const pki = await ensurePki(dir, { hosts: [] });
  const server = createServer({ cert: pki.servingCertPem, key: pki.servingKeyPem }, (_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    assert.equal(await get(port, '127.0.0.1', pki.caCertPem), 'ok');
    assert.equal(await get(port, '127.0.0.1', pki.caCertPem, 'kubernetes.default.svc'), 'ok');
    await assert.rejects(get(port, '127.0.0.1', undefined), (err: NodeJS.ErrnoException) => {
      assert.match(String(err.code), /SELF_SIGNED|UNABLE_TO_GET_ISSUER|UNABLE_TO_VERIFY/);
      return true;
    });
    await assert.rejects(get(port, '127.0.0.1', pki.caCertPem, 'not-in-the-cert.example'), /altnames|Hostname/i);
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('service-account tokens: upstream claim shape, verification, expiry, audience and tampering', async () => {
  const dir = tempDir();
  try {
    const pki = await ensurePki(dir, { hosts: [] });
    const now = new Date('2030-01-01T00:00:00Z');
    const token = await signServiceAccountToken(pki, {
      namespace: 'team-a', serviceAccountName: 'builder', serviceAccountUid: 'sa-uid',
      podName: 'p-1', podUid: 'pod-uid', expirationSeconds: 3600,
    }, now);
    const header = decodeProtectedHeader(token);
    assert.equal(header.alg, 'ES256');
    assert.match(String(header.kid), /^[A-Za-z0-9_-]{43}$/);
    const claims = decodeJwt(token);
    assert.equal(claims.iss, SERVICE_ACCOUNT_ISSUER);
    assert.equal(claims.sub, 'system:serviceaccount:team-a:builder');
    assert.deepEqual(claims.aud, [SERVICE_ACCOUNT_ISSUER]);
    assert.equal(claims.exp! - claims.iat!, 3600);
    assert.equal(claims.nbf, claims.iat);
    assert.deepEqual(claims['kubernetes.io'], {
      namespace: 'team-a',
      serviceaccount: { name: 'builder', uid: 'sa-uid' },
      pod: { name: 'p-1', uid: 'pod-uid' },
    });

    const user = await verifyServiceAccountToken(pki, token, new Date(now.getTime() + 60_000));
    assert.deepEqual({ username: user?.username, uid: user?.uid, groups: user?.groups }, {
      username: 'system:serviceaccount:team-a:builder',
      uid: 'sa-uid',
      groups: ['system:serviceaccounts', 'system:serviceaccounts:team-a'],
    });
    assert.deepEqual(user?.extra['authentication.kubernetes.io/pod-name'], ['p-1']);

    assert.equal(await verifyServiceAccountToken(pki, token, new Date(now.getTime() + 3601_000)), null, 'expired');
    assert.equal(await verifyServiceAccountToken(pki, token, new Date(now.getTime() - 3600_000)), null, 'not yet valid');
    assert.equal(await verifyServiceAccountToken(pki, token, now, ['vault']), null, 'wrong audience');
    const [h, p, s] = token.split('.');
    const forged = Buffer.from(JSON.stringify({ ...claims, sub: 'system:serviceaccount:kube-system:admin' })).toString('base64url');
    assert.equal(await verifyServiceAccountToken(pki, `${h}.${forged}.${s}`, now), null, 'tampered payload');
    assert.equal(await verifyServiceAccountToken(pki, 'not-a-jwt', now), null);

    // a token from another cluster's key is rejected
    const other = tempDir();
    try {
      const otherPki = await ensurePki(other, { hosts: [] });
      const foreign = await signServiceAccountToken(otherPki, { namespace: 'a', serviceAccountName: 'b', serviceAccountUid: 'c', expirationSeconds: 60 }, now);
      assert.equal(await verifyServiceAccountToken(pki, foreign, now), null);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
    assert.ok(p && readFileSync(join(dir, 'sa.pub'), 'utf8').includes('PUBLIC KEY'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
