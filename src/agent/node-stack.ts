/**
 * Everything that runs on a node: the agent (pods on runc), the service proxy (nftables) and
 * the cluster DNS server, plus the pieces that tie them together — the pod bridge with its
 * gateway address (where DNS listens), the kube-dns Service pointing at it, registry pulls with
 * imagePullSecrets, and service-account tokens through the TokenRequest API.
 */
import { CommandError, runSync } from '../util/exec.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { isReason } from '../api/errors.js';
import { ENDPOINT_SLICES, SECRETS, SERVICES, SERVICE_ACCOUNTS } from '../client/resources.js';
import type { Client, KObject } from '../client/types.js';
import { ClusterDns } from '../network/dns.js';
import { ServiceProxy } from '../network/proxy.js';
import { pullImage } from '../image/registry/client.js';
import { ImageStore } from '../image/store.js';
import { parseCidr, ipToString, nthAddress } from '../api/cidr.js';
import { Agent, type AgentOptions } from './agent.js';
import { awaitPodCidr } from './pod-cidr.js';
import { HostGwRouter } from '../network/host-gw.js';

import type { Obj } from '../api/registry.js';

export interface NodeStackOptions extends Omit<AgentOptions, 'pullImage' | 'serviceAccountToken' | 'clusterDns' | 'podCidr'> {
  /** This node's pod range; without it the node waits for the one the control plane assigns (spec.podCIDR). */
  podCidr?: string;
  /** Program routes to the other nodes' pod ranges via their InternalIPs (host-gw); default off. */
  hostGw?: boolean;
  /** The cluster's service CIDR; the DNS Service gets its 10th address. */
  serviceCidr: string;
  /** Name of this node's nftables table. */
  proxyTable: string;
  /** Run cluster DNS here and point kube-dns at it (one node per cluster does this). */
  runDns?: boolean;
  /**
   * The client of the service proxy and cluster DNS (a node-proxier identity, which reads every
   * Service and EndpointSlice and publishes kube-dns); default `client`, the node's own.
   */
  proxyClient?: Client;
  /**
   * Who creates the kube-dns Service and its EndpointSlice (a control-plane act: kube-proxy's
   * role may not create Services); default `proxyClient`.
   */
  dnsPublisherClient?: Client;
}

export interface NodeStack {
  agent: Agent;
  proxy: ServiceProxy;
  dns?: ClusterDns;
  /** The pod bridge's address: how pods reach this host (DNS, the API server). */
  gatewayIp: string;
  /** This node's pod range (given, or assigned by the control plane). */
  podCidr: string;
  /** The host-gw routes to other nodes, when enabled. */
  hostGw?: HostGwRouter;
  stop(): Promise<void>;
}

/** The gateway (first) address of a pod CIDR and its prefix length. */
function gatewayOf(cidr: string): { ip: string; prefix: number } {
  const { base, prefix } = parseCidr(cidr);
  return { ip: ipToString(base + 1), prefix };
}

/** Creates the pod bridge with its gateway address now, so DNS can listen on it before any pod exists. */
function ensureBridge(bridge: string, cidr: string): string {
  const gw = gatewayOf(cidr);
  const ip = (...args: string[]) => {
    const r = runSync('ip', args);
    if (r.code !== 0) throw new CommandError('ip', args, r);
  };
  try {
    ip('link', 'add', bridge, 'type', 'bridge');
  } catch {
    /* exists */
  }
  ip('addr', 'replace', `${gw.ip}/${gw.prefix}`, 'dev', bridge);
  ip('link', 'set', bridge, 'up');
  return gw.ip;
}

/** Registry pulls for the agent: anonymous, docker config, or the pod's imagePullSecrets. */
function registryPuller(client: Client, images: ImageStore, dataDir: string, log: (m: string) => void) {
  return async (ref: string, secrets: { name: string }[], namespace: string): Promise<void> => {
    const configs: (string | undefined)[] = [];
    for (const s of secrets) {
      try {
        const secret = await client.get<Obj>(SECRETS, namespace, s.name);
        const data = secret.data?.['.dockerconfigjson'] ?? secret.data?.['.dockercfg'];
        if (!data) continue;
        const dir = join(dataDir, 'pull-secrets');
        mkdirSync(dir, { recursive: true, mode: 0o700 });
        const path = join(dir, `${namespace}-${s.name}.json`);
        let json = Buffer.from(data, 'base64').toString('utf8');
        if (secret.data['.dockercfg'] && !secret.data['.dockerconfigjson']) json = JSON.stringify({ auths: JSON.parse(json) });
        writeFileSync(path, json, { mode: 0o600 });
        configs.push(path);
      } catch (err) {
        log(`imagePullSecret ${namespace}/${s.name}: ${(err as Error).message}`);
      }
    }
    if (!configs.length) configs.push(undefined);
    let last: unknown;
    for (const dockerConfig of configs) {
      try {
        await pullImage(images, ref, { dockerConfig, retries: 2, log });
        return;
      } catch (err) {
        last = err;
      }
    }
    throw last;
  };
}

