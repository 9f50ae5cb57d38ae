/**
 * The restricted Pod Security checks, as k8s.io/pod-security-admission/policy/check_*.go. A
 * restricted check may override baseline checks it subsumes (restrictedVolumes replaces
 * hostPathVolumes, and so on), exactly as upstream's OverrideCheckIDs.
 */
import { procMount, validSeccomp } from './baseline.js';
import { ALLOWED, containersPhrase, forbidden, isWindows, joinQuote, pluralize, relaxForUserNamespacePod, sortedSet, visitContainers, type Check, type CheckPod, type Json } from './check.js';

const notOnWindows = (check: CheckPod): CheckPod => (m, spec) => (isWindows(spec) ? ALLOWED : check(m, spec));
const relaxed = (check: CheckPod): CheckPod => (m, spec) => (relaxForUserNamespacePod(spec) ? ALLOWED : check(m, spec));

const allowPrivilegeEscalation: CheckPod = (_m, spec) => {
  const bad: string[] = [];
  visitContainers(spec, (c) => {
    if (c.securityContext?.allowPrivilegeEscalation !== false) bad.push(c.name);
  });
  return bad.length ? forbidden('allowPrivilegeEscalation != false', `${containersPhrase(bad)} must set securityContext.allowPrivilegeEscalation=false`) : ALLOWED;
};

const capabilitiesRestricted: CheckPod = (_m, spec) => {
  const missingDropAll: string[] = [];
  const addingForbidden: string[] = [];
  const caps: string[] = [];
  visitContainers(spec, (c) => {
    const capabilities = c.securityContext?.capabilities;
    if (!capabilities) {
      missingDropAll.push(c.name);
      return;
    }
    if (!((capabilities.drop ?? []) as unknown[]).includes('ALL')) missingDropAll.push(c.name);
    let added = false;
    for (const cap of (capabilities.add ?? []) as unknown[]) {
      if (cap !== 'NET_BIND_SERVICE') {
        added = true;
        caps.push(String(cap));
      }
    }
    if (added) addingForbidden.push(c.name);
  });
  const details: string[] = [];
  if (missingDropAll.length) details.push(`${containersPhrase(missingDropAll)} must set securityContext.capabilities.drop=["ALL"]`);
  if (addingForbidden.length) details.push(`${containersPhrase(addingForbidden)} must not include ${joinQuote(sortedSet(caps))} in securityContext.capabilities.add`);
  return details.length ? forbidden('unrestricted capabilities', details.join('; ')) : ALLOWED;
};

