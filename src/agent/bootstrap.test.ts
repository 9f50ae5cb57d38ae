import { test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { caCertHash, createSelfSignedCa, createServingCert, DAY_MS } from '../client/cert.js';
import { certFresh, fetchPinnedCa } from './bootstrap.js';

test('certFresh: renew once less than a fifth of the lifetime is left, or when it does not chain to the CA', async () => {
  const ca = await createSelfSignedCa('ca', 100 * DAY_MS);
  const cert = await createServingCert({ commonName: 'x', hosts: ['127.0.0.1'], lifetimeMs: 10 * DAY_MS, issuer: ca });
  const now = Date.now();
  assert.equal(certFresh(cert.certPem, ca.certPem, now), true);
  assert.equal(certFresh(cert.certPem, ca.certPem, now + 7 * DAY_MS), true);
  assert.equal(certFresh(cert.certPem, ca.certPem, now + 9 * DAY_MS), false);
  assert.equal(certFresh(cert.certPem, (await createSelfSignedCa('other', DAY_MS)).certPem, now), false);
});

test('fetchPinnedCa takes the CA from the handshake only when its hash matches the token', async () => {
  const ca = await createSelfSignedCa('ca', DAY_MS);
  const serving = await createServingCert({ commonName: 'api', hosts: ['127.0.0.1'], lifetimeMs: DAY_MS, issuer: ca });
  const srv = https.createServer({ cert: serving.certPem + ca.certPem, key: serving.keyPem }, (_q, r) => r.end());
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  try {
    const url = `https://127.0.0.1:${(srv.address() as AddressInfo).port}`;
    assert.equal((await fetchPinnedCa(url, caCertHash(ca.certPem))).replace(/\s/g, ''), ca.certPem.replace(/\s/g, ''));
    const other = await createSelfSignedCa('other', DAY_MS);
    await assert.rejects(fetchPinnedCa(url, caCertHash(other.certPem)), /did not present a CA with the pinned hash/);
  } finally {
    srv.close();
  }
});
