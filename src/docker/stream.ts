/**
 * The byte formats of Docker's streams: the hijacked-connection handshake, the 8-byte
 * multiplexed frame of non-tty attach/exec/logs, and the JSON-lines progress stream of
 * pull, push, build and load.
 */
import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { DockerError } from './errors.js';

/** Stream numbers of the multiplexed format. */
export const STDIN = 0;
export const STDOUT = 1;
export const STDERR = 2;
export const SYSTEMERR = 3;

/** One multiplexed frame: `[stream,0,0,0, uint32 BE length]` + payload. */
export function muxFrame(stream: number, payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}

/**
 * Answers an Upgrade request with dockerd's `101 UPGRADED`, after which the socket carries
 * raw bytes (tty) or multiplexed frames both ways.
 */
export function acceptHijack(socket: Duplex, tty: boolean, apiVersion: string): void {
  const contentType = tty ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream';
  socket.write(
    'HTTP/1.1 101 UPGRADED\r\n' +
      `Content-Type: ${contentType}\r\n` +
      'Connection: Upgrade\r\n' +
      'Upgrade: tcp\r\n' +
      `Api-Version: ${apiVersion}\r\n` +
      '\r\n',
  );
}

/** A progress message as the CLI and docker-py read it. */
export interface ProgressMessage {
  status?: string;
  id?: string;
  progress?: string;
  progressDetail?: { current?: number; total?: number };
  stream?: string;
  aux?: unknown;
}

/**
 * Writes a chunked `application/json` stream of progress messages. An error before the
 * first message becomes a plain `{"message"}` reply with its status (the CLI shows it as
 * `Error response from daemon`); after it, an `errorDetail` line, since the status is sent.
 */
export class JsonProgressStream {
  private started = false;

  constructor(private readonly res: ServerResponse) {}

  /** Sends one message (and the 200 head on first use). */
  write(message: ProgressMessage): void {
    this.start();
    this.res.write(JSON.stringify(message) + '\r\n');
  }

  /** Ends the stream with an error; `code` becomes the CLI's exit status when given. */
  fail(err: unknown, code?: number): void {
    const message = err instanceof Error ? err.message : String(err);
    if (!this.started && !this.res.headersSent) {
      const status = err instanceof DockerError ? err.status : 500;
      this.res.writeHead(status, { 'Content-Type': 'application/json' });
      this.res.end(JSON.stringify({ message }));
      return;
    }
    this.res.write(JSON.stringify({ errorDetail: code === undefined ? { message } : { code, message }, error: message }) + '\r\n');
    this.res.end();
  }

  end(): void {
    this.start();
    this.res.end();
  }

  private start(): void {
    if (this.started) return;
    this.started = true;
    if (!this.res.headersSent) this.res.writeHead(200, { 'Content-Type': 'application/json' });
  }
}
