/**
 * The worker loop every controller uses (sample-controller style): keys come off a
 * rate-limited queue, a reconcile function converges one key, failures are retried with
 * backoff, successes forget their backoff, and a reconcile may ask to be run again later.
 */
import { WorkQueue } from '../client/workqueue.js';
import type { Controller, ControllerContext } from './types.js';

/** What a controller waits on before its workers start. */
export interface Syncable { start(): void; waitForSync(): Promise<void> }

/** What a reconcile returns: nothing, or a wish to look at the key again after some time. */
export type ReconcileResult = void | { requeueAfterMs?: number };

/** A queue plus workers around one reconcile function. */
export class QueueController implements Controller {
  readonly queue: WorkQueue<string>;
  private stopped = false;
  private stopWaiters: Array<() => void> = [];

  constructor(
    readonly name: string,
    private ctx: ControllerContext,
    private informers: Syncable[],
    private reconcile: (key: string) => Promise<ReconcileResult>,
  ) {
    this.queue = new WorkQueue<string>({ name, clock: ctx.clock });
  }

  async run(workers: number): Promise<void> {
    for (const i of this.informers) i.start();
    await Promise.all(this.informers.map((i) => i.waitForSync()));
    if (this.stopped) return;
    const loops = Array.from({ length: Math.max(1, workers) }, () => this.worker());
    await Promise.all(loops);
  }

  /** Adds informers that must be synced before workers start. */
  addInformers(...infs: Syncable[]): void {
    this.informers.push(...infs);
  }

  stop(): void {
    this.stopped = true;
    this.queue.shutDown();
    for (const w of this.stopWaiters.splice(0)) w();
  }

  /** Runs one key through reconcile now (tests). */
  async processNext(): Promise<boolean> {
    if (this.queue.len() === 0) return false;
    const key = await this.queue.get();
    if (key === undefined) return false;
    await this.handle(key);
    return true;
  }

  private async worker(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      await this.handle(key);
    }
  }

  private async handle(key: string): Promise<void> {
    try {
      const r = await this.reconcile(key);
      this.queue.forget(key);
      if (r && r.requeueAfterMs !== undefined) this.queue.addAfter(key, r.requeueAfterMs);
    } catch (err) {
      this.ctx.log?.(`${this.name}: error syncing ${JSON.stringify(key)}: ${(err as Error).message}; requeuing`);
      this.queue.addRateLimited(key);
    } finally {
      this.queue.done(key);
    }
  }
}
