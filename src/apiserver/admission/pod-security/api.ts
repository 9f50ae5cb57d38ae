/**
 * The vocabulary of Pod Security admission (k8s.io/pod-security-admission/api): levels,
 * versions, the namespace labels and how they combine with the cluster defaults into the
 * policy a namespace is held to. Pure functions.
 */
import type { FieldError } from '../../../api/errors.js';

export type Level = 'privileged' | 'baseline' | 'restricted';
export const LEVELS: readonly Level[] = ['privileged', 'baseline', 'restricted'];

/** A policy version: `latest` or v1.MINOR. */
export type Version = { latest: true } | { latest: false; minor: number };
export const LATEST: Version = { latest: true };

export interface LevelVersion {
  level: Level;
  version: Version;
}

export interface Policy {
  enforce: LevelVersion;
  audit: LevelVersion;
  warn: LevelVersion;
}

export const LABEL_PREFIX = 'pod-security.kubernetes.io/';
export const LABELS = {
  enforce: `${LABEL_PREFIX}enforce`,
  enforceVersion: `${LABEL_PREFIX}enforce-version`,
  audit: `${LABEL_PREFIX}audit`,
  auditVersion: `${LABEL_PREFIX}audit-version`,
  warn: `${LABEL_PREFIX}warn`,
  warnVersion: `${LABEL_PREFIX}warn-version`,
} as const;

/** Audit annotation keys (the admission plugin's name prefixes them, as upstream's audit annotations). */
export const AUDIT_ANNOTATIONS = {
  enforcePolicy: `${LABEL_PREFIX}enforce-policy`,
  auditViolations: `${LABEL_PREFIX}audit-violations`,
  exempt: `${LABEL_PREFIX}exempt`,
  error: `${LABEL_PREFIX}error`,
} as const;

export function versionString(v: Version): string {
  return v.latest ? 'latest' : `v1.${v.minor}`;
}

export function levelVersionString(lv: LevelVersion): string {
  return `${lv.level}:${versionString(lv.version)}`;
}

/** v older than other (latest is newer than every version). */
export function older(v: Version, other: Version): boolean {
  if (v.latest) return false;
  if (other.latest) return true;
  return v.minor < other.minor;
}

export function sameLevelVersion(a: LevelVersion, b: LevelVersion): boolean {
  return a.level === b.level && versionString(a.version) === versionString(b.version);
}

/** Upstream's Equivalent: equal, or both privileged (whose version does not matter). */
export function equivalent(a: LevelVersion, b: LevelVersion): boolean {
  return (a.level === 'privileged' && b.level === 'privileged') || sameLevelVersion(a, b);
}

export function parseLevel(s: string): Level | undefined {
  return (LEVELS as readonly string[]).includes(s) ? (s as Level) : undefined;
}

export function parseVersion(s: string): Version | undefined {
  if (s === 'latest') return LATEST;
  const m = /^v1\.([0-9]|[1-9][0-9]*)$/.exec(s);
  return m ? { latest: false, minor: Number(m[1]) } : undefined;
}

export function compareLevels(a: Level, b: Level): number {
  return LEVELS.indexOf(a) - LEVELS.indexOf(b);
}

export function fullyPrivileged(p: Policy): boolean {
  return p.enforce.level === 'privileged' && p.audit.level === 'privileged' && p.warn.level === 'privileged';
}

export const PRIVILEGED_POLICY: Policy = {
  enforce: { level: 'privileged', version: LATEST },
  audit: { level: 'privileged', version: LATEST },
  warn: { level: 'privileged', version: LATEST },
};

const LEVEL_ERROR = 'must be one of privileged, baseline, restricted';
const VERSION_ERROR = 'must be "latest" or "v1.x"';

/**
 * The policy a namespace's labels ask for, over the cluster defaults (upstream's
 * PolicyToEvaluate): a bad enforce value fails closed (restricted), bad audit/warn values
 * fail open; warn follows a stricter enforce level unless set itself.
 */
export function policyToEvaluate(labels: Record<string, string> | undefined, defaults: Policy): { policy: Policy; errors: FieldError[] } {
  const p: Policy = { enforce: { ...defaults.enforce }, audit: { ...defaults.audit }, warn: { ...defaults.warn } };
  const errors: FieldError[] = [];
  if (!labels || !Object.keys(labels).length) return { policy: p, errors };
  const bad = (label: string, value: string, detail: string) => errors.push({ type: 'FieldValueInvalid', field: `metadata.labels[${label}]`, value, detail });
  let hasEnforceLevel = false;
  let hasWarnLevel = false;
  let hasWarnVersion = false;
  const level = (label: string, value: string, failTo: Level): Level => {
    const l = parseLevel(value);
    if (l) return l;
    bad(label, value, LEVEL_ERROR);
    return failTo;
  };
  const version = (label: string, value: string): Version => {
    const v = parseVersion(value);
    if (v) return v;
    bad(label, value, VERSION_ERROR);
    return LATEST;
  };
  if (labels[LABELS.enforce] !== undefined) {
    p.enforce.level = level(LABELS.enforce, labels[LABELS.enforce], 'restricted');
    hasEnforceLevel = parseLevel(labels[LABELS.enforce]) !== undefined;
  }
  if (labels[LABELS.enforceVersion] !== undefined) p.enforce.version = version(LABELS.enforceVersion, labels[LABELS.enforceVersion]);
  if (labels[LABELS.audit] !== undefined) p.audit.level = level(LABELS.audit, labels[LABELS.audit], 'privileged');
  if (labels[LABELS.auditVersion] !== undefined) p.audit.version = version(LABELS.auditVersion, labels[LABELS.auditVersion]);
  if (labels[LABELS.warn] !== undefined) {
    hasWarnLevel = true;
    p.warn.level = level(LABELS.warn, labels[LABELS.warn], 'privileged');
  }
  if (labels[LABELS.warnVersion] !== undefined) {
    hasWarnVersion = true;
    p.warn.version = version(LABELS.warnVersion, labels[LABELS.warnVersion]);
  }
  if (!hasWarnLevel && hasEnforceLevel && compareLevels(p.enforce.level, p.warn.level) > 0) {
    p.warn.level = p.enforce.level;
    if (!hasWarnVersion) p.warn.version = p.enforce.version;
  }
  return { policy: p, errors };
}
