/**
 * Cluster DNS, after CoreDNS' `kubernetes` plugin (the DNS spec of
 * https://github.com/kubernetes/dns/blob/master/docs/specification.md), over UDP and TCP with
 * `dns-packet`. It reads Services and EndpointSlices through list+watch caches and answers,
 * for the cluster domain (default `cluster.local`):
 * - `svc.ns.svc.<zone>` A → the ClusterIP; for headless Services the IPs of the ready
 *   endpoints; ExternalName Services → CNAME;
 * - `_port._proto.svc.ns.svc.<zone>` SRV for named ports (headless: one per endpoint, target
 *   `host.svc.ns.svc.<zone>` with its A record as additional);
 * - `host.svc.ns.svc.<zone>` A for endpoints of headless Services, where host is the pod's
 *   hostname (pods with `hostname` + `subdomain` naming the Service) or the dashed IP;
 * - `a-b-c-d.ns.pod.<zone>` A (CoreDNS `pods insecure`);
 * - NXDOMAIN with the zone's SOA for names that do not exist, NOERROR with no answer (and the
 *   SOA) for names that exist but have no record of the asked type (AAAA on an IPv4 cluster);
 * - PTR for ClusterIPs and headless endpoints under in-addr.arpa.
 * Everything else is forwarded to the upstream resolvers (default: /etc/resolv.conf's).
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { createServer, Socket, type Server } from 'node:net';
import dnsPacket from 'dns-packet';
import type { Answer, Packet, Question } from 'dns-packet';
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { SharedInformerFactory, type Informer } from '../client/informer.js';
import { ENDPOINT_SLICES, SERVICES } from '../client/resources.js';
import type { Client, KObject } from '../client/types.js';

type Svc = Service & KObject;
type Slice = EndpointSlice & KObject;

const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
const INDEX_SERVICE = 'dns/service-name';

export interface ClusterDnsOptions {
  /** Shared informers (e.g. the agent's); or a client, from which the server makes its own. */
  informers?: SharedInformerFactory;
  client?: Client;
  /** Where to listen, UDP and TCP on the same port (default 127.0.0.1:53; port 0 picks one). */
  listen?: { host?: string; port?: number };
  clusterDomain?: string;
  /** Upstream resolvers as `ip` or `ip:port` (default: nameservers of /etc/resolv.conf). */
  upstream?: string[];
  /** TTL of cluster answers (CoreDNS default 5 s). */
  ttl?: number;
  /** How long to wait for one upstream before trying the next (default 2 s). */
  upstreamTimeoutMs?: number;
  log?: (msg: string) => void;
}

/** The nameservers of a resolv.conf, as `ip` strings. */
export function readResolvConf(path = '/etc/resolv.conf'): string[] {
  try {
    return readFileSync(path, 'utf8').split('\n').map((l) => /^\s*nameserver\s+(\S+)/.exec(l)?.[1]).filter((x): x is string => !!x && !x.includes(':'));
  } catch {
    return [];
  }
}

/** A local answer: rcode and records; undefined means "not ours, forward". */
interface Local { rcode: number; answers: Answer[]; additionals: Answer[]; authorities: Answer[] }

/** The cluster DNS server. */
export class ClusterDns {
  private readonly opts: ClusterDnsOptions;
  private readonly zone: string;
  private readonly ttl: number;
  private readonly informers: SharedInformerFactory;
  private readonly ownInformers: boolean;
  private readonly svcInf: Informer<Svc>;
  private readonly sliceInf: Informer<Slice>;
  private udp?: UdpSocket;
  private tcp?: Server;
  private readonly conns = new Set<Socket>();
  private upstreams: { host: string; port: number }[] = [];
  /** The bound address after start(). */
  address?: { host: string; port: number };

