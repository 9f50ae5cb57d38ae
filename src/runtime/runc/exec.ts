/**
 * Exec in running containers (CRI ExecSync and Exec): `runc exec` with a pid file, so a
 * timeout or a kill reaches the exec'd process itself rather than only runc.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ExecOptions, ExecResult, ExecSession } from '../types.js';
import { containerStatus } from './container.js';
import { containerDir, NotFoundError, type RuncContext } from './state.js';

function execArgs(ctx: RuncContext, id: string, opts: ExecOptions, pidFile?: string): string[] {
  const args = ['--root', ctx.runcRoot, 'exec'];
  if (opts.tty) args.push('--tty');
  if (pidFile) args.push('--pid-file', pidFile);
  for (const e of opts.env ?? []) args.push('--env', e);
  if (opts.cwd) args.push('--cwd', opts.cwd);
  args.push(id, ...opts.cmd);
  return args;
}

function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

async function assertRunning(ctx: RuncContext, id: string): Promise<void> {
  const s = await containerStatus(ctx, id);
  if (!s) throw new NotFoundError('container', id);
  if (s.state !== 'running') throw new Error(`container ${s.name} (${id.slice(0, 12)}) is not running (state ${s.state}); cannot exec in it`);
}

function execPidFile(ctx: RuncContext, id: string): string {
  return join(containerDir(ctx, id), `exec-${randomBytes(4).toString('hex')}.pid`);
}

/** Signals the exec'd process named by the pid file; before runc wrote it, sends `fallback` to runc itself. */
function signalExec(pidFile: string, child: ChildProcess, signal: NodeJS.Signals, fallback: NodeJS.Signals): void {
  try {
    const pid = Number(readFileSync(pidFile, 'utf8'));
    if (pid) process.kill(pid, signal);
  } catch {
    child.kill(fallback);
  }
}

export async function execSync(ctx: RuncContext, id: string, cmd: string[], timeoutSeconds = 0): Promise<ExecResult> {
  await assertRunning(ctx, id);
  const pidFile = execPidFile(ctx, id);
  const child = spawn(ctx.runc, execArgs(ctx, id, { cmd }, pidFile), { stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (d: Buffer) => out.push(d));
  child.stderr.on('data', (d: Buffer) => err.push(d));
  let timedOut = false;
  const timer = timeoutSeconds > 0
    ? setTimeout(() => {
        timedOut = true;
        // runc forwards signals to the exec'd process, but SIGKILL can't be forwarded: kill the process itself.
        signalExec(pidFile, child, 'SIGKILL', 'SIGTERM');
      }, timeoutSeconds * 1000)
    : undefined;
  const exitCode = await new Promise<number>((resolve) => {
    child.on('error', () => resolve(255));
    child.on('close', (code, signal) => resolve(code ?? (signal === 'SIGKILL' ? 137 : 255)));
  });
  if (timer) clearTimeout(timer);
  rmSync(pidFile, { force: true });
  return { exitCode, stdout: Buffer.concat(out), stderr: Buffer.concat(err), timedOut };
}

export async function exec(ctx: RuncContext, id: string, opts: ExecOptions): Promise<ExecSession> {
  await assertRunning(ctx, id);
  const pidFile = execPidFile(ctx, id);
  let child: ChildProcess;
  if (opts.tty) {
    // runc wants a terminal on its stdin for --tty; `script` gives it one (see docker-oci-surface.md).
    const line = [ctx.runc, ...execArgs(ctx, id, opts, pidFile)].map(shQuote).join(' ');
    child = spawn('script', ['-qfec', line, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
  } else {
    child = spawn(ctx.runc, execArgs(ctx, id, opts, pidFile), { stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  }
  const exitCode = new Promise<number>((resolve) => {
    child.on('error', () => resolve(255));
    child.on('close', (code, signal) => {
      rmSync(pidFile, { force: true });
      resolve(code ?? (signal === 'SIGKILL' ? 137 : 255));
    });
  });
  child.stdin?.on('error', () => {});
  return {
    stdin: opts.stdin ? child.stdin : null,
    stdout: child.stdout!,
    stderr: opts.tty ? null : child.stderr!,
    exitCode,
    kill: (signal: NodeJS.Signals = 'SIGKILL') => signalExec(pidFile, child, signal, signal),
  };
}
