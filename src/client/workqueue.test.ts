import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../util/clock.js';
import { BucketRateLimiter, ExponentialFailureRateLimiter, WorkQueue, defaultControllerRateLimiter } from './workqueue.js';

test('a key added several times is handed out once', async () => {
  const q = new WorkQueue({ clock: new FakeClock() });
  q.add('a'); q.add('b'); q.add('a');
  assert.equal(q.len(), 2);
  assert.equal(await q.get(), 'a');
  assert.equal(await q.get(), 'b');
  assert.equal(q.len(), 0);
});

test('a key added while in flight is not given to a second worker, and comes back after done', async () => {
  const q = new WorkQueue({ clock: new FakeClock() });
  q.add('a');
  const k = await q.get();
  assert.equal(k, 'a');
  q.add('a');
  assert.equal(q.len(), 0, 'in-flight key must not be queued twice');
  let second: string | undefined;
  void q.get().then((x) => { second = x; });
  await new Promise((r) => setImmediate(r));
  assert.equal(second, undefined);
  q.done('a');
  await new Promise((r) => setImmediate(r));
  assert.equal(second, 'a');
});

test('addAfter waits for the clock and keeps the earliest time', async () => {
  const clock = new FakeClock();
  const q = new WorkQueue({ clock });
  q.addAfter('a', 1000);
  q.addAfter('a', 500);
  q.addAfter('a', 2000);
  await clock.advance(499);
  assert.equal(q.len(), 0);
  await clock.advance(1);
  assert.equal(q.len(), 1);
  await clock.advance(5000);
  assert.equal(q.len(), 1, 'later addAfter calls were absorbed');
});

test('per-key backoff doubles from 5ms and caps at 1000s; forget resets', () => {
  const rl = new ExponentialFailureRateLimiter<string>();
  assert.deepEqual([rl.when('a'), rl.when('a'), rl.when('a'), rl.when('b')], [5, 10, 20, 5]);
  for (let i = 0; i < 40; i++) rl.when('a');
  assert.equal(rl.when('a'), 1000_000);
  assert.equal(rl.numRequeues('a'), 44);
  rl.forget('a');
  assert.equal(rl.when('a'), 5);
});

test('the overall bucket allows a burst of 100 then 10 per second', () => {
  const clock = new FakeClock();
  const rl = new BucketRateLimiter<string>(10, 100, clock);
  for (let i = 0; i < 100; i++) assert.equal(rl.when(`k${i}`), 0);
  assert.equal(rl.when('x'), 100);
  assert.equal(rl.when('y'), 200);
  const d = defaultControllerRateLimiter<string>(clock);
  assert.equal(d.when('a'), 5);
});

test('addRateLimited delays by the backoff', async () => {
  const clock = new FakeClock();
  const q = new WorkQueue({ clock });
  q.addRateLimited('a'); // 5ms
  q.addRateLimited('a'); // 10ms, but 5ms already pending wins
  await clock.advance(4);
  assert.equal(q.len(), 0);
  await clock.advance(1);
  assert.equal(q.len(), 1);
  assert.equal(q.numRequeues('a'), 2);
  q.forget('a');
  assert.equal(q.numRequeues('a'), 0);
});

test('shutDown releases waiting workers with undefined and drops delayed keys', async () => {
  const clock = new FakeClock();
  const q = new WorkQueue({ clock });
  const p = q.get();
  q.addAfter('a', 10);
  q.shutDown();
  assert.equal(await p, undefined);
  await clock.advance(100);
  assert.equal(q.len(), 0);
  q.add('b');
  assert.equal(await q.get(), undefined);
});
