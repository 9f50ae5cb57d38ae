import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../util/clock.js';
import { TestClient } from '../apiserver/testing/test-api.js';
import { LeaderElector, type Lease } from './leader-election.js';
import { LEASES } from './resources.js';

function candidate(c: TestClient, clock: FakeClock, id: string, log: string[]) {
  return new LeaderElector({
    client: c, clock, name: 'kcm', identity: id, random: () => 0,
    onStartedLeading: () => log.push(`${id} started`),
    onStoppedLeading: () => log.push(`${id} stopped`),
  });
}

test('only one of two candidates leads; the other takes over after the lease expires', async () => {
  const clock = new FakeClock();
  const c = new TestClient({ clock });
  const log: string[] = [];
  const a = candidate(c, clock, 'a', log);
  const b = candidate(c, clock, 'b', log);
  const ra = a.run();
  await clock.advance(0);
  void b.run();
  await clock.advance(10_000);
  assert.deepEqual(log, ['a started']);
  assert.ok(a.isLeader() && !b.isLeader());
  assert.equal(b.getLeader(), 'a');
  const lease = c.peek<Lease>(LEASES, 'kube-system', 'kcm')!;
  assert.equal(lease.spec!.holderIdentity, 'a');
  assert.equal(lease.spec!.leaseDurationSeconds, 15);

  // a's API access breaks: it keeps leading until renewDeadline (10 s), then steps down;
  // b takes over only once the record has been stale for leaseDuration (15 s).
  const unhook = c.prependReactor((x) => (x.verb === 'update' && (x.object as Lease).spec?.holderIdentity === 'a' ? new Error('timeout') : undefined));
  await clock.advance(8_000);
  assert.ok(a.isLeader());
  await clock.advance(4_000);
  assert.ok(!a.isLeader());
  await ra;
  assert.deepEqual(log, ['a started', 'a stopped']);
  assert.ok(!b.isLeader(), 'lease not yet expired for b');
  await clock.advance(6_000);
  assert.ok(b.isLeader());
  assert.deepEqual(log, ['a started', 'a stopped', 'b started']);
  const l2 = c.peek<Lease>(LEASES, 'kube-system', 'kcm')!;
  assert.equal(l2.spec!.holderIdentity, 'b');
  assert.equal(l2.spec!.leaseTransitions, 1);
  unhook();
  b.stop();
  await clock.advance(1);
});

test('stopping the leader releases the lease so the other takes over quickly', async () => {
  const clock = new FakeClock();
  const c = new TestClient({ clock });
  const log: string[] = [];
  const a = candidate(c, clock, 'a', log);
  const b = candidate(c, clock, 'b', log);
  const ra = a.run();
  await clock.advance(0);
  void b.run();
  await clock.advance(3_000);
  a.stop();
  await ra;
  assert.equal(c.peek<Lease>(LEASES, 'kube-system', 'kcm')!.spec!.holderIdentity, '');
  await clock.advance(4_000);
  assert.ok(b.isLeader());
  b.stop();
  await clock.advance(1);
});
