/**
 * The control plane's API server: store → watch cache → object storage → handler → HTTPS.
 * Also seeds what a fresh cluster has (system namespaces, the kubernetes Service) and writes
 * the admin kubeconfig.
 */
import type http from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import type { Store } from '../store/types.js';
import { SqliteStore } from '../store/sqlite.js';
import { defaultRegistry } from '../api/resources/index.js';
import type { Registry } from '../api/registry.js';
import { isReason } from '../api/errors.js';
import { WatchCache } from './watch-cache.js';
import { ObjectStorage, type UserInfo } from './objects.js';
import { ApiHandler } from './handler.js';
import { listen } from './http.js';
import { ensurePki, type Pki } from './pki.js';
import { writeKubeconfig } from './kubeconfig.js';
import { nthAddress, serviceIpAdmission } from './admission/service-ips.js';
import type { ApiRequest } from './request.js';
import { NodeProxy } from './node-proxy.js';

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
}

export const ADMIN_USER: UserInfo = { name: 'admin', groups: ['system:masters', 'system:authenticated'] };

export class ApiServer {
  private http?: http.Server;
  readonly registry: Registry;
  readonly cache: WatchCache;
  readonly storage: ObjectStorage;
  readonly handler: ApiHandler;
  readonly kubeconfigPath: string;
  url = '';

  private constructor(
    readonly opts: ApiServerOptions,
    readonly store: Store,
    readonly pki: Pki,
  ) {
    this.registry = defaultRegistry();
    this.cache = new WatchCache(store, this.registry);
    this.storage = new ObjectStorage(store, this.cache, this.registry);
    const serviceCidr = opts.serviceCidr ?? '10.43.0.0/16';
    this.storage.addAdmission(serviceIpAdmission(this.cache, this.registry.byKind('', 'Service')!, { serviceCidr }));
    const host = opts.host ?? '127.0.0.1';
    this.handler = new ApiHandler({
      registry: this.registry,
      storage: this.storage,
      authenticate: (req) => this.authenticate(req),
      serverAddress: `${host}:${opts.port}`,
      bookmarkIntervalMs: opts.bookmarkIntervalMs,
      nodeProxy: new NodeProxy(this.storage, this.registry, pki.adminToken),
    });
    this.kubeconfigPath = join(opts.dataDir, 'kubeconfig');
  }

  /** Opens the store, loads the cache, seeds defaults and starts serving HTTPS. */
  static async start(opts: ApiServerOptions): Promise<ApiServer> {
    mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
    const serviceCidr = opts.serviceCidr ?? '10.43.0.0/16';
    const [store, pki] = await Promise.all([
      Promise.resolve(opts.store ?? SqliteStore.open(join(opts.dataDir, 'state.db'))),
      ensurePki(join(opts.dataDir, 'pki'), { hosts: [nthAddress(serviceCidr, 1)] }),
    ]);
    const server = new ApiServer(opts, store, pki);
    await server.cache.start();
    await server.seed(serviceCidr);
    const host = opts.host ?? '127.0.0.1';
    server.http = await listen(server.handler, { host, port: opts.port, tls: { cert: pki.servingCertPem, key: pki.servingKeyPem } });
    const addr = server.http.address();
    const port = typeof addr === 'object' && addr ? addr.port : opts.port;
    server.url = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
    writeKubeconfig(server.kubeconfigPath, { server: server.url, caPem: pki.caCertPem, token: pki.adminToken, contextName: opts.clusterName ?? 'skiff' });
    return server;
  }

  private authenticate(req: ApiRequest): UserInfo | undefined {
    const auth = req.headers['authorization'];
    if (!auth?.startsWith('Bearer ')) return undefined;
    const token = Buffer.from(auth.slice(7).trim());
    const admin = Buffer.from(this.pki.adminToken);
    if (token.length === admin.length && timingSafeEqual(token, admin)) return ADMIN_USER;
    return undefined;
  }

  /** Creates what every cluster starts with, if missing. */
  private async seed(serviceCidr: string): Promise<void> {
    const nsDef = this.registry.byKind('', 'Namespace')!;
    const ctx = { user: ADMIN_USER };
    for (const name of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
      if (!this.cache.get(nsDef, '', name)) {
        await this.storage.create(nsDef, '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } }, ctx).catch((e) => {
          if (!isReason(e, 'AlreadyExists')) throw e;
        });
      }
    }
    const svcDef = this.registry.byKind('', 'Service')!;
    if (!this.cache.get(svcDef, 'default', 'kubernetes')) {
      await this.storage
        .create(
          svcDef,
          'default',
          {
            apiVersion: 'v1',
            kind: 'Service',
            metadata: { name: 'kubernetes', labels: { component: 'apiserver', provider: 'kubernetes' } },
            spec: { clusterIP: nthAddress(serviceCidr, 1), ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: this.opts.port }] },
          },
          ctx,
        )
        .catch((e) => {
          if (!isReason(e, 'AlreadyExists')) throw e;
        });
    }
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      if (!this.http) return resolve();
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
    this.cache.stop();
    await this.store.close();
  }
}