/** Ensures kube-system/kube-dns: a selector-less Service at the DNS IP whose EndpointSlice points at `ip`. */
async function publishDns(client: Client, dnsIp: string, ip: string, port: number): Promise<void> {
  const svc = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'kube-dns', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns', 'kubernetes.io/name': 'CoreDNS' } },
    spec: {
      clusterIP: dnsIp,
      ports: [
        { name: 'dns', port: 53, protocol: 'UDP', targetPort: port },
        { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: port },
      ],
    },
  };
  try {
    await client.create(SERVICES, 'kube-system', svc);
  } catch (err) {
    if (!isReason(err, 'AlreadyExists')) throw err;
  }
  const slice = {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'kube-dns-skiff', namespace: 'kube-system', labels: { 'kubernetes.io/service-name': 'kube-dns', 'endpointslice.kubernetes.io/managed-by': 'skiff-agent' } },
    addressType: 'IPv4',
    endpoints: [{ addresses: [ip], conditions: { ready: true, serving: true, terminating: false } }],
    ports: [
      { name: 'dns', port, protocol: 'UDP' },
      { name: 'dns-tcp', port, protocol: 'TCP' },
    ],
  };
  try {
    await client.create(ENDPOINT_SLICES, 'kube-system', slice);
  } catch (err) {
    if (!isReason(err, 'AlreadyExists')) throw err;
    const cur = await client.get<Obj>(ENDPOINT_SLICES, 'kube-system', 'kube-dns-skiff');
    await client.update(ENDPOINT_SLICES, 'kube-system', { ...slice, metadata: { ...slice.metadata, resourceVersion: cur.metadata.resourceVersion } });
  }
}

export async function startNodeStack(opts: NodeStackOptions): Promise<NodeStack> {
  const log = opts.log ?? ((m: string) => console.error(`skiff: node: ${m}`));
  const bridge = opts.bridge ?? 'skiff0';
  const dnsIp = nthAddress(opts.serviceCidr, 10);
  let dns: ClusterDns | undefined;
  const podCidr = opts.podCidr ?? await awaitPodCidr({ client: opts.client, nodeName: opts.nodeName, log });
  if (!opts.podCidr) log(`node ${opts.nodeName} has pod range ${podCidr}`);
  const gw = ensureBridge(bridge, podCidr);
  const proxyClient = opts.proxyClient ?? opts.client;
  if (opts.runDns !== false) {
    dns = new ClusterDns({ client: proxyClient, listen: { host: gw, port: 53 }, clusterDomain: opts.clusterDomain, log });
    await dns.start();
    await publishDns(opts.dnsPublisherClient ?? proxyClient, dnsIp, gw, 53);
  }
  const proxy = new ServiceProxy({ client: proxyClient, tableName: opts.proxyTable, serviceCidr: opts.serviceCidr, masqueradeCidr: podCidr, log });
  await proxy.start();
  const images = ImageStore.open(opts.dataDir);
  const puller = registryPuller(opts.client, images, opts.dataDir, log);
  const agent = await Agent.start({
    ...opts,
    podCidr,
    clusterDns: dnsIp,
    log,
    pullImage: puller,
    serviceAccountToken: async (pod: Pod, audience: string | undefined, expirationSeconds: number) => {
      const md = pod.metadata!;
      const tr = await opts.client.create<Obj>(
        SERVICE_ACCOUNTS,
        md.namespace,
        {
          apiVersion: 'authentication.k8s.io/v1',
          kind: 'TokenRequest',
          spec: { audiences: audience ? [audience] : [], expirationSeconds, boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: md.name, uid: md.uid } },
        } as KObject,
        { name: pod.spec?.serviceAccountName ?? 'default', subresource: 'token' },
      );
      return tr.status.token as string;
    },
  });
  let hostGw: HostGwRouter | undefined;
  if (opts.hostGw) {
    hostGw = new HostGwRouter({ client: opts.client, nodeName: opts.nodeName, dataDir: opts.dataDir, podCidr, log });
    await hostGw.start();
  }
  return {
    agent,
    proxy,
    dns,
    gatewayIp: gw,
    podCidr,
    hostGw,
    async stop() {
      await hostGw?.stop();
      await agent.stop();
      await proxy.stop();
      await dns?.stop();
    },
  };
}

