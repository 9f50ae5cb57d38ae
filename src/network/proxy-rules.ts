/**
 * nftables rule generation for the service proxy, after kube-proxy's nftables mode
 * (pkg/proxy/nftables/proxier.go). Pure functions: a {@link ProxyState} in, nft text out.
 *
 * Shape of the table (family ip, one per cluster):
 * - verdict maps keyed by `daddr . l4proto . dport` (`service-ips`: ClusterIPs and
 *   LoadBalancer ingress IPs) and `l4proto . dport` (`service-nodeports`: NodePorts on any
 *   local address, 127.0.0.1 included), consulted from nat prerouting (traffic from pods and
 *   the outside) and nat output (traffic from the host);
 * - per service port a `service-…` chain choosing an endpoint with `numgen random mod N`
 *   (ClientIP affinity first looks the client up in per-endpoint dynamic sets), an
 *   `external-…` chain for NodePort/LoadBalancer traffic that marks it for masquerade, and per
 *   endpoint an `endpoint-…` chain that DNATs (masquerading a pod that reaches itself: hairpin);
 * - filter chains that reject (ICMP port-unreachable → ECONNREFUSED) new connections to
 *   services without usable endpoints, to unknown ports of ClusterIPs and to unallocated
 *   addresses of the service CIDR, and that drop non-local traffic to 127.0.0.0/8 (needed
 *   once route_localnet=1, the CVE-2020-8558 guard kube-proxy installs too);
 * - nat postrouting masquerades packets carrying the masquerade mark.
 */
import { createHash } from 'node:crypto';

/** One endpoint a service port can send to. */
export interface ProxyEndpoint { ip: string; port: number }

/** One port of one Service, resolved to what the proxy programs. */
export interface ProxyServicePort {
  namespace: string;
  name: string;
  /** The Service port's name ('' when unnamed). */
  portName: string;
  protocol: 'TCP' | 'UDP' | 'SCTP';
  /** ClusterIP (absent for headless Services, which the proxy ignores). */
  clusterIP?: string;
  port: number;
  nodePort?: number;
  /** status.loadBalancer.ingress[].ip and spec.externalIPs. */
  externalIPs?: string[];
  /** Set when sessionAffinity is ClientIP. */
  affinityTimeoutSeconds?: number;
  /** Endpoints traffic may go to (ready ones, else serving terminating ones); empty → reject. */
  endpoints: ProxyEndpoint[];
}

export interface ProxyState {
  /** Name of the nft table (family ip), e.g. `skiff-<cluster>`. */
  table: string;
  /** Service CIDR: unallocated addresses in it are rejected. */
  serviceCidr: string;
  /** Pod CIDR: traffic from outside it to a ClusterIP is masqueraded. */
  masqueradeCidr?: string;
  services: ProxyServicePort[];
}

/** Packet mark meaning "masquerade in postrouting" (kube-proxy's 0x4000). */
export const MASQ_MARK = '0x00004000';

const PRI_FILTER = -110; // dstnat - 10: before nat output, so the original daddr is seen
const PRI_POST_DNAT = -90; // dstnat + 10: after nat output

/** Base chains: name → hook spec. Fixed; their rules are regenerated every sync. */
const BASE_CHAINS: Record<string, string> = {
  'filter-input': `type filter hook input priority ${PRI_FILTER}; policy accept;`,
  'filter-forward': `type filter hook forward priority ${PRI_FILTER}; policy accept;`,
  'filter-output': `type filter hook output priority ${PRI_FILTER}; policy accept;`,
  'filter-output-post-dnat': `type filter hook output priority ${PRI_POST_DNAT}; policy accept;`,
  'nat-prerouting': 'type nat hook prerouting priority dstnat; policy accept;',
  'nat-output': 'type nat hook output priority -100; policy accept;',
  'nat-postrouting': 'type nat hook postrouting priority srcnat; policy accept;',
};

