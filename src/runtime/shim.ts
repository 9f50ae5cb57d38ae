/**
 * The per-container shim: a small detached process that outlives the agent.
 *
 *   node shim.js <containerDir>
 *
 * It reads `<containerDir>/shim.json`, runs `runc run --keep` in the foreground with the
 * container's stdout/stderr on pipes it owns, writes them to the CRI log file
 * (`<RFC3339Nano> <stream> <F|P> <line>`), and when runc returns records the exit code, the
 * time and whether the kernel OOM-killed the container in `exit.json`. `--keep` leaves the
 * stopped container's cgroup in place so the OOM counter can still be read (runc delete,
 * done by the runtime's removeContainer, frees it).
 *
 * Only node builtins here, and no project imports: this process is started once per
 * container and should stay small.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, renameSync, writeFileSync, writeSync, constants } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';

/** What the runtime tells the shim (`shim.json`). */
export interface ShimConfig {
  runc: string;
  runcRoot: string;
  id: string;
  bundle: string;
  logPath: string;
  pidFile: string;
  runcLog: string;
  tty: boolean;
  /** FIFO to use as the container's stdin, if any. */
  stdinFifo?: string;
  /** Absolute cgroup path (runc cgroupsPath) for the OOM check. */
  cgroupsPath: string;
}

/** What the shim leaves behind (`exit.json`). */
export interface ShimExit {
  exitCode: number;
  finishedAt: string;
  oomKilled: boolean;
  /** Set when runc failed before the process started (bad command, mount error, …). */
  startError?: string;
}

const MAX_LINE = 16 * 1024;

/** RFC3339 with nanoseconds, as the CRI log format and kubectl --timestamps use. */
function makeClock(): () => string {
  const baseNs = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
  return () => {
    const ns = baseNs + process.hrtime.bigint();
    const ms = Number(ns / 1_000_000n);
    const frac = (ns % 1_000_000_000n).toString().padStart(9, '0');
    return new Date(ms).toISOString().slice(0, 19) + '.' + frac + 'Z';
  };
}

function readOomKilled(cgroupsPath: string): boolean {
  const tryRead = (p: string) => {
    try {
      return readFileSync(p, 'utf8');
    } catch {
      return undefined;
    }
  };
  // cgroup v2 (unified): memory.events has oom_kill.
  const v2 = tryRead(join('/sys/fs/cgroup', cgroupsPath, 'memory.events'));
  if (v2 !== undefined) {
    const m = /^oom_kill (\d+)$/m.exec(v2);
    return !!m && m[1] !== '0';
  }
  // cgroup v1: memory.oom_control has oom_kill since Linux 4.13.
  const v1 = tryRead(join('/sys/fs/cgroup/memory', cgroupsPath, 'memory.oom_control'));
  if (v1 !== undefined) {
    const m = /^oom_kill (\d+)$/m.exec(v1);
    if (m) return m[1] !== '0';
  }
  return false;
}

function lastRuncError(runcLog: string): string | undefined {
  try {
    const lines = readFileSync(runcLog, 'utf8').trim().split('\n');
    for (let i = lines.length - 1; i >= 0; i--) {
      try {
        const e = JSON.parse(lines[i]!) as { level?: string; msg?: string };
        if (e.level === 'error' || e.level === 'fatal') return e.msg;
      } catch {
        if (lines[i]) return lines[i];
      }
    }
  } catch {
    /* no log */
  }
  return undefined;
}

function quote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

async function main(dir: string): Promise<void> {
  const cfg = JSON.parse(readFileSync(join(dir, 'shim.json'), 'utf8')) as ShimConfig;
  const logFd = openSync(cfg.logPath, 'a');
  const now = makeClock();
  const writeLog = (stream: string, tag: 'F' | 'P', line: Buffer) => {
    writeSync(logFd, Buffer.concat([Buffer.from(`${now()} ${stream} ${tag} `), line, Buffer.from('\n')]));
  };
  const pump = (src: Readable | null, stream: string) =>
    new Promise<void>((resolve) => {
      if (!src) return resolve();
      let pending = Buffer.alloc(0);
      src.on('data', (chunk: Buffer) => {
        let buf = pending.length ? Buffer.concat([pending, chunk]) : chunk;
        let nl: number;
        while ((nl = buf.indexOf(10)) >= 0) {
          let line = buf.subarray(0, nl);
          if (cfg.tty && line[line.length - 1] === 13) line = line.subarray(0, line.length - 1);
          writeLog(stream, 'F', line);
          buf = buf.subarray(nl + 1);
        }
        while (buf.length > MAX_LINE) {
          writeLog(stream, 'P', buf.subarray(0, MAX_LINE));
          buf = buf.subarray(MAX_LINE);
        }
        pending = Buffer.from(buf);
      });
      src.on('close', () => {
        if (pending.length) writeLog(stream, 'F', pending);
        resolve();
      });
      src.on('error', () => resolve());
    });

  // O_RDWR keeps the FIFO open with no writer attached, so the container never sees a
  // spurious EOF between two `kubectl attach` sessions.
  const stdinFd = cfg.stdinFifo ? openSync(cfg.stdinFifo, constants.O_RDWR) : 'ignore';
  const runcArgs = ['--root', cfg.runcRoot, '--log', cfg.runcLog, '--log-format', 'json', 'run', '--keep', '--bundle', cfg.bundle, '--pid-file', cfg.pidFile, cfg.id];
  // runc needs a terminal on its own stdin for a tty container; `script` provides one.
  const child = cfg.tty
    ? spawn('script', ['-qfec', [cfg.runc, ...runcArgs].map(quote).join(' '), '/dev/null'], { stdio: [cfg.stdinFifo ? stdinFd : 'pipe', 'pipe', 'pipe'] })
    : spawn(cfg.runc, runcArgs, { stdio: [stdinFd, 'pipe', 'pipe'] });
  const exited = new Promise<number>((resolve) => {
    child.on('error', () => resolve(255));
    child.on('exit', (code, signal) => resolve(code ?? 128 + (signal ? osSignal(signal) : 0)));
  });
  const [exitCode] = await Promise.all([exited, pump(child.stdout, 'stdout'), pump(child.stderr, 'stderr')]);
  closeSync(logFd);
  const started = existsSync(cfg.pidFile);
  const result: ShimExit = { exitCode, finishedAt: now(), oomKilled: started && readOomKilled(cfg.cgroupsPath) };
  if (!started) result.startError = lastRuncError(cfg.runcLog) ?? `runc exited with status ${exitCode} before the container started`;
  const tmp = join(dir, 'exit.json.tmp');
  writeFileSync(tmp, JSON.stringify(result));
  renameSync(tmp, join(dir, 'exit.json'));
}

function osSignal(name: NodeJS.Signals): number {
  const table: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15, SIGUSR1: 10, SIGUSR2: 12, SIGPIPE: 13 };
  return table[name] ?? 0;
}

const dir = process.argv[2];
if (dir) {
  main(dir).then(
    () => process.exit(0),
    (e: unknown) => {
      try {
        writeFileSync(join(dir, 'shim.err'), String((e as Error)?.stack ?? e));
      } catch {
        /* nowhere to report */
      }
      process.exit(1);
    },
  );
}
