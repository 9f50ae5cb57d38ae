import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultRegistry } from '../../api/resources/index.js';
import { MemoryStore } from '../../store/memory.js';
import { addKey, defaultEncryptionConfig, parseEncryptionConfig, stringifyEncryptionConfig, type EncryptionConfig } from './config.js';
import { EncryptingStore } from './encrypting-store.js';
import { ValueTransformer } from './transformer.js';

const registry = defaultRegistry();
const KEY = '/registry/core/secrets/default/s';
const PLAIN = '{"kind":"Secret","data":{"v":"bWFya2Vy"}}';

test('secrets are written under k8s:enc:aesgcm:v1:key1: and read back; other resources stay plaintext', () => {
  const t = new ValueTransformer(defaultEncryptionConfig(), registry);
  const stored = t.toStorage(KEY, PLAIN);
  assert.ok(stored.startsWith('k8s:enc:aesgcm:v1:key1:'), stored);
  assert.ok(!stored.includes('bWFya2Vy'));
  assert.deepEqual(t.fromStorage(KEY, stored), { value: PLAIN, stale: false });
  assert.equal(t.toStorage('/registry/core/configmaps/default/c', PLAIN), PLAIN);
  // Plaintext is readable (identity is configured) and reported stale.
  assert.deepEqual(t.fromStorage(KEY, PLAIN), { value: PLAIN, stale: true });
});

test('after addKey the new key writes, the old key still reads (stale), an unknown key is an error', () => {
  const cfg = defaultEncryptionConfig();
  const old = new ValueTransformer(cfg, registry);
  const oldValue = old.toStorage(KEY, PLAIN);
  const { config, keyName } = addKey(cfg);
  assert.equal(keyName, 'key2');
  const t = new ValueTransformer(config, registry);
  assert.ok(t.toStorage(KEY, PLAIN).startsWith('k8s:enc:aesgcm:v1:key2:'));
  assert.deepEqual(t.fromStorage(KEY, oldValue), { value: PLAIN, stale: true });
  const onlyNew: EncryptionConfig = { resources: [{ resources: ['secrets'], providers: [{ type: 'aesgcm', keys: [(config.resources[0].providers[0] as { keys: { name: string; secret: Buffer }[] }).keys[0]] }] }] };
  assert.throws(() => new ValueTransformer(onlyNew, registry).fromStorage(KEY, oldValue), /no configured key matches the stored prefix "k8s:enc:aesgcm:v1:key1:"/);
  assert.throws(() => new ValueTransformer(onlyNew, registry).fromStorage(KEY, PLAIN), /identity provider is not configured/);
});

test('the config file round-trips in upstream EncryptionConfiguration form and bad keys are refused', () => {
  const cfg = defaultEncryptionConfig();
  const text = stringifyEncryptionConfig(cfg);
  assert.match(text, /kind: EncryptionConfiguration/);
  assert.match(text, /aesgcm:/);
  assert.deepEqual(parseEncryptionConfig(text), cfg);
  const cbc = `kind: EncryptionConfiguration\napiVersion: apiserver.config.k8s.io/v1\nresources:\n- resources: [secrets, configmaps]\n  providers:\n  - aescbc:\n      keys:\n      - name: k1\n        secret: ${Buffer.alloc(32, 3).toString('base64')}\n`;
  const t = new ValueTransformer(parseEncryptionConfig(cbc), registry);
  assert.ok(t.toStorage('/registry/core/configmaps/a/b', PLAIN).startsWith('k8s:enc:aescbc:v1:k1:'));
  assert.throws(() => parseEncryptionConfig(cbc.replace(Buffer.alloc(32, 3).toString('base64'), Buffer.alloc(16).toString('base64'))), /keys\[0\]\.secret: Invalid value: REDACTED: aes-cbc key must be 32 bytes/);
  assert.throws(() => parseEncryptionConfig('kind: EncryptionConfiguration\nresources:\n- resources: [secrets]\n  providers:\n  - kms: {}\n'), /kms and secretbox are not supported/);
  assert.throws(() => new ValueTransformer(parseEncryptionConfig(cbc.replace('configmaps', 'widgets')), registry), /resource "widgets" is not served/);
});

test('EncryptingStore: the inner store holds ciphertext; get, list, watch and conflicts give plaintext; rewriteStale re-encrypts', async () => {
  const inner = new MemoryStore();
  const cfg = defaultEncryptionConfig();
  const store = new EncryptingStore(inner, new ValueTransformer(cfg, registry));
  const seen: string[] = [];
  const cancel = store.watch('/registry/', 0, { onEvents: (evs) => seen.push(...evs.map((e) => e.value)) });
  const kv = await store.create(KEY, PLAIN);
  await inner.create('/registry/core/secrets/default/legacy', PLAIN); // written before encryption was on
  assert.ok((await inner.get(KEY))!.value.startsWith('k8s:enc:aesgcm:v1:key1:'));
  assert.equal((await store.get(KEY))!.value, PLAIN);
  assert.deepEqual((await store.list('/registry/core/secrets/')).items.map((i) => i.value), [PLAIN, PLAIN]);
  await assert.rejects(store.update(KEY, PLAIN, kv.modRevision + 100), (err: { current?: { value: string } }) => err.current?.value === PLAIN);
  assert.equal(await store.rewriteStale(), 1);
  assert.ok((await inner.get('/registry/core/secrets/default/legacy'))!.value.startsWith('k8s:enc:aesgcm:v1:key1:'));
  assert.deepEqual(Object.fromEntries(await store.keyUsage()), { 'aesgcm:v1:key1': 2 });
  // Rotation: the new key writes; rewriteStale moves every value to it.
  const { config } = addKey(cfg);
  store.setTransformer(new ValueTransformer(config, registry));
  assert.equal(await store.rewriteStale(), 2);
  assert.deepEqual(Object.fromEntries(await store.keyUsage()), { 'aesgcm:v1:key2': 2 });
  assert.equal((await store.get('/registry/core/secrets/default/legacy'))!.value, PLAIN);
  await new Promise((r) => setTimeout(r, 10));
  cancel();
  assert.ok(seen.length >= 4);
  assert.ok(seen.every((v) => v === PLAIN), 'watchers see plaintext');
  await store.close();
});
