import { test } from 'node:test';
import assert from 'node:assert/strict';
import { aesDecrypt, aesEncrypt, checkKeyLength } from './aes.js';

const hex = (s: string) => Buffer.from(s, 'hex');

test('aesgcm: NIST GCM test case 2 (zero key, zero nonce): nonce ‖ ciphertext ‖ tag', () => {
  const key = Buffer.alloc(16);
  const nonce = Buffer.alloc(12);
  const out = aesEncrypt('aesgcm', key, Buffer.alloc(16), Buffer.alloc(0), nonce);
  assert.equal(out.toString('hex'), '000000000000000000000000' + '0388dace60b6a392f328c2b971b2fe78' + 'ab6e47d42cec13bdf53a67b21257bddf');
  assert.deepEqual(aesDecrypt('aesgcm', key, out, Buffer.alloc(0)), Buffer.alloc(16));
});

test('aescbc: NIST SP 800-38A F.2.5 (CBC-AES256) first block, IV first, PKCS#7 padding block after', () => {
  const key = hex('603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4');
  const iv = hex('000102030405060708090a0b0c0d0e0f');
  const out = aesEncrypt('aescbc', key, hex('6bc1bee22e409f96e93d7e117393172a'), Buffer.alloc(0), iv);
  assert.equal(out.length, 16 + 32);
  assert.equal(out.subarray(0, 16).toString('hex'), iv.toString('hex'));
  assert.equal(out.subarray(16, 32).toString('hex'), 'f58c4c04d6e5f1ba779eabfb5f7bfbd6');
  assert.equal(aesDecrypt('aescbc', key, out, Buffer.alloc(0)).toString('hex'), '6bc1bee22e409f96e93d7e117393172a');
});

test('round trip with random nonces: two encryptions differ, both decrypt', () => {
  for (const mode of ['aesgcm', 'aescbc'] as const) {
    const key = Buffer.alloc(32, 7);
    const plain = Buffer.from('{"kind":"Secret","data":{"k":"c2VjcmV0"}}');
    const a = aesEncrypt(mode, key, plain, Buffer.from('/registry/core/secrets/ns/a'));
    const b = aesEncrypt(mode, key, plain, Buffer.from('/registry/core/secrets/ns/a'));
    assert.notDeepEqual(a, b, mode);
    assert.deepEqual(aesDecrypt(mode, key, a, Buffer.from('/registry/core/secrets/ns/a')), plain, mode);
    assert.deepEqual(aesDecrypt(mode, key, b, Buffer.from('/registry/core/secrets/ns/a')), plain, mode);
  }
});

test('aesgcm detects tampering, a wrong key and a value moved to another storage key', () => {
  const key = Buffer.alloc(32, 1);
  const aad = Buffer.from('/registry/core/secrets/ns/a');
  const ct = aesEncrypt('aesgcm', key, Buffer.from('marker'), aad);
  const flipped = Buffer.from(ct);
  flipped[14] ^= 1;
  assert.throws(() => aesDecrypt('aesgcm', key, flipped, aad), /message authentication failed/);
  assert.throws(() => aesDecrypt('aesgcm', Buffer.alloc(32, 2), ct, aad), /message authentication failed/);
  assert.throws(() => aesDecrypt('aesgcm', key, ct, Buffer.from('/registry/core/secrets/ns/b')), /message authentication failed/);
  assert.throws(() => aesDecrypt('aesgcm', key, ct.subarray(0, 20), aad), /shorter than the required size/);
});

test('aescbc with a wrong key fails the padding check or yields other bytes, never the plaintext', () => {
  const ct = aesEncrypt('aescbc', Buffer.alloc(32, 1), Buffer.from('marker-value'), Buffer.alloc(0));
  let out: Buffer | undefined;
  try {
    out = aesDecrypt('aescbc', Buffer.alloc(32, 2), ct, Buffer.alloc(0));
  } catch (err) {
    assert.match((err as Error).message, /PKCS7/);
  }
  assert.notEqual(out?.toString(), 'marker-value');
  assert.throws(() => aesDecrypt('aescbc', Buffer.alloc(32, 1), ct.subarray(0, 20), Buffer.alloc(0)), /block size/);
});

test('key lengths as upstream: GCM 16/24/32, CBC 32', () => {
  assert.equal(checkKeyLength('aesgcm', Buffer.alloc(16)), undefined);
  assert.equal(checkKeyLength('aesgcm', Buffer.alloc(24)), undefined);
  assert.match(checkKeyLength('aesgcm', Buffer.alloc(20))!, /16, 24 or 32/);
  assert.match(checkKeyLength('aescbc', Buffer.alloc(16))!, /32 bytes/);
});
