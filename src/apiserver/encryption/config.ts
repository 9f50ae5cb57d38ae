/**
 * The encryption-at-rest configuration: upstream's EncryptionConfiguration
 * (apiserver.config.k8s.io/v1) kept in `DATA_DIR/pki/encryption-config.yaml` (0600), so the
 * file is the one a kube-apiserver would take with `--encryption-provider-config`.
 *
 * Supported providers: `aesgcm`, `aescbc` and `identity` (plaintext). The first provider of a
 * resource encrypts new writes with its first key; every listed provider and key decrypts.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse, stringify } from 'yaml';
import { writeSecret } from '../../client/cert.js';
import { checkKeyLength, type AesMode } from './aes.js';

export const ENCRYPTION_CONFIG_FILE = 'encryption-config.yaml';

/** The config file's path in a data directory. */
export function encryptionConfigPath(dataDir: string): string {
  return join(dataDir, 'pki', ENCRYPTION_CONFIG_FILE);
}

export interface AesKey {
  name: string;
  secret: Buffer;
}

export type Provider = { type: AesMode; keys: AesKey[] } | { type: 'identity' };

export interface ResourceEncryption {
  /** `secrets`, `configmaps`, `deployments.apps`, … as upstream writes them. */
  resources: string[];
  providers: Provider[];
}

export interface EncryptionConfig {
  resources: ResourceEncryption[];
}

type RawProvider = { aesgcm?: { keys?: { name?: string; secret?: string }[] }; aescbc?: { keys?: { name?: string; secret?: string }[] }; identity?: object };

/** Parses the YAML text; errors name the file's field, as upstream's validation does. */
export function parseEncryptionConfig(text: string, source = ENCRYPTION_CONFIG_FILE): EncryptionConfig {
  const fail = (msg: string): never => {
    throw new Error(`${source}: ${msg}`);
  };
  const doc = parse(text) as { kind?: string; apiVersion?: string; resources?: { resources?: string[]; providers?: RawProvider[] }[] } | null;
  if (!doc || doc.kind !== 'EncryptionConfiguration') fail('kind must be EncryptionConfiguration');
  if (!Array.isArray(doc!.resources) || doc!.resources.length === 0) fail('resources: Required value');
  const resources = doc!.resources!.map((r, i): ResourceEncryption => {
    if (!Array.isArray(r.resources) || !r.resources.length) fail(`resources[${i}].resources: Required value`);
    if (!Array.isArray(r.providers) || !r.providers.length) fail(`resources[${i}].providers: Required value`);
    const providers = r.providers!.map((p, j): Provider => {
      const at = `resources[${i}].providers[${j}]`;
      if (p.identity) return { type: 'identity' };
      const type: AesMode | undefined = p.aesgcm ? 'aesgcm' : p.aescbc ? 'aescbc' : undefined;
      if (!type) return fail(`${at}: one of aesgcm, aescbc or identity is required (kms and secretbox are not supported)`);
      const raw = p[type]!.keys ?? [];
      if (!raw.length) fail(`${at}.${type}.keys: Required value`);
      const names = new Set<string>();
      const keys = raw.map((k, n) => {
        if (!k.name || k.name.includes(':')) fail(`${at}.${type}.keys[${n}].name: Invalid value: ${JSON.stringify(k.name ?? '')}: must be non-empty and must not contain ':'`);
        if (names.has(k.name!)) fail(`${at}.${type}.keys[${n}].name: Duplicate value: ${JSON.stringify(k.name)}`);
        names.add(k.name!);
        const secret = Buffer.from(k.secret ?? '', 'base64');
        const bad = checkKeyLength(type, secret);
        if (bad) fail(`${at}.${type}.keys[${n}].secret: Invalid value: REDACTED: ${bad}`);
        return { name: k.name!, secret };
      });
      return { type, keys };
    });
    return { resources: r.resources!.map(String), providers };
  });
  return { resources };
}

export function stringifyEncryptionConfig(cfg: EncryptionConfig): string {
  return stringify({
    apiVersion: 'apiserver.config.k8s.io/v1',
    kind: 'EncryptionConfiguration',
    resources: cfg.resources.map((r) => ({
      resources: r.resources,
      providers: r.providers.map((p) => (p.type === 'identity' ? { identity: {} } : { [p.type]: { keys: p.keys.map((k) => ({ name: k.name, secret: k.secret.toString('base64') })) } })),
    })),
  });
}

/** What a new cluster gets: Secrets under AES-GCM with a fresh 256-bit key, plaintext still readable. */
export function defaultEncryptionConfig(): EncryptionConfig {
  return { resources: [{ resources: ['secrets'], providers: [{ type: 'aesgcm', keys: [{ name: 'key1', secret: randomBytes(32) }] }, { type: 'identity' }] }] };
}

/** Reads the config at `path`, writing the default first when there is none. */
export function loadOrCreateEncryptionConfig(path: string): EncryptionConfig {
  if (!existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    writeSecret(path, stringifyEncryptionConfig(defaultEncryptionConfig()));
  }
  return parseEncryptionConfig(readFileSync(path, 'utf8'), path);
}

/**
 * Key rotation's first step (upstream's documented procedure): a new key goes first in the
 * first AES provider of every resource entry, the old keys stay so existing values still
 * decrypt. Returns the new config and the new key's name (`keyN`, one above the highest).
 */
export function addKey(cfg: EncryptionConfig, secret: Buffer = randomBytes(32)): { config: EncryptionConfig; keyName: string } {
  let highest = 0;
  for (const r of cfg.resources) {
    for (const p of r.providers) {
      if (p.type === 'identity') continue;
      for (const k of p.keys) {
        const m = /^key(\d+)$/.exec(k.name);
        if (m) highest = Math.max(highest, Number(m[1]));
      }
    }
  }
  const keyName = `key${highest + 1}`;
  const resources = cfg.resources.map((r) => {
    const i = r.providers.findIndex((p) => p.type !== 'identity');
    const providers = [...r.providers];
    if (i < 0) {
      providers.unshift({ type: 'aesgcm', keys: [{ name: keyName, secret }] });
    } else {
      const p = providers[i] as { type: AesMode; keys: AesKey[] };
      const key = p.type === 'aescbc' && secret.length !== 32 ? randomBytes(32) : secret;
      providers[i] = { type: p.type, keys: [{ name: keyName, secret: key }, ...p.keys] };
      // The provider that holds the new key must be the one that writes.
      if (i > 0) providers.unshift(...providers.splice(i, 1));
    }
    return { resources: r.resources, providers };
  });
  return { config: { resources }, keyName };
}
