/**
 * Container lifecycle endpoints: create, start, stop, restart, kill, wait, inspect, list,
 * remove, rename, update, prune, pause/unpause, resize. Streams (logs, attach, exec, top,
 * stats) are in streams.ts.
 */
import type { ServerResponse } from 'node:http';
import { badParameter, conflict, DockerError } from '../errors.js';
import { jsonObject } from '../body.js';
import { queryFlag, type DockerCall, type DockerReply, type DockerRoute } from '../route.js';
import { checkName, checkRestartPolicy, type CreateBody, type RestartPolicy } from './model.js';
import type { Container, ContainerService } from './service.js';
import { execIn, type StreamContext } from './streams.js';
import { containerState, inspectOf, matchesFilters, parseFilters, summaryOf } from './views.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Signals `docker kill -s` accepts, by name and number. */
const SIGNALS: Record<string, number> = { HUP: 1, INT: 2, QUIT: 3, KILL: 9, USR1: 10, USR2: 12, TERM: 15, STOP: 19, CONT: 18, WINCH: 28 };

function parseSignal(raw: string | null): string {
  if (!raw) return 'KILL';
  const name = raw.toUpperCase().replace(/^SIG/, '');
  if (SIGNALS[name]) return name;
  const byNumber = Object.entries(SIGNALS).find(([, n]) => String(n) === raw);
  if (byNumber) return byNumber[0];
  throw badParameter(`Invalid signal: ${raw}`);
}

/** Waits for `condition` and returns the exit code (`docker wait`, `docker run`). */
async function waitFor(svc: ContainerService, c: Container, condition: string, closed: () => boolean): Promise<{ StatusCode: number; Error: { Message: string } | null }> {
  const id = c.rec.id;
  let sawRunning = svc.isRunning(c);
  // A run that ended before the wait began does not count as the next exit; a new pod does.
  const staleUid = sawRunning ? undefined : c.pod?.metadata?.uid;
  const first = containerState(c.rec, c.pod);
  let lastCode = first.ExitCode;
  const restartsAtStart = first.restartCount;
  for (;;) {
    if (closed()) return { StatusCode: lastCode, Error: null };
    let cur: Container;
    try {
      cur = await svc.find(id);
    } catch (err) {
      if (err instanceof DockerError && err.status === 404) return { StatusCode: svc.removedExitCodes.get(id) ?? lastCode, Error: null };
      throw err;
    }
    const outcome = await svc.reconcile(cur);
    if (outcome === 'removed') return { StatusCode: containerState(cur.rec, cur.pod).ExitCode, Error: null };
    if (outcome === 'stopped') cur = await svc.find(id);
    const st = containerState(cur.rec, cur.pod);
    lastCode = st.ExitCode;
    const running = outcome !== 'stopped' && svc.isRunning(cur);
    if (running || (cur.pod && cur.pod.metadata?.uid !== staleUid)) sawRunning = true;
    if (condition === 'not-running' && !running) return { StatusCode: st.ExitCode, Error: null };
    if (condition === 'next-exit' && sawRunning && (!running || st.restartCount > restartsAtStart)) return { StatusCode: st.ExitCode, Error: null };
    await sleep(100);
  }
}

