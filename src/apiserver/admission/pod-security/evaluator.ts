/**
 * Evaluates a pod against a level and version, as upstream's checkRegistry: the checks of the
 * level (restricted includes every baseline check it does not override), each in the
 * implementation of the newest version not after the one asked for, in upstream's order
 * (baseline IDs sorted, then restricted IDs sorted) so messages list reasons identically.
 */
import type { LevelVersion } from './api.js';
import { BASELINE_CHECKS } from './baseline.js';
import type { Check, CheckPod, CheckResult, Json } from './check.js';
import { RESTRICTED_CHECKS } from './restricted.js';

export interface AggregateResult {
  allowed: boolean;
  reasons: string[];
  details: string[];
}

/** "reason (detail), reason (detail)": the text after `violates PodSecurity "…": `. */
export function forbiddenDetail(r: AggregateResult): string {
  return r.reasons.map((reason, i) => (r.details[i] ? `${reason} (${r.details[i]})` : reason)).join(', ');
}

/** "reason, reason": what namespace label warnings show per pod. */
export function forbiddenReason(r: AggregateResult): string {
  return r.reasons.join(', ');
}

export function aggregate(results: CheckResult[]): AggregateResult {
  const reasons: string[] = [];
  const details: string[] = [];
  for (const r of results) {
    if (r.allowed) continue;
    reasons.push(r.forbiddenReason || 'unknown forbidden reason');
    details.push(r.forbiddenDetail ?? '');
  }
  return { allowed: reasons.length === 0, reasons, details };
}

function implAt(check: Check, minor: number) {
  let impl;
  for (const v of check.versions) if (v.minimumVersion <= minor) impl = v;
  return impl;
}

export class Evaluator {
  /** The newest policy version any check knows; `latest` and newer versions evaluate as this. */
  readonly maxMinor: number;
  private readonly baseline = new Map<number, CheckPod[]>();
  private readonly restricted = new Map<number, CheckPod[]>();
  private readonly checks: Check[];

  constructor(checks: Check[] = [...BASELINE_CHECKS, ...RESTRICTED_CHECKS]) {
    this.checks = checks;
    this.maxMinor = Math.max(...checks.map((c) => c.versions[c.versions.length - 1].minimumVersion));
  }

  private checksFor(level: 'baseline' | 'restricted', minor: number): CheckPod[] {
    const cache = level === 'baseline' ? this.baseline : this.restricted;
    let fns = cache.get(minor);
    if (fns) return fns;
    const byId = (a: Check, b: Check) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
    const baseline = this.checks.filter((c) => c.level === 'baseline').sort(byId);
    const restricted = level === 'restricted' ? this.checks.filter((c) => c.level === 'restricted').sort(byId) : [];
    const overrides = new Set<string>();
    for (const c of restricted) for (const id of implAt(c, minor)?.overrideCheckIds ?? []) overrides.add(id);
    fns = [];
    for (const c of [...baseline, ...restricted]) {
      const impl = implAt(c, minor);
      if (impl && !overrides.has(c.id)) fns.push(impl.checkPod);
    }
    cache.set(minor, fns);
    return fns;
  }

  /** Every check's result for the pod at `lv` (none for privileged). */
  evaluate(lv: LevelVersion, podMetadata: Json, podSpec: Json): CheckResult[] {
    if (lv.level === 'privileged') return [];
    const minor = lv.version.latest ? this.maxMinor : Math.min(lv.version.minor, this.maxMinor);
    return this.checksFor(lv.level, minor).map((check) => check(podMetadata ?? {}, podSpec ?? {}));
  }

  evaluateAggregate(lv: LevelVersion, podMetadata: Json, podSpec: Json): AggregateResult {
    return aggregate(this.evaluate(lv, podMetadata, podSpec));
  }
}
