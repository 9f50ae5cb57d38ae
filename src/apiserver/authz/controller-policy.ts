/**
 * One ClusterRole per controller, bound to its ServiceAccount in kube-system, as upstream's
 * controller_policy.go (`system:controller:NAME`, used with --use-service-account-credentials).
 * skiff's controller manager runs each controller under its account (see CONTROLLER_ACCOUNTS).
 */
import { eventsRule, r, READ, type BootstrapBinding, type BootstrapClusterRole } from './bootstrap-policy.js';

const core = '';
const apps = 'apps';
const ext = 'extensions';
const batch = 'batch';
const discovery = 'discovery.k8s.io';
const rbacGroup = 'rbac.authorization.k8s.io';

/** skiff controller name (controllers/manager.ts) → the ServiceAccount upstream runs it as. */
export const CONTROLLER_ACCOUNTS: Record<string, string> = {
  deployment: 'deployment-controller',
  replicaset: 'replicaset-controller',
  garbagecollector: 'generic-garbage-collector',
  namespace: 'namespace-controller',
  'node-lifecycle': 'node-controller',
  'pod-gc': 'pod-garbage-collector',
  serviceaccount: 'service-account-controller',
  endpoints: 'endpoint-controller',
  endpointslice: 'endpointslice-controller',
  job: 'job-controller',
  horizontalpodautoscaling: 'horizontal-pod-autoscaler',
  cronjob: 'cronjob-controller',
  daemonset: 'daemon-set-controller',
  statefulset: 'statefulset-controller',
  'service-lb': 'service-controller',
  'root-ca-cert-publisher': 'root-ca-cert-publisher',
  'clusterrole-aggregation': 'clusterrole-aggregation-controller',
  persistentvolume: 'persistent-volume-binder',
  timeline: 'timeline-controller',
  csrapproving: 'certificate-controller',
  csrsigning: 'certificate-controller',
  'node-ipam': 'node-ipam-controller',
};

const certificates = 'certificates.k8s.io';
const storage = 'storage.k8s.io';

