/**
 * Endpoints controller, after upstream pkg/controller/endpoint: for every Service with a
 * selector it writes the legacy `Endpoints` object of the same name, listing the IPs of the
 * pods the selector matches. Ready pods go to `addresses`, the others to
 * `notReadyAddresses` (all to `addresses` when publishNotReadyAddresses is set). Ports are
 * resolved per pod (a named targetPort is looked up in that pod's containers), and addresses
 * sharing the same resolved ports are packed into one subset (upstream RepackSubsets).
 * Terminal pods, pods without an IP and terminating pods are left out. Services without a
 * selector are left alone: their Endpoints belong to the user.
 *
 * The pod/port helpers are shared with the EndpointSlice controller.
 */
import type { EndpointAddress, EndpointPort, Endpoints, EndpointSubset, Pod, Service, ServicePort } from 'kubernetes-types/core/v1.js';
import { isReason } from '../api/errors.js';
import { selectorFromSet, type Selector } from '../api/labels.js';
import { rfc3339 } from '../util/clock.js';
import { keyOf, splitKey, type Informer } from '../client/informer.js';
import { ENDPOINTS, PODS, SERVICES } from '../client/resources.js';
import type { KObject } from '../client/types.js';
import { QueueController, type ReconcileResult } from './base.js';
import type { Controller, ControllerContext } from './types.js';
import { canonicalJSON, copy, isPodReady } from './util.js';

type Svc = Service & KObject;
type P = Pod & KObject;
type Ep = Endpoints & KObject;

/** Label upstream puts on Endpoints and EndpointSlices of headless Services. */
export const LABEL_HEADLESS = 'service.kubernetes.io/headless';
/** Annotation with the time of the last pod/service change that triggered an update. */
export const ANNOTATION_LAST_CHANGE = 'endpoints.kubernetes.io/last-change-trigger-time';

/** The pod selector of a Service, or undefined when it has none (endpoints managed by the user). */
export function serviceSelector(svc: Service): Selector | undefined {
  const sel = svc.spec?.selector;
  if (!sel || Object.keys(sel).length === 0) return undefined;
  return selectorFromSet(sel);
}

/** Succeeded or Failed (upstream podutil.IsPodTerminal). */
export function isPodTerminal(pod: Pod): boolean {
  const p = pod.status?.phase;
  return p === 'Succeeded' || p === 'Failed';
}

/** Upstream endpointsliceutil.ShouldPodBeInEndpoints. */
export function shouldPodBeInEndpoints(pod: Pod, includeTerminating: boolean): boolean {
  if (isPodTerminal(pod)) return false;
  if (!pod.status?.podIP && !pod.status?.podIPs?.length) return false;
  if (!includeTerminating && pod.metadata?.deletionTimestamp) return false;
  return true;
}

/**
 * The container port a Service port reaches on this pod (upstream podutil.FindPort): a numeric
 * (or absent) targetPort is used as is, a named one is looked up among the pod's container
 * ports with the same protocol. Undefined when the name is not found.
 */
export function findPort(pod: Pod, sp: ServicePort): number | undefined {
  const tp = sp.targetPort;
  if (tp === undefined || tp === null || tp === '' || tp === 0) return sp.port;
  if (typeof tp === 'number') return tp;
  if (/^\d+$/.test(tp)) return Number(tp);
  const proto = sp.protocol ?? 'TCP';
  for (const c of pod.spec?.containers ?? []) {
    for (const cp of c.ports ?? []) if (cp.name === tp && (cp.protocol ?? 'TCP') === proto) return cp.containerPort;
  }
  return undefined;
}

/** A pod's reference as Endpoints and EndpointSlices carry it. */
export function podTargetRef(pod: Pod): { kind: string; namespace?: string; name?: string; uid?: string } {
  return { kind: 'Pod', namespace: pod.metadata?.namespace, name: pod.metadata?.name, uid: pod.metadata?.uid };
}

/** Hostname published for a pod behind `svc`: spec.hostname when spec.subdomain names the Service. */
export function podHostname(pod: Pod, svc: Service): string | undefined {
  return pod.spec?.hostname && pod.spec.subdomain === svc.metadata?.name ? pod.spec.hostname : undefined;
}

