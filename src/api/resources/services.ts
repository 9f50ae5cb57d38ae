/** Services and Endpoints (core/v1): service defaults and validation, their table columns. */
import { fieldErrors, type FieldError } from '../errors.js';
import type { KObject, Obj, ResourceDef } from '../registry.js';
import { age } from '../meta.js';
import { isDNS1123Label, isValidPortNum, isValidPortName } from '../validation.js';
import { columns, defineResource, specOf, statusOf, wide } from './common.js';

const SERVICE_TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'];

function formatServicePorts(svc: KObject): string {
  const ports: Obj[] = specOf(svc).ports ?? [];
  if (!ports.length) return '<none>';
  return ports.map((p) => (p.nodePort ? `${p.port}:${p.nodePort}/${p.protocol ?? 'TCP'}` : `${p.port}/${p.protocol ?? 'TCP'}`)).join(',');
}

function serviceExternalIP(svc: KObject): string {
  const spec = specOf(svc);
  const ingress: Obj[] = statusOf(svc).loadBalancer?.ingress ?? [];
  const lb = ingress.map((i) => i.ip || i.hostname).filter(Boolean);
  switch (spec.type) {
    case 'ClusterIP':
    case 'NodePort':
      return spec.externalIPs?.length ? spec.externalIPs.join(',') : '<none>';
    case 'LoadBalancer': {
      const all = [...lb, ...(spec.externalIPs ?? [])];
      return all.length ? all.join(',') : '<pending>';
    }
    case 'ExternalName':
      return spec.externalName ?? '<none>';
  }
  return '<unknown>';
}

function validateService(obj: KObject): FieldError[] {
  const spec = specOf(obj);
  const errs: FieldError[] = [];
  const type = spec.type ?? 'ClusterIP';
  if (!SERVICE_TYPES.includes(type)) errs.push(fieldErrors.notSupported('spec.type', type, SERVICE_TYPES));
  const ports: Obj[] = spec.ports ?? [];
  if (type !== 'ExternalName' && spec.clusterIP !== 'None' && ports.length === 0) errs.push(fieldErrors.required('spec.ports'));
  const names = new Set<string>();
  ports.forEach((p, i) => {
    const f = `spec.ports[${i}]`;
    if (ports.length > 1 && !p.name) errs.push(fieldErrors.required(`${f}.name`));
    if (p.name) {
      if (names.has(p.name)) errs.push(fieldErrors.duplicate(`${f}.name`, p.name));
      names.add(p.name);
      errs.push(...isDNS1123Label(p.name, `${f}.name`));
    }
    if (p.port === undefined) errs.push(fieldErrors.required(`${f}.port`));
    else errs.push(...isValidPortNum(p.port, `${f}.port`));
    if (!['TCP', 'UDP', 'SCTP'].includes(p.protocol)) errs.push(fieldErrors.notSupported(`${f}.protocol`, p.protocol, ['SCTP', 'TCP', 'UDP']));
    if (typeof p.targetPort === 'number') errs.push(...isValidPortNum(p.targetPort, `${f}.targetPort`));
    else if (typeof p.targetPort === 'string') errs.push(...isValidPortName(p.targetPort, `${f}.targetPort`));
    if (p.nodePort !== undefined && p.nodePort !== 0 && type === 'ClusterIP') {
      errs.push(fieldErrors.forbidden(`${f}.nodePort`, 'may not be used when `type` is \'ClusterIP\''));
    }
  });
  if (type === 'ExternalName' && !spec.externalName) errs.push(fieldErrors.required('spec.externalName'));
  if (spec.sessionAffinity && !['None', 'ClientIP'].includes(spec.sessionAffinity)) {
    errs.push(fieldErrors.notSupported('spec.sessionAffinity', spec.sessionAffinity, ['ClientIP', 'None']));
  }
  for (const [k, v] of Object.entries((spec.selector ?? {}) as Record<string, string>)) {
    if (typeof v !== 'string') errs.push(fieldErrors.invalid(`spec.selector.${k}`, v, 'must be a string'));
  }
  return errs;
}

export const services: ResourceDef = {
  group: '',
  versions: ['v1'],
  kind: 'Service',
  plural: 'services',
  singular: 'service',
  namespaced: true,
  shortNames: ['svc'],
  categories: ['all'],
  subresources: ['status', 'proxy'],
  nameRule: 'DNS1035Label',
  strategy: {
    hasStatus: true,
    defaults(obj) {
      const spec = (obj.spec ??= {}) as Obj;
      spec.type ??= 'ClusterIP';
      spec.sessionAffinity ??= 'None';
      if (spec.type !== 'ExternalName') {
        spec.internalTrafficPolicy ??= 'Cluster';
      }
      if ((spec.type === 'NodePort' || spec.type === 'LoadBalancer')) spec.externalTrafficPolicy ??= 'Cluster';
      if (spec.type === 'LoadBalancer') spec.allocateLoadBalancerNodePorts ??= true;
      for (const p of (spec.ports ?? []) as Obj[]) {
        p.protocol ??= 'TCP';
        if (p.targetPort === undefined || p.targetPort === 0 || p.targetPort === '') p.targetPort = p.port;
      }
    },
    prepareForCreate(obj) {
      obj.status = { loadBalancer: {} };
    },
    validate: validateService,
    validateUpdate(obj, old) {
      const errs = validateService(obj);
      const spec = specOf(obj);
      const oldSpec = specOf(old);
      if (oldSpec.clusterIP && spec.clusterIP !== oldSpec.clusterIP && oldSpec.type !== 'ExternalName' && spec.type !== 'ExternalName') {
        errs.push(fieldErrors.invalid('spec.clusterIPs[0]', spec.clusterIP ?? '', 'may not change once set'));
      }
      return errs;
    },
  },
  table: {
    columns: columns('Name', { name: 'Type', type: 'string', description: 'The type of the service.' }, 'Cluster-IP', 'External-IP', 'Port(s)', 'Age', wide('Selector')),
    cells: (svc, now) => {
      const spec = specOf(svc);
      const sel = Object.entries((spec.selector ?? {}) as Record<string, string>).map(([k, v]) => `${k}=${v}`).join(',');
      return [svc.metadata?.name, spec.type, spec.clusterIP || '<none>', serviceExternalIP(svc), formatServicePorts(svc), age(svc, now), sel || '<none>'];
    },
  },
};

function formatEndpoints(ep: KObject): string {
  const out: string[] = [];
  let total = 0;
  for (const s of (ep.subsets ?? []) as Obj[]) {
    for (const a of (s.addresses ?? []) as Obj[]) {
      for (const p of (s.ports?.length ? s.ports : [{}]) as Obj[]) {
        total++;
        if (out.length < 3) out.push(p.port ? `${a.ip}:${p.port}` : a.ip);
      }
    }
  }
  if (!total) return '<none>';
  return total > 3 ? `${out.join(',')} + ${total - 3} more...` : out.join(',');
}

export const endpoints = defineResource('', 'Endpoints', 'endpoints', true, {
  shortNames: ['ep'],
  table: {
    columns: columns('Name', 'Endpoints', 'Age'),
    cells: (ep, now) => [ep.metadata?.name, formatEndpoints(ep), age(ep, now)],
  },
});
