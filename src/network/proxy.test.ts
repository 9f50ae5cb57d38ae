import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { TestClient } from '../apiserver/testing/test-api.js';
import { FakeClock, flushAsync } from '../util/clock.js';
import { ENDPOINT_SLICES, SERVICES } from '../client/resources.js';
import { proxyServicePorts, renderRuleset, ServiceProxy } from './proxy.js';
import { renderTransaction, type ProxyState } from './proxy-rules.js';

const svc = (o: Partial<Service['spec']> = {}, status?: Service['status']): Service => ({
  apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' },
  spec: { clusterIP: '10.43.0.10', ports: [{ name: 'http', port: 80, protocol: 'TCP' }], ...o }, ...(status ? { status } : {}),
});
const slice = (eps: { ip: string; ready?: boolean; serving?: boolean; terminating?: boolean }[], port = 8080): EndpointSlice => ({
  apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'web-abcde', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } },
  addressType: 'IPv4', ports: [{ name: 'http', port, protocol: 'TCP' }],
  endpoints: eps.map((e) => ({ addresses: [e.ip], conditions: { ready: e.ready ?? true, serving: e.serving ?? e.ready ?? true, terminating: e.terminating ?? false } })),
});

test('proxyServicePorts: ready endpoints, terminating fallback, nodePort, LB ingress, affinity', () => {
  const s = svc({ type: 'LoadBalancer', ports: [{ name: 'http', port: 80, nodePort: 30080 }], sessionAffinity: 'ClientIP' }, { loadBalancer: { ingress: [{ ip: '127.0.1.1' }] } });
  let [p] = proxyServicePorts([s], [slice([{ ip: '10.0.0.2' }, { ip: '10.0.0.3', ready: false }, { ip: '10.0.0.4', ready: false, serving: true, terminating: true }])]);
  assert.deepEqual(p, {
    namespace: 'default', name: 'web', portName: 'http', protocol: 'TCP', clusterIP: '10.43.0.10', port: 80, nodePort: 30080,
    externalIPs: ['127.0.1.1'], affinityTimeoutSeconds: 10800, endpoints: [{ ip: '10.0.0.2', port: 8080 }],
  });
  [p] = proxyServicePorts([s], [slice([{ ip: '10.0.0.3', ready: false }, { ip: '10.0.0.4', ready: false, serving: true, terminating: true }])]);
  assert.deepEqual(p.endpoints, [{ ip: '10.0.0.4', port: 8080 }]);
  assert.deepEqual(proxyServicePorts([svc({ clusterIP: 'None' })], []), []);
});

