import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import dnsPacket from 'dns-packet';
import type { DecodedPacket } from 'dns-packet';
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { TestClient } from '../apiserver/testing/test-api.js';
import { ENDPOINT_SLICES, SERVICES } from '../client/resources.js';
import { ClusterDns } from './dns.js';

type R = DecodedPacket & { rcode: string };

function udpAsk(port: number, name: string, type: string): Promise<R> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    const t = setTimeout(() => { s.close(); reject(new Error(`no answer for ${name}`)); }, 3000);
    s.on('message', (m) => { clearTimeout(t); s.close(); resolve(dnsPacket.decode(m) as R); });
    s.send(dnsPacket.encode({ type: 'query', id: 4242, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type: type as 'A' }] }), port, '127.0.0.1');
  });
}

function tcpAsk(port: number, name: string, type: string): Promise<R> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.write(dnsPacket.streamEncode({ type: 'query', id: 7, questions: [{ name, type: type as 'A' }] })));
    let buf = Buffer.alloc(0);
    s.setTimeout(3000, () => { s.destroy(); reject(new Error('tcp timeout')); });
    s.on('error', reject);
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) { s.destroy(); resolve(dnsPacket.streamDecode(buf) as unknown as R); }
    });
  });
}

/** A fake upstream resolver on 127.0.0.1 answering every A query with 192.0.2.99. */
async function fakeUpstream(): Promise<{ port: number; close(): void; queries: string[] }> {
  const s = createSocket('udp4');
  const queries: string[] = [];
  s.on('message', (m, r) => {
    const q = dnsPacket.decode(m);
    queries.push(q.questions![0].name);
    s.send(dnsPacket.encode({ type: 'response', id: q.id, flags: dnsPacket.RECURSION_AVAILABLE, questions: q.questions, answers: [{ name: q.questions![0].name, type: 'A', ttl: 30, data: '192.0.2.99' }] }), r.port, r.address);
  });
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  return { port: s.address().port, close: () => s.close(), queries };
}

test('cluster DNS over UDP and TCP: services, headless, SRV, pods, NXDOMAIN, AAAA, forwarding', async () => {
  const client = new TestClient();
  const svc = (name: string, spec: Service['spec']): Service => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec });
  await client.create(SERVICES, 'default', svc('kubernetes', { clusterIP: '10.43.0.1', ports: [{ name: 'https', port: 443, protocol: 'TCP' }] }));
  await client.create(SERVICES, 'default', svc('web', { clusterIP: '10.43.0.20', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] }));
  await client.create(SERVICES, 'default', svc('db', { clusterIP: 'None', ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }] }));
  await client.create(SERVICES, 'default', svc('ext', { type: 'ExternalName', externalName: 'example.org' }));
  const slice: EndpointSlice = {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'db-x', namespace: 'default', labels: { 'kubernetes.io/service-name': 'db' } },
    addressType: 'IPv4', ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }],
    endpoints: [
      { addresses: ['10.42.0.5'], hostname: 'db-0', conditions: { ready: true } },
      { addresses: ['10.42.0.6'], conditions: { ready: true } },
      { addresses: ['10.42.0.7'], conditions: { ready: false } },
    ],
  };
  await client.create(ENDPOINT_SLICES, 'default', slice);
  const up = await fakeUpstream();
  const dns = new ClusterDns({ client, listen: { host: '127.0.0.1', port: 0 }, upstream: [`127.0.0.1:${up.port}`] });
  const { port } = await dns.start();
  try {
    const a = (r: R) => ((r.answers ?? []) as { type: string; name: string; data: unknown }[]).map((x) => `${x.type} ${x.name} ${typeof x.data === 'object' ? JSON.stringify(x.data) : x.data}`).sort();

    let r = await udpAsk(port, 'kubernetes.default.svc.cluster.local', 'A');
    assert.equal(r.id, 4242);
    assert.equal(r.rcode, 'NOERROR');
    assert.ok(r.flag_aa && r.flag_rd && r.flag_ra);
    assert.deepEqual(a(r), ['A kubernetes.default.svc.cluster.local 10.43.0.1']);
    assert.equal((r.answers![0] as { ttl?: number }).ttl, 5);

    r = await udpAsk(port, 'db.default.svc.cluster.local.', 'A');
    assert.deepEqual(a(r), ['A db.default.svc.cluster.local 10.42.0.5', 'A db.default.svc.cluster.local 10.42.0.6'], 'headless: ready pods only');
    r = await udpAsk(port, 'db-0.db.default.svc.cluster.local', 'A');
    assert.deepEqual(a(r), ['A db-0.db.default.svc.cluster.local 10.42.0.5'], 'pod hostname.subdomain');
    r = await udpAsk(port, '10-42-0-6.db.default.svc.cluster.local', 'A');
    assert.deepEqual(a(r), ['A 10-42-0-6.db.default.svc.cluster.local 10.42.0.6']);

    r = await udpAsk(port, '_http._tcp.web.default.svc.cluster.local', 'SRV');
    assert.deepEqual(a(r), ['SRV _http._tcp.web.default.svc.cluster.local {"priority":0,"weight":100,"port":80,"target":"web.default.svc.cluster.local"}']);
    assert.equal((r.additionals?.find((x) => x.type === 'A') as { data?: string } | undefined)?.data, '10.43.0.20');
    r = await udpAsk(port, '_pg._tcp.db.default.svc.cluster.local', 'SRV');
    assert.equal(r.answers!.length, 2);
    assert.ok(a(r).some((x) => x.includes('"target":"db-0.db.default.svc.cluster.local"')));

    r = await udpAsk(port, '10-42-0-9.default.pod.cluster.local', 'A');
    assert.deepEqual(a(r), ['A 10-42-0-9.default.pod.cluster.local 10.42.0.9']);
    r = await udpAsk(port, 'ext.default.svc.cluster.local', 'A');
    assert.deepEqual(a(r), ['CNAME ext.default.svc.cluster.local example.org']);

    r = await udpAsk(port, 'nope.default.svc.cluster.local', 'A');
    assert.equal(r.rcode, 'NXDOMAIN');
    assert.equal(r.authorities![0].type, 'SOA');
    r = await udpAsk(port, 'web.default.svc.cluster.local', 'AAAA');
    assert.equal(r.rcode, 'NOERROR');
    assert.deepEqual(r.answers, []);
    assert.equal(r.authorities![0].type, 'SOA');
    r = await udpAsk(port, '20.0.43.10.in-addr.arpa', 'PTR');
    assert.deepEqual(a(r), ['PTR 20.0.43.10.in-addr.arpa web.default.svc.cluster.local']);

    r = await tcpAsk(port, 'web.default.svc.cluster.local', 'A');
    assert.deepEqual(a(r), ['A web.default.svc.cluster.local 10.43.0.20'], 'over TCP');

    r = await udpAsk(port, 'www.example.com', 'A');
    assert.deepEqual(a(r), ['A www.example.com 192.0.2.99'], 'forwarded upstream');
    assert.equal(r.id, 4242);
    assert.deepEqual(up.queries, ['www.example.com']);

    // The cache follows the API: a new Service resolves without restarting.
    await client.create(SERVICES, 'default', svc('late', { clusterIP: '10.43.0.30', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] }));
    for (let i = 0; i < 50; i++) { r = await udpAsk(port, 'late.default.svc.cluster.local', 'A'); if (r.rcode === 'NOERROR') break; await new Promise((res) => setTimeout(res, 10)); }
    assert.deepEqual(a(r), ['A late.default.svc.cluster.local 10.43.0.30']);
  } finally {
    await dns.stop();
    up.close();
  }
});
