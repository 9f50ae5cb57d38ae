/** Smaller API groups: coordination, discovery, events.k8s.io, scheduling, rbac, policy. */
import { fieldErrors, type FieldError } from '../errors.js';
import type { KObject, ResourceDef } from '../registry.js';
import { age } from '../meta.js';
import { validateLabelSelector } from '../labels.js';

type Obj = Record<string, any>;
const specOf = (o: KObject) => (o.spec ?? {}) as Obj;

const nameAge = (kind: string, group: string, plural: string, singular: string, namespaced: boolean, extra: Partial<ResourceDef> = {}): ResourceDef => ({
  group,
  versions: ['v1'],
  kind,
  plural,
  singular,
  namespaced,
  strategy: {},
  ...extra,
});

const leases = nameAge('Lease', 'coordination.k8s.io', 'leases', 'lease', true, {
  table: {
    columns: [
      { name: 'Name', type: 'string', format: 'name' },
      { name: 'Holder', type: 'string' },
      { name: 'Age', type: 'string' },
    ],
    cells: (l, now) => [l.metadata?.name, specOf(l).holderIdentity ?? '', age(l, now)],
  },
});

const endpointslices = nameAge('EndpointSlice', 'discovery.k8s.io', 'endpointslices', 'endpointslice', true, {
  strategy: {
    validate(obj) {
      const errs: FieldError[] = [];
      const t = obj.addressType;
      if (!t) errs.push(fieldErrors.required('addressType'));
      else if (!['IPv4', 'IPv6', 'FQDN'].includes(String(t))) errs.push(fieldErrors.notSupported('addressType', t, ['FQDN', 'IPv4', 'IPv6']));
      return errs;
    },
  },
  table: {
    columns: [
      { name: 'Name', type: 'string', format: 'name' },
      { name: 'AddressType', type: 'string' },
      { name: 'Ports', type: 'string' },
      { name: 'Endpoints', type: 'string' },
      { name: 'Age', type: 'string' },
    ],
    cells: (s: Obj, now) => {
      const ports = ((s.ports ?? []) as Obj[]).map((p) => p.port).filter((p) => p !== undefined);
      const addrs = ((s.endpoints ?? []) as Obj[]).flatMap((e) => e.addresses ?? []);
      const shown = addrs.slice(0, 3).join(',');
      return [s.metadata?.name, s.addressType, ports.length ? ports.join(',') : '<unset>', addrs.length ? (addrs.length > 3 ? `${shown} + ${addrs.length - 3} more...` : shown) : '<unset>', age(s, now)];
    },
  },
});

const eventsV1 = nameAge('Event', 'events.k8s.io', 'events', 'event', true, { shortNames: ['ev'] });

const priorityclasses = nameAge('PriorityClass', 'scheduling.k8s.io', 'priorityclasses', 'priorityclass', false, {
  shortNames: ['pc'],
  strategy: {
    defaults(obj) {
      obj.preemptionPolicy ??= 'PreemptLowerPriority';
    },
    validate(obj) {
      const errs: FieldError[] = [];
      if (typeof obj.value !== 'number' || !Number.isInteger(obj.value)) errs.push(fieldErrors.required('value'));
      else if (obj.value > 1_000_000_000 && !String(obj.metadata?.name).startsWith('system-')) {
        errs.push(fieldErrors.forbidden('value', 'maximum allowed value of a user defined priority is 1000000000'));
      }
      return errs;
    },
    validateUpdate(obj, old) {
      const errs = priorityclasses.strategy.validate!(obj);
      if (obj.value !== old.value) errs.push(fieldErrors.forbidden('value', 'may not be changed in an update.'));
      return errs;
    },
  },
  table: {
    columns: [
      { name: 'Name', type: 'string', format: 'name' },
      { name: 'Value', type: 'integer' },
      { name: 'Global-Default', type: 'boolean' },
      { name: 'Age', type: 'string' },
      { name: 'PreemptionPolicy', type: 'string' },
    ],
    cells: (pc, now) => [pc.metadata?.name, pc.value, !!pc.globalDefault, age(pc, now), pc.preemptionPolicy ?? 'PreemptLowerPriority'],
  },
});

const createdAt = {
  columns: [
    { name: 'Name', type: 'string' as const, format: 'name' },
    { name: 'Created At', type: 'date' as const },
  ],
  cells: (o: KObject) => [o.metadata?.name, o.metadata?.creationTimestamp],
};

