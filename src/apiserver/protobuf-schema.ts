/**
 * The subset of the Kubernetes protobuf schema that skiff decodes (request bodies kubectl sends
 * as `application/vnd.kubernetes.protobuf`). Field numbers are copied from upstream
 * k8s.io/api .../generated.proto and k8s.io/apimachinery .../generated.proto; fields we do not
 * list are skipped on decode, never misread.
 *
 * Go's protobuf encoding loses what JSON keeps (pointer vs value, omitempty), so fields carry
 * three custom options that the decoder in protobuf.ts reads to rebuild the JSON form:
 *  - `(ptr) = true`    Go pointer (`*int32`, `*bool`, …): present on the wire only when set, so a
 *                      zero value that arrives is meaningful and kept (`replicas: 0`).
 *  - `(req) = true`    Go value without `omitempty`: JSON always carries it, even when zero.
 *  - `(inline) = true` embedded struct (`json:",inline"`): its fields merge into the parent.
 * Scalars without options are Go values with `omitempty`: zero values are dropped.
 */
import protobuf from 'protobufjs';
import { ACCESS_REVIEW_PROTO, AUTHORIZATION_KINDS } from './protobuf-schema-authz.js';

const META = `
syntax = "proto2";
package meta;

message Time { optional int64 seconds = 1; optional int32 nanos = 2; }
message MicroTime { optional int64 seconds = 1; optional int32 nanos = 2; }

message ObjectMeta {
  optional string name = 1;
  optional string generateName = 2;
  optional string namespace = 3;
  optional string selfLink = 4;
  optional string uid = 5;
  optional string resourceVersion = 6;
  optional int64 generation = 7;
  optional Time creationTimestamp = 8;
  optional Time deletionTimestamp = 9;
  optional int64 deletionGracePeriodSeconds = 10 [(ptr) = true];
  map<string, string> labels = 11;
  map<string, string> annotations = 12;
  repeated OwnerReference ownerReferences = 13;
  repeated string finalizers = 14;
}

message OwnerReference {
  optional string apiVersion = 5 [(req) = true];
  optional string kind = 1 [(req) = true];
  optional string name = 3 [(req) = true];
  optional string uid = 4 [(req) = true];
  optional bool controller = 6 [(ptr) = true];
  optional bool blockOwnerDeletion = 7 [(ptr) = true];
}

message LabelSelector {
  map<string, string> matchLabels = 1;
  repeated LabelSelectorRequirement matchExpressions = 2;
}

message LabelSelectorRequirement {
  optional string key = 1 [(req) = true];
  optional string operator = 2 [(req) = true];
  repeated string values = 3;
}
`;

const INTSTR = `
syntax = "proto2";
package intstr;
message IntOrString { optional int64 type = 1; optional int32 intVal = 2; optional string strVal = 3; }
`;

const RESOURCE = `
syntax = "proto2";
package resource;
message Quantity { optional string string = 1; }
`;

