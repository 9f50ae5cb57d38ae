/**
 * The control plane's API server: store → watch cache → object storage → handler → HTTPS.
 * Also seeds what a fresh cluster has (system namespaces, the kubernetes Service) and writes
 * the admin kubeconfig.
 */
import type http from 'node:http';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { chmodSync, mkdirSync } from 'node:fs';
import type { Store } from '../store/types.js';
import { openStore } from '../store/open.js';
import { defaultRegistry } from '../api/resources/index.js';
import type { Registry } from '../api/registry.js';
import { isReason } from '../api/errors.js';
import { WatchCache } from './watch-cache.js';
import { ObjectStorage, type UserInfo } from './objects.js';
import type { Clock } from '../util/clock.js';
import { ApiHandler, type HandlerOptions } from './handler.js';
import { listen } from './http.js';
import { ensurePki, signServiceAccountToken, type Pki } from './pki.js';
import { Authenticator } from './authn/authenticator.js';
import { TokenApi } from './authn/token-api.js';
import { ensureNodeToken } from './node-token.js';
import { NodeAuthorizer } from './authz/node.js';
import { CLUSTER_ROLES } from './authz/bootstrap-policy.js';
import { rulesAllow } from './authz/rbac-rules.js';
import { serviceAccountAdmission } from './admission/service-account.js';
import { nodeRestrictionAdmission } from './admission/node-restriction.js';
import { csrAdmission } from './admission/csr.js';
import { badRequest, fieldErrors, invalid, notFound } from '../api/errors.js';
import type { KObject } from '../api/registry.js';
import { rfc3339 } from '../api/meta.js';
import { writeKubeconfig } from './kubeconfig.js';
import { serviceIpAdmission } from './admission/service-ips.js';
import { nthAddress } from '../api/cidr.js';
import type { ApiRequest } from './request.js';
import { NodeProxy } from './node-proxy.js';
import { defaultTolerationsAdmission } from './admission/default-tolerations.js';
import { priorityAdmission, SYSTEM_PRIORITY_CLASSES } from './admission/priority.js';
import { limitRangeAdmission } from './admission/limit-range.js';
import type { Authorizer } from './authz/types.js';
import { AuthorizerChain } from './authz/chain.js';
import { RbacAuthorizer } from './authz/rbac.js';
import { reconcileBootstrapPolicy } from './authz/bootstrap-reconcile.js';
import { rbacEscalationAdmission } from './admission/rbac-escalation.js';
import { accessReviews } from './authz/reviews.js';
import { encryptionAtRest, type EncryptionAtRest } from './encryption/at-rest.js';
import { encryptionConfigPath } from './encryption/config.js';
import { podSecurityAdmission } from './admission/pod-security/admission.js';
import type { PodSecurityConfig } from './admission/pod-security/config.js';
import { Auditor } from './audit/auditor.js';
import { LogWriter } from './audit/log-writer.js';
import type { AuditPolicy } from './audit/policy.js';

export interface ApiServerOptions {
  dataDir: string;
  port: number;
  host?: string;
  /** A store to use instead of DATA_DIR/state.db (tests, etcd). */
  store?: Store;
  serviceCidr?: string;
  /** Name of the kubeconfig context/cluster. */
  clusterName?: string;
  bookmarkIntervalMs?: number;
  /** Reject pods whose ServiceAccount does not exist yet (upstream behaviour when the controllers run; default false). */
  requireServiceAccount?: boolean;
  /** Events the watch cache keeps for watches from a past resourceVersion (default 100,000). */
  watchCacheSize?: number;
  /** Stamps creation and deletion times (default: the system clock); tests pass a fake clock. */
  clock?: Clock;
  /** Unauthenticated static content (the dashboard at /ui/); see {@link HandlerOptions.staticRoutes}. */
  staticRoutes?: HandlerOptions['staticRoutes'];
  /** EncryptionConfiguration file for encryption at rest (default DATA_DIR/pki/encryption-config.yaml, created with a new key); false: store plaintext. */
  encryptionConfig?: string | false;
  /** Pod Security admission's cluster defaults and exemptions (default: privileged everywhere, as upstream). */
  podSecurity?: PodSecurityConfig;
  /** Audit log: JSON lines of audit.k8s.io/v1 Events in `file`, rotated by size. */
  audit?: { file: string; policy: AuditPolicy; maxBytes: number; maxBackups: number };
}

