import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ipToNumber, ipToString, nthAddress, parseCidr } from './cidr.js';

test('parseCidr clears host bits and counts the addresses', () => {
  assert.deepEqual(parseCidr('10.43.0.0/16'), { base: ipToNumber('10.43.0.0'), size: 65536, prefix: 16 });
  assert.deepEqual(parseCidr('10.43.7.9/16'), parseCidr('10.43.0.0/16'));
  assert.deepEqual(parseCidr('192.168.1.1/32'), { base: ipToNumber('192.168.1.1'), size: 1, prefix: 32 });
  assert.deepEqual(parseCidr('200.1.2.3/0'), { base: 0, size: 2 ** 32, prefix: 0 });
  assert.equal(ipToString(parseCidr('255.255.255.255/24').base), '255.255.255.0');
});

test('parseCidr rejects what is not an IPv4 CIDR', () => {
  for (const bad of ['10.43.0.0', '10.43.0/16', '10.43.0.0/33', '10.43.0.0/', '256.0.0.0/8', 'fd00::/64', '10.43.0.0/1x']) {
    assert.throws(() => parseCidr(bad), /invalid IPv4 CIDR/, bad);
  }
});

test('ipToNumber and ipToString are inverse over the whole range', () => {
  for (const s of ['0.0.0.0', '10.43.0.1', '127.0.1.255', '255.255.255.255']) assert.equal(ipToString(ipToNumber(s)!), s);
  assert.equal(ipToNumber('255.255.255.255'), 2 ** 32 - 1);
  assert.equal(ipToNumber('1.2.3'), undefined);
  assert.equal(ipToNumber('1.2.3.256'), undefined);
});

test('nthAddress counts from the network address', () => {
  assert.equal(nthAddress('10.43.0.0/16', 1), '10.43.0.1');
  assert.equal(nthAddress('10.43.0.0/16', 10), '10.43.0.10');
  assert.equal(nthAddress('10.42.3.0/24', 256), '10.42.4.0');
});