const CORE = `
syntax = "proto2";
package core;

message Namespace { optional meta.ObjectMeta metadata = 1; optional NamespaceSpec spec = 2; }
message NamespaceSpec { repeated string finalizers = 1; }

message ConfigMap {
  optional meta.ObjectMeta metadata = 1;
  optional bool immutable = 4 [(ptr) = true];
  map<string, string> data = 2;
  map<string, bytes> binaryData = 3;
}

message Secret {
  optional meta.ObjectMeta metadata = 1;
  optional bool immutable = 5 [(ptr) = true];
  map<string, bytes> data = 2;
  map<string, string> stringData = 4;
  optional string type = 3;
}

message ServiceAccount {
  optional meta.ObjectMeta metadata = 1;
  repeated ObjectReference secrets = 2;
  repeated LocalObjectReference imagePullSecrets = 3;
  optional bool automountServiceAccountToken = 4 [(ptr) = true];
}

message ObjectReference {
  optional string kind = 1;
  optional string namespace = 2;
  optional string name = 3;
  optional string uid = 4;
  optional string apiVersion = 5;
  optional string resourceVersion = 6;
  optional string fieldPath = 7;
}

message LocalObjectReference { optional string name = 1; }

message TypedLocalObjectReference {
  optional string apiGroup = 1 [(ptr) = true];
  optional string kind = 2 [(req) = true];
  optional string name = 3 [(req) = true];
}

message Service { optional meta.ObjectMeta metadata = 1; optional ServiceSpec spec = 2; }

message ServiceSpec {
  repeated ServicePort ports = 1;
  map<string, string> selector = 2;
  optional string clusterIP = 3;
  repeated string clusterIPs = 18;
  optional string type = 4;
  repeated string externalIPs = 5;
  optional string sessionAffinity = 7;
  optional string loadBalancerIP = 8;
  repeated string loadBalancerSourceRanges = 9;
  optional string externalName = 10;
  optional string externalTrafficPolicy = 11;
  optional int32 healthCheckNodePort = 12;
  optional bool publishNotReadyAddresses = 13;
  optional SessionAffinityConfig sessionAffinityConfig = 14;
  repeated string ipFamilies = 19;
  optional string ipFamilyPolicy = 17 [(ptr) = true];
  optional bool allocateLoadBalancerNodePorts = 20 [(ptr) = true];
  optional string loadBalancerClass = 21 [(ptr) = true];
  optional string internalTrafficPolicy = 22 [(ptr) = true];
  optional string trafficDistribution = 23 [(ptr) = true];
}

message ServicePort {
  optional string name = 1;
  optional string protocol = 2;
  optional string appProtocol = 6 [(ptr) = true];
  optional int32 port = 3 [(req) = true];
  optional intstr.IntOrString targetPort = 4;
  optional int32 nodePort = 5;
}

message SessionAffinityConfig { optional ClientIPConfig clientIP = 1; }
message ClientIPConfig { optional int32 timeoutSeconds = 1 [(ptr) = true]; }

message ResourceQuota { optional meta.ObjectMeta metadata = 1; optional ResourceQuotaSpec spec = 2; }
message ResourceQuotaSpec {
  map<string, resource.Quantity> hard = 1;
  repeated string scopes = 2;
  optional ScopeSelector scopeSelector = 3;
}
message ScopeSelector { repeated ScopedResourceSelectorRequirement matchExpressions = 1; }
message ScopedResourceSelectorRequirement {
  optional string scopeName = 1 [(req) = true];
  optional string operator = 2 [(req) = true];
  repeated string values = 3;
}

message Pod { optional meta.ObjectMeta metadata = 1; optional PodSpec spec = 2; }
message PodTemplateSpec { optional meta.ObjectMeta metadata = 1; optional PodSpec spec = 2; }

message ReplicationController { optional meta.ObjectMeta metadata = 1; optional ReplicationControllerSpec spec = 2; }
message ReplicationControllerSpec {
  optional int32 replicas = 1 [(ptr) = true];
  optional int32 minReadySeconds = 4;
  map<string, string> selector = 2;
  optional PodTemplateSpec template = 3;
}

message PodSpec {
  repeated Volume volumes = 1;
  repeated Container initContainers = 20;
  repeated Container containers = 2;
  optional string restartPolicy = 3;
  optional int64 terminationGracePeriodSeconds = 4 [(ptr) = true];
  optional int64 activeDeadlineSeconds = 5 [(ptr) = true];
  optional string dnsPolicy = 6;
  map<string, string> nodeSelector = 7;
  optional string serviceAccountName = 8;
  optional string serviceAccount = 9;
  optional bool automountServiceAccountToken = 21 [(ptr) = true];
  optional string nodeName = 10;
  optional bool hostNetwork = 11;
  optional bool hostPID = 12;
  optional bool hostIPC = 13;
  optional bool shareProcessNamespace = 27 [(ptr) = true];
  optional PodSecurityContext securityContext = 14;
  repeated LocalObjectReference imagePullSecrets = 15;
  optional string hostname = 16;
  optional string subdomain = 17;
  optional Affinity affinity = 18;
  optional string schedulerName = 19;
  repeated Toleration tolerations = 22;
  repeated HostAlias hostAliases = 23;
  optional string priorityClassName = 24;
  optional int32 priority = 25 [(ptr) = true];
  optional PodDNSConfig dnsConfig = 26;
  repeated PodReadinessGate readinessGates = 28;
  optional string runtimeClassName = 29 [(ptr) = true];
  optional bool enableServiceLinks = 30 [(ptr) = true];
  optional string preemptionPolicy = 31 [(ptr) = true];
  map<string, resource.Quantity> overhead = 32;
  repeated TopologySpreadConstraint topologySpreadConstraints = 33;
  optional bool setHostnameAsFQDN = 35 [(ptr) = true];
  optional PodOS os = 36;
  optional bool hostUsers = 37 [(ptr) = true];
  repeated PodSchedulingGate schedulingGates = 38;
  optional ResourceRequirements resources = 40;
  optional string hostnameOverride = 41 [(ptr) = true];
}

message PodOS { optional string name = 1 [(req) = true]; }
message PodSchedulingGate { optional string name = 1 [(req) = true]; }
message PodReadinessGate { optional string conditionType = 1 [(req) = true]; }
message HostAlias { optional string ip = 1 [(req) = true]; repeated string hostnames = 2; }
message PodDNSConfig { repeated string nameservers = 1; repeated string searches = 2; repeated PodDNSConfigOption options = 3; }
message PodDNSConfigOption { optional string name = 1; optional string value = 2 [(ptr) = true]; }

message Container {
  optional string name = 1 [(req) = true];
  optional string image = 2;
  repeated string command = 3;
  repeated string args = 4;
  optional string workingDir = 5;
  repeated ContainerPort ports = 6;
  repeated EnvFromSource envFrom = 19;
  repeated EnvVar env = 7;
  optional ResourceRequirements resources = 8;
  optional string restartPolicy = 24 [(ptr) = true];
  repeated VolumeMount volumeMounts = 9;
  optional Probe livenessProbe = 10;
  optional Probe readinessProbe = 11;
  optional Probe startupProbe = 22;
  optional Lifecycle lifecycle = 12;
  optional string terminationMessagePath = 13;
  optional string terminationMessagePolicy = 20;
  optional string imagePullPolicy = 14;
  optional SecurityContext securityContext = 15;
  optional bool stdin = 16;
  optional bool stdinOnce = 17;
  optional bool tty = 18;
}

message ContainerPort {
  optional string name = 1;
  optional int32 hostPort = 2;
  optional int32 containerPort = 3 [(req) = true];
  optional string protocol = 4;
  optional string hostIP = 5;
}

message EnvVar {
  optional string name = 1 [(req) = true];
  optional string value = 2;
  optional EnvVarSource valueFrom = 3;
}

message EnvVarSource {
  optional ObjectFieldSelector fieldRef = 1;
  optional ResourceFieldSelector resourceFieldRef = 2;
  optional ConfigMapKeySelector configMapKeyRef = 3;
  optional SecretKeySelector secretKeyRef = 4;
}

message EnvFromSource {
  optional string prefix = 1;
  optional ConfigMapEnvSource configMapRef = 2;
  optional SecretEnvSource secretRef = 3;
}

message ConfigMapEnvSource { optional LocalObjectReference localObjectReference = 1 [(inline) = true]; optional bool optional = 2 [(ptr) = true]; }
message SecretEnvSource { optional LocalObjectReference localObjectReference = 1 [(inline) = true]; optional bool optional = 2 [(ptr) = true]; }

message ConfigMapKeySelector {
  optional LocalObjectReference localObjectReference = 1 [(inline) = true];
  optional string key = 2 [(req) = true];
  optional bool optional = 3 [(ptr) = true];
}

message SecretKeySelector {
  optional LocalObjectReference localObjectReference = 1 [(inline) = true];
  optional string key = 2 [(req) = true];
  optional bool optional = 3 [(ptr) = true];
}

message ObjectFieldSelector { optional string apiVersion = 1; optional string fieldPath = 2 [(req) = true]; }

message ResourceFieldSelector {
  optional string containerName = 1;
  optional string resource = 2 [(req) = true];
  optional resource.Quantity divisor = 3;
}

message ResourceRequirements {
  map<string, resource.Quantity> limits = 1;
  map<string, resource.Quantity> requests = 2;
  repeated ResourceClaim claims = 3;
}
message ResourceClaim { optional string name = 1 [(req) = true]; optional string request = 2; }

message VolumeMount {
  optional string name = 1 [(req) = true];
  optional bool readOnly = 2;
  optional string recursiveReadOnly = 7 [(ptr) = true];
  optional string mountPath = 3 [(req) = true];
  optional string subPath = 4;
  optional string mountPropagation = 5 [(ptr) = true];
  optional string subPathExpr = 6;
}

message Probe {
  optional ProbeHandler handler = 1 [(inline) = true];
  optional int32 initialDelaySeconds = 2;
  optional int32 timeoutSeconds = 3;
  optional int32 periodSeconds = 4;
  optional int32 successThreshold = 5;
  optional int32 failureThreshold = 6;
  optional int64 terminationGracePeriodSeconds = 7 [(ptr) = true];
}

message ProbeHandler {
  optional ExecAction exec = 1;
  optional HTTPGetAction httpGet = 2;
  optional TCPSocketAction tcpSocket = 3;
  optional GRPCAction grpc = 4;
}

message Lifecycle { optional LifecycleHandler postStart = 1; optional LifecycleHandler preStop = 2; optional string stopSignal = 3 [(ptr) = true]; }
message LifecycleHandler {
  optional ExecAction exec = 1;
  optional HTTPGetAction httpGet = 2;
  optional TCPSocketAction tcpSocket = 3;
  optional SleepAction sleep = 4;
}
message SleepAction { optional int64 seconds = 1 [(req) = true]; }
message ExecAction { repeated string command = 1; }
message HTTPGetAction {
  optional string path = 1;
  optional intstr.IntOrString port = 2;
  optional string host = 3;
  optional string scheme = 4;
  repeated HTTPHeader httpHeaders = 5;
}
message HTTPHeader { optional string name = 1 [(req) = true]; optional string value = 2 [(req) = true]; }
message TCPSocketAction { optional intstr.IntOrString port = 1; optional string host = 2; }
message GRPCAction { optional int32 port = 1 [(req) = true]; optional string service = 2 [(ptr) = true]; }

message SecurityContext {
  optional Capabilities capabilities = 1;
  optional bool privileged = 2 [(ptr) = true];
  optional SELinuxOptions seLinuxOptions = 3;
  optional int64 runAsUser = 4 [(ptr) = true];
  optional int64 runAsGroup = 8 [(ptr) = true];
  optional bool runAsNonRoot = 5 [(ptr) = true];
  optional bool readOnlyRootFilesystem = 6 [(ptr) = true];
  optional bool allowPrivilegeEscalation = 7 [(ptr) = true];
  optional string procMount = 9 [(ptr) = true];
  optional SeccompProfile seccompProfile = 11;
}

message PodSecurityContext {
  optional SELinuxOptions seLinuxOptions = 1;
  optional int64 runAsUser = 2 [(ptr) = true];
  optional int64 runAsGroup = 6 [(ptr) = true];
  optional bool runAsNonRoot = 3 [(ptr) = true];
  repeated int64 supplementalGroups = 4;
  optional string supplementalGroupsPolicy = 12 [(ptr) = true];
  optional int64 fsGroup = 5 [(ptr) = true];
  repeated Sysctl sysctls = 7;
  optional string fsGroupChangePolicy = 9 [(ptr) = true];
  optional SeccompProfile seccompProfile = 10;
  optional string seLinuxChangePolicy = 13 [(ptr) = true];
}

message Capabilities { repeated string add = 1; repeated string drop = 2; }
message SELinuxOptions { optional string user = 1; optional string role = 2; optional string type = 3; optional string level = 4; }
message SeccompProfile { optional string type = 1 [(req) = true]; optional string localhostProfile = 2 [(ptr) = true]; }
message Sysctl { optional string name = 1 [(req) = true]; optional string value = 2 [(req) = true]; }

message Toleration {
  optional string key = 1;
  optional string operator = 2;
  optional string value = 3;
  optional string effect = 4;
  optional int64 tolerationSeconds = 5 [(ptr) = true];
}

message TopologySpreadConstraint {
  optional int32 maxSkew = 1 [(req) = true];
  optional string topologyKey = 2 [(req) = true];
  optional string whenUnsatisfiable = 3 [(req) = true];
  optional meta.LabelSelector labelSelector = 4;
  optional int32 minDomains = 5 [(ptr) = true];
  optional string nodeAffinityPolicy = 6 [(ptr) = true];
  optional string nodeTaintsPolicy = 7 [(ptr) = true];
  repeated string matchLabelKeys = 8;
}

message Affinity { optional NodeAffinity nodeAffinity = 1; optional PodAffinity podAffinity = 2; optional PodAntiAffinity podAntiAffinity = 3; }
message NodeAffinity {
  optional NodeSelector requiredDuringSchedulingIgnoredDuringExecution = 1;
  repeated PreferredSchedulingTerm preferredDuringSchedulingIgnoredDuringExecution = 2;
}
message NodeSelector { repeated NodeSelectorTerm nodeSelectorTerms = 1; }
message NodeSelectorTerm { repeated NodeSelectorRequirement matchExpressions = 1; repeated NodeSelectorRequirement matchFields = 2; }
message NodeSelectorRequirement { optional string key = 1 [(req) = true]; optional string operator = 2 [(req) = true]; repeated string values = 3; }
message PreferredSchedulingTerm { optional int32 weight = 1 [(req) = true]; optional NodeSelectorTerm preference = 2; }
message PodAffinity {
  repeated PodAffinityTerm requiredDuringSchedulingIgnoredDuringExecution = 1;
  repeated WeightedPodAffinityTerm preferredDuringSchedulingIgnoredDuringExecution = 2;
}
message PodAntiAffinity {
  repeated PodAffinityTerm requiredDuringSchedulingIgnoredDuringExecution = 1;
  repeated WeightedPodAffinityTerm preferredDuringSchedulingIgnoredDuringExecution = 2;
}
message PodAffinityTerm {
  optional meta.LabelSelector labelSelector = 1;
  repeated string namespaces = 2;
  optional string topologyKey = 3 [(req) = true];
  optional meta.LabelSelector namespaceSelector = 4;
  repeated string matchLabelKeys = 5;
  repeated string mismatchLabelKeys = 6;
}
message WeightedPodAffinityTerm { optional int32 weight = 1 [(req) = true]; optional PodAffinityTerm podAffinityTerm = 2; }

message Volume {
  optional string name = 1 [(req) = true];
  optional VolumeSource volumeSource = 2 [(inline) = true];
}

message VolumeSource {
  optional HostPathVolumeSource hostPath = 1;
  optional EmptyDirVolumeSource emptyDir = 2;
  optional SecretVolumeSource secret = 6;
  optional NFSVolumeSource nfs = 7;
  optional PersistentVolumeClaimVolumeSource persistentVolumeClaim = 10;
  optional DownwardAPIVolumeSource downwardAPI = 16;
  optional ConfigMapVolumeSource configMap = 19;
  optional ProjectedVolumeSource projected = 26;
  optional ImageVolumeSource image = 30;
}

message HostPathVolumeSource { optional string path = 1 [(req) = true]; optional string type = 2 [(ptr) = true]; }
message EmptyDirVolumeSource { optional string medium = 1; optional resource.Quantity sizeLimit = 2; }
message NFSVolumeSource { optional string server = 1 [(req) = true]; optional string path = 2 [(req) = true]; optional bool readOnly = 3; }
message PersistentVolumeClaimVolumeSource { optional string claimName = 1 [(req) = true]; optional bool readOnly = 2; }
message ImageVolumeSource { optional string reference = 1; optional string pullPolicy = 2; }
message KeyToPath { optional string key = 1 [(req) = true]; optional string path = 2 [(req) = true]; optional int32 mode = 3 [(ptr) = true]; }

message SecretVolumeSource {
  optional string secretName = 1;
  repeated KeyToPath items = 2;
  optional int32 defaultMode = 3 [(ptr) = true];
  optional bool optional = 4 [(ptr) = true];
}

message ConfigMapVolumeSource {
  optional LocalObjectReference localObjectReference = 1 [(inline) = true];
  repeated KeyToPath items = 2;
  optional int32 defaultMode = 3 [(ptr) = true];
  optional bool optional = 4 [(ptr) = true];
}

message DownwardAPIVolumeSource { repeated DownwardAPIVolumeFile items = 1; optional int32 defaultMode = 2 [(ptr) = true]; }
message DownwardAPIVolumeFile {
  optional string path = 1 [(req) = true];
  optional ObjectFieldSelector fieldRef = 2;
  optional ResourceFieldSelector resourceFieldRef = 3;
  optional int32 mode = 4 [(ptr) = true];
}
message DownwardAPIProjection { repeated DownwardAPIVolumeFile items = 1; }

message ProjectedVolumeSource { repeated VolumeProjection sources = 1; optional int32 defaultMode = 2 [(ptr) = true]; }
message VolumeProjection {
  optional SecretProjection secret = 1;
  optional DownwardAPIProjection downwardAPI = 2;
  optional ConfigMapProjection configMap = 3;
  optional ServiceAccountTokenProjection serviceAccountToken = 4;
}
message SecretProjection {
  optional LocalObjectReference localObjectReference = 1 [(inline) = true];
  repeated KeyToPath items = 2;
  optional bool optional = 4 [(ptr) = true];
}
message ConfigMapProjection {
  optional LocalObjectReference localObjectReference = 1 [(inline) = true];
  repeated KeyToPath items = 2;
  optional bool optional = 4 [(ptr) = true];
}
message ServiceAccountTokenProjection {
  optional string audience = 1;
  optional int64 expirationSeconds = 2 [(ptr) = true];
  optional string path = 3 [(req) = true];
}
`;