const bindingTable = {
  columns: [
    { name: 'Name', type: 'string' as const, format: 'name' },
    { name: 'Role', type: 'string' as const },
    { name: 'Age', type: 'string' as const },
    { name: 'Users', type: 'string' as const, priority: 1 },
    { name: 'Groups', type: 'string' as const, priority: 1 },
    { name: 'ServiceAccounts', type: 'string' as const, priority: 1 },
  ],
  cells: (b: KObject, now: number) => {
    const subjects = (b.subjects ?? []) as Obj[];
    const ref = (b.roleRef ?? {}) as Obj;
    const of = (k: string) => subjects.filter((s) => s.kind === k).map((s) => (k === 'ServiceAccount' ? `${s.namespace ?? ''}/${s.name}` : s.name)).join(', ');
    return [b.metadata?.name, `${ref.kind}/${ref.name}`, age(b, now), of('User'), of('Group'), of('ServiceAccount')];
  },
};

const rbac = 'rbac.authorization.k8s.io';
const validateRoleRef = (obj: KObject): FieldError[] => {
  const ref = obj.roleRef as Obj | undefined;
  const errs: FieldError[] = [];
  if (!ref?.name) errs.push(fieldErrors.required('roleRef.name'));
  if (!ref?.kind) errs.push(fieldErrors.required('roleRef.kind'));
  return errs;
};
const roles = nameAge('Role', rbac, 'roles', 'role', true, { table: createdAt, nameRule: 'PathSegment' });
const clusterroles = nameAge('ClusterRole', rbac, 'clusterroles', 'clusterrole', false, { table: createdAt, nameRule: 'PathSegment' });
const rolebindings = nameAge('RoleBinding', rbac, 'rolebindings', 'rolebinding', true, {
  table: bindingTable,
  nameRule: 'PathSegment',
  strategy: { validate: validateRoleRef },
});
const clusterrolebindings = nameAge('ClusterRoleBinding', rbac, 'clusterrolebindings', 'clusterrolebinding', false, {
  table: bindingTable,
  nameRule: 'PathSegment',
  strategy: { validate: validateRoleRef },
});

const poddisruptionbudgets = nameAge('PodDisruptionBudget', 'policy', 'poddisruptionbudgets', 'poddisruptionbudget', true, {
  shortNames: ['pdb'],
  subresources: ['status'],
  strategy: {
    hasStatus: true,
    tracksGeneration: true,
    validate(obj) {
      const spec = specOf(obj);
      const errs = validateLabelSelector(spec.selector, 'spec.selector');
      if (spec.minAvailable !== undefined && spec.maxUnavailable !== undefined) {
        errs.push(fieldErrors.invalid('spec', spec, 'minAvailable and maxUnavailable cannot be both set'));
      }
      return errs;
    },
  },
  table: {
    columns: [
      { name: 'Name', type: 'string', format: 'name' },
      { name: 'Min Available', type: 'string' },
      { name: 'Max Unavailable', type: 'string' },
      { name: 'Allowed Disruptions', type: 'integer' },
      { name: 'Age', type: 'string' },
    ],
    cells: (p, now) => [p.metadata?.name, specOf(p).minAvailable ?? 'N/A', specOf(p).maxUnavailable ?? 'N/A', (p.status as Obj | undefined)?.disruptionsAllowed ?? 0, age(p, now)],
  },
});

const ingresses = nameAge('Ingress', 'networking.k8s.io', 'ingresses', 'ingress', true, {
  shortNames: ['ing'],
  subresources: ['status'],
  strategy: { hasStatus: true, tracksGeneration: true },
  table: {
    columns: [
      { name: 'Name', type: 'string', format: 'name' },
      { name: 'Class', type: 'string' },
      { name: 'Hosts', type: 'string' },
      { name: 'Address', type: 'string' },
      { name: 'Ports', type: 'string' },
      { name: 'Age', type: 'string' },
    ],
    cells: (ing, now) => {
      const spec = specOf(ing);
      const hosts = ((spec.rules ?? []) as Obj[]).map((r) => r.host).filter(Boolean);
      const lb = (((ing.status as Obj | undefined)?.loadBalancer?.ingress ?? []) as Obj[]).map((i) => i.ip || i.hostname);
      return [ing.metadata?.name, spec.ingressClassName ?? '<none>', hosts.length ? hosts.join(',') : '*', lb.join(','), spec.tls?.length ? '80, 443' : '80', age(ing, now)];
    },
  },
});
const ingressclasses = nameAge('IngressClass', 'networking.k8s.io', 'ingressclasses', 'ingressclass', false);
const networkpolicies = nameAge('NetworkPolicy', 'networking.k8s.io', 'networkpolicies', 'networkpolicy', true, {
  shortNames: ['netpol'],
  strategy: { tracksGeneration: true },
});
const storageclasses = nameAge('StorageClass', 'storage.k8s.io', 'storageclasses', 'storageclass', false, { shortNames: ['sc'] });

export const miscResources: ResourceDef[] = [
  ingresses,
  ingressclasses,
  networkpolicies,
  storageclasses,
  leases,
  endpointslices,
  eventsV1,
  priorityclasses,
  roles,
  clusterroles,
  rolebindings,
  clusterrolebindings,
  poddisruptionbudgets,
];
