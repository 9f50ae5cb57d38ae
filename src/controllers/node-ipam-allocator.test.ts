import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CidrSet } from './node-ipam-allocator.js';

test('hands out consecutive subnets and none once exhausted', () => {
  const s = new CidrSet('10.42.0.0/22', 24);
  assert.equal(s.count, 4);
  assert.deepEqual([s.allocateNext(), s.allocateNext(), s.allocateNext(), s.allocateNext()], ['10.42.0.0/24', '10.42.1.0/24', '10.42.2.0/24', '10.42.3.0/24']);
  assert.equal(s.allocateNext(), undefined);
});

test('occupied ranges are skipped and released ones come back', () => {
  const s = new CidrSet('10.42.0.0/16', 24);
  assert.equal(s.occupy('10.42.0.0/24'), true);
  assert.equal(s.occupy('10.42.1.0/24'), true);
  assert.equal(s.allocateNext(), '10.42.2.0/24');
  s.release('10.42.1.0/24');
  assert.equal(s.isUsed('10.42.1.0/24'), false);
  assert.equal(s.isUsed('10.42.0.0/24'), true);
  const small = new CidrSet('10.42.0.0/23', 24);
  small.occupy('10.42.0.0/24');
  assert.equal(small.allocateNext(), '10.42.1.0/24');
  small.release('10.42.0.0/24');
  assert.equal(small.allocateNext(), '10.42.0.0/24');
});

test('ranges outside the cluster CIDR or of another size are not taken', () => {
  const s = new CidrSet('10.42.0.0/16', 24);
  assert.equal(s.occupy('10.43.0.0/24'), false);
  assert.equal(s.occupy('10.42.0.0/25'), false);
  assert.equal(s.occupy('garbage'), false);
  assert.equal(s.allocateNext(), '10.42.0.0/24');
});

test('a mask size that does not fit is a clear error', () => {
  assert.throws(() => new CidrSet('10.42.0.0/16', 8), /mask size 8 does not fit in cluster CIDR 10\.42\.0\.0\/16/);
  assert.throws(() => new CidrSet('10.42.0.0/16', 33), /mask size 33/);
  assert.throws(() => new CidrSet('nope', 24), /invalid IPv4 CIDR/);
});