const APPS = `
syntax = "proto2";
package apps;

message Deployment { optional meta.ObjectMeta metadata = 1; optional DeploymentSpec spec = 2; }
message DeploymentSpec {
  optional int32 replicas = 1 [(ptr) = true];
  optional meta.LabelSelector selector = 2;
  optional core.PodTemplateSpec template = 3;
  optional DeploymentStrategy strategy = 4;
  optional int32 minReadySeconds = 5;
  optional int32 revisionHistoryLimit = 6 [(ptr) = true];
  optional bool paused = 7;
  optional int32 progressDeadlineSeconds = 9 [(ptr) = true];
  optional string podReplacementPolicy = 10 [(ptr) = true];
}
message DeploymentStrategy { optional string type = 1; optional RollingUpdateDeployment rollingUpdate = 2; }
message RollingUpdateDeployment { optional intstr.IntOrString maxUnavailable = 1; optional intstr.IntOrString maxSurge = 2; }

message ReplicaSet { optional meta.ObjectMeta metadata = 1; optional ReplicaSetSpec spec = 2; }
message ReplicaSetSpec {
  optional int32 replicas = 1 [(ptr) = true];
  optional int32 minReadySeconds = 4;
  optional meta.LabelSelector selector = 2;
  optional core.PodTemplateSpec template = 3;
}
`;

