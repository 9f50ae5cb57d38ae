/**
 * The exec terminal: xterm.js over the API server's exec WebSocket (`v5.channel.k8s.io`, or
 * v4). A browser cannot put an Authorization header on a WebSocket, so the token travels as the
 * `base64url.bearer.authorization.k8s.io.<token>` subprotocol, as upstream's API server accepts.
 * Loaded on demand: xterm.js is most of the dashboard's bytes.
 */
import { html } from 'htm/preact';
import type { VNode } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import { R, getToken, objectPath } from './api.js';

/** Channel numbers of the Kubernetes stream protocol. */
const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const ERROR = 3;
const RESIZE = 4;

/** The WebSocket subprotocols offered: the stream protocols, then the token. */
export function execProtocols(token: string | undefined): string[] {
  const p = ['v5.channel.k8s.io', 'v4.channel.k8s.io'];
  if (token) p.push(`base64url.bearer.authorization.k8s.io.${base64url(token)}`);
  return p;
}

function base64url(s: string): string {
  const bin = Array.from(new TextEncoder().encode(s), (b) => String.fromCharCode(b)).join('');
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The exec URL for a command line (split on spaces; a shell does the rest). */
export function execUrl(loc: { host: string }, ns: string, name: string, container: string, command: string, tty: boolean): string {
  const q = new URLSearchParams();
  for (const word of command.trim().split(/\s+/).filter(Boolean)) q.append('command', word);
  if (container) q.set('container', container);
  q.set('stdin', 'true');
  q.set('stdout', 'true');
  q.set('stderr', String(!tty));
  q.set('tty', String(tty));
  return `wss://${loc.host}${objectPath(R.pods, ns, name)}/exec?${q}`;
}

export function ExecTerminal({ ns, name, container, command }: { ns: string; name: string; container: string; command: string }): VNode {
  const el = useRef<HTMLDivElement>(null);
  const [status, setStatus] = useState('connecting…');
  useEffect(() => {
    const term = new Terminal({ convertEol: true, cursorBlink: true, fontSize: 13, rows: 18 });
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.open(el.current!);
    try {
      fit.fit();
    } catch {
      /* not laid out yet */
    }
    const ws = new WebSocket(execUrl(location, ns, name, container, command, true), execProtocols(getToken()));
    ws.binaryType = 'arraybuffer';
    const enc = new TextEncoder();
    const dec = new TextDecoder();
    const send = (ch: number, data: Uint8Array) => {
      if (ws.readyState !== WebSocket.OPEN) return;
      const buf = new Uint8Array(data.length + 1);
      buf[0] = ch;
      buf.set(data, 1);
      ws.send(buf);
    };
    const resize = () => send(RESIZE, enc.encode(JSON.stringify({ Width: term.cols, Height: term.rows })));
    ws.onopen = () => {
      setStatus(`connected (${ws.protocol})`);
      resize();
      term.focus();
    };
    ws.onmessage = (m) => {
      const data = new Uint8Array(m.data as ArrayBuffer);
      if (!data.length) return;
      const ch = data[0];
      const body = data.subarray(1);
      if (ch === STDOUT || ch === STDERR) term.write(body);
      else if (ch === ERROR) {
        const text = dec.decode(body);
        try {
          const st = JSON.parse(text);
          setStatus(st.status === 'Success' ? 'exited (0)' : `exited: ${st.message ?? text}`);
        } catch {
          setStatus(`exited: ${text}`);
        }
      }
    };
    ws.onerror = () => setStatus('connection failed');
    ws.onclose = (e) => setStatus((s) => (s.startsWith('exited') || s === 'connection failed' ? s : `closed${e.reason ? `: ${e.reason}` : ''}`));
    const onData = term.onData((d) => send(STDIN, enc.encode(d)));
    const onResize = term.onResize(resize);
    return () => {
      onData.dispose();
      onResize.dispose();
      ws.close();
      term.dispose();
    };
  }, [ns, name, container, command]);
  return html`<div>
    <p class="muted" role="status" data-testid="exec-status">${status}</p>
    <div class="terminal" ref=${el} data-testid="terminal"></div>
  </div>`;
}
