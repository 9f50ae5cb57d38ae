/**
 * The volume manager: prepares a pod's volumes as host directories that the runtime
 * bind-mounts into containers, refreshes the API-backed ones, and tears them down.
 *
 * Layout as the kubelet's: `<dataDir>/pods/<uid>/volumes/kubernetes.io~<plugin>/<name>`.
 * configMap, secret, downwardAPI and projected volumes are written by {@link writeAtomic}
 * (pkg/volume/util/atomic_writer.go): the files live in a timestamped `..<ts>` directory,
 * `..data` is a symlink to it, and each visible name is a symlink through `..data`. An update
 * writes a new directory and renames a fresh symlink over `..data`, so a reader inside the
 * container sees either the old or the new set of files, never a mix.
 */
import { chownSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync, chmodSync, statSync, closeSync, openSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import type { ConfigMap, KeyToPath, PersistentVolume, PersistentVolumeClaim, Pod, Secret, Volume } from 'kubernetes-types/core/v1.js';
import { Quantity } from '../api/quantity.js';
import { CommandError, run, runOrThrow } from '../util/exec.js';
import { formatMap, podFieldValue, resourceFieldValue, secretData } from './container-spec.js';

/** A volume could not be set up; the message names the volume and what is missing. */
export class VolumeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VolumeError';
  }
}

/** What the pod's containers mount for one volume. */
export interface MountedVolume {
  hostPath: string;
  /** Read-only by nature (configMap, secret, downwardAPI, projected). */
  readOnly: boolean;
}

/** API lookups the volume manager needs (the agent wires them to its client). */
export interface VolumeSources {
  getConfigMap(namespace: string, name: string): Promise<ConfigMap | undefined>;
  getSecret(namespace: string, name: string): Promise<Secret | undefined>;
  /** The claim and the volume it is bound to (undefined claim: not found; undefined volume: not bound yet). */
  getClaimVolume?(namespace: string, claimName: string): Promise<{ claim?: PersistentVolumeClaim; volume?: PersistentVolume }>;
  /** Hook for serviceAccountToken projections (issue: service accounts); undefined = skipped. */
  serviceAccountToken?(pod: Pod, audience: string | undefined, expirationSeconds: number): Promise<string>;
}

/** One file of an atomic payload. */
export interface PayloadFile {
  data: Buffer;
  mode: number;
}

/** Mount points at or below `dir`, deepest first (from /proc/self/mountinfo). */
export function mountsUnder(dir: string): string[] {
  try {
    const prefix = dir.endsWith('/') ? dir : dir + '/';
    return readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((l) => (l.split(' ')[4] ?? '').replace(/\\040/g, ' '))
      .filter((m) => m === dir || m.startsWith(prefix))
      .sort((a, b) => b.length - a.length);
  } catch {
    return [];
  }
}

/** Unmounts everything at or under `dir` (lazily when busy). */
export async function unmountAll(dir: string): Promise<void> {
  for (const m of mountsUnder(dir)) {
    // A umount that cannot even start counts as failed: the lazy one is the fallback either way.
    const r = await run('umount', [m]).catch(() => undefined);
    if (r?.code !== 0) await run('umount', ['-l', m]).catch(() => undefined);
  }
}

