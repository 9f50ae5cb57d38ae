/**
 * The one work queue used by every controller, after client-go util/workqueue: a key is held
 * once however often it is added (dedup), is never handed to two workers at once (in-flight
 * set; a key added while being processed is queued again when `done` is called), can be
 * delayed (`addAfter`) and rate-limited per key with exponential backoff and an overall token
 * bucket, like `workqueue.DefaultControllerRateLimiter()`.
 */
import { realClock, type Clock, type Timer } from '../util/clock.js';

/** Decides how long a key waits before it is retried. */
export interface RateLimiter<K = string> {
  /** The delay for the next retry of `key` (records a failure). */
  when(key: K): number;
  /** Clears the failure history of `key`. */
  forget(key: K): void;
  /** How many times `key` has been rate-limited since the last forget. */
  numRequeues(key: K): number;
}

/** Per-key exponential backoff: base·2^failures, capped at max (client-go ItemExponentialFailureRateLimiter). */
export class ExponentialFailureRateLimiter<K = string> implements RateLimiter<K> {
  private failures = new Map<K, number>();
  constructor(private baseMs = 5, private maxMs = 1000_000) {}
  when(key: K): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    // 2^n overflows to Infinity long before it matters; the cap keeps the result finite.
    return Math.min(this.baseMs * Math.pow(2, n), this.maxMs);
  }
  forget(key: K): void { this.failures.delete(key); }
  numRequeues(key: K): number { return this.failures.get(key) ?? 0; }
}

/**
 * An overall token bucket (golang.org/x/time/rate as used by client-go's BucketRateLimiter):
 * each call reserves one token; the delay is how long until that token exists.
 */
export class BucketRateLimiter<K = string> implements RateLimiter<K> {
  private tokens: number;
  private last: number;
  constructor(private qps = 10, private burst = 100, private clock: Clock = realClock) {
    this.tokens = burst;
    this.last = clock.now();
  }
  when(_key: K): number {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.qps);
    this.last = now;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.qps) * 1000);
  }
  forget(_key: K): void {}
  numRequeues(_key: K): number { return 0; }
}

/** The longest delay of several limiters (client-go MaxOfRateLimiter). */
export class MaxOfRateLimiter<K = string> implements RateLimiter<K> {
  private limiters: RateLimiter<K>[];
  constructor(...limiters: RateLimiter<K>[]) { this.limiters = limiters; }
  when(key: K): number { return Math.max(0, ...this.limiters.map((l) => l.when(key))); }
  forget(key: K): void { for (const l of this.limiters) l.forget(key); }
  numRequeues(key: K): number { return Math.max(0, ...this.limiters.map((l) => l.numRequeues(key))); }
}

/** Exponential 5 ms → 1000 s per key, and 10 qps / burst 100 overall. */
export function defaultControllerRateLimiter<K = string>(clock: Clock = realClock): RateLimiter<K> {
  return new MaxOfRateLimiter<K>(new ExponentialFailureRateLimiter<K>(5, 1000_000), new BucketRateLimiter<K>(10, 100, clock));
}

export interface WorkQueueOptions<K> {
  name?: string;
  clock?: Clock;
  rateLimiter?: RateLimiter<K>;
}

/** A rate-limited, delaying, de-duplicating work queue of keys (usually "namespace/name"). */
export class WorkQueue<K = string> {
  readonly name: string;
  private clock: Clock;
  private rateLimiter: RateLimiter<K>;
  private queue: K[] = [];
  /** Keys that need processing (queued, or added again while in flight). */
  private dirty = new Set<K>();
  /** Keys a worker holds right now. */
  private processing = new Set<K>();
  private waiting = new Map<K, { due: number; timer: Timer }>();
  private getters: Array<(k: K | undefined) => void> = [];
  private shutting = false;

  constructor(opts: WorkQueueOptions<K> = {}) {
    this.name = opts.name ?? 'queue';
    this.clock = opts.clock ?? realClock;
    this.rateLimiter = opts.rateLimiter ?? defaultControllerRateLimiter<K>(this.clock);
  }

  /** Marks `key` as needing processing. Adding a key that is already queued does nothing. */
  add(key: K): void {
    if (this.shutting || this.dirty.has(key)) return;
    this.dirty.add(key);
    // A key in flight is re-queued by done(), so two workers never hold it at once.
    if (this.processing.has(key)) return;
    this.push(key);
  }

  /** Adds `key` after `ms`; if it is already waiting, the earlier of the two times wins. */
  addAfter(key: K, ms: number): void {
    if (this.shutting) return;
    if (ms <= 0) { this.add(key); return; }
    const due = this.clock.now() + ms;
    const w = this.waiting.get(key);
    if (w) {
      if (w.due <= due) return;
      w.timer.cancel();
    }
    const timer = this.clock.setTimeout(() => {
      this.waiting.delete(key);
      this.add(key);
    }, ms);
    this.waiting.set(key, { due, timer });
  }

  /** Adds `key` after its rate limiter says so (call after a failed reconcile). */
  addRateLimited(key: K): void {
    this.addAfter(key, this.rateLimiter.when(key));
  }

  /** Stops tracking failures of `key` (call after a successful reconcile). */
  forget(key: K): void { this.rateLimiter.forget(key); }

  numRequeues(key: K): number { return this.rateLimiter.numRequeues(key); }

  /** Keys ready to be handed out (not counting delayed or in-flight ones). */
  len(): number { return this.queue.length; }

  /** True when nothing is queued, waiting or in flight. */
  idle(): boolean { return this.queue.length === 0 && this.waiting.size === 0 && this.processing.size === 0; }

  /** The next key, waiting for one if needed; undefined once the queue is shut down. Call done(key) afterwards. */
  get(): Promise<K | undefined> {
    if (this.queue.length > 0) return Promise.resolve(this.take());
    if (this.shutting) return Promise.resolve(undefined);
    return new Promise((resolve) => this.getters.push(resolve));
  }

  /** Releases `key`; if it was added while in flight it goes back on the queue. */
  done(key: K): void {
    this.processing.delete(key);
    if (this.dirty.has(key) && !this.shutting) this.push(key);
  }

  /** Stops the queue: waiting getters receive undefined, delayed adds are dropped. */
  shutDown(): void {
    this.shutting = true;
    for (const w of this.waiting.values()) w.timer.cancel();
    this.waiting.clear();
    for (const g of this.getters.splice(0)) g(undefined);
  }

  shuttingDown(): boolean { return this.shutting; }

  private push(key: K): void {
    const g = this.getters.shift();
    if (g) {
      // Hand the key straight to a waiting worker.
      this.dirty.delete(key);
      this.processing.add(key);
      g(key);
      return;
    }
    this.queue.push(key);
  }

  private take(): K {
    const key = this.queue.shift() as K;
    this.dirty.delete(key);
    this.processing.add(key);
    return key;
  }
}
