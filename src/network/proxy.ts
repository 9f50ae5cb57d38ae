/**
 * The service proxy of a node, after kube-proxy's nftables mode: it watches Services and
 * EndpointSlices through the API (list+watch caches, never the store) and programs its own
 * nftables table (family ip, e.g. `skiff-<cluster>`) so that ClusterIPs, NodePorts (on every
 * local address, 127.0.0.1 included) and LoadBalancer ingress IPs reach ready endpoints,
 * chosen at random per connection (or pinned per client with sessionAffinity ClientIP), from
 * the host (nat output) as from pods (nat prerouting). Services without usable endpoints
 * are rejected (ICMP port-unreachable, so clients get ECONNREFUSED at once), as are unknown
 * ports of ClusterIPs and unallocated addresses of the service CIDR.
 *
 * Every change is programmed as one atomic nftables transaction (through libnftables in this
 * process, nft.ts, not a process per change) (chains and maps flushed and
 * refilled in place, stale ones deleted), debounced by `debounceMs` (10 ms) so a burst of
 * events costs one transaction and an endpoint change is live well within 100 ms.
 * The rule text comes from the pure functions in proxy-rules.ts.
 *
 * Host settings it needs (set in start(), left set on stop() as kube-proxy does, because other
 * proxies or CNI may rely on them):
 * - `net.ipv4.conf.all.route_localnet=1`: a connection from the host to 127.0.0.1:<nodePort>
 *   or to a 127.x LoadBalancer IP has source 127.0.0.1; after DNAT to a pod the packet must be
 *   routed out of the bridge with that source, which the kernel refuses as a martian unless
 *   route_localnet is on (postrouting then masquerades it to the bridge address). The table
 *   drops packets for 127/8 that arrive from off the host, the CVE-2020-8558 guard.
 * - `net.ipv4.ip_forward=1` (pod ↔ pod through the host) and, when br_netfilter is loaded,
 *   `net.bridge.bridge-nf-call-iptables=1`: a pod reaching another pod on the same bridge via
 *   a ClusterIP gets the reply bridged directly, which conntrack only un-DNATs if bridged
 *   IPv4 traffic passes the ip hooks.
 */
import { runOrThrow } from '../util/exec.js';
import { runNft, type NftRunner } from './nft.js';
import { existsSync, writeFileSync } from 'node:fs';
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { realClock, type Clock, type Timer } from '../util/clock.js';
import { SharedInformerFactory, type Informer } from '../client/informer.js';
import { ENDPOINT_SLICES, SERVICES } from '../client/resources.js';
import type { Client, KObject } from '../client/types.js';
import { renderTransaction, type ProxyEndpoint, type ProxyServicePort, type ProxyState, type RenderedObjects } from './proxy-rules.js';

export { renderRuleset, renderTransaction } from './proxy-rules.js';
export type { ProxyEndpoint, ProxyServicePort, ProxyState } from './proxy-rules.js';

type Svc = Service & KObject;
type Slice = EndpointSlice & KObject;

const LABEL_SERVICE_NAME = 'kubernetes.io/service-name';
/** Upstream default of sessionAffinityConfig.clientIP.timeoutSeconds (3 hours). */
const DEFAULT_AFFINITY_TIMEOUT = 10800;

export interface ServiceProxyOptions {
  /** Shared informers (the agent's); or a client, from which the proxy makes its own. */
  informers?: SharedInformerFactory;
  client?: Client;
  /** Name of the nft table (family ip), e.g. `skiff-<cluster>`; removed by stop(). */
  tableName: string;
  /** The service CIDR, e.g. 10.43.0.0/16. */
  serviceCidr: string;
  /** The pod CIDR: traffic to a ClusterIP from outside it is masqueraded. */
  masqueradeCidr?: string;
  /** This node's IP (informational: NodePorts answer on every local address, as `fib daddr type local`). */
  nodeIp?: string;
  clock?: Clock;
  /** Delay after the first change before programming, to batch bursts (default 10 ms). */
  debounceMs?: number;
  /**
   * A route for the service CIDR installed by start() and removed by stop(). Needed only when
   * the host has no route covering the CIDR (no default route): a connect() to an address
   * without a route fails before the packet reaches netfilter, so DNAT never happens.
   * `{ dev }` (e.g. the pod bridge) makes ClusterIPs routable so the rules DNAT or reject
   * them. 'unreachable' makes the kernel refuse the whole CIDR for host traffic before any
   * DNAT, so it suits only nodes whose host never talks to Services. Default: no route.
   */
  serviceRoute?: { dev: string; src?: string } | 'unreachable';
  /** Write the sysctls described above (default true). */
  setSysctls?: boolean;
  /** Runs one nft script atomically (default: the in-process libnftables context, see nft.ts). */
  nft?: NftRunner;
  log?: (msg: string) => void;
  /** Called after each successful programming with its duration and the delay since the first change it covers. */
  onSync?: (info: { durationMs: number; latencyMs: number; services: number }) => void;
}