/** Verdict maps and plain sets refilled on every sync (affinity sets are kept). */
const MAPS: Record<string, string> = {
  'service-ips': 'type ipv4_addr . inet_proto . inet_service : verdict;',
  'service-nodeports': 'type inet_proto . inet_service : verdict;',
  'no-endpoint-services': 'type ipv4_addr . inet_proto . inet_service : verdict;',
  'no-endpoint-nodeports': 'type inet_proto . inet_service : verdict;',
  'cluster-ips': 'type ipv4_addr;',
};

/** A short stable hash, as kube-proxy's hashAndTruncate (base32 of sha256). */
function hash(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 8).toUpperCase();
}

const proto = (p: ProxyServicePort) => p.protocol.toLowerCase();
const spName = (p: ProxyServicePort) => `${p.namespace}/${p.name}/${proto(p)}/${p.portName}`;
/** Chain names are readable but hashed, so any namespace/name fits nft's identifier rules. */
export function serviceChain(p: ProxyServicePort): string { return `service-${hash(spName(p))}-${safe(spName(p))}`; }
export function externalChain(p: ProxyServicePort): string { return `external-${hash(spName(p))}-${safe(spName(p))}`; }
export function endpointChain(p: ProxyServicePort, e: ProxyEndpoint): string { return `endpoint-${hash(`${spName(p)}__${e.ip}/${e.port}`)}-${safe(spName(p))}__${e.ip}/${e.port}`; }
/** Affinity sets carry the timeout in their hash: a set's timeout cannot be changed in place. */
export function affinitySet(p: ProxyServicePort, e: ProxyEndpoint): string { return `affinity-${hash(`${spName(p)}__${e.ip}/${e.port}/${p.affinityTimeoutSeconds}`)}`; }
const safe = (s: string) => s.replace(/[^a-zA-Z0-9/_.-]/g, '_').slice(0, 200);
const q = (s: string) => s; // nft 1.0 takes no quoted chain names: names are kept to identifier characters instead

/** What a rendered ruleset defines, to flush or delete on the next sync. */
export interface RenderedObjects { chains: string[]; sets: string[] }

/**
 * The complete declarative definition of the table for `state` (`table ip T { … }`).
 * Loading it into an empty table yields exactly the desired rules.
 */
export function renderRuleset(state: ProxyState): string {
  return render(state).text;
}