const BATCH = `
syntax = "proto2";
package batch;

message Job { optional meta.ObjectMeta metadata = 1; optional JobSpec spec = 2; }
message JobSpec {
  optional int32 parallelism = 1 [(ptr) = true];
  optional int32 completions = 2 [(ptr) = true];
  optional int64 activeDeadlineSeconds = 3 [(ptr) = true];
  optional int32 backoffLimit = 7 [(ptr) = true];
  optional int32 backoffLimitPerIndex = 12 [(ptr) = true];
  optional int32 maxFailedIndexes = 13 [(ptr) = true];
  optional meta.LabelSelector selector = 4;
  optional bool manualSelector = 5 [(ptr) = true];
  optional core.PodTemplateSpec template = 6;
  optional int32 ttlSecondsAfterFinished = 8 [(ptr) = true];
  optional string completionMode = 9 [(ptr) = true];
  optional bool suspend = 10 [(ptr) = true];
  optional string podReplacementPolicy = 14 [(ptr) = true];
  optional string managedBy = 15 [(ptr) = true];
}

message CronJob { optional meta.ObjectMeta metadata = 1; optional CronJobSpec spec = 2; }
message CronJobSpec {
  optional string schedule = 1 [(req) = true];
  optional string timeZone = 8 [(ptr) = true];
  optional int64 startingDeadlineSeconds = 2 [(ptr) = true];
  optional string concurrencyPolicy = 3;
  optional bool suspend = 4 [(ptr) = true];
  optional JobTemplateSpec jobTemplate = 5;
  optional int32 successfulJobsHistoryLimit = 6 [(ptr) = true];
  optional int32 failedJobsHistoryLimit = 7 [(ptr) = true];
}
message JobTemplateSpec { optional meta.ObjectMeta metadata = 1; optional JobSpec spec = 2; }
`;

