/** core/v1 resources: strategies (defaults, validation), table columns and field selectors. */
import { fieldErrors, type FieldError } from '../errors.js';
import type { KObject, ResourceDef } from '../registry.js';
import { age, humanDuration } from '../meta.js';
import { isDNS1123Label, isConfigMapKey, isValidPortNum, isValidPortName } from '../validation.js';
import { defaultPodSpec, validatePodSpec, validatePodUpdate } from './pod-spec.js';

type Obj = Record<string, any>;

const statusOf = (o: KObject) => (o.status ?? {}) as Obj;
const specOf = (o: KObject) => (o.spec ?? {}) as Obj;

// ---- pods -----------------------------------------------------------------------

/** The STATUS column of `kubectl get pods`, as printPod computes it. */
export function podStatusReason(pod: KObject): string {
  const status = statusOf(pod);
  let reason: string = status.reason || status.phase || 'Unknown';
  const initStatuses: Obj[] = status.initContainerStatuses ?? [];
  const initContainers: Obj[] = specOf(pod).initContainers ?? [];
  let initializing = false;
  for (let i = 0; i < initStatuses.length; i++) {
    const c = initStatuses[i];
    const sidecar = initContainers.find((x) => x.name === c.name)?.restartPolicy === 'Always';
    if (c.state?.terminated && c.state.terminated.exitCode === 0) continue;
    if (sidecar && c.started) continue;
    if (c.state?.terminated) {
      reason = c.state.terminated.reason ? `Init:${c.state.terminated.reason}` : c.state.terminated.signal ? `Init:Signal:${c.state.terminated.signal}` : `Init:ExitCode:${c.state.terminated.exitCode}`;
    } else if (c.state?.waiting?.reason && c.state.waiting.reason !== 'PodInitializing') {
      reason = `Init:${c.state.waiting.reason}`;
    } else {
      reason = `Init:${i}/${initContainers.length}`;
    }
    initializing = true;
    break;
  }
  if (!initializing) {
    let hasRunning = false;
    const cs: Obj[] = status.containerStatuses ?? [];
    for (let i = cs.length - 1; i >= 0; i--) {
      const c = cs[i];
      if (c.state?.waiting?.reason) reason = c.state.waiting.reason;
      else if (c.state?.terminated?.reason) reason = c.state.terminated.reason;
      else if (c.state?.terminated) reason = c.state.terminated.signal ? `Signal:${c.state.terminated.signal}` : `ExitCode:${c.state.terminated.exitCode}`;
      else if (c.ready && c.state?.running) hasRunning = true;
    }
    if (reason === 'Completed' && hasRunning) {
      const ready = (status.conditions ?? []).some((x: Obj) => x.type === 'Ready' && x.status === 'True');
      reason = ready ? 'Running' : 'NotReady';
    }
  }
  if (pod.metadata?.deletionTimestamp && status.reason === 'NodeLost') reason = 'Unknown';
  else if (pod.metadata?.deletionTimestamp) reason = 'Terminating';
  return reason;
}

function podCells(pod: KObject, now: number): unknown[] {
  const status = statusOf(pod);
  const spec = specOf(pod);
  const containers: Obj[] = spec.containers ?? [];
  const cs: Obj[] = status.containerStatuses ?? [];
  const ready = cs.filter((c) => c.ready).length;
  let restarts = 0;
  let lastRestart = 0;
  for (const c of [...cs, ...(status.initContainerStatuses ?? [])]) {
    restarts += c.restartCount ?? 0;
    const t = c.lastState?.terminated?.finishedAt;
    if (t) lastRestart = Math.max(lastRestart, Date.parse(t));
  }
  const restartCell = restarts && lastRestart ? `${restarts} (${humanDuration(now - lastRestart)} ago)` : String(restarts);
  const gates: Obj[] = spec.readinessGates ?? [];
  const gateCell = gates.length
    ? `${gates.filter((g) => (status.conditions ?? []).some((c: Obj) => c.type === g.conditionType && c.status === 'True')).length}/${gates.length}`
    : '<none>';
  return [
    pod.metadata?.name,
    `${ready}/${containers.length}`,
    podStatusReason(pod),
    restartCell,
    age(pod, now),
    status.podIP || '<none>',
    spec.nodeName || '<none>',
    status.nominatedNodeName || '<none>',
    gateCell,
  ];
}

