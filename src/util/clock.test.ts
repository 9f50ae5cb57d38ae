import { test } from 'node:test';
import assert from 'node:assert/strict';
import { every, FakeClock } from './clock.js';

test('every runs its function once per period until stopped', async () => {
  const clock = new FakeClock();
  let runs = 0;
  const stop = every(clock, 1000, () => { runs++; });
  await clock.advance(999);
  assert.equal(runs, 0);
  await clock.advance(1);
  assert.equal(runs, 1);
  await clock.advance(3000);
  assert.equal(runs, 4);
  stop();
  await clock.advance(5000);
  assert.equal(runs, 4);
  assert.equal(clock.pending(), 0);
});

test('a function that stops its own schedule is not run again', async () => {
  const clock = new FakeClock();
  let runs = 0;
  const stop = every(clock, 10, () => { if (++runs === 2) stop(); });
  await clock.advance(100);
  assert.equal(runs, 2);
});
