/**
 * docker-run (root, runc): `docker run --rm busybox true` through skiff's Docker socket against
 * `podman run --rm` (runc runtime, own storage root) of the same busybox rootfs, interleaved,
 * RUNS of each. Prints {"bench":"docker-run", skiff_p50_ms, podman_p50_ms, ratio} (ratio =
 * skiff / podman; ≤ 1 means skiff is as fast or faster).
 * Env/args: RUNS (20).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeBusyboxRootfs } from '../src/image/bootstrap-rootfs.js';
import { BENCH_IMAGE, intArg, log, percentile, round, startUp, waitFor } from './support.js';

const RUNS = intArg('RUNS', 20);

function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv): number {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { env, encoding: 'utf8', timeout: 120_000 });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return ms;
}

async function main(): Promise<void> {
  const dockerConfig = mkdtempSync(join(tmpdir(), 'skiff-bench-dc-'));
  const up = await startUp('dr', 150);
  const podmanDir = mkdtempSync(join(tmpdir(), 'skiff-bench-podman-'));
  try {
    await waitFor(() => /Docker Engine API ready/.test(up.c.output()), 30_000, 'the Docker socket');
    const env = { ...process.env, DOCKER_HOST: `unix://${join(up.c.dataDir, 'docker.sock')}`, DOCKER_CONFIG: dockerConfig };
    const podman = ['--root', join(podmanDir, 'root'), '--runroot', join(podmanDir, 'run'), '--runtime', 'runc', '--cgroup-manager', 'cgroupfs', '--events-backend', 'none'];
    const tar = join(podmanDir, 'busybox.tar');
    await writeBusyboxRootfs(tar);
    const imp = spawnSync('podman', [...podman, 'import', '--change', 'CMD=sh', tar, 'localhost/busybox:bench'], { encoding: 'utf8' });
    if (imp.status !== 0) throw new Error(`podman import failed: ${imp.stderr}`);
    // podman's default nofile/nproc limits exceed what this host lets a container set (EPERM): ask for modest ones.
    // One warm-up each: the first run unpacks layers on both sides.
    timed('docker', ['run', '--rm', BENCH_IMAGE, 'true'], env);
    timed('podman', [...podman, 'run', '--rm', '--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024', 'localhost/busybox:bench', 'true'], process.env);
    const skiff: number[] = [];
    const pod: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      skiff.push(timed('docker', ['run', '--rm', BENCH_IMAGE, 'true'], env));
      pod.push(timed('podman', [...podman, 'run', '--rm', '--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024', 'localhost/busybox:bench', 'true'], process.env));
    }
    skiff.sort((a, b) => a - b);
    pod.sort((a, b) => a - b);
    const s = percentile(skiff, 50);
    const p = percentile(pod, 50);
    console.log(JSON.stringify({ bench: 'docker-run', runs: RUNS, skiff_p50_ms: round(s), podman_p50_ms: round(p), ratio: round(s / p, 2) }));
  } finally {
    spawnSync('podman', ['--root', join(podmanDir, 'root'), '--runroot', join(podmanDir, 'run'), 'rm', '-af'], { encoding: 'utf8' });
    spawnSync('podman', ['--root', join(podmanDir, 'root'), '--runroot', join(podmanDir, 'run'), 'system', 'reset', '-f'], { encoding: 'utf8' });
    rmSync(podmanDir, { recursive: true, force: true });
    rmSync(dockerConfig, { recursive: true, force: true });
    await up.cleanup();
  }
}

main().catch((err) => {
  log(String(err?.stack ?? err));
  process.exit(1);
});
