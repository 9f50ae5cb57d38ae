/**
 * RUN steps: the command runs under runc directly (no pod sandbox, no shim) in the step's
 * overlay rootfs, with the stage's env, working dir and user, Docker's default capabilities,
 * and either the host's network or none. The container is foreground (`runc run`), its
 * stdout/stderr are streamed line by line to the progress writer, and it is always deleted.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { buildOciSpec } from '../../runtime/spec.js';
import { resolveInRoot, type ResolvedUser } from './rootfs.js';

export type BuildNetwork = 'host' | 'none';

export interface RunStepOptions {
  /** The mounted rootfs (overlay merged dir). */
  rootfs: string;
  args: string[];
  env: string[];
  cwd: string;
  user: ResolvedUser;
  network: BuildNetwork;
  /** runc --root for build containers. */
  runcRoot: string;
  /** Scratch dir for the bundle. */
  tmpDir: string;
  onOutput?: (line: string, stream: 'stdout' | 'stderr') => void;
}

/** Runs a command to completion in `rootfs`; resolves with its exit code. */
export async function runInRootfs(o: RunStepOptions): Promise<number> {
  const id = `skiff-build-${randomBytes(8).toString('hex')}`;
  const bundle = join(o.tmpDir, id);
  mkdirSync(bundle, { recursive: true });
  mkdirSync(o.runcRoot, { recursive: true });
  // Docker creates the working dir when it is missing (owned by root).
  mkdirSync(resolveInRoot(o.rootfs, o.cwd), { recursive: true });
  const spec = buildOciSpec(
    { name: 'build', image: 'build', rootfsLayers: [], command: o.args, env: o.env, cwd: o.cwd, user: o.user },
    { rootfsPath: o.rootfs, cgroupsPath: `/skiff-build/${id}`, hostname: 'buildkitsandbox' },
  );
  const linux = spec.linux as { namespaces: { type: string; path?: string }[] };
  linux.namespaces.push({ type: 'uts' });
  if (o.network === 'none') linux.namespaces.push({ type: 'network' });
  spec.hostname = 'buildkitsandbox';
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));
  try {
    return await new Promise<number>((resolve, reject) => {
      const child = spawn('runc', ['--root', o.runcRoot, 'run', '--bundle', bundle, id], { stdio: ['ignore', 'pipe', 'pipe'] });
      const lines = (stream: 'stdout' | 'stderr') => {
        let buf = '';
        return (d: Buffer | null) => {
          if (d === null) {
            if (buf) o.onOutput?.(buf, stream);
            buf = '';
            return;
          }
          buf += d.toString('utf8');
          let nl;
          while ((nl = buf.indexOf('\n')) >= 0) {
            o.onOutput?.(buf.slice(0, nl), stream);
            buf = buf.slice(nl + 1);
          }
          if (buf.length > 65536) {
            o.onOutput?.(buf, stream);
            buf = '';
          }
        };
      };
      const out = lines('stdout');
      const err = lines('stderr');
      child.stdout.on('data', out);
      child.stderr.on('data', err);
      child.on('error', (e) => reject(new Error(`cannot start runc (install the runc package): ${e.message}`)));
      child.on('close', (code, signal) => {
        out(null);
        err(null);
        resolve(code ?? (signal ? 128 + 9 : 1));
      });
    });
  } finally {
    await new Promise<void>((resolve) => {
      const c = spawn('runc', ['--root', o.runcRoot, 'delete', '-f', id], { stdio: 'ignore' });
      c.on('close', () => resolve());
      c.on('error', () => resolve());
    });
    await rm(bundle, { recursive: true, force: true });
  }
}