function qosClass(pod: KObject): string {
  const spec = specOf(pod);
  const all: Obj[] = [...(spec.containers ?? []), ...(spec.initContainers ?? [])];
  let anyRequest = false;
  let guaranteed = true;
  for (const c of all) {
    const req = c.resources?.requests ?? {};
    const lim = c.resources?.limits ?? {};
    for (const r of ['cpu', 'memory']) {
      if (req[r] !== undefined || lim[r] !== undefined) anyRequest = true;
      if (lim[r] === undefined || (req[r] !== undefined && String(req[r]) !== String(lim[r]))) guaranteed = false;
    }
  }
  if (!anyRequest) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

const pods: ResourceDef = {
  group: '',
  versions: ['v1'],
  kind: 'Pod',
  plural: 'pods',
  singular: 'pod',
  namespaced: true,
  shortNames: ['po'],
  categories: ['all'],
  subresources: ['status', 'binding', 'eviction', 'log', 'exec', 'attach', 'portforward', 'ephemeralcontainers'],
  strategy: {
    hasStatus: true,
    defaults(obj) {
      defaultPodSpec((obj.spec ??= {}) as Obj);
    },
    prepareForCreate(obj) {
      obj.status = { phase: 'Pending', qosClass: qosClass(obj) };
    },
    prepareForUpdate(obj, old) {
      // The scheduler binds through pods/binding; keep a bound node on updates that omit it.
      const spec = specOf(obj);
      const oldSpec = specOf(old);
      if (!spec.nodeName && oldSpec.nodeName) spec.nodeName = oldSpec.nodeName;
    },
    validate(obj) {
      return validatePodSpec(specOf(obj), 'spec');
    },
    validateUpdate(obj, old) {
      return [...validatePodSpec(specOf(obj), 'spec'), ...validatePodUpdate(obj, old)];
    },
    selectableFields: {
      'spec.nodeName': (o) => specOf(o).nodeName ?? '',
      'spec.restartPolicy': (o) => specOf(o).restartPolicy ?? '',
      'spec.schedulerName': (o) => specOf(o).schedulerName ?? '',
      'spec.serviceAccountName': (o) => specOf(o).serviceAccountName ?? '',
      'spec.hostNetwork': (o) => String(!!specOf(o).hostNetwork),
      'status.phase': (o) => statusOf(o).phase ?? '',
      'status.podIP': (o) => statusOf(o).podIP ?? '',
      'status.nominatedNodeName': (o) => statusOf(o).nominatedNodeName ?? '',
    },
  },
  table: {
    columns: [
      { name: 'Name', type: 'string', format: 'name' },
      { name: 'Ready', type: 'string', description: 'The aggregate readiness state of this pod for accepting traffic.' },
      { name: 'Status', type: 'string', description: 'The aggregate status of the containers in this pod.' },
      { name: 'Restarts', type: 'string', description: 'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.' },
      { name: 'Age', type: 'string' },
      { name: 'IP', type: 'string', priority: 1, description: 'IP address allocated to the pod.' },
      { name: 'Node', type: 'string', priority: 1, description: 'Name of the node where the pod is running.' },
      { name: 'Nominated Node', type: 'string', priority: 1 },
      { name: 'Readiness Gates', type: 'string', priority: 1 },
    ],
    cells: podCells,
  },
};

// ---- services ---------------------------------------------------------------------

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

const services: ResourceDef = {
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
    columns: [
      { name: 'Name', type: 'string', format: 'name' },
      { name: 'Type', type: 'string', description: 'The type of the service.' },
      { name: 'Cluster-IP', type: 'string' },
      { name: 'External-IP', type: 'string' },
      { name: 'Port(s)', type: 'string' },
      { name: 'Age', type: 'string' },
      { name: 'Selector', type: 'string', priority: 1 },
    ],
    cells: (svc, now) => {
      const spec = specOf(svc);
      const sel = Object.entries((spec.selector ?? {}) as Record<string, string>).map(([k, v]) => `${k}=${v}`).join(',');
      return [svc.metadata?.name, spec.type, spec.clusterIP || '<none>', serviceExternalIP(svc), formatServicePorts(svc), age(svc, now), sel || '<none>'];
    },
  },
};