/** True when the Service is headless (clusterIP None). */
export function isHeadless(svc: Service): boolean {
  return svc.spec?.clusterIP === 'None';
}

/** Services of `pod`'s namespace whose selector matches `labels`. */
export function servicesSelecting(svcInf: Informer<Svc>, namespace: string | undefined, labels: Record<string, string> | undefined): Svc[] {
  return svcInf.list(namespace).filter((s) => serviceSelector(s)?.matches(labels));
}

/** Registers pod handlers that queue every Service selecting the pod (before and after a change). */
export function watchPodsForServices(podInf: Informer<P>, svcInf: Informer<Svc>, add: (key: string) => void): void {
  const enqueue = (pod: P) => { for (const s of servicesSelecting(svcInf, pod.metadata?.namespace, pod.metadata?.labels)) add(keyOf(s)); };
  podInf.addEventHandler({
    onAdd: enqueue,
    onUpdate: (old, cur) => {
      // Only changes that can move the pod in or out of an endpoint list matter (upstream podEndpointsChanged).
      if (old.metadata?.resourceVersion === cur.metadata?.resourceVersion) return;
      enqueue(cur);
      if (JSON.stringify(old.metadata?.labels) !== JSON.stringify(cur.metadata?.labels)) enqueue(old);
    },
    onDelete: enqueue,
  });
}

const addrKey = (a: EndpointAddress) => a.ip;
const portsKey = (ports: EndpointPort[]) => JSON.stringify([...ports].sort((a, b) => (a.name ?? '').localeCompare(b.name ?? '') || a.port - b.port));

/**
 * Packs (address, ports) pairs into subsets, one per distinct port set, each with sorted
 * addresses, as upstream's endpoints.RepackSubsets does.
 */
export function repackSubsets(entries: { addr: EndpointAddress; ready: boolean; ports: EndpointPort[] }[]): EndpointSubset[] {
  const groups = new Map<string, { ports: EndpointPort[]; ready: Map<string, EndpointAddress>; notReady: Map<string, EndpointAddress> }>();
  for (const e of entries) {
    const k = portsKey(e.ports);
    let g = groups.get(k);
    if (!g) groups.set(k, (g = { ports: [...e.ports].sort((a, b) => (a.name ?? '').localeCompare(b.name ?? '') || a.port - b.port), ready: new Map(), notReady: new Map() }));
    // An address both ready and not ready (two pods, one IP) counts as ready.
    if (e.ready) { g.ready.set(addrKey(e.addr), e.addr); g.notReady.delete(addrKey(e.addr)); } else if (!g.ready.has(addrKey(e.addr))) g.notReady.set(addrKey(e.addr), e.addr);
  }
  const byIp = (a: EndpointAddress, b: EndpointAddress) => ipCompare(a.ip, b.ip);
  const out: EndpointSubset[] = [];
  for (const k of [...groups.keys()].sort()) {
    const g = groups.get(k)!;
    const s: EndpointSubset = {};
    if (g.ready.size) s.addresses = [...g.ready.values()].sort(byIp);
    if (g.notReady.size) s.notReadyAddresses = [...g.notReady.values()].sort(byIp);
    if (g.ports.length) s.ports = g.ports;
    out.push(s);
  }
  return out;
}

/** Numeric order of dotted IPv4 addresses (falls back to string order). */
export function ipCompare(a: string, b: string): number {
  const n = (s: string) => s.split('.').reduce((acc, x) => acc * 256 + Number(x), 0);
  const x = n(a);
  const y = n(b);
  return Number.isNaN(x) || Number.isNaN(y) ? a.localeCompare(b) : x - y;
}

