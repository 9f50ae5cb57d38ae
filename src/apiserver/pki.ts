/**
 * The cluster's key material, kept in one directory (`<data-dir>/pki`): a CA, the API server's
 * serving certificate, the admin client certificate and bearer token, the API server's client
 * certificate towards agents and the service-account token signing key.
 * The certificate primitives themselves are client/cert.ts, which the node agent uses too.
 * Created on first start and only read afterwards, so restarts stay fast and clients keep
 * trusting the same CA.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { certUsable, createClientCert, createSelfSignedCa, createServingCert, type CertKeyPem, DAY_MS, normalizeHosts, readIfExists, writeAtomic, writeSecret } from '../client/cert.js';

/** Everything the API server needs from the PKI directory. */
export interface Pki {
  caCertPem: string;
  /** The CA's key: signs CSRs (certificates.k8s.io) and the agents' certificates. */
  caKeyPem: string;
  servingCertPem: string;
  servingKeyPem: string;
  /** Bearer token that authenticates as the cluster admin. */
  adminToken: string;
  /** ES256 key that signs service-account tokens. */
  saPrivateKey: KeyObject;
  saPublicKey: KeyObject;
  /** `CN=kubernetes-admin, O=system:masters`: the admin kubeconfig's client certificate. */
  adminCert: CertKeyPem;
  /** `CN=kube-apiserver-kubelet-client, O=system:masters`: what the API server presents to agents. */
  kubeletClientCert: CertKeyPem;
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
  admin: 'admin',
  kubeletClient: 'apiserver-kubelet-client',
} as const;

/** The admin client certificate's user, as kubeadm's admin.conf. */
export const ADMIN_CERT_USER = 'kubernetes-admin';
/** The API server's client identity towards agents, as upstream's apiserver-kubelet-client. */
export const KUBELET_CLIENT_USER = 'kube-apiserver-kubelet-client';
const CLIENT_LIFETIME_MS = 365 * DAY_MS;

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
  chmodSync(dir, 0o700);
  const path = (f: string) => join(dir, f);
  const hosts = normalizeHosts([...DEFAULT_SERVING_HOSTS, ...opts.hosts]);

  let caCertPem = readIfExists(path(FILES.caCert));
  let caKeyPem = readIfExists(path(FILES.caKey));
  let caRenewed = false;
  if (!caCertPem || !caKeyPem) {
    ({ certPem: caCertPem, keyPem: caKeyPem } = await createSelfSignedCa('skiff-ca', CA_LIFETIME_MS));
    writeSecret(path(FILES.caKey), caKeyPem);
    writeAtomic(path(FILES.caCert), caCertPem, 0o644);
    caRenewed = true;
  }

  let servingCertPem = readIfExists(path(FILES.servingCert));
  let servingKeyPem = readIfExists(path(FILES.servingKey));
  const storedHosts = readIfExists(path(FILES.servingHosts));
  if (caRenewed || !servingCertPem || !servingKeyPem || storedHosts !== hosts.join('\n') || !certUsable(servingCertPem, caCertPem, SERVING_RENEW_BEFORE_MS)) {
    ({ certPem: servingCertPem, keyPem: servingKeyPem } = await createServingCert({
      commonName: 'kube-apiserver',
      hosts,
      lifetimeMs: SERVING_LIFETIME_MS,
      issuer: { certPem: caCertPem, keyPem: caKeyPem },
    }));
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

  const issuer = { certPem: caCertPem, keyPem: caKeyPem };
  const adminCert = await ensureClientCert(dir, FILES.admin, { commonName: ADMIN_CERT_USER, organizations: ['system:masters'], issuer }, caRenewed);
  const kubeletClientCert = await ensureClientCert(dir, FILES.kubeletClient, { commonName: KUBELET_CLIENT_USER, organizations: ['system:masters'], issuer }, caRenewed);

  return {
    caCertPem,
    caKeyPem,
    adminCert,
    kubeletClientCert,
    servingCertPem,
    servingKeyPem,
    adminToken,
    saPrivateKey: createPrivateKey(saKeyPem),
    saPublicKey: createPublicKey(saPubPem),
  };
}

/** A node agent's serving certificate, as the kubelet-serving signer issues it: `CN=system:node:NAME`, SANs its name and addresses. */
export function issueNodeServingCert(pki: Pick<Pki, 'caCertPem' | 'caKeyPem'>, nodeName: string, addresses: string[]): Promise<CertKeyPem> {
  return createServingCert({ commonName: `system:node:${nodeName}`, hosts: normalizeHosts([nodeName, ...addresses]), lifetimeMs: CLIENT_LIFETIME_MS, issuer: { certPem: pki.caCertPem, keyPem: pki.caKeyPem } });
}

