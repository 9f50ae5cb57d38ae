/** Shared pieces of the benchmarks: a keep-alive HTTPS client for a test cluster, percentiles, RSS. */
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { loadKubeconfig } from '../src/client/rest.js';

export interface HttpResult {
  status: number;
  body: string;
}

/** A minimal keep-alive client for load generation (no retries, raw bodies). */
export class LoadClient {
  private readonly agent: https.Agent;
  private readonly host: string;
  private readonly port: number;
  private readonly token: string;

  constructor(kubeconfig: string, maxSockets = 32) {
    const kc = loadKubeconfig(kubeconfig);
    const u = new URL(kc.server);
    this.host = u.hostname;
    this.port = Number(u.port);
    this.token = kc.token ?? '';
    this.agent = new https.Agent({ keepAlive: true, maxSockets, ca: kc.caPem });
  }

  request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<HttpResult> {
    const data = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = https.request(
        {
          host: this.host,
          port: this.port,
          method,
          path,
          agent: this.agent,
          headers: {
            authorization: `Bearer ${this.token}`,
            accept: 'application/json',
            ...(data !== undefined ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } : {}),
            ...headers,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(data);
    });
  }

  /** Opens a watch and calls onLine for each event line; returns a closer. */
  watch(path: string, onLine: (line: string) => void): { close(): void; ready: Promise<void> } {
    let buf = '';
    let resolveReady!: () => void;
    const ready = new Promise<void>((r) => (resolveReady = r));
    const req = https.request(
      { host: this.host, port: this.port, method: 'GET', path, agent: this.agent, headers: { authorization: `Bearer ${this.token}` } },
      (res) => {
        resolveReady();
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          buf += c;
          let i: number;
          while ((i = buf.indexOf('\n')) >= 0) {
            onLine(buf.slice(0, i));
            buf = buf.slice(i + 1);
          }
        });
        res.on('error', () => {});
      },
    );
    req.on('error', () => {});
    req.end();
    return { close: () => req.destroy(), ready };
  }

  close(): void {
    this.agent.destroy();
  }
}

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  const i = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, i)];
}

export function round(n: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** Resident set size of a process in MB, from /proc. */
export function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? round(Number(m[1]) / 1024) : NaN;
}

/** A small pod manifest like those kubectl run makes. */
export function podManifest(name: string, namespace = 'default'): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels: { app: 'bench', shard: String(name.length % 7) } },
    spec: { containers: [{ name: 'main', image: 'busybox:1.36', command: ['sleep', '3600'], resources: { requests: { cpu: '10m', memory: '16Mi' } } }] },
  };
}

/** Runs `fn` for i in [0, total) with at most `concurrency` in flight. */
export async function pool(total: number, concurrency: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) await fn(next++);
    }),
  );
}
