import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { registryAuthHeader, registryConfigHeader, registryDomain } from './auth.js';

const req = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;
const b64url = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

test('X-Registry-Auth: base64url JSON with username/password or auth; {} and absence mean none', () => {
  assert.deepEqual(registryAuthHeader(req({ 'x-registry-auth': b64url({ username: 'alice', password: 'pw?>', serveraddress: 'localhost:5000' }) })), { username: 'alice', password: 'pw?>' });
  assert.deepEqual(registryAuthHeader(req({ 'x-registry-auth': Buffer.from(JSON.stringify({ auth: Buffer.from('bob:x:y').toString('base64') })).toString('base64') })), { username: 'bob', password: 'x:y' });
  assert.equal(registryAuthHeader(req({ 'x-registry-auth': 'e30=' })), undefined);
  assert.equal(registryAuthHeader(req({})), undefined);
  assert.throws(() => registryAuthHeader(req({ 'x-registry-auth': Buffer.from('{not json').toString('base64') })), /invalid X-Registry-Auth/);
});

test('X-Registry-Config maps registries to credentials; server addresses normalise to domains', () => {
  const m = registryConfigHeader(req({ 'x-registry-config': b64url({ 'https://index.docker.io/v1/': { username: 'u', password: 'p' }, 'localhost:5000': { username: 'l', password: 'q' }, empty: {} }) }));
  assert.deepEqual([...m], [['docker.io', { username: 'u', password: 'p' }], ['localhost:5000', { username: 'l', password: 'q' }]]);
  assert.equal(registryDomain(''), 'docker.io');
  assert.equal(registryDomain('http://127.0.0.1:5000/v2/'), '127.0.0.1:5000');
  assert.equal(registryDomain('registry.example.com'), 'registry.example.com');
});
