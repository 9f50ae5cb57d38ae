/**
 * The baseline Pod Security checks, as k8s.io/pod-security-admission/policy/check_*.go: the
 * same fields, the same versions and the same wording of every reason and detail.
 */
import { ALLOWED, containersPhrase, forbidden, joinQuote, pluralize, relaxForUserNamespacePod, sortedSet, visitContainers, type Check, type CheckPod, type Json } from './check.js';

const hostNamespaces: CheckPod = (_m, spec) => {
  const ns: string[] = [];
  if (spec.hostNetwork) ns.push('hostNetwork=true');
  if (spec.hostPID) ns.push('hostPID=true');
  if (spec.hostIPC) ns.push('hostIPC=true');
  return ns.length ? forbidden('host namespaces', ns.join(', ')) : ALLOWED;
};

const privileged: CheckPod = (_m, spec) => {
  const bad: string[] = [];
  visitContainers(spec, (c) => {
    if (c.securityContext?.privileged === true) bad.push(c.name);
  });
  return bad.length ? forbidden('privileged', `${containersPhrase(bad)} must not set securityContext.privileged=true`) : ALLOWED;
};

const CAPABILITIES_ALLOWED = new Set(['AUDIT_WRITE', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'MKNOD', 'NET_BIND_SERVICE', 'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_CHROOT']);

const capabilitiesBaseline: CheckPod = (_m, spec) => {
  const bad: string[] = [];
  const caps: string[] = [];
  visitContainers(spec, (c) => {
    const add: unknown[] = c.securityContext?.capabilities?.add ?? [];
    let valid = true;
    for (const cap of add) {
      if (!CAPABILITIES_ALLOWED.has(String(cap))) {
        valid = false;
        caps.push(String(cap));
      }
    }
    if (!valid) bad.push(c.name);
  });
  return bad.length ? forbidden('non-default capabilities', `${containersPhrase(bad)} must not include ${joinQuote(sortedSet(caps))} in securityContext.capabilities.add`) : ALLOWED;
};

const hostPathVolumes: CheckPod = (_m, spec) => {
  const vols = ((spec.volumes ?? []) as Json[]).filter((v) => v?.hostPath).map((v) => v.name as string);
  return vols.length ? forbidden('hostPath volumes', `${pluralize('volume', 'volumes', vols.length)} ${joinQuote(vols)}`) : ALLOWED;
};

const hostPorts: CheckPod = (_m, spec) => {
  const bad: string[] = [];
  const ports: string[] = [];
  visitContainers(spec, (c) => {
    let valid = true;
    for (const p of (c.ports ?? []) as Json[]) {
      if (p?.hostPort) {
        valid = false;
        ports.push(String(p.hostPort));
      }
    }
    if (!valid) bad.push(c.name);
  });
  if (!bad.length) return ALLOWED;
  const list = sortedSet(ports);
  return forbidden('hostPort', `${containersPhrase(bad)} ${pluralize('uses', 'use', bad.length)} ${pluralize('hostPort', 'hostPorts', list.length)} ${list.join(', ')}`);
};

const hostsOf = (handler: Json | undefined): string[] => {
  const out: string[] = [];
  if (handler?.httpGet?.host) out.push(handler.httpGet.host);
  if (handler?.tcpSocket?.host) out.push(handler.tcpSocket.host);
  return out;
};

const hostProbesAndHostLifecycle: CheckPod = (_m, spec) => {
  const bad = new Set<string>();
  const hosts = new Set<string>();
  visitContainers(spec, (c) => {
    for (const h of [c.livenessProbe, c.readinessProbe, c.startupProbe, c.lifecycle?.postStart, c.lifecycle?.preStop]) {
      const found = hostsOf(h);
      if (found.length) {
        bad.add(c.name);
        for (const x of found) hosts.add(x);
      }
    }
  });
  if (!bad.size) return ALLOWED;
  const names = sortedSet(bad);
  return forbidden(
    'probe or lifecycle host',
    `${containersPhrase(names)} ${pluralize('uses', 'use', names.length)} ${pluralize('probe or lifecycle host', 'probe or lifecycle hosts', hosts.size)} ${joinQuote(sortedSet(hosts))}`,
  );
};

const APPARMOR_ANNOTATION_PREFIX = 'container.apparmor.security.beta.kubernetes.io/';