/** What {@link ApiServer.inProcess} takes: no data directory, no port, a store of your own. */
export type InProcessApiServerOptions = Omit<ApiServerOptions, 'dataDir' | 'port' | 'host' | 'clusterName' | 'store'> & { store: Store };

export const ADMIN_USER: UserInfo = { name: 'admin', groups: ['system:masters', 'system:authenticated'] };

export class ApiServer {
  private http?: http.Server;
  readonly registry: Registry;
  readonly cache: WatchCache;
  readonly storage: ObjectStorage;
  readonly handler: ApiHandler;
  readonly kubeconfigPath: string;
  url = '';
  port = 0;
  private readonly extraListeners: http.Server[] = [];
  readonly authenticator: Authenticator;
  readonly tokens: TokenApi;
  /** The Node authorizer over this server's watch cache: first in the authorization chain (Node, RBAC). */
  readonly nodeAuthorizer: NodeAuthorizer;
  readonly rbac: RbacAuthorizer;
  /** The authorization chain after the system:masters short-circuit, in order (RBAC last). */
  readonly authorizers: Authorizer[];
  private encryption?: EncryptionAtRest;
  private readonly auditLog?: LogWriter;

  private constructor(
    readonly opts: ApiServerOptions,
    readonly store: Store,
    readonly pki: Pki,
  ) {
    this.registry = defaultRegistry();
    this.cache = new WatchCache(store, this.registry, { historySize: opts.watchCacheSize, clock: opts.clock });
    this.storage = new ObjectStorage(store, this.cache, this.registry, opts.clock);
    const serviceCidr = opts.serviceCidr ?? '10.43.0.0/16';
    this.storage.addAdmission(serviceIpAdmission(this.cache, this.registry.byKind('', 'Service')!, { serviceCidr }));
    this.storage.addAdmission(priorityAdmission(this.cache, this.registry));
    this.storage.addAdmission(defaultTolerationsAdmission());
    this.storage.addAdmission(limitRangeAdmission(this.cache, this.registry));
    this.storage.addAdmission(serviceAccountAdmission({ cache: this.cache, registry: this.registry, requireServiceAccount: opts.requireServiceAccount ?? false }));
    this.storage.addAdmission(nodeRestrictionAdmission({ cache: this.cache, registry: this.registry }));
    this.storage.addAdmission(csrAdmission());
    this.authenticator = new Authenticator({ pki, cache: this.cache, registry: this.registry, adminUser: ADMIN_USER, now: opts.clock ? () => opts.clock!.now() : undefined });
    this.tokens = new TokenApi({ pki, cache: this.cache, registry: this.registry, authenticator: this.authenticator, now: opts.clock ? () => opts.clock!.now() : undefined });
    this.rbac = new RbacAuthorizer(this.cache, this.registry);
    // Node first: a node's requests about its own pods' objects are decided by the graph (upstream's order).
    const nodeRules = CLUSTER_ROLES.find((role) => role.name === 'system:node')?.rules ?? [];
    this.nodeAuthorizer = new NodeAuthorizer({ cache: this.cache, registry: this.registry, nodeRulesAllow: (attrs) => rulesAllow(attrs, nodeRules) });
    this.authorizers = [this.nodeAuthorizer, this.rbac];
    const authorizer = new AuthorizerChain(this.authorizers);
    this.storage.addAdmission(rbacEscalationAdmission({ cache: this.cache, rbac: this.rbac, authorizer }));
    // Validating, so after every mutating plugin, as upstream orders PodSecurity.
    this.storage.addAdmission(podSecurityAdmission({ cache: this.cache, registry: this.registry, config: opts.podSecurity }));
    const host = opts.host ?? '127.0.0.1';
    if (opts.audit) this.auditLog = new LogWriter(opts.audit.file, { maxBytes: opts.audit.maxBytes, maxBackups: opts.audit.maxBackups, log: (m) => console.error(`skiff: ${m}`) });
    this.handler = new ApiHandler({
      authorizer,
      registry: this.registry,
      storage: this.storage,
      authenticate: (req) => this.authenticate(req),
      serverAddress: `${host}:${opts.port}`,
      clock: opts.clock,
      bookmarkIntervalMs: opts.bookmarkIntervalMs,
      nodeProxy: new NodeProxy(this.storage, this.registry, { caPem: pki.caCertPem, certPem: pki.kubeletClientCert.certPem, keyPem: pki.kubeletClientCert.keyPem }),
      issueToken: (ns, name, req, user) => this.tokens.issue(ns, name, req, user),
      reviews: new Map([['authentication.k8s.io/tokenreviews', (body) => this.tokens.review(body)], ...accessReviews(authorizer, this.rbac)]),
      staticRoutes: opts.staticRoutes,
      audit: this.auditLog && opts.audit ? new Auditor(opts.audit.policy, this.auditLog) : undefined,
    });
    this.kubeconfigPath = join(opts.dataDir, 'kubeconfig');
  }

