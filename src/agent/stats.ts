/**
 * `/stats/summary` (the kubelet's Summary API, k8s.io/kubelet/pkg/apis/stats/v1alpha1): node and
 * per-pod/container CPU (usageNanoCores as a rate between samples, usageCoreNanoSeconds) and
 * memory (workingSetBytes, usageBytes). metrics-server style consumers read this.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { Labels, type Runtime } from '../runtime/types.js';

interface Sample {
  cpuNs: number;
  atMs: number;
}

/** Cumulative CPU time of the host in ns (non-idle jiffies of /proc/stat). */
export function hostCpuNanos(): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = (f[3] ?? 0) + (f[4] ?? 0);
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
    // USER_HZ is 100 on Linux.
    return (total - idle) * 10_000_000;
  } catch {
    return 0;
  }
}

function meminfo(): { total: number; available: number } {
  try {
    const t = readFileSync('/proc/meminfo', 'utf8');
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(t)?.[1] ?? 0) * 1024;
    return { total: kb('MemTotal'), available: kb('MemAvailable') };
  } catch {
    return { total: os.totalmem(), available: os.freemem() };
  }
}

export class StatsCollector {
  private samples = new Map<string, Sample>();
  private readonly startTime = new Date(Date.now() - os.uptime() * 1000).toISOString().replace(/\.\d+Z$/, 'Z');

  constructor(private readonly rt: Runtime, private readonly nodeName: string) {}

  /** usageNanoCores from the previous sample of `key` (0 on the first). */
  private rate(key: string, cpuNs: number, atMs: number): number {
    const prev = this.samples.get(key);
    this.samples.set(key, { cpuNs, atMs });
    if (!prev || atMs <= prev.atMs) return 0;
    // ns of CPU per ms of wall time, times 1000 ms/s: nanocores.
    return Math.max(0, Math.round(((cpuNs - prev.cpuNs) / (atMs - prev.atMs)) * 1e3));
  }

  async summary(pods: readonly Pod[]): Promise<unknown> {
    let first = this.samples.size === 0;
    const collect = async () => {
      const now = Date.now();
      const time = new Date(now).toISOString();
      const cpu = hostCpuNanos();
      const mem = meminfo();
      const node = {
        nodeName: this.nodeName,
        startTime: this.startTime,
        cpu: { time, usageNanoCores: this.rate('node', cpu, now), usageCoreNanoSeconds: cpu },
        memory: { time, availableBytes: mem.available, usageBytes: mem.total - mem.available, workingSetBytes: mem.total - mem.available },
        systemContainers: [],
      };
      const byUid = new Map(pods.map((p) => [p.metadata?.uid ?? '', p]));
      const podStats = new Map<string, { podRef: object; startTime: string; containers: unknown[]; cpu: { time: string; usageNanoCores: number; usageCoreNanoSeconds: number }; memory: { time: string; workingSetBytes: number; usageBytes: number } }>();
      for (const c of await this.rt.listContainers({ state: 'running' })) {
        const uid = c.labels[Labels.podUid] ?? '';
        const pod = byUid.get(uid);
        if (!pod) continue;
        const st = await this.rt.stats(c.id);
        if (!st) continue;
        let ps = podStats.get(uid);
        if (!ps) {
          ps = {
            podRef: { name: pod.metadata?.name, namespace: pod.metadata?.namespace, uid },
            startTime: pod.status?.startTime ?? time,
            containers: [],
            cpu: { time, usageNanoCores: 0, usageCoreNanoSeconds: 0 },
            memory: { time, workingSetBytes: 0, usageBytes: 0 },
          };
          podStats.set(uid, ps);
        }
        const nanoCores = this.rate(c.id, st.cpuUsageNanos, now);
        ps.containers.push({
          name: c.labels[Labels.containerName] ?? c.name,
          startTime: (c.startedAt ?? c.createdAt).toISOString(),
          cpu: { time, usageNanoCores: nanoCores, usageCoreNanoSeconds: st.cpuUsageNanos },
          memory: { time, workingSetBytes: st.memoryWorkingSetBytes, usageBytes: st.memoryUsageBytes },
        });
        ps.cpu.usageNanoCores += nanoCores;
        ps.cpu.usageCoreNanoSeconds += st.cpuUsageNanos;
        ps.memory.workingSetBytes += st.memoryWorkingSetBytes;
        ps.memory.usageBytes += st.memoryUsageBytes;
      }
      return { node, pods: [...podStats.values()] };
    };
    if (first) {
      // Rates need two samples: take one now and report the second.
      await collect();
      await new Promise((r) => setTimeout(r, 200));
      first = false;
    }
    return collect();
  }
}
