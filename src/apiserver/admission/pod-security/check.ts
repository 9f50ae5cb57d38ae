/**
 * The shape of a Pod Security check (k8s.io/pod-security-admission/policy/checks.go) and the
 * helpers every check uses to word its result exactly as upstream does.
 */
import type { Level } from './api.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
/** A pod's metadata or spec as JSON (checks read fields that may be absent anywhere). */
export type Json = Record<string, any>;

export interface CheckResult {
  allowed: boolean;
  forbiddenReason?: string;
  forbiddenDetail?: string;
}

export type CheckPod = (podMetadata: Json, podSpec: Json) => CheckResult;

export interface VersionedCheck {
  /** The first v1.MINOR this implementation applies to. */
  minimumVersion: number;
  checkPod: CheckPod;
  /** Baseline checks this restricted check replaces (from this version on). */
  overrideCheckIds?: string[];
}

export interface Check {
  id: string;
  level: Exclude<Level, 'privileged'>;
  /** Ascending by minimumVersion. */
  versions: VersionedCheck[];
}

export const ALLOWED: CheckResult = { allowed: true };

export function forbidden(reason: string, detail: string): CheckResult {
  return { allowed: false, forbiddenReason: reason, forbiddenDetail: detail };
}

/** `"a", "b"`: Go's joinQuote. */
export function joinQuote(items: readonly string[]): string {
  return items.length ? `"${items.join('", "')}"` : '';
}

export function pluralize(singular: string, plural: string, count: number): string {
  return count === 1 ? singular : plural;
}

/** A sorted, de-duplicated list (Go's sets.String.List()). */
export function sortedSet(items: Iterable<string>): string[] {
  return [...new Set(items)].sort();
}

/** Init containers, containers, then ephemeral containers, as upstream's visitContainers. */
export function visitContainers(podSpec: Json, visit: (c: Json) => void): void {
  for (const list of [podSpec.initContainers, podSpec.containers, podSpec.ephemeralContainers]) {
    if (Array.isArray(list)) for (const c of list) if (c && typeof c === 'object') visit(c);
  }
}

/** `hostUsers: false`: the pod runs in a user namespace, and some checks relax (v1.35+). */
export function relaxForUserNamespacePod(podSpec: Json): boolean {
  return podSpec.hostUsers === false;
}

export function isWindows(podSpec: Json): boolean {
  return podSpec.os?.name === 'windows';
}

/** `container "a"` / `containers "a", "b"`. */
export function containersPhrase(names: string[]): string {
  return `${pluralize('container', 'containers', names.length)} ${joinQuote(names)}`;
}
