/**
 * The life of an all-in-one cluster across runs of `skiff up`: its settings remembered in
 * DATA_DIR/config.json (so `skiff up` with no flags brings the same cluster back), what the
 * running process is and where it serves in DATA_DIR/run.json (for `skiff status` and
 * `skiff down`), stopping the pods' containers when it stops (state stays), and the next steps
 * it prints.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';

export const CONFIG_FILE = 'config.json';
export const RUN_FILE = 'run.json';

/** What a running `skiff up` / `skiff server` writes about itself. */
export interface RunInfo {
  pid: number;
  command: 'up' | 'server';
  apiUrl: string;
  kubeconfig: string;
  contextName: string;
  startedAt: string;
  registry?: string;
  nodeName?: string;
}

function writeJson(path: string, value: unknown): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, path);
}

function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** Options not worth remembering: where the data dir is (it is where the file is). */
const NOT_SAVED = new Set(['dataDir']);

/**
 * Fills every option the user did not give on this command line from the settings saved by the
 * last `skiff up` in `dataDir`; returns the names it restored.
 */
export function restoreSettings(cmd: Command, flags: Record<string, unknown>, dataDir: string): string[] {
  const saved = readJson<{ settings?: Record<string, unknown> }>(join(dataDir, CONFIG_FILE))?.settings;
  if (!saved) return [];
  const restored: string[] = [];
  for (const [key, value] of Object.entries(saved)) {
    if (NOT_SAVED.has(key)) continue;
    const source = cmd.getOptionValueSource(key);
    if (source === 'cli' || source === 'env') continue;
    if (JSON.stringify(flags[key]) === JSON.stringify(value)) continue;
    flags[key] = value;
    restored.push(key);
  }
  return restored;
}

/** Remembers this run's settings for the next `skiff up` in the same data dir. */
export function saveSettings(flags: Record<string, unknown>, dataDir: string): void {
  const settings: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(flags)) if (!NOT_SAVED.has(k) && v !== undefined) settings[k] = v;
  writeJson(join(dataDir, CONFIG_FILE), { apiVersion: 'skiff.dev/v1', kind: 'ClusterSettings', settings });
}

export function writeRunInfo(dataDir: string, info: RunInfo): void {
  writeJson(join(dataDir, RUN_FILE), info);
}

export function removeRunInfo(dataDir: string): void {
  const info = readRunInfo(dataDir);
  if (!info || info.pid === process.pid) rmSync(join(dataDir, RUN_FILE), { force: true });
}

export function readRunInfo(dataDir: string): RunInfo | undefined {
  return readJson<RunInfo>(join(dataDir, RUN_FILE));
}

/** Whether a process with this pid runs (signal 0 probes without signalling); an exited one its parent has not reaped yet does not. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

/** The running skiff of `dataDir`, if its run file names a live process. */
export function runningCluster(dataDir: string): RunInfo | undefined {
  const info = readRunInfo(dataDir);
  return info && processAlive(info.pid) ? info : undefined;
}

/**
 * Stops every pod sandbox of the node in `dataDir` (its containers get SIGTERM, then SIGKILL
 * after `timeoutSeconds`; their network is released) and leaves all state: the next agent on
 * this data dir starts them again. Returns how many sandboxes were running.
 */
export async function stopPodContainers(dataDir: string, log: (m: string) => void, timeoutSeconds = 5): Promise<number> {
  if (!existsSync(join(dataDir, 'runtime'))) return 0;
  const [{ readIdentity }, { RuncRuntime }, { CniNetwork }] = await Promise.all([import('../agent/reset.js'), import('../runtime/runc.js'), import('../network/cni.js')]);
  const idn = readIdentity(dataDir);
  if (!idn) return 0;
  const cni = new CniNetwork({ name: idn.network, bridge: idn.bridge, subnet: idn.podCidr, dataDir: join(dataDir, 'cni') });
  const rt = new RuncRuntime({ dataDir, cni, namePrefix: idn.namePrefix });
  const ready = (await rt.listPodSandboxes()).filter((s) => s.state === 'ready');
  await Promise.all(ready.map((s) => rt.stopPodSandbox(s.id, timeoutSeconds).catch((e) => log(`sandbox ${s.id.slice(0, 12)}: ${(e as Error).message}`))));
  return ready.length;
}

/** Where the Docker-compatible socket lives when the cluster serves one. */
export function dockerSocketPath(dataDir: string): string {
  return join(dataDir, 'docker.sock');
}

/** The dashboard's address on the API server. */
export function dashboardUrl(apiUrl: string): string {
  return `${apiUrl.replace(/\/$/, '')}/ui/`;
}

/** What `skiff up` prints once the cluster runs: how to reach it with kubectl, docker and a browser. */
export function nextSteps(o: { dataDir: string; apiUrl: string; kubeconfig: string; contextName: string; mergedInto?: string; defaultDataDir: boolean }): string[] {
  const dd = o.defaultDataDir ? '' : ` --data-dir ${o.dataDir}`;
  const lines = ['', 'Next steps:'];
  if (o.mergedInto) lines.push(`  kubectl get nodes                      # context "${o.contextName}" is current in ${o.mergedInto}`);
  else lines.push(`  export KUBECONFIG=${o.kubeconfig}`, '  kubectl get nodes');
  const sock = dockerSocketPath(o.dataDir);
  lines.push(`  export DOCKER_HOST=unix://${sock}${existsSync(sock) ? '' : '   # not served now: the Docker API runs with the node'}`);
  lines.push(`  skiff images${dd}                          # this cluster's image store (also found from the kubeconfig context)`);
  lines.push(`  Dashboard: ${dashboardUrl(o.apiUrl)}`);
  lines.push(`    sign in with the admin token: cat ${join(o.dataDir, 'pki', 'admin-token')} (or the kubeconfig's token),`);
  lines.push('    or a ServiceAccount\'s: kubectl create token NAME -n NAMESPACE');
  lines.push(`  skiff status${dd}  ·  skiff why pod/NAME  ·  skiff down${dd}`);
  return lines;
}

/**
 * Before `skiff up` starts: the data dir from SKIFF_DATA_DIR when no --data-dir is given (made
 * absolute), the settings of the last run for every flag not given now, and a refusal when a
 * cluster already runs on this data dir. Saves the settings used.
 */
export function prepareUp(cmd: Command, flags: { dataDir: string } & Record<string, unknown>, log: (m: string) => void = (m) => console.log(m)): void {
  if (cmd.getOptionValueSource('dataDir') === 'default' && process.env.SKIFF_DATA_DIR) flags.dataDir = process.env.SKIFF_DATA_DIR;
  flags.dataDir = resolve(flags.dataDir);
  const running = runningCluster(flags.dataDir);
  if (running && running.pid !== process.pid) {
    throw new Error(`a cluster already runs on ${flags.dataDir} (pid ${running.pid}, ${running.apiUrl}); stop it first with \`skiff down --data-dir ${flags.dataDir}\``);
  }
  const restored = restoreSettings(cmd, flags, flags.dataDir);
  if (restored.length) {
    const flag = (k: string) => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    const shown = restored.map((k) => (typeof flags[k] === 'boolean' ? `--${flags[k] ? '' : 'no-'}${flag(k)}` : `--${flag(k)} ${String(flags[k])}`));
    log(`skiff: same settings as the last run (${join(flags.dataDir, CONFIG_FILE)}): ${shown.join(' ')}`);
  }
  mkdirSync(flags.dataDir, { recursive: true, mode: 0o700 });
  saveSettings(flags, flags.dataDir);
}
