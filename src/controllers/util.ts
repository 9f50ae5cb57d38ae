/** Pod and ownership helpers shared by the controllers (upstream pkg/controller and podutil). */
import type { Pod, PodCondition } from 'kubernetes-types/core/v1.js';
import type { KObject, OwnerReferenceLike } from '../client/types.js';

/** The controlling ownerReference, if any. */
export function controllerRef(o: KObject | undefined): OwnerReferenceLike | undefined {
  return o?.metadata?.ownerReferences?.find((r) => r.controller);
}

/**
 * upstream resolveControllerRef: the object of `kind` that `o`'s controller reference names,
 * if the cache has it and it is still the same object (same uid).
 */
export function resolveControllerRef<T extends KObject>(cache: { get(namespace: string | undefined, name: string): T | undefined }, o: KObject, kind: string): T | undefined {
  const ref = controllerRef(o);
  if (!ref || ref.kind !== kind) return undefined;
  const owner = cache.get(o.metadata?.namespace, ref.name);
  return owner && owner.metadata?.uid === ref.uid ? owner : undefined;
}

/** A controller ownerReference to `owner`, as upstream's metav1.NewControllerRef. */
export function newControllerRef(owner: KObject, apiVersion: string, kind: string): OwnerReferenceLike {
  return { apiVersion, kind, name: owner.metadata!.name!, uid: owner.metadata!.uid!, controller: true, blockOwnerDeletion: true };
}

export function podCondition(pod: Pod, type: string): PodCondition | undefined {
  return pod.status?.conditions?.find((c) => c.type === type);
}

export function isPodReady(pod: Pod): boolean {
  return podCondition(pod, 'Ready')?.status === 'True';
}

/** Ready for at least minReadySeconds at `now` (ms). */
export function isPodAvailable(pod: Pod, minReadySeconds: number, now: number): boolean {
  const c = podCondition(pod, 'Ready');
  if (c?.status !== 'True') return false;
  if (!minReadySeconds) return true;
  const t = c.lastTransitionTime ? Date.parse(c.lastTransitionTime) : NaN;
  return !Number.isNaN(t) && t + minReadySeconds * 1000 <= now;
}

/** Not terminated and not being deleted: counts toward replicas. */
export function isPodActive(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed' && !pod.metadata?.deletionTimestamp;
}

export function maxRestarts(pod: Pod): number {
  return Math.max(0, ...(pod.status?.containerStatuses ?? []).map((c) => c.restartCount ?? 0));
}

/** A deep, mutable copy of a cached (frozen) object. */
export function copy<T>(o: T): T {
  return structuredClone(o) as T;
}

/** Error text for events: the server's message. */
export function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Returns `Math.ceil`/`floor` of a percentage or the int itself, as intstr.GetScaledValueFromIntOrPercent. */
export function scaledValue(v: number | string | undefined, total: number, roundUp: boolean, dflt: number | string): number {
  const x = v ?? dflt;
  if (typeof x === 'number') return x;
  const m = /^(\d+)%$/.exec(x);
  if (!m) {
    const n = Number(x);
    if (Number.isInteger(n)) return n;
    throw new Error(`invalid value for IntOrString: invalid value "${x}"`);
  }
  const f = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(f) : Math.floor(f);
}

/** JSON with sorted keys: a stable text of an object for hashing and equality. */
export function canonicalJSON(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJSON).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canonicalJSON(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** FNV-1a, 32 bit. */
export function fnv32a(bytes: Uint8Array, h = 0x811c9dc5): number {
  for (const b of bytes) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** upstream rand.SafeEncodeString: maps each byte to the vowel-free alphabet. */
export function safeEncodeString(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) out += SAFE_ALPHABET[s.charCodeAt(i) % SAFE_ALPHABET.length];
  return out;
}

/** A Go duration ("30s", "1m30s", "500ms", "10.025s") in ms; throws on anything else. */
export function parseGoDuration(s: string): number {
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let m: RegExpExecArray | null;
  let consumed = 0;
  while ((m = re.exec(s))) { total += Number(m[1]) * units[m[2]]; consumed = re.lastIndex; }
  if (consumed !== s.length || !s) throw new Error(`failed to parse duration ${s}`);
  return total;
}
