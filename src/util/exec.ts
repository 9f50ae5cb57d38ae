/**
 * The one way skiff runs a host program (runc, CNI plugins, nft, ip, mount, tar, …) to completion.
 * Long-lived children (container shims, etcd, registries) are spawned where they are owned; this is
 * for commands whose output or exit code is the answer.
 */
import { spawn, spawnSync } from 'node:child_process';

/** What a finished command left behind. */
export interface CommandResult {
  /** The exit code; 1 when the command was killed by a signal or could not start. */
  code: number;
  stdout: Buffer;
  stderr: Buffer;
}

export interface CommandOptions {
  cwd?: string;
  /** Written to the command's stdin, which is closed afterwards; without it stdin is /dev/null. */
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
}

/** Raised by {@link runOrThrow}: the command line, its exit code and what it wrote to stderr. */
export class CommandError extends Error {
  constructor(readonly command: string, readonly args: readonly string[], readonly result: CommandResult) {
    super(`${command} ${args.join(' ')} failed (exit ${result.code}): ${result.stderr.toString().trim() || '(no message)'}`);
    this.name = 'CommandError';
  }
}

/**
 * Runs `command` and resolves with its exit code and output, whatever the code. Rejects only when
 * the program cannot be started at all (ENOENT, EACCES), so a missing tool is never mistaken for a
 * failed one.
 */
export function run(command: string, args: readonly string[], options: CommandOptions = {}): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: [options.input !== undefined ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (d: Buffer) => out.push(d));
    child.stderr!.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout: Buffer.concat(out), stderr: Buffer.concat(err) }));
    if (options.input !== undefined) {
      // A command that exits without reading all of its input makes the write fail with EPIPE;
      // its exit code and stderr say what happened, so the write error itself is not the news.
      child.stdin!.on('error', () => {});
      child.stdin!.end(options.input);
    }
  });
}

/** Runs `command` and resolves with its stdout as text; rejects with a {@link CommandError} on a non-zero exit. */
export async function runOrThrow(command: string, args: readonly string[], options: CommandOptions = {}): Promise<string> {
  const result = await run(command, args, options);
  if (result.code !== 0) throw new CommandError(command, args, result);
  return result.stdout.toString();
}

/**
 * The synchronous form of {@link run}, for the few places that cannot wait (start-up probes of the
 * host, `skiff reset`). A program that cannot start yields code 127 and the reason on stderr.
 */
export function runSync(command: string, args: readonly string[], options: CommandOptions = {}): CommandResult {
  const r = spawnSync(command, args, { cwd: options.cwd, env: options.env, input: options.input, stdio: [options.input !== undefined ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  if (r.error) return { code: 127, stdout: Buffer.alloc(0), stderr: Buffer.from(r.error.message) };
  return { code: r.status ?? 1, stdout: r.stdout ?? Buffer.alloc(0), stderr: r.stderr ?? Buffer.alloc(0) };
}
