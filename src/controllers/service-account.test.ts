import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NAMESPACES, SERVICE_ACCOUNTS } from '../client/resources.js';
import { newServiceAccountController } from './service-account.js';
import { harness } from './testing/harness.js';

test('every active namespace gets a default ServiceAccount, re-created when deleted', async () => {
  const h = harness();
  await h.client.create(NAMESPACES, undefined, { metadata: { name: 'a' } });
  h.start(newServiceAccountController(h.ctx));
  await h.settle();
  await h.client.create(NAMESPACES, undefined, { metadata: { name: 'b' } });
  await h.settle();
  assert.ok(h.client.peek(SERVICE_ACCOUNTS, 'a', 'default'));
  assert.ok(h.client.peek(SERVICE_ACCOUNTS, 'b', 'default'));
  await h.client.delete(SERVICE_ACCOUNTS, 'a', 'default');
  await h.settle();
  assert.ok(h.client.peek(SERVICE_ACCOUNTS, 'a', 'default'));
  await h.client.delete(NAMESPACES, undefined, 'b');
  await h.client.delete(SERVICE_ACCOUNTS, 'b', 'default');
  await h.settle();
  assert.equal(h.client.peek(SERVICE_ACCOUNTS, 'b', 'default'), undefined, 'not in a terminating namespace');
  h.stop();
});
