/**
 * The probe manager (pkg/kubelet/prober): one worker per running container and probe type.
 * Startup runs first; liveness and readiness only once the container has started. A result
 * flips after successThreshold/failureThreshold consecutive outcomes. Readiness starts false,
 * startup starts "not started"; a liveness or startup failure asks the pod worker to kill the
 * container (which then restarts per its policy).
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { Container, Probe } from 'kubernetes-types/core/v1.js';
import type { Clock, Timer } from '../util/clock.js';
import type { Runtime } from '../runtime/types.js';

export type ProbeType = 'liveness' | 'readiness' | 'startup';

export interface ProbeOutcome {
  ok: boolean;
  output: string;
}

/** Runs one probe attempt against a container. */
export async function runProbe(rt: Runtime, containerId: string, probe: Probe, podIP: string, container: Container): Promise<ProbeOutcome> {
  const timeout = Math.max(1, probe.timeoutSeconds ?? 1);
  if (probe.exec) {
    const r = await rt.execSync(containerId, probe.exec.command ?? [], timeout);
    if (r.timedOut) return { ok: false, output: `command timed out after ${timeout}s` };
    const out = Buffer.concat([r.stdout, r.stderr]).toString().trim();
    return { ok: r.exitCode === 0, output: r.exitCode === 0 ? out : `command ${JSON.stringify((probe.exec.command ?? []).join(' '))} exited with ${r.exitCode}: ${out}` };
  }
  const port = (p: number | string | undefined): number => {
    if (typeof p === 'number') return p;
    if (p && /^\d+$/.test(p)) return Number(p);
    const named = container.ports?.find((x) => x.name === p);
    if (!named) throw new Error(`port ${JSON.stringify(p)} is not a named port of container ${container.name}`);
    return named.containerPort;
  };
  try {
    if (probe.httpGet) {
      const g = probe.httpGet;
      const host = g.host || podIP;
      const mod = g.scheme === 'HTTPS' ? https : http;
      const headers: Record<string, string> = { 'User-Agent': 'kube-probe/1.32', Accept: '*/*' };
      for (const h of g.httpHeaders ?? []) headers[h.name] = h.value;
      const path = g.path ?? '/';
      return await new Promise<ProbeOutcome>((resolve) => {
        const req = mod.request({ host, port: port(g.port), path: path.startsWith('/') ? path : `/${path}`, method: 'GET', headers, timeout: timeout * 1000, rejectUnauthorized: false }, (res) => {
          const code = res.statusCode ?? 0;
          let body = '';
          res.on('data', (d) => { if (body.length < 10240) body += d; });
          res.on('end', () => resolve({ ok: code >= 200 && code < 400, output: code >= 200 && code < 400 ? body : `HTTP probe failed with statuscode: ${code}` }));
          res.on('error', () => resolve({ ok: false, output: 'connection reset' }));
        });
        req.on('timeout', () => req.destroy(new Error(`Get "http://${host}:${port(g.port)}${path}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`)));
        req.on('error', (e) => resolve({ ok: false, output: e.message }));
        req.end();
      });
    }
    if (probe.tcpSocket) {
      const host = probe.tcpSocket.host || podIP;
      const p = port(probe.tcpSocket.port);
      return await new Promise<ProbeOutcome>((resolve) => {
        const s = net.connect({ host, port: p, timeout: timeout * 1000 });
        s.on('connect', () => { s.destroy(); resolve({ ok: true, output: '' }); });
        s.on('timeout', () => { s.destroy(); resolve({ ok: false, output: `dial tcp ${host}:${p}: i/o timeout` }); });
        s.on('error', (e) => resolve({ ok: false, output: `dial tcp ${host}:${p}: ${e.message}` }));
      });
    }
  } catch (e) {
    return { ok: false, output: (e as Error).message };
  }
  // gRPC probes are not implemented; report success rather than kill healthy containers.
  return { ok: true, output: '' };
}

/** Probe state of one container instance. */
export interface ProbeState {
  ready: boolean;
  started: boolean;
}

interface Worker {
  timer?: Timer;
  stopped: boolean;
  successes: number;
  failures: number;
  result?: boolean;
}

