/**
 * User-defined networks. A network is a ConfigMap in the `docker` namespace (its definition)
 * plus a namespace of its own, `dnet-<id12>`, where the engine keeps one headless Service per
 * name a member answers to (container name, `--network-alias`, Compose's service name) with an
 * EndpointSlice of the members' pod IPs. Cluster DNS serves those; members' pods search the
 * namespace's domain, so `wget web` resolves as on a Docker network. `bridge`, `host` and
 * `none` are the built-in networks.
 */
import { randomBytes } from 'node:crypto';
import type { ConfigMap, Namespace, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { StatusError } from '../api/errors.js';
import { CONFIGMAPS, ENDPOINT_SLICES, NAMESPACES, SERVICES } from '../client/resources.js';
import type { Client } from '../client/types.js';
import { jsonObject } from './body.js';
import { badParameter, conflict, DockerError, noSuchNetwork } from './errors.js';
import { DOCKER_NAMESPACE, KIND_LABEL } from './containers/model.js';
import type { Container, ContainerService } from './containers/service.js';
import { parseFilters } from './containers/views.js';
import type { DockerRoute } from './route.js';

/** A network as stored. */
export interface NetworkRecord {
  Id: string;
  Name: string;
  Created: string;
  Driver: string;
  Internal: boolean;
  Attachable: boolean;
  Labels: Record<string, string>;
  Options: Record<string, string>;
}

const BUILTIN = ['bridge', 'host', 'none'];
const MANAGED_BY = 'docker.skiff.dev';
const DNS_LABEL = /^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** The namespace holding a network's names. */
export function networkNamespace(id: string): string {
  return `dnet-${id.slice(0, 12)}`;
}

function isStatus(err: unknown, code: number): boolean {
  return err instanceof StatusError && err.code === code;
}

/** The DNS names of a member on a network: its name and aliases that can be Service names. */
export function memberNames(c: Container, network: string): string[] {
  const names = [c.rec.name, ...(c.rec.networks[network]?.aliases ?? []), c.rec.id.slice(0, 12)].map((n) => n.toLowerCase());
  return [...new Set(names)].filter((n) => DNS_LABEL.test(n));
}

/** Networks on the Kubernetes API. */
export class NetworkService {
  constructor(
    private readonly client: Client,
    private readonly containers: ContainerService,
  ) {}

  async list(): Promise<NetworkRecord[]> {
    const cms = await this.client.list<ConfigMap>(CONFIGMAPS, DOCKER_NAMESPACE, { labelSelector: `${KIND_LABEL}=network` });
    return cms.items.map((cm) => JSON.parse(cm.data?.['network.json'] ?? 'null') as NetworkRecord | null).filter((n): n is NetworkRecord => !!n);
  }

  private builtin(name: string): NetworkRecord {
    return { Id: name.padEnd(64, '0').replace(/[^0-9a-f]/g, '0'), Name: name, Created: '1970-01-01T00:00:00Z', Driver: name === 'none' ? 'null' : name, Internal: false, Attachable: false, Labels: {}, Options: {} };
  }

  /** By name, full ID or ID prefix. */
  async find(ref: string): Promise<NetworkRecord> {
    if (BUILTIN.includes(ref) || ref === 'default') return this.builtin(ref === 'default' ? 'bridge' : ref);
    const all = await this.list();
    const hit = all.find((n) => n.Name === ref) ?? all.find((n) => n.Id === ref) ?? (ref.length >= 3 ? all.filter((n) => n.Id.startsWith(ref)) : []).at(0);
    if (!hit) throw noSuchNetwork(ref);
    return hit;
  }

  /** DNS search domain of a user network; undefined for built-in ones; throws 404 for unknown ones. */
  async search(name: string, clusterDomain = 'cluster.local'): Promise<string | undefined> {
    if (BUILTIN.includes(name) || name === 'default') return undefined;
    const n = await this.find(name);
    return `${networkNamespace(n.Id)}.svc.${clusterDomain}`;
  }

  async create(body: { Name?: string; Driver?: string; Internal?: boolean; Attachable?: boolean; Labels?: Record<string, string> | null; Options?: Record<string, string> | null; CheckDuplicate?: boolean }): Promise<NetworkRecord> {
    if (!body.Name || typeof body.Name !== 'string') throw badParameter('network name is required');
    if (BUILTIN.includes(body.Name)) throw new DockerError(403, `operation is not permitted on predefined ${body.Name} network`);
    if (body.Driver && !['bridge', 'overlay'].includes(body.Driver)) throw badParameter(`plugin "${body.Driver}" not found`);
    if ((await this.list()).some((n) => n.Name === body.Name)) throw conflict(`network with name ${body.Name} already exists`);
    const rec: NetworkRecord = {
      Id: randomBytes(32).toString('hex'),
      Name: body.Name,
      Created: new Date().toISOString(),
      Driver: 'bridge',
      Internal: !!body.Internal,
      Attachable: !!body.Attachable,
      Labels: body.Labels ?? {},
      Options: body.Options ?? {},
    };
    await this.containers.ensureNamespace();
    try {
      await this.client.create<Namespace>(NAMESPACES, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: networkNamespace(rec.Id), labels: { [KIND_LABEL]: 'network' } } });
    } catch (err) {
      if (!isStatus(err, 409)) throw err;
    }
    await this.client.create<ConfigMap>(CONFIGMAPS, DOCKER_NAMESPACE, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: `net-${rec.Id}`, namespace: DOCKER_NAMESPACE, labels: { [KIND_LABEL]: 'network' }, annotations: { 'docker.skiff.dev/name': rec.Name } },
      data: { 'network.json': JSON.stringify(rec) },
    });
    this.containers.emit('network', 'create', rec.Id, { name: rec.Name, type: 'bridge' });
    return rec;
  }

  async remove(ref: string): Promise<void> {
    const n = await this.find(ref);
    if (BUILTIN.includes(n.Name)) throw new DockerError(403, `${n.Name} is a pre-defined network and cannot be removed`);
    const users = (await this.containers.list()).filter((c) => n.Name in c.rec.networks && c.pod);
    if (users.length) throw new DockerError(403, `error while removing network: network ${n.Name} id ${n.Id} has active endpoints`);
    await this.client.delete(CONFIGMAPS, DOCKER_NAMESPACE, `net-${n.Id}`).catch((err) => {
      if (!isStatus(err, 404)) throw err;
    });
    await this.client.delete(NAMESPACES, undefined, networkNamespace(n.Id)).catch((err) => {
      if (!isStatus(err, 404)) throw err;
    });
    this.containers.emit('network', 'destroy', n.Id, { name: n.Name, type: 'bridge' });
  }

  /** Inspect JSON, with the members that have an address. */
  async inspect(n: NetworkRecord, all?: Container[]): Promise<Record<string, unknown>> {
    const members = (all ?? (await this.containers.list())).filter((c) => n.Name in c.rec.networks || (BUILTIN.includes(n.Name) && (c.rec.hostConfig.NetworkMode === n.Name || (n.Name === 'bridge' && c.rec.hostConfig.NetworkMode === 'default'))));
    return {
      Name: n.Name,
      Id: n.Id,
      Created: n.Created,
      Scope: 'local',
      Driver: n.Driver,
      EnableIPv6: false,
      IPAM: { Driver: 'default', Options: null, Config: [] },
      Internal: n.Internal,
      Attachable: n.Attachable,
      Ingress: false,
      ConfigFrom: { Network: '' },
      ConfigOnly: false,
      Containers: Object.fromEntries(
        members.filter((c) => c.pod?.status?.podIP).map((c) => [c.rec.id, { Name: c.rec.name, EndpointID: c.rec.id.slice(0, 12), MacAddress: '', IPv4Address: `${c.pod!.status!.podIP}/24`, IPv6Address: '' }]),
      ),
      Options: n.Options,
      Labels: n.Labels,
    };
  }

  /**
   * Converges each network's Services and EndpointSlices on its members' current pod IPs: one
   * headless Service per name, its slice listing the running members that answer to it.
   */
  async sync(all: Container[]): Promise<void> {
    for (const n of await this.list()) {
      const ns = networkNamespace(n.Id);
      const wanted = new Map<string, string[]>();
      for (const c of all) {
        if (!(n.Name in c.rec.networks)) continue;
        const ip = c.pod?.status?.podIP;
        const running = !!c.pod?.status?.containerStatuses?.[0]?.state?.running && !c.pod.metadata?.deletionTimestamp;
        for (const name of memberNames(c, n.Name)) {
          const ips = wanted.get(name) ?? [];
          if (ip && running) ips.push(ip);
          wanted.set(name, ips);
        }
      }
      const [svcs, slices] = await Promise.all([
        this.client.list<Service>(SERVICES, ns, { labelSelector: `${KIND_LABEL}=network-name` }),
        this.client.list<EndpointSlice>(ENDPOINT_SLICES, ns, { labelSelector: `endpointslice.kubernetes.io/managed-by=${MANAGED_BY}` }),
      ]);
      for (const s of svcs.items) if (!wanted.has(s.metadata!.name!)) await this.client.delete(SERVICES, ns, s.metadata!.name!).catch(() => undefined);
      for (const sl of slices.items) if (!wanted.has(sl.metadata!.name!)) await this.client.delete(ENDPOINT_SLICES, ns, sl.metadata!.name!).catch(() => undefined);
      for (const [name, ips] of wanted) {
        if (!svcs.items.some((s) => s.metadata?.name === name)) {
          await this.client
            .create<Service>(SERVICES, ns, { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns, labels: { [KIND_LABEL]: 'network-name' } }, spec: { clusterIP: 'None', ports: [] } })
            .catch((err) => {
              if (!isStatus(err, 409)) throw err;
            });
        }
        const endpoints = ips.sort().map((ip) => ({ addresses: [ip], conditions: { ready: true } }));
        const slice: EndpointSlice = {
          apiVersion: 'discovery.k8s.io/v1',
          kind: 'EndpointSlice',
          metadata: { name, namespace: ns, labels: { 'kubernetes.io/service-name': name, 'endpointslice.kubernetes.io/managed-by': MANAGED_BY } },
          addressType: 'IPv4',
          endpoints,
          ports: [],
        };
        const cur = slices.items.find((s) => s.metadata?.name === name);
        if (!cur) await this.client.create(ENDPOINT_SLICES, ns, slice).catch((err) => void (isStatus(err, 409) || Promise.reject(err)));
        else if (JSON.stringify((cur.endpoints ?? []).map((e) => e.addresses)) !== JSON.stringify(endpoints.map((e) => e.addresses))) {
          await this.client.update(ENDPOINT_SLICES, ns, { ...slice, metadata: { ...slice.metadata, resourceVersion: cur.metadata?.resourceVersion } }).catch(() => undefined);
        }
      }
    }
  }
}

