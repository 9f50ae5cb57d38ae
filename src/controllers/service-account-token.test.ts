import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Secret, ServiceAccount } from 'kubernetes-types/core/v1.js';
import { SECRETS, SERVICE_ACCOUNTS } from '../client/resources.js';
import { newTokensController, SA_NAME_ANNOTATION, SA_UID_ANNOTATION, type LegacyTokenClaims } from './service-account-token.js';
import { harness } from './testing/harness.js';

const pem = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n';
const b64 = (s: string) => Buffer.from(s).toString('base64');

test('a service-account-token Secret gets token, ca.crt, namespace and the uid; it goes when its ServiceAccount goes', async () => {
  const h = harness();
  const signed: LegacyTokenClaims[] = [];
  h.start(newTokensController(h.ctx, { caPem: pem, sign: async (c) => (signed.push(c), `jwt-for-${c.secretName}`) }));
  const sa = await h.client.create<ServiceAccount>(SERVICE_ACCOUNTS, 'default', { metadata: { name: 'build-robot' } });
  await h.client.create(SECRETS, 'default', { metadata: { name: 'robot-token', annotations: { [SA_NAME_ANNOTATION]: 'build-robot' } }, type: 'kubernetes.io/service-account-token' });
  await h.client.create(SECRETS, 'default', { metadata: { name: 'plain' }, type: 'Opaque', data: { a: b64('b') } });
  await h.settle();
  const s = h.client.peek<Secret>(SECRETS, 'default', 'robot-token')!;
  assert.deepEqual(s.data, { token: b64('jwt-for-robot-token'), 'ca.crt': b64(pem), namespace: b64('default') });
  assert.equal(s.metadata!.annotations![SA_UID_ANNOTATION], sa.metadata!.uid);
  assert.deepEqual(signed, [{ namespace: 'default', secretName: 'robot-token', serviceAccountName: 'build-robot', serviceAccountUid: sa.metadata!.uid }]);
  assert.deepEqual(h.client.peek<Secret>(SECRETS, 'default', 'plain')!.data, { a: b64('b') }, 'other Secrets are left alone');

  await h.client.delete(SERVICE_ACCOUNTS, 'default', 'build-robot');
  await h.settle();
  assert.equal(h.client.peek(SECRETS, 'default', 'robot-token'), undefined);
  h.stop();
});
