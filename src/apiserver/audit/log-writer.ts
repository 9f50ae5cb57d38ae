/**
 * The audit log file: JSON lines appended asynchronously from a bounded in-memory buffer (a
 * request never waits for the disk; when the disk falls behind by more than the buffer, events
 * are dropped and counted, as upstream's buffered backend does), rotated by size the way
 * lumberjack (kube-apiserver's log writer) rotates: the full file is renamed to
 * NAME-<UTC time>.EXT and at most `maxBackups` such files are kept.
 */
import { mkdirSync, readdirSync, renameSync, unlinkSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';

export interface LogWriterOptions {
  /** Rotate before the file would exceed this many bytes (0: never). */
  maxBytes: number;
  /** Rotated files kept (0: all, as upstream). */
  maxBackups: number;
  /** Lines buffered while the disk catches up (default 10,000). */
  bufferLines?: number;
  log?: (m: string) => void;
}

/** lumberjack's backup name: audit.log → audit-2026-12-03T15-04-05.000.log */
export function backupName(file: string, at: Date): string {
  const ext = extname(file);
  const stem = basename(file, ext);
  const stamp = at.toISOString().replace(/:/g, '-').replace('Z', '');
  return join(dirname(file), `${stem}-${stamp}${ext}`);
}

export class LogWriter {
  private queue: string[] = [];
  private fh?: FileHandle;
  private size = 0;
  private running?: Promise<void>;
  private dropped = 0;
  private closed = false;
  private lastBackupMs = 0;

  constructor(
    readonly file: string,
    private readonly opts: LogWriterOptions,
  ) {
    mkdirSync(dirname(file), { recursive: true });
  }

  /** Queues one line (without its newline); never blocks. */
  write(line: string): void {
    if (this.closed) return;
    if (this.queue.length >= (this.opts.bufferLines ?? 10_000)) {
      if (this.dropped++ === 0) this.opts.log?.(`audit: the log at ${this.file} is falling behind; dropping events`);
      return;
    }
    this.queue.push(`${line}\n`);
    this.running ??= this.drain();
  }

  /** Resolves once everything queued so far is on disk. */
  async flush(): Promise<void> {
    while (this.running) await this.running;
  }

  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    await this.fh?.close();
    this.fh = undefined;
  }

  private async openFile(): Promise<FileHandle> {
    if (!this.fh) {
      this.fh = await open(this.file, 'a', 0o600);
      this.size = (await this.fh.stat()).size;
    }
    return this.fh;
  }

  private async drain(): Promise<void> {
    // Let the request that queued the line finish before touching the disk.
    await new Promise((r) => setImmediate(r));
    while (this.queue.length) {
      const data = this.queue.join('');
      this.queue = [];
      try {
        let fh = await this.openFile();
        const bytes = Buffer.byteLength(data);
        if (this.opts.maxBytes > 0 && this.size > 0 && this.size + bytes > this.opts.maxBytes) {
          await this.rotate();
          fh = await this.openFile();
        }
        await fh.write(data);
        this.size += bytes;
      } catch (err) {
        this.opts.log?.(`audit: writing ${this.file} failed: ${(err as Error).message}`);
      }
    }
    // Same synchronous turn as the empty-queue check: a later write starts a new drain.
    this.running = undefined;
  }

  private async rotate(): Promise<void> {
    await this.fh?.close();
    this.fh = undefined;
    // Two rotations within a millisecond would share a name; keep names unique and ordered.
    const ms = Math.max(Date.now(), this.lastBackupMs + 1);
    this.lastBackupMs = ms;
    renameSync(this.file, backupName(this.file, new Date(ms)));
    if (this.opts.maxBackups > 0) {
      const ext = extname(this.file);
      const stem = basename(this.file, ext);
      const dir = dirname(this.file);
      const backups = readdirSync(dir)
        .filter((n) => n.startsWith(`${stem}-`) && n.endsWith(ext) && /\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}/.test(n))
        .sort();
      for (const old of backups.slice(0, Math.max(0, backups.length - this.opts.maxBackups))) unlinkSync(join(dir, old));
    }
  }
}