const appArmorProfile: CheckPod = (meta, spec) => {
  const okType = (t: unknown) => t === 'RuntimeDefault' || t === 'Localhost';
  const okAnnotation = (v: string) => v === '' || v === 'runtime/default' || v.startsWith('localhost/');
  const setters: string[] = [];
  const values = new Set<string>();
  const podProfile = spec.securityContext?.appArmorProfile;
  if (podProfile && !okType(podProfile.type)) {
    setters.push('pod');
    values.add(String(podProfile.type ?? ''));
  }
  const bad: string[] = [];
  visitContainers(spec, (c) => {
    const p = c.securityContext?.appArmorProfile;
    if (p && !okType(p.type)) {
      bad.push(c.name);
      values.add(String(p.type ?? ''));
    }
  });
  if (bad.length) setters.push(containersPhrase(bad));
  const annotations: string[] = [];
  for (const [k, v] of Object.entries((meta.annotations ?? {}) as Record<string, string>)) {
    if (k.startsWith(APPARMOR_ANNOTATION_PREFIX) && !okAnnotation(v)) annotations.push(`${k}=${JSON.stringify(v)}`);
  }
  const valueList = sortedSet(values);
  if (annotations.length) {
    valueList.push(...annotations.sort());
    setters.push(pluralize('annotation', 'annotations', annotations.length));
  }
  if (!setters.length) return ALLOWED;
  return forbidden(
    pluralize('forbidden AppArmor profile', 'forbidden AppArmor profiles', valueList.length),
    `${setters.join(' and ')} must not set AppArmor profile type to ${joinQuote(valueList)}`,
  );
};

const seLinuxOptions = (allowedTypes: Set<string>): CheckPod => (_m, spec) => {
  const setters: string[] = [];
  const badTypes = new Set<string>();
  let setUser = false;
  let setRole = false;
  const valid = (o: Json) => {
    let ok = true;
    if (!allowedTypes.has(o.type ?? '')) {
      ok = false;
      badTypes.add(o.type ?? '');
    }
    if (o.user) {
      ok = false;
      setUser = true;
    }
    if (o.role) {
      ok = false;
      setRole = true;
    }
    return ok;
  };
  if (spec.securityContext?.seLinuxOptions && !valid(spec.securityContext.seLinuxOptions)) setters.push('pod');
  const bad: string[] = [];
  visitContainers(spec, (c) => {
    if (c.securityContext?.seLinuxOptions && !valid(c.securityContext.seLinuxOptions)) bad.push(c.name);
  });
  if (bad.length) setters.push(containersPhrase(bad));
  if (!setters.length) return ALLOWED;
  const data: string[] = [];
  if (badTypes.size) data.push(`${pluralize('type', 'types', badTypes.size)} ${joinQuote(sortedSet(badTypes))}`);
  if (setUser) data.push('user may not be set');
  if (setRole) data.push('role may not be set');
  return forbidden('seLinuxOptions', `${setters.join(' and ')} set forbidden securityContext.seLinuxOptions: ${data.join('; ')}`);
};

const SELINUX_TYPES_1_0 = new Set(['', 'container_t', 'container_init_t', 'container_kvm_t']);
const SELINUX_TYPES_1_31 = new Set([...SELINUX_TYPES_1_0, 'container_engine_t']);

/** procMount other than Default (shared with the restricted procMount check of v1.35). */
export const procMount: CheckPod = (_m, spec) => {
  const bad: string[] = [];
  const types: string[] = [];
  visitContainers(spec, (c) => {
    const pm = c.securityContext?.procMount;
    if (pm !== undefined && pm !== null && pm !== 'Default') {
      bad.push(c.name);
      types.push(String(pm));
    }
  });
  return bad.length ? forbidden('procMount', `${containersPhrase(bad)} must not set securityContext.procMount to ${joinQuote(sortedSet(types))}`) : ALLOWED;
};

const SECCOMP_POD_ANNOTATION = 'seccomp.security.alpha.kubernetes.io/pod';
const SECCOMP_CONTAINER_ANNOTATION_PREFIX = 'container.seccomp.security.alpha.kubernetes.io/';

export const validSeccomp = (t: unknown) => t === 'Localhost' || t === 'RuntimeDefault';

const seccompBaseline_1_0: CheckPod = (meta, spec) => {
  const ok = (v: string) => v === 'runtime/default' || v === 'docker/default' || v.startsWith('localhost/');
  const annotations = (meta.annotations ?? {}) as Record<string, string>;
  const bad = new Set<string>();
  if (SECCOMP_POD_ANNOTATION in annotations && !ok(annotations[SECCOMP_POD_ANNOTATION])) bad.add(`${SECCOMP_POD_ANNOTATION}=${JSON.stringify(annotations[SECCOMP_POD_ANNOTATION])}`);
  visitContainers(spec, (c) => {
    const k = SECCOMP_CONTAINER_ANNOTATION_PREFIX + c.name;
    if (k in annotations && !ok(annotations[k])) bad.add(`${k}=${JSON.stringify(annotations[k])}`);
  });
  return bad.size ? forbidden('seccompProfile', `forbidden ${pluralize('annotation', 'annotations', bad.size)} ${sortedSet(bad).join(', ')}`) : ALLOWED;
};

