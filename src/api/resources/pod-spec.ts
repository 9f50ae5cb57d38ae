/**
 * PodSpec defaulting and validation shared by pods and every workload template
 * (k8s pkg/apis/core/v1/defaults.go and pkg/apis/core/validation/validation.go).
 * Messages and field paths follow upstream word for word.
 */
import { jsonEqual } from '../meta.js';
import type { Obj } from '../registry.js';
import { fieldErrors, type FieldError } from '../errors.js';
import { validateLabelName, validateLabels } from '../labels.js';
import { Quantity } from '../quantity.js';
import {
  envVarNameMessages,
  inclusiveRangeError,
  isDNS1123Label,
  isDNS1123Subdomain,
  isValidPortName,
  isValidPortNum,
  labelValueMessages,
  validateAnnotations,
  validateNonnegative,
} from '../validation.js';

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const arr = (v: unknown): Obj[] => (Array.isArray(v) ? (v as Obj[]) : []);

// ---------------------------------------------------------------------------
// Go value formatting. Upstream field errors print non-string values with %#v
// (map[string]string{"app":"x"}, intstr.IntOrString{…}); errors.ts quotes values as
// JSON, so these render the Go text into the detail and leave `value` unset.

/** %#v of a map[string]string: keys sorted, `map[string]string(nil)` for nil. */
export function goStringMap(m: Record<string, string> | undefined | null): string {
  if (!m) return 'map[string]string(nil)';
  const keys = Object.keys(m).sort();
  return `map[string]string{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(m[k])}`).join(', ')}}`;
}

/** %#v of a metav1.LabelSelector, as field.Invalid prints a selector. */
export function goLabelSelector(ls: Obj | undefined | null): string {
  if (!ls) return 'null';
  const exprs = Array.isArray(ls.matchExpressions)
    ? `[]v1.LabelSelectorRequirement{${(ls.matchExpressions as Obj[])
        .map(
          (e) =>
            `v1.LabelSelectorRequirement{Key:${JSON.stringify(e.key ?? '')}, Operator:${JSON.stringify(e.operator ?? '')}, Values:${
              Array.isArray(e.values) ? `[]string{${(e.values as string[]).map((v) => JSON.stringify(v)).join(', ')}}` : '[]string(nil)'
            }}`,
        )
        .join(', ')}}`
    : '[]v1.LabelSelectorRequirement(nil)';
  return `v1.LabelSelector{MatchLabels:${goStringMap(ls.matchLabels)}, MatchExpressions:${exprs}}`;
}

/** %#v of an intstr.IntOrString (Type 0 = Int, 1 = String). */
export function goIntOrString(v: unknown): string {
  if (typeof v === 'string') return `intstr.IntOrString{Type:1, IntVal:0, StrVal:${JSON.stringify(v)}}`;
  return `intstr.IntOrString{Type:0, IntVal:${typeof v === 'number' ? v : 0}, StrVal:""}`;
}

/** An Invalid error whose value is pre-rendered Go text (printed unquoted). */
export function invalidGo(field: string, goText: string, detail: string): FieldError {
  return { type: 'FieldValueInvalid', field, detail: detail ? `${goText}: ${detail}` : goText };
}


// ---------------------------------------------------------------------------
// Defaults (core/v1 defaults.go)

/**
 * The tag of an image reference as parsers.ParseImageName sees it: "latest" when
 * neither tag nor digest is given, "" when only a digest is given.
 */
export function imageTag(image: string): string {
  const at = image.indexOf('@');
  const name = at >= 0 ? image.slice(0, at) : image;
  const slash = name.lastIndexOf('/');
  const colon = name.lastIndexOf(':');
  // A colon before the last slash belongs to a registry host:port, not a tag.
  if (colon > slash) return name.slice(colon + 1);
  return at >= 0 ? '' : 'latest';
}

function defaultProbeHandler(h: Obj | undefined): void {
  if (!isObj(h)) return;
  if (isObj(h.httpGet)) {
    h.httpGet.path ||= '/';
    h.httpGet.scheme ||= 'HTTP';
  }
}

function defaultProbe(p: unknown): void {
  if (!isObj(p)) return;
  // Zero means unset for these int32 fields, as in SetDefaults_Probe.
  if (!p.timeoutSeconds) p.timeoutSeconds = 1;
  if (!p.periodSeconds) p.periodSeconds = 10;
  if (!p.successThreshold) p.successThreshold = 1;
  if (!p.failureThreshold) p.failureThreshold = 3;
  defaultProbeHandler(p);
}

function defaultFieldRef(ref: unknown): void {
  if (isObj(ref) && !ref.apiVersion) ref.apiVersion = 'v1';
}

function defaultContainer(c: Obj, isPod: boolean, hostNetwork: boolean): void {
  if (!c.imagePullPolicy) c.imagePullPolicy = imageTag(String(c.image ?? '')) === 'latest' ? 'Always' : 'IfNotPresent';
  c.terminationMessagePath ||= '/dev/termination-log';
  c.terminationMessagePolicy ||= 'File';
  for (const p of arr(c.ports)) {
    p.protocol ||= 'TCP';
    // SetDefaults_PodSpec: on the host network, container ports are host ports.
    if (hostNetwork && !p.hostPort && p.containerPort) p.hostPort = p.containerPort;
  }
  if (!isObj(c.resources)) c.resources = {};
  // SetDefaults_Pod (pods only, not templates): requests default to limits.
  if (isPod && isObj(c.resources.limits)) {
    const req: Obj = isObj(c.resources.requests) ? c.resources.requests : (c.resources.requests = {});
    for (const [k, v] of Object.entries(c.resources.limits)) if (!(k in req)) req[k] = v;
  }
  for (const e of arr(c.env)) defaultFieldRef(e.valueFrom?.fieldRef);
  defaultProbe(c.livenessProbe);
  defaultProbe(c.readinessProbe);
  defaultProbe(c.startupProbe);
  if (isObj(c.lifecycle)) {
    defaultProbeHandler(c.lifecycle.postStart);
    defaultProbeHandler(c.lifecycle.preStop);
  }
}

function defaultVolume(v: Obj): void {
  const sources = Object.keys(v).filter((k) => k !== 'name' && isObj(v[k]));
  // SetDefaults_Volume: a volume without a source is an emptyDir.
  if (sources.length === 0) v.emptyDir = {};
  if (isObj(v.configMap) && v.configMap.defaultMode === undefined) v.configMap.defaultMode = 420;
  if (isObj(v.secret) && v.secret.defaultMode === undefined) v.secret.defaultMode = 420;
  if (isObj(v.downwardAPI)) {
    if (v.downwardAPI.defaultMode === undefined) v.downwardAPI.defaultMode = 420;
    for (const item of arr(v.downwardAPI.items)) defaultFieldRef(item.fieldRef);
  }
  if (isObj(v.projected)) {
    if (v.projected.defaultMode === undefined) v.projected.defaultMode = 420;
    for (const s of arr(v.projected.sources)) {
      for (const item of arr(s.downwardAPI?.items)) defaultFieldRef(item.fieldRef);
      if (isObj(s.serviceAccountToken) && s.serviceAccountToken.expirationSeconds === undefined) s.serviceAccountToken.expirationSeconds = 3600;
    }
  }
  if (isObj(v.hostPath) && v.hostPath.type === undefined) v.hostPath.type = '';
  if (isObj(v.ephemeral?.volumeClaimTemplate?.spec)) v.ephemeral.volumeClaimTemplate.spec.volumeMode ||= 'Filesystem';
}

/**
 * Fills a PodSpec with upstream's v1 defaults, in place. `kind` 'pod' also applies the
 * pod-only rule that container requests default to limits (SetDefaults_Pod); pod
 * templates pass 'template'.
 */
export function defaultPodSpec(spec: Obj, kind: 'pod' | 'template' = 'pod'): Obj {
  spec.restartPolicy ||= 'Always';
  spec.dnsPolicy ||= 'ClusterFirst';
  if (spec.terminationGracePeriodSeconds === undefined || spec.terminationGracePeriodSeconds === null) spec.terminationGracePeriodSeconds = 30;
  spec.schedulerName ||= 'default-scheduler';
  if (!isObj(spec.securityContext)) spec.securityContext = {};
  if (spec.enableServiceLinks === undefined || spec.enableServiceLinks === null) spec.enableServiceLinks = true;
  const hostNetwork = spec.hostNetwork === true;
  for (const c of arr(spec.containers)) defaultContainer(c, kind === 'pod', hostNetwork);
  for (const c of arr(spec.initContainers)) defaultContainer(c, kind === 'pod', hostNetwork);
  for (const c of arr(spec.ephemeralContainers)) defaultContainer(c, false, false);
  for (const v of arr(spec.volumes)) defaultVolume(v);
  return spec;
}

/** Defaults a PodTemplateSpec (`{metadata, spec}`) in place; the spec is created if missing. */
export function defaultPodTemplateSpec(tmpl: Obj): Obj {
  if (!isObj(tmpl.spec)) tmpl.spec = {};
  defaultPodSpec(tmpl.spec, 'template');
  return tmpl;
}

/** A PersistentVolumeClaim inside a StatefulSet's volumeClaimTemplates gets the PVC defaults. */
export function defaultPersistentVolumeClaim(pvc: Obj): Obj {
  if (!isObj(pvc.spec)) pvc.spec = {};
  pvc.spec.volumeMode ||= 'Filesystem';
  if (!isObj(pvc.status)) pvc.status = {};
  pvc.status.phase ||= 'Pending';
  return pvc;
}

// ---------------------------------------------------------------------------
// Validation (core/validation/validation.go)

const RESTART_POLICIES = ['Always', 'OnFailure', 'Never'];
const DNS_POLICIES = ['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None'];
const PORT_PROTOCOLS = ['SCTP', 'TCP', 'UDP'];
const PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'];
const TERMINATION_MESSAGE_POLICIES = ['File', 'FallbackToLogsOnError'];
const TAINT_EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];
const HOST_PATH_TYPES = ['', 'BlockDevice', 'CharDevice', 'Directory', 'DirectoryOrCreate', 'File', 'FileOrCreate', 'Socket'];
const HTTP_SCHEMES = ['HTTP', 'HTTPS'];
const ENV_FIELD_PATHS = [
  'metadata.annotations',
  'metadata.labels',
  'metadata.name',
  'metadata.namespace',
  'metadata.uid',
  'spec.nodeName',
  'spec.serviceAccountName',
  'status.hostIP',
  'status.hostIPs',
  'status.podIP',
  'status.podIPs',
];
const FILE_MODE_ERROR = 'must be a number between 0 and 0777 (octal), both inclusive';
/** Volume source fields, in the order upstream's validateVolumeSource checks them. */
const VOLUME_SOURCES = [
  'hostPath', 'emptyDir', 'gitRepo', 'gcePersistentDisk', 'awsElasticBlockStore', 'secret', 'nfs', 'iscsi', 'glusterfs',
  'flocker', 'persistentVolumeClaim', 'rbd', 'quobyte', 'cinder', 'cephfs', 'downwardAPI', 'fc', 'azureFile', 'vsphereVolume',
  'azureDisk', 'photonPersistentDisk', 'portworxVolume', 'scaleIO', 'configMap', 'projected', 'storageos', 'csi', 'ephemeral', 'image',
];
const MAX_INT32 = 2147483647;

/** validatePortNumOrName for probe and handler ports. */
function validatePortNumOrName(port: unknown, path: string): FieldError[] {
  if (typeof port === 'number') return isValidPortNum(port, path);
  if (typeof port === 'string') return isValidPortName(port, path);
  return [fieldErrors.required(path, '')];
}

/** validateHandler: exactly one of exec, httpGet, tcpSocket, grpc (sleep for lifecycle hooks). */
function validateHandler(h: Obj, path: string, kinds: readonly string[]): FieldError[] {
  const errs: FieldError[] = [];
  let n = 0;
  for (const k of kinds) {
    if (!isObj(h[k])) continue;
    if (n > 0) {
      errs.push(fieldErrors.forbidden(`${path}.${k}`, 'may not specify more than 1 handler type'));
      continue;
    }
    n++;
    const p = `${path}.${k}`;
    const v = h[k] as Obj;
    if (k === 'exec' && arr(v.command).length === 0) errs.push(fieldErrors.required(`${p}.command`, ''));
    if (k === 'httpGet') {
      if (!v.path) errs.push(fieldErrors.required(`${p}.path`, ''));
      errs.push(...validatePortNumOrName(v.port, `${p}.port`));
      if (v.scheme !== undefined && !HTTP_SCHEMES.includes(v.scheme)) errs.push(fieldErrors.notSupported(`${p}.scheme`, v.scheme, HTTP_SCHEMES));
    }
    if (k === 'tcpSocket') errs.push(...validatePortNumOrName(v.port, `${p}.port`));
    if (k === 'grpc') errs.push(...isValidPortNum(Number(v.port), `${p}.port`));
  }
  if (n === 0) errs.push(fieldErrors.required(path, 'must specify a handler type'));
  return errs;
}

function validateProbe(p: unknown, path: string): FieldError[] {
  if (!isObj(p)) return [];
  const errs = validateHandler(p, path, ['exec', 'httpGet', 'tcpSocket', 'grpc']);
  for (const f of ['initialDelaySeconds', 'timeoutSeconds', 'periodSeconds', 'successThreshold', 'failureThreshold']) {
    if (typeof p[f] === 'number') errs.push(...validateNonnegative(`${path}.${f}`, p[f]));
  }
  if (typeof p.terminationGracePeriodSeconds === 'number' && p.terminationGracePeriodSeconds <= 0) {
    errs.push(fieldErrors.invalid(`${path}.terminationGracePeriodSeconds`, p.terminationGracePeriodSeconds, 'must be greater than 0'));
  }
  return errs;
}

function validateResources(res: unknown, path: string): FieldError[] {
  if (!isObj(res)) return [];
  const errs: FieldError[] = [];
  const parsed = (list: unknown, p: string): Map<string, Quantity> => {
    const out = new Map<string, Quantity>();
    if (!isObj(list)) return out;
    for (const [name, raw] of Object.entries(list)) {
      const kp = `${p}[${name}]`;
      for (const e of validateLabelName(name, kp)) errs.push(e);
      let q: Quantity;
      try {
        q = Quantity.parse(raw as string | number);
      } catch (e) {
        errs.push(fieldErrors.invalid(kp, raw, (e as Error).message));
        continue;
      }
      if (q.sign() < 0) errs.push(fieldErrors.invalid(kp, q.toString(), 'must be greater than or equal to 0'));
      out.set(name, q);
    }
    return out;
  };
  const limits = parsed(res.limits, `${path}.limits`);
  const requests = parsed(res.requests, `${path}.requests`);
  for (const [name, q] of requests) {
    const lim = limits.get(name);
    // Upstream reports this at the requests map, not the key.
    if (lim && q.cmp(lim) > 0) errs.push(fieldErrors.invalid(`${path}.requests`, q.toString(), `must be less than or equal to ${name} limit of ${lim.toString()}`));
  }
  return errs;
}

function validateEnv(env: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  arr(env).forEach((ev, i) => {
    const p = `${path}[${i}]`;
    if (!ev.name) errs.push(fieldErrors.required(`${p}.name`, ''));
    else for (const m of envVarNameMessages(ev.name)) errs.push(fieldErrors.invalid(`${p}.name`, ev.name, m));
    if (!isObj(ev.valueFrom)) return;
    const vp = `${p}.valueFrom`;
    const sources = ['fieldRef', 'resourceFieldRef', 'configMapKeyRef', 'secretKeyRef'].filter((k) => isObj(ev.valueFrom[k]));
    if (ev.value) errs.push(fieldErrors.invalid(vp, '', 'may not be specified when `value` is not empty'));
    if (sources.length === 0) errs.push(fieldErrors.invalid(vp, '', 'must specify one of: `fieldRef`, `resourceFieldRef`, `configMapRef` or `secretRef`'));
    else if (sources.length > 1) errs.push(fieldErrors.invalid(vp, '', 'may not have more than one field specified at a time'));
    const fr = ev.valueFrom.fieldRef;
    if (isObj(fr)) {
      if (!fr.fieldPath) errs.push(fieldErrors.required(`${vp}.fieldRef.fieldPath`, ''));
      else {
        const base = String(fr.fieldPath).replace(/\[.*\]$/, '');
        const subscripted = base !== fr.fieldPath;
        if (subscripted ? !['metadata.annotations', 'metadata.labels'].includes(base) : !ENV_FIELD_PATHS.includes(base)) {
          errs.push(fieldErrors.notSupported(`${vp}.fieldRef.fieldPath`, fr.fieldPath, ENV_FIELD_PATHS));
        }
      }
    }
    for (const k of ['configMapKeyRef', 'secretKeyRef']) {
      const ref = ev.valueFrom[k];
      if (!isObj(ref)) continue;
      if (!ref.key) errs.push(fieldErrors.required(`${vp}.${k}.key`, ''));
      if (!ref.name) errs.push(fieldErrors.required(`${vp}.${k}.name`, ''));
    }
  });
  return errs;
}

function validateContainer(c: Obj, path: string, volumes: Set<string>, names: Set<string>, isInit: boolean): FieldError[] {
  const errs: FieldError[] = [];
  if (!c.name) errs.push(fieldErrors.required(`${path}.name`, ''));
  else {
    errs.push(...isDNS1123Label(c.name, `${path}.name`));
    if (names.has(c.name)) errs.push(fieldErrors.duplicate(`${path}.name`, c.name));
    names.add(c.name);
  }
  if (!c.image) errs.push(fieldErrors.required(`${path}.image`, ''));
  else if (String(c.image).trim() !== c.image) errs.push(fieldErrors.invalid(`${path}.image`, c.image, 'must not have leading or trailing whitespace'));
  if (isObj(c.lifecycle)) {
    for (const h of ['postStart', 'preStop']) {
      if (isObj(c.lifecycle[h])) errs.push(...validateHandler(c.lifecycle[h], `${path}.lifecycle.${h}`, ['exec', 'httpGet', 'tcpSocket', 'sleep']));
    }
  }
  // Ports.
  const portNames = new Set<string>();
  arr(c.ports).forEach((p, i) => {
    const pp = `${path}.ports[${i}]`;
    if (p.name) {
      errs.push(...isValidPortName(p.name, `${pp}.name`));
      if (portNames.has(p.name)) errs.push(fieldErrors.duplicate(`${pp}.name`, p.name));
      portNames.add(p.name);
    }
    if (!p.containerPort) errs.push(fieldErrors.required(`${pp}.containerPort`, ''));
    else errs.push(...isValidPortNum(p.containerPort, `${pp}.containerPort`));
    if (p.hostPort) errs.push(...isValidPortNum(p.hostPort, `${pp}.hostPort`));
    if (!p.protocol) errs.push(fieldErrors.required(`${pp}.protocol`, ''));
    else if (!PORT_PROTOCOLS.includes(p.protocol)) errs.push(fieldErrors.notSupported(`${pp}.protocol`, p.protocol, PORT_PROTOCOLS));
  });
  errs.push(...validateEnv(c.env, `${path}.env`));
  // Volume mounts.
  const mountPaths = new Set<string>();
  arr(c.volumeMounts).forEach((m, i) => {
    const mp = `${path}.volumeMounts[${i}]`;
    if (!m.name) errs.push(fieldErrors.required(`${mp}.name`, ''));
    else if (!volumes.has(m.name)) errs.push(fieldErrors.notFound(`${mp}.name`, m.name));
    if (!m.mountPath) errs.push(fieldErrors.required(`${mp}.mountPath`, ''));
    else if (mountPaths.has(m.mountPath)) errs.push(fieldErrors.invalid(`${mp}.mountPath`, m.mountPath, 'must be unique'));
    if (m.mountPath) mountPaths.add(m.mountPath);
    if (m.subPath && (String(m.subPath).startsWith('/') || String(m.subPath).split('/').includes('..'))) {
      errs.push(fieldErrors.invalid(`${mp}.subPath`, m.subPath, String(m.subPath).startsWith('/') ? 'must be a relative path' : "must not contain '..'"));
    }
  });
  errs.push(...validateResources(c.resources, `${path}.resources`));
  if (c.imagePullPolicy !== undefined && !PULL_POLICIES.includes(c.imagePullPolicy)) {
    errs.push(fieldErrors.notSupported(`${path}.imagePullPolicy`, c.imagePullPolicy, PULL_POLICIES));
  }
  if (c.terminationMessagePolicy !== undefined && !TERMINATION_MESSAGE_POLICIES.includes(c.terminationMessagePolicy)) {
    errs.push(fieldErrors.notSupported(`${path}.terminationMessagePolicy`, c.terminationMessagePolicy, TERMINATION_MESSAGE_POLICIES));
  }
  // Probes. Plain init containers may not have them; sidecars (restartPolicy Always) may.
  const sidecar = isInit && c.restartPolicy === 'Always';
  if (isInit && c.restartPolicy !== undefined && c.restartPolicy !== 'Always') {
    errs.push(fieldErrors.notSupported(`${path}.restartPolicy`, c.restartPolicy, ['Always']));
  }
  if (isInit && !sidecar) {
    for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
      if (c[probe] !== undefined && c[probe] !== null) errs.push(fieldErrors.forbidden(`${path}.${probe}`, `may not be set for init containers without restartPolicy=Always`));
    }
  } else {
    errs.push(...validateProbe(c.livenessProbe, `${path}.livenessProbe`));
    errs.push(...validateProbe(c.readinessProbe, `${path}.readinessProbe`));
    errs.push(...validateProbe(c.startupProbe, `${path}.startupProbe`));
    for (const probe of ['livenessProbe', 'startupProbe']) {
      const p = c[probe];
      if (isObj(p) && p.successThreshold !== undefined && p.successThreshold !== 1) {
        errs.push(fieldErrors.invalid(`${path}.${probe}.successThreshold`, p.successThreshold, 'must be 1'));
      }
    }
  }
  return errs;
}

/** ValidateVolumes: names DNS labels and unique, exactly one source, source basics. Returns the names. */
function validateVolumes(volumes: unknown, path: string, errs: FieldError[]): Set<string> {
  const names = new Set<string>();
  arr(volumes).forEach((v, i) => {
    const vp = `${path}[${i}]`;
    if (!v.name) errs.push(fieldErrors.required(`${vp}.name`, ''));
    else {
      errs.push(...isDNS1123Label(v.name, `${vp}.name`));
      if (names.has(v.name)) errs.push(fieldErrors.duplicate(`${vp}.name`, v.name));
    }
    if (v.name) names.add(v.name);
    const present = VOLUME_SOURCES.filter((k) => isObj(v[k]));
    if (present.length === 0) errs.push(fieldErrors.required(vp, 'must specify a volume type'));
    for (const extra of present.slice(1)) errs.push(fieldErrors.forbidden(`${vp}.${extra}`, 'may not specify more than 1 volume type'));
    const src = present[0];
    if (!src) return;
    const s = v[src] as Obj;
    const sp = `${vp}.${src}`;
    const checkMode = (mode: unknown, p: string): void => {
      if (typeof mode === 'number' && (mode < 0 || mode > 0o777)) errs.push(fieldErrors.invalid(p, mode, FILE_MODE_ERROR));
    };
    switch (src) {
      case 'hostPath':
        if (!s.path) errs.push(fieldErrors.required(`${sp}.path`, ''));
        if (s.type !== undefined && s.type !== null && !HOST_PATH_TYPES.includes(s.type)) errs.push(fieldErrors.notSupported(`${sp}.type`, s.type, HOST_PATH_TYPES));
        break;
      case 'configMap':
        if (!s.name) errs.push(fieldErrors.required(`${sp}.name`, ''));
        checkMode(s.defaultMode, `${sp}.defaultMode`);
        break;
      case 'secret':
        if (!s.secretName) errs.push(fieldErrors.required(`${sp}.secretName`, ''));
        checkMode(s.defaultMode, `${sp}.defaultMode`);
        break;
      case 'persistentVolumeClaim':
        if (!s.claimName) errs.push(fieldErrors.required(`${sp}.claimName`, ''));
        break;
      case 'downwardAPI':
      case 'projected':
        checkMode(s.defaultMode, `${sp}.defaultMode`);
        break;
      case 'nfs':
        if (!s.server) errs.push(fieldErrors.required(`${sp}.server`, ''));
        if (!s.path) errs.push(fieldErrors.required(`${sp}.path`, ''));
        else if (!String(s.path).startsWith('/')) errs.push(fieldErrors.invalid(`${sp}.path`, s.path, 'must be an absolute path'));
        break;
      case 'emptyDir':
        if (s.medium !== undefined && !['', 'Memory', 'HugePages'].includes(s.medium) && !String(s.medium).startsWith('HugePages-')) {
          errs.push(fieldErrors.notSupported(`${sp}.medium`, s.medium, ['', 'Memory', 'HugePages']));
        }
        if (s.sizeLimit !== undefined) {
          try {
            Quantity.parse(s.sizeLimit);
          } catch (e) {
            errs.push(fieldErrors.invalid(`${sp}.sizeLimit`, s.sizeLimit, (e as Error).message));
          }
        }
        break;
    }
  });
  return names;
}

/** ValidateTolerations. */
export function validateTolerations(tolerations: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  arr(tolerations).forEach((t, i) => {
    const tp = `${path}[${i}]`;
    if (t.key) errs.push(...validateLabelName(t.key, `${tp}.key`));
    if (!t.key && t.operator !== 'Exists') {
      errs.push(fieldErrors.invalid(`${tp}.operator`, t.operator ?? '', 'operator must be Exists when `key` is empty, which means "match all values and all keys"'));
    }
    if (t.tolerationSeconds !== undefined && t.tolerationSeconds !== null && t.effect !== 'NoExecute') {
      errs.push(fieldErrors.invalid(`${tp}.effect`, t.effect ?? '', "effect must be 'NoExecute' when `tolerationSeconds` is set"));
    }
    switch (t.operator ?? '') {
      case 'Equal':
      case '': {
        const msgs = labelValueMessages(String(t.value ?? ''));
        if (msgs.length) errs.push(fieldErrors.invalid(`${tp}.operator`, t.value, msgs.join(';')));
        break;
      }
      case 'Exists':
        if (t.value) errs.push(fieldErrors.invalid(`${tp}.operator`, t.value, "value must be empty when `operator` is 'Exists'"));
        break;
      default:
        errs.push(fieldErrors.notSupported(`${tp}.operator`, t.operator, ['Equal', 'Exists']));
    }
    if (t.effect && !TAINT_EFFECTS.includes(t.effect)) errs.push(fieldErrors.notSupported(`${tp}.effect`, t.effect, TAINT_EFFECTS));
  });
  return errs;
}

/**
 * ValidatePodSpec. `fieldPath` is where the spec sits: 'spec' for pods,
 * 'spec.template.spec' for workloads, 'spec.jobTemplate.spec.template.spec' for cron jobs.
 * `extraVolumes` are names volumeMounts may refer to besides spec.volumes (a StatefulSet's
 * volumeClaimTemplates).
 */
export function validatePodSpec(spec: Obj | undefined, fieldPath: string, extraVolumes: Iterable<string> = []): FieldError[] {
  const errs: FieldError[] = [];
  const s: Obj = isObj(spec) ? spec : {};
  const volumes = validateVolumes(s.volumes, `${fieldPath}.volumes`, errs);
  for (const v of extraVolumes) volumes.add(v);
  const names = new Set<string>();
  const containers = arr(s.containers);
  if (containers.length === 0) errs.push(fieldErrors.required(`${fieldPath}.containers`, ''));
  containers.forEach((c, i) => errs.push(...validateContainer(c, `${fieldPath}.containers[${i}]`, volumes, names, false)));
  arr(s.initContainers).forEach((c, i) => errs.push(...validateContainer(c, `${fieldPath}.initContainers[${i}]`, volumes, names, true)));
  if (!s.restartPolicy) errs.push(fieldErrors.required(`${fieldPath}.restartPolicy`, ''));
  else if (!RESTART_POLICIES.includes(s.restartPolicy)) errs.push(fieldErrors.notSupported(`${fieldPath}.restartPolicy`, s.restartPolicy, RESTART_POLICIES));
  if (!s.dnsPolicy) errs.push(fieldErrors.required(`${fieldPath}.dnsPolicy`, ''));
  else if (!DNS_POLICIES.includes(s.dnsPolicy)) errs.push(fieldErrors.notSupported(`${fieldPath}.dnsPolicy`, s.dnsPolicy, DNS_POLICIES));
  if (s.dnsPolicy === 'None' && !isObj(s.dnsConfig)) {
    errs.push(fieldErrors.required(`${fieldPath}.dnsConfig`, `must provide \`dnsConfig\` when \`dnsPolicy\` is None`));
  }
  errs.push(...validateLabels(s.nodeSelector, `${fieldPath}.nodeSelector`));
  arr(s.imagePullSecrets).forEach((r, i) => {
    if (!r.name) errs.push(fieldErrors.required(`${fieldPath}.imagePullSecrets[${i}].name`, ''));
  });
  if (s.serviceAccountName) errs.push(...isDNS1123Subdomain(s.serviceAccountName, `${fieldPath}.serviceAccountName`));
  if (s.nodeName) errs.push(...isDNS1123Subdomain(s.nodeName, `${fieldPath}.nodeName`));
  if (s.activeDeadlineSeconds !== undefined && s.activeDeadlineSeconds !== null) {
    const v = s.activeDeadlineSeconds;
    if (typeof v !== 'number' || v < 1 || v > MAX_INT32) errs.push(fieldErrors.invalid(`${fieldPath}.activeDeadlineSeconds`, v, inclusiveRangeError(1, MAX_INT32)));
  }
  if (s.hostname) errs.push(...isDNS1123Label(s.hostname, `${fieldPath}.hostname`));
  if (s.subdomain) errs.push(...isDNS1123Label(s.subdomain, `${fieldPath}.subdomain`));
  errs.push(...validateTolerations(s.tolerations, `${fieldPath}.tolerations`));
  if (s.priorityClassName) errs.push(...isDNS1123Subdomain(s.priorityClassName, `${fieldPath}.priorityClassName`));
  if (typeof s.terminationGracePeriodSeconds === 'number') errs.push(...validateNonnegative(`${fieldPath}.terminationGracePeriodSeconds`, s.terminationGracePeriodSeconds));
  return errs;
}

