import { test } from 'node:test';
import assert from 'node:assert/strict';
import { familiarString, normalizeReference, parseNormalized, parseReference } from './reference.js';

const D = 'sha256:' + 'ab'.repeat(32);

test('normalises references like docker', () => {
  assert.equal(normalizeReference('busybox'), 'docker.io/library/busybox:latest');
  assert.equal(normalizeReference('busybox:1.36'), 'docker.io/library/busybox:1.36');
  assert.equal(normalizeReference('user/app'), 'docker.io/user/app:latest');
  assert.equal(normalizeReference('index.docker.io/library/busybox'), 'docker.io/library/busybox:latest');
  assert.equal(normalizeReference('localhost:5000/app'), 'localhost:5000/app:latest');
  assert.equal(normalizeReference('localhost/app:v2'), 'localhost/app:v2');
  assert.equal(normalizeReference('quay.io/a/b/c:1'), 'quay.io/a/b/c:1');
  assert.equal(normalizeReference(`app@${D}`), `docker.io/library/app@${D}`);
  assert.equal(normalizeReference(`127.0.0.1:5000/app:v1@${D}`), `127.0.0.1:5000/app:v1@${D}`);
  assert.deepEqual(parseReference('localhost:5000/x'), { domain: 'localhost:5000', path: 'x', tag: 'latest' });
  assert.equal(parseNormalized('busybox').tag, undefined);
});

test('rejects what docker rejects', () => {
  assert.throws(() => parseReference('BusyBox'), /must be lowercase/);
  assert.throws(() => parseReference('ab'.repeat(32)), /64-byte hexadecimal/);
  assert.throws(() => parseReference('app@sha256:abc'), /digest/);
  assert.throws(() => parseReference('app:bad tag'), /invalid reference format/);
  assert.throws(() => parseReference(''), /invalid reference format/);
  assert.throws(() => parseReference('a//b'), /invalid reference format/);
});

test('familiar strings drop docker.io and library/', () => {
  assert.equal(familiarString('docker.io/library/busybox:latest'), 'busybox:latest');
  assert.equal(familiarString('docker.io/user/app:1'), 'user/app:1');
  assert.equal(familiarString('localhost:5000/app:latest'), 'localhost:5000/app:latest');
});
