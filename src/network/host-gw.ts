/**
 * host-gw pod networking (flannel's host-gw backend): when nodes share a link, every node
 * reaches another node's pod range through a plain kernel route via that node's InternalIP
 * (`ip route replace 10.42.1.0/24 via 10.251.0.3`). The routes follow the Node objects; the
 * ones programmed are recorded in the data dir so that stop and `skiff reset` remove exactly
 * those, even after a crash.
 */
import type { Node } from 'kubernetes-types/core/v1.js';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { cidrToString, ipToNumber, parseCidr } from '../api/cidr.js';
import { Informer } from '../client/informer.js';
import { NODES } from '../client/resources.js';
import type { Client, KObject } from '../client/types.js';
import { run } from '../util/exec.js';
import type { Clock } from '../util/clock.js';

/** One route: pods of `dst` are behind `via`. */
export interface HostRoute { dst: string; via: string }

/** The file that lists the routes an agent programmed. */
export function hostGwRecordPath(dataDir: string): string {
  return join(dataDir, 'host-gw-routes.json');
}

/**
 * The routes this node needs: one per other node with a pod range and an InternalIP. Nodes
 * whose address is loopback or one of this host's own are skipped — several agents on one host
 * (tests, `skiff up` next to an agent) already reach each other's bridges directly, and a route
 * via ourselves would replace the bridge's own route.
 */
export function desiredHostRoutes(nodes: readonly Node[], self: string, localAddresses: ReadonlySet<string>, ownCidr?: string): HostRoute[] {
  const out: HostRoute[] = [];
  let own: string | undefined;
  try { own = ownCidr ? cidrToString(parseCidr(ownCidr)) : undefined; } catch { own = undefined; }
  for (const n of nodes) {
    if (n.metadata?.name === self || n.metadata?.deletionTimestamp) continue;
    const via = n.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
    const cidrs = n.spec?.podCIDRs?.length ? n.spec.podCIDRs : n.spec?.podCIDR ? [n.spec.podCIDR] : [];
    const viaNum = via === undefined ? undefined : ipToNumber(via);
    if (viaNum === undefined || viaNum >>> 24 === 127 || localAddresses.has(via!)) continue;
    for (const c of cidrs) {
      let dst: string;
      try { dst = cidrToString(parseCidr(c)); } catch { continue; }
      if (dst === own) continue;
      out.push({ dst, via: via! });
    }
  }
  return out.sort((a, b) => a.dst.localeCompare(b.dst));
}

/** What to add (or change) and what to remove to go from `current` to `desired` (routes keyed by destination). */
export function diffHostRoutes(current: readonly HostRoute[], desired: readonly HostRoute[]): { add: HostRoute[]; remove: HostRoute[] } {
  const want = new Map(desired.map((r) => [r.dst, r]));
  const have = new Map(current.map((r) => [r.dst, r]));
  return {
    add: desired.filter((r) => have.get(r.dst)?.via !== r.via),
    remove: current.filter((r) => !want.has(r.dst)),
  };
}

/** This host's IPv4 addresses. */
function localIPv4s(): Set<string> {
  const s = new Set<string>();
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) if (a.family === 'IPv4') s.add(a.address);
  return s;
}

function readRecord(dataDir: string): HostRoute[] {
  try { return JSON.parse(readFileSync(hostGwRecordPath(dataDir), 'utf8')) as HostRoute[]; } catch { return []; }
}

/** Deletes the routes recorded in `dataDir` (stop, `skiff reset`); a route already gone is fine. */
export async function removeRecordedHostRoutes(dataDir: string, log?: (m: string) => void): Promise<void> {
  for (const r of readRecord(dataDir)) {
    const res = await run('ip', ['route', 'del', r.dst, 'via', r.via]);
    if (res.code === 0) log?.(`removed route ${r.dst} via ${r.via}`);
  }
  if (existsSync(hostGwRecordPath(dataDir))) rmSync(hostGwRecordPath(dataDir), { force: true });
}

export interface HostGwOptions {
  client: Client;
  nodeName: string;
  dataDir: string;
  /** This node's own pod range (never routed away). */
  podCidr?: string;
  clock?: Clock;
  log?: (m: string) => void;
  /** How long to wait before retrying a route the kernel refused (default 5 s). */
  retryMs?: number;
}

/** Keeps this host's routes to the other nodes' pod ranges in step with the Node objects. */
export class HostGwRouter {
  private readonly informer: Informer<Node & KObject>;
  private current: HostRoute[];
  private chain: Promise<void> = Promise.resolve();
  private stopped = false;
  private retry?: ReturnType<typeof setTimeout>;

  constructor(private readonly o: HostGwOptions) {
    this.informer = new Informer<Node & KObject>(o.client, NODES, { clock: o.clock });
    // Routes a crashed run left behind are taken over (and removed if their node is gone).
    this.current = readRecord(o.dataDir);
    const kick = () => this.schedule();
    this.informer.addEventHandler({ onAdd: kick, onUpdate: kick, onDelete: kick });
  }

  /** Starts following the nodes; resolves once the first set of routes is programmed. */
  async start(): Promise<void> {
    this.informer.start();
    await this.informer.waitForSync();
    this.schedule();
    await this.chain;
  }

  /** Stops following the nodes and removes every route it programmed. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    this.informer.stop();
    await this.chain;
    await removeRecordedHostRoutes(this.o.dataDir, this.o.log);
    this.current = [];
  }

  /** The routes programmed now. */
  routes(): HostRoute[] { return [...this.current]; }

  private schedule(): void {
    if (this.stopped || !this.informer.hasSynced()) return;
    this.chain = this.chain.then(() => this.sync()).catch((err) => this.o.log?.(`host-gw: ${(err as Error).message}`));
  }

  private async sync(): Promise<void> {
    if (this.stopped) return;
    const desired = desiredHostRoutes(this.informer.list(), this.o.nodeName, localIPv4s(), this.o.podCidr);
    const { add, remove } = diffHostRoutes(this.current, desired);
    let failed = false;
    for (const r of remove) {
      await run('ip', ['route', 'del', r.dst, 'via', r.via]);
      this.current = this.current.filter((x) => x.dst !== r.dst);
      this.o.log?.(`host-gw: removed route ${r.dst} via ${r.via}`);
    }
    for (const r of add) {
      // Recorded before it exists, so a crash in between still leaves reset something to remove.
      this.current = [...this.current.filter((x) => x.dst !== r.dst), r];
      this.record();
      const res = await run('ip', ['route', 'replace', r.dst, 'via', r.via]);
      if (res.code !== 0) {
        failed = true;
        this.current = this.current.filter((x) => x.dst !== r.dst);
        this.o.log?.(`host-gw: route ${r.dst} via ${r.via} refused: ${res.stderr.toString().trim()}; retrying`);
      } else {
        this.o.log?.(`host-gw: route ${r.dst} via ${r.via}`);
      }
    }
    this.record();
    if (failed && !this.stopped) this.retry = setTimeout(() => this.schedule(), this.o.retryMs ?? 5000);
  }

  private record(): void {
    writeFileSync(hostGwRecordPath(this.o.dataDir), JSON.stringify(this.current));
  }
}
