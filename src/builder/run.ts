/**
 * RUN steps: the command runs through the runtime's {@link ProcessRunner} (no pod sandbox, no
 * shim) in the step's overlay rootfs, with the stage's env, working dir and user, and either
 * the host's network or none, in a UTS namespace named `buildkitsandbox` as BuildKit's. Its
 * stdout/stderr are handed to the progress writer line by line.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { RuncRuntime } from '../runtime/runc.js';
import type { ProcessRunner } from '../runtime/types.js';
import { resolveInRoot, type ResolvedUser } from './rootfs.js';

export type BuildNetwork = 'host' | 'none';

/** The hostname RUN steps see (BuildKit's). */
export const BUILD_HOSTNAME = 'buildkitsandbox';

export interface RunStepOptions {
  /** The mounted rootfs (overlay merged dir). */
  rootfs: string;
  args: string[];
  env: string[];
  cwd: string;
  user: ResolvedUser;
  network: BuildNetwork;
  onOutput?: (line: string, stream: 'stdout' | 'stderr') => void;
}

/**
 * The runner RUN steps use when the caller gives none: runc on the store's data dir, with
 * build containers under their own runc root (`<dataDir>/build-runc`), apart from pods'.
 */
export function defaultBuildRunner(dataDir: string): ProcessRunner {
  return new RuncRuntime({ dataDir, runcRoot: join(dataDir, 'build-runc'), namePrefix: 'skiff-build', runcPath: 'runc' });
}

/**
 * Splits a byte stream into lines for `emit`; a line longer than 64 KiB is passed on in pieces.
 * Call the returned function with `null` at the end to flush a last unterminated line.
 */
export function lineSplitter(emit: (line: string) => void): (chunk: Buffer | null) => void {
  let buf = '';
  return (d) => {
    if (d === null) {
      if (buf) emit(buf);
      buf = '';
      return;
    }
    buf += d.toString('utf8');
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      emit(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
    if (buf.length > 65536) {
      emit(buf);
      buf = '';
    }
  };
}

/** Runs a command to completion in `rootfs`; resolves with its exit code. */
export async function runInRootfs(runner: ProcessRunner, o: RunStepOptions): Promise<number> {
  // Docker creates the working dir when it is missing (owned by root).
  mkdirSync(resolveInRoot(o.rootfs, o.cwd), { recursive: true });
  const out = lineSplitter((l) => o.onOutput?.(l, 'stdout'));
  const err = lineSplitter((l) => o.onOutput?.(l, 'stderr'));
  try {
    const { exitCode } = await runner.runProcess({
      rootfs: o.rootfs, args: o.args, env: o.env, cwd: o.cwd, user: o.user, network: o.network, hostname: BUILD_HOSTNAME,
      onOutput: (chunk, stream) => (stream === 'stdout' ? out : err)(chunk),
    });
    return exitCode;
  } finally {
    out(null);
    err(null);
  }
}
