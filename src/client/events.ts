/**
 * Event recorder: writes core/v1 Events about objects (what `kubectl describe` shows at the
 * bottom), after client-go tools/record. Repeats of the same event about the same object
 * (same reason, message and type) within ten minutes bump `count` and `lastTimestamp` of the
 * existing Event instead of creating a new one. Writes are asynchronous and ordered; errors
 * are swallowed because events are best-effort.
 */
import { isReason } from '../api/errors.js';
import { realClock, rfc3339, type Clock } from '../util/clock.js';
import { EVENTS } from './resources.js';
import type { Client, KObject } from './types.js';

export type EventType = 'Normal' | 'Warning';

/** What controllers use to record events. */
export interface EventRecorder {
  event(obj: KObject, type: EventType, reason: string, message: string): void;
}

/** A core/v1 Event (the fields written here). */
export interface CoreEvent extends KObject {
  involvedObject: { kind?: string; namespace?: string; name?: string; uid?: string; apiVersion?: string; resourceVersion?: string; fieldPath?: string };
  reason: string;
  message: string;
  type: EventType;
  source: { component: string; host?: string };
  firstTimestamp: string;
  lastTimestamp: string;
  count: number;
  reportingComponent?: string;
  reportingInstance?: string;
}

export interface RecorderOptions {
  /** source.component, e.g. "deployment-controller". */
  component: string;
  host?: string;
  clock?: Clock;
  /** Repeats within this window are aggregated (default 10 minutes). */
  aggregateWindowMs?: number;
  /** Also log each event to stderr. */
  log?: (line: string) => void;
}

interface Seen { namespace: string; name: string; count: number; first: string; last: number }

/** Records Events through a Client. */
export class Recorder implements EventRecorder {
  private clock: Clock;
  private seen = new Map<string, Seen>();
  private chain: Promise<void> = Promise.resolve();
  private seq = 0;

  constructor(private client: Client, private opts: RecorderOptions) {
    this.clock = opts.clock ?? realClock;
  }

  /** A recorder writing with another component name but sharing this one's client and clock. */
  forComponent(component: string): Recorder {
    return new Recorder(this.client, { ...this.opts, component });
  }

  event(obj: KObject, type: EventType, reason: string, message: string): void {
    const md = obj.metadata ?? {};
    const involved = {
      kind: obj.kind, namespace: md.namespace, name: md.name, uid: md.uid,
      apiVersion: obj.apiVersion, resourceVersion: md.resourceVersion,
    };
    // Events about cluster-scoped objects live in "default", as upstream.
    const namespace = md.namespace || 'default';
    const key = JSON.stringify([this.opts.component, involved.kind, involved.namespace, involved.name, involved.uid, type, reason, message]);
    const now = this.clock.now();
    this.opts.log?.(`${type} ${reason} ${involved.kind}/${involved.name}: ${message}`);
    this.chain = this.chain.then(() => this.write(key, namespace, involved, type, reason, message, now)).catch(() => {});
  }

  /** Resolves when every event recorded so far has been written. */
  flush(): Promise<void> { return this.chain; }

  private async write(key: string, namespace: string, involved: CoreEvent['involvedObject'], type: EventType, reason: string, message: string, now: number): Promise<void> {
    const window = this.opts.aggregateWindowMs ?? 10 * 60_000;
    const prev = this.seen.get(key);
    const ts = rfc3339(now);
    if (prev && now - prev.last <= window) {
      try {
        await this.client.patch(EVENTS, prev.namespace, prev.name, 'merge', { count: prev.count + 1, lastTimestamp: ts });
        prev.count++;
        prev.last = now;
        return;
      } catch (err) {
        if (!isReason(err, 'NotFound')) throw err;
      }
    }
    // Upstream names events "<object>.<hex nanoseconds>".
    const nanos = BigInt(now) * 1_000_000n + BigInt(this.seq++ % 1_000_000);
    const name = `${involved.name}.${nanos.toString(16)}`;
    const ev: CoreEvent = {
      apiVersion: 'v1', kind: 'Event',
      metadata: { name, namespace },
      involvedObject: involved, reason, message, type,
      source: { component: this.opts.component, ...(this.opts.host ? { host: this.opts.host } : {}) },
      firstTimestamp: ts, lastTimestamp: ts, count: 1,
      reportingComponent: this.opts.component, reportingInstance: this.opts.host ?? '',
    };
    await this.client.create(EVENTS, namespace, ev);
    this.seen.set(key, { namespace, name, count: 1, first: ts, last: now });
    if (this.seen.size > 4096) this.seen.delete(this.seen.keys().next().value as string);
  }
}

/** A recorder that keeps events in memory, for tests: `events` holds "Type Reason message". */
export class FakeRecorder implements EventRecorder {
  readonly events: string[] = [];
  event(obj: KObject, type: EventType, reason: string, message: string): void {
    void obj;
    this.events.push(`${type} ${reason} ${message}`);
  }
}
