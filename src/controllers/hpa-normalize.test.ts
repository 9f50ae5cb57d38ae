import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  emptyHistory, limitReplicas, normalizeDesiredReplicas, scaleDownLimit, scaleUpLimit, storeScaleEvent,
  type NormalizeInput, type ScaleEvent, type ScalingBehavior, type ScalingRules,
} from './hpa-normalize.js';

const NOW = Date.parse('2024-01-01T01:00:00Z');
const ago = (s: number) => NOW - s * 1000;
const ev = (replicaChange: number, secondsAgo: number): ScaleEvent => ({ replicaChange, timestamp: ago(secondsAgo) });
const DEFAULT_UP: ScalingRules = { selectPolicy: 'Max', policies: [{ type: 'Pods', value: 4, periodSeconds: 15 }, { type: 'Percent', value: 100, periodSeconds: 15 }] };

test('scaleUpLimit: the policies, their selection and the changes already made in their period', () => {
  const cases: Array<{ name: string; current: number; up?: ScaleEvent[]; down?: ScaleEvent[]; rules: ScalingRules; want: number }> = [
    { name: 'Max picks the larger of +4 pods and +100 %', current: 3, rules: DEFAULT_UP, want: 7 },
    { name: 'Max, percent wins', current: 10, rules: DEFAULT_UP, want: 20 },
    { name: 'Min picks the smaller', current: 3, rules: { ...DEFAULT_UP, selectPolicy: 'Min' }, want: 6 },
    { name: 'Disabled keeps the count', current: 3, rules: { ...DEFAULT_UP, selectPolicy: 'Disabled' }, want: 3 },
    { name: 'a scale-up within the period counts against it', current: 10, up: [ev(4, 5)], rules: DEFAULT_UP, want: 12 },
    { name: 'a scale-up before the period does not', current: 10, up: [ev(4, 20)], rules: DEFAULT_UP, want: 20 },
    { name: 'a scale-down within the period gives room back', current: 2, down: [ev(1, 30)], rules: { policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }] }, want: 4 },
    { name: 'percent rounds up', current: 3, rules: { policies: [{ type: 'Percent', value: 50, periodSeconds: 60 }] }, want: 5 },
  ];
  for (const c of cases) assert.equal(scaleUpLimit(c.current, c.up ?? [], c.down ?? [], c.rules, NOW), c.want, c.name);
});

test('scaleDownLimit: the policies, their selection and the changes already made in their period', () => {
  const both: ScalingRules = { selectPolicy: 'Max', policies: [{ type: 'Percent', value: 50, periodSeconds: 60 }, { type: 'Pods', value: 3, periodSeconds: 60 }] };
  const cases: Array<{ name: string; current: number; up?: ScaleEvent[]; down?: ScaleEvent[]; rules: ScalingRules; want: number }> = [
    { name: 'Max allows the bigger change', current: 10, rules: both, want: 5 },
    { name: 'Min allows the smaller change', current: 10, rules: { ...both, selectPolicy: 'Min' }, want: 7 },
    { name: 'Disabled keeps the count', current: 10, rules: { ...both, selectPolicy: 'Disabled' }, want: 10 },
    { name: 'a scale-down within the period counts against it', current: 10, down: [ev(2, 1)], rules: { policies: [{ type: 'Percent', value: 50, periodSeconds: 60 }] }, want: 6 },
    { name: 'percent rounds toward zero', current: 5, rules: { policies: [{ type: 'Percent', value: 50, periodSeconds: 60 }] }, want: 2 },
  ];
  for (const c of cases) assert.equal(scaleDownLimit(c.current, c.up ?? [], c.down ?? [], c.rules, NOW), c.want, c.name);
});

