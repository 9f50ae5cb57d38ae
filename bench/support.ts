/** Shared pieces of the benchmarks: a keep-alive HTTPS client for a test cluster, percentiles, RSS. */
import http from 'node:http';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SKIFF_MAIN, startCluster, type TestCluster } from '../test/support/cluster.js';
import { writeBusyboxRootfs } from '../src/image/bootstrap-rootfs.js';
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

  /** `kubeconfig` is a kubeconfig path, or a direct target {server, caPem, token}. */
  constructor(kubeconfig: string | { server: string; caPem: string; token?: string }, maxSockets = 32) {
    const kc = typeof kubeconfig === 'string' ? loadKubeconfig(kubeconfig) : kubeconfig;
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

// ---------------------------------------------------------------------------------------------
// Helpers shared by the control-plane and node benchmarks (added for issues 2–5).


export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Progress on stderr (stdout carries only the JSON line). */
export function log(msg: string): void {
  process.stderr.write(`[bench] ${msg}\n`);
}

/** Integer from env var `name`, else from `--name=value` args, else `def`. */
export function intArg(name: string, def: number): number {
  const a = process.argv.find((x) => x.startsWith(`--${name.toLowerCase()}=`));
  const v = a ? a.split('=')[1] : process.env[name];
  return v !== undefined && v !== '' ? Number(v) : def;
}

/** Polls cond every `everyMs` until truthy or `ms` pass (then throws). */
export async function waitFor<T>(cond: () => T | Promise<T>, ms: number, what: string, everyMs = 50): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await cond();
      if (v) return v;
    } catch (err) {
      if ((err as { fatal?: boolean }).fatal) throw err;
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await sleep(everyMs);
  }
}

/** RSS of every descendant process of `pid` whose command line matches `re` (MB, summed) and their count. */
export function descendantsRss(pid: number, re: RegExp): { count: number; mb: number } {
  const r = spawnSync('ps', ['-e', '-o', 'pid=,ppid=,rss=,args='], { encoding: 'utf8' });
  const rows = r.stdout.split('\n').filter(Boolean).map((l) => {
    const m = /^\s*(\d+)\s+(\d+)\s+(\d+)\s+(.*)$/.exec(l)!;
    return { pid: Number(m[1]), ppid: Number(m[2]), rss: Number(m[3]), args: m[4] };
  });
  const kids = new Map<number, typeof rows>();
  for (const row of rows) kids.set(row.ppid, [...(kids.get(row.ppid) ?? []), row]);
  let count = 0;
  let kb = 0;
  const stack = [pid];
  const seen = new Set<number>();
  while (stack.length) {
    const p = stack.pop()!;
    for (const k of kids.get(p) ?? []) {
      if (seen.has(k.pid)) continue;
      seen.add(k.pid);
      stack.push(k.pid);
      if (re.test(k.args)) { count++; kb += k.rss; }
    }
  }
  return { count, mb: round(kb / 1024) };
}

/** Creates `total` pods (bare, small requests) with `concurrency` clients; returns the first-create time. */
export async function createPods(client: LoadClient, total: number, concurrency: number, manifest: (i: number) => unknown, path = '/api/v1/namespaces/default/pods'): Promise<{ t0: number; failures: number }> {
  const t0 = performance.now();
  let failures = 0;
  await pool(total, concurrency, async (i) => {
    for (let attempt = 0; attempt < 5; attempt++) {
      const r = await client.request('POST', path, manifest(i));
      if (r.status === 201) return;
      if (r.status === 409) return;
      if (attempt === 4) { failures++; if (failures < 3) log(`create ${i} failed: ${r.status} ${r.body.slice(0, 200)}`); }
      await sleep(100);
    }
  });
  return { t0, failures };
}

/** An all-in-one `skiff up` cluster with the busybox fixture imported as busybox:bench. */
export interface UpCluster {
  c: TestCluster;
  name: string;
  client: LoadClient;
  /** Stops skiff (SIGTERM) and resets the node (containers, netns, bridge, nft table); removes the data dir. */
  cleanup(): Promise<void>;
}

export const BENCH_IMAGE = 'busybox:bench';

export async function prepareUpDataDir(): Promise<string> {
  const dataDir = mkdtempSync(join(tmpdir(), 'skiff-bench-'));
  const tarDir = mkdtempSync(join(tmpdir(), 'skiff-bench-tar-'));
  const tar = join(tarDir, 'busybox.tar');
  await writeBusyboxRootfs(tar);
  const r = spawnSync(process.execPath, [SKIFF_MAIN, 'image', 'import', tar, BENCH_IMAGE, '--data-dir', dataDir], { encoding: 'utf8' });
  rmSync(tarDir, { recursive: true, force: true });
  if (r.status !== 0) throw new Error(`image import failed: ${r.stderr}`);
  return dataDir;
}

