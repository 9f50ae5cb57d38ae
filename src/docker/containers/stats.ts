/**
 * `docker stats`: a container's CPU and memory from the metrics API (`metrics.k8s.io`, what
 * `kubectl top pod` reads), shaped as dockerd's stats JSON. The CLI derives CPU % from the
 * change of `cpu_stats` against `precpu_stats`, so cumulative counters are built from the
 * sampled rate: usage nanoseconds grow by rate × interval, system time by NCPU × interval.
 */
import os from 'node:os';
import type { ServerResponse } from 'node:http';
import { Quantity } from '../../api/quantity.js';
import { queryFlag, type DockerRoute } from '../route.js';
import { DOCKER_NAMESPACE } from './model.js';
import type { StreamContext } from './streams.js';
import { containerState } from './views.js';

interface Sample {
  cpuNanoCores: number;
  memoryBytes: number;
}

/** Parses a metrics API usage (`12m`, `123456n`, `5Mi`). */
export function parseUsage(cpu: string | undefined, memory: string | undefined): Sample {
  const num = (q: string | undefined, scale: number) => {
    if (!q) return 0;
    try {
      return Quantity.parse(q).toNumber() * scale;
    } catch {
      return 0;
    }
  };
  return { cpuNanoCores: num(cpu, 1e9), memoryBytes: num(memory, 1) };
}

/** The stats route. */
export function statsRoutes(ctx: StreamContext): DockerRoute[] {
  const sample = async (podName: string | undefined): Promise<Sample> => {
    if (!podName) return { cpuNanoCores: 0, memoryBytes: 0 };
    try {
      const res = await ctx.transport.request({ method: 'GET', path: `/apis/metrics.k8s.io/v1beta1/namespaces/${DOCKER_NAMESPACE}/pods/${encodeURIComponent(podName)}` });
      if (res.status !== 200) return { cpuNanoCores: 0, memoryBytes: 0 };
      const m = JSON.parse(res.body) as { containers?: { usage?: { cpu?: string; memory?: string } }[] };
      const u = m.containers?.[0]?.usage;
      return parseUsage(u?.cpu, u?.memory);
    } catch {
      return { cpuNanoCores: 0, memoryBytes: 0 };
    }
  };
  return [
    {
      method: 'GET',
      path: '/containers/{id}/stats',
      handle: async (call) => {
        const c = await ctx.svc.find(call.params.id);
        const stream = queryFlag(call.query, 'stream', true) && !queryFlag(call.query, 'one-shot');
        const ncpu = os.cpus().length;
        const limit = c.rec.hostConfig.Memory || os.totalmem();
        let cpuTotal = 0;
        let system = 0;
        let prev = { total: 0, system: 0, read: '0001-01-01T00:00:00Z' };
        const doc = async () => {
          const running = c.pod && containerState(c.rec, c.pod).Running;
          const s = running ? await sample(c.pod?.metadata?.name) : { cpuNanoCores: 0, memoryBytes: 0 };
          cpuTotal += s.cpuNanoCores;
          system += ncpu * 1e9;
          const read = new Date().toISOString();
          const body = {
            read,
            preread: prev.read,
            name: `/${c.rec.name}`,
            id: c.rec.id,
            pids_stats: {},
            num_procs: 0,
            cpu_stats: { cpu_usage: { total_usage: cpuTotal, usage_in_kernelmode: 0, usage_in_usermode: cpuTotal }, system_cpu_usage: system, online_cpus: ncpu, throttling_data: {} },
            precpu_stats: { cpu_usage: { total_usage: prev.total, usage_in_kernelmode: 0, usage_in_usermode: prev.total }, system_cpu_usage: prev.system, online_cpus: ncpu, throttling_data: {} },
            memory_stats: running ? { usage: s.memoryBytes, limit, stats: {} } : {},
            networks: {},
            blkio_stats: {},
            storage_stats: {},
          };
          prev = { total: cpuTotal, system, read };
          return body;
        };
        if (!stream) {
          // One sample, with a previous one a second before, so a one-shot CPU % is the current rate.
          await doc();
          return { status: 200, body: await doc() };
        }
        const res = call.res as ServerResponse;
        res.writeHead(200, { 'Content-Type': 'application/json' });
        let closed = false;
        res.on('close', () => (closed = true));
        while (!closed) {
          res.write(JSON.stringify(await doc()) + '\n');
          await new Promise((r) => setTimeout(r, 1000));
        }
        return undefined;
      },
    },
  ];
}
