import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore } from '../store/memory.js';
import { defaultRegistry } from '../api/resources/index.js';
import type { KObject, Obj } from '../api/registry.js';
import { WatchCache } from './watch-cache.js';
import { ObjectStorage, type WriteContext } from './objects.js';
import { ApiHandler } from './handler.js';
import { MetricsApi, formatCpuNanoCores, formatDuration, formatMemoryBytes, type AgentEndpoint } from './metrics.js';
import type { ApiRequest } from './request.js';

const USER = { name: 'admin', groups: ['system:masters', 'system:authenticated'] };
const T0 = Date.parse('2024-01-01T00:00:00Z');

test('quantities and durations render as metrics-server renders them', () => {
  assert.equal(formatCpuNanoCores(250_000_000), '250m');
  assert.equal(formatCpuNanoCores(12_345_678), '12345678n');
  assert.equal(formatCpuNanoCores(2_000_000_000), '2');
  assert.equal(formatCpuNanoCores(0), '0');
  assert.equal(formatMemoryBytes(12_640_256), '12344Ki');
  assert.equal(formatMemoryBytes(1 << 20), '1Mi');
  assert.equal(formatMemoryBytes(1000), '1k');
  assert.equal(formatMemoryBytes(123457), '123457');
  assert.equal(formatDuration(10_000), '10s');
  assert.equal(formatDuration(10_025), '10.025s');
  assert.equal(formatDuration(65_000), '1m5s');
  assert.equal(formatDuration(500), '500ms');
});

interface Env {
  handler: ApiHandler;
  clock: { t: number; now(): number };
  scrapes: string[];
  /** Cumulative CPU (ns) by node and by "ns/pod/container". */
  cpu: Map<string, number>;
  get(path: string, query?: Record<string, string>, accept?: string): Promise<{ status: number; body: Obj }>;
}

async function env(): Promise<Env> {
  const registry = defaultRegistry();
  const store = new MemoryStore();
  const cache = new WatchCache(store, registry);
  await cache.start();
  const storage = new ObjectStorage(store, cache, registry);
  const ctx: WriteContext = { user: USER, dryRun: false };
  const clock = { t: T0, now() { return this.t; } };
  const cpu = new Map<string, number>();
  const scrapes: string[] = [];
  const nodeDef = registry.byKind('', 'Node')!;
  const podDef = registry.byKind('', 'Pod')!;
  const nsDef = registry.byKind('', 'Namespace')!;
  await storage.create(nsDef, '', { metadata: { name: 'default' } }, ctx);
  await storage.create(nsDef, '', { metadata: { name: 'other' } }, ctx);
  const addNode = async (name: string, port?: number) => {
    await storage.create(nodeDef, '', { metadata: { name, labels: { 'kubernetes.io/hostname': name } } }, ctx);
    await storage.update(nodeDef, '', name, (n: KObject) => {
      n.status = {
        addresses: [{ type: 'InternalIP', address: '127.0.0.1' }],
        allocatable: { cpu: '4', memory: '8Gi', pods: '110' },
        ...(port ? { daemonEndpoints: { kubeletEndpoint: { Port: port } } } : {}),
      };
      return n;
    }, ctx, 'status');
  };
  await addNode('n1', 10250);
  await addNode('sim-1'); // simulated: no agent endpoint
  const pods: Array<[string, string, string, Record<string, string>]> = [
    ['default', 'web-1', 'n1', { app: 'web' }],
    ['default', 'web-2', 'n1', { app: 'web' }],
    ['default', 'db', 'n1', { app: 'db' }],
    ['other', 'x', 'n1', { app: 'x' }],
    ['default', 'simpod', 'sim-1', { app: 'web' }],
  ];
  const uids = new Map<string, string>();
  for (const [ns, name, node, labels] of pods) {
    const p = await storage.create(podDef, ns, { metadata: { name, labels }, spec: { nodeName: node, containers: [{ name: 'c', image: 'busybox' }] } }, ctx);
    uids.set(`${ns}/${name}`, p.metadata!.uid!);
  }
  const fetchSummary = async (node: string, ep: AgentEndpoint) => {
    assert.equal(ep.port, 10250);
    scrapes.push(node);
    const time = new Date(clock.now()).toISOString();
    return {
      node: { nodeName: node, cpu: { time, usageCoreNanoSeconds: cpu.get(node) ?? 0 }, memory: { time, workingSetBytes: 2 * 1024 * 1024 * 1024 } },
      pods: pods
        .filter(([, , n]) => n === node)
        .map(([ns, name]) => ({
          podRef: { name, namespace: ns, uid: uids.get(`${ns}/${name}`) },
          containers: [{ name: 'c', cpu: { time, usageCoreNanoSeconds: cpu.get(`${ns}/${name}/c`) ?? 0 }, memory: { time, workingSetBytes: 12_640_256 } }],
        })),
    };
  };
  const sleep = async (ms: number) => {
    // Time passes while the API waits for its second sample; the workloads burn CPU meanwhile.
    const secs = ms / 1000;
    clock.t += ms;
    cpu.set('n1', (cpu.get('n1') ?? 0) + 2e9 * secs);
    cpu.set('default/web-1/c', (cpu.get('default/web-1/c') ?? 0) + 0.25e9 * secs);
    cpu.set('default/web-2/c', (cpu.get('default/web-2/c') ?? 0) + 0.5e9 * secs);
  };
  const metrics = new MetricsApi({ storage, registry, fetchSummary, clock, sleep, resampleDelayMs: 1000 });
  const handler = new ApiHandler({ registry, storage, authenticate: () => USER, serverAddress: '127.0.0.1:6443', metrics });
  return {
    handler, clock, scrapes, cpu,
    async get(path, query = {}, accept = 'application/json') {
      const req: ApiRequest = { method: 'GET', path, query: new URLSearchParams(query), headers: { accept } };
      const res = await handler.handle(req);
      return { status: res.status, body: JSON.parse(String(res.body)) };
    },
  };
}