export function resetNode(dataDir: string): void {
  const r = spawnSync(process.execPath, [SKIFF_MAIN, 'reset', '--data-dir', dataDir], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) log(`reset failed: ${r.stderr}`);
}

/**
 * Starts `skiff up` with a unique name, pod CIDR (10.<octet>.0.0/24) and service CIDR (10.<octet+60>.0.0/16),
 * waits for node Ready and the default ServiceAccount.
 */
export async function startUp(tag: string, octet: number, opts: { dataDir?: string } = {}): Promise<UpCluster> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startUpOnce(tag, octet, opts);
    } catch (err) {
      if (attempt >= 3 || !/node did not start/.test((err as Error).message)) throw err;
      log(`skiff up: the node did not start (attempt ${attempt}); retrying: ${(err as Error).message.split('\n')[0]}`);
    }
  }
}

async function startUpOnce(tag: string, octet: number, opts: { dataDir?: string }): Promise<UpCluster> {
  const dataDir = opts.dataDir ?? (await prepareUpDataDir());
  const name = `b${tag}${Math.random().toString(36).slice(2, 6)}`.slice(0, 12);
  let c: TestCluster;
  try {
    c = await startCluster({
      command: 'up',
      dataDir,
      args: ['--name', name, '--node-name', name, '--pod-cidr', `10.${octet}.0.0/24`, '--service-cidr', `10.${octet + 60}.0.0/16`, '--agent-port', '0'],
    });
  } catch (err) {
    resetNode(dataDir);
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  const client = new LoadClient(c.kubeconfig, 64);
  const cleanup = async () => {
    client.close();
    await c.stop();
    resetNode(dataDir);
    await c.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await waitFor(async () => {
      if (/the node did not start/.test(c.output())) throw Object.assign(new Error('node did not start'), { fatal: true });
      const n = JSON.parse((await client.request('GET', `/api/v1/nodes/${name}`)).body);
      return n.status?.conditions?.some((x: { type: string; status: string }) => x.type === 'Ready' && x.status === 'True');
    }, 30_000, 'node Ready');
    await waitFor(async () => (await client.request('GET', '/api/v1/namespaces/default/serviceaccounts/default')).status === 200, 30_000, 'default ServiceAccount');
  } catch (err) {
    const out = c.output();
    await cleanup();
    const m = /the node did not start: .*/.exec(out);
    if (m) throw new Error(m[0]);
    log(out.slice(-3000));
    throw err;
  }
  return { c, name, client, cleanup };
}

/** Starts a bare `skiff server` process itself (for timing from spawn to the ready line). */
export function spawnServer(dataDir: string, args: string[] = []): { proc: ChildProcess; ready: Promise<{ url: string; wallMs: number; selfMs: number }>; output(): string } {
  const t0 = performance.now();
  const proc = spawn(process.execPath, [SKIFF_MAIN, 'server', '--data-dir', dataDir, '--port', '0', '--registry-port', 'off', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const ready = new Promise<{ url: string; wallMs: number; selfMs: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server not ready in 30 s:\n${out}`)), 30_000);
    const on = (d: Buffer) => {
      out += d;
      const m = /ready at (https:\/\/\S+) in (\d+) ms/.exec(out);
      if (m) { clearTimeout(timer); resolve({ url: m[1], wallMs: performance.now() - t0, selfMs: Number(m[2]) }); }
    };
    proc.stdout!.on('data', on);
    proc.stderr!.on('data', on);
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited ${code}:\n${out}`)); });
  });
  return { proc, ready, output: () => out };
}

export function killAndWait(proc: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
    proc.once('exit', () => resolve());
    proc.kill(signal);
  });
}

/**
 * With --no-controllers nothing creates the default ServiceAccount, and pod admission then waits
 * 1 s per pod for it (src/apiserver/admission/service-account.ts); benches create it up front,
 * as the serviceaccount controller would.
 */
export async function ensureDefaultServiceAccount(client: LoadClient, namespace = 'default'): Promise<void> {
  const r = await client.request('POST', `/api/v1/namespaces/${namespace}/serviceaccounts`, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace } });
  if (r.status !== 201 && r.status !== 409) throw new Error(`creating ServiceAccount default: ${r.status} ${r.body}`);
}