/**
 * What the proxy programs for a set of Services and EndpointSlices (pure). Endpoints are the
 * ready ones; when none is ready, the serving terminating ones (kube-proxy's
 * ProxyTerminatingEndpoints), so connections drain instead of failing during a rollout.
 */
export function proxyServicePorts(services: readonly Service[], slices: readonly EndpointSlice[]): ProxyServicePort[] {
  const byService = new Map<string, EndpointSlice[]>();
  for (const s of slices) {
    const svc = s.metadata?.labels?.[LABEL_SERVICE_NAME];
    if (!svc || (s.addressType && s.addressType !== 'IPv4')) continue;
    const k = `${s.metadata?.namespace}/${svc}`;
    (byService.get(k) ?? byService.set(k, []).get(k)!).push(s);
  }
  const out: ProxyServicePort[] = [];
  for (const svc of services) {
    const spec = svc.spec ?? {};
    const cip = spec.clusterIP;
    if (!cip || cip === 'None' || spec.type === 'ExternalName') continue;
    const ns = svc.metadata?.namespace ?? 'default';
    const name = svc.metadata?.name ?? '';
    const ext = [...(spec.externalIPs ?? []), ...((svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip).filter((x): x is string => !!x))];
    const affinity = spec.sessionAffinity === 'ClientIP' ? (spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_TIMEOUT) : undefined;
    for (const sp of spec.ports ?? []) {
      const protocol = (sp.protocol ?? 'TCP') as ProxyServicePort['protocol'];
      const ready: ProxyEndpoint[] = [];
      const terminating: ProxyEndpoint[] = [];
      for (const slice of byService.get(`${ns}/${name}`) ?? []) {
        const port = (slice.ports ?? []).find((p) => (p.name ?? '') === (sp.name ?? '') && (p.protocol ?? 'TCP') === protocol);
        if (!port?.port) continue;
        for (const e of slice.endpoints ?? []) {
          const ip = e.addresses?.[0];
          if (!ip) continue;
          const c = e.conditions ?? {};
          // An unset ready condition means ready (discovery/v1 API semantics).
          if (c.ready !== false) ready.push({ ip, port: port.port });
          else if (c.serving !== false && c.terminating) terminating.push({ ip, port: port.port });
        }
      }
      const eps = ready.length ? ready : terminating;
      const seen = new Set<string>();
      out.push({
        namespace: ns, name, portName: sp.name ?? '', protocol, clusterIP: cip, port: sp.port,
        ...(sp.nodePort && (spec.type === 'NodePort' || spec.type === 'LoadBalancer') ? { nodePort: sp.nodePort } : {}),
        ...(ext.length ? { externalIPs: ext } : {}),
        ...(affinity ? { affinityTimeoutSeconds: affinity } : {}),
        endpoints: eps.filter((e) => { const k = `${e.ip}:${e.port}`; if (seen.has(k)) return false; seen.add(k); return true; }),
      });
    }
  }
  return out;
}

/** The node's service proxy. */
export class ServiceProxy {
  private readonly opts: ServiceProxyOptions;
  private readonly clock: Clock;
  private readonly informers: SharedInformerFactory;
  private readonly ownInformers: boolean;
  private readonly svcInf: Informer<Svc>;
  private readonly sliceInf: Informer<Slice>;
  private readonly nft: (script: string) => Promise<void>;
  private handles: { remove(): void }[] = [];
  private previous?: RenderedObjects;
  private dirtySince?: number;
  private timer?: Timer;
  private running?: Promise<void>;
  private started = false;
  private stopped = false;
  private routeInstalled = false;
  private syncWaiters: Array<() => void> = [];
  /** Number of successful programmings so far. */
  syncs = 0;

  constructor(opts: ServiceProxyOptions) {
    if (!/^[a-zA-Z][a-zA-Z0-9_-]*$/.test(opts.tableName)) throw new Error(`invalid nft table name ${JSON.stringify(opts.tableName)}`);
    this.opts = opts;
    this.clock = opts.clock ?? realClock;
    if (opts.informers) { this.informers = opts.informers; this.ownInformers = false; } else if (opts.client) {
      this.informers = new SharedInformerFactory(opts.client, { clock: this.clock });
      this.ownInformers = true;
    } else throw new Error('ServiceProxy needs informers or a client');
    this.svcInf = this.informers.informerFor<Svc>(SERVICES);
    this.sliceInf = this.informers.informerFor<Slice>(ENDPOINT_SLICES);
    this.nft = opts.nft ?? runNft;
  }