function sameContent(dir: string, files: Map<string, PayloadFile>): boolean {
  const data = join(dir, '..data');
  if (!existsSync(data)) return false;
  const existing: string[] = [];
  const walk = (rel: string) => {
    for (const e of readdirSync(join(data, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(r);
      else existing.push(r);
    }
  };
  try {
    walk('');
  } catch {
    return false;
  }
  if (existing.length !== files.size) return false;
  for (const [p, f] of files) {
    try {
      const full = join(data, p);
      if (!readFileSync(full).equals(f.data)) return false;
      if ((statSync(full).mode & 0o7777) !== f.mode) return false;
    } catch {
      return false;
    }
  }
  return true;
}

/**
 * Writes `files` (relative paths) into `dir` atomically, as the kubelet's AtomicWriter.
 * Returns false when the content was already current (nothing written).
 */
export function writeAtomic(dir: string, files: Map<string, PayloadFile>, owner?: { gid: number }, now: Date = new Date()): boolean {
  mkdirSync(dir, { recursive: true });
  for (const p of files.keys()) {
    const n = normalize(p);
    if (n.startsWith('..') || n.startsWith('/') || n.split('/').some((c) => c === '..')) throw new VolumeError(`invalid path ${JSON.stringify(p)}: must be relative and may not contain '..'`);
  }
  if (sameContent(dir, files)) return false;
  const ts = `..${now.toISOString().replace(/[-:]/g, '_').replace('T', '_').replace('Z', '')}${Math.random().toString(16).slice(2, 8)}`;
  const tsDir = join(dir, ts);
  mkdirSync(tsDir, { mode: 0o755 });
  for (const [p, f] of files) {
    const full = join(tsDir, p);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, f.data);
    chmodSync(full, f.mode);
    if (owner) chownSync(full, 0, owner.gid);
  }
  let old: string | undefined;
  try {
    old = readlinkSync(join(dir, '..data'));
  } catch {
    old = undefined;
  }
  const tmp = join(dir, '..data_tmp');
  rmSync(tmp, { force: true });
  symlinkSync(ts, tmp);
  renameSync(tmp, join(dir, '..data'));
  const top = new Set([...files.keys()].map((p) => normalize(p).split('/')[0]!));
  for (const name of top) {
    const link = join(dir, name);
    let ok = false;
    try {
      ok = lstatSync(link).isSymbolicLink() && readlinkSync(link) === `..data/${name}`;
    } catch {
      ok = false;
    }
    if (!ok) {
      rmSync(link, { recursive: true, force: true });
      symlinkSync(`..data/${name}`, link);
    }
  }
  for (const name of readdirSync(dir)) {
    if (name.startsWith('..')) {
      if (name !== '..data' && name !== ts && name === old) rmSync(join(dir, name), { recursive: true, force: true });
      continue;
    }
    if (!top.has(name)) rmSync(join(dir, name), { recursive: true, force: true });
  }
  return true;
}

/** Files of a configMap/secret projection: all keys, or only `items` (with paths and modes). */
function keyFiles(data: Record<string, Buffer>, items: KeyToPath[] | undefined, defaultMode: number, what: string, optional: boolean): Map<string, PayloadFile> {
  const out = new Map<string, PayloadFile>();
  if (!items?.length) {
    for (const [k, v] of Object.entries(data)) out.set(k, { data: v, mode: defaultMode });
    return out;
  }
  for (const it of items) {
    const v = data[it.key];
    if (v === undefined) {
      if (optional) continue;
      throw new VolumeError(`configuration error: key ${JSON.stringify(it.key)} not found in ${what}`);
    }
    out.set(it.path, { data: v, mode: it.mode ?? defaultMode });
  }
  return out;
}

function configMapData(cm: ConfigMap): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(cm.data ?? {})) out[k] = Buffer.from(v, 'utf8');
  for (const [k, v] of Object.entries(cm.binaryData ?? {})) out[k] = Buffer.from(v, 'base64');
  return out;
}

/** The plugin directory name of a volume (kubernetes.io~empty-dir …). */
function pluginOf(v: Volume): string {
  if (v.emptyDir) return 'kubernetes.io~empty-dir';
  if (v.configMap) return 'kubernetes.io~configmap';
  if (v.secret) return 'kubernetes.io~secret';
  if (v.downwardAPI) return 'kubernetes.io~downward-api';
  if (v.projected) return 'kubernetes.io~projected';
  return 'kubernetes.io~other';
}

/** Sets up, refreshes and tears down the volumes of the pods on this node. */
export class VolumeManager {
  constructor(
    private readonly podsDir: string,
    private readonly sources: VolumeSources,
    private readonly nodeInfo: { nodeName: string; hostIP: () => string; allocatable?: () => { cpu?: string; memory?: string } },
  ) {}

  podDir(uid: string): string {
    return join(this.podsDir, uid);
  }

