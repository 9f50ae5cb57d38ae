/**
 * The cluster's key material, kept in one directory (`<data-dir>/pki`): a CA, the API server's
 * serving certificate, the admin bearer token and the service-account token signing key.
 * Created on first start and only read afterwards, so restarts stay fast and clients keep
 * trusting the same CA.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  randomUUID,
  webcrypto,
  X509Certificate as NodeX509Certificate,
  type KeyObject,
} from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';

/** Everything the API server needs from the PKI directory. */
export interface Pki {
  caCertPem: string;
  servingCertPem: string;
  servingKeyPem: string;
  /** Bearer token that authenticates as the cluster admin. */
  adminToken: string;
  /** ES256 key that signs service-account tokens. */
  saPrivateKey: KeyObject;
  saPublicKey: KeyObject;
}

export interface EnsurePkiOptions {
  /** Extra DNS names and IPs for the serving certificate, e.g. the service IP 10.43.0.1. */
  hosts: string[];
}

/** Names every serving certificate carries, whatever the caller adds. */
export const DEFAULT_SERVING_HOSTS: readonly string[] = [
  '127.0.0.1',
  '::1',
  'localhost',
  'kubernetes',
  'kubernetes.default',
  'kubernetes.default.svc',
  'kubernetes.default.svc.cluster.local',
];

/** Issuer of service-account tokens, as upstream's default `--service-account-issuer`. */
export const SERVICE_ACCOUNT_ISSUER = 'https://kubernetes.default.svc.cluster.local';

const FILES = {
  caCert: 'ca.crt',
  caKey: 'ca.key',
  servingCert: 'apiserver.crt',
  servingKey: 'apiserver.key',
  servingHosts: 'apiserver.hosts',
  adminToken: 'admin-token',
  saKey: 'sa.key',
  saPub: 'sa.pub',
} as const;

const DAY_MS = 24 * 3600 * 1000;
const CA_LIFETIME_MS = 3650 * DAY_MS;
const SERVING_LIFETIME_MS = 365 * DAY_MS;
// Renew the serving certificate well before clients would start refusing it.
const SERVING_RENEW_BEFORE_MS = 30 * DAY_MS;

/**
 * Loads the PKI in `dir`, creating whatever is missing. The serving certificate is reissued
 * when its host list changed, when it nears expiry, or when it no longer chains to the CA.
 */
export async function ensurePki(dir: string, opts: EnsurePkiOptions): Promise<Pki> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = (f: string) => join(dir, f);
  const hosts = normalizeHosts(opts.hosts);

  let caCertPem = readIfExists(path(FILES.caCert));
  let caKeyPem = readIfExists(path(FILES.caKey));
  let caRenewed = false;
  if (!caCertPem || !caKeyPem) {
    ({ certPem: caCertPem, keyPem: caKeyPem } = await createCa());
    writeSecret(path(FILES.caKey), caKeyPem);
    writeAtomic(path(FILES.caCert), caCertPem, 0o644);
    caRenewed = true;
  }

  let servingCertPem = readIfExists(path(FILES.servingCert));
  let servingKeyPem = readIfExists(path(FILES.servingKey));
  const storedHosts = readIfExists(path(FILES.servingHosts));
  if (caRenewed || !servingCertPem || !servingKeyPem || storedHosts !== hosts.join('\n') || !servingCertUsable(servingCertPem, caCertPem)) {
    ({ certPem: servingCertPem, keyPem: servingKeyPem } = await createServingCert(caCertPem, caKeyPem, hosts));
    writeSecret(path(FILES.servingKey), servingKeyPem);
    writeAtomic(path(FILES.servingCert), servingCertPem, 0o644);
    writeAtomic(path(FILES.servingHosts), hosts.join('\n'), 0o644);
  }

  let adminToken = readIfExists(path(FILES.adminToken))?.trim();
  if (!adminToken) {
    adminToken = randomBytes(32).toString('hex');
    writeSecret(path(FILES.adminToken), adminToken + '\n');
  }

  let saKeyPem = readIfExists(path(FILES.saKey));
  let saPubPem = readIfExists(path(FILES.saPub));
  if (!saKeyPem || !saPubPem) {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    saKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    saPubPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    writeSecret(path(FILES.saKey), saKeyPem);
    writeAtomic(path(FILES.saPub), saPubPem, 0o644);
  }

  return {
    caCertPem,
    servingCertPem,
    servingKeyPem,
    adminToken,
    saPrivateKey: createPrivateKey(saKeyPem),
    saPublicKey: createPublicKey(saPubPem),
  };
}

