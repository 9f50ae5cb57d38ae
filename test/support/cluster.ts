/**
 * Starts a real `skiff` process for end-to-end tests (own temp data dir, port chosen by the
 * kernel) and runs the real kubectl against it with an isolated cache and HOME.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The shipped command, dist/bundle/skiff.js, found relative to this compiled file (dist/test/support). */
export const SKIFF_MAIN = fileURLToPath(new URL('../../bundle/skiff.js', import.meta.url));

export interface TestCluster {
  dataDir: string;
  kubeconfig: string;
  url: string;
  port: number;
  proc: ChildProcess;
  /** Everything the process printed so far. */
  output(): string;
  /** Runs kubectl; never throws, returns exit code and output. */
  kubectl(args: string[], opts?: { input?: string; timeoutMs?: number }): { code: number; stdout: string; stderr: string };
  /** Starts a long-running kubectl (logs -f, port-forward, get -w) with the same config; the caller kills it. */
  spawnKubectl(args: string[]): ChildProcess;
  /** Runs kubectl and throws with its stderr when it fails. */
  k(args: string[], opts?: { input?: string; timeoutMs?: number }): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Stops and removes the data dir. */
  destroy(): Promise<void>;
}

export interface StartOptions {
  command?: 'server' | 'up';
  args?: string[];
  dataDir?: string;
  port?: number;
  env?: Record<string, string>;
}

export async function startCluster(opts: StartOptions = {}): Promise<TestCluster> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'skiff-test-'));
  const home = mkdtempSync(join(tmpdir(), 'skiff-home-'));
  // Every test cluster gets its own registry port and LoadBalancer range so several can run at once.
  const lbPool = `127.${10 + Math.floor(Math.random() * 200)}.${Math.floor(Math.random() * 250)}.0/24`;
  const proc = spawn(process.execPath, ['--enable-source-maps', SKIFF_MAIN, opts.command ?? 'server', '--data-dir', dataDir, '--port', String(opts.port ?? 0), '--registry-port', '0', '--lb-pool', lbPool, ...(opts.args ?? [])], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...opts.env },
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`skiff did not get ready in 20 s:\n${out}`)), 20_000);
    const check = () => {
      const m = /ready at (https:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    proc.stdout!.on('data', check);
    proc.stderr!.on('data', check);
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`skiff exited with ${code} before ready:\n${out}`));
    });
  });
  const kubeconfig = join(dataDir, 'kubeconfig');
  const port = Number(new URL(url).port);
  const kubectl = (args: string[], o: { input?: string; timeoutMs?: number } = {}) => {
    const r = spawnSync('kubectl', ['--kubeconfig', kubeconfig, '--cache-dir', join(home, 'cache'), ...args], {
      input: o.input,
      encoding: 'utf8',
      timeout: o.timeoutMs ?? 60_000,
      env: { ...process.env, HOME: home, KUBECONFIG: kubeconfig },
    });
    return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error ? String(r.error) : '') };
  };
  const stop = (signal: NodeJS.Signals = 'SIGTERM') =>
    new Promise<number | null>((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return resolve(proc.exitCode);
      proc.once('exit', (code) => resolve(code));
      proc.kill(signal);
    });
  return {
    dataDir,
    kubeconfig,
    url,
    port,
    proc,
    output: () => out,
    kubectl,
    spawnKubectl: (args) =>
      spawn('kubectl', ['--kubeconfig', kubeconfig, '--cache-dir', join(home, 'cache'), ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, HOME: home, KUBECONFIG: kubeconfig },
      }),
    k(args, o) {
      const r = kubectl(args, o);
      if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}):\n${r.stderr}${r.stdout}`);
      return r.stdout;
    },
    stop,
    async destroy() {
      await stop();
      rmSync(home, { recursive: true, force: true });
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

const manifestDirs: string[] = [];
process.on('exit', () => {
  for (const d of manifestDirs) rmSync(d, { recursive: true, force: true });
});

/** Writes a manifest to a temp file (removed when the test process exits) and returns its path. */
export function manifestFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-manifest-'));
  manifestDirs.push(dir);
  const p = join(dir, 'manifest.yaml');
  writeFileSync(p, text);
  return p;
}

export interface SimProcess {
  proc: ChildProcess;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts `skiff sim` against a cluster; resolves once its nodes are registered. */
export async function startSim(kubeconfig: string, args: string[]): Promise<SimProcess> {
  const proc = spawn(process.execPath, ['--enable-source-maps', SKIFF_MAIN, 'sim', '--kubeconfig', kubeconfig, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`skiff sim did not get ready in 30 s:\n${out}`)), 30_000);
    const check = () => {
      if (/nodes ready/.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    proc.stdout!.on('data', check);
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`skiff sim exited with ${code}:\n${out}`));
    });
  });
  return {
    proc,
    output: () => out,
    stop: (signal: NodeJS.Signals = 'SIGTERM') =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill(signal);
      }),
  };
}

/** Polls `cond` every 100 ms until it returns a truthy value or `ms` pass. */
export async function eventually<T>(cond: () => T | Promise<T>, ms: number, what: string): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await cond();
      if (v) return v;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