const seccompBaseline_1_19: CheckPod = (_m, spec) => {
  const setters: string[] = [];
  const values = new Set<string>();
  const pod = spec.securityContext?.seccompProfile;
  if (pod && !validSeccomp(pod.type)) {
    setters.push('pod');
    values.add(String(pod.type ?? ''));
  }
  const bad: string[] = [];
  visitContainers(spec, (c) => {
    const p = c.securityContext?.seccompProfile;
    if (p && !validSeccomp(p.type)) {
      bad.push(c.name);
      values.add(String(p.type ?? ''));
    }
  });
  if (bad.length) setters.push(containersPhrase(bad));
  return setters.length ? forbidden('seccompProfile', `${setters.join(' and ')} must not set securityContext.seccompProfile.type to ${joinQuote(sortedSet(values))}`) : ALLOWED;
};

const SYSCTLS_1_0 = ['kernel.shm_rmid_forced', 'net.ipv4.ip_local_port_range', 'net.ipv4.tcp_syncookies', 'net.ipv4.ping_group_range', 'net.ipv4.ip_unprivileged_port_start'];
const SYSCTLS_1_27 = [...SYSCTLS_1_0, 'net.ipv4.ip_local_reserved_ports'];
const SYSCTLS_1_29 = [...SYSCTLS_1_27, 'net.ipv4.tcp_keepalive_time', 'net.ipv4.tcp_fin_timeout', 'net.ipv4.tcp_keepalive_intvl', 'net.ipv4.tcp_keepalive_probes'];
const SYSCTLS_1_32 = [...SYSCTLS_1_29, 'net.ipv4.tcp_rmem', 'net.ipv4.tcp_wmem'];
const SYSCTLS_1_37 = [...SYSCTLS_1_32, 'net.ipv4.tcp_slow_start_after_idle', 'net.ipv4.tcp_notsent_lowat'];

const sysctls = (allowed: string[]): CheckPod => {
  const set = new Set(allowed);
  return (_m, spec) => {
    const bad = ((spec.securityContext?.sysctls ?? []) as Json[]).map((s) => String(s?.name)).filter((n) => !set.has(n));
    return bad.length ? forbidden('forbidden sysctls', bad.join(', ')) : ALLOWED;
  };
};

const windowsHostProcess: CheckPod = (_m, spec) => {
  const bad: string[] = [];
  visitContainers(spec, (c) => {
    if (c.securityContext?.windowsOptions?.hostProcess === true) bad.push(c.name);
  });
  const setters: string[] = [];
  if (spec.securityContext?.windowsOptions?.hostProcess === true) setters.push('pod');
  if (bad.length) setters.push(containersPhrase(bad));
  return setters.length ? forbidden('hostProcess', `${setters.join(' and ')} must not set securityContext.windowsOptions.hostProcess=true`) : ALLOWED;
};

const relaxed = (check: CheckPod): CheckPod => (m, spec) => (relaxForUserNamespacePod(spec) ? ALLOWED : check(m, spec));

export const BASELINE_CHECKS: Check[] = [
  { id: 'appArmorProfile', level: 'baseline', versions: [{ minimumVersion: 0, checkPod: appArmorProfile }] },
  { id: 'capabilities_baseline', level: 'baseline', versions: [{ minimumVersion: 0, checkPod: capabilitiesBaseline }] },
  { id: 'hostNamespaces', level: 'baseline', versions: [{ minimumVersion: 0, checkPod: hostNamespaces }] },
  { id: 'hostPathVolumes', level: 'baseline', versions: [{ minimumVersion: 0, checkPod: hostPathVolumes }] },
  { id: 'hostPorts', level: 'baseline', versions: [{ minimumVersion: 0, checkPod: hostPorts }] },
  { id: 'hostProbesAndHostLifecycle', level: 'baseline', versions: [{ minimumVersion: 34, checkPod: hostProbesAndHostLifecycle }] },
  { id: 'privileged', level: 'baseline', versions: [{ minimumVersion: 0, checkPod: privileged }] },
  { id: 'procMount', level: 'baseline', versions: [{ minimumVersion: 0, checkPod: procMount }, { minimumVersion: 35, checkPod: relaxed(procMount) }] },
  { id: 'seLinuxOptions', level: 'baseline', versions: [{ minimumVersion: 0, checkPod: seLinuxOptions(SELINUX_TYPES_1_0) }, { minimumVersion: 31, checkPod: seLinuxOptions(SELINUX_TYPES_1_31) }] },
  { id: 'seccompProfile_baseline', level: 'baseline', versions: [{ minimumVersion: 0, checkPod: seccompBaseline_1_0 }, { minimumVersion: 19, checkPod: seccompBaseline_1_19 }] },
  {
    id: 'sysctls',
    level: 'baseline',
    versions: [
      { minimumVersion: 0, checkPod: sysctls(SYSCTLS_1_0) },
      { minimumVersion: 27, checkPod: sysctls(SYSCTLS_1_27) },
      { minimumVersion: 29, checkPod: sysctls(SYSCTLS_1_29) },
      { minimumVersion: 32, checkPod: sysctls(SYSCTLS_1_32) },
      { minimumVersion: 37, checkPod: sysctls(SYSCTLS_1_37) },
    ],
  },
  { id: 'windowsHostProcess', level: 'baseline', versions: [{ minimumVersion: 0, checkPod: windowsHostProcess }] },
];