/** The default names plus `extra`, deduplicated and sorted so the list compares stably. */
export function normalizeHosts(extra: readonly string[]): string[] {
  const set = new Set<string>();
  for (const h of [...DEFAULT_SERVING_HOSTS, ...extra]) {
    const t = h.trim().toLowerCase();
    if (t) set.add(t);
  }
  return [...set].sort();
}

function readIfExists(file: string): string | undefined {
  return existsSync(file) ? readFileSync(file, 'utf8') : undefined;
}

/** Writes via a temp file and rename, so a crash never leaves half a key behind. */
function writeAtomic(file: string, data: string, mode: number): void {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, data, { mode });
  renameSync(tmp, file);
}

function writeSecret(file: string, data: string): void {
  writeAtomic(file, data, 0o600);
}

function servingCertUsable(certPem: string, caPem: string): boolean {
  try {
    const cert = new NodeX509Certificate(certPem);
    const ca = new NodeX509Certificate(caPem);
    if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return false;
    return Date.parse(cert.validTo) - Date.now() > SERVING_RENEW_BEFORE_MS;
  } catch {
    return false;
  }
}

// @peculiar/x509 takes ~0.4 s to load, so it is imported only when a certificate is issued.
async function x509lib() {
  const x509 = await import('@peculiar/x509');
  x509.cryptoProvider.set(webcrypto as unknown as Crypto);
  return x509;
}

const EC_ALG = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGN_ALG = { name: 'ECDSA', hash: 'SHA-256' } as const;

function serial(): string {
  // Positive, 16 bytes: the top bit cleared so DER does not read it as negative.
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f;
  return b.toString('hex');
}

async function keyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return `-----BEGIN PRIVATE KEY-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n?$/, '\n')}-----END PRIVATE KEY-----\n`;
}

async function createCa(): Promise<{ certPem: string; keyPem: string }> {
  const x509 = await x509lib();
  const keys = (await webcrypto.subtle.generateKey(EC_ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: 'CN=skiff-ca',
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + CA_LIFETIME_MS),
    keys,
    signingAlgorithm: SIGN_ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem') + '\n', keyPem: await keyPem(keys.privateKey) };
}

async function createServingCert(caCertPem: string, caKeyPem: string, hosts: string[]): Promise<{ certPem: string; keyPem: string }> {
  const x509 = await x509lib();
  const ca = new x509.X509Certificate(caCertPem);
  const caKeyDer = createPrivateKey(caKeyPem).export({ type: 'pkcs8', format: 'der' });
  const caKey = await webcrypto.subtle.importKey('pkcs8', caKeyDer, EC_ALG, false, ['sign']);
  const keys = (await webcrypto.subtle.generateKey(EC_ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: 'CN=kube-apiserver',
    issuer: ca.subject,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + SERVING_LIFETIME_MS),
    publicKey: keys.publicKey,
    signingKey: caKey,
    signingAlgorithm: SIGN_ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(hosts.map((h) => ({ type: isIP(h) ? 'ip' as const : 'dns' as const, value: h }))),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(ca.publicKey),
    ],
  });
  return { certPem: cert.toString('pem') + '\n', keyPem: await keyPem(keys.privateKey) };
}

// ---------------------------------------------------------------------------
// Service-account tokens (bound tokens, as the TokenRequest API issues them)

export interface ServiceAccountTokenClaims {
  namespace: string;
  serviceAccountName: string;
  serviceAccountUid: string;
  podName?: string;
  podUid?: string;
  /** Defaults to the issuer, as upstream's default `--api-audiences`. */
  audiences?: string[];
  expirationSeconds: number;
}

