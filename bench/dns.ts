/**
 * dns: cluster DNS throughput. 200 Services (one headless with 50 endpoints) in an in-process API server;
 * 64 queries in flight over UDP from one local socket, 40,000 queries or 10 s, whichever comes
 * first, mixing ClusterIP A lookups, headless A lookups, SRV and NXDOMAIN.
 * Prints {"bench":"dns", qps, p50_ms, p99_ms, ...}.
 */
import { createSocket } from 'node:dgram';
import dnsPacket from 'dns-packet';
import { TestClient } from '../src/apiserver/testing/test-api.js';
import { ENDPOINT_SLICES, SERVICES } from '../src/client/resources.js';
import { ClusterDns } from '../src/network/dns.js';
import { percentile, round } from './support.js';

const TOTAL = Number(process.env.QUERIES ?? 40_000);
const IN_FLIGHT = 64;
const MAX_MS = 10_000;

const client = new TestClient();
for (let i = 0; i < 200; i++) {
  await client.create(SERVICES, 'default', { metadata: { name: `svc-${i}`, namespace: 'default' }, spec: { clusterIP: `10.43.1.${i + 1}`, ports: [{ name: 'http', port: 80, protocol: 'TCP' }] } });
}
await client.create(SERVICES, 'default', { metadata: { name: 'hl', namespace: 'default' }, spec: { clusterIP: 'None', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] } });
await client.create(ENDPOINT_SLICES, 'default', {
  metadata: { name: 'hl-x', namespace: 'default', labels: { 'kubernetes.io/service-name': 'hl' } }, addressType: 'IPv4', ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  endpoints: Array.from({ length: 50 }, (_, i) => ({ addresses: [`10.42.0.${i + 2}`], conditions: { ready: true } })),
});
const dns = new ClusterDns({ client, listen: { host: '127.0.0.1', port: 0 }, upstream: [] });
const { port } = await dns.start();

const names: [string, string][] = [];
for (let i = 0; i < 200; i++) names.push([`svc-${i}.default.svc.cluster.local`, 'A']);
names.push(['hl.default.svc.cluster.local', 'A'], ['_http._tcp.svc-7.default.svc.cluster.local', 'SRV'], ['missing.default.svc.cluster.local', 'A']);

const sock = createSocket('udp4');
const pending = new Map<number, { t: number; resolve: () => void }>();
sock.on('message', (m) => {
  const id = m.readUInt16BE(0);
  const p = pending.get(id);
  if (p) { pending.delete(id); lat.push(performance.now() - p.t); p.resolve(); }
});
await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
const lat: number[] = [];
let sent = 0;
let lost = 0;
const start = performance.now();
let nextId = 0;
async function worker(): Promise<void> {
  while (sent < TOTAL && performance.now() - start < MAX_MS) {
    const [name, type] = names[sent++ % names.length];
    const id = (nextId = (nextId + 1) & 0xffff);
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => { if (pending.delete(id)) lost++; resolve(); }, 1000);
      pending.set(id, { t: performance.now(), resolve: () => { clearTimeout(t); resolve(); } });
      sock.send(dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type: type as 'A' }] }), port, '127.0.0.1');
    });
  }
}
await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
const secs = (performance.now() - start) / 1000;
sock.close();
await dns.stop();
lat.sort((a, b) => a - b);
console.log(JSON.stringify({ bench: 'dns', queries: lat.length, lost, in_flight: IN_FLIGHT, qps: round(lat.length / secs), p50_ms: round(percentile(lat, 50)), p99_ms: round(percentile(lat, 99)) }));
process.exit(0);
