/** ResourceRef constants for the built-in resources the components use. */
import type { ResourceRef } from './types.js';

const core = (resource: string, kind: string, namespaced = true): ResourceRef => ({ group: '', version: 'v1', resource, namespaced, kind });
const grp = (group: string, version: string, resource: string, kind: string, namespaced = true): ResourceRef => ({ group, version, resource, namespaced, kind });

export const PODS = core('pods', 'Pod');
export const NODES = core('nodes', 'Node', false);
export const NAMESPACES = core('namespaces', 'Namespace', false);
export const EVENTS = core('events', 'Event');
export const SERVICE_ACCOUNTS = core('serviceaccounts', 'ServiceAccount');
export const SERVICES = core('services', 'Service');
export const ENDPOINTS = core('endpoints', 'Endpoints');
export const CONFIGMAPS = core('configmaps', 'ConfigMap');
export const SECRETS = core('secrets', 'Secret');
export const PERSISTENT_VOLUME_CLAIMS = core('persistentvolumeclaims', 'PersistentVolumeClaim');
export const PERSISTENT_VOLUMES = core('persistentvolumes', 'PersistentVolume', false);
export const REPLICATION_CONTROLLERS = core('replicationcontrollers', 'ReplicationController');
export const RESOURCE_QUOTAS = core('resourcequotas', 'ResourceQuota');
export const LIMIT_RANGES = core('limitranges', 'LimitRange');
export const LEASES = grp('coordination.k8s.io', 'v1', 'leases', 'Lease');
export const DEPLOYMENTS = grp('apps', 'v1', 'deployments', 'Deployment');
export const REPLICASETS = grp('apps', 'v1', 'replicasets', 'ReplicaSet');
export const DAEMONSETS = grp('apps', 'v1', 'daemonsets', 'DaemonSet');
export const STATEFULSETS = grp('apps', 'v1', 'statefulsets', 'StatefulSet');
export const CONTROLLER_REVISIONS = grp('apps', 'v1', 'controllerrevisions', 'ControllerRevision');
export const JOBS = grp('batch', 'v1', 'jobs', 'Job');
export const CRONJOBS = grp('batch', 'v1', 'cronjobs', 'CronJob');
export const HORIZONTAL_POD_AUTOSCALERS = grp('autoscaling', 'v2', 'horizontalpodautoscalers', 'HorizontalPodAutoscaler');
export const ENDPOINT_SLICES = grp('discovery.k8s.io', 'v1', 'endpointslices', 'EndpointSlice');
export const STORAGE_CLASSES = grp('storage.k8s.io', 'v1', 'storageclasses', 'StorageClass', false);
export const CERTIFICATE_SIGNING_REQUESTS = grp('certificates.k8s.io', 'v1', 'certificatesigningrequests', 'CertificateSigningRequest', false);
export const INGRESSES = grp('networking.k8s.io', 'v1', 'ingresses', 'Ingress');
export const NETWORK_POLICIES = grp('networking.k8s.io', 'v1', 'networkpolicies', 'NetworkPolicy');
export const POD_DISRUPTION_BUDGETS = grp('policy', 'v1', 'poddisruptionbudgets', 'PodDisruptionBudget');
export const ROLES = grp('rbac.authorization.k8s.io', 'v1', 'roles', 'Role');
export const ROLE_BINDINGS = grp('rbac.authorization.k8s.io', 'v1', 'rolebindings', 'RoleBinding');
export const CLUSTER_ROLES = grp('rbac.authorization.k8s.io', 'v1', 'clusterroles', 'ClusterRole', false);
export const CLUSTER_ROLE_BINDINGS = grp('rbac.authorization.k8s.io', 'v1', 'clusterrolebindings', 'ClusterRoleBinding', false);
export const EVENTS_V1 = grp('events.k8s.io', 'v1', 'events', 'Event');
export const TIMELINES = grp('skiff.dev', 'v1', 'timelines', 'Timeline');

/** "apps/v1" or "v1". */
export function apiVersionOf(r: ResourceRef): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

/** The namespaced resources a namespace deletion empties and the garbage collector watches by default. */
export const NAMESPACED_RESOURCES: readonly ResourceRef[] = [
  DEPLOYMENTS, REPLICASETS, DAEMONSETS, STATEFULSETS, CONTROLLER_REVISIONS, JOBS, CRONJOBS,
  HORIZONTAL_POD_AUTOSCALERS, PODS, SERVICES, ENDPOINTS, ENDPOINT_SLICES, CONFIGMAPS, SECRETS,
  PERSISTENT_VOLUME_CLAIMS, REPLICATION_CONTROLLERS, RESOURCE_QUOTAS, LIMIT_RANGES, INGRESSES,
  NETWORK_POLICIES, POD_DISRUPTION_BUDGETS, ROLES, ROLE_BINDINGS, LEASES, SERVICE_ACCOUNTS, EVENTS,
  TIMELINES,
];

/** Resources whose objects commonly carry ownerReferences; the garbage collector's default watch list. */
export const GC_RESOURCES: readonly ResourceRef[] = [
  DEPLOYMENTS, REPLICASETS, DAEMONSETS, STATEFULSETS, CONTROLLER_REVISIONS, JOBS, CRONJOBS, PODS,
  SERVICES, ENDPOINTS, ENDPOINT_SLICES, CONFIGMAPS, SECRETS, PERSISTENT_VOLUME_CLAIMS,
  REPLICATION_CONTROLLERS, NODES, LEASES, HORIZONTAL_POD_AUTOSCALERS, POD_DISRUPTION_BUDGETS, SERVICE_ACCOUNTS,
];