// ---- namespaces ---------------------------------------------------------------------

const namespaces: ResourceDef = {
  group: '',
  versions: ['v1'],
  kind: 'Namespace',
  plural: 'namespaces',
  singular: 'namespace',
  namespaced: false,
  shortNames: ['ns'],
  subresources: ['status', 'finalize'],
  nameRule: 'DNS1123Label',
  strategy: {
    hasStatus: true,
    defaults(obj) {
      const md = (obj.metadata ??= {});
      if (md.name) md.labels = { ...(md.labels ?? {}), 'kubernetes.io/metadata.name': md.name };
    },
    prepareForCreate(obj) {
      obj.spec = { finalizers: ['kubernetes'] };
      obj.status = { phase: 'Active' };
    },
    prepareForUpdate(obj, old) {
      // spec.finalizers changes only through namespaces/NAME/finalize.
      if (old.spec !== undefined) obj.spec = JSON.parse(JSON.stringify(old.spec));
    },
  },
  table: {
    columns: [
      { name: 'Name', type: 'string', format: 'name' },
      { name: 'Status', type: 'string', description: 'The status of the namespace' },
      { name: 'Age', type: 'string' },
    ],
    cells: (ns, now) => [ns.metadata?.name, statusOf(ns).phase ?? 'Active', age(ns, now)],
  },
};

// ---- configmaps and secrets ---------------------------------------------------------

function validateDataKeys(data: unknown, field: string): FieldError[] {
  if (data === undefined || data === null) return [];
  if (typeof data !== 'object' || Array.isArray(data)) return [fieldErrors.invalid(field, data, 'must be a map of strings')];
  const errs: FieldError[] = [];
  for (const [k, v] of Object.entries(data as Record<string, unknown>)) {
    errs.push(...isConfigMapKey(k, `${field}[${k}]`));
    if (typeof v !== 'string') errs.push(fieldErrors.invalid(`${field}[${k}]`, v, 'must be a string'));
  }
  return errs;
}

const configmaps: ResourceDef = {
  group: '',
  versions: ['v1'],
  kind: 'ConfigMap',
  plural: 'configmaps',
  singular: 'configmap',
  namespaced: true,
  shortNames: ['cm'],
  strategy: {
    validate: (obj) => [...validateDataKeys(obj.data, 'data'), ...validateDataKeys(obj.binaryData, 'binaryData')],
    validateUpdate(obj, old) {
      const errs = [...validateDataKeys(obj.data, 'data'), ...validateDataKeys(obj.binaryData, 'binaryData')];
      if (old.immutable === true && (JSON.stringify(obj.data) !== JSON.stringify(old.data) || JSON.stringify(obj.binaryData) !== JSON.stringify(old.binaryData))) {
        errs.push(fieldErrors.forbidden('data', 'field is immutable when `immutable` is set'));
      }
      return errs;
    },
  },
  table: {
    columns: [
      { name: 'Name', type: 'string', format: 'name' },
      { name: 'Data', type: 'string' },
      { name: 'Age', type: 'string' },
    ],
    cells: (cm, now) => [cm.metadata?.name, Object.keys((cm.data ?? {}) as object).length + Object.keys((cm.binaryData ?? {}) as object).length, age(cm, now)],
  },
};

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

