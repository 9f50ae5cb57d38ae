/** Smaller API groups: coordination, discovery, events.k8s.io, scheduling, rbac, policy. */
import { fieldErrors, type FieldError } from '../errors.js';
import type { KObject, Obj, ResourceDef } from '../registry.js';
import { age } from '../meta.js';
import { validateLabelSelector } from '../labels.js';
import { columns, defineResource, specOf, wide } from './common.js';

const leases = defineResource('coordination.k8s.io', 'Lease', 'leases', true, {
  table: {
    columns: columns('Name', 'Holder', 'Age'),
    cells: (l, now) => [l.metadata?.name, specOf(l).holderIdentity ?? '', age(l, now)],
  },
});

const endpointslices = defineResource('discovery.k8s.io', 'EndpointSlice', 'endpointslices', true, {
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
    columns: columns('Name', 'AddressType', 'Ports', 'Endpoints', 'Age'),
    cells: (s: Obj, now) => {
      const ports = ((s.ports ?? []) as Obj[]).map((p) => p.port).filter((p) => p !== undefined);
      const addrs = ((s.endpoints ?? []) as Obj[]).flatMap((e) => e.addresses ?? []);
      const shown = addrs.slice(0, 3).join(',');
      return [s.metadata?.name, s.addressType, ports.length ? ports.join(',') : '<unset>', addrs.length ? (addrs.length > 3 ? `${shown} + ${addrs.length - 3} more...` : shown) : '<unset>', age(s, now)];
    },
  },
});

const eventsV1 = defineResource('events.k8s.io', 'Event', 'events', true, { shortNames: ['ev'] });

const priorityclasses = defineResource('scheduling.k8s.io', 'PriorityClass', 'priorityclasses', false, {
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
    columns: columns('Name', { name: 'Value', type: 'integer' }, { name: 'Global-Default', type: 'boolean' }, 'Age', 'PreemptionPolicy'),
    cells: (pc, now) => [pc.metadata?.name, pc.value, !!pc.globalDefault, age(pc, now), pc.preemptionPolicy ?? 'PreemptLowerPriority'],
  },
});

const createdAt = {
  columns: columns('Name', { name: 'Created At', type: 'date' }),
  cells: (o: KObject) => [o.metadata?.name, o.metadata?.creationTimestamp],
};

const bindingTable = {
  columns: columns('Name', 'Role', 'Age', wide('Users'), wide('Groups'), wide('ServiceAccounts')),
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
const roles = defineResource(rbac, 'Role', 'roles', true, { table: createdAt, nameRule: 'PathSegment' });
const clusterroles = defineResource(rbac, 'ClusterRole', 'clusterroles', false, { table: createdAt, nameRule: 'PathSegment' });
const rolebindings = defineResource(rbac, 'RoleBinding', 'rolebindings', true, {
  table: bindingTable,
  nameRule: 'PathSegment',
  strategy: { validate: validateRoleRef },
});
const clusterrolebindings = defineResource(rbac, 'ClusterRoleBinding', 'clusterrolebindings', false, {
  table: bindingTable,
  nameRule: 'PathSegment',
  strategy: { validate: validateRoleRef },
});

const poddisruptionbudgets = defineResource('policy', 'PodDisruptionBudget', 'poddisruptionbudgets', true, {
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
    columns: columns('Name', 'Min Available', 'Max Unavailable', { name: 'Allowed Disruptions', type: 'integer' }, 'Age'),
    cells: (p, now) => [p.metadata?.name, specOf(p).minAvailable ?? 'N/A', specOf(p).maxUnavailable ?? 'N/A', (p.status as Obj | undefined)?.disruptionsAllowed ?? 0, age(p, now)],
  },
});

const ingresses = defineResource('networking.k8s.io', 'Ingress', 'ingresses', true, {
  shortNames: ['ing'],
  subresources: ['status'],
  strategy: { hasStatus: true, tracksGeneration: true },
  table: {
    columns: columns('Name', 'Class', 'Hosts', 'Address', 'Ports', 'Age'),
    cells: (ing, now) => {
      const spec = specOf(ing);
      const hosts = ((spec.rules ?? []) as Obj[]).map((r) => r.host).filter(Boolean);
      const lb = (((ing.status as Obj | undefined)?.loadBalancer?.ingress ?? []) as Obj[]).map((i) => i.ip || i.hostname);
      return [ing.metadata?.name, spec.ingressClassName ?? '<none>', hosts.length ? hosts.join(',') : '*', lb.join(','), spec.tls?.length ? '80, 443' : '80', age(ing, now)];
    },
  },
});
const ingressclasses = defineResource('networking.k8s.io', 'IngressClass', 'ingressclasses', false);
const networkpolicies = defineResource('networking.k8s.io', 'NetworkPolicy', 'networkpolicies', true, {
  shortNames: ['netpol'],
  strategy: { tracksGeneration: true },
});
const storageclasses = defineResource('storage.k8s.io', 'StorageClass', 'storageclasses', false, {
  shortNames: ['sc'],
  table: {
    // As upstream's printer: the default class is marked in its name.
    columns: columns('Name', 'Provisioner', 'ReclaimPolicy', 'VolumeBindingMode', 'AllowVolumeExpansion', 'Age'),
    cells: (sc: Obj, now) => [
      sc.metadata?.annotations?.['storageclass.kubernetes.io/is-default-class'] === 'true' ? `${sc.metadata?.name} (default)` : sc.metadata?.name,
      sc.provisioner ?? '',
      sc.reclaimPolicy ?? 'Delete',
      sc.volumeBindingMode ?? 'Immediate',
      String(sc.allowVolumeExpansion ?? false),
      age(sc as KObject, now),
    ],
  },
});

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
