/**
 * The resource metrics API (metrics.k8s.io/v1beta1), as metrics-server serves it, but pulled
 * on request: the API server scrapes each node agent's `/stats/summary` (at most once per
 * `cacheTtlMs`, 10 s by default) and serves NodeMetrics and PodMetrics from the last two
 * scrapes, so CPU is a rate over a real window. Nodes without an agent endpoint (simulated
 * nodes) or whose agent cannot be reached have no metrics and are skipped, as metrics-server
 * skips unreachable nodes. Read-only: get and list (no watch), labelSelector and the
 * metadata.name/metadata.namespace field selectors.
 */
import { agentTlsOptions, type AgentClientTls, type NodeProxy } from './node-proxy.js';
import https from 'node:https';
import { methodNotAllowed, notFound, badRequest, StatusError } from '../api/errors.js';
import type { KObject, Obj, Registry } from '../api/registry.js';
import { parseSelector, type Selector } from '../api/labels.js';
import { parseFieldSelector } from '../api/fields.js';
import { Quantity } from '../api/quantity.js';
import type { ObjectStorage } from './objects.js';
import { jsonResponse, type ApiRequest, type ApiResponse } from './request.js';
import { wantsTable } from './table.js';


export const METRICS_GROUP = 'metrics.k8s.io';
export const METRICS_VERSION = 'v1beta1';
const GV = `${METRICS_GROUP}/${METRICS_VERSION}`;

const RESOURCES = [
  { name: 'nodes', singular: 'node', namespaced: false, kind: 'NodeMetrics' },
  { name: 'pods', singular: 'pod', namespaced: true, kind: 'PodMetrics' },
] as const;
const VERBS = ['get', 'list'];

// ---- discovery ---------------------------------------------------------------

/** The group's entry in /apis (APIGroupList.groups[]) and the /apis/metrics.k8s.io document. */
export function metricsApiGroup() {
  const v = { groupVersion: GV, version: METRICS_VERSION };
  return { name: METRICS_GROUP, versions: [v], preferredVersion: v };
}

/** /apis/metrics.k8s.io/v1beta1, exactly as metrics-server answers it. */
export function metricsResourceList() {
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: GV,
    resources: RESOURCES.map((r) => ({ name: r.name, singularName: '', namespaced: r.namespaced, kind: r.kind, verbs: VERBS })),
  };
}

/** The group's item in the aggregated discovery document (apidiscovery.k8s.io/v2) of /apis. */
export function metricsAggregatedGroup() {
  return {
    metadata: { name: METRICS_GROUP, creationTimestamp: null },
    versions: [
      {
        version: METRICS_VERSION,
        freshness: 'Current',
        resources: RESOURCES.map((r) => ({
          resource: r.name,
          responseKind: { group: METRICS_GROUP, version: METRICS_VERSION, kind: r.kind },
          scope: r.namespaced ? 'Namespaced' : 'Cluster',
          singularResource: r.singular,
          verbs: VERBS,
        })),
      },
    ],
  };
}

// ---- rendering helpers ---------------------------------------------------------

/** CPU nanocores as metrics-server renders them: resource.NewScaledQuantity(n, Nano) → "250m", "12345n", "2". */
export function formatCpuNanoCores(n: number): string {
  return Quantity.parse(`${Math.max(0, Math.round(n))}n`).toString();
}

/** Memory bytes as metrics-server renders them: resource.NewQuantity(b, BinarySI) → "12345Ki", "1Mi", "1000". */
export function formatMemoryBytes(b: number): string {
  return Quantity.fromValue(Math.max(0, Math.round(b)), 'BinarySI').toString();
}

/** A Go time.Duration string (metav1.Duration): "10s", "10.025s", "1m5s", "500ms". */
export function formatDuration(ms: number): string {
  ms = Math.max(0, Math.round(ms));
  if (ms === 0) return '0s';
  if (ms < 1000) return `${ms}ms`;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const sMs = ms % 60_000;
  const s = sMs % 1000 === 0 ? String(sMs / 1000) : (sMs / 1000).toFixed(3).replace(/0+$/, '');
  return `${h ? `${h}h` : ''}${h || m ? `${m}m` : ''}${s}s`;
}