function render(state: ProxyState): { text: string; objects: RenderedObjects } {
  const chains = new Map<string, string[]>();
  const chain = (name: string) => { let r = chains.get(name); if (!r) chains.set(name, (r = [])); return r; };
  for (const c of Object.keys(BASE_CHAINS)) chain(c);
  const elements = new Map<string, string[]>(Object.keys(MAPS).map((m) => [m, []]));
  const affinity: { name: string; timeout: number }[] = [];

  // Base chains.
  chain('filter-input').push(
    // With route_localnet=1 the host would accept packets for 127/8 from the network; refuse them (CVE-2020-8558).
    `ip daddr 127.0.0.0/8 ip saddr != 127.0.0.0/8 ct state != { established, related } ct status & dnat != dnat drop`,
    'ct state new jump nodeport-endpoints-check',
    'ct state new jump service-endpoints-check',
  );
  chain('filter-forward').push('ct state new jump service-endpoints-check', 'ct state new jump cluster-ips-check');
  chain('filter-output').push('ct state new jump service-endpoints-check', 'ct state new jump nodeport-endpoints-check');
  // After nat output, traffic to a valid service has a pod address; what still targets the service CIDR is invalid.
  chain('filter-output-post-dnat').push('ct state new jump cluster-ips-check');
  // Several clusters on one host share the prerouting hook, and their service CIDRs may overlap
  // (every `skiff up` defaults to 10.43.0.0/16: 10.43.0.1 and the DNS at 10.43.0.10 exist in each).
  // Whichever table DNATs first wins, so a pod's ClusterIP traffic is left to the table of its own
  // cluster: this one handles ClusterIPs for its pod CIDR (and, in nat output, for the host);
  // other sources reach Services through NodePorts and LoadBalancer IPs.
  if (state.masqueradeCidr) chain('nat-prerouting').push(`ip daddr ${state.serviceCidr} ip saddr != ${state.masqueradeCidr} return`);
  chain('nat-prerouting').push('jump services');
  chain('nat-output').push('jump services');
  chain('nat-postrouting').push('jump masquerading');

  chain('service-endpoints-check').push('ip daddr . meta l4proto . th dport vmap @no-endpoint-services');
  chain('nodeport-endpoints-check').push('fib daddr type local meta l4proto . th dport vmap @no-endpoint-nodeports');
  chain('cluster-ips-check').push(
    'ip daddr @cluster-ips reject comment "invalid port of a ClusterIP"',
    `ip daddr ${state.serviceCidr} reject comment "unallocated ClusterIP"`,
  );
  chain('services').push(
    'ip daddr . meta l4proto . th dport vmap @service-ips',
    'fib daddr type local meta l4proto . th dport vmap @service-nodeports',
  );
  chain('masquerading').push(
    `meta mark & ${MASQ_MARK} == 0 return`,
    // Clear the mark so a packet that is re-routed (e.g. tunnelled) is not masqueraded twice.
    `meta mark set meta mark ^ ${MASQ_MARK}`,
    'masquerade fully-random',
  );
  chain('mark-for-masquerade').push(`meta mark set meta mark | ${MASQ_MARK}`);
  chain('reject-chain').push('reject');

  const sorted = [...state.services].filter((p) => p.clusterIP && p.clusterIP !== 'None')
    .sort((a, b) => spName(a).localeCompare(spName(b)));
  const clusterIps = new Set<string>();
  for (const p of sorted) {
    const pr = proto(p);
    const cip = p.clusterIP!;
    clusterIps.add(cip);
    const ext = [...new Set(p.externalIPs ?? [])];
    if (p.endpoints.length === 0) {
      elements.get('no-endpoint-services')!.push(`${cip} . ${pr} . ${p.port} : goto reject-chain`);
      for (const ip of ext) elements.get('no-endpoint-services')!.push(`${ip} . ${pr} . ${p.port} : goto reject-chain`);
      if (p.nodePort) elements.get('no-endpoint-nodeports')!.push(`${pr} . ${p.nodePort} : goto reject-chain`);
      continue;
    }
    const svcChain = serviceChain(p);
    elements.get('service-ips')!.push(`${cip} . ${pr} . ${p.port} : goto ${q(svcChain)}`);
    const rules = chain(svcChain);
    if (state.masqueradeCidr) {
      // Loopback sources cannot leave the host: always rewrite them. Other addresses of this
      // host need no rewrite (replies to them come back through the pod's gateway, this host),
      // and skipping it keeps the client's port choice: masquerading short connections picks
      // random ports that collide with TIME_WAIT ones in the pod and stall new connections.
      rules.push(`ip daddr ${cip} ip saddr 127.0.0.0/8 jump mark-for-masquerade`);
      rules.push(`ip daddr ${cip} ip saddr != ${state.masqueradeCidr} fib saddr type != local jump mark-for-masquerade`);
    }
    const eps = [...p.endpoints].sort((a, b) => `${a.ip}:${a.port}`.localeCompare(`${b.ip}:${b.port}`));
    if (p.affinityTimeoutSeconds) {
      for (const e of eps) rules.push(`ip saddr @${affinitySet(p, e)} goto ${q(endpointChain(p, e))}`);
    }
    if (eps.length === 1) rules.push(`goto ${q(endpointChain(p, eps[0]))}`);
    else rules.push(`numgen random mod ${eps.length} vmap { ${eps.map((e, i) => `${i} : goto ${q(endpointChain(p, e))}`).join(', ')} }`);
    for (const e of eps) {
      const er = chain(endpointChain(p, e));
      // Hairpin: a pod reaching itself through the service must see another source, or it answers itself.
      er.push(`ip saddr ${e.ip} jump mark-for-masquerade`);
      if (p.affinityTimeoutSeconds) {
        const set = affinitySet(p, e);
        affinity.push({ name: set, timeout: p.affinityTimeoutSeconds });
        er.push(`update @${set} { ip saddr }`);
      }
      er.push(`meta l4proto ${pr} dnat to ${e.ip}:${e.port}`);
    }
    if (p.nodePort || ext.length) {
      const xc = externalChain(p);
      // External traffic (policy Cluster) is masqueraded so replies come back through this node.
      chain(xc).push('jump mark-for-masquerade', `goto ${q(svcChain)}`);
      if (p.nodePort) elements.get('service-nodeports')!.push(`${pr} . ${p.nodePort} : goto ${q(xc)}`);
      for (const ip of ext) elements.get('service-ips')!.push(`${ip} . ${pr} . ${p.port} : goto ${q(xc)}`);
    }
  }
  for (const ip of [...clusterIps].sort()) elements.get('cluster-ips')!.push(ip);

  const lines: string[] = [`table ip ${state.table} {`];
  for (const [m, type] of Object.entries(MAPS)) {
    const kind = type.includes(': verdict') ? 'map' : 'set';
    const els = [...new Set(elements.get(m)!)];
    lines.push(`\t${kind} ${m} {`, `\t\t${type}`);
    if (els.length) lines.push(`\t\telements = { ${els.join(',\n\t\t\t')} }`);
    lines.push('\t}');
  }
  const seenAff = new Set<string>();
  for (const a of affinity) {
    if (seenAff.has(a.name)) continue;
    seenAff.add(a.name);
    lines.push(`\tset ${a.name} {`, '\t\ttype ipv4_addr;', '\t\tflags dynamic,timeout;', `\t\ttimeout ${a.timeout}s;`, '\t}');
  }
  for (const [name, rules] of chains) {
    lines.push(`\tchain ${q(name)} {`);
    if (BASE_CHAINS[name]) lines.push(`\t\t${BASE_CHAINS[name]}`);
    for (const r of rules) lines.push(`\t\t${r}`);
    lines.push('\t}');
  }
  lines.push('}');
  return { text: lines.join('\n') + '\n', objects: { chains: [...chains.keys()], sets: [...Object.keys(MAPS), ...seenAff] } };
}