test('renderRuleset: balancing, rejects, masquerade, hairpin, affinity', () => {
  const state: ProxyState = {
    table: 'skiff-t', serviceCidr: '10.43.0.0/16', masqueradeCidr: '10.42.0.0/24',
    services: [
      { namespace: 'default', name: 'web', portName: 'http', protocol: 'TCP', clusterIP: '10.43.0.10', port: 80, nodePort: 30080, externalIPs: ['127.0.1.1'],
        endpoints: [{ ip: '10.42.0.3', port: 8080 }, { ip: '10.42.0.2', port: 8080 }] },
      { namespace: 'default', name: 'sticky', portName: '', protocol: 'UDP', clusterIP: '10.43.0.11', port: 53, affinityTimeoutSeconds: 60, endpoints: [{ ip: '10.42.0.2', port: 5353 }] },
      { namespace: 'default', name: 'empty', portName: '', protocol: 'TCP', clusterIP: '10.43.0.12', port: 80, nodePort: 30081, endpoints: [] },
    ],
  };
  const text = renderRuleset(state);
  assert.match(text, /^table ip skiff-t \{/);
  assert.match(text, /10\.43\.0\.10 \. tcp \. 80 : goto service-[0-9A-F]{8}-default\/web\/tcp\/http/);
  assert.match(text, /127\.0\.1\.1 \. tcp \. 80 : goto external-/);
  assert.match(text, /tcp \. 30080 : goto external-/);
  assert.match(text, /numgen random mod 2 vmap \{ 0 : goto endpoint-[0-9A-F]{8}-default\/web\/tcp\/http__10\.42\.0\.2\/8080, 1 : goto endpoint-/);
  assert.match(text, /ip daddr 10\.43\.0\.10 ip saddr != 10\.42\.0\.0\/24 fib saddr type != local jump mark-for-masquerade/);
  assert.match(text, /ip daddr 10\.43\.0\.10 ip saddr 127\.0\.0\.0\/8 jump mark-for-masquerade/);
  // Another cluster's pods (same service CIDR, other pod CIDR) are left to their own cluster's table.
  assert.match(text, /chain nat-prerouting \{\n[^}]*ip daddr 10\.43\.0\.0\/16 ip saddr != 10\.42\.0\.0\/24 return\n\t\tjump services/);
  assert.match(text, /ip saddr 10\.42\.0\.2 jump mark-for-masquerade\n\t\tmeta l4proto tcp dnat to 10\.42\.0\.2:8080/);
  assert.match(text, /10\.43\.0\.12 \. tcp \. 80 : goto reject-chain/);
  assert.match(text, /tcp \. 30081 : goto reject-chain/);
  assert.match(text, /set affinity-[0-9A-F]{8} \{\n\t\ttype ipv4_addr;\n\t\tflags dynamic,timeout;\n\t\ttimeout 60s;/);
  assert.match(text, /ip saddr @affinity-[0-9A-F]{8} goto endpoint-/);
  assert.match(text, /update @affinity-[0-9A-F]{8} \{ ip saddr \}\n\t\tmeta l4proto udp dnat to 10\.42\.0\.2:5353/);
  assert.match(text, /ip daddr 10\.43\.0\.0\/16 reject/);
  assert.equal(renderRuleset(state), text, 'deterministic');
  // An incremental transaction flushes what existed and deletes what is gone.
  const first = renderTransaction(state);
  const second = renderTransaction({ ...state, services: [state.services[2]] }, first.objects);
  assert.match(second.text, /^add table ip skiff-t\nflush chain ip skiff-t filter-input\n/);
  assert.match(second.text, /delete chain ip skiff-t service-[0-9A-F]{8}-default\/web\/tcp\/http\n/);
  assert.match(second.text, /delete set ip skiff-t affinity-/);
});

test('changes are debounced into one transaction each', async () => {
  const clock = new FakeClock();
  const client = new TestClient({ clock });
  const scripts: string[] = [];
  const proxy = new ServiceProxy({ client, clock, tableName: 'skiff-unit', serviceCidr: '10.43.0.0/16', setSysctls: false, nft: async (s) => { scripts.push(s); } });
  await client.create(SERVICES, 'default', svc());
  await proxy.start();
  assert.equal(scripts.length, 1);
  assert.match(scripts[0], /goto reject-chain/);
  for (let i = 0; i < 5; i++) await client.create(ENDPOINT_SLICES, 'default', { ...slice([{ ip: `10.0.0.${i + 2}` }]), metadata: { ...slice([]).metadata, name: `web-${i}` } });
  for (let i = 0; i < 100 && proxy.state().services[0]?.endpoints.length !== 5; i++) await flushAsync();
  assert.equal(scripts.length, 1, 'nothing is programmed before the debounce period ends');
  await clock.advance(10);
  await proxy.flushed();
  assert.equal(scripts.length, 2, 'a burst of changes is one transaction');
  assert.match(scripts[1], /numgen random mod 5/);
  await proxy.stop();
  assert.match(scripts.at(-1)!, /delete table ip skiff-unit/);
});

// ---------------------------------------------------------------------------------------------
// Integration: a real table, two network namespaces as pods running busybox httpd.

const sh = (cmd: string, args: string[]) => {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
const canRun = process.getuid?.() === 0 && spawnSync('nft', ['--version']).status === 0 && spawnSync('busybox', ['httpd', '--help']).status !== null;

function get(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path: '/', agent: false, timeout: 2000 }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve(body.trim()));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** Waits (bounded) until the proxy has seen a state matching `ok`, then until it is programmed. */
async function programmed(proxy: ServiceProxy, ok: (s: ReturnType<ServiceProxy['state']>) => boolean): Promise<void> {
  for (let i = 0; !ok(proxy.state()); i++) {
    if (i > 200) throw new Error('the proxy never saw the change');
    await new Promise((res) => setTimeout(res, 5));
  }
  await proxy.flushed();
}

test('real nftables: ClusterIP balances across two pods, NodePort and LB IP on loopback, reject without endpoints', { skip: !canRun && 'needs root, nft and busybox' }, async () => {
  const r = Math.random().toString(16).slice(2, 8);
  const a = 200 + Math.floor(Math.random() * 50);
  const b = Math.floor(Math.random() * 256);
  const podNet = `10.${a}.${b}`;
  const svcNet = `10.${a + 1}.${b}`;
  const lbIp = `127.${100 + Math.floor(Math.random() * 150)}.${Math.floor(Math.random() * 256)}.${1 + Math.floor(Math.random() * 250)}`;
  const nodePort = 30000 + Math.floor(Math.random() * 2700);
  const br = `skpb${r}`;
  const table = `skiff-pt${r}`;
  const netns = [`skiff-pt-${r}-a`, `skiff-pt-${r}-b`];
  const dir = mkdtempSync(join(tmpdir(), 'skiff-proxy-'));
  const servers: ChildProcess[] = [];
  const client = new TestClient({ serviceCidr: `${svcNet}.0/24` });
  const latencies: number[] = [];
  const proxy = new ServiceProxy({
    client, tableName: table, serviceCidr: `${svcNet}.0/24`, masqueradeCidr: `${podNet}.0/24`,
    onSync: (i) => latencies.push(i.latencyMs),
  });
  try {
    sh('ip', ['link', 'add', br, 'type', 'bridge']);
    sh('ip', ['addr', 'add', `${podNet}.1/24`, 'dev', br]);
    sh('ip', ['link', 'set', br, 'up']);
    netns.forEach((ns, i) => {
      const veth = `vh${r}${i}`;
      sh('ip', ['netns', 'add', ns]);
      sh('ip', ['link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      sh('ip', ['link', 'set', veth, 'master', br, 'up']);
      // As the CNI bridge plugin's hairpinMode: with br_netfilter, a pod DNATed to itself is bridged back out of its own port.
      sh('ip', ['link', 'set', veth, 'type', 'bridge_slave', 'hairpin', 'on']);
      sh('ip', ['-n', ns, 'addr', 'add', `${podNet}.${2 + i}/24`, 'dev', 'eth0']);
      sh('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
      sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      sh('ip', ['-n', ns, 'route', 'add', 'default', 'via', `${podNet}.1`]);
      const www = join(dir, `www${i}`);
      sh('mkdir', ['-p', www]);
      writeFileSync(join(www, 'index.html'), `pod-${i}\n`);
      servers.push(spawn('ip', ['netns', 'exec', ns, 'busybox', 'httpd', '-f', '-p', '8080', '-h', www], { stdio: 'ignore' }));
    });
    const cip = `${svcNet}.10`;
    const created = await client.create<Service>(SERVICES, 'default', svc({ clusterIP: cip, type: 'LoadBalancer', ports: [{ name: 'http', port: 80, nodePort }] }));
    await client.update(SERVICES, 'default', { ...created, status: { loadBalancer: { ingress: [{ ip: lbIp }] } } }, { subresource: 'status' });
    await client.create(ENDPOINT_SLICES, 'default', slice([{ ip: `${podNet}.2` }, { ip: `${podNet}.3` }]));
    await proxy.start();
    // httpd starts in the background: wait (bounded) until both answer directly.
    for (const ip of [`${podNet}.2`, `${podNet}.3`]) {
      for (let i = 0; ; i++) { try { await get(ip, 8080); break; } catch (err) { if (i > 50) throw err; await new Promise((res) => setTimeout(res, 50)); } }
    }

    const seen = new Map<string, number>();
    for (let i = 0; i < 24; i++) { const body = await get(cip, 80); seen.set(body, (seen.get(body) ?? 0) + 1); }
    assert.deepEqual([...seen.keys()].sort(), ['pod-0', 'pod-1'], `ClusterIP balances: ${JSON.stringify([...seen])}`);
    assert.match(await get('127.0.0.1', nodePort), /^pod-[01]$/, 'NodePort on 127.0.0.1');
    assert.match(await get(lbIp, 80), /^pod-[01]$/, 'LoadBalancer ingress IP');
    // Hairpin: pod 0 reaching the service (and so, about half the time, itself).
    for (let i = 0; i < 6; i++) {
      // busybox nc, not wget: Debian's static busybox wget crashes inside a fresh namespace.
      const out = spawnSync('ip', ['netns', 'exec', netns[0], 'busybox', 'nc', '-w', '2', cip, '80'], { input: 'GET / HTTP/1.0\r\n\r\n', encoding: 'utf8', timeout: 5000 });
      assert.match(out.stdout, /^pod-[01]$/m, `from a pod through the ClusterIP: ${out.stderr}`);
    }

    // An endpoint change is programmed: afterwards only the remaining pod answers.
    const cur = client.peek<EndpointSlice>(ENDPOINT_SLICES, 'default', 'web-abcde')!;
    await client.update(ENDPOINT_SLICES, 'default', { ...cur, endpoints: cur.endpoints.slice(0, 1) });
    await programmed(proxy, (s) => s.services.some((p) => p.port === 80 && p.endpoints.length === 1));
    for (let i = 0; i < 6; i++) assert.equal(await get(cip, 80), 'pod-0');

    // No endpoints: connections are refused at once; so are unknown ports and unallocated ClusterIPs.
    const cur2 = client.peek<EndpointSlice>(ENDPOINT_SLICES, 'default', 'web-abcde')!;
    await client.update(ENDPOINT_SLICES, 'default', { ...cur2, endpoints: [] });
    await programmed(proxy, (s) => s.services.every((p) => p.endpoints.length === 0));
    for (const [h, p] of [[cip, 80], [cip, 81], [`${svcNet}.99`, 80], ['127.0.0.1', nodePort]] as const) {
      await assert.rejects(get(h, p), /ECONNREFUSED/, `${h}:${p}`);
    }
    console.log(JSON.stringify({ proxyLatencyMs: latencies }));
  } finally {
    await proxy.stop();
    for (const s of servers) s.kill();
    for (const ns of netns) spawnSync('ip', ['netns', 'del', ns]);
    spawnSync('ip', ['link', 'del', br]);
    rmSync(dir, { recursive: true, force: true });
  }
  assert.notEqual(spawnSync('nft', ['list', 'table', 'ip', table]).status, 0, 'table removed on stop');
});
