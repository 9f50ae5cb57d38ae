/**
 * Controller expectations (upstream pkg/controller ControllerExpectations with UID tracking):
 * after a controller asks for N creations or deletions it does not act on the same owner
 * again until its informer has seen them, so a stale cache never leads to double creates.
 * Expectations older than five minutes are considered satisfied, in case a watch event was lost.
 */
import type { Clock } from '../util/clock.js';

const TTL_MS = 5 * 60_000;

interface Record { add: number; del: number; at: number; deleting: Set<string> }

export class Expectations {
  private m = new Map<string, Record>();
  constructor(private clock: Clock) {}

  /** True when nothing is outstanding for `key` (or the expectation expired): safe to create/delete. */
  satisfied(key: string): boolean {
    const r = this.m.get(key);
    if (!r) return true;
    if (r.add <= 0 && r.del <= 0) return true;
    return this.clock.now() - r.at > TTL_MS;
  }

  expectCreations(key: string, n: number): void {
    const r = this.get(key);
    r.add = n; r.at = this.clock.now();
  }

  /** Expects the pods named by `podKeys` ("ns/name") to disappear. */
  expectDeletions(key: string, podKeys: string[]): void {
    const r = this.get(key);
    r.deleting = new Set(podKeys); r.del = podKeys.length; r.at = this.clock.now();
  }

  creationObserved(key: string): void {
    const r = this.m.get(key);
    if (r && r.add > 0) r.add--;
  }

  deletionObserved(key: string, podKey: string): void {
    const r = this.m.get(key);
    if (r && r.deleting.delete(podKey)) r.del--;
  }

  /** Gives up on creations that were never attempted or failed. */
  lowerCreations(key: string, n: number): void {
    const r = this.m.get(key);
    if (r) r.add = Math.max(0, r.add - n);
  }

  delete(key: string): void { this.m.delete(key); }

  private get(key: string): Record {
    let r = this.m.get(key);
    if (!r) this.m.set(key, (r = { add: 0, del: 0, at: this.clock.now(), deleting: new Set() }));
    return r;
  }
}
