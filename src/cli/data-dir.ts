/**
 * Which cluster a command means: its data directory from `--data-dir`, `SKIFF_DATA_DIR`, or the
 * skiff context of the current kubeconfig (the `skiff.dev/data-dir` context extension that
 * `skiff up` writes), else the default; and the kubeconfig to talk to it with.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { parse } from 'yaml';
import { DATA_DIR_EXTENSION } from '../apiserver/kubeconfig.js';
import { DEFAULT_DATA_DIR } from './defaults.js';

export interface ResolvedDataDir {
  dir: string;
  /** Where it came from, for the "using …" line. */
  from: string;
  /** Whether the user named it (flag, environment or kubeconfig) rather than the default. */
  explicit: boolean;
}

/** The kubeconfig files kubectl would read: $KUBECONFIG's list, else ~/.kube/config. */
export function kubeconfigPaths(env: NodeJS.ProcessEnv = process.env): string[] {
  const list = (env.KUBECONFIG ?? '').split(delimiter).filter(Boolean);
  return list.length ? list : [join(env.HOME || homedir(), '.kube', 'config')];
}

interface KubeconfigDoc {
  'current-context'?: string;
  contexts?: { name: string; context?: { extensions?: { name: string; extension?: { dataDir?: string } }[] } }[];
}

function readDoc(path: string): KubeconfigDoc | undefined {
  try {
    const doc = parse(readFileSync(path, 'utf8')) as unknown;
    return doc && typeof doc === 'object' && !Array.isArray(doc) ? (doc as KubeconfigDoc) : undefined;
  } catch {
    return undefined;
  }
}

/** The data dir recorded in the current context of the kubeconfig (first file naming a current context wins, as kubectl). */
export function contextDataDir(env: NodeJS.ProcessEnv = process.env): { dir: string; context: string; path: string } | undefined {
  const docs = kubeconfigPaths(env).map((path) => ({ path, doc: readDoc(path) }));
  const current = docs.map((d) => d.doc?.['current-context']).find(Boolean);
  if (!current) return undefined;
  for (const { path, doc } of docs) {
    const ctx = doc?.contexts?.find((c) => c?.name === current);
    if (!ctx) continue;
    const dir = ctx.context?.extensions?.find((e) => e?.name === DATA_DIR_EXTENSION)?.extension?.dataDir;
    return dir ? { dir, context: current, path } : undefined;
  }
  return undefined;
}

/** `--data-dir`, else `SKIFF_DATA_DIR`, else the current kubeconfig context's, else the default. */
export function resolveDataDir(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): ResolvedDataDir {
  if (flag) return { dir: resolve(flag), from: '--data-dir', explicit: true };
  if (env.SKIFF_DATA_DIR) return { dir: resolve(env.SKIFF_DATA_DIR), from: 'SKIFF_DATA_DIR', explicit: true };
  const ctx = contextDataDir(env);
  if (ctx) return { dir: ctx.dir, from: `kubeconfig context "${ctx.context}" in ${ctx.path}`, explicit: true };
  return { dir: DEFAULT_DATA_DIR, from: 'default', explicit: false };
}

/**
 * The kubeconfig for a command: `--kubeconfig`; else the data dir's own when the data dir was
 * named by flag or SKIFF_DATA_DIR; else $KUBECONFIG / ~/.kube/config when it exists; else the
 * default data dir's.
 */
export function resolveKubeconfig(flags: { kubeconfig?: string; dataDir?: string }, env: NodeJS.ProcessEnv = process.env): string {
  if (flags.kubeconfig) return flags.kubeconfig;
  if (flags.dataDir || env.SKIFF_DATA_DIR) return join(resolveDataDir(flags.dataDir, env).dir, 'kubeconfig');
  const paths = kubeconfigPaths(env);
  const first = paths.find((p) => existsSync(p));
  if (first) return first;
  return join(DEFAULT_DATA_DIR, 'kubeconfig');
}

/** Says on stderr which image store a command uses (stdout stays the command's own). */
export function announceStore(d: ResolvedDataDir): void {
  process.stderr.write(`skiff: using the image store in ${d.dir} (${d.from})\n`);
}
