/**
 * Helpers for end-to-end tests of `skiff up` on real runc pods: a busybox image with every
 * applet (nslookup, httpd, wget …) imported into a data dir, unique cluster names / pod
 * CIDRs, `skiff reset` for cleanup, a background `kubectl get -w` recorder.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { busyboxRootfsItems, writeTar, type TarItem } from '../../src/image/bootstrap-rootfs.js';
import { ImageStore } from '../../src/image/store.js';
import { SKIFF_MAIN, eventually, type TestCluster } from './cluster.js';

/** Every applet the host's busybox has (falls back to the fixture's short list). */
function hostApplets(): string[] {
  const r = spawnSync('/bin/busybox', ['--list'], { encoding: 'utf8' });
  return (r.stdout ?? '').split('\n').map((s) => s.trim()).filter((s) => s && s !== 'busybox' && !s.includes('/'));
}

/**
 * Writes a busybox rootfs tar with all applets in /bin and `index` as /www/index.html
 * (so two tags of "the same" image can be told apart over HTTP).
 */
export async function writeFullBusyboxRootfs(path: string, index = 'hello from skiff\n', more: TarItem[] = []): Promise<void> {
  const base = busyboxRootfsItems().filter((i) => i.name !== 'www/index.html');
  const have = new Set(base.map((i) => i.name));
  const extra: TarItem[] = hostApplets()
    .filter((a) => !have.has(`bin/${a}`))
    .map((a) => ({ name: `bin/${a}`, type: 'symlink', linkname: 'busybox' }));
  await writeTar(path, [...base, ...extra, { name: 'www/index.html', content: index }, ...more]);
}

/**
 * Imports busybox images into `dataDir`'s image store: `tags` maps NAME:TAG to the
 * index.html content; `more` adds files (e.g. a static binary) to every one of them.
 */