const roles: Record<string, BootstrapClusterRole['rules']> = {
  'certificate-controller': [
    r(['get', 'list', 'watch', 'delete'], certificates, ['certificatesigningrequests']),
    r('update', certificates, ['certificatesigningrequests/status', 'certificatesigningrequests/approval']),
    r('approve', certificates, ['signers'], ['kubernetes.io/kube-apiserver-client-kubelet']),
    r('sign', certificates, ['signers'], ['kubernetes.io/kube-apiserver-client', 'kubernetes.io/kube-apiserver-client-kubelet', 'kubernetes.io/kubelet-serving']),
    r('create', 'authorization.k8s.io', ['subjectaccessreviews']),
    eventsRule(),
  ],
  // SKIFF: the why-timeline recorder (controllers/timeline.ts) reads what happens to pods and their
  // workloads and keeps one Timeline per object.
  'timeline-controller': [
    r(READ, core, ['events', 'pods', 'nodes']),
    r(READ, 'events.k8s.io', ['events']),
    r(READ, apps, ['replicasets', 'deployments']),
    r(['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'], 'skiff.dev', ['timelines']),
  ],
  'persistent-volume-binder': [
    r(['get', 'list', 'watch', 'update', 'create', 'delete'], core, ['persistentvolumes']),
    r('update', core, ['persistentvolumes/status']),
    r(['get', 'list', 'watch', 'update'], core, ['persistentvolumeclaims']),
    r('update', core, ['persistentvolumeclaims/status']),
    r(['list', 'watch', 'get', 'create', 'delete'], core, ['pods']),
    r(READ, storage, ['storageclasses']),
    r(['get', 'list'], core, ['nodes']),
    // SKIFF: one controller also does pvc/pv-protection and the local-path provisioner: it patches
    // finalizers, annotations and volumeName, watches nodes for their storage dir, and creates the
    // default StorageClass.
    r('patch', core, ['persistentvolumes', 'persistentvolumeclaims']),
    r('watch', core, ['nodes']),
    r('create', storage, ['storageclasses']),
    eventsRule(),
  ],
  'clusterrole-aggregation-controller': [r(['escalate', 'get', 'list', 'watch', 'update', 'patch'], rbacGroup, ['clusterroles'])],
  'cronjob-controller': [
    r(['get', 'list', 'watch', 'update'], batch, ['cronjobs']),
    r(['get', 'list', 'watch', 'create', 'update', 'delete', 'patch'], batch, ['jobs']),
    r('update', batch, ['cronjobs/status']),
    r('update', batch, ['cronjobs/finalizers']),
    r(['list', 'watch', 'delete'], core, ['pods']),
    eventsRule(),
  ],
  'daemon-set-controller': [
    r(READ, [ext, apps], ['daemonsets']),
    r('update', [ext, apps], ['daemonsets/status']),
    r('update', [ext, apps], ['daemonsets/finalizers']),
    r(['list', 'watch'], core, ['nodes']),
    r(['list', 'watch', 'create', 'delete', 'patch'], core, ['pods']),
    r('create', core, ['pods/binding']),
    r(['get', 'list', 'watch', 'create', 'delete', 'update', 'patch'], apps, ['controllerrevisions']),
    eventsRule(),
  ],
  'deployment-controller': [
    r(['get', 'list', 'watch', 'update'], [ext, apps], ['deployments']),
    r('update', [ext, apps], ['deployments/status']),
    r('update', [ext, apps], ['deployments/finalizers']),
    r(['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'], [apps, ext], ['replicasets']),
    r(['get', 'list', 'watch', 'update'], core, ['pods']),
    eventsRule(),
    // SKIFF: the revision annotation is written with a merge patch through the status subresource (upstream updates the object).
    r('patch', apps, ['deployments/status']),
  ],
  'disruption-controller': [
    r(READ, [ext, apps], ['deployments']),
    r(READ, [apps, ext], ['replicasets']),
    r(READ, core, ['replicationcontrollers']),
    r(READ, 'policy', ['poddisruptionbudgets']),
    r(READ, apps, ['statefulsets']),
    r('update', 'policy', ['poddisruptionbudgets/status']),
    r(['patch', 'update'], core, ['pods/status']),
    r('get', '*', ['*/scale']),
    eventsRule(),
  ],
  'endpoint-controller': [
    r(READ, core, ['services', 'pods']),
    r(['get', 'list', 'watch', 'create', 'update', 'delete'], core, ['endpoints']),
    r('create', core, ['endpoints/restricted']),
    eventsRule(),
  ],
  'endpointslice-controller': [
    r(READ, core, ['services', 'pods', 'nodes']),
    r('update', core, ['services/finalizers']),
    r(['get', 'list', 'watch', 'create', 'update', 'delete'], discovery, ['endpointslices']),
    eventsRule(),
  ],
  'generic-garbage-collector': [r(['get', 'list', 'watch', 'patch', 'update', 'delete'], '*', ['*']), eventsRule()],
  'horizontal-pod-autoscaler': [
    r(READ, 'autoscaling', ['horizontalpodautoscalers']),
    r('update', 'autoscaling', ['horizontalpodautoscalers/status']),
    r(['get', 'update'], '*', ['*/scale']),
    r(['list', 'watch'], core, ['pods']),
    r(['list', 'watch'], 'metrics.k8s.io', ['pods']),
    r(READ, 'custom.metrics.k8s.io', ['*']),
    r(READ, 'external.metrics.k8s.io', ['*']),
    eventsRule(),
  ],
  'job-controller': [
    r(['get', 'list', 'watch', 'update', 'patch'], batch, ['jobs']),
    r('update', batch, ['jobs/status']),
    r('update', batch, ['jobs/finalizers']),
    r(['list', 'watch', 'create', 'delete', 'patch'], core, ['pods']),
    eventsRule(),
    // SKIFF: ttlSecondsAfterFinished is enforced by the job controller itself (upstream: ttl-after-finished-controller).
    r('delete', batch, ['jobs']),
  ],
  'namespace-controller': [
    r(['get', 'list', 'watch', 'delete'], core, ['namespaces']),
    r('update', core, ['namespaces/finalize', 'namespaces/status']),
    r(['get', 'list', 'watch', 'delete', 'deletecollection'], '*', ['*']),
  ],
  'node-controller': [
    r(['get', 'list', 'watch', 'update', 'delete', 'patch'], core, ['nodes']),
    r(['patch', 'update'], core, ['nodes/status']),
    r(['patch', 'update'], core, ['pods/status']),
    r(['list', 'watch', 'get', 'delete'], core, ['pods']),
    eventsRule(),
  ],
  'node-ipam-controller': [r(['get', 'list', 'watch', 'update', 'patch'], core, ['nodes']), r(['patch', 'update'], core, ['nodes/status']), eventsRule()],
  'pod-garbage-collector': [r(['list', 'watch', 'delete'], core, ['pods']), r(READ, core, ['nodes']), r('patch', core, ['pods/status'])],
  'replicaset-controller': [
    r(['get', 'list', 'watch', 'update'], [apps, ext], ['replicasets']),
    r('update', [apps, ext], ['replicasets/status']),
    r('update', [apps, ext], ['replicasets/finalizers']),
    r(['list', 'watch', 'patch', 'create', 'delete'], core, ['pods']),
    eventsRule(),
  ],
  'replication-controller': [
    r(['get', 'list', 'watch', 'update'], core, ['replicationcontrollers']),
    r('update', core, ['replicationcontrollers/status']),
    r('update', core, ['replicationcontrollers/finalizers']),
    r(['list', 'watch', 'patch', 'create', 'delete'], core, ['pods']),
    eventsRule(),
  ],
  'resourcequota-controller': [r(['list', 'watch'], '*', ['*']), r('update', core, ['resourcequotas/status']), eventsRule()],
  'service-account-controller': [r('create', core, ['serviceaccounts']), eventsRule()],
  'service-controller': [
    r(READ, core, ['services']),
    r(['patch', 'update'], core, ['services/status']),
    r(['list', 'watch'], core, ['nodes']),
    eventsRule(),
  ],
  'statefulset-controller': [
    r(['list', 'watch'], core, ['pods']),
    r(READ, apps, ['statefulsets']),
    r('update', apps, ['statefulsets/status']),
    r('update', apps, ['statefulsets/finalizers']),
    r(['get', 'create', 'delete', 'update', 'patch'], core, ['pods']),
    r(['get', 'create', 'delete', 'update', 'patch', 'list', 'watch'], apps, ['controllerrevisions']),
    r(['get', 'create', 'list', 'watch'], core, ['persistentvolumeclaims']),
    r(['update', 'delete'], core, ['persistentvolumeclaims']),
    r('update', core, ['pods/finalizers']),
    eventsRule(),
  ],
  'ttl-after-finished-controller': [r(['get', 'list', 'watch', 'delete'], batch, ['jobs']), eventsRule()],
  'root-ca-cert-publisher': [r(['create', 'update'], core, ['configmaps']), eventsRule()],
  'pvc-protection-controller': [r(['get', 'list', 'watch', 'update'], core, ['persistentvolumeclaims']), r(READ, core, ['pods']), eventsRule()],
  'pv-protection-controller': [r(['get', 'list', 'watch', 'update'], core, ['persistentvolumes']), eventsRule()],
};

/** The `system:controller:*` roles. */
export const CONTROLLER_ROLES: BootstrapClusterRole[] = Object.entries(roles).map(([sa, rules]) => ({ name: `system:controller:${sa}`, rules }));

/** Each controller role bound to its ServiceAccount kube-system/NAME. */
export const CONTROLLER_ROLE_BINDINGS: BootstrapBinding[] = Object.keys(roles).map((sa) => ({
  name: `system:controller:${sa}`,
  role: `system:controller:${sa}`,
  subjects: [{ kind: 'ServiceAccount', name: sa, namespace: 'kube-system' }],
}));