/** Starts `skiff sim` (own process) and waits up to `timeoutMs` for "nodes ready"; returns how long that took. */
export async function startSimProcess(kubeconfig: string, args: string[], timeoutMs = 180_000): Promise<{ proc: ChildProcess; readyMs: number; output(): string; stop(): Promise<void> }> {
  const t0 = performance.now();
  const proc = spawn(process.execPath, [SKIFF_MAIN, 'sim', '--kubeconfig', kubeconfig, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const stop = () => killAndWait(proc);
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`skiff sim not ready in ${timeoutMs} ms:\n${out.slice(-2000)}`)), timeoutMs);
      const on = (d: Buffer) => {
        out += d;
        if (/nodes ready/.test(out)) { clearTimeout(timer); resolve(); }
      };
      proc.stdout!.on('data', on);
      proc.stderr!.on('data', (d) => (out += d));
      proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`skiff sim exited ${code}:\n${out.slice(-2000)}`)); });
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return { proc, readyMs: performance.now() - t0, output: () => out, stop };
}

/** Watches pods in a namespace from `rv` and records when each pod first has spec.nodeName / phase Running. */
export function trackPods(client: LoadClient, rv: string, namespace = 'default'): { bound: Map<string, number>; running: Map<string, number>; close(): void; ready: Promise<void> } {
  const bound = new Map<string, number>();
  const running = new Map<string, number>();
  const w = client.watch(`/api/v1/namespaces/${namespace}/pods?watch=1&allowWatchBookmarks=false&resourceVersion=${rv}`, (line) => {
    const t = performance.now();
    if (!line) return;
    const ev = JSON.parse(line) as { type: string; object: { metadata: { name: string }; spec?: { nodeName?: string }; status?: { phase?: string } } };
    const name = ev.object.metadata?.name;
    if (!name || ev.type === 'DELETED') return;
    if (ev.object.spec?.nodeName && !bound.has(name)) bound.set(name, t);
    if (ev.object.status?.phase === 'Running' && !running.has(name)) running.set(name, t);
  });
  return { bound, running, close: w.close, ready: w.ready };
}

/** An HTTP GET without keep-alive to a plain-HTTP address (pod IP / ClusterIP); resolves the body or rejects. */
export function plainGet(host: string, port: number, path = '/', timeoutMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path, agent: false, timeout: timeoutMs }, (res) => {
      let b = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (b += d));
      res.on('end', () => (res.statusCode === 200 ? resolve(b) : reject(new Error(`HTTP ${res.statusCode}`))));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** A busybox httpd pod serving /www on 8080 (index.html = its hostname, ready.html for the readiness probe). */
export function httpdPod(name: string, labels: Record<string, string>): unknown {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels },
    spec: {
      terminationGracePeriodSeconds: 0,
      containers: [{
        name: 'web',
        image: BENCH_IMAGE,
        command: ['sh', '-c', 'hostname > /www/index.html; echo ok > /www/ready.html; exec httpd -f -p 8080 -h /www'],
        ports: [{ containerPort: 8080 }],
        readinessProbe: { httpGet: { path: '/ready.html', port: 8080 }, periodSeconds: 1, failureThreshold: 1, successThreshold: 1, timeoutSeconds: 1 },
      }],
    },
  };
}

/** Creates pods + a ClusterIP Service (port 80 → 8080) and waits until the pods are Ready; returns IPs. */
export async function httpdService(client: LoadClient, svc: string, pods: string[]): Promise<{ clusterIp: string; podIps: Record<string, string> }> {
  for (const p of pods) {
    const r = await client.request('POST', '/api/v1/namespaces/default/pods', httpdPod(p, { app: svc }));
    if (r.status !== 201) throw new Error(`create pod ${p}: ${r.status} ${r.body.slice(0, 300)}`);
  }
  const s = await client.request('POST', '/api/v1/namespaces/default/services', { apiVersion: 'v1', kind: 'Service', metadata: { name: svc }, spec: { selector: { app: svc }, ports: [{ port: 80, targetPort: 8080 }] } });
  if (s.status !== 201) throw new Error(`create service: ${s.status} ${s.body}`);
  const clusterIp = JSON.parse(s.body).spec.clusterIP as string;
  const podIps: Record<string, string> = {};
  await waitFor(async () => {
    for (const p of pods) {
      const o = JSON.parse((await client.request('GET', `/api/v1/namespaces/default/pods/${p}`)).body);
      if (!o.status?.conditions?.some((x: { type: string; status: string }) => x.type === 'Ready' && x.status === 'True')) return false;
      podIps[p] = o.status.podIP;
    }
    return true;
  }, 60_000, 'httpd pods Ready', 100);
  await waitFor(async () => (await plainGet(clusterIp, 80)).length > 0, 20_000, 'ClusterIP answering', 100);
  return { clusterIp, podIps };
}
