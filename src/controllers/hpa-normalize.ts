/**
 * From the replica count the metrics ask for to the one the HPA sets, after upstream
 * horizontal.go (normalizeDesiredReplicas, normalizeDesiredReplicasWithBehaviors): stabilize
 * over recent recommendations, then keep within min/max and the scale-up/scale-down rate
 * limits. Pure: the per-HPA history goes in and the new one comes out; the controller keeps it.
 */

/** A past recommendation of the metrics. */
export interface Recommendation { recommendation: number; timestamp: number }

/** A past change of the target's replicas (always positive; direction by the list it is in). */
export interface ScaleEvent { replicaChange: number; timestamp: number }

/** autoscaling/v2 HPAScalingPolicy. */
export interface ScalingPolicy { type: 'Pods' | 'Percent' | string; value: number; periodSeconds: number }

/** autoscaling/v2 HPAScalingRules. */
export interface ScalingRules {
  stabilizationWindowSeconds?: number | null;
  selectPolicy?: 'Max' | 'Min' | 'Disabled' | string;
  policies?: ScalingPolicy[];
}

/** autoscaling/v2 HorizontalPodAutoscalerBehavior. */
export interface ScalingBehavior { scaleUp?: ScalingRules; scaleDown?: ScalingRules }

/** Upstream's defaults for the rules a behavior leaves out. */
export const DEFAULT_SCALE_UP: ScalingRules = { stabilizationWindowSeconds: 0, selectPolicy: 'Max', policies: [{ type: 'Pods', value: 4, periodSeconds: 15 }, { type: 'Percent', value: 100, periodSeconds: 15 }] };
export const DEFAULT_SCALE_DOWN: ScalingRules = { selectPolicy: 'Max', policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }] };

/** Without a behavior a scale-up goes at most to max(2 × current, 4) (scaleUpLimitFactor, scaleUpLimitMinimum). */
const SCALE_UP_LIMIT_FACTOR = 2;
const SCALE_UP_LIMIT_MINIMUM = 4;

/** What one HPA remembers between syncs. */
export interface ScaleHistory {
  recommendations: Recommendation[];
  scaleUpEvents: ScaleEvent[];
  scaleDownEvents: ScaleEvent[];
}

export const emptyHistory = (): ScaleHistory => ({ recommendations: [], scaleUpEvents: [], scaleDownEvents: [] });

/** A condition the normalization sets on the HPA. */
export interface ConditionUpdate { type: 'AbleToScale' | 'ScalingLimited'; status: 'True' | 'False'; reason: string; message: string }

export interface NormalizeInput {
  current: number;
  /** What the metrics asked for. */
  prenormalized: number;
  min: number;
  max: number;
  /** spec.behavior; without it the fixed rules of upstream's normalizeDesiredReplicas apply. */
  behavior?: ScalingBehavior;
  /** Scale-down stabilization window when the behavior sets none (--horizontal-pod-autoscaler-downscale-stabilization). */
  downscaleStabilizationMs: number;
  history: ScaleHistory;
  now: number;
}

export interface NormalizeResult {
  desired: number;
  /** The recommendation list to keep for the next sync. */
  recommendations: Recommendation[];
  /** AbleToScale, then ScalingLimited, in the order to set them. */
  conditions: ConditionUpdate[];
}

/** The rules a behavior resolves to: its own fields over upstream's defaults. */
export function resolveBehavior(b: ScalingBehavior | undefined): { up: ScalingRules; down: ScalingRules } {
  return { up: { ...DEFAULT_SCALE_UP, ...(b?.scaleUp ?? {}) }, down: { ...DEFAULT_SCALE_DOWN, ...(b?.scaleDown ?? {}) } };
}

