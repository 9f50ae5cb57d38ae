/**
 * The default RBAC policy every cluster starts with, as data: upstream's bootstrappolicy
 * (plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go and controller_policy.go, v1.32),
 * plus rules skiff's own components need, each in a role named `skiff:…` or marked SKIFF below.
 * Reconciled at server start by bootstrap-reconcile.ts.
 */
import type { PolicyRule } from './rbac-rules.js';

export interface BootstrapClusterRole {
  name: string;
  labels?: Record<string, string>;
  rules?: PolicyRule[];
  /** ClusterRole selectors whose rules are aggregated into this role. */
  aggregateFrom?: string[];
}

export interface BootstrapBinding {
  name: string;
  role: string;
  subjects: { kind: 'User' | 'Group' | 'ServiceAccount'; name: string; namespace?: string }[];
}

export const READ = ['get', 'list', 'watch'];
const WRITE = ['create', 'update', 'patch', 'delete', 'deletecollection'];
const READ_WRITE = [...READ, ...WRITE];
const READ_UPDATE = [...READ, 'update', 'patch'];

const core = '';
const apps = 'apps';
const ext = 'extensions';
const batch = 'batch';
const autoscaling = 'autoscaling';
const policy = 'policy';
const networking = 'networking.k8s.io';
const discovery = 'discovery.k8s.io';
const coordination = 'coordination.k8s.io';
const storage = 'storage.k8s.io';
const authn = 'authentication.k8s.io';
const authz = 'authorization.k8s.io';
const rbacGroup = 'rbac.authorization.k8s.io';
const certificates = 'certificates.k8s.io';
const events = 'events.k8s.io';

/** A resource rule: verbs on resources of groups (optionally only the named objects). */
export function r(verbs: string[] | string, groups: string[] | string, resources: string[], resourceNames?: string[]): PolicyRule {
  const rule: PolicyRule = { verbs: [verbs].flat(), apiGroups: [groups].flat(), resources };
  if (resourceNames) rule.resourceNames = resourceNames;
  return rule;
}

/** A non-resource rule. */
export function u(verbs: string[] | string, urls: string[]): PolicyRule {
  return { verbs: [verbs].flat(), nonResourceURLs: urls };
}

/** Upstream's eventsRule. */
export const eventsRule = (): PolicyRule => r(['create', 'update', 'patch'], [core, events], ['events']);

export const AGGREGATE_TO = (role: 'admin' | 'edit' | 'view') => `rbac.authorization.k8s.io/aggregate-to-${role}`;