const AUTOSCALING = `
syntax = "proto2";
package autoscaling;

message HorizontalPodAutoscaler { optional meta.ObjectMeta metadata = 1; optional HorizontalPodAutoscalerSpec spec = 2; }
message HorizontalPodAutoscalerSpec {
  optional CrossVersionObjectReference scaleTargetRef = 1;
  optional int32 minReplicas = 2 [(ptr) = true];
  optional int32 maxReplicas = 3 [(req) = true];
  optional int32 targetCPUUtilizationPercentage = 4 [(ptr) = true];
}
message CrossVersionObjectReference {
  optional string kind = 1 [(req) = true];
  optional string name = 2 [(req) = true];
  optional string apiVersion = 3;
}
`;

const RBAC = `
syntax = "proto2";
package rbac;

message Role { optional meta.ObjectMeta metadata = 1; repeated PolicyRule rules = 2; }
message ClusterRole { optional meta.ObjectMeta metadata = 1; repeated PolicyRule rules = 2; optional AggregationRule aggregationRule = 3; }
message AggregationRule { repeated meta.LabelSelector clusterRoleSelectors = 1; }
message RoleBinding { optional meta.ObjectMeta metadata = 1; repeated Subject subjects = 2; optional RoleRef roleRef = 3; }
message ClusterRoleBinding { optional meta.ObjectMeta metadata = 1; repeated Subject subjects = 2; optional RoleRef roleRef = 3; }
message PolicyRule {
  repeated string verbs = 1;
  repeated string apiGroups = 2;
  repeated string resources = 3;
  repeated string resourceNames = 4;
  repeated string nonResourceURLs = 5;
}
message RoleRef {
  optional string apiGroup = 1 [(req) = true];
  optional string kind = 2 [(req) = true];
  optional string name = 3 [(req) = true];
}
message Subject {
  optional string kind = 1 [(req) = true];
  optional string apiGroup = 2;
  optional string name = 3 [(req) = true];
  optional string namespace = 4;
}
`;