const secrets: ResourceDef = {
  group: '',
  versions: ['v1'],
  kind: 'Secret',
  plural: 'secrets',
  singular: 'secret',
  namespaced: true,
  strategy: {
    defaults(obj) {
      obj.type ??= 'Opaque';
      // stringData is write-only: fold it into data (base64), as the API server does.
      const sd = obj.stringData as Record<string, unknown> | undefined;
      if (sd && typeof sd === 'object') {
        const data = ((obj.data ??= {}) as Record<string, string>);
        for (const [k, v] of Object.entries(sd)) data[k] = Buffer.from(String(v)).toString('base64');
        delete obj.stringData;
      }
    },
    validate(obj) {
      const errs = validateDataKeys(obj.data, 'data');
      for (const [k, v] of Object.entries((obj.data ?? {}) as Record<string, unknown>)) {
        if (typeof v === 'string' && (v.length % 4 !== 0 || !BASE64.test(v))) {
          errs.push(fieldErrors.invalid(`data[${k}]`, '<secret contents redacted>', 'illegal base64 data'));
        }
      }
      return errs;
    },
    validateUpdate(obj, old) {
      const errs = secrets.strategy.validate!(obj);
      if (obj.type !== old.type) errs.push(fieldErrors.invalid('type', obj.type, 'field is immutable'));
      if (old.immutable === true && JSON.stringify(obj.data) !== JSON.stringify(old.data)) {
        errs.push(fieldErrors.forbidden('data', 'field is immutable when `immutable` is set'));
      }
      return errs;
    },
    selectableFields: { type: (o) => String(o.type ?? '') },
  },
  table: {
    columns: [
      { name: 'Name', type: 'string', format: 'name' },
      { name: 'Type', type: 'string' },
      { name: 'Data', type: 'string' },
      { name: 'Age', type: 'string' },
    ],
    cells: (s, now) => [s.metadata?.name, s.type, Object.keys((s.data ?? {}) as object).length, age(s, now)],
  },
};

// ---- nodes --------------------------------------------------------------------------

function nodeStatusCell(node: KObject): string {
  const conds: Obj[] = statusOf(node).conditions ?? [];
  const ready = conds.find((c) => c.type === 'Ready');
  const parts = [ready ? (ready.status === 'True' ? 'Ready' : 'NotReady') : 'Unknown'];
  if (specOf(node).unschedulable) parts.push('SchedulingDisabled');
  return parts.join(',');
}

function nodeRoles(node: KObject): string {
  const roles: string[] = [];
  for (const [k, v] of Object.entries(node.metadata?.labels ?? {})) {
    if (k.startsWith('node-role.kubernetes.io/')) roles.push(k.slice('node-role.kubernetes.io/'.length));
    else if (k === 'kubernetes.io/role') roles.push(v);
  }
  return roles.length ? roles.sort().join(',') : '<none>';
}

const nodes: ResourceDef = {
  group: '',
  versions: ['v1'],
  kind: 'Node',
  plural: 'nodes',
  singular: 'node',
  namespaced: false,
  shortNames: ['no'],
  subresources: ['status', 'proxy'],
  strategy: {
    hasStatus: true,
    selectableFields: { 'spec.unschedulable': (o) => String(!!specOf(o).unschedulable) },
  },
  table: {
    columns: [
      { name: 'Name', type: 'string', format: 'name' },
      { name: 'Status', type: 'string', description: 'The status of the node' },
      { name: 'Roles', type: 'string' },
      { name: 'Age', type: 'string' },
      { name: 'Version', type: 'string' },
      { name: 'Internal-IP', type: 'string', priority: 1 },
      { name: 'External-IP', type: 'string', priority: 1 },
      { name: 'OS-Image', type: 'string', priority: 1 },
      { name: 'Kernel-Version', type: 'string', priority: 1 },
      { name: 'Container-Runtime', type: 'string', priority: 1 },
    ],
    cells: (n, now) => {
      const st = statusOf(n);
      const addr = (t: string) => ((st.addresses ?? []) as Obj[]).find((a) => a.type === t)?.address ?? '<none>';
      const info = st.nodeInfo ?? {};
      return [n.metadata?.name, nodeStatusCell(n), nodeRoles(n), age(n, now), info.kubeletVersion ?? '', addr('InternalIP'), addr('ExternalIP'), info.osImage ?? '<unknown>', info.kernelVersion ?? '<unknown>', info.containerRuntimeVersion ?? '<unknown>'];
    },
  },
};

