/**
 * Certificate primitives shared by the API server's cluster PKI and the node agent's
 * serving certificate (as client-go's util/cert and util/keyutil): ECDSA P-256 key pairs,
 * a self-signed CA, serving certificates signed by a CA or by their own key, a validity
 * check, and PEM files written atomically with private modes.
 */
import { createHash, createPrivateKey, randomBytes, webcrypto, X509Certificate as NodeX509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';

/** A certificate and its private key, both PEM. */
export interface CertKeyPem {
  certPem: string;
  keyPem: string;
}

export const DAY_MS = 24 * 3600 * 1000;

// @peculiar/x509 takes ~0.4 s to load, so it is imported only when a certificate is issued.
async function x509lib() {
  const x509 = await import('@peculiar/x509');
  x509.cryptoProvider.set(webcrypto as unknown as Crypto);
  return x509;
}

const EC_ALG = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGN_ALG = { name: 'ECDSA', hash: 'SHA-256' } as const;
// Certificates start a minute in the past so a peer whose clock lags a little accepts them.
const BACKDATE_MS = 60_000;

/** A fresh exportable ECDSA P-256 key pair. */
export async function newKeyPair(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(EC_ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
}

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

/** A self-signed CA certificate named `CN=<commonName>`. */
export async function createSelfSignedCa(commonName: string, lifetimeMs: number): Promise<CertKeyPem> {
  const x509 = await x509lib();
  const keys = await newKeyPair();
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${commonName}`,
    notBefore: new Date(now - BACKDATE_MS),
    notAfter: new Date(now + lifetimeMs),
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

export interface ServingCertOptions {
  commonName: string;
  /** DNS names and IP addresses the certificate is valid for (subject alternative names). */
  hosts: readonly string[];
  lifetimeMs: number;
  /** The CA that signs it; without one the certificate is signed by its own key. */
  issuer?: CertKeyPem;
}

/** A TLS server certificate for `hosts`, signed by `issuer` or self-signed. */
export async function createServingCert(o: ServingCertOptions): Promise<CertKeyPem> {
  return issueWithNewKey({ commonName: o.commonName, hosts: o.hosts, usages: ['server'], lifetimeMs: o.lifetimeMs, issuer: o.issuer });
}

export interface ClientCertOptions {
  /** The user name (upstream's x509 authenticator reads CN). */
  commonName: string;
  /** The groups (O). */
  organizations?: readonly string[];
  lifetimeMs: number;
  issuer: CertKeyPem;
}

/** A TLS client certificate `CN=<user>, O=<group>…` signed by `issuer` (as kubeadm's admin.conf). */
export async function createClientCert(o: ClientCertOptions): Promise<CertKeyPem> {
  return issueWithNewKey({ commonName: o.commonName, organizations: o.organizations, usages: ['client'], lifetimeMs: o.lifetimeMs, issuer: o.issuer });
}

/** What a certificate may be used for (extended key usage). */
export type CertUsage = 'server' | 'client';

export interface IssueOptions {
  commonName: string;
  organizations?: readonly string[];
  /** Subject alternative names (DNS names and IPs). */
  hosts?: readonly string[];
  usages: readonly CertUsage[];
  lifetimeMs: number;
  /** The CA that signs it; without one the certificate is signed by its own key. */
  issuer?: CertKeyPem;
}

async function issueWithNewKey(o: IssueOptions): Promise<CertKeyPem> {
  const keys = await newKeyPair();
  const certPem = await issueCert(o, keys.publicKey, keys.privateKey);
  return { certPem, keyPem: await keyPem(keys.privateKey) };
}

/** The subject as an @peculiar/x509 JSON name: no string escaping to get wrong. */
function subjectName(commonName: string, organizations: readonly string[] = []): Record<string, string[]>[] {
  return [...organizations.map((o) => ({ O: [o] })), { CN: [commonName] }];
}

async function issueCert(o: IssueOptions, publicKey: CryptoKey, ownKey?: CryptoKey): Promise<string> {
  const x509 = await x509lib();
  const subject = subjectName(o.commonName, o.organizations);
  let issuerName: string | Record<string, string[]>[] = subject;
  let signingKey = ownKey;
  const issuerExtensions = [];
  if (o.issuer) {
    const ca = new x509.X509Certificate(o.issuer.certPem);
    issuerName = ca.subject;
    const caKeyDer = createPrivateKey(o.issuer.keyPem).export({ type: 'pkcs8', format: 'der' });
    signingKey = await webcrypto.subtle.importKey('pkcs8', caKeyDer, EC_ALG, false, ['sign']);
    issuerExtensions.push(await x509.AuthorityKeyIdentifierExtension.create(ca.publicKey));
  }
  if (!signingKey) throw new Error('a certificate needs an issuer or its own private key');
  const hosts = o.hosts ?? [];
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject,
    issuer: issuerName,
    notBefore: new Date(now - BACKDATE_MS),
    notAfter: new Date(now + o.lifetimeMs),
    publicKey,
    signingKey,
    signingAlgorithm: SIGN_ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension(o.usages.map((u) => (u === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth))),
      ...(hosts.length ? [new x509.SubjectAlternativeNameExtension(hosts.map((h) => ({ type: isIP(h) ? ('ip' as const) : ('dns' as const), value: h })))] : []),
      await x509.SubjectKeyIdentifierExtension.create(publicKey),
      ...issuerExtensions,
    ],
  });
  return cert.toString('pem') + '\n';
}

// ---------------------------------------------------------------------------
// Certificate signing requests (PKCS#10), as the certificates.k8s.io API carries them

/** A fresh key and a PEM CSR for `CN=<commonName>, O=<organizations>` (and SANs `hosts`). */
export async function createCertificateRequest(o: { commonName: string; organizations?: readonly string[]; hosts?: readonly string[] }): Promise<{ csrPem: string; keyPem: string }> {
  const x509 = await x509lib();
  const keys = await newKeyPair();
  const hosts = o.hosts ?? [];
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: subjectName(o.commonName, o.organizations),
    keys,
    signingAlgorithm: SIGN_ALG,
    extensions: hosts.length ? [new x509.SubjectAlternativeNameExtension(hosts.map((h) => ({ type: isIP(h) ? ('ip' as const) : ('dns' as const), value: h })))] : [],
  });
  return { csrPem: csr.toString('pem') + '\n', keyPem: await keyPem(keys.privateKey) };
}

/** What a CSR asks for, once its self-signature checks out. */
export interface ParsedCertificateRequest {
  commonName: string;
  organizations: string[];
  dnsNames: string[];
  ipAddresses: string[];
}

/** Parses a PEM CSR and verifies its signature; throws with a reason when it is not one. */
export async function parseCertificateRequest(csrPem: string): Promise<ParsedCertificateRequest> {
  const x509 = await x509lib();
  const csr = new x509.Pkcs10CertificateRequest(csrPem);
  if (!(await csr.verify())) throw new Error('the certificate request signature is invalid');
  const name = new x509.Name(csr.subject).toJSON();
  const values = (type: string) => name.flatMap((rdn) => rdn[type] ?? []);
  const san = csr.extensions.find((e): e is InstanceType<typeof x509.SubjectAlternativeNameExtension> => e instanceof x509.SubjectAlternativeNameExtension);
  const names = san?.names.items ?? [];
  return {
    commonName: values('CN')[0] ?? '',
    organizations: values('O'),
    dnsNames: names.filter((n) => n.type === 'dns').map((n) => n.value),
    ipAddresses: names.filter((n) => n.type === 'ip').map((n) => n.value),
  };
}

/** Signs a verified CSR with `issuer`: the certificate carries the CSR's subject and SANs. */
export async function signCertificateRequest(csrPem: string, o: { usages: readonly CertUsage[]; lifetimeMs: number; issuer: CertKeyPem }): Promise<string> {
  const x509 = await x509lib();
  const req = await parseCertificateRequest(csrPem);
  const csr = new x509.Pkcs10CertificateRequest(csrPem);
  const publicKey = await csr.publicKey.export(EC_ALG, ['verify']);
  return issueCert(
    { commonName: req.commonName, organizations: req.organizations, hosts: [...req.dnsNames, ...req.ipAddresses], usages: o.usages, lifetimeMs: o.lifetimeMs, issuer: o.issuer },
    publicKey,
  );
}

/** The identity a client certificate stands for: CN is the user, each O a group (upstream's CommonNameUserConversion). */
export function certificateIdentity(certPem: string): { user: string; groups: string[] } {
  const cert = new NodeX509Certificate(certPem);
  return subjectIdentity(cert.subject);
}

/** The CN and O values of a subject in Node's `X509Certificate.subject` form (one `K=V` per line). */
export function subjectIdentity(subject: string): { user: string; groups: string[] } {
  let user = '';
  const groups: string[] = [];
  for (const line of subject.split('\n')) {
    const eq = line.indexOf('=');
    const k = line.slice(0, eq);
    const v = line.slice(eq + 1);
    if (k === 'CN') user = v;
    else if (k === 'O') groups.push(v);
  }
  return { user, groups };
}

/** `sha256:<hex>` of a certificate's DER, as kubeadm's discovery-token-ca-cert-hash and k3s's token pin the CA. */
export function caCertHash(certPem: string): string {
  return createHash('sha256').update(new NodeX509Certificate(certPem).raw).digest('hex');
}

/**
 * Whether a certificate can stay in use: it parses, was issued and signed by `issuerPem`
 * (itself, when self-signed), and has more than `renewBeforeMs` left.
 */
export function certUsable(certPem: string, issuerPem: string, renewBeforeMs: number, now = Date.now()): boolean {
  try {
    const cert = new NodeX509Certificate(certPem);
    const issuer = new NodeX509Certificate(issuerPem);
    // Name and signature, not checkIssued: that also wants keyCertSign, which a self-signed leaf lacks.
    if (cert.issuer !== issuer.subject || !cert.verify(issuer.publicKey)) return false;
    return Date.parse(cert.validTo) - now > renewBeforeMs;
  } catch {
    return false;
  }
}

/** The host list, trimmed, lower-cased, deduplicated and sorted so it compares stably. */
export function normalizeHosts(hosts: readonly string[]): string[] {
  const set = new Set<string>();
  for (const h of hosts) {
    const t = h.trim().toLowerCase();
    if (t) set.add(t);
  }
  return [...set].sort();
}

/** The file's text, or undefined when it does not exist. */
export function readIfExists(file: string): string | undefined {
  return existsSync(file) ? readFileSync(file, 'utf8') : undefined;
}

/** Writes via a temp file and rename, so a crash never leaves half a key behind. */
export function writeAtomic(file: string, data: string, mode: number): void {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, data, { mode });
  renameSync(tmp, file);
}

/** writeAtomic readable by the owner only (keys, tokens). */
export function writeSecret(file: string, data: string): void {
  writeAtomic(file, data, 0o600);
}

export interface SelfSignedServingCertOptions {
  /** Base name of the files in `dir`: `<name>.crt`, `<name>.key`, `<name>.hosts`. */
  name: string;
  commonName: string;
  hosts: readonly string[];
  lifetimeMs: number;
  /** Reissue when less than this is left (default 30 days). */
  renewBeforeMs?: number;
}

/**
 * Loads the self-signed serving certificate kept in `dir`, creating it when missing, when
 * its host list changed or when it nears expiry (as a kubelet without a signed certificate).
 */
export async function ensureSelfSignedServingCert(dir: string, o: SelfSignedServingCertOptions): Promise<CertKeyPem> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = (ext: string) => join(dir, `${o.name}.${ext}`);
  const hosts = normalizeHosts(o.hosts);
  const certPem = readIfExists(path('crt'));
  const keyPemText = readIfExists(path('key'));
  if (certPem && keyPemText && readIfExists(path('hosts')) === hosts.join('\n') && certUsable(certPem, certPem, o.renewBeforeMs ?? 30 * DAY_MS)) {
    return { certPem, keyPem: keyPemText };
  }
  const fresh = await createServingCert({ commonName: o.commonName, hosts, lifetimeMs: o.lifetimeMs });
  writeSecret(path('key'), fresh.keyPem);
  writeAtomic(path('crt'), fresh.certPem, 0o644);
  writeAtomic(path('hosts'), hosts.join('\n'), 0o644);
  return fresh;
}