/** The network routes. */
export function networkRoutes(nets: NetworkService, svc: ContainerService): DockerRoute[] {
  return [
    {
      method: 'GET',
      path: '/networks',
      handle: async (call) => {
        const f = parseFilters(call.query.get('filters'));
        const all = [...BUILTIN.map((b) => nets.find(b)), ...(await nets.list())];
        const list = (await Promise.all(all)).filter(
          (n) =>
            (!f.name?.length || f.name.some((x) => n.Name.includes(x))) &&
            (!f.id?.length || f.id.some((x) => n.Id.startsWith(x))) &&
            (!f.driver?.length || f.driver.includes(n.Driver)) &&
            (!f.type?.length || f.type.includes(BUILTIN.includes(n.Name) ? 'builtin' : 'custom')) &&
            (!f.label?.length || f.label.every((l) => (l.includes('=') ? n.Labels[l.split('=')[0]] === l.slice(l.indexOf('=') + 1) : l in n.Labels))),
        );
        const containers = await svc.list();
        return { status: 200, body: await Promise.all(list.map((n) => nets.inspect(n, containers))) };
      },
    },
    { method: 'GET', path: '/networks/{id}', handle: async (call) => ({ status: 200, body: await nets.inspect(await nets.find(call.params.id)) }) },
    {
      method: 'POST',
      path: '/networks/create',
      handle: async (call) => {
        const n = await nets.create(await jsonObject(call));
        return { status: 201, body: { Id: n.Id, Warning: '' } };
      },
    },
    {
      method: 'DELETE',
      path: '/networks/{id}',
      handle: async (call) => {
        await nets.remove(call.params.id);
        return { status: 204 };
      },
    },
    {
      method: 'POST',
      path: '/networks/{id}/connect',
      handle: async (call) => {
        const body = await jsonObject<{ Container?: string; EndpointConfig?: { Aliases?: string[] | null } }>(call);
        const n = await nets.find(call.params.id);
        if (BUILTIN.includes(n.Name)) return { status: 200 };
        const c = await svc.find(body.Container ?? '');
        await svc.update(c.rec.id, (r) => (r.networks[n.Name] = { aliases: body.EndpointConfig?.Aliases ?? [] }));
        svc.emit('network', 'connect', n.Id, { name: n.Name, container: c.rec.id, type: 'bridge' });
        return { status: 200 };
      },
    },
    {
      method: 'POST',
      path: '/networks/{id}/disconnect',
      handle: async (call) => {
        const body = await jsonObject<{ Container?: string; Force?: boolean }>(call);
        const n = await nets.find(call.params.id);
        const c = await svc.find(body.Container ?? '');
        if (!(n.Name in c.rec.networks) && !BUILTIN.includes(n.Name)) throw new DockerError(403, `container ${c.rec.id} is not connected to network ${n.Name}`);
        await svc.update(c.rec.id, (r) => delete r.networks[n.Name]);
        svc.emit('network', 'disconnect', n.Id, { name: n.Name, container: c.rec.id, type: 'bridge' });
        return { status: 200 };
      },
    },
    {
      method: 'POST',
      path: '/networks/prune',
      handle: async () => {
        const containers = await svc.list();
        const deleted: string[] = [];
        for (const n of await nets.list()) {
          if (containers.some((c) => n.Name in c.rec.networks)) continue;
          await nets.remove(n.Id);
          deleted.push(n.Name);
        }
        return { status: 200, body: { NetworksDeleted: deleted } };
      },
    },
  ];
}