// ---- events ----------------------------------------------------------------------------

function eventLastSeen(e: Obj, now: number): string {
  const t = e.series?.lastObservedTime ?? e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata?.creationTimestamp;
  return t ? humanDuration(now - Date.parse(t)) : '<unknown>';
}

const events: ResourceDef = {
  group: '',
  versions: ['v1'],
  kind: 'Event',
  plural: 'events',
  singular: 'event',
  namespaced: true,
  shortNames: ['ev'],
  strategy: {
    validate(obj) {
      const errs: FieldError[] = [];
      const io = (obj.involvedObject ?? {}) as Obj;
      if (io.namespace && obj.metadata?.namespace && io.namespace !== obj.metadata.namespace) {
        errs.push(fieldErrors.invalid('involvedObject.namespace', io.namespace, 'does not match event.namespace'));
      }
      return errs;
    },
    selectableFields: {
      'involvedObject.kind': (o) => (o.involvedObject as Obj | undefined)?.kind ?? '',
      'involvedObject.namespace': (o) => (o.involvedObject as Obj | undefined)?.namespace ?? '',
      'involvedObject.name': (o) => (o.involvedObject as Obj | undefined)?.name ?? '',
      'involvedObject.uid': (o) => (o.involvedObject as Obj | undefined)?.uid ?? '',
      'involvedObject.apiVersion': (o) => (o.involvedObject as Obj | undefined)?.apiVersion ?? '',
      'involvedObject.resourceVersion': (o) => (o.involvedObject as Obj | undefined)?.resourceVersion ?? '',
      'involvedObject.fieldPath': (o) => (o.involvedObject as Obj | undefined)?.fieldPath ?? '',
      reason: (o) => String(o.reason ?? ''),
      reportingComponent: (o) => String(o.reportingComponent ?? ''),
      source: (o) => (o.source as Obj | undefined)?.component ?? '',
      type: (o) => String(o.type ?? ''),
    },
  },
  table: {
    columns: [
      { name: 'Last Seen', type: 'string' },
      { name: 'Type', type: 'string' },
      { name: 'Reason', type: 'string' },
      { name: 'Object', type: 'string' },
      { name: 'Subobject', type: 'string', priority: 1 },
      { name: 'Source', type: 'string', priority: 1 },
      { name: 'Message', type: 'string' },
      { name: 'First Seen', type: 'string', priority: 1 },
      { name: 'Count', type: 'string', priority: 1 },
      { name: 'Name', type: 'string', priority: 1 },
    ],
    cells: (e: Obj, now) => {
      const io = e.involvedObject ?? {};
      const first = e.firstTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp;
      return [
        eventLastSeen(e, now),
        e.type ?? '',
        e.reason ?? '',
        `${String(io.kind ?? '').toLowerCase()}/${io.name ?? ''}`,
        io.fieldPath ?? '',
        [e.source?.component, e.source?.host].filter(Boolean).join(', '),
        String(e.message ?? '').trim(),
        first ? humanDuration(now - Date.parse(first)) : '<unknown>',
        e.count ?? 1,
        e.metadata?.name,
      ];
    },
  },
};

// ---- simple core kinds -------------------------------------------------------------------

