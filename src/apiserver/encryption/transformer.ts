/**
 * The value transformer between object storage and the store, as kube-apiserver's
 * `value.Transformer` with its prefix transformers: a value of an encrypted resource is
 * stored as `k8s:enc:<provider>:v1:<key name>:` followed by the ciphertext. Reads find the
 * provider and key by that prefix (any configured key), or take the value as plaintext when
 * `identity` is configured; writes use the first provider's first key.
 *
 * The store's values are text, so the ciphertext after the prefix is base64 (upstream writes
 * the raw bytes into etcd's byte values).
 */
import type { Registry } from '../../api/registry.js';
import { storagePrefix } from '../storage-keys.js';
import { aesDecrypt, aesEncrypt } from './aes.js';
import type { EncryptionConfig, Provider } from './config.js';

export const ENCRYPTED_PREFIX = 'k8s:enc:';

/** The outcome of reading one stored value. */
export interface ReadResult {
  value: string;
  /** True when the value is not under the current write key (plaintext or an older key): it should be rewritten. */
  stale: boolean;
}

interface ResourceTransformer {
  providers: Provider[];
  /** Prefix of values written now, or '' when the first provider is identity. */
  writePrefix: string;
}

function prefixOf(type: string, keyName: string): string {
  return `${ENCRYPTED_PREFIX}${type}:v1:${keyName}:`;
}

/** Encrypts and decrypts values by storage key, per the configured resources. */
export class ValueTransformer {
  /** storage prefix (`/registry/core/secrets/`) → its providers */
  private readonly byPrefix = new Map<string, ResourceTransformer>();

  constructor(cfg: EncryptionConfig, registry: Registry) {
    for (const r of cfg.resources) {
      for (const name of r.resources) {
        const dot = name.indexOf('.');
        const plural = dot < 0 ? name : name.slice(0, dot);
        const group = dot < 0 ? '' : name.slice(dot + 1);
        const def = registry.all.find((d) => d.plural === plural && d.group === group);
        if (!def) throw new Error(`encryption config: resource "${name}" is not served by this server`);
        const prefix = storagePrefix(def);
        // As upstream, the first entry that names a resource wins.
        if (this.byPrefix.has(prefix)) continue;
        const first = r.providers[0];
        this.byPrefix.set(prefix, { providers: r.providers, writePrefix: first.type === 'identity' ? '' : prefixOf(first.type, first.keys[0].name) });
      }
    }
  }

  /** Storage prefixes of the resources this transformer encrypts. */
  prefixes(): string[] {
    return [...this.byPrefix.keys()];
  }

  private forKey(key: string): ResourceTransformer | undefined {
    for (const [prefix, t] of this.byPrefix) if (key.startsWith(prefix)) return t;
    return undefined;
  }

  /** The value to store under `key`. */
  toStorage(key: string, value: string): string {
    const t = this.forKey(key);
    if (!t || !t.writePrefix) return value;
    const p = t.providers[0] as Extract<Provider, { keys: unknown }>;
    const ct = aesEncrypt(p.type, p.keys[0].secret, Buffer.from(value, 'utf8'), Buffer.from(key, 'utf8'));
    return t.writePrefix + ct.toString('base64');
  }

  /** The plaintext of a stored value; throws when no configured key can read it. */
  fromStorage(key: string, stored: string): ReadResult {
    const t = this.forKey(key);
    if (!t) {
      if (stored.startsWith(ENCRYPTED_PREFIX)) throw new Error(`${key}: the value is encrypted but encryption is not configured for this resource`);
      return { value: stored, stale: false };
    }
    if (!stored.startsWith(ENCRYPTED_PREFIX)) {
      if (!t.providers.some((p) => p.type === 'identity')) throw new Error(`${key}: the value is not encrypted and the identity provider is not configured`);
      return { value: stored, stale: t.writePrefix !== '' };
    }
    for (const p of t.providers) {
      if (p.type === 'identity') continue;
      for (const k of p.keys) {
        const prefix = prefixOf(p.type, k.name);
        if (!stored.startsWith(prefix)) continue;
        let plain: Buffer;
        try {
          plain = aesDecrypt(p.type, k.secret, Buffer.from(stored.slice(prefix.length), 'base64'), Buffer.from(key, 'utf8'));
        } catch (err) {
          throw new Error(`${key}: decrypting with ${p.type} key "${k.name}" failed: ${(err as Error).message}`);
        }
        return { value: plain.toString('utf8'), stale: prefix !== t.writePrefix };
      }
    }
    const shown = stored.slice(0, stored.indexOf(':', stored.indexOf(':v1:') + 4) + 1) || ENCRYPTED_PREFIX;
    throw new Error(`${key}: no configured key matches the stored prefix ${JSON.stringify(shown)} (keys live in pki/encryption-config.yaml)`);
  }
}
