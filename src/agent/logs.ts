/**
 * Reading CRI-format container logs (`<RFC3339Nano> <stdout|stderr> <F|P> <text>`) the way
 * the kubelet serves `kubectl logs` (pkg/kubelet/kuberuntime/logs): tailLines, sinceTime,
 * timestamps, limitBytes, and follow (poll the file for growth until the container stops).
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';

export interface LogOptions {
  follow?: boolean;
  tailLines?: number;
  /** Only lines at or after this time (ms epoch). */
  sinceMs?: number;
  timestamps?: boolean;
  limitBytes?: number;
  /** Only this stream (attach uses both; logs uses both). */
  stream?: 'stdout' | 'stderr';
}

export interface LogLine {
  ts: string;
  stream: string;
  full: boolean;
  text: Buffer;
}

/** Parses one CRI log line (without the newline). */
export function parseCriLine(line: Buffer): LogLine | undefined {
  const s1 = line.indexOf(32);
  const s2 = s1 < 0 ? -1 : line.indexOf(32, s1 + 1);
  const s3 = s2 < 0 ? -1 : line.indexOf(32, s2 + 1);
  if (s3 < 0) {
    // `ts stream F` followed by nothing: an empty line.
    if (s2 > 0) return { ts: line.subarray(0, s1).toString(), stream: line.subarray(s1 + 1, s2).toString(), full: line.subarray(s2 + 1).toString() !== 'P', text: Buffer.alloc(0) };
    return undefined;
  }
  return { ts: line.subarray(0, s1).toString(), stream: line.subarray(s1 + 1, s2).toString(), full: line.subarray(s2 + 1, s3).toString() !== 'P', text: line.subarray(s3 + 1) };
}

/** Formats parsed lines as `kubectl logs` prints them. */
export function formatLine(l: LogLine, timestamps: boolean): Buffer {
  const parts: Buffer[] = [];
  if (timestamps) parts.push(Buffer.from(`${l.ts} `));
  parts.push(l.text);
  if (l.full) parts.push(Buffer.from('\n'));
  return Buffer.concat(parts);
}

function splitLines(buf: Buffer): { lines: Buffer[]; rest: Buffer } {
  const lines: Buffer[] = [];
  let start = 0;
  let nl: number;
  while ((nl = buf.indexOf(10, start)) >= 0) {
    lines.push(buf.subarray(start, nl));
    start = nl + 1;
  }
  return { lines, rest: buf.subarray(start) };
}

function readFrom(path: string, offset: number): Buffer {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return Buffer.alloc(0);
  }
  try {
    const size = statSync(path).size;
    if (size <= offset) return Buffer.alloc(0);
    const buf = Buffer.alloc(size - offset);
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, offset + got);
      if (n <= 0) break;
      got += n;
    }
    return buf.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes the log to `write` (returning false from `write` or calling `signal.abort` stops it).
 * With `follow`, keeps polling until `stillRunning()` is false and nothing new arrived.
 */
export async function streamLog(
  path: string,
  opts: LogOptions,
  write: (chunk: Buffer) => boolean | void,
  stillRunning: () => Promise<boolean>,
  signal: { aborted: boolean },
  pollMs = 200,
): Promise<void> {
  let budget = opts.limitBytes && opts.limitBytes > 0 ? opts.limitBytes : Infinity;
  const emit = (lines: Buffer[]): boolean => {
    for (const raw of lines) {
      const l = parseCriLine(raw);
      if (!l) continue;
      if (opts.stream && l.stream !== opts.stream) continue;
      if (opts.sinceMs !== undefined && Date.parse(l.ts) < opts.sinceMs) continue;
      let out = formatLine(l, !!opts.timestamps);
      if (out.length > budget) out = out.subarray(0, budget);
      budget -= out.length;
      if (out.length) write(out);
      if (budget <= 0) return false;
    }
    return true;
  };
  const first = readFrom(path, 0);
  let offset = first.length;
  let { lines, rest } = splitLines(first);
  offset -= rest.length;
  if (opts.tailLines !== undefined && opts.tailLines >= 0) {
    // tailLines counts whole lines: a run of partial (P) chunks belongs to the F line ending it.
    let count = 0;
    let i = lines.length;
    while (i > 0 && count < opts.tailLines) {
      i--;
      const l = parseCriLine(lines[i]!);
      if (l?.full) count++;
      if (count === opts.tailLines) {
        while (i > 0 && parseCriLine(lines[i - 1]!)?.full === false) i--;
        break;
      }
    }
    if (opts.tailLines === 0) i = lines.length;
    lines = lines.slice(i);
  }
  if (!emit(lines) || !opts.follow) return;
  for (;;) {
    if (signal.aborted) return;
    const more = readFrom(path, offset);
    if (more.length) {
      const s = splitLines(more);
      offset += more.length - s.rest.length;
      if (!emit(s.lines)) return;
      continue;
    }
    if (!(await stillRunning())) {
      // Drain what the shim wrote after the exit.
      const last = readFrom(path, offset);
      emit(splitLines(last).lines);
      return;
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
