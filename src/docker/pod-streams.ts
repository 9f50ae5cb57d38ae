/**
 * The pod streams Docker's logs, attach and exec ride on, reached as kubectl reaches them:
 * `pods/log` through the Kubernetes client's transport (HTTPS or in-process), `pods/exec` and
 * `pods/attach` as WebSockets (`v5.channel.k8s.io`: channel 0 stdin, 1 stdout, 2 stderr,
 * 3 the final Status, 4 resize, 255 close) to the API server, which relays them to the agent.
 */
import WebSocket from 'ws';
import type { Transport } from '../client/rest.js';

/** Where the API server is and how to authenticate to it. */
export interface ApiEndpoint {
  url: string;
  caPem?: string;
  token: string;
}

export interface LogOptions {
  follow?: boolean;
  tailLines?: number;
  sinceTime?: string;
}

/** A pod stream in progress. */
export interface Cancel {
  cancel(): void;
}

/**
 * Streams a pod container's log as lines `RFC3339Nano text` (timestamps always on, so the
 * engine can filter `until` and add or drop them). `onEnd` runs once.
 */
export function podLog(transport: Transport, namespace: string, pod: string, opts: LogOptions, onLine: (line: string) => void, onEnd: (err?: Error) => void): Cancel {
  const q = new URLSearchParams({ timestamps: 'true' });
  if (opts.follow) q.set('follow', 'true');
  if (opts.tailLines !== undefined) q.set('tailLines', String(opts.tailLines));
  if (opts.sinceTime) q.set('sinceTime', opts.sinceTime);
  let partial = '';
  let ended = false;
  const handle = transport.stream(
    { method: 'GET', path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}/log`, query: q },
    (chunk) => {
      partial += chunk;
      let nl: number;
      while ((nl = partial.indexOf('\n')) >= 0) {
        onLine(partial.slice(0, nl));
        partial = partial.slice(nl + 1);
      }
    },
    (err, status, body) => {
      if (ended) return;
      ended = true;
      if (partial) onLine(partial);
      if (status !== undefined && (status < 200 || status > 299)) onEnd(new Error(messageOf(body) ?? `log stream answered ${status}`));
      else onEnd(err);
    },
  );
  return { cancel: () => handle.cancel() };
}

function messageOf(body: string | undefined): string | undefined {
  try {
    return (JSON.parse(body ?? '') as { message?: string }).message;
  } catch {
    return body || undefined;
  }
}

/** An exec or attach session. */
export interface PodSession {
  /** Sends stdin bytes. */
  write(data: Buffer): void;
  /** Closes stdin (v5's close frame). */
  closeStdin(): void;
  resize(width: number, height: number): void;
  /** Ends the session at once. */
  close(): void;
}

export interface SessionHandlers {
  onOpen?(): void;
  onStdout(data: Buffer): void;
  onStderr(data: Buffer): void;
  /** The exit code (exec), or undefined when the session failed before it (`error` set). */
  onExit(exitCode: number | undefined, error?: string): void;
}

export interface SessionOptions {
  command?: string[];
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

/** Exit code of a channel-3 Status: 0 on Success, the ExitCode cause otherwise. */
export function exitCodeOfStatus(text: string): { code?: number; error?: string } {
  try {
    const st = JSON.parse(text) as { status?: string; message?: string; details?: { causes?: { reason?: string; message?: string }[] } };
    if (st.status === 'Success') return { code: 0 };
    const cause = st.details?.causes?.find((c) => c.reason === 'ExitCode');
    if (cause?.message !== undefined) return { code: Number(cause.message) };
    return { error: st.message ?? 'exec failed' };
  } catch {
    const m = /exit (?:code|status) (\d+)/.exec(text);
    return m ? { code: Number(m[1]) } : { error: text };
  }
}

/** Opens pods/exec (with `command`) or pods/attach on the API server. */
export function openPodSession(api: ApiEndpoint, kind: 'exec' | 'attach', namespace: string, pod: string, opts: SessionOptions, h: SessionHandlers): PodSession {
  const q = new URLSearchParams();
  for (const c of opts.command ?? []) q.append('command', c);
  q.set('stdin', String(opts.stdin));
  q.set('stdout', String(opts.stdout));
  q.set('stderr', String(opts.stderr));
  q.set('tty', String(opts.tty));
  const url = `${api.url.replace(/^http/, 'ws')}/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}/${kind}?${q}`;
  const ws = new WebSocket(url, ['v5.channel.k8s.io', 'v4.channel.k8s.io'], {
    headers: { Authorization: `Bearer ${api.token}` },
    ca: api.caPem,
    rejectUnauthorized: !!api.caPem,
    perMessageDeflate: false,
  });
  let exited = false;
  const exit = (code: number | undefined, error?: string) => {
    if (exited) return;
    exited = true;
    h.onExit(code, error);
  };
  const pending: Buffer[] = [];
  const send = (frame: Buffer) => {
    if (ws.readyState === WebSocket.OPEN) ws.send(frame);
    else if (ws.readyState === WebSocket.CONNECTING) pending.push(frame);
  };
  let closeOnOpen = false;
  ws.on('open', () => {
    for (const f of pending.splice(0)) ws.send(f);
    h.onOpen?.();
    if (closeOnOpen) ws.close(1000);
  });
  ws.on('message', (raw: Buffer) => {
    const buf = Buffer.isBuffer(raw) ? raw : Buffer.from(raw as ArrayBuffer);
    if (!buf.length) return;
    const data = buf.subarray(1);
    if (buf[0] === 1) h.onStdout(data);
    else if (buf[0] === 2) h.onStderr(data);
    else if (buf[0] === 3) {
      const r = exitCodeOfStatus(data.toString());
      exit(r.code, r.error);
    }
  });
  ws.on('unexpected-response', (_req, res) => {
    let body = '';
    res.on('data', (c: Buffer) => (body += c.toString()));
    res.on('end', () => exit(undefined, messageOf(body) ?? `the API server answered ${res.statusCode}`));
  });
  ws.on('error', (err) => exit(undefined, err.message));
  // A close without a Status: attach ends so when the container exits; exec reports success.
  ws.on('close', () => exit(kind === 'attach' ? 0 : undefined, kind === 'attach' ? undefined : 'the exec stream closed without an exit status'));
  return {
    write: (data) => send(Buffer.concat([Buffer.from([0]), data])),
    closeStdin: () => {
      // The agent closes an attached container's stdin when the attach ends; an exec's on v5's close frame.
      if (kind === 'attach') {
        if (ws.readyState === WebSocket.CONNECTING) closeOnOpen = true;
        else if (ws.readyState === WebSocket.OPEN) ws.close(1000);
      } else if (ws.protocol === 'v5.channel.k8s.io' || ws.readyState === WebSocket.CONNECTING) send(Buffer.from([255, 0]));
    },
    resize: (width, height) => send(Buffer.concat([Buffer.from([4]), Buffer.from(JSON.stringify({ Width: width, Height: height }))])),
    close: () => ws.terminate(),
  };
}