  /**
   * The serving certificate followed by the CA (so a joining agent can pin the CA by its hash
   * from the handshake), and client certificates verified against the cluster CA.
   */
  private tlsOptions(): { cert: string; key: string; clientCa: string } {
    return { cert: this.pki.servingCertPem + this.pki.caCertPem, key: this.pki.servingKeyPem, clientCa: this.pki.caCertPem };
  }

  /** Opens the store, loads the cache, seeds defaults and starts serving HTTPS. */
  static async start(opts: ApiServerOptions): Promise<ApiServer> {
    mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
    // Also when it already existed: it holds keys, kubeconfigs and every Secret.
    chmodSync(opts.dataDir, 0o700);
    const serviceCidr = opts.serviceCidr ?? '10.43.0.0/16';
    const [store, pki] = await Promise.all([
      opts.store ? Promise.resolve(opts.store) : openStore(join(opts.dataDir, 'state.db')),
      ensurePki(join(opts.dataDir, 'pki'), { hosts: [nthAddress(serviceCidr, 1)] }),
    ]);
    const encryption = opts.encryptionConfig === false ? undefined : encryptionAtRest(store, opts.encryptionConfig ?? encryptionConfigPath(opts.dataDir), defaultRegistry());
    const server = new ApiServer(opts, encryption?.store ?? store, pki);
    server.encryption = encryption;
    await server.cache.start();
    await encryption?.start();
    await server.seed();
    const host = opts.host ?? '127.0.0.1';
    server.http = await listen(server.handler, { host, port: opts.port, tls: server.tlsOptions() });
    const addr = server.http.address();
    const port = typeof addr === 'object' && addr ? addr.port : opts.port;
    server.url = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
    server.port = port;
    await server.seedKubernetesService(serviceCidr);
    await ensureNodeToken(server, ADMIN_USER);
    writeKubeconfig(server.kubeconfigPath, { server: server.url, caPem: pki.caCertPem, token: pki.adminToken, clientCert: pki.adminCert, contextName: opts.clusterName ?? 'skiff', dataDir: opts.dataDir });
    return server;
  }

  /**
   * An API server reached only through `handler` (the in-process transport): no listener, no
   * PKI directory, no kubeconfig; seeded as a fresh cluster. For tests and simulations.
   */
  static async inProcess(opts: InProcessApiServerOptions): Promise<ApiServer> {
    // Nothing is served over TLS, so there are no certificates; the keys are throwaway.
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const none = { certPem: '', keyPem: '' };
    const pki: Pki = {
      caCertPem: '', caKeyPem: '', servingCertPem: '', servingKeyPem: '', adminToken: randomBytes(32).toString('hex'),
      saPrivateKey: privateKey, saPublicKey: publicKey, adminCert: none, kubeletClientCert: none,
    };
    const server = new ApiServer({ ...opts, dataDir: '', port: 0 }, opts.store, pki);
    await server.cache.start();
    await server.seed();
    return server;
  }

  private authenticate(req: ApiRequest): Promise<UserInfo | undefined> {
    return this.authenticator.authenticate(req);
  }