test('limitReplicas: one set of bounds for both directions', () => {
  const cases = [
    { current: 3, stabilized: 5, min: 1, max: 10, up: 8, down: 0, want: [5, 'DesiredWithinRange'] },
    { current: 3, stabilized: 12, min: 1, max: 10, up: 20, down: 0, want: [10, 'TooManyReplicas'] },
    { current: 3, stabilized: 12, min: 1, max: 10, up: 6, down: 0, want: [6, 'ScaleUpLimit'] },
    { current: 5, stabilized: 0, min: 2, max: 10, up: 10, down: -Infinity, want: [2, 'TooFewReplicas'] },
    { current: 5, stabilized: 0, min: 2, max: 10, up: 10, down: 4, want: [4, 'ScaleDownLimit'] },
    { current: 5, stabilized: 5, min: 2, max: 10, up: 5, down: 5, want: [5, 'DesiredWithinRange'] },
  ] as const;
  for (const c of cases) {
    const r = limitReplicas(c.current, c.stabilized, c.min, c.max, c.up, c.down);
    assert.deepEqual([r.desired, r.reason], c.want, JSON.stringify(c));
  }
});

function input(over: Partial<NormalizeInput>): NormalizeInput {
  return { current: 3, prenormalized: 3, min: 1, max: 10, downscaleStabilizationMs: 300_000, history: emptyHistory(), now: NOW, ...over };
}

test('normalizeDesiredReplicas: stabilization, limits and the conditions they set', () => {
  const behavior = (b: ScalingBehavior) => b;
  const cases: Array<{ name: string; in: Partial<NormalizeInput>; desired: number; able: string; limited: [string, string] }> = [
    { name: 'no behavior: scale-up at most to max(2 × current, 4)', in: { current: 1, prenormalized: 10 }, desired: 4, able: 'ReadyForNewScale', limited: ['True', 'ScaleUpLimit'] },
    { name: 'no behavior: max', in: { current: 3, prenormalized: 7, max: 5 }, desired: 5, able: 'ReadyForNewScale', limited: ['True', 'TooManyReplicas'] },
    { name: 'no behavior: min', in: { current: 3, prenormalized: 0, min: 2 }, desired: 2, able: 'ReadyForNewScale', limited: ['True', 'TooFewReplicas'] },
    {
      name: 'no behavior: a higher recommendation within the window holds a scale-down',
      in: { current: 5, prenormalized: 2, history: { ...emptyHistory(), recommendations: [{ recommendation: 5, timestamp: ago(100) }] } },
      desired: 5, able: 'ScaleDownStabilized', limited: ['False', 'DesiredWithinRange'],
    },
    {
      name: 'no behavior: one older than the window does not',
      in: { current: 5, prenormalized: 2, history: { ...emptyHistory(), recommendations: [{ recommendation: 5, timestamp: ago(400) }] } },
      desired: 2, able: 'ReadyForNewScale', limited: ['False', 'DesiredWithinRange'],
    },
    {
      name: 'no behavior: the window holds a scale-up above the recommendation too (upstream)',
      in: { current: 3, prenormalized: 5, history: { ...emptyHistory(), recommendations: [{ recommendation: 6, timestamp: ago(100) }] } },
      desired: 6, able: 'ScaleDownStabilized', limited: ['False', 'DesiredWithinRange'],
    },
    {
      name: 'behavior: scale-up stabilization keeps the lowest recent recommendation',
      in: { current: 4, prenormalized: 7, behavior: behavior({ scaleUp: { stabilizationWindowSeconds: 60 } }), history: { ...emptyHistory(), recommendations: [{ recommendation: 4, timestamp: ago(10) }, { recommendation: 5, timestamp: ago(5) }] } },
      desired: 4, able: 'ScaleUpStabilized', limited: ['False', 'DesiredWithinRange'],
    },
    {
      name: 'behavior: scale-down stabilization keeps the highest recent recommendation',
      in: { current: 100, prenormalized: 3, behavior: behavior({ scaleDown: { stabilizationWindowSeconds: 60, policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }] } }), history: { ...emptyHistory(), recommendations: [{ recommendation: 5, timestamp: ago(10) }, { recommendation: 4, timestamp: ago(5) }] } },
      desired: 5, able: 'ScaleDownStabilized', limited: ['False', 'DesiredWithinRange'],
    },
    {
      name: 'behavior: a scale-down rate limit',
      in: { current: 10, prenormalized: 1, behavior: behavior({ scaleDown: { stabilizationWindowSeconds: 0, policies: [{ type: 'Pods', value: 2, periodSeconds: 60 }] } }) },
      desired: 8, able: 'ReadyForNewScale', limited: ['True', 'ScaleDownLimit'],
    },
    {
      name: 'behavior: the rate limit remembers the last period',
      in: { current: 10, prenormalized: 1, behavior: behavior({ scaleDown: { stabilizationWindowSeconds: 0, policies: [{ type: 'Pods', value: 2, periodSeconds: 60 }] } }), history: { ...emptyHistory(), scaleDownEvents: [ev(2, 30)] } },
      desired: 10, able: 'ReadyForNewScale', limited: ['True', 'ScaleDownLimit'],
    },
    {
      name: 'behavior: scale-down disabled',
      in: { current: 10, prenormalized: 1, behavior: behavior({ scaleDown: { stabilizationWindowSeconds: 0, selectPolicy: 'Disabled' } }) },
      desired: 10, able: 'ReadyForNewScale', limited: ['True', 'ScaleDownLimit'],
    },
    {
      name: 'behavior: the default scale-down window is the controller\'s',
      in: { current: 5, prenormalized: 2, behavior: behavior({ scaleUp: { stabilizationWindowSeconds: 0 } }), history: { ...emptyHistory(), recommendations: [{ recommendation: 5, timestamp: ago(100) }] } },
      desired: 5, able: 'ScaleDownStabilized', limited: ['False', 'DesiredWithinRange'],
    },
    {
      name: 'behavior: a scale-up rate limit with the defaults',
      in: { current: 2, prenormalized: 20, max: 30, behavior: behavior({}) },
      desired: 6, able: 'ReadyForNewScale', limited: ['True', 'ScaleUpLimit'],
    },
  ];
  for (const c of cases) {
    const r = normalizeDesiredReplicas(input(c.in));
    assert.equal(r.desired, c.desired, c.name);
    assert.deepEqual(r.conditions.map((x) => x.type), ['AbleToScale', 'ScalingLimited'], c.name);
    assert.equal(r.conditions[0].reason, c.able, c.name);
    assert.deepEqual([r.conditions[1].status, r.conditions[1].reason], c.limited, c.name);
  }
});