/** The container routes. */
export function containerRoutes(ctx: StreamContext): DockerRoute[] {
  const { svc } = ctx;
  const find = (call: DockerCall) => svc.find(call.params.id);
  return [
    {
      method: 'POST',
      path: '/containers/create',
      handle: async (call) => {
        const body = await jsonObject<CreateBody>(call);
        const { id, warnings } = await svc.create(body, call.query.get('name'));
        return { status: 201, body: { Id: id, Warnings: warnings } };
      },
    },
    {
      method: 'GET',
      path: '/containers/json',
      handle: async (call) => {
        const filters = parseFilters(call.query.get('filters'));
        const all = queryFlag(call.query, 'all');
        const now = Date.now();
        let list = (await svc.list()).filter((c) => matchesFilters(c.rec, c.pod, filters));
        if (!all && !filters.status?.length) list = list.filter((c) => ['running', 'paused', 'restarting'].includes(containerState(c.rec, c.pod).Status));
        const limit = Number(call.query.get('limit') ?? -1);
        if (limit > 0) list = list.slice(0, limit);
        return { status: 200, body: list.map((c) => summaryOf(c.rec, c.pod, now)) };
      },
    },
    {
      method: 'GET',
      path: '/containers/{id}/json',
      handle: async (call) => {
        const c = await find(call);
        return { status: 200, body: inspectOf(c.rec, c.pod) };
      },
    },
    {
      method: 'POST',
      path: '/containers/{id}/start',
      handle: async (call) => {
        const c = await find(call);
        if (c.pod && c.pod.status?.containerStatuses?.[0]?.state?.running && c.rec.state.paused) throw conflict(`cannot start a paused container, try unpause instead`);
        return { status: (await svc.start(c)) ? 204 : 304 };
      },
    },
    {
      method: 'POST',
      path: '/containers/{id}/stop',
      handle: async (call) => {
        const t = call.query.get('t') ?? call.query.get('timeout');
        if (t !== null && !/^-?\d+$/.test(t)) throw badParameter(`invalid value for t: ${t}`);
        return { status: (await svc.stop(await find(call), t === null ? undefined : Math.max(0, Number(t)))) ? 204 : 304 };
      },
    },
    {
      method: 'POST',
      path: '/containers/{id}/restart',
      handle: async (call) => {
        const t = call.query.get('t') ?? call.query.get('timeout');
        const c = await find(call);
        if (c.pod) await svc.endRun(c.rec, t === null ? (c.rec.config.StopTimeout ?? 10) : Math.max(0, Number(t)), 'stopped', false);
        await svc.start(await find(call));
        svc.emit('container', 'restart', c.rec.id, { name: c.rec.name, image: c.rec.image });
        return { status: 204 };
      },
    },
    {
      method: 'POST',
      path: '/containers/{id}/kill',
      handle: async (call) => {
        const signal = parseSignal(call.query.get('signal'));
        const c = await find(call);
        if (!c.pod || !svc.isRunning(c)) throw conflict(`cannot kill container: ${c.rec.id}: container ${c.rec.id} is not running`);
        if (signal === 'KILL' || signal === 'TERM' || signal === 'INT' || signal === 'QUIT') {
          await svc.update(c.rec.id, (r) => ((r.state.desired = 'stopped'), (r.state.stoppedByUser = true)));
          await svc.endRun(c.rec, signal === 'KILL' ? 0 : 1, 'stopped', true);
        } else {
          await execIn(ctx, c, ['kill', `-${signal}`, '1']);
        }
        svc.emit('container', 'kill', c.rec.id, { name: c.rec.name, image: c.rec.image, signal });
        return { status: 204 };
      },
    },
    {
      method: 'POST',
      path: '/containers/{id}/wait',
      handle: async (call): Promise<DockerReply> => {
        const condition = call.query.get('condition') || 'not-running';
        if (!['not-running', 'next-exit', 'removed'].includes(condition)) throw badParameter(`invalid condition: "${condition}"`);
        const c = await find(call);
        const res = call.res as ServerResponse;
        // The CLI starts the container only after this head arrives (gotcha 1).
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.flushHeaders();
        let closed = false;
        res.on('close', () => (closed = true));
        try {
          const result = await waitFor(svc, c, condition, () => closed);
          if (!closed) res.end(JSON.stringify(result) + '\n');
        } catch (err) {
          if (!closed) res.end(JSON.stringify({ StatusCode: -1, Error: { Message: (err as Error).message } }) + '\n');
        }
        return undefined;
      },
    },
    {
      method: 'DELETE',
      path: '/containers/{id}',
      handle: async (call) => {
        await svc.remove(await find(call), queryFlag(call.query, 'force'), queryFlag(call.query, 'v'));
        return { status: 204 };
      },
    },
    {
      method: 'POST',
      path: '/containers/{id}/rename',
      handle: async (call) => {
        const wanted = call.query.get('name');
        if (!wanted) throw badParameter('Error when allocating new name: name is empty');
        const name = checkName(wanted);
        const c = await find(call);
        const clash = (await svc.list()).find((o) => o.rec.name === name && o.rec.id !== c.rec.id);
        if (clash) throw conflict(`Conflict. The container name "/${name}" is already in use by container "${clash.rec.id}". You have to remove (or rename) that container to be able to reuse that name.`);
        const old = c.rec.name;
        await svc.update(c.rec.id, (r) => (r.name = name));
        svc.emit('container', 'rename', c.rec.id, { name, oldName: `/${old}` });
        return { status: 204 };
      },
    },
    {
      method: 'POST',
      path: '/containers/{id}/update',
      handle: async (call) => {
        const body = await jsonObject<{ RestartPolicy?: RestartPolicy; Memory?: number; NanoCpus?: number; CpuShares?: number }>(call);
        if (body.RestartPolicy) checkRestartPolicy(body.RestartPolicy);
        const c = await find(call);
        if (body.RestartPolicy && c.rec.hostConfig.AutoRemove && (body.RestartPolicy.Name ?? 'no') !== 'no') throw badParameter('Restart policy cannot be updated because AutoRemove is enabled for the container');
        await svc.update(c.rec.id, (r) => {
          if (body.RestartPolicy) r.hostConfig.RestartPolicy = { Name: body.RestartPolicy.Name ?? 'no', MaximumRetryCount: body.RestartPolicy.MaximumRetryCount ?? 0 };
          if (body.Memory) r.hostConfig.Memory = body.Memory;
          if (body.NanoCpus) r.hostConfig.NanoCpus = body.NanoCpus;
        });
        // A pod's restart policy and limits are fixed: the change applies from the next start.
        const warnings = c.pod && svc.isRunning(c) ? ['the change takes effect when the container is next started'] : [];
        return { status: 200, body: { Warnings: warnings } };
      },
    },
    {
      method: 'POST',
      path: '/containers/prune',
      handle: async (call) => {
        const filters = parseFilters(call.query.get('filters'));
        const deleted: string[] = [];
        for (const c of await svc.list()) {
          const st = containerState(c.rec, c.pod);
          if (st.Status !== 'exited' && st.Status !== 'created') continue;
          if (st.Status === 'created' && c.rec.state.desired === 'running') continue;
          const labels = filters.label ?? [];
          const l = c.rec.config.Labels ?? {};
          if (!labels.every((f) => (f.includes('=') ? l[f.split('=')[0]] === f.slice(f.indexOf('=') + 1) : f in l))) continue;
          await svc.remove(c, true, false);
          deleted.push(c.rec.id);
        }
        return { status: 200, body: { ContainersDeleted: deleted, SpaceReclaimed: 0 } };
      },
    },
    {
      method: 'POST',
      path: '/containers/{id}/pause',
      handle: async (call) => {
        const c = await find(call);
        if (!c.pod || !svc.isRunning(c)) throw conflict(`Container ${c.rec.id} is not running`);
        throw new DockerError(501, 'pause is not supported by skiff: the runtime does not freeze pod containers');
      },
    },
    {
      method: 'POST',
      path: '/containers/{id}/unpause',
      handle: async (call) => {
        const c = await find(call);
        throw conflict(`Container ${c.rec.id} is not paused`);
      },
    },
    {
      method: 'POST',
      path: '/containers/{id}/resize',
      handle: async (call) => {
        await find(call);
        return { status: 200 };
      },
    },
  ];
}
