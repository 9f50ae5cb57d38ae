/**
 * Admission that gives Services their ClusterIP and NodePorts (upstream's allocators).
 * Allocation state is the set of Services in the watch cache plus recent reservations not
 * yet visible there, so a deleted Service frees its addresses with no extra bookkeeping.
 */
import { ipToNumber, ipToString, parseCidr } from '../../api/cidr.js';
import { fieldErrors, invalid } from '../../api/errors.js';
import type { KObject, ResourceDef } from '../../api/registry.js';
import type { AdmissionPlugin } from '../objects.js';
import type { WatchCache } from '../watch-cache.js';

import type { Obj } from '../../api/registry.js';

export interface ServiceIpOptions {
  /** IPv4 CIDR for ClusterIPs, e.g. 10.43.0.0/16. */
  serviceCidr: string;
  nodePortRange?: [number, number];
}

export function serviceIpAdmission(cache: WatchCache, servicesDef: ResourceDef, opts: ServiceIpOptions): AdmissionPlugin {
  const { base, size } = parseCidr(opts.serviceCidr);
  const [portLo, portHi] = opts.nodePortRange ?? [30000, 32767];
  // The 10th address is kept for the cluster DNS Service, as k3s does (10.43.0.10).
  const dnsIp = ipToString(base + 10);
  const recentIps = new Map<string, number>();
  const recentPorts = new Map<number, number>();
  const HOLD_MS = 30_000;

  const usedIps = (): Set<string> => {
    const now = Date.now();
    const used = new Set<string>();
    for (const [ip, t] of recentIps) if (now - t < HOLD_MS) used.add(ip); else recentIps.delete(ip);
    for (const s of cache.list(servicesDef, '')) for (const ip of ((s.obj.spec as Obj)?.clusterIPs ?? [(s.obj.spec as Obj)?.clusterIP])) if (ip) used.add(ip);
    return used;
  };
  const usedPorts = (except?: string): Set<number> => {
    const now = Date.now();
    const used = new Set<number>();
    for (const [p, t] of recentPorts) if (now - t < HOLD_MS) used.add(p); else recentPorts.delete(p);
    for (const s of cache.list(servicesDef, '')) {
      if (s.obj.metadata?.uid === except) continue;
      for (const p of ((s.obj.spec as Obj)?.ports ?? []) as Obj[]) if (p.nodePort) used.add(p.nodePort);
    }
    return used;
  };

  const allocateIp = (svc: KObject, requested: string | undefined): string => {
    const used = usedIps();
    const name = svc.metadata?.name ?? '';
    if (requested) {
      const n = ipToNumber(requested);
      if (n === undefined || n < base || n >= base + size) {
        throw invalid('', 'Service', name, [fieldErrors.invalid('spec.clusterIPs', [requested], `failed to allocate IP ${requested}: the provided IP (${requested}) is not in the valid range. The range of valid IPs is ${opts.serviceCidr}`)]);
      }
      if (used.has(requested)) {
        throw invalid('', 'Service', name, [fieldErrors.invalid('spec.clusterIPs', [requested], `failed to allocate IP ${requested}: provided IP is already allocated`)]);
      }
      recentIps.set(requested, Date.now());
      return requested;
    }
    // Random probing, then a linear scan; skip the network address, .1 (kubernetes) and the broadcast.
    for (let i = 0; i < 64; i++) {
      const ip = ipToString(base + 2 + Math.floor(Math.random() * (size - 3)));
      if (!used.has(ip) && ip !== dnsIp) {
        recentIps.set(ip, Date.now());
        return ip;
      }
    }
    for (let off = 2; off < size - 1; off++) {
      const ip = ipToString(base + off);
      if (!used.has(ip)) {
        recentIps.set(ip, Date.now());
        return ip;
      }
    }
    throw invalid('', 'Service', name, [fieldErrors.invalid('spec.clusterIPs', [], `failed to allocate IP: range ${opts.serviceCidr} is full`)]);
  };

  const allocatePorts = (svc: KObject, old?: KObject) => {
    const spec = svc.spec as Obj;
    if (spec.type !== 'NodePort' && spec.type !== 'LoadBalancer') {
      for (const p of (spec.ports ?? []) as Obj[]) delete p.nodePort;
      return;
    }
    const used = usedPorts(old?.metadata?.uid);
    const oldPorts = ((old?.spec as Obj | undefined)?.ports ?? []) as Obj[];
    const name = svc.metadata?.name ?? '';
    (spec.ports as Obj[] | undefined)?.forEach((p, i) => {
      if (!p.nodePort) {
        const prev = oldPorts.find((o) => o.port === p.port && o.protocol === p.protocol)?.nodePort;
        if (prev) p.nodePort = prev;
      }
      if (p.nodePort) {
        if (p.nodePort < portLo || p.nodePort > portHi) {
          throw invalid('', 'Service', name, [fieldErrors.invalid(`spec.ports[${i}].nodePort`, p.nodePort, `provided port is not in the valid range. The range of valid ports is ${portLo}-${portHi}`)]);
        }
        if (used.has(p.nodePort) && !oldPorts.some((o) => o.nodePort === p.nodePort)) {
          throw invalid('', 'Service', name, [fieldErrors.invalid(`spec.ports[${i}].nodePort`, p.nodePort, 'provided port is already allocated')]);
        }
      } else {
        let port = 0;
        for (let tries = 0; tries < 200 && !port; tries++) {
          const c = portLo + Math.floor(Math.random() * (portHi - portLo + 1));
          if (!used.has(c)) port = c;
        }
        if (!port) throw invalid('', 'Service', name, [fieldErrors.invalid(`spec.ports[${i}].nodePort`, 0, 'range of node ports is full')]);
        p.nodePort = port;
      }
      used.add(p.nodePort);
      recentPorts.set(p.nodePort, Date.now());
    });
  };

  return (op, def, obj, old) => {
    if (def !== servicesDef || op === 'DELETE') return;
    const spec = (obj.spec ??= {}) as Obj;
    if (spec.type === 'ExternalName') {
      delete spec.clusterIP;
      delete spec.clusterIPs;
      return;
    }
    const oldSpec = (old?.spec ?? {}) as Obj;
    if (op === 'UPDATE' && oldSpec.clusterIP && oldSpec.type !== 'ExternalName') {
      spec.clusterIP ??= oldSpec.clusterIP;
      spec.clusterIPs ??= oldSpec.clusterIPs;
    } else if (spec.clusterIP !== 'None') {
      spec.clusterIP = allocateIp(obj, spec.clusterIP || spec.clusterIPs?.[0] || undefined);
      spec.clusterIPs = [spec.clusterIP];
    } else {
      spec.clusterIPs = ['None'];
    }
    spec.ipFamilies ??= ['IPv4'];
    spec.ipFamilyPolicy ??= 'SingleStack';
    allocatePorts(obj, old);
  };
}