  /**
   * Makes every volume of the pod ready (idempotent; API-backed contents are rewritten when
   * they changed). Returns the host path per volume name.
   */
  async setup(pod: Pod, podIP = ''): Promise<Map<string, MountedVolume>> {
    const uid = pod.metadata!.uid!;
    const out = new Map<string, MountedVolume>();
    for (const v of pod.spec?.volumes ?? []) {
      if (v.hostPath) {
        out.set(v.name, { hostPath: this.hostPath(v), readOnly: false });
        continue;
      }
      if (v.persistentVolumeClaim) {
        out.set(v.name, await this.claimVolume(pod, v));
        continue;
      }
      if (v.ephemeral || v.nfs || v.csi) {
        throw new VolumeError(`volume ${JSON.stringify(v.name)}: this node supports emptyDir, configMap, secret, hostPath, downwardAPI, projected and persistentVolumeClaim (local and hostPath volumes) only`);
      }
      const dir = join(this.podDir(uid), 'volumes', pluginOf(v), v.name);
      if (v.emptyDir) {
        mkdirSync(dir, { recursive: true, mode: 0o777 });
        chmodSync(dir, 0o777);
        if (v.emptyDir.medium === 'Memory' && !mountsUnder(dir).includes(dir)) {
          const opts = ['nosuid', 'nodev', 'mode=1777'];
          if (v.emptyDir.sizeLimit) opts.push(`size=${Quantity.parse(v.emptyDir.sizeLimit).value()}`);
          try {
            await runOrThrow('mount', ['-t', 'tmpfs', '-o', opts.join(','), 'tmpfs', dir]);
          } catch (e) {
            const why = e instanceof CommandError ? e.result.stderr.toString().trim() : (e as Error).message;
            throw new VolumeError(`volume ${JSON.stringify(v.name)}: mounting tmpfs failed: ${why}`);
          }
        }
        // fsGroup (SetVolumeOwnership): the group owns the volume and new files inherit it (setgid).
        const fsGroup = pod.spec?.securityContext?.fsGroup;
        if (fsGroup !== undefined) {
          chownSync(dir, statSync(dir).uid, fsGroup);
          chmodSync(dir, 0o2777);
        }
        out.set(v.name, { hostPath: dir, readOnly: false });
        continue;
      }
      const files = await this.payload(pod, v, podIP);
      if (files) {
        const fsGroup = pod.spec?.securityContext?.fsGroup;
        writeAtomic(dir, files, fsGroup !== undefined ? { gid: fsGroup } : undefined);
        out.set(v.name, { hostPath: dir, readOnly: true });
        continue;
      }
      throw new VolumeError(`volume ${JSON.stringify(v.name)}: unsupported volume type`);
    }
    return out;
  }

  /**
   * A claim's volume: the directory of the local or hostPath PersistentVolume it is bound to
   * (created for volumes the local-path provisioner made). Until the claim is bound the pod
   * waits, with kubelet's wording.
   */
  private async claimVolume(pod: Pod, v: Volume): Promise<MountedVolume> {
    const claimName = v.persistentVolumeClaim!.claimName;
    const ns = pod.metadata?.namespace ?? 'default';
    const found = await this.sources.getClaimVolume?.(ns, claimName);
    if (!found?.claim) throw new VolumeError(`persistentvolumeclaim "${claimName}" not found`);
    if (found.claim.metadata?.deletionTimestamp) throw new VolumeError(`persistentvolumeclaim "${claimName}" is being deleted`);
    const pv = found.volume;
    if (!pv || found.claim.status?.phase !== 'Bound') throw new VolumeError(`unbound immediate PersistentVolumeClaims: persistentvolumeclaim "${claimName}" is not bound yet`);
    const readOnly = !!v.persistentVolumeClaim!.readOnly;
    if (pv.spec?.hostPath) return { hostPath: this.hostPath({ name: v.name, hostPath: pv.spec.hostPath }), readOnly };
    if (pv.spec?.local?.path) {
      if (!existsSync(pv.spec.local.path)) throw new VolumeError(`volume ${JSON.stringify(v.name)}: local volume path "${pv.spec.local.path}" does not exist on this node`);
      return { hostPath: pv.spec.local.path, readOnly };
    }
    throw new VolumeError(`volume ${JSON.stringify(v.name)}: persistentvolume "${pv.metadata?.name}" is neither a local nor a hostPath volume, the only kinds this node mounts`);
  }

  private hostPath(v: Volume): string {
    const hp = v.hostPath!;
    const p = hp.path;
    const type = hp.type ?? '';
    const exists = existsSync(p);
    switch (type) {
      case 'DirectoryOrCreate':
        if (!exists) mkdirSync(p, { recursive: true, mode: 0o755 });
        break;
      case 'FileOrCreate':
        if (!exists) {
          mkdirSync(dirname(p), { recursive: true });
          closeSync(openSync(p, 'a', 0o644));
        }
        break;
      case 'Directory':
        if (!exists || !statSync(p).isDirectory()) throw new VolumeError(`hostPath type check failed: ${p} is not a directory`);
        break;
      case 'File':
        if (!exists || !statSync(p).isFile()) throw new VolumeError(`hostPath type check failed: ${p} is not a file`);
        break;
      case 'Socket':
        if (!exists || !statSync(p).isSocket()) throw new VolumeError(`hostPath type check failed: ${p} is not a socket file`);
        break;
      default:
        break;
    }
    return p;
  }

