/**
 * A small LoadBalancer controller (the part of a cloud provider or of k3s' ServiceLB/klipper
 * that hands out addresses): every `type: LoadBalancer` Service gets one address from a pool
 * (default 127.0.1.0/24, loopback addresses so that the host reaches them without touching any
 * real network) in `status.loadBalancer.ingress`; the service proxy DNATs that IP:port to the
 * endpoints. `spec.loadBalancerIP` is honoured when it lies in the pool and is free. A Service
 * that stops being a LoadBalancer loses its ingress. Same factory shape as the other controllers.
 */
import type { Service } from 'kubernetes-types/core/v1.js';
import { isReason } from '../api/errors.js';
import { keyOf, splitKey, type Informer } from '../client/informer.js';
import { SERVICES } from '../client/resources.js';
import type { KObject } from '../client/types.js';
import { ipToNumber, ipToString, parseCidr } from '../api/cidr.js';
import { QueueController, type ReconcileResult } from './base.js';
import type { Controller, ControllerContext } from './types.js';

type Svc = Service & KObject;

export interface LoadBalancerOptions {
  /** IPv4 CIDR addresses are taken from (default 127.0.1.0/24; the network and broadcast addresses are skipped). */
  pool?: string;
}

/** Creates the LoadBalancer address controller. */
export function newLoadBalancerController(ctx: ControllerContext, opts: LoadBalancerOptions = {}): Controller & { readonly queue: QueueController['queue'] } {
  const { client } = ctx;
  const pool = parseCidr(opts.pool ?? '127.0.1.0/24');
  const svcInf = ctx.informers.informerFor<Svc>(SERVICES);
  const qc = new QueueController('service-lb', ctx, [svcInf as Informer<KObject>], sync);
  const q = qc.queue;
  // Addresses handed out but maybe not yet visible in the cache (one worker, but the cache lags writes).
  const reserved = new Map<string, string>();

  svcInf.addEventHandler({
    onAdd: (s) => q.add(keyOf(s)),
    onUpdate: (_o, s) => q.add(keyOf(s)),
    onDelete: (s) => { reserved.forEach((k, ip) => { if (k === keyOf(s)) reserved.delete(ip); }); },
  });

  const inPool = (ip: string | undefined): boolean => {
    const n = ip ? ipToNumber(ip) : undefined;
    return n !== undefined && n > pool.base && n < pool.base + pool.size - 1;
  };

  function used(except: string): Set<string> {
    const out = new Set<string>();
    for (const s of svcInf.list()) {
      if (keyOf(s) === except) continue;
      for (const i of s.status?.loadBalancer?.ingress ?? []) if (i.ip) out.add(i.ip);
    }
    for (const [ip, k] of reserved) if (k !== except && svcInf.getByKey(k)) out.add(ip);
    return out;
  }

  async function sync(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const svc = svcInf.get(namespace, name);
    if (!svc) return;
    const ingress = svc.status?.loadBalancer?.ingress ?? [];
    let want: { ip: string; ipMode?: string }[] = [];
    if (svc.spec?.type === 'LoadBalancer' && !svc.metadata?.deletionTimestamp) {
      const taken = used(key);
      const mine = ingress.find((i) => inPool(i.ip) && !taken.has(i.ip!))?.ip;
      const requested = svc.spec.loadBalancerIP;
      let ip: string | undefined;
      if (requested && inPool(requested) && !taken.has(requested)) ip = requested;
      else if (mine) ip = mine;
      else {
        for (let n = pool.base + 1; n < pool.base + pool.size - 1; n++) {
          const c = ipToString(n);
          if (!taken.has(c)) { ip = c; break; }
        }
      }
      if (!ip) {
        ctx.recorder('service-lb-controller').event(svc, 'Warning', 'AllocationFailed', `no free address in ${opts.pool ?? '127.0.1.0/24'}`);
        return;
      }
      reserved.set(ip, key);
      // ipMode VIP: the proxy captures the traffic itself (upstream LoadBalancerIPMode).
      want = [{ ip, ipMode: 'VIP' }];
    }
    if (JSON.stringify(ingress.map((i) => i.ip)) === JSON.stringify(want.map((i) => i.ip))) return;
    const next = { ...structuredClone(svc), status: { ...(svc.status ?? {}), loadBalancer: want.length ? { ingress: want } : {} } } as Svc;
    try {
      await client.update(SERVICES, namespace, next, { subresource: 'status' });
    } catch (err) {
      if (!isReason(err, 'NotFound')) throw err;
    }
  }

  return qc;
}
