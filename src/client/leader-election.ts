/**
 * Leader election on a coordination.k8s.io/v1 Lease, after client-go tools/leaderelection:
 * candidates try to acquire the lease every retryPeriod; the holder renews it every
 * retryPeriod and gives up leadership when it could not renew for renewDeadline. A lease is
 * taken over only when its record has not changed for leaseDuration as observed on *our*
 * clock (never comparing our clock with the holder's timestamps), as upstream.
 */
import { isReason } from '../api/errors.js';
import { realClock, rfc3339Micro, type Clock } from '../util/clock.js';
import { LEASES } from './resources.js';
import type { Client, KObject } from './types.js';

/** A coordination.k8s.io/v1 Lease (the fields leader election uses). */
export interface Lease extends KObject {
  spec?: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

export interface LeaderElectionConfig {
  client: Client;
  /** Lease name, e.g. "kube-controller-manager". */
  name: string;
  namespace?: string;
  /** This candidate's identity (hostname_uuid upstream). */
  identity: string;
  clock?: Clock;
  leaseDurationSeconds?: number;
  renewDeadlineSeconds?: number;
  retryPeriodSeconds?: number;
  /** Clear the holder when stopped so another candidate takes over at once (default true). */
  releaseOnCancel?: boolean;
  /** Extra random wait on each acquire attempt, as a fraction of retryPeriod (client-go: 1.2). */
  jitterFactor?: number;
  random?: () => number;
  onStartedLeading(): void;
  onStoppedLeading(): void;
  onNewLeader?(identity: string): void;
}

/** One candidate in a leader election. */
export class LeaderElector {
  private cfg: Required<Omit<LeaderElectionConfig, 'onNewLeader'>> & Pick<LeaderElectionConfig, 'onNewLeader'>;
  private observedRecord = '';
  private observedHolder = '';
  private observedTime = 0;
  private observedLease?: Lease;
  private leading = false;
  private stopped = false;
  private wake?: () => void;

  constructor(cfg: LeaderElectionConfig) {
    this.cfg = {
      namespace: 'kube-system', clock: realClock, leaseDurationSeconds: 15, renewDeadlineSeconds: 10,
      retryPeriodSeconds: 2, releaseOnCancel: true, jitterFactor: 1.2, random: Math.random,
      // Fields given as undefined keep their defaults.
      ...Object.fromEntries(Object.entries(cfg).filter(([, v]) => v !== undefined)) as LeaderElectionConfig,
    };
    if (this.cfg.leaseDurationSeconds <= this.cfg.renewDeadlineSeconds) throw new Error('leaseDuration must be greater than renewDeadline');
  }

  isLeader(): boolean { return this.leading; }

  /** The identity of the current holder as last observed. */
  getLeader(): string { return this.observedHolder; }

  /**
   * Campaigns until elected, leads while the lease can be renewed, and resolves when
   * leadership is lost or stop() is called. onStoppedLeading runs in both cases if we led.
   */
  async run(): Promise<void> {
    const retry = this.cfg.retryPeriodSeconds * 1000;
    // Acquire.
    while (!this.stopped) {
      if (await this.tryAcquireOrRenew()) break;
      await this.sleep(retry + this.cfg.random() * this.cfg.jitterFactor * retry);
    }
    if (this.stopped) return;
    this.leading = true;
    this.cfg.onStartedLeading();
    // Renew.
    let lastRenew = this.cfg.clock.now();
    while (!this.stopped) {
      await this.sleep(retry);
      if (this.stopped) break;
      if (await this.tryAcquireOrRenew()) { lastRenew = this.cfg.clock.now(); continue; }
      if (this.cfg.clock.now() - lastRenew >= this.cfg.renewDeadlineSeconds * 1000) break;
    }
    this.leading = false;
    if (this.stopped && this.cfg.releaseOnCancel) await this.release();
    this.cfg.onStoppedLeading();
  }

  /** Stops campaigning or leading; run() then resolves. */
  stop(): void {
    this.stopped = true;
    this.wake?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = this.cfg.clock.setTimeout(() => { this.wake = undefined; resolve(); }, ms);
      this.wake = () => { t.cancel(); resolve(); };
    });
  }

  private record(lease: Lease | undefined): string {
    const s = lease?.spec ?? {};
    return JSON.stringify([s.holderIdentity ?? '', s.renewTime ?? '', s.acquireTime ?? '', s.leaseTransitions ?? 0, s.leaseDurationSeconds ?? 0]);
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { client, name, namespace, identity, clock } = this.cfg;
    const now = clock.now();
    const mine = (prev?: Lease['spec']): NonNullable<Lease['spec']> => ({
      holderIdentity: identity,
      leaseDurationSeconds: this.cfg.leaseDurationSeconds,
      acquireTime: prev?.holderIdentity === identity && prev.acquireTime ? prev.acquireTime : rfc3339Micro(now),
      renewTime: rfc3339Micro(now),
      leaseTransitions: prev ? (prev.holderIdentity === identity ? prev.leaseTransitions ?? 0 : (prev.leaseTransitions ?? 0) + 1) : 0,
    });
    let lease: Lease;
    try {
      lease = await client.get<Lease>(LEASES, namespace, name);
    } catch (err) {
      if (!isReason(err, 'NotFound')) return false;
      try {
        const created = await client.create<Lease>(LEASES, namespace, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace }, spec: mine() });
        this.observe(created, clock.now());
        return true;
      } catch {
        return false;
      }
    }
    const rec = this.record(lease);
    if (rec !== this.observedRecord) this.observe(lease, now);
    const holder = lease.spec?.holderIdentity ?? '';
    const duration = (lease.spec?.leaseDurationSeconds ?? this.cfg.leaseDurationSeconds) * 1000;
    if (holder && holder !== identity && this.observedTime + duration > now) return false;
    try {
      const updated = await client.update<Lease>(LEASES, namespace, { ...lease, spec: mine(holder ? lease.spec : { ...lease.spec, holderIdentity: '' }) });
      this.observe(updated, clock.now());
      return true;
    } catch {
      // Conflict: somebody else wrote the lease first.
      return false;
    }
  }

  private observe(lease: Lease, at: number): void {
    const holder = lease.spec?.holderIdentity ?? '';
    this.observedRecord = this.record(lease);
    this.observedTime = at;
    this.observedLease = lease;
    if (holder !== this.observedHolder) {
      this.observedHolder = holder;
      if (holder) this.cfg.onNewLeader?.(holder);
    }
  }

  /** Gives the lease up so the next candidate need not wait for it to expire. */
  private async release(): Promise<void> {
    const l = this.observedLease;
    if (!l || l.spec?.holderIdentity !== this.cfg.identity) return;
    try {
      const now = rfc3339Micro(this.cfg.clock.now());
      await this.cfg.client.update<Lease>(LEASES, this.cfg.namespace, {
        ...l, spec: { ...l.spec, holderIdentity: '', leaseDurationSeconds: 1, acquireTime: now, renewTime: now },
      });
    } catch { /* best effort, as upstream */ }
  }
}
