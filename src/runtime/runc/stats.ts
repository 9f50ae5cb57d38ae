/**
 * Container CPU and memory usage from the cgroup runc placed the container in (the
 * kubelet's cadvisor numbers, read directly). cgroup v2 (unified) and v1 are both read.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ContainerStats } from '../types.js';
import { readContainerMeta, type RuncContext } from './state.js';

type Controller = 'cpuacct' | 'memory' | 'cpu';

/** Reads a cgroup file; runc places containers at `cgroupsPath` in every hierarchy. */
function cgroupFile(unified: boolean, controller: Controller, cgroupsPath: string, file: string): string | undefined {
  const p = unified ? join('/sys/fs/cgroup', cgroupsPath, file) : join('/sys/fs/cgroup', controller, cgroupsPath, file);
  try {
    return readFileSync(p, 'utf8');
  } catch {
    if (!unified && controller === 'cpuacct') {
      try {
        return readFileSync(join('/sys/fs/cgroup/cpu,cpuacct', cgroupsPath, file), 'utf8');
      } catch {
        return undefined;
      }
    }
    return undefined;
  }
}

/**
 * The stats in a container's cgroup files, given a reader of them (`undefined` for a missing
 * file): undefined when neither CPU nor memory could be read. Working set = usage minus
 * inactive file cache, as the kubelet computes it.
 */
export function statsFromCgroup(unified: boolean, read: (controller: Controller, file: string) => string | undefined, now: Date): ContainerStats | undefined {
  let cpu: number | undefined;
  let usage: number | undefined;
  let inactive = 0;
  if (unified) {
    const st = read('cpu', 'cpu.stat');
    const m = st && /^usage_usec (\d+)$/m.exec(st);
    if (m) cpu = Number(m[1]) * 1000;
    const cur = read('memory', 'memory.current');
    if (cur) usage = Number(cur.trim());
    const ms = read('memory', 'memory.stat');
    const im = ms && /^inactive_file (\d+)$/m.exec(ms);
    if (im) inactive = Number(im[1]);
  } else {
    const c = read('cpuacct', 'cpuacct.usage');
    if (c) cpu = Number(c.trim());
    const u = read('memory', 'memory.usage_in_bytes');
    if (u) usage = Number(u.trim());
    const ms = read('memory', 'memory.stat');
    const im = ms && /^total_inactive_file (\d+)$/m.exec(ms);
    if (im) inactive = Number(im[1]);
  }
  if (cpu === undefined && usage === undefined) return undefined;
  return {
    cpuUsageNanos: cpu ?? 0,
    memoryUsageBytes: usage ?? 0,
    memoryWorkingSetBytes: Math.max(0, (usage ?? 0) - inactive),
    timestamp: now,
  };
}

export async function stats(ctx: RuncContext, id: string): Promise<ContainerStats | undefined> {
  const meta = readContainerMeta(ctx, id);
  if (!meta) return undefined;
  const unified = existsSync('/sys/fs/cgroup/cgroup.controllers');
  return statsFromCgroup(unified, (controller, file) => cgroupFile(unified, controller, meta.cgroupsPath, file), new Date());
}
