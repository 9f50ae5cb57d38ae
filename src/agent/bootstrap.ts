/**
 * How an agent gets its own credentials, as the kubelet's TLS bootstrap: with a join token it
 * pins the cluster CA by hash on first contact, then asks the certificates.k8s.io API for a
 * client certificate `CN=system:node:NAME, O=system:nodes` (signer
 * kubernetes.io/kube-apiserver-client-kubelet) and, as that node, for a serving certificate for
 * its name and address (kubernetes.io/kubelet-serving). Only the issued certificates, their keys
 * and the CA are kept (`DATA_DIR/agent-pki/`, 0600 keys); the bootstrap credential is not
 * stored. {@link CertificateRenewer} renews both before they expire.
 */
import { X509Certificate, createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import tls from 'node:tls';
import { certUsable, createCertificateRequest, readIfExists, writeAtomic, writeSecret, type CertKeyPem } from '../client/cert.js';
import { parseNodeToken } from '../client/node-token.js';
import { HttpTransport, RestClient, type HttpTransportOptions } from '../client/rest.js';
import { CERTIFICATE_SIGNING_REQUESTS } from '../client/resources.js';
import type { KObject } from '../client/types.js';
import { realClock, type Clock } from '../util/clock.js';

export const KUBELET_CLIENT_SIGNER = 'kubernetes.io/kube-apiserver-client-kubelet';
export const KUBELET_SERVING_SIGNER = 'kubernetes.io/kubelet-serving';

/** What a bootstrapped agent runs with. */
export interface NodeCredentials {
  server: string;
  caPem: string;
  client: CertKeyPem;
  serving: CertKeyPem;
}

export interface BootstrapOptions {
  /** API server URLs; the first that answers is used. */
  servers: string[];
  nodeName: string;
  /** SANs of the serving certificate besides the node name (the node IP). */
  addresses: string[];
  /** `DATA_DIR/agent-pki`. */
  dir: string;
  /** A node token (K10…), or credentials of a kubeconfig (an admin joining a node). */
  joinToken?: string;
  kubeconfig?: HttpTransportOptions;
  log?: (msg: string) => void;
  /** How long to wait for approval and signing (default 5 min). */
  timeoutMs?: number;
  clock?: Clock;
}

const FILES = { ca: 'ca.crt', clientCert: 'node-client.crt', clientKey: 'node-client.key', servingCert: 'node-serving.crt', servingKey: 'node-serving.key' };

/** Renew once less than this fraction of a certificate's lifetime is left (the kubelet renews at 70–90 %). */
const RENEW_AT_REMAINING = 0.2;

/** Whether a certificate has more than 20 % of its lifetime left, and chains to `caPem`. */
export function certFresh(certPem: string, caPem: string, now: number): boolean {
  try {
    const c = new X509Certificate(certPem);
    const from = Date.parse(c.validFrom);
    const to = Date.parse(c.validTo);
    return certUsable(certPem, caPem, (to - from) * RENEW_AT_REMAINING, now);
  } catch {
    return false;
  }
}

/**
 * The CA of `server` whose SHA-256 is `caHash`, read from the TLS handshake (the API server sends
 * its CA after the serving certificate). Throws when the server shows no such CA.
 */
export async function fetchPinnedCa(server: string, caHash: string): Promise<string> {
  const u = new URL(server);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const chain = await new Promise<tls.DetailedPeerCertificate>((resolve, reject) => {
    // Not verified yet: what the server shows is checked against the pinned hash below.
    const sock = tls.connect({ host, port: Number(u.port || 443), rejectUnauthorized: false, servername: /^[\d.:]+$/.test(host) ? undefined : host }, () => {
      const peer = sock.getPeerCertificate(true);
      sock.end();
      resolve(peer);
    });
    sock.on('error', reject);
  });
  const seen = new Set<string>();
  for (let c: tls.DetailedPeerCertificate | undefined = chain; c && c.raw && !seen.has(c.fingerprint256); c = c.issuerCertificate) {
    seen.add(c.fingerprint256);
    if (createHash('sha256').update(c.raw).digest('hex') === caHash) {
      return `-----BEGIN CERTIFICATE-----\n${c.raw.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n?$/, '\n')}-----END CERTIFICATE-----\n`;
    }
  }
  throw new Error(`${server} did not present a CA with the pinned hash sha256:${caHash}; the token is for another cluster (or a different server answered)`);
}

/** Asks for a certificate through the CSR API and waits until it is issued. */
export async function requestCertificate(
  client: RestClient,
  o: { signer: string; commonName: string; hosts?: string[]; usages: string[]; timeoutMs: number; clock: Clock; log?: (m: string) => void },
): Promise<CertKeyPem> {
  const { csrPem, keyPem } = await createCertificateRequest({ commonName: o.commonName, organizations: ['system:nodes'], hosts: o.hosts });
  const created = await client.create<KObject>(CERTIFICATE_SIGNING_REQUESTS, undefined, {
    apiVersion: 'certificates.k8s.io/v1',
    kind: 'CertificateSigningRequest',
    metadata: { generateName: o.signer === KUBELET_SERVING_SIGNER ? 'csr-' : 'node-csr-' },
    spec: { request: Buffer.from(csrPem).toString('base64'), signerName: o.signer, usages: o.usages },
  } as KObject);
  const name = created.metadata!.name!;
  o.log?.(`requested a certificate from ${o.signer} (CertificateSigningRequest ${name}); waiting for approval`);
  const deadline = o.clock.now() + o.timeoutMs;
  for (;;) {
    const csr = await client.get<{ status?: { certificate?: string; conditions?: { type: string; message?: string }[] } }>(CERTIFICATE_SIGNING_REQUESTS, undefined, name);
    if (csr.status?.certificate) return { certPem: Buffer.from(csr.status.certificate, 'base64').toString('utf8'), keyPem };
    const refused = csr.status?.conditions?.find((c) => c.type === 'Denied' || c.type === 'Failed');
    if (refused) throw new Error(`CertificateSigningRequest ${name} was ${refused.type.toLowerCase()}: ${refused.message ?? ''}`);
    if (o.clock.now() > deadline) throw new Error(`CertificateSigningRequest ${name} was not approved and signed within ${Math.round(o.timeoutMs / 1000)} s (is the control plane's csrapproving controller running?)`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function firstReachable(servers: string[], probe: (server: string) => Promise<void>): Promise<string> {
  const errors: string[] = [];
  for (const s of servers) {
    try {
      await probe(s);
      return s;
    } catch (err) {
      errors.push(`${s}: ${(err as Error).message}`);
    }
  }
  throw new Error(`no API server could be used:\n  ${errors.join('\n  ')}`);
}

/** Loads the agent's certificates from `dir`, or obtains them; see the module comment. */
export async function bootstrapNode(o: BootstrapOptions): Promise<NodeCredentials> {
  const clock = o.clock ?? realClock;
  const log = o.log ?? (() => {});
  const timeoutMs = o.timeoutMs ?? 5 * 60_000;
  mkdirSync(o.dir, { recursive: true, mode: 0o700 });
  const path = (f: string) => join(o.dir, f);
  let caPem = readIfExists(path(FILES.ca));
  let client = load(path(FILES.clientCert), path(FILES.clientKey));
  let serving = load(path(FILES.servingCert), path(FILES.servingKey));

  const token = o.joinToken ? parseNodeToken(o.joinToken) : undefined;
  // A CA from an earlier join is trusted only while it is still the one the token names.
  if (caPem && token && createHash('sha256').update(new X509Certificate(caPem).raw).digest('hex') !== token.caHash) caPem = undefined;
  let server = o.servers[0];
  if (!caPem) {
    if (token) {
      server = await firstReachable(o.servers, async (s) => {
        caPem = await fetchPinnedCa(s, token.caHash);
      });
    } else if (o.kubeconfig?.caPem) {
      caPem = o.kubeconfig.caPem;
    } else {
      throw new Error('no way to trust the API server: give a node token (--token/--token-file) or a kubeconfig with certificate-authority data');
    }
    writeAtomic(path(FILES.ca), caPem!, 0o644);
  }
  const ca = caPem!;

  const now = clock.now();
  if (!client || !certFresh(client.certPem, ca, now)) {
    // With a still-valid client certificate the node renews as itself; otherwise it bootstraps.
    const creds: HttpTransportOptions = client && certUsable(client.certPem, ca, 0, now)
      ? { server, caPem: ca, certPem: client.certPem, keyPem: client.keyPem }
      : token
        ? { server, caPem: ca, token: token.bootstrapToken }
        : { ...o.kubeconfig!, server: o.kubeconfig!.server ?? server };
    server = creds.server;
    const rest = new RestClient(new HttpTransport(creds));
    client = await requestCertificate(rest, { signer: KUBELET_CLIENT_SIGNER, commonName: `system:node:${o.nodeName}`, usages: ['digital signature', 'key encipherment', 'client auth'], timeoutMs, clock, log });
    writeSecret(path(FILES.clientKey), client.keyPem);
    writeAtomic(path(FILES.clientCert), client.certPem, 0o644);
    log(`obtained the client certificate of system:node:${o.nodeName}`);
  }
  const hosts = [o.nodeName, ...o.addresses];
  if (!serving || !certFresh(serving.certPem, ca, now) || !hosts.every((h) => servingCovers(serving!.certPem, h))) {
    const rest = new RestClient(new HttpTransport({ server, caPem: ca, certPem: client.certPem, keyPem: client.keyPem }));
    serving = await requestCertificate(rest, { signer: KUBELET_SERVING_SIGNER, commonName: `system:node:${o.nodeName}`, hosts, usages: ['digital signature', 'key encipherment', 'server auth'], timeoutMs, clock, log });
    writeSecret(path(FILES.servingKey), serving.keyPem);
    writeAtomic(path(FILES.servingCert), serving.certPem, 0o644);
    log(`obtained a serving certificate for ${hosts.join(', ')}`);
  }
  return { server, caPem: ca, client, serving };
}

function load(certFile: string, keyFile: string): CertKeyPem | undefined {
  const certPem = readIfExists(certFile);
  const keyPem = readIfExists(keyFile);
  return certPem && keyPem ? { certPem, keyPem } : undefined;
}

function servingCovers(certPem: string, host: string): boolean {
  const c = new X509Certificate(certPem);
  return /^[\d.]+$|:/.test(host) ? c.checkIP(host) !== undefined : c.checkHost(host) !== undefined;
}

/**
 * Renews the agent's certificates before they expire (checked every `periodMs`, default an
 * hour) and hands the new ones to whoever uses them.
 */
export class CertificateRenewer {
  private timer?: NodeJS.Timeout;
  constructor(
    private readonly o: BootstrapOptions & { periodMs?: number },
    private creds: NodeCredentials,
    private readonly onRenewed: (c: NodeCredentials) => void,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.check(), this.o.periodMs ?? 3600_000);
    this.timer.unref();
  }

  async check(): Promise<void> {
    const now = (this.o.clock ?? realClock).now();
    if (certFresh(this.creds.client.certPem, this.creds.caPem, now) && certFresh(this.creds.serving.certPem, this.creds.caPem, now)) return;
    try {
      // The stored files are what bootstrapNode compares; it renews whichever is due, as the node.
      this.creds = await bootstrapNode({ ...this.o, servers: [this.creds.server], joinToken: undefined, kubeconfig: { server: this.creds.server, caPem: this.creds.caPem } });
      this.onRenewed(this.creds);
      this.o.log?.('renewed the node certificates');
    } catch (err) {
      this.o.log?.(`certificate renewal failed (retrying later): ${(err as Error).message}`);
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