  /** Creates what every cluster starts with, if missing. */
  private async seed(): Promise<void> {
    const nsDef = this.registry.byKind('', 'Namespace')!;
    const ctx = { user: ADMIN_USER };
    for (const name of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
      if (!this.cache.get(nsDef, '', name)) {
        await this.storage.create(nsDef, '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } }, ctx).catch((e) => {
          if (!isReason(e, 'AlreadyExists')) throw e;
        });
      }
    }
    const pcDef = this.registry.byKind('scheduling.k8s.io', 'PriorityClass')!;
    for (const pc of SYSTEM_PRIORITY_CLASSES) {
      if (this.cache.get(pcDef, '', pc.name)) continue;
      await this.storage
        .create(pcDef, '', { apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: pc.name }, value: pc.value, description: pc.description }, ctx)
        .catch((e) => {
          if (!isReason(e, 'AlreadyExists')) throw e;
        });
    }
    await reconcileBootstrapPolicy(this.storage, this.registry, ctx);
  }

  /** The `kubernetes` Service in default, targeting the port we actually serve on. */
  private async seedKubernetesService(serviceCidr: string): Promise<void> {
    const ctx = { user: ADMIN_USER };
    const svcDef = this.registry.byKind('', 'Service')!;
    const ports = [{ name: 'https', port: 443, protocol: 'TCP', targetPort: this.port }];
    const existing = this.cache.get(svcDef, 'default', 'kubernetes');
    if (!existing) {
      await this.storage
        .create(
          svcDef,
          'default',
          {
            apiVersion: 'v1',
            kind: 'Service',
            metadata: { name: 'kubernetes', labels: { component: 'apiserver', provider: 'kubernetes' } },
            spec: { clusterIP: nthAddress(serviceCidr, 1), ports },
          },
          ctx,
        )
        .catch((e) => {
          if (!isReason(e, 'AlreadyExists')) throw e;
        });
    } else if ((existing.obj.spec as { ports?: { targetPort?: unknown }[] }).ports?.[0]?.targetPort !== this.port) {
      await this.storage.update(svcDef, 'default', 'kubernetes', (cur) => ({ ...cur, spec: { ...(cur.spec as object), ports } }), ctx);
    }
  }

  /**
   * Also serves on `ip` (e.g. the pod bridge's gateway) and points the `kubernetes` Service's
   * endpoints there, so programs in pods reach the API with the in-cluster configuration.
   */
  async advertise(ip: string): Promise<void> {
    if (!this.extraListeners.length) {
      this.extraListeners.push(await listen(this.handler, { host: ip, port: this.port, tls: this.tlsOptions() }));
    }
    const ctx = { user: ADMIN_USER };
    const labels = { 'kubernetes.io/service-name': 'kubernetes', 'endpointslice.kubernetes.io/managed-by': 'skiff-apiserver' };
    const objects: [string, string, KObject][] = [
      ['discovery.k8s.io', 'EndpointSlice', {
        apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'kubernetes', labels },
        addressType: 'IPv4', endpoints: [{ addresses: [ip], conditions: { ready: true, serving: true, terminating: false } }],
        ports: [{ name: 'https', port: this.port, protocol: 'TCP' }],
      }],
      ['', 'Endpoints', {
        apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'kubernetes', labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' } },
        subsets: [{ addresses: [{ ip }], ports: [{ name: 'https', port: this.port, protocol: 'TCP' }] }],
      }],
    ];
    for (const [group, kind, obj] of objects) {
      const def = this.registry.byKind(group, kind)!;
      if (this.cache.get(def, 'default', 'kubernetes')) {
        await this.storage.update(def, 'default', 'kubernetes', (cur) => ({ ...obj, metadata: { ...obj.metadata, resourceVersion: cur.metadata?.resourceVersion } }), ctx);
      } else {
        await this.storage.create(def, 'default', obj, ctx).catch((e) => {
          if (!isReason(e, 'AlreadyExists')) throw e;
        });
      }
    }
  }

  async stop(): Promise<void> {
    for (const srv of [this.http, ...this.extraListeners]) {
      await new Promise<void>((resolve) => {
        if (!srv) return resolve();
        srv.close(() => resolve());
        srv.closeAllConnections();
      });
    }
    this.encryption?.stop();
    await this.auditLog?.close();
    this.cache.stop();
    await this.store.close();
  }
}
