/**
 * Container streams: logs, attach (hijacked), exec create/start/inspect/resize, top, stats.
 * Output comes from the pod's log (`pods/log`), input and exec from `pods/attach` and
 * `pods/exec` — the same subresources kubectl uses, so a Docker container is one a user can
 * also `kubectl logs` and `kubectl exec` into.
 */
import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Transport } from '../../client/rest.js';
import { jsonObject } from '../body.js';
import { badParameter, conflict, DockerError, noSuchExec } from '../errors.js';
import { openPodSession, podLog, type ApiEndpoint, type PodSession } from '../pod-streams.js';
import { queryFlag, type DockerCall, type DockerReply, type DockerRoute } from '../route.js';
import { acceptHijack, muxFrame, STDERR, STDOUT } from '../stream.js';
import { DOCKER_NAMESPACE } from './model.js';
import type { Container, ContainerService } from './service.js';
import { containerState } from './views.js';

/** What the stream endpoints need besides the container service. */
export interface StreamContext {
  svc: ContainerService;
  transport: Transport;
  api: ApiEndpoint;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Splits `RFC3339Nano text` (pods/log with timestamps). */
function splitTimestamp(line: string): { ts: string; text: string } {
  const sp = line.indexOf(' ');
  if (sp < 0 || !/^\d{4}-\d\d-\d\dT/.test(line)) return { ts: '', text: line };
  return { ts: line.slice(0, sp), text: line.slice(sp + 1) };
}

/** Docker's `since`/`until`: unix seconds (fractions allowed) as epoch ms. */
function unixParam(v: string | null): number | undefined {
  if (v === null || v === '' || v === '0') return undefined;
  if (!/^\d+(\.\d+)?$/.test(v)) throw badParameter(`invalid value for since/until: ${v}`);
  return Number(v) * 1000;
}

/** Waits until the container's current run has started (or ended); undefined when it is gone or never starts. */
async function started(svc: ContainerService, id: string, isOver: () => boolean, staleUid?: string): Promise<Container | undefined> {
  for (;;) {
    if (isOver()) return undefined;
    let c: Container;
    try {
      c = await svc.find(id);
    } catch {
      return undefined;
    }
    const cs = c.pod?.status?.containerStatuses?.[0];
    if (c.pod && c.pod.metadata?.uid !== staleUid && (cs?.state?.running || cs?.state?.terminated || cs?.lastState?.terminated)) return c;
    await sleep(50);
  }
}

/** Runs a command in a container and collects its output. */
export function execIn(ctx: StreamContext, c: Container, cmd: string[], stdin?: Buffer): Promise<{ code: number; stdout: Buffer; stderr: Buffer }> {
  if (!c.pod) return Promise.reject(conflict(`container ${c.rec.id} is not running`));
  return new Promise((resolve, reject) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const s = openPodSession(ctx.api, 'exec', DOCKER_NAMESPACE, c.pod!.metadata!.name!, { command: cmd, stdin: !!stdin, stdout: true, stderr: true, tty: false }, {
      onOpen: () => {
        if (stdin) {
          for (let i = 0; i < stdin.length; i += 64 * 1024) s.write(stdin.subarray(i, i + 64 * 1024));
          s.closeStdin();
        }
      },
      onStdout: (d) => out.push(Buffer.from(d)),
      onStderr: (d) => err.push(Buffer.from(d)),
      onExit: (code, error) => {
        if (code === undefined) reject(new DockerError(500, error ?? 'exec failed'));
        else resolve({ code, stdout: Buffer.concat(out), stderr: Buffer.concat(err) });
      },
    });
  });
}

/** One `docker exec` instance. */
interface ExecInstance {
  id: string;
  containerId: string;
  cmd: string[];
  tty: boolean;
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  running: boolean;
  exitCode: number | null;
  session?: PodSession;
  user: string;
  privileged: boolean;
}

function writeFrame(socket: Duplex, tty: boolean, stream: number, data: Buffer | string): void {
  if (socket.destroyed || !socket.writable) return;
  socket.write(tty ? data : muxFrame(stream, data));
}