  constructor(opts: ClusterDnsOptions) {
    this.opts = opts;
    this.zone = (opts.clusterDomain ?? 'cluster.local').toLowerCase().replace(/\.$/, '');
    this.ttl = opts.ttl ?? 5;
    if (opts.informers) { this.informers = opts.informers; this.ownInformers = false; } else if (opts.client) {
      this.informers = new SharedInformerFactory(opts.client);
      this.ownInformers = true;
    } else throw new Error('ClusterDns needs informers or a client');
    this.svcInf = this.informers.informerFor<Svc>(SERVICES);
    this.sliceInf = this.informers.informerFor<Slice>(ENDPOINT_SLICES);
    this.sliceInf.addIndexer(INDEX_SERVICE, (s) => {
      const n = s.metadata?.labels?.['kubernetes.io/service-name'];
      return n ? [`${s.metadata?.namespace}/${n}`] : [];
    });
  }

  /** Binds UDP and TCP, starts the caches and resolves once they are synced. */
  async start(): Promise<{ host: string; port: number }> {
    const host = this.opts.listen?.host ?? '127.0.0.1';
    const want = this.opts.listen?.port ?? 53;
    this.svcInf.start();
    this.sliceInf.start();
    if (this.ownInformers) this.informers.start();
    // With port 0 the UDP port is picked first and TCP must get the same one; retry if it is taken.
    for (let attempt = 0; ; attempt++) {
      const udp = createSocket('udp4');
      const port = await new Promise<number>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(want, host, () => { udp.off('error', reject); resolve(udp.address().port); });
      });
      const tcp = createServer((s) => this.onTcp(s));
      try {
        await new Promise<void>((resolve, reject) => { tcp.once('error', reject); tcp.listen(port, host, () => { tcp.off('error', reject); resolve(); }); });
      } catch (err) {
        udp.close();
        if (want !== 0 || attempt > 5) throw err;
        continue;
      }
      udp.on('message', (msg, rinfo) => { void this.onUdp(msg, rinfo.address, rinfo.port); });
      udp.on('error', (err) => this.opts.log?.(`dns: udp: ${err.message}`));
      this.udp = udp;
      this.tcp = tcp;
      this.address = { host, port };
      break;
    }
    const self = `${host}:${this.address.port}`;
    this.upstreams = (this.opts.upstream ?? readResolvConf()).map((u) => {
      const m = /^(.+?)(?::(\d+))?$/.exec(u)!;
      return { host: m[1], port: m[2] ? Number(m[2]) : 53 };
    }).filter((u) => `${u.host}:${u.port}` !== self); // never forward to ourselves
    await Promise.all([this.svcInf.waitForSync(), this.sliceInf.waitForSync()]);
    return this.address;
  }

  async stop(): Promise<void> {
    this.udp?.close();
    for (const c of this.conns) c.destroy();
    await new Promise<void>((r) => (this.tcp ? this.tcp.close(() => r()) : r()));
    if (this.ownInformers) this.informers.stop();
  }

  private async onUdp(msg: Buffer, address: string, port: number): Promise<void> {
    const out = await this.handle(msg, 'udp');
    if (out) this.udp?.send(out, port, address);
  }

  private onTcp(s: Socket): void {
    this.conns.add(s);
    s.on('close', () => this.conns.delete(s));
    s.on('error', () => s.destroy());
    s.setTimeout(10_000, () => s.destroy());
    let buf = Buffer.alloc(0);
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      // Several queries may share a connection; each is a 2-byte length then the message (RFC 7766).
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const len = buf.readUInt16BE(0);
        const msg = buf.subarray(2, 2 + len);
        buf = buf.subarray(2 + len);
        void this.handle(msg, 'tcp').then((out) => {
          if (!out || s.destroyed) return;
          const len2 = Buffer.alloc(2);
          len2.writeUInt16BE(out.length);
          s.write(Buffer.concat([len2, out]));
        });
      }
    });
  }

  /** Answers one wire-format query; undefined when it cannot even be parsed. */
  async handle(msg: Buffer, transport: 'udp' | 'tcp'): Promise<Buffer | undefined> {
    let q: Packet;
    try { q = dnsPacket.decode(msg); } catch { return undefined; }
    if (q.type === 'response') return undefined;
    const question = q.questions?.[0];
    const rd = (q.flags ?? 0) & dnsPacket.RECURSION_DESIRED;
    const opt = q.additionals?.find((a) => a.type === 'OPT') as { udpPayloadSize?: number } | undefined;
    const reply = (rcode: number, local?: Local, aa = true): Buffer => {
      const p: Packet = {
        type: 'response', id: q.id, flags: (aa ? dnsPacket.AUTHORITATIVE_ANSWER : 0) | rd | dnsPacket.RECURSION_AVAILABLE | rcode,
        questions: q.questions ?? [], answers: local?.answers ?? [], authorities: local?.authorities ?? [],
        additionals: [...(local?.additionals ?? []), ...(opt ? [{ type: 'OPT', name: '.', udpPayloadSize: 1232 } as Answer] : [])],
      };
      let out = dnsPacket.encode(p);
      const max = transport === 'tcp' ? 65535 : Math.max(512, opt?.udpPayloadSize ?? 512);
      if (out.length > max) {
        // Too big for this transport: truncate, the client retries over TCP.
        out = dnsPacket.encode({ ...p, flags: (p.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE, answers: [], authorities: [], additionals: [] });
      }
      return out;
    };
    if (!question || (q.questions?.length ?? 0) !== 1) return reply(RCODE.FORMERR, undefined, false);
    let local: Local | undefined;
    try { local = this.resolve(question); } catch (err) {
      this.opts.log?.(`dns: ${question.name}: ${(err as Error).message}`);
      return reply(RCODE.SERVFAIL);
    }
    if (local) return reply(local.rcode, local);
    // Not a cluster name: forward the query as it came and relay the answer.
    const fwd = await this.forward(msg, transport);
    if (fwd) return fwd;
    return reply(RCODE.SERVFAIL, undefined, false);
  }

  private async forward(msg: Buffer, transport: 'udp' | 'tcp'): Promise<Buffer | undefined> {
    const timeout = this.opts.upstreamTimeoutMs ?? 2000;
    for (const u of this.upstreams) {
      try {
        const out = transport === 'tcp' ? await tcpQuery(u.host, u.port, msg, timeout) : await udpQuery(u.host, u.port, msg, timeout);
        if (out) return out;
      } catch (err) {
        this.opts.log?.(`dns: upstream ${u.host}:${u.port}: ${(err as Error).message}`);
      }
    }
    return undefined;
  }

  /** The local answer for one question, or undefined when the name is not the cluster's. */
  resolve(question: Question): Local | undefined {
    const name = question.name.toLowerCase().replace(/\.$/, '');
    const type: string = question.type; // 'ANY' is on the wire but not in the typings
    if (name.endsWith('.in-addr.arpa')) return this.reverse(name, type);
    if (name !== this.zone && !name.endsWith(`.${this.zone}`)) return undefined;
    const labels = name === this.zone ? [] : name.slice(0, -(this.zone.length + 1)).split('.');
    const soa = this.soa();
    const nx: Local = { rcode: RCODE.NXDOMAIN, answers: [], additionals: [], authorities: [soa] };
    const nodata: Local = { rcode: RCODE.NOERROR, answers: [], additionals: [], authorities: [soa] };
    const ok = (answers: Answer[], additionals: Answer[] = []): Local =>
      (answers.length ? { rcode: RCODE.NOERROR, answers, additionals, authorities: [] } : nodata);

    if (labels.length === 0) {
      if (type === 'SOA') return ok([soa]);
      if (type === 'NS') return ok([{ name: this.zone, type: 'NS', ttl: this.ttl, data: `ns.dns.${this.zone}` }]);
      return nodata;
    }
    const kind = labels[labels.length - 1];
    if (kind === 'pod') {
      // a-b-c-d.ns.pod.zone: the IP is in the name (CoreDNS "pods insecure").
      if (labels.length !== 3) return labels.length < 3 ? nodata : nx;
      const ip = labels[0].replace(/-/g, '.');
      if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(ip) || ip.split('.').some((o) => Number(o) > 255)) return nx;
      return type === 'A' || type === 'ANY' ? ok([{ name, type: 'A', ttl: this.ttl, data: ip }]) : nodata;
    }
    if (kind !== 'svc') return nx;
    if (labels.length === 1) return nodata;
    if (labels.length === 2) return this.svcInf.list(labels[0]).length ? nodata : nx;

    if (labels.length === 5 && labels[0].startsWith('_') && labels[1].startsWith('_')) {
      const svc = this.svcInf.get(labels[3], labels[2]);
      if (!svc) return nx;
      const portName = labels[0].slice(1);
      const proto = labels[1].slice(1).toUpperCase();
      const srv = this.srv(svc, (p) => p.name === portName && p.protocol === proto);
      if (!srv) return nx;
      return type === 'SRV' || type === 'ANY' ? ok(srv.answers, srv.additionals) : nodata;
    }
    if (labels.length === 3) {
      const svc = this.svcInf.get(labels[1], labels[0]);
      if (!svc) return nx;
      const spec = svc.spec ?? {};
      if (spec.type === 'ExternalName' && spec.externalName) {
        return ok([{ name, type: 'CNAME', ttl: this.ttl, data: spec.externalName.replace(/\.$/, '') }]);
      }
      if (type === 'SRV') {
        const srv = this.srv(svc, (p) => !!p.name);
        return srv ? ok(srv.answers, srv.additionals) : nodata;
      }
      if (type !== 'A' && type !== 'ANY') return nodata;
      if (spec.clusterIP && spec.clusterIP !== 'None') return ok([{ name, type: 'A', ttl: this.ttl, data: spec.clusterIP }]);
      const ips = [...new Set(this.endpoints(svc).map((e) => e.ip))];
      return ok(ips.map((ip) => ({ name, type: 'A', ttl: this.ttl, data: ip }) as Answer));
    }
    if (labels.length === 4) {
      // host.svc.ns.svc.zone: an endpoint of a headless Service.
      const svc = this.svcInf.get(labels[2], labels[1]);
      if (!svc || svc.spec?.clusterIP !== 'None') return nx;
      const ips = [...new Set(this.endpoints(svc).filter((e) => e.host === labels[0]).map((e) => e.ip))];
      if (!ips.length) return nx;
      return type === 'A' || type === 'ANY' ? ok(ips.map((ip) => ({ name, type: 'A', ttl: this.ttl, data: ip }) as Answer)) : nodata;
    }
    return nx;
  }

  /** Ready endpoints of a Service with their DNS host label and ports. */
  private endpoints(svc: Svc): { ip: string; host: string; ports: { name: string; protocol: string; port: number }[] }[] {
    const out: { ip: string; host: string; ports: { name: string; protocol: string; port: number }[] }[] = [];
    for (const s of this.sliceInf.byIndex(INDEX_SERVICE, `${svc.metadata?.namespace}/${svc.metadata?.name}`)) {
      if (s.addressType && s.addressType !== 'IPv4') continue;
      const ports = (s.ports ?? []).map((p) => ({ name: p.name ?? '', protocol: p.protocol ?? 'TCP', port: p.port ?? 0 }));
      for (const e of s.endpoints ?? []) {
        // The controller already counts publishNotReadyAddresses as ready.
        if (e.conditions?.ready === false) continue;
        for (const ip of e.addresses ?? []) out.push({ ip, host: (e.hostname ?? ip.replace(/\./g, '-')).toLowerCase(), ports });
      }
    }
    return out;
  }

  private srv(svc: Svc, match: (p: { name?: string; protocol: string }) => boolean): { answers: Answer[]; additionals: Answer[] } | undefined {
    const ns = svc.metadata!.namespace!;
    const base = `${svc.metadata!.name}.${ns}.svc.${this.zone}`;
    const svcPorts = (svc.spec?.ports ?? []).filter((p) => match({ name: p.name, protocol: p.protocol ?? 'TCP' }));
    if (!svcPorts.length) return undefined;
    const answers: Answer[] = [];
    const additionals: Answer[] = [];
    for (const sp of svcPorts) {
      const rr = `_${sp.name}._${(sp.protocol ?? 'TCP').toLowerCase()}.${base}`;
      if (svc.spec?.clusterIP && svc.spec.clusterIP !== 'None') {
        answers.push({ name: rr, type: 'SRV', ttl: this.ttl, data: { priority: 0, weight: 100, port: sp.port, target: base } });
        additionals.push({ name: base, type: 'A', ttl: this.ttl, data: svc.spec.clusterIP });
        continue;
      }
      const eps = this.endpoints(svc);
      for (const e of eps) {
        const p = e.ports.find((x) => x.name === (sp.name ?? '') && x.protocol === (sp.protocol ?? 'TCP'));
        if (!p) continue;
        const target = `${e.host}.${base}`;
        // Equal weights that add up to 100, as CoreDNS does.
        answers.push({ name: rr, type: 'SRV', ttl: this.ttl, data: { priority: 0, weight: Math.max(1, Math.floor(100 / eps.length)), port: p.port, target } });
        additionals.push({ name: target, type: 'A', ttl: this.ttl, data: e.ip });
      }
    }
    return { answers, additionals };
  }

  private reverse(name: string, type: string): Local | undefined {
    const octets = name.slice(0, -'.in-addr.arpa'.length).split('.');
    if (octets.length !== 4) return undefined;
    const ip = octets.reverse().join('.');
    const names: string[] = [];
    for (const s of this.svcInf.list()) {
      const base = `${s.metadata!.name}.${s.metadata!.namespace}.svc.${this.zone}`;
      if (s.spec?.clusterIP === ip) names.push(base);
      else if (s.spec?.clusterIP === 'None') for (const e of this.endpoints(s)) if (e.ip === ip) names.push(`${e.host}.${base}`);
    }
    // Addresses that are not the cluster's go to the upstream resolvers.
    if (!names.length) return undefined;
    if (type !== 'PTR' && type !== 'ANY') return { rcode: RCODE.NOERROR, answers: [], additionals: [], authorities: [] };
    return { rcode: RCODE.NOERROR, answers: names.map((n) => ({ name, type: 'PTR', ttl: this.ttl, data: n }) as Answer), additionals: [], authorities: [] };
  }

  private soa(): Answer {
    return {
      name: this.zone, type: 'SOA', ttl: this.ttl,
      data: {
        mname: `ns.dns.${this.zone}`, rname: `hostmaster.${this.zone}`,
        // CoreDNS uses a time-based serial; a cache's changes are what matter, so seconds will do.
        serial: Math.floor(Date.now() / 1000) >>> 0, refresh: 7200, retry: 1800, expire: 86400, minimum: this.ttl,
      },
    };
  }
}

function udpQuery(host: string, port: number, msg: Buffer, timeoutMs: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    const id = msg.readUInt16BE(0);
    const t = setTimeout(() => { s.close(); resolve(undefined); }, timeoutMs);
    s.on('error', (err) => { clearTimeout(t); s.close(); reject(err); });
    s.on('message', (out) => {
      if (out.length < 2 || out.readUInt16BE(0) !== id) return; // not our answer
      clearTimeout(t);
      s.close();
      resolve(out);
    });
    s.send(msg, port, host);
  });
}

function tcpQuery(host: string, port: number, msg: Buffer, timeoutMs: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const s = new Socket();
    s.setTimeout(timeoutMs, () => { s.destroy(); resolve(undefined); });
    s.on('error', reject);
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) { s.destroy(); resolve(buf.subarray(2, 2 + buf.readUInt16BE(0))); }
    });
    s.connect(port, host, () => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(msg.length);
      s.write(Buffer.concat([len, msg]));
    });
  });
}