  /** Sets the sysctls, installs the route, waits for the caches and programs the table once. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    if (this.opts.setSysctls !== false) this.writeSysctls();
    const mark = () => this.changed();
    for (const inf of [this.svcInf as Informer<KObject>, this.sliceInf as unknown as Informer<KObject>]) {
      this.handles.push(inf.addEventHandler({ onAdd: mark, onUpdate: mark, onDelete: mark }));
    }
    this.svcInf.start();
    this.sliceInf.start();
    if (this.ownInformers) this.informers.start();
    await Promise.all([this.svcInf.waitForSync(), this.sliceInf.waitForSync()]);
    if (this.stopped) return;
    const r = this.opts.serviceRoute;
    if (r) {
      const args = r === 'unreachable'
        ? ['route', 'replace', 'unreachable', this.opts.serviceCidr]
        : ['route', 'replace', this.opts.serviceCidr, 'dev', r.dev, ...(r.src ? ['src', r.src] : [])];
      await runOrThrow('ip', args);
      this.routeInstalled = true;
    }
    // The first programming runs at once (the debounce timer is unref'd and would not hold a process open).
    this.dirtySince = this.clock.now();
    if (!this.running) this.running = this.loop().finally(() => { this.running = undefined; });
    await this.flushed();
  }

  /** Resolves once every change seen so far is programmed. */
  flushed(): Promise<void> {
    if (this.dirtySince === undefined && !this.running) return Promise.resolve();
    return new Promise((r) => this.syncWaiters.push(r));
  }

  /** The state the next sync would program (for inspection). */
  state(): ProxyState {
    return {
      table: this.opts.tableName,
      serviceCidr: this.opts.serviceCidr,
      masqueradeCidr: this.opts.masqueradeCidr,
      services: proxyServicePorts(this.svcInf.list(), this.sliceInf.list()),
    };
  }

  /** Stops watching, deletes the table and the route. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = undefined;
    for (const h of this.handles.splice(0)) h.remove();
    if (this.ownInformers) this.informers.stop();
    await this.running?.catch(() => undefined);
    try { await this.nft(`add table ip ${this.opts.tableName}\ndelete table ip ${this.opts.tableName}\n`); } catch (err) {
      this.opts.log?.(`proxy: removing table ${this.opts.tableName}: ${(err as Error).message}`);
    }
    if (this.routeInstalled) {
      this.routeInstalled = false;
      const r = this.opts.serviceRoute;
      await runOrThrow('ip', ['route', 'del', ...(r === 'unreachable' ? ['unreachable'] : []), this.opts.serviceCidr]).catch(() => undefined);
    }
    for (const w of this.syncWaiters.splice(0)) w();
  }

  private writeSysctls(): void {
    const set = (path: string) => {
      try { if (existsSync(path)) writeFileSync(path, '1'); } catch (err) {
        this.opts.log?.(`proxy: cannot set ${path}: ${(err as Error).message}`);
      }
    };
    set('/proc/sys/net/ipv4/conf/all/route_localnet');
    set('/proc/sys/net/ipv4/ip_forward');
    set('/proc/sys/net/bridge/bridge-nf-call-iptables');
  }

  private changed(): void {
    if (this.stopped || !this.svcInf.hasSynced() || !this.sliceInf.hasSynced()) return;
    this.dirtySince ??= this.clock.now();
    if (this.timer || this.running) return;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.running = this.loop().finally(() => { this.running = undefined; });
    }, this.opts.debounceMs ?? 10);
  }

  private async loop(): Promise<void> {
    while (this.dirtySince !== undefined && !this.stopped) {
      const since = this.dirtySince;
      this.dirtySince = undefined;
      const t0 = this.clock.now();
      const state = this.state();
      try {
        await this.program(state);
      } catch (err) {
        this.opts.log?.(`proxy: programming ${this.opts.tableName} failed: ${(err as Error).message}; retrying in 1s`);
        // Keep the earliest change time, so latency reports stay honest.
        this.dirtySince = since;
        this.timer = this.clock.setTimeout(() => {
          this.timer = undefined;
          this.running = this.loop().finally(() => { this.running = undefined; });
        }, 1000);
        return;
      }
      this.syncs++;
      const now = this.clock.now();
      this.opts.onSync?.({ durationMs: now - t0, latencyMs: now - since, services: state.services.length });
    }
    for (const w of this.syncWaiters.splice(0)) w();
  }

  private async program(state: ProxyState): Promise<void> {
    if (this.stopped) return;
    let tx = renderTransaction(state, this.previous);
    try {
      await this.nft(tx.text);
    } catch (err) {
      if (!this.previous) throw err;
      // Somebody changed or deleted our table: start over from a fresh one.
      this.previous = undefined;
      tx = renderTransaction(state);
      await this.nft(tx.text);
    }
    this.previous = tx.objects;
  }
}