/** upstream normalizeDesiredReplicas / normalizeDesiredReplicasWithBehaviors. */
export function normalizeDesiredReplicas(i: NormalizeInput): NormalizeResult {
  const stab = i.behavior
    ? stabilizeWithBehaviors(i)
    : stabilize(i.history.recommendations, i.prenormalized, i.downscaleStabilizationMs, i.now);
  const ableToScale: ConditionUpdate = stab.stabilized < i.prenormalized
    ? { type: 'AbleToScale', status: 'True', reason: 'ScaleUpStabilized', message: 'recent recommendations were lower than current one, applying the lowest recent recommendation' }
    : stab.stabilized > i.prenormalized
      ? { type: 'AbleToScale', status: 'True', reason: 'ScaleDownStabilized', message: 'recent recommendations were higher than current one, applying the highest recent recommendation' }
      : { type: 'AbleToScale', status: 'True', reason: 'ReadyForNewScale', message: 'recommended size matches current size' };
  let upLimit: number;
  let downLimit: number;
  if (i.behavior) {
    const { up, down } = resolveBehavior(i.behavior);
    const { scaleUpEvents: ups, scaleDownEvents: downs } = i.history;
    upLimit = Math.max(scaleUpLimit(i.current, ups, downs, up, i.now), i.current);
    downLimit = Math.min(scaleDownLimit(i.current, ups, downs, down, i.now), i.current);
  } else {
    upLimit = Math.max(SCALE_UP_LIMIT_FACTOR * i.current, SCALE_UP_LIMIT_MINIMUM);
    downLimit = -Infinity;
  }
  const limited = limitReplicas(i.current, stab.stabilized, i.min, i.max, upLimit, downLimit);
  return {
    desired: limited.desired,
    recommendations: stab.recommendations,
    conditions: [ableToScale, { type: 'ScalingLimited', status: limited.desired === stab.stabilized ? 'False' : 'True', reason: limited.reason, message: limited.message }],
  };
}

/** Stores `prenormalized` in place of a recommendation that fell out of every window (or appends it). */
function record(recs: Recommendation[], oldIndex: number, prenormalized: number, now: number): Recommendation[] {
  const next = [...recs];
  if (oldIndex >= 0) next[oldIndex] = { recommendation: prenormalized, timestamp: now };
  else next.push({ recommendation: prenormalized, timestamp: now });
  return next;
}

/** upstream stabilizeRecommendation: the highest recommendation within the scale-down window. */
export function stabilize(recs: Recommendation[], prenormalized: number, windowMs: number, now: number): { stabilized: number; recommendations: Recommendation[] } {
  const cutoff = now - windowMs;
  let stabilized = prenormalized;
  let oldIndex = -1;
  recs.forEach((r, i) => {
    if (r.timestamp > cutoff) stabilized = Math.max(stabilized, r.recommendation);
    else oldIndex = i;
  });
  return { stabilized, recommendations: record(recs, oldIndex, prenormalized, now) };
}

/**
 * upstream stabilizeRecommendationWithBehaviors: a scale-up goes no higher than the lowest
 * recommendation of the scale-up window, a scale-down no lower than the highest of the
 * scale-down window.
 */
export function stabilizeWithBehaviors(i: NormalizeInput): { stabilized: number; recommendations: Recommendation[] } {
  const { up, down } = resolveBehavior(i.behavior);
  const upWindowMs = (up.stabilizationWindowSeconds ?? 0) * 1000;
  const downWindowMs = down.stabilizationWindowSeconds !== undefined && down.stabilizationWindowSeconds !== null ? down.stabilizationWindowSeconds * 1000 : i.downscaleStabilizationMs;
  const upCutoff = i.now - upWindowMs;
  const downCutoff = i.now - downWindowMs;
  let upRec = i.prenormalized;
  let downRec = i.prenormalized;
  let oldIndex = -1;
  i.history.recommendations.forEach((r, idx) => {
    if (r.timestamp > upCutoff) upRec = Math.min(upRec, r.recommendation);
    if (r.timestamp > downCutoff) downRec = Math.max(downRec, r.recommendation);
    if (r.timestamp < upCutoff && r.timestamp < downCutoff) oldIndex = idx;
  });
  let stabilized = i.current;
  if (stabilized < upRec) stabilized = upRec;
  if (stabilized > downRec) stabilized = downRec;
  return { stabilized, recommendations: record(i.history.recommendations, oldIndex, i.prenormalized, i.now) };
}

/**
 * upstream convertDesiredReplicasWithRules / convertDesiredReplicasWithBehaviorRate, once:
 * a scale-up stops at the lower of max and the scale-up limit, a scale-down at the higher of
 * min and the scale-down limit; the reason names the bound that applied.
 */