function rfc3339(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

// ---- scraping ------------------------------------------------------------------

/** Where a node's agent listens. */
export interface AgentEndpoint {
  host: string;
  port: number;
}

/** Fetches a node agent's /stats/summary (kubelet Summary API JSON). */
export type SummaryFetcher = (node: string, ep: AgentEndpoint) => Promise<Obj>;

/** A usage sample of one container (or the node), reduced to what the API serves. */
interface Point {
  /** Cumulative CPU in ns. */
  cpuNs: number;
  /** When it was taken (ms). */
  at: number;
}

interface ContainerUsage {
  name: string;
  cpuNanoCores: number;
  memoryBytes: number;
}

interface PodUsage {
  uid: string;
  at: number;
  windowMs: number;
  containers: ContainerUsage[];
}

interface NodeUsage {
  at: number;
  windowMs: number;
  cpuNanoCores: number;
  memoryBytes: number;
}

/** What one node reports, computed from its last two scrapes. */
interface NodeScrape {
  node?: NodeUsage;
  /** By namespace/name. */
  pods: Map<string, PodUsage>;
}

export interface MetricsApiOptions {
  storage: ObjectStorage;
  registry: Registry;
  /** How to reach an agent; default: HTTPS with `agentTls`. */
  fetchSummary?: SummaryFetcher;
  /** The API server's client certificate towards agents and the CA their serving certificates chain to (default fetcher). */
  agentTls?: AgentClientTls;
  /** How long one scrape of a node is reused (default 10 s). */
  cacheTtlMs?: number;
  /** Pause before a second scrape when a node or container has no earlier sample to take a rate from (default 1 s). */
  resampleDelayMs?: number;
  /** Samples older than this are not used for a rate (default 5 min). */
  maxSampleAgeMs?: number;
  clock?: { now(): number };
  sleep?: (ms: number) => Promise<void>;
  /** Scrape timeout (default 5 s). */
  timeoutMs?: number;
}

/** HTTPS GET of /stats/summary on an agent. */
export function httpsSummaryFetcher(tls: AgentClientTls, timeoutMs = 5000): SummaryFetcher {
  return (_node, ep) =>
    new Promise((resolve, reject) => {
      const req = https.request(
        { host: ep.host, port: ep.port, path: '/stats/summary', method: 'GET', ...agentTlsOptions(tls), timeout: timeoutMs, headers: { accept: 'application/json' } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const body = Buffer.concat(chunks).toString('utf8');
            if ((res.statusCode ?? 0) !== 200) return reject(new Error(`agent answered ${res.statusCode}: ${body.slice(0, 200)}`));
            try {
              resolve(JSON.parse(body) as Obj);
            } catch (err) {
              reject(err as Error);
            }
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`timed out after ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end();
    });
}

/** The agent endpoint a Node publishes, or undefined (simulated nodes publish none). */
export function agentEndpoint(node: KObject): AgentEndpoint | undefined {
  const st = (node.status ?? {}) as Obj;
  const port = st.daemonEndpoints?.kubeletEndpoint?.Port;
  const host = ((st.addresses ?? []) as Obj[]).find((a) => a.type === 'InternalIP')?.address;
  if (!port || !host) return undefined;
  return { host, port: Number(port) };
}

const timeOf = (v: unknown, fallback: number): number => {
  const t = typeof v === 'string' ? Date.parse(v) : NaN;
  return Number.isFinite(t) ? t : fallback;
};

/** Serves metrics.k8s.io/v1beta1. */
export class MetricsApi {
  private readonly now: () => number;
  private readonly fetch: SummaryFetcher;
  private readonly ttl: number;
  private readonly resampleDelay: number;
  private readonly maxAge: number;
  private readonly sleep: (ms: number) => Promise<void>;
  /** Last samples by node, then by container key ("node" for the node itself). */
  private readonly points = new Map<string, Map<string, Point>>();
  /** Latest computed scrape per node and when it was taken. */
  private readonly cache = new Map<string, { at: number; result: Promise<NodeScrape> }>();

  constructor(private readonly o: MetricsApiOptions) {
    this.now = () => (o.clock ?? Date).now();
    if (!o.fetchSummary && !o.agentTls) throw new Error('MetricsApi needs fetchSummary or agentTls');
    this.fetch = o.fetchSummary ?? httpsSummaryFetcher(o.agentTls!, o.timeoutMs);
    this.ttl = o.cacheTtlMs ?? 10_000;
    this.resampleDelay = o.resampleDelayMs ?? 1000;
    this.maxAge = o.maxSampleAgeMs ?? 5 * 60_000;
    this.sleep = o.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  /** Handles GET /apis/metrics.k8s.io/{version}/{rest...}. */
  async serve(req: ApiRequest, version: string, rest: string[]): Promise<ApiResponse> {
    if (version !== METRICS_VERSION) throw pageNotFound();
    if (rest.length === 0) return jsonResponse(200, metricsResourceList());
    let namespace = '';
    let resource: string;
    let name = '';
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      namespace = rest[1];
      [, , resource, name = ''] = rest;
      if (resource !== 'pods' || rest.length > 4) throw pageNotFound();
    } else {
      [resource, name = ''] = rest;
      if (!['nodes', 'pods'].includes(resource) || rest.length > 2 || (resource === 'pods' && name)) throw pageNotFound();
    }
    if (req.method.toUpperCase() !== 'GET') throw methodNotAllowed('the server does not allow this method on the requested resource');
    if (/^(true|1)$/i.test(req.query.get('watch') ?? '')) throw methodNotAllowed(`watch is not supported on ${resource}.${METRICS_GROUP}`);
    const match = this.filters(req);
    const items = resource === 'nodes' ? await this.nodeMetrics(name, match) : await this.podMetrics(namespace, name, match);
    if (name) {
      if (!items.length) throw notFound({ group: METRICS_GROUP, resource: resource === 'nodes' ? 'nodemetrics' : 'podmetrics' }, name);
      return this.respond(req, resource, items, items[0]);
    }
    return this.respond(req, resource, items);
  }

  private respond(req: ApiRequest, resource: string, items: KObject[], single?: KObject): ApiResponse {
    const kind = resource === 'nodes' ? 'NodeMetrics' : 'PodMetrics';
    if (wantsTable(req.headers['accept'])) {
      const include = req.query.get('includeObject') ?? 'Metadata';
      return jsonResponse(200, {
        kind: 'Table',
        apiVersion: 'meta.k8s.io/v1',
        metadata: {},
        columnDefinitions: [
          { name: 'Name', type: 'string', format: 'name', description: 'Name of the resource', priority: 0 },
          { name: 'CPU', type: 'string', format: '', description: 'CPU usage', priority: 0 },
          { name: 'Memory', type: 'string', format: '', description: 'Memory usage', priority: 0 },
          { name: 'Window', type: 'string', format: '', description: 'Interval over which the usage was measured', priority: 0 },
        ],
        rows: items.map((m) => {
          const usage = kind === 'NodeMetrics' ? (m.usage as Obj) : sumContainers(m.containers as Obj[]);
          const row: Obj = { cells: [m.metadata?.name, usage.cpu, usage.memory, m.window] };
          if (include === 'Object') row.object = m;
          else if (include !== 'None') row.object = { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: m.metadata };
          return row;
        }),
      });
    }
    if (single) return jsonResponse(200, single);
    return jsonResponse(200, { kind: `${kind}List`, apiVersion: GV, metadata: {}, items });
  }

  private filters(req: ApiRequest): (meta: { name: string; namespace?: string; labels?: Record<string, string> }) => boolean {
    const ls = req.query.get('labelSelector');
    const fs = req.query.get('fieldSelector');
    let labels: Selector | undefined;
    if (ls) labels = parseSelector(ls);
    const fields = fs ? parseFieldSelector(fs) : undefined;
    for (const f of fields?.fields() ?? []) {
      if (f !== 'metadata.name' && f !== 'metadata.namespace') throw badRequest(`field label not supported: ${f}`);
    }
    return (m) =>
      (!labels || labels.matches(m.labels)) &&
      (!fields || fields.matches((f) => (f === 'metadata.name' ? m.name : f === 'metadata.namespace' ? (m.namespace ?? '') : '')));
  }

  private nodes(): KObject[] {
    const def = this.o.registry.byKind('', 'Node')!;
    return this.o.storage.cache.list(def, '').map((c) => c.obj);
  }

  private async nodeMetrics(name: string, match: ReturnType<MetricsApi['filters']>): Promise<KObject[]> {
    const nodes = this.nodes().filter((n) => (!name || n.metadata?.name === name) && match({ name: n.metadata?.name ?? '', labels: n.metadata?.labels }));
    const scraped = await Promise.all(nodes.map((n) => this.scrape(n)));
    const out: KObject[] = [];
    nodes.forEach((n, i) => {
      const u = scraped[i]?.node;
      if (!u) return;
      out.push({
        kind: 'NodeMetrics',
        apiVersion: GV,
        metadata: { name: n.metadata?.name, creationTimestamp: rfc3339(this.now()), ...(n.metadata?.labels ? { labels: n.metadata.labels } : {}) },
        timestamp: rfc3339(u.at),
        window: formatDuration(u.windowMs),
        usage: { cpu: formatCpuNanoCores(u.cpuNanoCores), memory: formatMemoryBytes(u.memoryBytes) },
      });
    });
    return out;
  }

  private async podMetrics(namespace: string, name: string, match: ReturnType<MetricsApi['filters']>): Promise<KObject[]> {
    const podDef = this.o.registry.byKind('', 'Pod')!;
    const pods = this.o.storage.cache
      .list(podDef, namespace)
      .map((c) => c.obj)
      .filter((p) => (p.spec as Obj | undefined)?.nodeName)
      .filter((p) => (!name || p.metadata?.name === name) && match({ name: p.metadata?.name ?? '', namespace: p.metadata?.namespace, labels: p.metadata?.labels }));
    const byNode = new Map(this.nodes().map((n) => [n.metadata?.name ?? '', n]));
    const wanted = [...new Set(pods.map((p) => (p.spec as Obj).nodeName as string))].filter((n) => byNode.has(n));
    const scrapes = new Map<string, NodeScrape | undefined>();
    await Promise.all(wanted.map(async (n) => scrapes.set(n, await this.scrape(byNode.get(n)!))));
    const out: KObject[] = [];
    const created = rfc3339(this.now());
    for (const p of pods) {
      const s = scrapes.get((p.spec as Obj).nodeName);
      const u = s?.pods.get(`${p.metadata?.namespace}/${p.metadata?.name}`);
      if (!u || (u.uid && p.metadata?.uid && u.uid !== p.metadata.uid) || u.containers.length === 0) continue;
      out.push({
        kind: 'PodMetrics',
        apiVersion: GV,
        metadata: { name: p.metadata?.name, namespace: p.metadata?.namespace, creationTimestamp: created, ...(p.metadata?.labels ? { labels: p.metadata.labels } : {}) },
        timestamp: rfc3339(u.at),
        window: formatDuration(u.windowMs),
        containers: u.containers.map((c) => ({ name: c.name, usage: { cpu: formatCpuNanoCores(c.cpuNanoCores), memory: formatMemoryBytes(c.memoryBytes) } })),
      });
    }
    return out;
  }

  /** The node's usage from its last two scrapes (cached for the TTL); undefined when it has no agent or is unreachable. */
  private async scrape(node: KObject): Promise<NodeScrape | undefined> {
    const name = node.metadata?.name ?? '';
    const ep = agentEndpoint(node);
    if (!ep) return undefined;
    const now = this.now();
    const hit = this.cache.get(name);
    if (hit && now - hit.at < this.ttl) return hit.result.catch(() => undefined);
    // A failed scrape is cached too, so an unreachable agent costs one timeout per TTL, not one per request.
    const result = this.scrapeNow(name, ep);
    this.cache.set(name, { at: now, result });
    return result.catch(() => undefined);
  }

  private async scrapeNow(name: string, ep: AgentEndpoint): Promise<NodeScrape> {
    let r = this.compute(name, await this.fetch(name, ep));
    if (r.incomplete) {
      // Rates need two samples: take a second one shortly after, as the agent itself does.
      await this.sleep(this.resampleDelay);
      r = this.compute(name, await this.fetch(name, ep));
    }
    return r.scrape;
  }

  /** Turns a summary into usage, using (and updating) the node's previous samples. */
  private compute(nodeName: string, summary: Obj): { scrape: NodeScrape; incomplete: boolean } {
    const now = this.now();
    const prev = this.points.get(nodeName) ?? new Map<string, Point>();
    const next = new Map<string, Point>();
    let incomplete = false;
    const rate = (key: string, cpuNs: number, at: number): { nanoCores: number; windowMs: number } | undefined => {
      next.set(key, { cpuNs, at });
      const p = prev.get(key);
      if (!p || at <= p.at || at - p.at > this.maxAge || cpuNs < p.cpuNs) {
        incomplete = true;
        return undefined;
      }
      return { nanoCores: ((cpuNs - p.cpuNs) / (at - p.at)) * 1e3, windowMs: at - p.at };
    };
    const scrape: NodeScrape = { pods: new Map() };
    const n = (summary.node ?? {}) as Obj;
    if (n.cpu && typeof n.cpu.usageCoreNanoSeconds === 'number') {
      const at = timeOf(n.cpu.time, now);
      const r = rate('node', n.cpu.usageCoreNanoSeconds, at);
      if (r) scrape.node = { at, windowMs: r.windowMs, cpuNanoCores: r.nanoCores, memoryBytes: Number(n.memory?.workingSetBytes ?? 0) };
    }
    for (const ps of (summary.pods ?? []) as Obj[]) {
      const ref = (ps.podRef ?? {}) as Obj;
      const key = `${ref.namespace}/${ref.name}`;
      const containers: ContainerUsage[] = [];
      let complete = true;
      let at = 0;
      let windowMs = 0;
      for (const c of (ps.containers ?? []) as Obj[]) {
        if (!c.cpu || typeof c.cpu.usageCoreNanoSeconds !== 'number') {
          complete = false;
          continue;
        }
        const t = timeOf(c.cpu.time, now);
        const r = rate(`${ref.uid}/${c.name}`, c.cpu.usageCoreNanoSeconds, t);
        if (!r) {
          complete = false;
          continue;
        }
        at = Math.max(at, t);
        windowMs = Math.max(windowMs, r.windowMs);
        containers.push({ name: c.name, cpuNanoCores: r.nanoCores, memoryBytes: Number(c.memory?.workingSetBytes ?? 0) });
      }
      // As metrics-server: a pod is reported only when every container has a usable sample.
      if (complete && containers.length) scrape.pods.set(key, { uid: ref.uid ?? '', at, windowMs, containers });
    }
    this.points.set(nodeName, next);
    return { scrape, incomplete };
  }
}

function sumContainers(containers: Obj[] | undefined): { cpu: string; memory: string } {
  let cpu = Quantity.parse('0');
  let mem = Quantity.fromValue(0, 'BinarySI');
  for (const c of containers ?? []) {
    cpu = cpu.add(Quantity.parse(c.usage?.cpu ?? '0'));
    mem = mem.add(Quantity.parse(c.usage?.memory ?? '0'));
  }
  return { cpu: cpu.toString(), memory: mem.toString() };
}

function pageNotFound(): StatusError {
  return new StatusError(404, 'NotFound', 'the server could not find the requested resource', {});
}

/**
 * The metrics API a handler serves by default: it reaches the agents as the node proxy does,
 * with the same client certificate (read from the proxy; undefined when there is no proxy to relay with).
 */
export function metricsApiFromNodeProxy(storage: ObjectStorage, registry: Registry, proxy: NodeProxy | undefined): MetricsApi | undefined {
  const tls = proxy?.agentTls;
  return tls ? new MetricsApi({ storage, registry, agentTls: tls }) : undefined;
}