  /** The files of an API-backed volume, or undefined for other kinds. */
  private async payload(pod: Pod, v: Volume, podIP: string): Promise<Map<string, PayloadFile> | undefined> {
    const ns = pod.metadata?.namespace ?? 'default';
    if (v.configMap) {
      const name = v.configMap.name ?? '';
      const cm = await this.sources.getConfigMap(ns, name);
      if (!cm) {
        if (v.configMap.optional) return new Map();
        throw new VolumeError(`MountVolume.SetUp failed for volume "${v.name}" : configmap "${name}" not found`);
      }
      return keyFiles(configMapData(cm), v.configMap.items, v.configMap.defaultMode ?? 0o644, `ConfigMap ${ns}/${name}`, !!v.configMap.optional);
    }
    if (v.secret) {
      const name = v.secret.secretName ?? '';
      const s = await this.sources.getSecret(ns, name);
      if (!s) {
        if (v.secret.optional) return new Map();
        throw new VolumeError(`MountVolume.SetUp failed for volume "${v.name}" : secret "${name}" not found`);
      }
      return keyFiles(secretData(s), v.secret.items, v.secret.defaultMode ?? 0o644, `Secret ${ns}/${name}`, !!v.secret.optional);
    }
    if (v.downwardAPI) {
      return this.downward(pod, v.downwardAPI.items ?? [], v.downwardAPI.defaultMode ?? 0o644, podIP);
    }
    if (v.projected) {
      const mode = v.projected.defaultMode ?? 0o644;
      const out = new Map<string, PayloadFile>();
      for (const src of v.projected.sources ?? []) {
        if (src.configMap) {
          const name = src.configMap.name ?? '';
          const cm = await this.sources.getConfigMap(ns, name);
          if (!cm) {
            if (src.configMap.optional) continue;
            throw new VolumeError(`MountVolume.SetUp failed for volume "${v.name}" : configmap "${name}" not found`);
          }
          for (const [k, f] of keyFiles(configMapData(cm), src.configMap.items, mode, `ConfigMap ${ns}/${name}`, !!src.configMap.optional)) out.set(k, f);
        } else if (src.secret) {
          const name = src.secret.name ?? '';
          const s = await this.sources.getSecret(ns, name);
          if (!s) {
            if (src.secret.optional) continue;
            throw new VolumeError(`MountVolume.SetUp failed for volume "${v.name}" : secret "${name}" not found`);
          }
          for (const [k, f] of keyFiles(secretData(s), src.secret.items, mode, `Secret ${ns}/${name}`, !!src.secret.optional)) out.set(k, f);
        } else if (src.downwardAPI) {
          for (const [k, f] of this.downward(pod, src.downwardAPI.items ?? [], mode, podIP)) out.set(k, f);
        } else if (src.serviceAccountToken) {
          // Written by the service-account hook when one is plugged in; skipped otherwise.
          if (this.sources.serviceAccountToken) {
            const t = await this.sources.serviceAccountToken(pod, src.serviceAccountToken.audience, src.serviceAccountToken.expirationSeconds ?? 3600);
            out.set(src.serviceAccountToken.path, { data: Buffer.from(t), mode });
          }
        }
      }
      return out;
    }
    return undefined;
  }

  private downward(pod: Pod, items: NonNullable<NonNullable<Volume['downwardAPI']>['items']>, defaultMode: number, podIP: string): Map<string, PayloadFile> {
    const out = new Map<string, PayloadFile>();
    for (const it of items) {
      let value = '';
      if (it.fieldRef) {
        const fp = it.fieldRef.fieldPath;
        value = fp === 'metadata.labels' ? formatMap(pod.metadata?.labels) : fp === 'metadata.annotations' ? formatMap(pod.metadata?.annotations) : podFieldValue(pod, fp, { podIP, hostIP: this.nodeInfo.hostIP(), nodeName: this.nodeInfo.nodeName });
      } else if (it.resourceFieldRef) {
        value = resourceFieldValue(pod, it.resourceFieldRef.containerName ?? '', it.resourceFieldRef.resource, it.resourceFieldRef.divisor as string | undefined, this.nodeInfo.allocatable?.());
      }
      out.set(it.path, { data: Buffer.from(value), mode: it.mode ?? defaultMode });
    }
    return out;
  }

  /** Unmounts and removes everything the pod had on this node. */
  async teardown(uid: string): Promise<void> {
    const dir = this.podDir(uid);
    await unmountAll(dir);
    if (mountsUnder(dir).length) throw new VolumeError(`could not unmount everything under ${dir}; check \`grep ${dir} /proc/self/mountinfo\``);
    rmSync(dir, { recursive: true, force: true });
  }

  /** UIDs of pods that have a directory here (for orphan cleanup after restarts). */
  podUids(): string[] {
    try {
      return readdirSync(this.podsDir);
    } catch {
      return [];
    }
  }
}
