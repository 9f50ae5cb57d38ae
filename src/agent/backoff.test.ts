import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../util/clock.js';
import { Backoff, formatDuration } from './backoff.js';

test('crash-loop back-off: first retry at once, then 10s doubling to 5m, reset after 10m', async () => {
  const clock = new FakeClock();
  const b = new Backoff(clock);
  assert.equal(b.isInBackOffSince('k', clock.now()), false);
  b.next('k');
  assert.equal(b.get('k'), 10_000);
  const exit = clock.now();
  assert.equal(b.isInBackOffSince('k', exit), true);
  await clock.advance(10_000);
  assert.equal(b.isInBackOffSince('k', exit), false);
  for (let i = 0; i < 10; i++) b.next('k');
  assert.equal(b.get('k'), 300_000);
  await clock.advance(600_001);
  assert.equal(b.get('k'), 0);
  b.next('k');
  assert.equal(b.get('k'), 10_000);
  assert.equal(formatDuration(10_000), '10s');
  assert.equal(formatDuration(80_000), '1m20s');
  assert.equal(formatDuration(300_000), '5m0s');
});