test('normalizeDesiredReplicas keeps the recommendation history bounded', () => {
  const old = { recommendation: 9, timestamp: ago(400) };
  const recent = { recommendation: 4, timestamp: ago(10) };
  const r = normalizeDesiredReplicas(input({ prenormalized: 3, history: { ...emptyHistory(), recommendations: [old, recent] } }));
  // The expired entry is reused for the new recommendation, the recent one stays.
  assert.deepEqual(r.recommendations, [{ recommendation: 3, timestamp: NOW }, recent]);
  const fresh = normalizeDesiredReplicas(input({ prenormalized: 3 }));
  assert.deepEqual(fresh.recommendations, [{ recommendation: 3, timestamp: NOW }]);
});

test('storeScaleEvent records changes by direction and drops those older than the longest period', () => {
  const b: ScalingBehavior = { scaleUp: { policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }] } };
  let h = storeScaleEvent({ ...emptyHistory(), scaleUpEvents: [ev(1, 90), ev(1, 30)] }, b, 2, 5, NOW);
  assert.deepEqual(h.scaleUpEvents, [ev(1, 30), ev(3, 0)]);
  h = storeScaleEvent(h, b, 5, 4, NOW);
  assert.deepEqual(h.scaleDownEvents, [ev(1, 0)]);
  assert.equal(storeScaleEvent(h, b, 4, 4, NOW), h);
});