test('discovery lists metrics.k8s.io (legacy and aggregated)', async () => {
  const e = await env();
  const groups = (await e.get('/apis')).body;
  const g = groups.groups.find((x: Obj) => x.name === 'metrics.k8s.io');
  assert.deepEqual(g.preferredVersion, { groupVersion: 'metrics.k8s.io/v1beta1', version: 'v1beta1' });
  const rl = (await e.get('/apis/metrics.k8s.io/v1beta1')).body;
  assert.deepEqual(rl.resources.map((r: Obj) => [r.name, r.namespaced, r.kind, r.verbs.join(',')]), [
    ['nodes', false, 'NodeMetrics', 'get,list'],
    ['pods', true, 'PodMetrics', 'get,list'],
  ]);
  assert.equal((await e.get('/apis/metrics.k8s.io')).body.kind, 'APIGroup');
  const agg = (await e.get('/apis', {}, 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList')).body;
  const item = agg.items.find((x: Obj) => x.metadata.name === 'metrics.k8s.io');
  assert.deepEqual(item.versions[0].resources.map((r: Obj) => `${r.resource}:${r.scope}:${r.responseKind.kind}`), ['nodes:Cluster:NodeMetrics', 'pods:Namespaced:PodMetrics']);
});

test('node metrics: rate over two samples, simulated nodes skipped, cached for 10 s', async () => {
  const e = await env();
  const list = await e.get('/apis/metrics.k8s.io/v1beta1/nodes');
  assert.equal(list.status, 200);
  assert.equal(list.body.kind, 'NodeMetricsList');
  assert.equal(list.body.apiVersion, 'metrics.k8s.io/v1beta1');
  assert.deepEqual(list.body.items.map((i: Obj) => i.metadata.name), ['n1']);
  const n1 = list.body.items[0];
  assert.deepEqual(n1.usage, { cpu: '2', memory: '2Gi' });
  assert.equal(n1.window, '1s');
  assert.equal(n1.metadata.labels['kubernetes.io/hostname'], 'n1');
  assert.deepEqual(e.scrapes, ['n1', 'n1'], 'first request takes two samples');
  // Within the TTL: no new scrape.
  e.clock.t += 5000;
  await e.get('/apis/metrics.k8s.io/v1beta1/nodes/n1');
  assert.equal(e.scrapes.length, 2);
  // After it: one scrape, rate over the whole interval.
  e.clock.t += 5000;
  e.cpu.set('n1', e.cpu.get('n1')! + 10e9 * 0.5); // 0.5 cores over 10 s
  const one = await e.get('/apis/metrics.k8s.io/v1beta1/nodes/n1');
  assert.equal(one.body.kind, 'NodeMetrics');
  assert.equal(one.body.usage.cpu, '500m');
  assert.equal(one.body.window, '10s');
  assert.equal(e.scrapes.length, 3);
  const missing = await e.get('/apis/metrics.k8s.io/v1beta1/nodes/sim-1');
  assert.equal(missing.status, 404);
  assert.equal(missing.body.message, 'nodemetrics.metrics.k8s.io "sim-1" not found');
});

test('pod metrics: namespaces, names, label selectors, containers', async () => {
  const e = await env();
  const all = await e.get('/apis/metrics.k8s.io/v1beta1/pods');
  assert.equal(all.body.kind, 'PodMetricsList');
  assert.deepEqual(all.body.items.map((i: Obj) => `${i.metadata.namespace}/${i.metadata.name}`).sort(), ['default/db', 'default/web-1', 'default/web-2', 'other/x']);
  const web = await e.get('/apis/metrics.k8s.io/v1beta1/namespaces/default/pods', { labelSelector: 'app=web' });
  const byName = Object.fromEntries(web.body.items.map((i: Obj) => [i.metadata.name, i]));
  assert.deepEqual(Object.keys(byName).sort(), ['web-1', 'web-2']);
  assert.deepEqual(byName['web-1'].containers, [{ name: 'c', usage: { cpu: '250m', memory: '12344Ki' } }]);
  assert.equal(byName['web-2'].containers[0].usage.cpu, '500m');
  assert.equal(byName['web-1'].window, '1s');
  assert.equal(byName['web-1'].metadata.labels.app, 'web');
  assert.ok(byName['web-1'].timestamp.endsWith('Z'));
  const one = await e.get('/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/db');
  assert.equal(one.body.kind, 'PodMetrics');
  assert.equal(one.body.containers[0].usage.cpu, '0');
  assert.equal((await e.get('/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/simpod')).status, 404);
  assert.equal((await e.get('/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/nope')).status, 404);
  const fs = await e.get('/apis/metrics.k8s.io/v1beta1/pods', { fieldSelector: 'metadata.namespace=other' });
  assert.deepEqual(fs.body.items.map((i: Obj) => i.metadata.name), ['x']);
  const tbl = await e.get('/apis/metrics.k8s.io/v1beta1/namespaces/default/pods', {}, 'application/json;as=Table;v=v1;g=meta.k8s.io');
  assert.equal(tbl.body.kind, 'Table');
  assert.deepEqual(tbl.body.rows.find((r: Obj) => r.cells[0] === 'web-2').cells.slice(1, 3), ['500m', '12344Ki']);
  assert.equal((await e.get('/apis/metrics.k8s.io/v1beta1/pods', { watch: 'true' })).status, 405);
  assert.equal((await e.get('/apis/metrics.k8s.io/v1beta2/pods')).status, 404);
});

test('an unreachable agent is skipped, and retried after the TTL', async () => {
  const registry = defaultRegistry();
  const store = new MemoryStore();
  const cache = new WatchCache(store, registry);
  await cache.start();
  const storage = new ObjectStorage(store, cache, registry);
  const ctx: WriteContext = { user: USER, dryRun: false };
  const nodeDef = registry.byKind('', 'Node')!;
  await storage.create(nodeDef, '', { metadata: { name: 'n1' } }, ctx);
  await storage.update(nodeDef, '', 'n1', (n: KObject) => ({ ...n, status: { addresses: [{ type: 'InternalIP', address: '127.0.0.1' }], daemonEndpoints: { kubeletEndpoint: { Port: 1 } } } }), ctx, 'status');
  let calls = 0;
  const clock = { t: T0, now() { return this.t; } };
  const metrics = new MetricsApi({ storage, registry, clock, fetchSummary: async () => { calls++; throw new Error('connect ECONNREFUSED'); }, sleep: async () => {} });
  const handler = new ApiHandler({ registry, storage, authenticate: () => USER, serverAddress: 'x', metrics });
  const get = async () => JSON.parse(String((await handler.handle({ method: 'GET', path: '/apis/metrics.k8s.io/v1beta1/nodes', query: new URLSearchParams(), headers: {} })).body));
  assert.deepEqual((await get()).items, []);
  assert.deepEqual((await get()).items, []);
  assert.equal(calls, 1, 'the failure is cached for the TTL');
  clock.t += 10_000;
  assert.deepEqual((await get()).items, []);
  assert.equal(calls, 2);
});