/** Cluster roles (upstream clusterRoles()). */
export const CLUSTER_ROLES: BootstrapClusterRole[] = [
  { name: 'cluster-admin', rules: [r('*', '*', ['*']), u('*', ['*'])] },
  {
    name: 'system:discovery',
    rules: [u('get', ['/livez', '/readyz', '/healthz', '/version', '/version/', '/openapi', '/openapi/*', '/api', '/api/*', '/apis', '/apis/*'])],
  },
  {
    name: 'system:monitoring',
    rules: [u('get', ['/metrics', '/metrics/slis', '/livez', '/readyz', '/healthz', '/livez/*', '/readyz/*', '/healthz/*'])],
  },
  {
    name: 'system:basic-user',
    rules: [r('create', authz, ['selfsubjectaccessreviews', 'selfsubjectrulesreviews']), r('create', authn, ['selfsubjectreviews'])],
  },
  { name: 'system:public-info-viewer', rules: [u('get', ['/livez', '/readyz', '/healthz', '/version', '/version/'])] },
  { name: 'admin', aggregateFrom: [AGGREGATE_TO('admin')] },
  { name: 'edit', labels: { [AGGREGATE_TO('admin')]: 'true' }, aggregateFrom: [AGGREGATE_TO('edit')] },
  { name: 'view', labels: { [AGGREGATE_TO('edit')]: 'true' }, aggregateFrom: [AGGREGATE_TO('view')] },
  {
    name: 'system:aggregate-to-admin',
    labels: { [AGGREGATE_TO('admin')]: 'true' },
    rules: [r('create', authz, ['localsubjectaccessreviews']), r(READ_WRITE, rbacGroup, ['roles', 'rolebindings'])],
  },
  {
    name: 'system:aggregate-to-edit',
    labels: { [AGGREGATE_TO('edit')]: 'true' },
    rules: [
      r(READ, core, ['pods/attach', 'pods/proxy', 'pods/exec', 'pods/portforward', 'secrets', 'services/proxy']),
      r('impersonate', core, ['serviceaccounts']),
      r(WRITE, core, ['pods', 'pods/attach', 'pods/proxy', 'pods/exec', 'pods/portforward']),
      r('create', core, ['pods/eviction']),
      r(WRITE, core, ['replicationcontrollers', 'replicationcontrollers/scale', 'serviceaccounts', 'services', 'services/proxy', 'persistentvolumeclaims', 'configmaps', 'secrets', 'events']),
      r('create', core, ['serviceaccounts/token']),
      r(WRITE, apps, ['statefulsets', 'statefulsets/scale', 'daemonsets', 'deployments', 'deployments/scale', 'deployments/rollback', 'replicasets', 'replicasets/scale']),
      r(WRITE, autoscaling, ['horizontalpodautoscalers']),
      r(WRITE, batch, ['jobs', 'cronjobs']),
      r(WRITE, ext, ['daemonsets', 'deployments', 'deployments/scale', 'deployments/rollback', 'ingresses', 'replicasets', 'replicasets/scale', 'replicationcontrollers/scale', 'networkpolicies']),
      r(WRITE, policy, ['poddisruptionbudgets']),
      r(WRITE, networking, ['networkpolicies', 'ingresses']),
    ],
  },
  {
    name: 'system:aggregate-to-view',
    labels: { [AGGREGATE_TO('view')]: 'true' },
    rules: [
      r(READ, core, ['pods', 'replicationcontrollers', 'replicationcontrollers/scale', 'serviceaccounts', 'services', 'services/status', 'endpoints', 'persistentvolumeclaims', 'persistentvolumeclaims/status', 'configmaps']),
      r(READ, core, ['limitranges', 'resourcequotas', 'bindings', 'events', 'pods/status', 'resourcequotas/status', 'namespaces/status', 'replicationcontrollers/status', 'pods/log']),
      r(READ, core, ['namespaces']),
      r(READ, discovery, ['endpointslices']),
      r(READ, apps, ['controllerrevisions', 'statefulsets', 'statefulsets/status', 'statefulsets/scale', 'daemonsets', 'daemonsets/status', 'deployments', 'deployments/status', 'deployments/scale', 'replicasets', 'replicasets/status', 'replicasets/scale']),
      r(READ, autoscaling, ['horizontalpodautoscalers', 'horizontalpodautoscalers/status']),
      r(READ, batch, ['jobs', 'cronjobs', 'cronjobs/status', 'jobs/status']),
      r(READ, ext, ['daemonsets', 'daemonsets/status', 'deployments', 'deployments/scale', 'deployments/status', 'ingresses', 'ingresses/status', 'replicasets', 'replicasets/scale', 'replicasets/status', 'replicationcontrollers/scale', 'networkpolicies']),
      r(READ, policy, ['poddisruptionbudgets', 'poddisruptionbudgets/status']),
      r(READ, networking, ['networkpolicies', 'ingresses', 'ingresses/status']),
      // SKIFF: the why-timelines of the objects a viewer may read.
      r(READ, 'skiff.dev', ['timelines']),
    ],
  },
  {
    name: 'system:heapster',
    rules: [r(READ, core, ['events', 'pods', 'nodes', 'namespaces']), r(READ, ext, ['deployments'])],
  },
  {
    name: 'system:node',
    rules: [
      r('create', authn, ['tokenreviews']),
      r('create', authz, ['subjectaccessreviews', 'localsubjectaccessreviews']),
      r(READ, core, ['services']),
      r(['create', 'get', 'list', 'watch'], core, ['nodes']),
      r(['update', 'patch'], core, ['nodes/status']),
      r(['update', 'patch'], core, ['nodes']),
      r(['create', 'update', 'patch'], core, ['events']),
      r(READ, core, ['pods']),
      r(['create', 'delete'], core, ['pods']),
      r(['update', 'patch'], core, ['pods/status']),
      r('create', core, ['pods/eviction']),
      r(READ, core, ['secrets', 'configmaps']),
      r('get', core, ['persistentvolumeclaims', 'persistentvolumes']),
      r('get', core, ['endpoints']),
      r(['create', 'get', 'list', 'watch'], certificates, ['certificatesigningrequests']),
      r(['get', 'create', 'update', 'patch', 'delete'], coordination, ['leases']),
      r('get', storage, ['volumeattachments']),
      r('create', core, ['serviceaccounts/token']),
      r(['get', 'update', 'patch'], core, ['persistentvolumeclaims/status']),
      r(READ, storage, ['csidrivers']),
      r(['get', 'create', 'update', 'patch', 'delete'], storage, ['csinodes']),
      r(READ, 'node.k8s.io', ['runtimeclasses']),
      // SKIFF: a joined agent runs the service proxy (kube-proxy) under its node identity.
      r(READ, discovery, ['endpointslices']),
    ],
  },
  { name: 'system:node-problem-detector', rules: [r('get', core, ['nodes']), r('patch', core, ['nodes/status']), eventsRule()] },
  {
    name: 'system:kubelet-api-admin',
    rules: [r(READ, core, ['nodes']), r('proxy', core, ['nodes']), r('*', core, ['nodes/proxy', 'nodes/metrics', 'nodes/spec', 'nodes/stats', 'nodes/log'])],
  },
  { name: 'system:node-bootstrapper', rules: [r(['create', 'get', 'list', 'watch'], certificates, ['certificatesigningrequests'])] },
  { name: 'system:auth-delegator', rules: [r('create', authn, ['tokenreviews']), r('create', authz, ['subjectaccessreviews'])] },
  { name: 'system:kube-aggregator', rules: [r(READ, core, ['services', 'endpoints'])] },
  {
    name: 'system:kube-controller-manager',
    rules: [
      eventsRule(),
      r('create', coordination, ['leases']),
      r(['get', 'update'], coordination, ['leases'], ['kube-controller-manager']),
      r('create', core, ['endpoints']),
      r(['get', 'update'], core, ['endpoints'], ['kube-controller-manager']),
      r('create', core, ['secrets', 'serviceaccounts']),
      r('delete', core, ['secrets']),
      r('get', core, ['namespaces', 'secrets', 'serviceaccounts', 'configmaps']),
      r('update', core, ['secrets', 'serviceaccounts']),
      r('create', authn, ['tokenreviews']),
      r('create', authz, ['subjectaccessreviews']),
      r(['list', 'watch'], '*', ['*']),
      r('create', core, ['serviceaccounts/token']),
    ],
  },
  { name: 'system:kube-dns', rules: [r(['list', 'watch'], core, ['endpoints', 'services'])] },
  {
    name: 'system:persistent-volume-provisioner',
    rules: [
      r(['get', 'list', 'watch', 'create', 'delete'], core, ['persistentvolumes']),
      r(['get', 'list', 'watch', 'update'], core, ['persistentvolumeclaims']),
      r(READ, storage, ['storageclasses']),
      r('watch', core, ['events']),
      eventsRule(),
    ],
  },
  { name: 'system:certificates.k8s.io:certificatesigningrequests:nodeclient', rules: [r('create', certificates, ['certificatesigningrequests/nodeclient'])] },
  { name: 'system:certificates.k8s.io:certificatesigningrequests:selfnodeclient', rules: [r('create', certificates, ['certificatesigningrequests/selfnodeclient'])] },
  {
    name: 'system:volume-scheduler',
    rules: [r(READ_UPDATE, core, ['persistentvolumes']), r(READ, storage, ['storageclasses']), r(READ_UPDATE, core, ['persistentvolumeclaims'])],
  },
  { name: 'system:certificates.k8s.io:legacy-unknown-approver', rules: [r('approve', certificates, ['signers'], ['kubernetes.io/legacy-unknown'])] },
  { name: 'system:certificates.k8s.io:kubelet-serving-approver', rules: [r('approve', certificates, ['signers'], ['kubernetes.io/kubelet-serving'])] },
  { name: 'system:certificates.k8s.io:kube-apiserver-client-approver', rules: [r('approve', certificates, ['signers'], ['kubernetes.io/kube-apiserver-client'])] },
  {
    name: 'system:certificates.k8s.io:kube-apiserver-client-kubelet-approver',
    rules: [r('approve', certificates, ['signers'], ['kubernetes.io/kube-apiserver-client-kubelet'])],
  },
  {
    name: 'system:service-account-issuer-discovery',
    rules: [u('get', ['/.well-known/openid-configuration', '/.well-known/openid-configuration/', '/openid/v1/jwks', '/openid/v1/jwks/'])],
  },
  {
    // kube-proxy; skiff's cluster DNS runs under the same identity and reads the same objects.
    name: 'system:node-proxier',
    rules: [r(['list', 'watch'], core, ['services', 'endpoints']), r(READ, core, ['nodes']), eventsRule(), r(['list', 'watch'], discovery, ['endpointslices'])],
  },
  {
    name: 'system:kube-scheduler',
    rules: [
      eventsRule(),
      r('create', coordination, ['leases']),
      r(['get', 'update'], coordination, ['leases'], ['kube-scheduler']),
      r('create', core, ['endpoints']),
      r(['get', 'update'], core, ['endpoints'], ['kube-scheduler']),
      r(READ, core, ['nodes']),
      r(READ, core, ['namespaces']),
      r(['get', 'list', 'watch', 'delete'], core, ['pods']),
      r('create', core, ['pods/binding', 'bindings']),
      r(['patch', 'update'], core, ['pods/status']),
      r(READ, core, ['services', 'replicationcontrollers']),
      r(READ, [apps, ext], ['replicasets']),
      r(READ, apps, ['statefulsets']),
      r(READ, policy, ['poddisruptionbudgets']),
      r(READ, core, ['persistentvolumeclaims', 'persistentvolumes']),
      r('create', authn, ['tokenreviews']),
      r('create', authz, ['subjectaccessreviews']),
      r(READ, storage, ['csinodes']),
      r(READ, storage, ['csidrivers']),
      r(READ, storage, ['csistoragecapacities']),
    ],
  },
];