/**
 * ValidatePodTemplateSpec: template labels and annotations, then the pod spec.
 * `fieldPath` is the template's path, e.g. 'spec.template'.
 */
export function validatePodTemplateSpec(tmpl: Obj | undefined, fieldPath: string, extraVolumes: Iterable<string> = []): FieldError[] {
  const t: Obj = isObj(tmpl) ? tmpl : {};
  const md: Obj = isObj(t.metadata) ? t.metadata : {};
  return [
    ...validateLabels(md.labels, `${fieldPath}.metadata.labels`),
    ...validateAnnotations(md.annotations, `${fieldPath}.metadata.annotations`),
    ...validatePodSpec(t.spec, `${fieldPath}.spec`, extraVolumes),
  ];
}

/** The fields a pod update may change, as upstream lists them in its Forbidden message. */
export const POD_UPDATE_FORBIDDEN_MESSAGE =
  'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)';

/**
 * ValidatePodUpdate (spec part): a pod's spec is immutable except container images,
 * activeDeadlineSeconds (may only shrink, never be removed), added tolerations,
 * terminationGracePeriodSeconds going from negative to 1, and nodeName being set once
 * (binding). Call after {@link validatePodSpec}.
 */
export function validatePodUpdate(newPod: Obj, oldPod: Obj): FieldError[] {
  const errs: FieldError[] = [];
  const ns: Obj = isObj(newPod.spec) ? newPod.spec : {};
  const os: Obj = isObj(oldPod.spec) ? oldPod.spec : {};
  const munged: Obj = JSON.parse(JSON.stringify(ns)) as Obj;

  // Images may change when the container lists line up.
  for (const list of ['containers', 'initContainers']) {
    const n = arr(munged[list]);
    const o = arr(os[list]);
    if (n.length !== o.length) continue;
    n.forEach((c, i) => {
      if (o[i].image === undefined) delete c.image;
      else c.image = o[i].image;
    });
  }

  const nd = ns.activeDeadlineSeconds;
  const od = os.activeDeadlineSeconds;
  if (nd !== undefined && nd !== null) {
    if (typeof nd !== 'number' || nd < 1 || nd > MAX_INT32) errs.push(fieldErrors.invalid('spec.activeDeadlineSeconds', nd, inclusiveRangeError(1, MAX_INT32)));
  }
  if (od !== undefined && od !== null) {
    if (nd === undefined || nd === null) errs.push(fieldErrors.invalid('spec.activeDeadlineSeconds', null, 'must not update from a positive integer to nil value'));
    else if (typeof nd === 'number' && nd > od) errs.push(fieldErrors.invalid('spec.activeDeadlineSeconds', nd, 'must be less than or equal to previous value'));
  }
  if (od === undefined) delete munged.activeDeadlineSeconds;
  else munged.activeDeadlineSeconds = od;

  // Tolerations: every old toleration must still be there (tolerationSeconds may change).
  const newTols = arr(ns.tolerations);
  for (const old of arr(os.tolerations)) {
    const found = newTols.some((t) => jsonEqual({ ...old, tolerationSeconds: t.tolerationSeconds }, t));
    if (!found) {
      errs.push(fieldErrors.forbidden('spec.tolerations', 'existing toleration can not be modified except its tolerationSeconds'));
      break;
    }
  }
  if (os.tolerations === undefined) delete munged.tolerations;
  else munged.tolerations = os.tolerations;

  if (typeof os.terminationGracePeriodSeconds === 'number' && os.terminationGracePeriodSeconds < 0 && ns.terminationGracePeriodSeconds === 1) {
    munged.terminationGracePeriodSeconds = os.terminationGracePeriodSeconds;
  }
  // Binding sets nodeName once; after that it is as immutable as the rest.
  if (!os.nodeName) {
    if (os.nodeName === undefined) delete munged.nodeName;
    else munged.nodeName = os.nodeName;
  }

  if (!jsonEqual(munged, os)) errs.push(fieldErrors.forbidden('spec', POD_UPDATE_FORBIDDEN_MESSAGE));
  return errs;
}

export { jsonEqual };
