/**
 * One process to completion in a caller-prepared root filesystem (the {@link ProcessRunner}
 * operation; BuildKit's runc executor): `runc run` in the foreground on a throwaway bundle,
 * with the default capabilities, seccomp profile (RuntimeDefault, as BuildKit) and mounts of a
 * container, its own PID/IPC/mount/UTS namespaces, and the host's network or a private one. The runc container and its bundle
 * are always deleted afterwards.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../../util/exec.js';
import { buildOciSpec } from '../spec.js';
import type { ProcessSpec } from '../types.js';
import type { RuncContext } from './state.js';

/** The OCI spec of a one-shot process; exported for tests. */
export function processOciSpec(p: ProcessSpec, rootfsPath: string, cgroupsPath: string): Record<string, unknown> {
  const spec = buildOciSpec(
    { name: 'process', image: '', rootfsLayers: [], command: p.args, env: p.env, cwd: p.cwd, user: p.user, mounts: p.mounts },
    { rootfsPath, cgroupsPath, hostname: p.hostname },
  );
  const linux = spec.linux as { namespaces: { type: string; path?: string }[] };
  linux.namespaces.push({ type: 'uts' });
  if (p.network === 'none') linux.namespaces.push({ type: 'network' });
  if (p.hostname) spec.hostname = p.hostname;
  return spec;
}

export async function runProcess(ctx: RuncContext, p: ProcessSpec): Promise<{ exitCode: number }> {
  const id = `${ctx.namePrefix}-run-${randomBytes(8).toString('hex')}`;
  const bundle = join(ctx.stateDir, 'processes', id);
  mkdirSync(bundle, { recursive: true });
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(processOciSpec(p, p.rootfs, `/${id}`)));
  try {
    const exitCode = await new Promise<number>((resolve, reject) => {
      const child = spawn(ctx.runc, ['--root', ctx.runcRoot, 'run', '--bundle', bundle, id], { stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.on('data', (d: Buffer) => p.onOutput?.(d, 'stdout'));
      child.stderr.on('data', (d: Buffer) => p.onOutput?.(d, 'stderr'));
      child.on('error', (e) => reject(new Error(`cannot start runc (install the runc package): ${e.message}`)));
      child.on('close', (code, signal) => resolve(code ?? (signal ? 128 + 9 : 1)));
    });
    return { exitCode };
  } finally {
    await run(ctx.runc, ['--root', ctx.runcRoot, 'delete', '-f', id]).catch(() => {});
    await rm(bundle, { recursive: true, force: true });
  }
}
