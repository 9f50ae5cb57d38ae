/**
 * EndpointSlice controller, after upstream pkg/controller/endpointslice: for every Service
 * with a selector it keeps a set of `discovery.k8s.io/v1` EndpointSlices (named
 * `<service>-<random>`, labelled `kubernetes.io/service-name` and
 * `endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io`, owned by the
 * Service) listing every pod the selector matches that has an IP and is not terminal.
 * Terminating pods stay listed with `terminating: true, ready: false` so proxies can drain
 * them. Endpoints are grouped by their resolved port set (a named targetPort can resolve
 * differently per pod) and at most `maxEndpointsPerSlice` (100) go in one slice.
 *
 * Like upstream's reconciler it prefers to leave endpoints where they are: an endpoint that
 * is unchanged stays in its slice, changed ones are updated in place, new ones fill slices
 * with room before a slice is created, and emptied slices are deleted. A Service with no
 * endpoints keeps one empty placeholder slice.
 */
import type { Pod, Service } from 'kubernetes-types/core/v1.js';
import type { Endpoint, EndpointPort, EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { isReason } from '../api/errors.js';
import { keyOf, splitKey, type Informer } from '../client/informer.js';
import { ENDPOINT_SLICES, PODS, SERVICES } from '../client/resources.js';
import type { KObject } from '../client/types.js';
import { QueueController, type ReconcileResult } from './base.js';
import { findPort, ipCompare, isHeadless, LABEL_HEADLESS, podHostname, podTargetRef, serviceSelector, shouldPodBeInEndpoints, watchPodsForServices } from './endpoints.js';
import type { Controller, ControllerContext } from './types.js';
import { canonicalJSON, copy, isPodReady, newControllerRef } from './util.js';

type Svc = Service & KObject;
type P = Pod & KObject;
type Slice = EndpointSlice & KObject;

export const LABEL_SERVICE_NAME = 'kubernetes.io/service-name';
export const LABEL_MANAGED_BY = 'endpointslice.kubernetes.io/managed-by';
export const CONTROLLER_NAME = 'endpointslice-controller.k8s.io';
/** Upstream --max-endpoints-per-slice default. */
export const MAX_ENDPOINTS_PER_SLICE = 100;

/** One desired endpoint with the ports it resolved to. */
interface Desired { ep: Endpoint; ports: EndpointPort[] }

const sortPorts = (ports: EndpointPort[]) => [...ports].sort((a, b) => (a.name ?? '').localeCompare(b.name ?? '') || (a.port ?? 0) - (b.port ?? 0));
const portsKey = (ports: EndpointPort[] | undefined) => JSON.stringify(sortPorts(ports ?? []));
const epKey = (e: Endpoint) => e.addresses[0];

/** The endpoints a Service should have, keyed by port set (pure; exported for tests). */
export function desiredEndpoints(svc: Service, pods: readonly Pod[]): Map<string, { ports: EndpointPort[]; endpoints: Endpoint[] }> {
  const publishNotReady = !!svc.spec?.publishNotReadyAddresses;
  const out = new Map<string, { ports: EndpointPort[]; endpoints: Endpoint[] }>();
  const seen = new Set<string>();
  for (const pod of pods) {
    // Terminating pods are kept (with their condition) so consumers can drain them.
    if (!shouldPodBeInEndpoints(pod, true)) continue;
    const ip = pod.status?.podIP ?? pod.status!.podIPs![0].ip!;
    if (seen.has(ip)) continue;
    seen.add(ip);
    const terminating = !!pod.metadata?.deletionTimestamp;
    const serving = publishNotReady || isPodReady(pod);
    const ep: Endpoint = {
      addresses: [ip],
      conditions: { ready: serving && !terminating, serving, terminating },
      targetRef: podTargetRef(pod),
    };
    const host = podHostname(pod, svc);
    if (host) ep.hostname = host;
    if (pod.spec?.nodeName) ep.nodeName = pod.spec.nodeName;
    const ports: EndpointPort[] = [];
    for (const sp of svc.spec?.ports ?? []) {
      const port = findPort(pod, sp);
      if (port === undefined) continue;
      const p: EndpointPort = { name: sp.name ?? '', port, protocol: sp.protocol ?? 'TCP' };
      if (sp.appProtocol) p.appProtocol = sp.appProtocol;
      ports.push(p);
    }
    // Upstream skips a pod whose ports all failed to resolve, unless the Service has no ports (headless).
    if ((svc.spec?.ports ?? []).length > 0 && ports.length === 0) continue;
    const d: Desired = { ep, ports: sortPorts(ports) };
    const k = portsKey(d.ports);
    let g = out.get(k);
    if (!g) out.set(k, (g = { ports: d.ports, endpoints: [] }));
    g.endpoints.push(ep);
  }
  for (const g of out.values()) g.endpoints.sort((a, b) => ipCompare(epKey(a), epKey(b)));
  return out;
}

/** Creates the EndpointSlice controller. */
export function newEndpointSliceController(ctx: ControllerContext, opts: { maxEndpointsPerSlice?: number } = {}): Controller & { readonly queue: QueueController['queue'] } {
  const { client } = ctx;
  const max = opts.maxEndpointsPerSlice ?? MAX_ENDPOINTS_PER_SLICE;
  const svcInf = ctx.informers.informerFor<Svc>(SERVICES);
  const podInf = ctx.informers.informerFor<P>(PODS);
  const sliceInf = ctx.informers.informerFor<Slice>(ENDPOINT_SLICES);
  const qc = new QueueController('endpointslice', ctx, [svcInf as Informer<KObject>, podInf as Informer<KObject>, sliceInf as unknown as Informer<KObject>], sync);
  const q = qc.queue;

  svcInf.addEventHandler({ onAdd: (s) => q.add(keyOf(s)), onUpdate: (_o, s) => q.add(keyOf(s)), onDelete: (s) => q.add(keyOf(s)) });
  watchPodsForServices(podInf, svcInf, (k) => q.add(k));
  const onSlice = (s: Slice) => {
    const svc = s.metadata?.labels?.[LABEL_SERVICE_NAME];
    if (svc && s.metadata?.labels?.[LABEL_MANAGED_BY] === CONTROLLER_NAME) q.add(`${s.metadata!.namespace}/${svc}`);
  };
  sliceInf.addEventHandler({ onUpdate: (_o, s) => onSlice(s), onDelete: onSlice });

  const slicesOf = (namespace: string | undefined, name: string): Slice[] =>
    sliceInf.list(namespace).filter((s) => s.metadata?.labels?.[LABEL_SERVICE_NAME] === name && s.metadata?.labels?.[LABEL_MANAGED_BY] === CONTROLLER_NAME)
      .sort((a, b) => (a.metadata!.name!).localeCompare(b.metadata!.name!));

  async function sync(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const svc = svcInf.get(namespace, name);
    const existing = slicesOf(namespace, name);
    // A deleted Service's slices are removed by the garbage collector through the ownerReference.
    if (!svc || svc.metadata?.deletionTimestamp) return;
    const sel = serviceSelector(svc);
    if (!sel) {
      // A Service that lost its selector no longer has controller-managed slices.
      await Promise.all(existing.map((s) => del(s)));
      return;
    }
    const desired = desiredEndpoints(svc, podInf.list(namespace, sel));
    const labels: Record<string, string> = { ...(svc.metadata?.labels ?? {}), [LABEL_SERVICE_NAME]: name, [LABEL_MANAGED_BY]: CONTROLLER_NAME };
    if (isHeadless(svc)) labels[LABEL_HEADLESS] = ''; else delete labels[LABEL_HEADLESS];

    const toCreate: Slice[] = [];
    const toUpdate: Slice[] = [];
    const toDelete: Slice[] = [];
    const sameMeta = (s: Slice) => canonicalJSON(s.metadata?.labels ?? {}) === canonicalJSON(labels)
      && !!s.metadata?.ownerReferences?.some((r) => r.uid === svc.metadata?.uid && r.controller);

    const byPorts = new Map<string, Slice[]>();
    for (const s of existing) {
      const k = portsKey(s.ports ?? []);
      if (!desired.has(k) || s.addressType !== 'IPv4') { toDelete.push(s); continue; }
      (byPorts.get(k) ?? byPorts.set(k, []).get(k)!).push(s);
    }

    for (const [k, { ports, endpoints }] of desired) {
      const want = new Map(endpoints.map((e) => [epKey(e), e]));
      const placed = new Set<string>();
      const work: { slice: Slice; eps: Endpoint[]; changed: boolean }[] = [];
      for (const s of byPorts.get(k) ?? []) {
        const eps: Endpoint[] = [];
        let changed = !sameMeta(s);
        for (const e of s.endpoints ?? []) {
          const d = want.get(epKey(e));
          if (!d || placed.has(epKey(e)) || eps.length >= max) { changed = true; continue; }
          placed.add(epKey(e));
          if (canonicalJSON(d) !== canonicalJSON(e)) changed = true;
          eps.push(d);
        }
        work.push({ slice: s, eps, changed });
      }
      const rest = endpoints.filter((e) => !placed.has(epKey(e)));
      // Fill slices we change anyway first, then any with room, so fewer writes are needed.
      const order = [...work.filter((w) => w.changed), ...work.filter((w) => !w.changed)];
      for (const w of order) {
        while (rest.length && w.eps.length < max) { w.eps.push(rest.shift()!); w.changed = true; }
      }
      for (const w of work) {
        if (w.eps.length === 0) { toDelete.push(w.slice); continue; }
        if (!w.changed) continue;
        const next = copy(w.slice) as Slice;
        next.metadata = { ...next.metadata, labels, ownerReferences: [newControllerRef(svc, 'v1', 'Service')] };
        next.endpoints = w.eps.sort((a, b) => ipCompare(epKey(a), epKey(b)));
        next.ports = ports;
        toUpdate.push(next);
      }
      while (rest.length) toCreate.push(newSlice(svc, labels, ports, rest.splice(0, max)));
    }

    // A Service with no endpoints at all keeps one empty placeholder slice (upstream does the same).
    if (desired.size === 0) {
      const keep = existing.find((s) => (s.endpoints ?? []).length === 0 && (s.ports ?? []).length === 0 && s.addressType === 'IPv4');
      if (keep) {
        toDelete.splice(toDelete.indexOf(keep), 1);
        if (!sameMeta(keep)) toUpdate.push({ ...copy(keep), metadata: { ...copy(keep.metadata), labels, ownerReferences: [newControllerRef(svc, 'v1', 'Service')] } } as Slice);
      } else toCreate.push(newSlice(svc, labels, [], []));
    }

    // Creates and updates first, deletes last: consumers never see a gap in the endpoints.
    for (const s of toCreate) {
      try { await client.create(ENDPOINT_SLICES, namespace, s); } catch (err) {
        if (!isReason(err, 'Forbidden')) throw err; // Forbidden: the namespace is terminating.
      }
    }
    for (const s of toUpdate) await client.update(ENDPOINT_SLICES, namespace, s);
    await Promise.all(toDelete.map((s) => del(s)));
  }

  async function del(s: Slice): Promise<void> {
    try { await client.delete(ENDPOINT_SLICES, s.metadata!.namespace, s.metadata!.name!); } catch (err) {
      if (!isReason(err, 'NotFound')) throw err;
    }
  }

  function newSlice(svc: Svc, labels: Record<string, string>, ports: EndpointPort[], endpoints: Endpoint[]): Slice {
    return {
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
      metadata: {
        // Upstream truncates the prefix so the generated name stays a valid DNS subdomain.
        generateName: `${svc.metadata!.name!.slice(0, 57)}-`,
        namespace: svc.metadata!.namespace,
        labels,
        ownerReferences: [newControllerRef(svc, 'v1', 'Service')],
      },
      addressType: 'IPv4',
      endpoints,
      ports,
    };
  }

  return qc;
}
