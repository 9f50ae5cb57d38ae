/**
 * Per-blob transfer progress for push and pull: cli-progress bars on a terminal, otherwise
 * plain lines on each status change (`a1b2c3d4e5f6: Pushing`, `…: Pushed`), like docker's
 * non-TTY output.
 */
import cliProgress from 'cli-progress';
import type { Writable } from 'node:stream';

export interface TransferEvent {
  /** 12-hex short digest of the blob. */
  id: string;
  status: string;
  current?: number;
  total?: number;
}

export interface TransferProgress {
  event(e: TransferEvent): void;
  /** A line that is not about one blob. */
  message(line: string): void;
  stop(): void;
}

/** Short form of a digest for progress lines. */
export function shortId(digest: string): string {
  return digest.replace(/^sha256:/, '').slice(0, 12);
}

function mb(n: number): string {
  return `${(n / 1e6).toFixed(1)}MB`;
}

/** Progress writer for `out` (bars when it is a TTY). `quiet` prints only messages. */
export function createTransferProgress(out: Writable = process.stderr, opts: { quiet?: boolean; tty?: boolean } = {}): TransferProgress {
  const tty = opts.tty ?? !!(out as { isTTY?: boolean }).isTTY;
  if (opts.quiet) return { event() {}, message: (l) => out.write(l + '\n'), stop() {} };
  if (!tty) {
    const last = new Map<string, string>();
    return {
      event(e) {
        if (last.get(e.id) === e.status) return;
        last.set(e.id, e.status);
        out.write(`${e.id}: ${e.status}${e.total && e.status !== 'Pushing' && e.status !== 'Downloading' ? ` ${mb(e.total)}` : ''}\n`);
      },
      message: (l) => out.write(l + '\n'),
      stop() {},
    };
  }
  const multi = new cliProgress.MultiBar(
    { stream: out as NodeJS.WritableStream, hideCursor: true, clearOnComplete: false, format: '{id}: {status} [{bar}] {value_mb}/{total_mb}', barsize: 30, autopadding: true },
    cliProgress.Presets.shades_classic,
  );
  const bars = new Map<string, cliProgress.SingleBar>();
  return {
    event(e) {
      let bar = bars.get(e.id);
      const total = e.total ?? 0;
      const payload = { id: e.id, status: e.status.padEnd(18), value_mb: mb(e.current ?? 0), total_mb: mb(total) };
      if (!bar) {
        bar = multi.create(Math.max(total, 1), e.current ?? 0, payload);
        bars.set(e.id, bar);
      }
      if (total) bar.setTotal(total);
      const done = /complete|Pushed|exists|Mounted/.test(e.status);
      bar.update(done ? Math.max(total, 1) : e.current ?? 0, { ...payload, value_mb: mb(done ? total : e.current ?? 0) });
    },
    message(l) {
      multi.log(l + '\n');
    },
    stop() {
      multi.stop();
    },
  };
}