const SCHEDULING = `
syntax = "proto2";
package scheduling;
message PriorityClass {
  optional meta.ObjectMeta metadata = 1;
  optional int32 value = 2 [(req) = true];
  optional bool globalDefault = 3;
  optional string description = 4;
  optional string preemptionPolicy = 5 [(ptr) = true];
}
`;

const POLICY = `
syntax = "proto2";
package policy;
message PodDisruptionBudget { optional meta.ObjectMeta metadata = 1; optional PodDisruptionBudgetSpec spec = 2; }
message PodDisruptionBudgetSpec {
  optional intstr.IntOrString minAvailable = 1;
  optional meta.LabelSelector selector = 2;
  optional intstr.IntOrString maxUnavailable = 3;
  optional string unhealthyPodEvictionPolicy = 4 [(ptr) = true];
}
`;

const AUTHENTICATION = `
syntax = "proto2";
package authentication;
message TokenRequest { optional meta.ObjectMeta metadata = 1; optional TokenRequestSpec spec = 2; }
message TokenRequestSpec {
  repeated string audiences = 1;
  optional int64 expirationSeconds = 4 [(ptr) = true];
  optional BoundObjectReference boundObjectRef = 3;
}
message BoundObjectReference { optional string kind = 1; optional string apiVersion = 2; optional string name = 3; optional string uid = 4; }
message TokenReview { optional meta.ObjectMeta metadata = 1; optional TokenReviewSpec spec = 2; }
message TokenReviewSpec { optional string token = 1; repeated string audiences = 2; }
`;