/** Log, attach and exec routes. */
export function streamRoutes(ctx: StreamContext): DockerRoute[] {
  const { svc } = ctx;
  const execs = new Map<string, ExecInstance>();

  const logs = async (call: DockerCall) => {
    const c = await svc.find(call.params.id);
    const q = call.query;
    const stdout = queryFlag(q, 'stdout');
    const stderr = queryFlag(q, 'stderr');
    if (!stdout && !stderr) throw badParameter('Bad parameters: you must choose at least one stream');
    const follow = queryFlag(q, 'follow');
    const timestamps = queryFlag(q, 'timestamps');
    const since = unixParam(q.get('since'));
    const until = unixParam(q.get('until'));
    const tailRaw = q.get('tail') ?? 'all';
    if (tailRaw !== 'all' && tailRaw !== '' && !/^-?\d+$/.test(tailRaw)) throw badParameter(`invalid value for "tail": "${tailRaw}"`);
    const tail = tailRaw === 'all' || tailRaw === '' || Number(tailRaw) < 0 ? undefined : Number(tailRaw);
    const tty = !!c.rec.config.Tty;
    const res = call.res as ServerResponse;
    res.writeHead(200, { 'Content-Type': tty ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream' });
    res.flushHeaders();
    let closed = false;
    res.on('close', () => (closed = true));
    const run = follow ? await started(svc, c.rec.id, () => closed) : c.pod ? c : undefined;
    if (!run?.pod || closed) {
      res.end();
      return undefined;
    }
    await new Promise<void>((resolve) => {
      const handle = podLog(ctx.transport, DOCKER_NAMESPACE, run.pod!.metadata!.name!, { follow, tailLines: tail, sinceTime: since ? new Date(since).toISOString() : undefined }, (line) => {
        const { ts, text } = splitTimestamp(line);
        if (until !== undefined && ts && Date.parse(ts) > until) return;
        if (stdout) res.write(tty ? `${timestamps ? ts + ' ' : ''}${text}\n` : muxFrame(STDOUT, `${timestamps ? ts + ' ' : ''}${text}\n`));
      }, () => resolve());
      res.on('close', () => {
        handle.cancel();
        resolve();
      });
    });
    if (!closed) res.end();
    return undefined;
  };

  const attach = async (call: DockerCall): Promise<DockerReply> => {
    const socket = call.socket;
    if (!socket) throw badParameter('attach needs an upgraded connection (Upgrade: tcp)');
    const c = await svc.find(call.params.id);
    const tty = !!c.rec.config.Tty;
    const wantStdin = queryFlag(call.query, 'stdin') && !!c.rec.config.OpenStdin;
    const wantStdout = queryFlag(call.query, 'stdout');
    const wantStderr = queryFlag(call.query, 'stderr');
    await call.body();
    acceptHijack(socket, tty, call.apiVersion);
    let over = false;
    let session: PodSession | undefined;
    let logHandle: { cancel(): void } | undefined;
    const pendingStdin: Buffer[] = call.head?.length ? [Buffer.from(call.head)] : [];
    let stdinEnded = false;
    const finish = () => {
      if (over) return;
      over = true;
      logHandle?.cancel();
      session?.close();
      svc.release(c.rec.id);
      if (!socket.destroyed) socket.end();
    };
    svc.hold(c.rec.id);
    socket.on('close', finish);
    socket.on('error', finish);
    socket.on('data', (d: Buffer) => {
      if (!wantStdin) return;
      if (session) session.write(d);
      else pendingStdin.push(Buffer.from(d));
    });
    socket.on('end', () => {
      stdinEnded = true;
      // `docker run -i` (StdinOnce): the container's stdin ends with the client's.
      if (c.rec.config.StdinOnce) session?.closeStdin();
    });
    socket.resume();
    // A running container shows output from now on; one about to start shows all of it.
    const alreadyRunning = svc.isRunning(c) && !!c.pod;
    const staleUid = alreadyRunning ? undefined : c.pod?.metadata?.uid;
    const since = alreadyRunning ? new Date().toISOString() : undefined;
    const run = await started(svc, c.rec.id, () => over, staleUid);
    if (!run?.pod) {
      finish();
      return undefined;
    }
    const podName = run.pod.metadata!.name!;
    if (wantStdin && run.pod.status?.containerStatuses?.[0]?.state?.running) {
      session = openPodSession(ctx.api, 'attach', DOCKER_NAMESPACE, podName, { stdin: true, stdout: false, stderr: false, tty }, {
        onOpen: () => {
          for (const b of pendingStdin.splice(0)) session!.write(b);
          if (stdinEnded && c.rec.config.StdinOnce) session!.closeStdin();
        },
        onStdout: () => undefined,
        onStderr: () => undefined,
        onExit: () => undefined,
      });
    }
    logHandle = podLog(ctx.transport, DOCKER_NAMESPACE, podName, { follow: true, sinceTime: since }, (line) => {
      const { text } = splitTimestamp(line);
      if (wantStdout || wantStderr) writeFrame(socket, tty, wantStdout ? STDOUT : STDERR, tty ? text.replace(/\r?$/, '\r\n').replace(/\r\r\n$/, '\r\n') : `${text}\n`);
    }, () => finish());
    // A run ended by stop/kill/rm loses its pod, and with it the log stream's end: notice that too.
    const runUid = run.pod.metadata?.uid;
    void (async () => {
      while (!over) {
        await sleep(500);
        const now = await svc.find(c.rec.id).catch(() => undefined);
        if (!over && now?.pod?.metadata?.uid !== runUid) {
          await sleep(300);
          finish();
        }
      }
    })();
    return undefined;
  };

  const execCreate = async (call: DockerCall) => {
    const body = await jsonObject<{ Cmd?: string[] | string; Tty?: boolean; AttachStdin?: boolean; AttachStdout?: boolean; AttachStderr?: boolean; Env?: string[] | null; WorkingDir?: string; User?: string; Privileged?: boolean }>(call);
    const c = await svc.find(call.params.id);
    if (!c.pod || !containerState(c.rec, c.pod).Running) throw conflict(`container ${c.rec.id} is not running`);
    let cmd = typeof body.Cmd === 'string' ? ['/bin/sh', '-c', body.Cmd] : body.Cmd;
    if (!Array.isArray(cmd) || !cmd.length || cmd.some((a) => typeof a !== 'string')) throw badParameter('No exec command specified');
    if (body.Env?.length) cmd = ['env', ...body.Env, ...cmd];
    if (body.WorkingDir) cmd = ['/bin/sh', '-c', 'cd "$0" && exec "$@"', body.WorkingDir, ...cmd];
    const id = randomBytes(32).toString('hex');
    execs.set(id, {
      id, containerId: c.rec.id, cmd, tty: !!body.Tty, stdin: !!body.AttachStdin, stdout: body.AttachStdout !== false, stderr: body.AttachStderr !== false,
      running: false, exitCode: null, user: body.User ?? '', privileged: !!body.Privileged,
    });
    svc.emit('container', `exec_create: ${cmd.join(' ')}`, c.rec.id, { name: c.rec.name, execID: id });
    return { status: 201, body: { Id: id } };
  };

  const execStart = async (call: DockerCall) => {
    const ex = execs.get(call.params.id);
    if (!ex) throw noSuchExec(call.params.id);
    const body = await jsonObject<{ Detach?: boolean; Tty?: boolean }>(call, true);
    if (ex.running || ex.exitCode !== null) throw conflict(`exec ${ex.id} has already run`);
    const c = await svc.find(ex.containerId);
    if (!c.pod || !containerState(c.rec, c.pod).Running) throw conflict(`container ${c.rec.id} is not running`);
    const podName = c.pod.metadata!.name!;
    ex.running = true;
    const socket = call.socket;
    if (body.Detach || !socket) {
      ex.session = openPodSession(ctx.api, 'exec', DOCKER_NAMESPACE, podName, { command: ex.cmd, stdin: false, stdout: false, stderr: false, tty: false }, {
        onStdout: () => undefined,
        onStderr: () => undefined,
        onExit: (code) => ((ex.running = false), (ex.exitCode = code ?? 126)),
      });
      return { status: 200, body: undefined };
    }
    const tty = ex.tty;
    acceptHijack(socket, tty, call.apiVersion);
    let over = false;
    const session = openPodSession(ctx.api, 'exec', DOCKER_NAMESPACE, podName, { command: ex.cmd, stdin: ex.stdin, stdout: ex.stdout, stderr: ex.stderr && !tty, tty }, {
      onStdout: (d) => writeFrame(socket, tty, STDOUT, d),
      onStderr: (d) => writeFrame(socket, tty, STDERR, d),
      onExit: (code, error) => {
        ex.running = false;
        ex.exitCode = code ?? 126;
        if (code === undefined && error) writeFrame(socket, tty, STDERR, `${error}\n`);
        svc.emit('container', 'exec_die', ex.containerId, { execID: ex.id, exitCode: String(ex.exitCode) });
        over = true;
        if (!socket.destroyed) socket.end();
      },
    });
    ex.session = session;
    if (call.head?.length && ex.stdin) session.write(Buffer.from(call.head));
    socket.on('data', (d: Buffer) => ex.stdin && session.write(d));
    socket.on('end', () => ex.stdin && session.closeStdin());
    socket.on('close', () => {
      if (!over) session.close();
    });
    socket.on('error', () => session.close());
    socket.resume();
    return undefined;
  };

  return [
    { method: 'GET', path: '/containers/{id}/logs', handle: logs },
    { method: 'POST', path: '/containers/{id}/attach', handle: attach },
    { method: 'POST', path: '/containers/{id}/exec', handle: execCreate },
    { method: 'POST', path: '/exec/{id}/start', handle: execStart },
    {
      method: 'POST',
      path: '/exec/{id}/resize',
      handle: async (call) => {
        const ex = execs.get(call.params.id);
        if (!ex) throw noSuchExec(call.params.id);
        const w = Number(call.query.get('w') ?? 0);
        const h = Number(call.query.get('h') ?? 0);
        ex.session?.resize(w, h);
        return { status: 200 };
      },
    },
    {
      method: 'GET',
      path: '/exec/{id}/json',
      handle: async (call) => {
        const ex = execs.get(call.params.id);
        if (!ex) throw noSuchExec(call.params.id);
        return {
          status: 200,
          body: {
            ID: ex.id, Running: ex.running, ExitCode: ex.exitCode, Pid: 0, ContainerID: ex.containerId, CanRemove: false, DetachKeys: '',
            OpenStdin: ex.stdin, OpenStdout: ex.stdout, OpenStderr: ex.stderr,
            ProcessConfig: { entrypoint: ex.cmd[0], arguments: ex.cmd.slice(1), tty: ex.tty, privileged: ex.privileged, user: ex.user },
          },
        };
      },
    },
    {
      method: 'GET',
      path: '/containers/{id}/top',
      handle: async (call) => {
        const c = await svc.find(call.params.id);
        if (!c.pod || !containerState(c.rec, c.pod).Running) throw conflict(`container ${c.rec.id} is not running`);
        const r = await execIn(ctx, c, ['ps', ...(call.query.get('ps_args') ? call.query.get('ps_args')!.split(/\s+/) : [])]);
        if (r.code !== 0) throw new DockerError(500, `ps failed in the container (exit ${r.code}): ${r.stderr.toString().trim()}`);
        const lines = r.stdout.toString().split('\n').filter((l) => l.trim());
        const titles = (lines.shift() ?? '').trim().split(/\s+/);
        const processes = lines.map((l) => {
          const parts = l.trim().split(/\s+/);
          return [...parts.slice(0, titles.length - 1), parts.slice(titles.length - 1).join(' ')];
        });
        return { status: 200, body: { Titles: titles, Processes: processes } };
      },
    },
  ];
}