/**
 * One atomic `nft -f` transaction taking the table from `previous` (what the last successful
 * sync defined; undefined = unknown, so the table is recreated) to `state`. Chains and maps
 * are flushed and refilled, objects no longer wanted are deleted, and the ClientIP affinity
 * sets that survive keep their entries (recreating the table would forget every client).
 */
export function renderTransaction(state: ProxyState, previous?: RenderedObjects): { text: string; objects: RenderedObjects } {
  const { text, objects } = render(state);
  const t = state.table;
  const out: string[] = [`add table ip ${t}`];
  if (!previous) out.push(`delete table ip ${t}`);
  else {
    for (const c of previous.chains) out.push(`flush chain ip ${t} ${q(c)}`);
    for (const m of Object.keys(MAPS)) if (previous.sets.includes(m)) out.push(`flush ${MAPS[m].includes(': verdict') ? 'map' : 'set'} ip ${t} ${m}`);
  }
  out.push(text.trimEnd());
  if (previous) {
    const want = new Set(objects.chains);
    for (const c of previous.chains) if (!want.has(c)) out.push(`delete chain ip ${t} ${q(c)}`);
    const wantSets = new Set(objects.sets);
    for (const s of previous.sets) if (!wantSets.has(s)) out.push(`delete set ip ${t} ${s}`);
  }
  return { text: out.join('\n') + '\n', objects };
}
