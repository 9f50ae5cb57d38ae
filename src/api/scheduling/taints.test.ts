import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Taint, Toleration } from 'kubernetes-types/core/v1.js';
import { findMatchingUntoleratedTaint, isHardTaint, toleratesTaint, tolerationsTolerateTaint } from './taints.js';

const taint: Taint = { key: 'dedicated', value: 'gpu', effect: 'NoSchedule' };

test('toleratesTaint follows upstream: effect and key match or are empty, value per operator', () => {
  const cases: [Toleration, boolean][] = [
    [{ key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }, true],
    [{ key: 'dedicated', value: 'gpu' }, true], // operator defaults to Equal, empty effect matches all
    [{ key: 'dedicated', operator: 'Exists' }, true],
    [{ operator: 'Exists' }, true], // empty key with Exists tolerates everything
    [{ key: 'dedicated', operator: 'Equal', value: 'cpu' }, false],
    [{ key: 'dedicated', operator: 'Exists', effect: 'NoExecute' }, false],
    [{ key: 'other', operator: 'Exists' }, false],
    [{ key: 'dedicated', operator: 'Bogus', value: 'gpu' }, false],
  ];
  for (const [t, want] of cases) assert.equal(toleratesTaint(t, taint), want, JSON.stringify(t));
  assert.ok(toleratesTaint({ key: 'k', operator: 'Equal' }, { key: 'k', effect: 'NoSchedule' }), 'missing values are equal');
});

test('tolerationsTolerateTaint: any toleration will do, none tolerate nothing', () => {
  assert.equal(tolerationsTolerateTaint(undefined, taint), false);
  assert.equal(tolerationsTolerateTaint([], taint), false);
  assert.equal(tolerationsTolerateTaint([{ key: 'x', operator: 'Exists' }, { key: 'dedicated', operator: 'Exists' }], taint), true);
});

test('findMatchingUntoleratedTaint returns the first included taint not tolerated', () => {
  const taints: Taint[] = [
    { key: 'soft', effect: 'PreferNoSchedule' },
    { key: 'a', effect: 'NoSchedule' },
    { key: 'b', effect: 'NoExecute' },
  ];
  assert.deepEqual(findMatchingUntoleratedTaint(taints, [], isHardTaint), taints[1]);
  assert.deepEqual(findMatchingUntoleratedTaint(taints, [{ key: 'a', operator: 'Exists' }], isHardTaint), taints[2]);
  assert.equal(findMatchingUntoleratedTaint(taints, [{ key: 'a', operator: 'Exists' }, { key: 'b', operator: 'Exists' }], isHardTaint), undefined);
  assert.deepEqual(findMatchingUntoleratedTaint(taints, [], () => true), taints[0]);
});
