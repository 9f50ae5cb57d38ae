/**
 * Per-key exponential back-off, after client-go util/flowcontrol.Backoff as the kubelet uses it
 * for crash-looping containers and failing image pulls: the first failure is retried at once
 * (recording the initial delay), each later one waits the recorded delay counted from when the
 * container finished, then doubles it up to the maximum. An entry untouched for twice the
 * maximum (10 minutes with the defaults: the container ran that long) starts over.
 */
import type { Clock } from '../util/clock.js';

interface Entry {
  delayMs: number;
  lastUpdate: number;
}

export class Backoff {
  private entries = new Map<string, Entry>();

  constructor(
    private readonly clock: Clock,
    readonly initialMs = 10_000,
    readonly maxMs = 300_000,
  ) {}

  private expired(e: Entry, now: number): boolean {
    return now - e.lastUpdate > 2 * this.maxMs;
  }

  /** The current delay of `key` (0 when it has none). */
  get(key: string): number {
    const e = this.entries.get(key);
    return e && !this.expired(e, this.clock.now()) ? e.delayMs : 0;
  }

  /** True while `key` must still wait after an event (a container exit) at `eventTime`. */
  isInBackOffSince(key: string, eventTime: number): boolean {
    const e = this.entries.get(key);
    const now = this.clock.now();
    if (!e || this.expired(e, now)) return false;
    return now - eventTime < e.delayMs;
  }

  /** When the wait after `eventTime` ends (ms epoch), or undefined if there is none. */
  retryAt(key: string, eventTime: number): number | undefined {
    const e = this.entries.get(key);
    if (!e || this.expired(e, this.clock.now())) return undefined;
    return eventTime + e.delayMs;
  }

  /** Records a retry: starts at the initial delay, else doubles up to the maximum. */
  next(key: string): void {
    const now = this.clock.now();
    const e = this.entries.get(key);
    if (!e || this.expired(e, now)) this.entries.set(key, { delayMs: this.initialMs, lastUpdate: now });
    else this.entries.set(key, { delayMs: Math.min(e.delayMs * 2, this.maxMs), lastUpdate: now });
  }

  /** Forgets every key starting with `prefix` (a pod's containers when the pod goes away). */
  forgetPrefix(prefix: string): void {
    for (const k of [...this.entries.keys()]) if (k.startsWith(prefix)) this.entries.delete(k);
  }
}

/** "10s", "1m20s", "5m0s": Go's time.Duration formatting for whole seconds, as in kubelet messages. */
export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${s % 60}s`;
  return `${Math.floor(m / 60)}h${m % 60}m${s % 60}s`;
}
