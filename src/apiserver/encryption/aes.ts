/**
 * The AES value transformers of kube-apiserver's encryption at rest
 * (k8s.io/apiserver/pkg/storage/value/encrypt/aes), byte for byte:
 *
 * - `aesgcm`: a random 12-byte nonce, then the GCM ciphertext with its 16-byte tag appended
 *   (Go's `aead.Seal(nonce, nonce, plaintext, additionalData)`); the additional data is the
 *   storage key, so a value copied to another key does not decrypt.
 * - `aescbc`: a random 16-byte IV, then the CBC ciphertext of the PKCS#7-padded plaintext
 *   (no authentication, as upstream; upstream recommends against it for new clusters).
 *
 * Pure functions over bytes; the prefix `k8s:enc:<provider>:v1:<key name>:` is added by
 * {@link ./transformer.ts}.
 */
import { createCipheriv, createDecipheriv, randomBytes, type CipherGCM, type CipherGCMTypes, type DecipherGCM } from 'node:crypto';

export type AesMode = 'aesgcm' | 'aescbc';

const GCM_NONCE = 12;
const GCM_TAG = 16;
const CBC_IV = 16;

/** Checks a key's length as upstream does (GCM: 16, 24 or 32 bytes; CBC: 32 bytes). */
export function checkKeyLength(mode: AesMode, key: Buffer): string | undefined {
  if (mode === 'aesgcm' && ![16, 24, 32].includes(key.length)) return `aes-gcm key must be 16, 24 or 32 bytes long, got ${key.length}`;
  if (mode === 'aescbc' && key.length !== 32) return `aes-cbc key must be 32 bytes long, got ${key.length}`;
  return undefined;
}

function cipherName(mode: AesMode, key: Buffer): string {
  return `aes-${key.length * 8}-${mode === 'aesgcm' ? 'gcm' : 'cbc'}`;
}

/** Encrypts `plaintext`; `aad` (the storage key) is authenticated by GCM and ignored by CBC. */
export function aesEncrypt(mode: AesMode, key: Buffer, plaintext: Buffer, aad: Buffer, iv: Buffer = randomBytes(mode === 'aesgcm' ? GCM_NONCE : CBC_IV)): Buffer {
  if (mode === 'aesgcm') {
    const c: CipherGCM = createCipheriv(cipherName(mode, key) as CipherGCMTypes, key, iv, { authTagLength: GCM_TAG });
    c.setAAD(aad);
    return Buffer.concat([iv, c.update(plaintext), c.final(), c.getAuthTag()]);
  }
  // Node's default auto-padding is PKCS#7, upstream's padding.
  const c = createCipheriv(cipherName(mode, key), key, iv);
  return Buffer.concat([iv, c.update(plaintext), c.final()]);
}

/** Decrypts what {@link aesEncrypt} produced; throws on a wrong key, tampering or truncation. */
export function aesDecrypt(mode: AesMode, key: Buffer, data: Buffer, aad: Buffer): Buffer {
  if (mode === 'aesgcm') {
    if (data.length < GCM_NONCE + GCM_TAG) throw new Error('the stored data was shorter than the required size');
    const d: DecipherGCM = createDecipheriv(cipherName(mode, key) as CipherGCMTypes, key, data.subarray(0, GCM_NONCE), { authTagLength: GCM_TAG });
    d.setAAD(aad);
    d.setAuthTag(data.subarray(data.length - GCM_TAG));
    try {
      return Buffer.concat([d.update(data.subarray(GCM_NONCE, data.length - GCM_TAG)), d.final()]);
    } catch {
      throw new Error('cipher: message authentication failed');
    }
  }
  if (data.length < CBC_IV) throw new Error('the stored data was shorter than the required size');
  const body = data.subarray(CBC_IV);
  if (body.length === 0 || body.length % 16 !== 0) throw new Error('the stored data is not a multiple of the block size');
  const d = createDecipheriv(cipherName(mode, key), key, data.subarray(0, CBC_IV));
  try {
    return Buffer.concat([d.update(body), d.final()]);
  } catch {
    throw new Error('invalid PKCS7 data (empty or not padded)');
  }
}