const ALLOWED_VOLUME_SOURCES = ['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'image', 'persistentVolumeClaim', 'projected', 'secret'];
const RESTRICTED_VOLUME_SOURCES = [
  'hostPath', 'gcePersistentDisk', 'awsElasticBlockStore', 'gitRepo', 'nfs', 'iscsi', 'glusterfs', 'rbd', 'flexVolume', 'cinder', 'cephfs',
  'flocker', 'fc', 'azureFile', 'vsphereVolume', 'quobyte', 'azureDisk', 'photonPersistentDisk', 'portworxVolume', 'scaleIO', 'storageos',
];

const restrictedVolumes: CheckPod = (_m, spec) => {
  const bad: string[] = [];
  const types: string[] = [];
  for (const v of (spec.volumes ?? []) as Json[]) {
    if (!v || ALLOWED_VOLUME_SOURCES.some((s) => v[s] != null)) continue;
    bad.push(v.name);
    types.push(RESTRICTED_VOLUME_SOURCES.find((s) => v[s] != null) ?? 'unknown');
  }
  if (!bad.length) return ALLOWED;
  const t = sortedSet(types);
  return forbidden(
    'restricted volume types',
    `${pluralize('volume', 'volumes', bad.length)} ${joinQuote(bad)} ${pluralize('uses', 'use', bad.length)} ${pluralize('restricted volume type', 'restricted volume types', t.length)} ${joinQuote(t)}`,
  );
};

const runAsNonRoot: CheckPod = (_m, spec) => {
  const setters: string[] = [];
  let podNonRoot = false;
  const pod = spec.securityContext?.runAsNonRoot;
  if (pod !== undefined && pod !== null) {
    if (!pod) setters.push('pod');
    else podNonRoot = true;
  }
  const explicit: string[] = [];
  const implicit: string[] = [];
  visitContainers(spec, (c) => {
    const v = c.securityContext?.runAsNonRoot;
    if (v !== undefined && v !== null) {
      if (!v) explicit.push(c.name);
    } else if (!podNonRoot) {
      implicit.push(c.name);
    }
  });
  if (explicit.length) setters.push(containersPhrase(explicit));
  if (setters.length) return forbidden('runAsNonRoot != true', `${setters.join(' and ')} must not set securityContext.runAsNonRoot=false`);
  if (implicit.length) return forbidden('runAsNonRoot != true', `pod or ${containersPhrase(implicit)} must set securityContext.runAsNonRoot=true`);
  return ALLOWED;
};

const runAsUser: CheckPod = (_m, spec) => {
  const setters: string[] = [];
  if (spec.securityContext?.runAsUser === 0) setters.push('pod');
  const bad: string[] = [];
  visitContainers(spec, (c) => {
    if (c.securityContext?.runAsUser === 0) bad.push(c.name);
  });
  if (bad.length) setters.push(containersPhrase(bad));
  return setters.length ? forbidden('runAsUser=0', `${setters.join(' and ')} must not set runAsUser=0`) : ALLOWED;
};

const seccompRestricted: CheckPod = (_m, spec) => {
  const setters: string[] = [];
  const values = new Set<string>();
  let podSet = false;
  const pod = spec.securityContext?.seccompProfile;
  if (pod) {
    if (!validSeccomp(pod.type)) {
      setters.push('pod');
      values.add(String(pod.type ?? ''));
    } else {
      podSet = true;
    }
  }
  const explicit: string[] = [];
  const implicit: string[] = [];
  visitContainers(spec, (c) => {
    const p = c.securityContext?.seccompProfile;
    if (p) {
      if (!validSeccomp(p.type)) {
        explicit.push(c.name);
        values.add(String(p.type ?? ''));
      }
    } else if (!podSet) {
      implicit.push(c.name);
    }
  });
  if (explicit.length) setters.push(containersPhrase(explicit));
  if (setters.length) return forbidden('seccompProfile', `${setters.join(' and ')} must not set securityContext.seccompProfile.type to ${joinQuote(sortedSet(values))}`);
  if (implicit.length) return forbidden('seccompProfile', `pod or ${containersPhrase(implicit)} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"`);
  return ALLOWED;
};

export const RESTRICTED_CHECKS: Check[] = [
  { id: 'allowPrivilegeEscalation', level: 'restricted', versions: [{ minimumVersion: 8, checkPod: allowPrivilegeEscalation }, { minimumVersion: 25, checkPod: notOnWindows(allowPrivilegeEscalation) }] },
  {
    id: 'capabilities_restricted',
    level: 'restricted',
    versions: [
      { minimumVersion: 22, checkPod: capabilitiesRestricted, overrideCheckIds: ['capabilities_baseline'] },
      { minimumVersion: 25, checkPod: notOnWindows(capabilitiesRestricted), overrideCheckIds: ['capabilities_baseline'] },
    ],
  },
  { id: 'procMount_restricted', level: 'restricted', versions: [{ minimumVersion: 35, checkPod: procMount, overrideCheckIds: ['procMount'] }] },
  { id: 'restrictedVolumes', level: 'restricted', versions: [{ minimumVersion: 0, checkPod: restrictedVolumes, overrideCheckIds: ['hostPathVolumes'] }] },
  { id: 'runAsNonRoot', level: 'restricted', versions: [{ minimumVersion: 0, checkPod: runAsNonRoot }, { minimumVersion: 35, checkPod: relaxed(runAsNonRoot) }] },
  { id: 'runAsUser', level: 'restricted', versions: [{ minimumVersion: 23, checkPod: runAsUser }, { minimumVersion: 35, checkPod: relaxed(runAsUser) }] },
  {
    id: 'seccompProfile_restricted',
    level: 'restricted',
    versions: [
      { minimumVersion: 19, checkPod: seccompRestricted, overrideCheckIds: ['seccompProfile_baseline'] },
      { minimumVersion: 25, checkPod: notOnWindows(seccompRestricted), overrideCheckIds: ['seccompProfile_baseline'] },
    ],
  },
];