/** `<name>.crt`/`<name>.key` in `dir`: kept while it chains to the CA and has 30 days left, else reissued. */
async function ensureClientCert(dir: string, name: string, o: { commonName: string; organizations: string[]; issuer: CertKeyPem }, force: boolean): Promise<CertKeyPem> {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  const certPem = readIfExists(certFile);
  const keyPem = readIfExists(keyFile);
  if (!force && certPem && keyPem && certUsable(certPem, o.issuer.certPem, SERVING_RENEW_BEFORE_MS)) return { certPem, keyPem };
  const fresh = await createClientCert({ ...o, lifetimeMs: CLIENT_LIFETIME_MS });
  writeSecret(keyFile, fresh.keyPem);
  writeAtomic(certFile, fresh.certPem, 0o644);
  return fresh;
}

// ---------------------------------------------------------------------------
// Service-account tokens (bound tokens, as the TokenRequest API issues them)

export interface ServiceAccountTokenClaims {
  namespace: string;
  serviceAccountName: string;
  serviceAccountUid: string;
  podName?: string;
  podUid?: string;
  /** The node the bound pod runs on (upstream's ServiceAccountTokenPodNodeInfo). */
  nodeName?: string;
  nodeUid?: string;
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
  if (claims.nodeName) k8s.node = { name: claims.nodeName, uid: claims.nodeUid ?? '' };
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
      | { namespace?: unknown; serviceaccount?: { name?: unknown; uid?: unknown }; pod?: { name?: unknown; uid?: unknown }; node?: { name?: unknown; uid?: unknown } }
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
    if (typeof k8s?.node?.name === 'string') {
      extra['authentication.kubernetes.io/node-name'] = [k8s.node.name];
      if (typeof k8s.node.uid === 'string') extra['authentication.kubernetes.io/node-uid'] = [k8s.node.uid];
    }
    if (typeof payload.jti === 'string') extra['authentication.kubernetes.io/credential-id'] = [`JTI=${payload.jti}`];
    return { username, uid, groups: ['system:serviceaccounts', `system:serviceaccounts:${ns}`], extra };
  } catch (err) {
    if (err instanceof (await jose()).errors.JOSEError) return null;
    throw err;
  }
}

/** Issuer of legacy (Secret-based) service-account tokens, as upstream's LegacyIssuer. */
export const LEGACY_ISSUER = 'kubernetes/serviceaccount';

export interface LegacyTokenClaims {
  namespace: string;
  secretName: string;
  serviceAccountName: string;
  serviceAccountUid: string;
}

/** A legacy token, as upstream's tokens controller writes into `kubernetes.io/service-account-token` Secrets: no expiry. */
export async function signLegacyServiceAccountToken(pki: Pick<Pki, 'saPrivateKey' | 'saPublicKey'>, c: LegacyTokenClaims): Promise<string> {
  const { SignJWT } = await jose();
  return new SignJWT({
    'kubernetes.io/serviceaccount/namespace': c.namespace,
    'kubernetes.io/serviceaccount/secret.name': c.secretName,
    'kubernetes.io/serviceaccount/service-account.name': c.serviceAccountName,
    'kubernetes.io/serviceaccount/service-account.uid': c.serviceAccountUid,
  })
    .setProtectedHeader({ alg: 'ES256', kid: serviceAccountKeyId(pki) })
    .setIssuer(LEGACY_ISSUER)
    .setSubject(`system:serviceaccount:${c.namespace}:${c.serviceAccountName}`)
    .sign(pki.saPrivateKey);
}

/** The claims of a valid legacy token (signature and issuer checked), or null. */
export async function verifyLegacyServiceAccountToken(pki: Pick<Pki, 'saPublicKey'>, token: string): Promise<LegacyTokenClaims | null> {
  try {
    const { payload } = await (await jose()).jwtVerify(token, pki.saPublicKey, { algorithms: ['ES256'], issuer: LEGACY_ISSUER, requiredClaims: ['sub'] });
    const c = {
      namespace: payload['kubernetes.io/serviceaccount/namespace'],
      secretName: payload['kubernetes.io/serviceaccount/secret.name'],
      serviceAccountName: payload['kubernetes.io/serviceaccount/service-account.name'],
      serviceAccountUid: payload['kubernetes.io/serviceaccount/service-account.uid'],
    };
    if (![c.namespace, c.secretName, c.serviceAccountName, c.serviceAccountUid].every((v) => typeof v === 'string' && v)) return null;
    if (payload.sub !== `system:serviceaccount:${c.namespace}:${c.serviceAccountName}`) return null;
    return c as LegacyTokenClaims;
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
