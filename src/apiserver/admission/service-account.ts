/**
 * ServiceAccount admission, after upstream plugin/pkg/admission/serviceaccount: on pod CREATE
 * - `spec.serviceAccountName` defaults to `default`, and that ServiceAccount must exist
 *   (Forbidden otherwise; the cache is given a moment to catch up with a namespace that was
 *   just created, since the ServiceAccounts controller creates `default` asynchronously);
 * - `spec.imagePullSecrets` is taken from the ServiceAccount when the pod names none;
 * - unless automounting is off (pod `spec.automountServiceAccountToken`, which wins, else the
 *   ServiceAccount's), a projected volume `kube-api-access-<5 random>` (bound token `token`
 *   expiring in 3607 s, `ca.crt` from the `kube-root-ca.crt` ConfigMap, `namespace` from the
 *   downward API, defaultMode 0644) is added and mounted read-only at
 *   /var/run/secrets/kubernetes.io/serviceaccount in every init container and container that
 *   has no mount at that path yet. Mirror pods (static pods) are left alone.
 * The node agent fills the volume: it requests a token for the pod (TokenRequest) and writes
 * it with the CA and the namespace (see the agent's volume code).
 */
import { forbidden } from '../../api/errors.js';
import { randomSuffix } from '../../api/meta.js';
import type { KObject, Obj, Registry } from '../../api/registry.js';
import type { AdmissionPlugin } from '../objects.js';
import type { WatchCache } from '../watch-cache.js';


export const DEFAULT_SERVICE_ACCOUNT = 'default';
/** Where the token, CA and namespace appear in containers. */
export const SERVICE_ACCOUNT_MOUNT_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';
export const SERVICE_ACCOUNT_VOLUME_PREFIX = 'kube-api-access-';
/** Upstream WarnOnlyBoundTokenExpirationSeconds: one hour plus 7 s, so clients that do not refresh are noticed. */
export const TOKEN_EXPIRATION_SECONDS = 3607;
export const ROOT_CA_CONFIGMAP = 'kube-root-ca.crt';
const MIRROR_POD_ANNOTATION = 'kubernetes.io/config.mirror';

export interface ServiceAccountAdmissionOptions {
  cache: WatchCache;
  registry: Registry;
  /** Reject pods whose ServiceAccount does not exist (upstream does; default true). */
  requireServiceAccount?: boolean;
  /** How long to wait for a missing ServiceAccount to show up in the cache (default 1000 ms). */
  waitForServiceAccountMs?: number;
}

/** The projected volume upstream adds (TokenVolumeSource). */
export function tokenVolume(name: string): Obj {
  return {
    name,
    projected: {
      defaultMode: 0o644,
      sources: [
        { serviceAccountToken: { expirationSeconds: TOKEN_EXPIRATION_SECONDS, path: 'token' } },
        { configMap: { name: ROOT_CA_CONFIGMAP, items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
        { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
      ],
    },
  };
}

/** Creates the admission plugin. */
export function serviceAccountAdmission(opts: ServiceAccountAdmissionOptions): AdmissionPlugin {
  const podsDef = opts.registry.byKind('', 'Pod');
  const saDef = opts.registry.byKind('', 'ServiceAccount');
  if (!podsDef || !saDef) throw new Error('serviceAccountAdmission: Pod and ServiceAccount must be registered');
  const require = opts.requireServiceAccount ?? true;
  // Without the requirement (no controllers make ServiceAccounts), never delay a create waiting for one.
  const waitMs = require ? (opts.waitForServiceAccountMs ?? 1000) : 0;

  const lookup = async (ns: string, name: string): Promise<KObject | undefined> => {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const sa = opts.cache.get(saDef, ns, name)?.obj;
      if (sa || Date.now() >= deadline) return sa;
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  return async (op, def, obj) => {
    if (def !== podsDef || op !== 'CREATE') return;
    const pod = obj as Obj;
    const spec = (pod.spec ??= {}) as Obj;
    if (pod.metadata?.annotations?.[MIRROR_POD_ANNOTATION] !== undefined) {
      // Static pods are made by a kubelet, not through the API, and must not get API credentials.
      if (spec.serviceAccountName) throw forbidden({ group: '', resource: 'pods' }, pod.metadata?.name ?? '', 'a mirror pod may not reference service accounts');
      return;
    }
    spec.serviceAccountName ||= DEFAULT_SERVICE_ACCOUNT;
    const ns: string = pod.metadata?.namespace ?? 'default';
    const sa = (await lookup(ns, spec.serviceAccountName)) as Obj | undefined;
    if (!sa) {
      if (require) {
        throw forbidden({ group: '', resource: 'pods' }, pod.metadata?.name ?? pod.metadata?.generateName ?? '',
          `error looking up service account ${ns}/${spec.serviceAccountName}: serviceaccount "${spec.serviceAccountName}" not found`);
      }
      // No ServiceAccount means no token to mount.
      return;
    }
    if (sa && !(spec.imagePullSecrets?.length) && sa.imagePullSecrets?.length) {
      spec.imagePullSecrets = sa.imagePullSecrets.map((s: Obj) => ({ name: s.name }));
    }
    const automount = spec.automountServiceAccountToken ?? sa?.automountServiceAccountToken ?? true;
    if (!automount) return;

    spec.volumes ??= [];
    const existing = (spec.volumes as Obj[]).find((v) => typeof v.name === 'string' && v.name.startsWith(SERVICE_ACCOUNT_VOLUME_PREFIX));
    const volName: string = existing?.name ?? `${SERVICE_ACCOUNT_VOLUME_PREFIX}${randomSuffix(5)}`;
    let needed = false;
    for (const list of [spec.initContainers, spec.containers] as (Obj[] | undefined)[]) {
      for (const c of list ?? []) {
        // A mount already at the path (e.g. a user's own token) keeps the API token out of that container.
        if ((c.volumeMounts ?? []).some((m: Obj) => m.mountPath === SERVICE_ACCOUNT_MOUNT_PATH)) continue;
        (c.volumeMounts ??= []).push({ name: volName, readOnly: true, mountPath: SERVICE_ACCOUNT_MOUNT_PATH });
        needed = true;
      }
    }
    if (needed && !existing) spec.volumes.push(tokenVolume(volName));
    if (spec.volumes.length === 0) delete spec.volumes;
  };
}
