/**
 * Build benchmark: examples/go-hello and a 20-step Dockerfile, cold (--no-cache) and
 * cached, and buildah (vfs, chroot) on the 20-step one when it is installed.
 * Prints one JSON line of seconds. Needs root.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from '../src/builder/builder.js';
import { bootstrapGo } from '../src/builder/bootstrap.js';
import { createProgress } from '../src/builder/progress.js';
import { saveImages } from '../src/image/archive.js';
import { busyboxStore } from '../src/image/testing/busybox-store.js';

const quiet = createProgress('quiet');
const secs = async (fn: () => Promise<unknown>) => {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e9;
};
const round = (n: number) => Math.round(n * 1000) / 1000;

const env = await busyboxStore();
const result: Record<string, number | string | null> = { bench: 'build' };
try {
  const ctx = join(env.dir, 'ctx20');
  mkdirSync(ctx);
  const steps: string[] = ['FROM busybox'];
  for (let i = 0; i < 19; i++) {
    writeFileSync(join(ctx, `f${i}.txt`), `file ${i}\n`.repeat(1000));
    steps.push(i % 2 ? `RUN echo step ${i} > /s${i} && cat /f${i - 1}.txt | wc -l >> /s${i}` : `COPY f${i}.txt /`);
  }
  const df = steps.join('\n') + '\n';
  writeFileSync(join(ctx, 'Dockerfile'), df);
  result.steps20_cold_s = round(await secs(() => build({ store: env.store, contextDir: ctx, tags: ['bench/20:1'], progress: quiet, noCache: true })));
  result.steps20_cached_s = round(await secs(() => build({ store: env.store, contextDir: ctx, tags: ['bench/20:1'], progress: quiet })));

  if (existsSync('/usr/bin/buildah')) {
    const b = mkdtempSync(join(tmpdir(), 'skiff-bench-buildah-'));
    const common = ['--root', join(b, 'root'), '--runroot', join(b, 'run'), '--storage-driver', 'vfs'];
    try {
      const archive = join(b, 'bb.tar');
      await saveImages(env.store, ['busybox'], archive, 'oci');
      writeFileSync(join(ctx, 'Dockerfile.buildah'), df.replace('FROM busybox', `FROM oci-archive:${archive}`));
      const bud = (extra: string[]) => execFileSync('buildah', [...common, 'bud', '--isolation', 'chroot', '--network', 'host', '-q', ...extra, '-f', join(ctx, 'Dockerfile.buildah'), '-t', 'b20', ctx], { stdio: 'ignore' });
      result.buildah_steps20_cold_s = round(await secs(async () => bud(['--layers', '--no-cache'])));
      result.buildah_steps20_cached_s = round(await secs(async () => bud(['--layers'])));
    } finally {
      try {
        execFileSync('buildah', [...common, 'rm', '--all'], { stdio: 'ignore' });
      } catch {
        /* nothing to remove */
      }
      rmSync(b, { recursive: true, force: true });
    }
  } else {
    result.buildah_steps20_cold_s = null;
    result.buildah_steps20_cached_s = null;
  }

  if (existsSync('/usr/lib/go/bin/go')) {
    result.go_bootstrap_s = round(await secs(() => bootstrapGo(env.store)));
    const goCtx = join(import.meta.dirname, '..', 'examples', 'go-hello');
    result.go_hello_cold_s = round(await secs(() => build({ store: env.store, contextDir: goCtx, tags: ['bench/go:1'], progress: quiet, noCache: true })));
    result.go_hello_cached_s = round(await secs(() => build({ store: env.store, contextDir: goCtx, tags: ['bench/go:1'], progress: quiet })));
  }
} finally {
  env.cleanup();
}
console.log(JSON.stringify(result));