/** Default ClusterRoleBindings (upstream clusterRoleBindings()). */
export const CLUSTER_ROLE_BINDINGS: BootstrapBinding[] = [
  { name: 'cluster-admin', role: 'cluster-admin', subjects: [{ kind: 'Group', name: 'system:masters' }] },
  { name: 'system:monitoring', role: 'system:monitoring', subjects: [{ kind: 'Group', name: 'system:monitoring' }] },
  { name: 'system:discovery', role: 'system:discovery', subjects: [{ kind: 'Group', name: 'system:authenticated' }] },
  { name: 'system:basic-user', role: 'system:basic-user', subjects: [{ kind: 'Group', name: 'system:authenticated' }] },
  {
    name: 'system:public-info-viewer',
    role: 'system:public-info-viewer',
    subjects: [{ kind: 'Group', name: 'system:authenticated' }, { kind: 'Group', name: 'system:unauthenticated' }],
  },
  { name: 'system:node-proxier', role: 'system:node-proxier', subjects: [{ kind: 'User', name: 'system:kube-proxy' }] },
  { name: 'system:kube-controller-manager', role: 'system:kube-controller-manager', subjects: [{ kind: 'User', name: 'system:kube-controller-manager' }] },
  { name: 'system:kube-dns', role: 'system:kube-dns', subjects: [{ kind: 'ServiceAccount', name: 'kube-dns', namespace: 'kube-system' }] },
  { name: 'system:kube-scheduler', role: 'system:kube-scheduler', subjects: [{ kind: 'User', name: 'system:kube-scheduler' }] },
  { name: 'system:volume-scheduler', role: 'system:volume-scheduler', subjects: [{ kind: 'User', name: 'system:kube-scheduler' }] },
  // Deprecated since the Node authorizer; kept without subjects, as upstream.
  { name: 'system:node', role: 'system:node', subjects: [] },
  {
    name: 'system:service-account-issuer-discovery',
    role: 'system:service-account-issuer-discovery',
    subjects: [{ kind: 'Group', name: 'system:serviceaccounts' }],
  },
  // SKIFF (as kubeadm's and k3s's join setup): holders of a node token may ask for a node client
  // certificate, which the approver signs; nodes may renew their own.
  { name: 'skiff:node-bootstrapper', role: 'system:node-bootstrapper', subjects: [{ kind: 'Group', name: 'system:bootstrappers' }] },
  {
    name: 'skiff:node-autoapprove-bootstrap',
    role: 'system:certificates.k8s.io:certificatesigningrequests:nodeclient',
    subjects: [{ kind: 'Group', name: 'system:bootstrappers' }],
  },
  {
    name: 'skiff:node-autoapprove-certificate-rotation',
    role: 'system:certificates.k8s.io:certificatesigningrequests:selfnodeclient',
    subjects: [{ kind: 'Group', name: 'system:nodes' }],
  },
];