/** Message type (fully qualified, as `lookupType` wants it) per `apiVersion` and `kind`. */
export const KIND_TYPES: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  v1: {
    Namespace: 'core.Namespace',
    ConfigMap: 'core.ConfigMap',
    Secret: 'core.Secret',
    Service: 'core.Service',
    ServiceAccount: 'core.ServiceAccount',
    Pod: 'core.Pod',
    ResourceQuota: 'core.ResourceQuota',
    ReplicationController: 'core.ReplicationController',
  },
  'apps/v1': { Deployment: 'apps.Deployment', ReplicaSet: 'apps.ReplicaSet' },
  'batch/v1': { Job: 'batch.Job', CronJob: 'batch.CronJob' },
  'autoscaling/v1': { HorizontalPodAutoscaler: 'autoscaling.HorizontalPodAutoscaler' },
  'rbac.authorization.k8s.io/v1': {
    Role: 'rbac.Role',
    ClusterRole: 'rbac.ClusterRole',
    RoleBinding: 'rbac.RoleBinding',
    ClusterRoleBinding: 'rbac.ClusterRoleBinding',
  },
  'scheduling.k8s.io/v1': { PriorityClass: 'scheduling.PriorityClass' },
  'policy/v1': { PodDisruptionBudget: 'policy.PodDisruptionBudget' },
  'authorization.k8s.io/v1': AUTHORIZATION_KINDS,
  'authentication.k8s.io/v1': { TokenRequest: 'authentication.TokenRequest', TokenReview: 'authentication.TokenReview', SelfSubjectReview: 'authorization.SelfSubjectReview' },
};

let cached: protobuf.Root | undefined;

/** The parsed schema, built once on first use. */
export function schemaRoot(): protobuf.Root {
  if (cached) return cached;
  const root = new protobuf.Root();
  const opts = { keepCase: true };
  for (const text of [META, INTSTR, RESOURCE, CORE, APPS, BATCH, AUTOSCALING, RBAC, SCHEDULING, POLICY, AUTHENTICATION]) {
    protobuf.parse(text, root, opts);
  }
  protobuf.parse(ACCESS_REVIEW_PROTO, root, opts);
  root.resolveAll();
  cached = root;
  return root;
}