export async function importBusybox(dataDir: string, tags: Record<string, string>, more: TarItem[] = []): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), 'skiff-rootfs-'));
  try {
    const store = ImageStore.open(dataDir);
    for (const [ref, index] of Object.entries(tags)) {
      const tar = join(tmp, 'rootfs.tar');
      await writeFullBusyboxRootfs(tar, index, more);
      await store.importRootfs(tar, ref, { Cmd: ['sh'] });
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

export interface UpIdentity {
  /** Cluster name (≤ 10 chars, lowercase), also the runc/netns/nft/bridge prefix. */
  name: string;
  nodeName: string;
  podCidr: string;
  /**
   * A /24 service range of its own: every cluster on the default 10.43.0.0/16 would share
   * 10.43.0.1 (kubernetes) and 10.43.0.10 (DNS), and the host's nftables tables of two
   * clusters would both claim them.
   */
  serviceCidr: string;
  /** `skiff up` flags for this identity (add your own after). */
  args: string[];
}

/**
 * A unique identity for one `skiff up`: `tag` (2–3 letters) plus random hex, always the same
 * length so no cluster's prefix is a prefix of another's (reset deletes nft tables by prefix).
 */
export function upIdentity(tag: string): UpIdentity {
  const name = `${tag}${randomBytes(4).toString('hex')}`.slice(0, 10);
  const podCidr = `10.${60 + Math.floor(Math.random() * 190)}.${Math.floor(Math.random() * 256)}.0/24`;
  const nodeName = `node-${name}`;
  let second = 2 + Math.floor(Math.random() * 56);
  if (second === 42 || second === 43) second += 2;
  const serviceCidr = `10.${second}.${Math.floor(Math.random() * 256)}.0/24`;
  return { name, nodeName, podCidr, serviceCidr, args: ['--name', name, '--node-name', nodeName, '--pod-cidr', podCidr, '--service-cidr', serviceCidr, '--agent-port', '0'] };
}

/** `skiff reset --data-dir DIR`: removes containers, netns, bridge, nft tables and mounts. */
export function resetDataDir(dataDir: string): string {
  const r = spawnSync(process.execPath, [SKIFF_MAIN, 'reset', '--data-dir', dataDir], { encoding: 'utf8', timeout: 60_000 });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`;
}

/** Runs the skiff CLI; returns exit code and output. */
export function skiffCli(args: string[], opts: { timeoutMs?: number; env?: Record<string, string> } = {}): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [SKIFF_MAIN, ...args], { encoding: 'utf8', timeout: opts.timeoutMs ?? 120_000, env: { ...process.env, ...opts.env }, maxBuffer: 64 << 20 });
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error ? String(r.error) : '') };
}

/** GET over plain HTTP with a timeout; returns the body or throws. */
export async function httpGet(url: string, timeoutMs = 2000): Promise<string> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  return await res.text();
}

/** Host pid of a runc container of this data dir (its init process), from the runc state. */
export function runcPid(dataDir: string, containerId: string): number | undefined {
  for (const root of [join(dataDir, 'runc'), join(dataDir, 'runtime', 'runc')]) {
    try {
      const st = JSON.parse(readFileSync(join(root, containerId, 'state.json'), 'utf8')) as { init_process_pid?: number };
      if (st.init_process_pid) return st.init_process_pid;
    } catch {
      /* next */
    }
  }
  return undefined;
}

/** Strips the `containerd://`-style scheme of a containerID from pod status. */
export function bareId(containerID: string | undefined): string {
  return (containerID ?? '').replace(/^[a-z]+:\/\//, '');
}

/** A running kubectl whose output lines are recorded with their arrival time. */
export interface KubectlStream {
  proc: ChildProcess;
  lines: { t: number; line: string }[];
  text(): string;
  /** Waits until the output matches `re` (or throws after `ms`). */
  waitFor(re: RegExp, ms: number): Promise<RegExpExecArray>;
  stop(): Promise<void>;
}

/** Spawns `kubectl ARGS` (logs -f, get -w, port-forward) and records stdout+stderr lines. */
export function kubectlStream(c: TestCluster, args: string[]): KubectlStream {
  const proc = c.spawnKubectl(args);
  const lines: { t: number; line: string }[] = [];
  let all = '';
  let partial = '';
  const on = (d: Buffer) => {
    all += d;
    partial += d;
    const parts = partial.split('\n');
    partial = parts.pop()!;
    for (const l of parts) lines.push({ t: Date.now(), line: l });
  };
  proc.stdout!.on('data', on);
  proc.stderr!.on('data', on);
  return {
    proc,
    lines,
    text: () => all,
    waitFor: (re, ms) => eventually(() => re.exec(all) ?? undefined, ms, `kubectl ${args.join(' ')} to print ${re}: got ${JSON.stringify(all.slice(-500))}`) as Promise<RegExpExecArray>,
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
      }),
  };
}

/** `kubectl port-forward TARGET :REMOTE`; resolves with the local port once it forwards. */
export async function portForward(c: TestCluster, target: string, remote: number, ns = 'default'): Promise<{ port: number; stream: KubectlStream }> {
  const stream = kubectlStream(c, ['-n', ns, 'port-forward', target, `:${remote}`]);
  try {
    const m = await stream.waitFor(/Forwarding from 127\.0\.0\.1:(\d+) ->/, 20_000);
    return { port: Number(m[1]), stream };
  } catch (e) {
    await stream.stop();
    throw e;
  }
}

/** Waits until the cluster's node reports Ready. */
export async function waitNodeReady(c: TestCluster, nodeName: string, ms = 30_000): Promise<void> {
  try {
    await eventually(() => {
      const r = c.kubectl(['get', 'node', nodeName, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']);
      return r.code === 0 && r.stdout.trim() === 'True';
    }, ms, `node ${nodeName} Ready`);
  } catch (e) {
    throw new Error(`${(e as Error).message}\nskiff output:\n${c.output().slice(-3000)}`);
  }
}

/** `kubectl get pod NAME -o json`, parsed (undefined when it does not exist). */
export function getPod(c: TestCluster, name: string, ns = 'default'): any {
  const r = c.kubectl(['-n', ns, 'get', 'pod', name, '-o', 'json']);
  if (r.code !== 0) return undefined;
  return JSON.parse(r.stdout);
}

/** Polls a pod until `cond` holds; returns it. */
export function waitPod(c: TestCluster, name: string, cond: (p: any) => boolean, ms: number, what: string, ns = 'default'): Promise<any> {
  return eventually(() => {
    const p = getPod(c, name, ns);
    return p && cond(p) ? p : undefined;
  }, ms, `pod ${name}: ${what}`);
}

/** Pod condition status ('True'/'False'/undefined). */
export function condition(p: any, type: string): string | undefined {
  return p?.status?.conditions?.find((x: any) => x.type === type)?.status;
}

/** `CGO_ENABLED=0 go build` of a stdlib-only main package; resolves with the binary's path. */
export function goBuild(pkgDir: string, out: string, timeoutMs = 150_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('go', ['build', '-trimpath', '-ldflags=-s -w', '-o', out, '.'], {
      cwd: pkgDir,
      env: { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-mod=mod', GOTOOLCHAIN: 'local', GOPROXY: 'off' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stdout!.on('data', (d) => (err += d));
    child.stderr!.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`go build in ${pkgDir} failed (${code}):\n${err}`));
    });
  });
}

/** Runs the skiff CLI without blocking the event loop; resolves with exit code, output and duration. */
export function skiffCliAsync(args: string[], opts: { timeoutMs?: number; env?: Record<string, string>; cwd?: string } = {}): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [SKIFF_MAIN, ...args], { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      stderr += `\n(killed after ${opts.timeoutMs} ms)`;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 300_000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : -1), stdout, stderr, ms: Date.now() - t0 });
    });
  });
}