/** The identity a valid service-account token stands for. */
export interface ServiceAccountUser {
  username: string;
  uid: string;
  /** `system:serviceaccounts` and `system:serviceaccounts:<ns>`; the authenticator adds `system:authenticated`. */
  groups: string[];
  extra: Record<string, string[]>;
}

/** Key id as upstream computes it: base64url(SHA-256(DER public key)). */
export function serviceAccountKeyId(pki: Pick<Pki, 'saPublicKey'>): string {
  const der = pki.saPublicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('base64url');
}

/** Signs a bound service-account token (ES256 JWT) shaped like upstream's. */
export async function signServiceAccountToken(pki: Pick<Pki, 'saPrivateKey' | 'saPublicKey'>, claims: ServiceAccountTokenClaims, now: Date = new Date()): Promise<string> {
  const iat = Math.floor(now.getTime() / 1000);
  const k8s: Record<string, unknown> = {
    namespace: claims.namespace,
    serviceaccount: { name: claims.serviceAccountName, uid: claims.serviceAccountUid },
  };
  if (claims.podName) k8s.pod = { name: claims.podName, uid: claims.podUid ?? '' };
  // jose is loaded on first use: most API server processes never sign a token at start-up.
  const { SignJWT } = await jose();
  return new SignJWT({ 'kubernetes.io': k8s })
    .setProtectedHeader({ alg: 'ES256', kid: serviceAccountKeyId(pki) })
    .setIssuer(SERVICE_ACCOUNT_ISSUER)
    .setSubject(`system:serviceaccount:${claims.namespace}:${claims.serviceAccountName}`)
    .setAudience(claims.audiences?.length ? claims.audiences : [SERVICE_ACCOUNT_ISSUER])
    .setIssuedAt(iat)
    .setNotBefore(iat)
    .setExpirationTime(iat + claims.expirationSeconds)
    .setJti(randomUUID())
    .sign(pki.saPrivateKey);
}

/**
 * Verifies a service-account token's signature, issuer, time window and (when given) audience.
 * Returns the user it authenticates, or null for any token that is not valid.
 */
export async function verifyServiceAccountToken(
  pki: Pick<Pki, 'saPublicKey'>,
  token: string,
  now: Date = new Date(),
  audiences?: string[],
): Promise<ServiceAccountUser | null> {
  try {
    const { payload } = await (await jose()).jwtVerify(token, pki.saPublicKey, {
      algorithms: ['ES256'],
      issuer: SERVICE_ACCOUNT_ISSUER,
      currentDate: now,
      audience: audiences?.length ? audiences : undefined,
      requiredClaims: ['exp', 'sub'],
    });
    const k8s = payload['kubernetes.io'] as
      | { namespace?: unknown; serviceaccount?: { name?: unknown; uid?: unknown }; pod?: { name?: unknown; uid?: unknown } }
      | undefined;
    const ns = k8s?.namespace;
    const name = k8s?.serviceaccount?.name;
    const uid = k8s?.serviceaccount?.uid;
    if (typeof ns !== 'string' || typeof name !== 'string' || typeof uid !== 'string') return null;
    const username = `system:serviceaccount:${ns}:${name}`;
    if (payload.sub !== username) return null;
    const extra: Record<string, string[]> = {};
    if (typeof k8s?.pod?.name === 'string') {
      extra['authentication.kubernetes.io/pod-name'] = [k8s.pod.name];
      if (typeof k8s.pod.uid === 'string') extra['authentication.kubernetes.io/pod-uid'] = [k8s.pod.uid];
    }
    if (typeof payload.jti === 'string') extra['authentication.kubernetes.io/credential-id'] = [`JTI=${payload.jti}`];
    return { username, uid, groups: ['system:serviceaccounts', `system:serviceaccounts:${ns}`], extra };
  } catch (err) {
    if (err instanceof (await jose()).errors.JOSEError) return null;
    throw err;
  }
}

let joseModule: Promise<typeof import('jose')> | undefined;
/** The jose module, imported once on first use. */
function jose(): Promise<typeof import('jose')> {
  return (joseModule ??= import('jose'));
}
