/**
 * Time for components: a {@link Clock} is injected everywhere timing matters so that tests
 * drive time with {@link FakeClock} instead of sleeping.
 */

/** A scheduled callback that can be cancelled. */
export interface Timer { cancel(): void }

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Runs `fn` once after `ms` milliseconds. */
  setTimeout(fn: () => void, ms: number): Timer;
  /** Resolves after `ms` milliseconds. */
  sleep(ms: number): Promise<void>;
}

/** The wall clock. Timers are unref'd so that they never keep the process alive on their own. */
export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, Math.max(0, ms));
    t.unref?.();
    return { cancel: () => clearTimeout(t) };
  },
  sleep(ms) {
    return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
  },
};

/**
 * Runs `fn` every `ms` milliseconds on `clock` until the returned function is called (each run is
 * scheduled after the previous one started, as an interval; with {@link realClock} the timers are
 * unref'd, so periodic housekeeping never keeps a process alive).
 */
export function every(clock: Clock, ms: number, fn: () => void): () => void {
  let timer: Timer | undefined;
  let stopped = false;
  const tick = () => {
    if (stopped) return;
    timer = clock.setTimeout(tick, ms);
    fn();
  };
  timer = clock.setTimeout(tick, ms);
  return () => {
    stopped = true;
    timer?.cancel();
  };
}

/** RFC 3339 with seconds precision, as metav1.Time serialises (`2024-01-02T03:04:05Z`). */
export function rfc3339(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** RFC 3339 with microseconds, as metav1.MicroTime serialises (Lease renewTime). */
export function rfc3339Micro(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** Lets pending promise continuations and immediates run (the fake client delivers watch events asynchronously). */
export async function flushAsync(rounds = 10): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}

interface FakeTimer { due: number; seq: number; fn: () => void; cancelled: boolean }

/**
 * A clock that only moves when told. `advance(ms)` fires due timers in order, letting
 * asynchronous work settle between them, so code that reschedules itself behaves as in real time.
 */
export class FakeClock implements Clock {
  private t: number;
  private seq = 0;
  private timers: FakeTimer[] = [];

  constructor(start: number | string = Date.parse('2024-01-01T00:00:00Z')) {
    this.t = typeof start === 'string' ? Date.parse(start) : start;
  }

  now(): number { return this.t; }

  setTimeout(fn: () => void, ms: number): Timer {
    const timer: FakeTimer = { due: this.t + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.timers.push(timer);
    return { cancel: () => { timer.cancelled = true; } };
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.setTimeout(resolve, ms));
  }

  /** Number of timers still waiting (for assertions). */
  pending(): number { return this.timers.filter((t) => !t.cancelled).length; }

  /** Moves time forward by `ms`, firing every timer that falls due, in due order, settling async work after each. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    await flushAsync();
    for (;;) {
      this.timers = this.timers.filter((t) => !t.cancelled);
      const next = this.timers.filter((t) => t.due <= end).sort((a, b) => a.due - b.due || a.seq - b.seq)[0];
      if (!next) break;
      this.timers.splice(this.timers.indexOf(next), 1);
      this.t = Math.max(this.t, next.due);
      next.fn();
      await flushAsync();
    }
    this.t = end;
    await flushAsync();
  }
}