/** The subsets a Service should have given the pods of its namespace (pure; exported for tests). */
export function desiredSubsets(svc: Service, pods: readonly Pod[]): EndpointSubset[] {
  const publishNotReady = !!svc.spec?.publishNotReadyAddresses;
  const entries: { addr: EndpointAddress; ready: boolean; ports: EndpointPort[] }[] = [];
  for (const pod of pods) {
    if (!shouldPodBeInEndpoints(pod, publishNotReady)) continue;
    const ip = pod.status?.podIP ?? pod.status!.podIPs![0].ip!;
    const addr: EndpointAddress = { ip, targetRef: podTargetRef(pod) };
    if (pod.spec?.nodeName) addr.nodeName = pod.spec.nodeName;
    const host = podHostname(pod, svc);
    if (host) addr.hostname = host;
    const ready = publishNotReady || isPodReady(pod);
    const svcPorts = svc.spec?.ports ?? [];
    if (svcPorts.length === 0) {
      // Headless Services may have no ports: the address alone is published.
      if (isHeadless(svc)) entries.push({ addr, ready, ports: [] });
      continue;
    }
    const ports: EndpointPort[] = [];
    for (const sp of svcPorts) {
      const port = findPort(pod, sp);
      if (port === undefined) continue; // The named port does not exist on this pod: skip it, as upstream.
      const ep: EndpointPort = { port, protocol: sp.protocol ?? 'TCP' };
      if (sp.name) ep.name = sp.name;
      if (sp.appProtocol) ep.appProtocol = sp.appProtocol;
      ports.push(ep);
    }
    if (ports.length) entries.push({ addr, ready, ports });
  }
  return repackSubsets(entries);
}

/** Creates the Endpoints controller. */
export function newEndpointsController(ctx: ControllerContext): Controller & { readonly queue: QueueController['queue'] } {
  const { client, clock } = ctx;
  const svcInf = ctx.informers.informerFor<Svc>(SERVICES);
  const podInf = ctx.informers.informerFor<P>(PODS);
  const epInf = ctx.informers.informerFor<Ep>(ENDPOINTS);
  const qc = new QueueController('endpoint', ctx, [svcInf as Informer<KObject>, podInf as Informer<KObject>, epInf as Informer<KObject>], sync);
  const q = qc.queue;

  svcInf.addEventHandler({ onAdd: (s) => q.add(keyOf(s)), onUpdate: (_o, s) => q.add(keyOf(s)), onDelete: (s) => q.add(keyOf(s)) });
  watchPodsForServices(podInf, svcInf, (k) => q.add(k));
  // An Endpoints object changed or deleted behind our back is put right (level-based).
  epInf.addEventHandler({ onUpdate: (_o, e) => { if (svcInf.get(e.metadata?.namespace, e.metadata!.name!)) q.add(keyOf(e)); }, onDelete: (e) => q.add(keyOf(e)) });

  async function sync(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const svc = svcInf.get(namespace, name);
    const cur = epInf.get(namespace, name);
    if (!svc) {
      // The Service is gone: its Endpoints go with it (upstream deletes them explicitly).
      if (!cur) return;
      try { await client.delete(ENDPOINTS, namespace, name, { preconditions: { uid: cur.metadata?.uid } }); } catch (err) {
        if (!isReason(err, 'NotFound') && !isReason(err, 'Conflict')) throw err;
      }
      return;
    }
    const sel = serviceSelector(svc);
    if (!sel) return;
    const subsets = desiredSubsets(svc, podInf.list(namespace, sel));
    const labels: Record<string, string> = { ...(svc.metadata?.labels ?? {}) };
    if (isHeadless(svc)) labels[LABEL_HEADLESS] = '';
    else delete labels[LABEL_HEADLESS];
    if (cur && canonicalJSON(cur.subsets ?? []) === canonicalJSON(subsets) && canonicalJSON(cur.metadata?.labels ?? {}) === canonicalJSON(labels)) return;
    const annotations = { ...(cur?.metadata?.annotations ?? {}), [ANNOTATION_LAST_CHANGE]: rfc3339(clock.now()) };
    if (!cur) {
      try {
        await client.create<Ep>(ENDPOINTS, namespace, {
          apiVersion: 'v1', kind: 'Endpoints',
          metadata: { name, namespace, labels, annotations },
          subsets,
        });
      } catch (err) {
        // AlreadyExists: our cache is behind and the next event brings us back. Forbidden: namespace terminating.
        if (!isReason(err, 'AlreadyExists') && !isReason(err, 'Forbidden')) throw err;
      }
      return;
    }
    const next: Ep = copy(cur) as Ep;
    next.metadata = { ...next.metadata, labels, annotations };
    next.subsets = subsets;
    try {
      await client.update(ENDPOINTS, namespace, next);
    } catch (err) {
      if (!isReason(err, 'NotFound')) throw err;
      q.add(key);
    }
  }

  return qc;
}
