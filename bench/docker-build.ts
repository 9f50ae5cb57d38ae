/**
 * docker-build benchmark: `docker build` (the real CLI, classic builder API) of a 10-step
 * Dockerfile through skiff's Docker engine, against `buildah bud` (vfs, chroot, --layers) of
 * the same Dockerfile, cold (--no-cache) and cached; medians of 3 runs each, interleaved.
 * Prints one JSON line of seconds. Needs root.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { saveImages } from '../src/image/archive.js';
import { startImageEngine } from '../src/docker/testing/image-engine.js';

const RUNS = 3;
const secs = async (fn: () => Promise<unknown>) => {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e9;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round = (n: number) => Math.round(n * 1000) / 1000;

const e = await startImageEngine();
const b = mkdtempSync(join(tmpdir(), 'skiff-bench-dbuild-'));
const common = ['--root', join(b, 'root'), '--runroot', join(b, 'run'), '--storage-driver', 'vfs'];
const result: Record<string, number | string> = { bench: 'docker-build', runs: RUNS };
try {
  const ctx = join(e.dir, 'ctx10');
  mkdirSync(ctx);
  const steps: string[] = ['FROM busybox'];
  for (let i = 0; i < 9; i++) {
    writeFileSync(join(ctx, `f${i}.txt`), `file ${i}\n`.repeat(1000));
    steps.push(i % 2 ? `RUN echo step ${i} > /s${i} && wc -l /f${i - 1}.txt >> /s${i}` : `COPY f${i}.txt /`);
  }
  const df = steps.join('\n') + '\n';
  writeFileSync(join(ctx, 'Dockerfile'), df);
  const archive = join(b, 'bb.tar');
  await saveImages(e.store, ['busybox'], archive, 'oci');
  writeFileSync(join(ctx, 'Dockerfile.buildah'), df.replace('FROM busybox', `FROM oci-archive:${archive}`));
  writeFileSync(join(ctx, '.dockerignore'), 'Dockerfile.buildah\n');

  const docker = async (extra: string[]) => {
    const r = await e.docker(['build', '-q', ...extra, '-t', 'bench/d10', '.'], { cwd: ctx });
    if (r.code !== 0) throw new Error(`docker build failed: ${r.stderr}`);
  };
  const buildah = async (extra: string[]) => {
    execFileSync('buildah', [...common, 'bud', '--isolation', 'chroot', '--network', 'host', '-q', '--layers', ...extra, '-f', join(ctx, 'Dockerfile.buildah'), '-t', 'b10', ctx], { stdio: 'ignore' });
  };
  // Warm both (base image unpacked, buildah's base pulled from the archive) before timing.
  await docker([]);
  await buildah([]);
  const t: Record<string, number[]> = { skiff_cold: [], skiff_cached: [], buildah_cold: [], buildah_cached: [] };
  for (let i = 0; i < RUNS; i++) {
    t.skiff_cold!.push(await secs(() => docker(['--no-cache'])));
    t.buildah_cold!.push(await secs(() => buildah(['--no-cache'])));
    t.skiff_cached!.push(await secs(() => docker([])));
    t.buildah_cached!.push(await secs(() => buildah([])));
  }
  for (const [k, v] of Object.entries(t)) result[`${k}_s`] = round(median(v));
  result.ratio_cold = round(median(t.skiff_cold!) / median(t.buildah_cold!));
  result.ratio_cached = round(median(t.skiff_cached!) / median(t.buildah_cached!));
} finally {
  try {
    execFileSync('buildah', [...common, 'rm', '--all'], { stdio: 'ignore' });
  } catch {
    /* nothing to remove */
  }
  rmSync(b, { recursive: true, force: true });
  await e.close();
}
console.log(JSON.stringify(result));