export function limitReplicas(current: number, stabilized: number, min: number, max: number, upLimit: number, downLimit: number): { desired: number; reason: string; message: string } {
  if (stabilized > current) {
    const [maxAllowed, reason, message] = max > upLimit
      ? [upLimit, 'ScaleUpLimit', 'the desired replica count is increasing faster than the maximum scale rate']
      : [max, 'TooManyReplicas', 'the desired replica count is more than the maximum replica count'];
    if (stabilized > maxAllowed) return { desired: maxAllowed, reason, message };
  } else if (stabilized < current) {
    const [minAllowed, reason, message] = min < downLimit
      ? [downLimit, 'ScaleDownLimit', 'the desired replica count is decreasing faster than the maximum scale rate']
      : [min, 'TooFewReplicas', 'the desired replica count is less than the minimum replica count'];
    if (stabilized < minAllowed) return { desired: minAllowed, reason, message };
  }
  return { desired: stabilized, reason: 'DesiredWithinRange', message: 'the desired count is within the acceptable range' };
}

function replicasChangePerPeriod(periodSeconds: number, events: readonly ScaleEvent[], now: number): number {
  const cutoff = now - periodSeconds * 1000;
  return events.filter((e) => e.timestamp > cutoff).reduce((s, e) => s + e.replicaChange, 0);
}

/** The replica count each policy's period started from, net of the changes made within it. */
function periodStart(current: number, p: ScalingPolicy, up: readonly ScaleEvent[], down: readonly ScaleEvent[], now: number): number {
  return current - replicasChangePerPeriod(p.periodSeconds, up, now) + replicasChangePerPeriod(p.periodSeconds, down, now);
}

/**
 * The bound the rate policies put on a change in one direction (+1 up, −1 down), from the
 * replicas each policy's period started with. selectPolicy Max picks the policy allowing
 * the biggest change, Min the smallest, Disabled allows none.
 */
function policyLimit(direction: 1 | -1, current: number, up: readonly ScaleEvent[], down: readonly ScaleEvent[], rules: ScalingRules, now: number): number {
  if (rules.selectPolicy === 'Disabled') return current;
  const biggestChange = rules.selectPolicy !== 'Min';
  const pick = (direction === 1) === biggestChange ? Math.max : Math.min;
  let result = pick === Math.max ? Number.MIN_SAFE_INTEGER : Number.MAX_SAFE_INTEGER;
  for (const p of rules.policies ?? []) {
    const start = periodStart(current, p, up, down, now);
    const proposed = p.type === 'Pods' ? start + direction * p.value
      : direction === 1 ? Math.ceil(start * (1 + p.value / 100)) : Math.trunc(start * (1 - p.value / 100));
    result = pick(result, proposed);
  }
  return result;
}

/** upstream calculateScaleUpLimitWithScalingRules: the most replicas the policies allow now. */
export function scaleUpLimit(current: number, up: readonly ScaleEvent[], down: readonly ScaleEvent[], rules: ScalingRules, now: number): number {
  return policyLimit(1, current, up, down, rules, now);
}

/** upstream calculateScaleDownLimitWithBehaviors: the fewest replicas the policies allow now. */
export function scaleDownLimit(current: number, up: readonly ScaleEvent[], down: readonly ScaleEvent[], rules: ScalingRules, now: number): number {
  return policyLimit(-1, current, up, down, rules, now);
}

/** upstream storeScaleEvent: remembers a change for the rate policies, dropping events older than the longest period. */
export function storeScaleEvent(h: ScaleHistory, behavior: ScalingBehavior | undefined, prev: number, next: number, now: number): ScaleHistory {
  const longestMs = (rules: ScalingRules | undefined, dflt: ScalingRules) => Math.max(0, ...(rules?.policies ?? dflt.policies ?? []).map((p) => p.periodSeconds ?? 0)) * 1000;
  const prune = (events: ScaleEvent[], periodMs: number) => events.filter((e) => e.timestamp > now - periodMs);
  if (next > prev) return { ...h, scaleUpEvents: [...prune(h.scaleUpEvents, longestMs(behavior?.scaleUp, DEFAULT_SCALE_UP)), { replicaChange: next - prev, timestamp: now }] };
  if (next < prev) return { ...h, scaleDownEvents: [...prune(h.scaleDownEvents, longestMs(behavior?.scaleDown, DEFAULT_SCALE_DOWN)), { replicaChange: prev - next, timestamp: now }] };
  return h;
}