const serviceaccounts: ResourceDef = {
  group: '',
  versions: ['v1'],
  kind: 'ServiceAccount',
  plural: 'serviceaccounts',
  singular: 'serviceaccount',
  namespaced: true,
  shortNames: ['sa'],
  subresources: ['token'],
  strategy: {},
  table: {
    columns: [
      { name: 'Name', type: 'string', format: 'name' },
      { name: 'Secrets', type: 'string' },
      { name: 'Age', type: 'string' },
    ],
    cells: (sa, now) => [sa.metadata?.name, ((sa.secrets ?? []) as unknown[]).length, age(sa, now)],
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

const endpoints: ResourceDef = {
  group: '',
  versions: ['v1'],
  kind: 'Endpoints',
  plural: 'endpoints',
  singular: 'endpoints',
  namespaced: true,
  shortNames: ['ep'],
  strategy: {},
  table: {
    columns: [
      { name: 'Name', type: 'string', format: 'name' },
      { name: 'Endpoints', type: 'string' },
      { name: 'Age', type: 'string' },
    ],
    cells: (ep, now) => [ep.metadata?.name, formatEndpoints(ep), age(ep, now)],
  },
};

const persistentvolumes: ResourceDef = {
  group: '',
  versions: ['v1'],
  kind: 'PersistentVolume',
  plural: 'persistentvolumes',
  singular: 'persistentvolume',
  namespaced: false,
  shortNames: ['pv'],
  subresources: ['status'],
  strategy: {
    hasStatus: true,
    defaults(obj) {
      const spec = (obj.spec ??= {}) as Obj;
      spec.persistentVolumeReclaimPolicy ??= 'Retain';
      spec.volumeMode ??= 'Filesystem';
    },
    prepareForCreate(obj) {
      obj.status = { phase: 'Pending' };
    },
  },
  table: {
    columns: [
      { name: 'Name', type: 'string', format: 'name' },
      { name: 'Capacity', type: 'string' },
      { name: 'Access Modes', type: 'string' },
      { name: 'Reclaim Policy', type: 'string' },
      { name: 'Status', type: 'string' },
      { name: 'Claim', type: 'string' },
      { name: 'StorageClass', type: 'string' },
      { name: 'VolumeAttributesClass', type: 'string' },
      { name: 'Reason', type: 'string' },
      { name: 'Age', type: 'string' },
      { name: 'VolumeMode', type: 'string', priority: 1 },
    ],
    cells: (pv, now) => {
      const spec = specOf(pv);
      const claim = spec.claimRef ? `${spec.claimRef.namespace}/${spec.claimRef.name}` : '';
      return [pv.metadata?.name, spec.capacity?.storage ?? '', accessModes(spec.accessModes), spec.persistentVolumeReclaimPolicy ?? '', statusOf(pv).phase ?? '', claim, spec.storageClassName ?? '', spec.volumeAttributesClassName ?? '<unset>', statusOf(pv).reason ?? '', age(pv, now), spec.volumeMode ?? 'Filesystem'];
    },
  },
};

function accessModes(modes: string[] | undefined): string {
  const short: Record<string, string> = { ReadWriteOnce: 'RWO', ReadOnlyMany: 'ROX', ReadWriteMany: 'RWX', ReadWriteOncePod: 'RWOP' };
  return (modes ?? []).map((m) => short[m] ?? m).join(',');
}

const persistentvolumeclaims: ResourceDef = {
  group: '',
  versions: ['v1'],
  kind: 'PersistentVolumeClaim',
  plural: 'persistentvolumeclaims',
  singular: 'persistentvolumeclaim',
  namespaced: true,
  shortNames: ['pvc'],
  subresources: ['status'],
  strategy: {
    hasStatus: true,
    defaults(obj) {
      const spec = (obj.spec ??= {}) as Obj;
      spec.volumeMode ??= 'Filesystem';
    },
    prepareForCreate(obj) {
      obj.status = { phase: 'Pending' };
    },
    validate(obj) {
      const spec = specOf(obj);
      const errs: FieldError[] = [];
      if (!spec.accessModes?.length) errs.push(fieldErrors.required('spec.accessModes', 'at least 1 access mode is required'));
      if (!spec.resources?.requests?.storage && !spec.dataSource) errs.push(fieldErrors.required('spec.resources[storage]'));
      return errs;
    },
  },
  table: {
    columns: [
      { name: 'Name', type: 'string', format: 'name' },
      { name: 'Status', type: 'string' },
      { name: 'Volume', type: 'string' },
      { name: 'Capacity', type: 'string' },
      { name: 'Access Modes', type: 'string' },
      { name: 'StorageClass', type: 'string' },
      { name: 'VolumeAttributesClass', type: 'string' },
      { name: 'Age', type: 'string' },
      { name: 'VolumeMode', type: 'string', priority: 1 },
    ],
    cells: (pvc, now) => {
      const spec = specOf(pvc);
      const st = statusOf(pvc);
      return [pvc.metadata?.name, st.phase ?? '', spec.volumeName ?? '', st.capacity?.storage ?? '', accessModes(st.accessModes), spec.storageClassName ?? '', spec.volumeAttributesClassName ?? '<unset>', age(pvc, now), spec.volumeMode ?? 'Filesystem'];
    },
  },
};

const bindings: ResourceDef = {
  group: '',
  versions: ['v1'],
  kind: 'Binding',
  plural: 'bindings',
  singular: 'binding',
  namespaced: true,
  verbs: ['create'],
  strategy: {},
};

const limitranges: ResourceDef = {
  group: '',
  versions: ['v1'],
  kind: 'LimitRange',
  plural: 'limitranges',
  singular: 'limitrange',
  namespaced: true,
  shortNames: ['limits'],
  strategy: {},
};

const resourcequotas: ResourceDef = {
  group: '',
  versions: ['v1'],
  kind: 'ResourceQuota',
  plural: 'resourcequotas',
  singular: 'resourcequota',
  namespaced: true,
  shortNames: ['quota'],
  subresources: ['status'],
  strategy: { hasStatus: true },
};

const replicationcontrollers: ResourceDef = {
  group: '',
  versions: ['v1'],
  kind: 'ReplicationController',
  plural: 'replicationcontrollers',
  singular: 'replicationcontroller',
  namespaced: true,
  shortNames: ['rc'],
  categories: ['all'],
  subresources: ['status', 'scale'],
  scale: { specReplicasPath: ['spec', 'replicas'], statusReplicasPath: ['status', 'replicas'], labelSelectorPath: ['spec', 'selector'] },
  strategy: {
    hasStatus: true,
    tracksGeneration: true,
    defaults(obj) {
      const spec = (obj.spec ??= {}) as Obj;
      spec.replicas ??= 1;
      const tmplLabels = spec.template?.metadata?.labels;
      if (!spec.selector && tmplLabels) spec.selector = { ...tmplLabels };
      if (spec.template) defaultPodSpec((spec.template.spec ??= {}) as Obj);
    },
    prepareForCreate(obj) {
      obj.status = { replicas: 0 };
    },
  },
  table: {
    columns: [
      { name: 'Name', type: 'string', format: 'name' },
      { name: 'Desired', type: 'integer' },
      { name: 'Current', type: 'integer' },
      { name: 'Ready', type: 'integer' },
      { name: 'Age', type: 'string' },
    ],
    cells: (rc, now) => [rc.metadata?.name, specOf(rc).replicas ?? 0, statusOf(rc).replicas ?? 0, statusOf(rc).readyReplicas ?? 0, age(rc, now)],
  },
};

export const coreResources: ResourceDef[] = [
  replicationcontrollers,
  pods,
  services,
  namespaces,
  configmaps,
  secrets,
  nodes,
  events,
  serviceaccounts,
  endpoints,
  persistentvolumes,
  persistentvolumeclaims,
  bindings,
  limitranges,
  resourcequotas,
];