export interface ProbeCallbacks {
  /** A readiness/startup result changed: the pod status must be recomputed. */
  onChange(containerId: string): void;
  /** Liveness or startup failed beyond its threshold: kill the container. */
  onFailure(containerId: string, type: ProbeType, output: string): void;
  /** One failed attempt (an Unhealthy event). */
  onUnhealthy(containerId: string, type: ProbeType, output: string): void;
  /** The pod IP the probes target. */
  podIP(containerId: string): string;
}

/** Runs the probes of every container on the node. */
export class ProbeManager {
  private containers = new Map<string, { state: ProbeState; workers: Map<ProbeType, Worker> }>();

  constructor(private readonly rt: Runtime, private readonly clock: Clock, private readonly cb: ProbeCallbacks) {}

  /** Probe state of a container (no probes: ready and started once running). */
  state(containerId: string): ProbeState {
    return this.containers.get(containerId)?.state ?? { ready: true, started: true };
  }

  has(containerId: string): boolean {
    return this.containers.has(containerId);
  }

  /** Starts the probes of a running container instance (idempotent). */
  add(containerId: string, c: Container, startedAtMs: number): void {
    if (this.containers.has(containerId)) return;
    const state: ProbeState = { ready: !c.readinessProbe, started: !c.startupProbe };
    const entry = { state, workers: new Map<ProbeType, Worker>() };
    this.containers.set(containerId, entry);
    const probes: [ProbeType, Probe | undefined][] = [['startup', c.startupProbe], ['liveness', c.livenessProbe], ['readiness', c.readinessProbe]];
    for (const [type, probe] of probes) {
      if (!probe) continue;
      const w: Worker = { stopped: false, successes: 0, failures: 0 };
      entry.workers.set(type, w);
      const delay = Math.max(0, startedAtMs + (probe.initialDelaySeconds ?? 0) * 1000 - this.clock.now());
      w.timer = this.clock.setTimeout(() => void this.tick(containerId, c, type, probe, w), delay);
    }
  }

  /** Stops the probes of a container instance. */
  remove(containerId: string): void {
    const e = this.containers.get(containerId);
    if (!e) return;
    for (const w of e.workers.values()) {
      w.stopped = true;
      w.timer?.cancel();
    }
    this.containers.delete(containerId);
  }

  /** Container ids being probed. */
  ids(): string[] {
    return [...this.containers.keys()];
  }

  stopAll(): void {
    for (const id of this.ids()) this.remove(id);
  }

  private async tick(id: string, c: Container, type: ProbeType, probe: Probe, w: Worker): Promise<void> {
    const entry = this.containers.get(id);
    if (!entry || w.stopped) return;
    const period = Math.max(1, probe.periodSeconds ?? 10) * 1000;
    // Liveness and readiness wait for the startup probe.
    if (type === 'startup' && entry.state.started) return;
    if (type !== 'startup' && !entry.state.started) {
      w.timer = this.clock.setTimeout(() => void this.tick(id, c, type, probe, w), period);
      return;
    }
    let out: ProbeOutcome;
    try {
      out = await runProbe(this.rt, id, probe, this.cb.podIP(id), c);
    } catch (e) {
      out = { ok: false, output: (e as Error).message };
    }
    if (w.stopped) return;
    const successT = type === 'readiness' ? Math.max(1, probe.successThreshold ?? 1) : 1;
    const failureT = Math.max(1, probe.failureThreshold ?? 3);
    if (out.ok) {
      w.successes++;
      w.failures = 0;
    } else {
      w.failures++;
      w.successes = 0;
      this.cb.onUnhealthy(id, type, out.output);
    }
    if (w.successes >= successT && w.result !== true) {
      w.result = true;
      if (type === 'readiness') entry.state.ready = true;
      if (type === 'startup') entry.state.started = true;
      if (type !== 'liveness') this.cb.onChange(id);
    }
    if (w.failures >= failureT && w.result !== false) {
      w.result = false;
      if (type === 'readiness') {
        entry.state.ready = false;
        this.cb.onChange(id);
      } else {
        this.cb.onFailure(id, type, out.output);
        w.failures = 0;
        w.result = undefined;
      }
    }
    if (type === 'startup' && entry.state.started) return;
    if (!w.stopped) w.timer = this.clock.setTimeout(() => void this.tick(id, c, type, probe, w), period);
  }
}
