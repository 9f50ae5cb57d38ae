import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock } from '../util/clock.js';
import { ActionType } from './framework.js';
import { SchedulingQueue } from './queue.js';
import { makePod } from './testing/builders.js';

const key = (name: string) => `uid-default-${name}`;

function newQueue() {
  const clock = new FakeClock();
  const q = new SchedulingQueue({
    clock,
    pluginEvents: new Map([
      ['NodeResourcesFit', [{ event: { resource: 'Pod', action: ActionType.Delete } }]],
      ['NodeAffinity', [{ event: { resource: 'Node', action: ActionType.Add | ActionType.UpdateNodeLabel } }]],
    ]),
  });
  return { clock, q };
}

describe('SchedulingQueue', () => {
  it('pops by priority, then by creation time', () => {
    const { q } = newQueue();
    q.add(makePod('old-low', { priority: 1, creationTimestamp: '2024-01-01T00:00:00Z' }));
    q.add(makePod('new-high', { priority: 5, creationTimestamp: '2024-01-02T00:00:00Z' }));
    q.add(makePod('older-low', { priority: 1, creationTimestamp: '2023-12-31T00:00:00Z' }));
    assert.deepEqual(
      [q.pop(), q.pop(), q.pop()].map((x) => x?.podInfo.name),
      ['new-high', 'older-low', 'old-low'],
    );
    assert.equal(q.pop(), undefined);
  });

  it('parks rejected pods until an event one of the rejecting plugins registered for', () => {
    const { q } = newQueue();
    q.add(makePod('p'));
    const qp = q.pop()!;
    q.addUnschedulableIfNotPresent(qp, ['NodeResourcesFit']);
    assert.equal(q.whereIs(key('p')), 'unschedulable');
    assert.equal(q.moveAllToActiveOrBackoffQueue({ resource: 'Node', action: ActionType.Add }), 0);
    assert.equal(q.whereIs(key('p')), 'unschedulable');
    assert.equal(q.moveAllToActiveOrBackoffQueue({ resource: 'Pod', action: ActionType.Delete }), 1);
    // Still within its 1 s backoff, so it waits in backoffQ.
    assert.equal(q.whereIs(key('p')), 'backoff');
  });

  it('an event moves a pod straight to activeQ once its backoff has passed', async () => {
    const { q, clock } = newQueue();
    q.add(makePod('p'));
    q.addUnschedulableIfNotPresent(q.pop()!, ['NodeAffinity']);
    await clock.advance(1500);
    q.moveAllToActiveOrBackoffQueue({ resource: 'Node', action: ActionType.UpdateNodeLabel });
    assert.equal(q.whereIs(key('p')), 'active');
  });

  it('consults queueing hints', () => {
    const clock = new FakeClock();
    const q = new SchedulingQueue({
      clock,
      pluginEvents: new Map([['X', [{ event: { resource: 'Node', action: ActionType.Add }, hint: (_p, _o, n) => ((n as { ok?: boolean }).ok ? 'Queue' : 'QueueSkip') }]]]),
    });
    q.add(makePod('p'));
    q.addUnschedulableIfNotPresent(q.pop()!, ['X']);
    q.moveAllToActiveOrBackoffQueue({ resource: 'Node', action: ActionType.Add }, undefined, { ok: false });
    assert.equal(q.whereIs(key('p')), 'unschedulable');
    q.moveAllToActiveOrBackoffQueue({ resource: 'Node', action: ActionType.Add }, undefined, { ok: true });
    assert.equal(q.whereIs(key('p')), 'backoff');
  });

  it('backs off exponentially from 1 s to a 10 s cap', async () => {
    const { q, clock } = newQueue();
    q.add(makePod('p'));
    const seen: number[] = [];
    for (let attempt = 1; attempt <= 6; attempt++) {
      const qp = q.pop()!;
      assert.equal(qp.attempts, attempt);
      q.addUnschedulableIfNotPresent(qp, [], { error: true });
      const start = clock.now();
      let waited = 0;
      while (q.whereIs(key('p')) === 'backoff') {
        await clock.advance(100);
        waited += 100;
        q.flushBackoffQCompleted();
        assert.ok(waited <= 20_000);
      }
      seen.push(clock.now() - start);
    }
    assert.deepEqual(seen, [1000, 2000, 4000, 8000, 10_000, 10_000]);
  });

  it('periodically retries pods parked for more than 5 minutes', async () => {
    const { q, clock } = newQueue();
    q.run();
    q.add(makePod('p'));
    q.addUnschedulableIfNotPresent(q.pop()!, ['NodeAffinity']);
    await clock.advance(4 * 60_000);
    assert.equal(q.whereIs(key('p')), 'unschedulable');
    await clock.advance(90_000);
    assert.equal(q.whereIs(key('p')), 'active');
    q.close();
  });

  it('retries an unschedulable pod when its spec changes, not when only status changes', async () => {
    const { q, clock } = newQueue();
    const p = makePod('p');
    q.add(p);
    q.addUnschedulableIfNotPresent(q.pop()!, ['NodeAffinity']);
    await clock.advance(2000);
    const statusOnly = { ...p, status: { ...p.status, conditions: [{ type: 'PodScheduled', status: 'False' }] } };
    q.update(p, statusOnly);
    assert.equal(q.whereIs(key('p')), 'unschedulable');
    const relabeled = { ...statusOnly, spec: { ...statusOnly.spec!, nodeSelector: { a: 'b' } } };
    q.update(statusOnly, relabeled);
    assert.equal(q.whereIs(key('p')), 'active');
    assert.deepEqual(q.pop()!.podInfo.pod.spec?.nodeSelector, { a: 'b' });
  });

  it('holds gated pods until their scheduling gates are removed', () => {
    const { q } = newQueue();
    const gated = makePod('g');
    gated.spec!.schedulingGates = [{ name: 'example.com/wait' }];
    q.add(gated);
    assert.equal(q.pop(), undefined);
    q.moveAllToActiveOrBackoffQueue({ resource: '*', action: ActionType.All });
    assert.equal(q.pop(), undefined);
    const open = { ...gated, spec: { ...gated.spec!, schedulingGates: [] } };
    q.update(gated, open);
    assert.equal(q.pop()?.podInfo.name, 'g');
  });

  it('forgets deleted pods wherever they are', () => {
    const { q } = newQueue();
    const a = makePod('a');
    const b = makePod('b');
    q.add(a);
    q.add(b);
    q.addUnschedulableIfNotPresent(q.pop()!, ['NodeAffinity']);
    q.delete(a);
    q.delete(b);
    assert.equal(q.activeCount + q.backoffCount + q.unschedulableCount, 0);
  });

  it('waitForPod resolves when a pod arrives', async () => {
    const { q } = newQueue();
    let woke = false;
    const w = q.waitForPod().then(() => (woke = true));
    await Promise.resolve();
    assert.equal(woke, false);
    q.add(makePod('p'));
    await w;
    assert.equal(woke, true);
  });
});
