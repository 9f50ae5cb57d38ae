/**
 * Build progress, BuildKit-style: every step is numbered (`#3`), labelled with its stage
 * position (`[build 2/5] RUN go build …`) and ends with `DONE 0.4s`, `CACHED` or `ERROR`.
 *
 * - plain: every line as it happens, RUN output prefixed with the step number and the
 *   seconds since the step started (what `--progress=plain` prints).
 * - tty: one line per finished step (`#3 [2/5] RUN …  0.4s`), the running step's latest
 *   output line shown in place; a failing step prints its full output.
 * - quiet: nothing (errors still reach the caller).
 */
import type { Writable } from 'node:stream';

export interface BuildProgress {
  /** A step starts; returns its number. */
  start(label: string): number;
  /** Output of a running step. */
  log(step: number, line: string): void;
  /** A step ended. */
  done(step: number, result: { cached?: boolean; error?: string }): void;
  /** A free-form message (warnings, the final image). */
  info(message: string): void;
}

interface StepState {
  label: string;
  started: number;
  lines: string[];
}

export type ProgressMode = 'plain' | 'tty' | 'quiet';

/** Chooses `tty` when `out` is a terminal, else `plain`. */
export function autoMode(out: Writable): ProgressMode {
  return (out as { isTTY?: boolean }).isTTY ? 'tty' : 'plain';
}

/** Makes a progress writer for `mode` on `out` (default stderr, like docker build). */
export function createProgress(mode: ProgressMode, out: Writable = process.stderr): BuildProgress {
  let n = 0;
  const steps = new Map<number, StepState>();
  const secs = (s: StepState) => ((Date.now() - s.started) / 1000).toFixed(1);
  const write = (s: string) => {
    if (mode !== 'quiet') out.write(s);
  };
  let liveLine = false;
  const clearLive = () => {
    if (liveLine) write('\r\x1b[2K');
    liveLine = false;
  };
  return {
    start(label) {
      const id = ++n;
      steps.set(id, { label, started: Date.now(), lines: [] });
      if (mode === 'plain') write(`#${id} ${label}\n`);
      return id;
    },
    log(step, line) {
      const s = steps.get(step);
      if (!s) return;
      if (mode === 'plain') write(`#${step} ${secs(s)} ${line}\n`);
      else if (mode === 'tty') {
        s.lines.push(line);
        if (s.lines.length > 200) s.lines.shift();
        clearLive();
        const cols = (out as { columns?: number }).columns ?? 100;
        write(`#${step} ${secs(s)} ${line}`.slice(0, cols - 1));
        liveLine = true;
      }
    },
    done(step, r) {
      const s = steps.get(step);
      if (!s) return;
      steps.delete(step);
      const status = r.cached ? 'CACHED' : r.error ? `ERROR: ${r.error}` : `DONE ${secs(s)}s`;
      if (mode === 'plain') write(`#${step} ${status}\n\n`);
      else if (mode === 'tty') {
        clearLive();
        if (r.error) for (const l of s.lines) write(`#${step} ${l}\n`);
        write(`#${step} ${s.label}  ${r.cached ? 'CACHED' : r.error ? `ERROR ${secs(s)}s` : `${secs(s)}s`}\n`);
        if (r.error) write(`#${step} ${r.error}\n`);
      }
    },
    info(message) {
      clearLive();
      write(`${message}\n`);
    },
  };
}
