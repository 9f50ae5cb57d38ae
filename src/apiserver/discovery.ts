/** API discovery documents (legacy and aggregated v2), all derived from the registry. */
import { ALL_VERBS, groupVersion, type Registry, type ResourceDef } from '../api/registry.js';
import { METRICS_GROUP, METRICS_VERSION, metricsAggregatedGroup, metricsApiGroup, metricsResourceList } from './metrics.js';

/** The kind a subresource answers with, for discovery. */
const SUBRESOURCE_KINDS: Record<string, { group: string; version: string; kind: string } | undefined> = {
  scale: { group: 'autoscaling', version: 'v1', kind: 'Scale' },
  binding: { group: '', version: 'v1', kind: 'Binding' },
  eviction: { group: 'policy', version: 'v1', kind: 'Eviction' },
  exec: { group: '', version: 'v1', kind: 'PodExecOptions' },
  attach: { group: '', version: 'v1', kind: 'PodAttachOptions' },
  portforward: { group: '', version: 'v1', kind: 'PodPortForwardOptions' },
  log: { group: '', version: 'v1', kind: 'Pod' },
  proxy: { group: '', version: 'v1', kind: 'PodProxyOptions' },
};

const SUBRESOURCE_VERBS: Record<string, string[]> = {
  status: ['get', 'patch', 'update'],
  scale: ['get', 'patch', 'update'],
  binding: ['create'],
  eviction: ['create'],
  exec: ['create', 'get'],
  attach: ['create', 'get'],
  portforward: ['create', 'get'],
  log: ['get'],
  proxy: ['create', 'delete', 'get', 'patch', 'update'],
  finalize: ['update'],
};

function subresourceKind(def: ResourceDef, version: string, sub: string) {
  return SUBRESOURCE_KINDS[sub] ?? { group: def.group, version, kind: def.kind };
}

export function versionInfo() {
  return {
    major: '1',
    minor: '32',
    gitVersion: 'v1.32.0-skiff',
    gitCommit: '0000000000000000000000000000000000000000',
    gitTreeState: 'clean',
    buildDate: '2026-01-01T00:00:00Z',
    goVersion: 'go1.23.0',
    compiler: 'gc',
    platform: 'linux/amd64',
  };
}

export function legacyApiVersions(serverAddress: string) {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

function apiGroup(name: string, versions: string[]) {
  const vs = versions.map((v) => ({ groupVersion: groupVersion(name, v), version: v }));
  return { name, versions: vs, preferredVersion: vs[0] };
}

export function apiGroupList(registry: Registry) {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: [...registry.groups().filter((g) => g.name !== '').map((g) => apiGroup(g.name, g.versions)), metricsApiGroup()],
  };
}

export function apiGroupDoc(registry: Registry, group: string) {
  if (group === METRICS_GROUP) return { kind: 'APIGroup', apiVersion: 'v1', ...metricsApiGroup() };
  const g = registry.groups().find((x) => x.name === group);
  return g ? { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(g.name, g.versions) } : undefined;
}

export function apiResourceList(registry: Registry, group: string, version: string) {
  if (group === METRICS_GROUP) return version === METRICS_VERSION ? metricsResourceList() : undefined;
  const defs = registry.inGroupVersion(group, version);
  if (!defs.length) return undefined;
  const resources: Record<string, unknown>[] = [];
  for (const d of defs) {
    resources.push({
      name: d.plural,
      singularName: d.singular,
      namespaced: d.namespaced,
      kind: d.kind,
      verbs: d.verbs ?? ALL_VERBS,
      ...(d.shortNames?.length ? { shortNames: d.shortNames } : {}),
      ...(d.categories?.length ? { categories: d.categories } : {}),
    });
    for (const sub of d.subresources ?? []) {
      const k = subresourceKind(d, version, sub);
      resources.push({
        name: `${d.plural}/${sub}`,
        singularName: '',
        namespaced: d.namespaced,
        ...(k.group !== group || k.version !== version ? { group: k.group, version: k.version } : {}),
        kind: k.kind,
        verbs: SUBRESOURCE_VERBS[sub] ?? ['get'],
      });
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: groupVersion(group, version), resources };
}

/** apidiscovery.k8s.io/v2 APIGroupDiscoveryList for /api (core only) or /apis (all groups). */
export function aggregatedDiscovery(registry: Registry, core: boolean) {
  const items = registry
    .groups()
    .filter((g) => (core ? g.name === '' : g.name !== ''))
    .map((g) => ({
      metadata: { name: g.name, creationTimestamp: null },
      versions: g.versions.map((version) => ({
        version,
        freshness: 'Current',
        resources: registry.inGroupVersion(g.name, version).map((d) => ({
          resource: d.plural,
          responseKind: { group: d.group, version, kind: d.kind },
          scope: d.namespaced ? 'Namespaced' : 'Cluster',
          singularResource: d.singular,
          verbs: d.verbs ?? ALL_VERBS,
          ...(d.shortNames?.length ? { shortNames: d.shortNames } : {}),
          ...(d.categories?.length ? { categories: d.categories } : {}),
          ...(d.subresources?.length
            ? {
                subresources: d.subresources.map((sub) => ({
                  subresource: sub,
                  responseKind: subresourceKind(d, version, sub),
                  verbs: SUBRESOURCE_VERBS[sub] ?? ['get'],
                })),
              }
            : {}),
        })),
      })),
    }));
  if (!core) items.push(metricsAggregatedGroup() as (typeof items)[number]);
  return { kind: 'APIGroupDiscoveryList', apiVersion: 'apidiscovery.k8s.io/v2', metadata: {}, items };
}

export const AGGREGATED_DISCOVERY_CONTENT_TYPE = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';

/** True when the Accept header asks for aggregated discovery v2 (only v2: v2beta1-only clients get legacy). */
export function wantsAggregated(accept: string | undefined): boolean {
  if (!accept) return false;
  return accept.split(',').some((part) => {
    const params = part.split(';').map((s) => s.trim());
    return params.includes('g=apidiscovery.k8s.io') && params.includes('v=v2') && params.includes('as=APIGroupDiscoveryList');
  });
}
