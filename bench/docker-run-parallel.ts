/**
 * docker-run-parallel (root, runc): N `docker run -d busybox sleep 3600` at once through
 * skiff's Docker socket; time from the first request until `docker ps` shows all N running.
 * Prints {"bench":"docker-run-parallel", n, all_running_ms, per_container_ms}.
 * Env/args: N (50).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BENCH_IMAGE, intArg, log, round, startUp, waitFor } from './support.js';

const N = intArg('N', 50);

function run(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve) => {
    const p = spawn('docker', args, { env, stdio: 'ignore' });
    p.on('exit', (code) => resolve(code ?? -1));
  });
}

async function main(): Promise<void> {
  const dockerConfig = mkdtempSync(join(tmpdir(), 'skiff-bench-dc-'));
  const up = await startUp('dp', 151);
  try {
    await waitFor(() => /Docker Engine API ready/.test(up.c.output()), 30_000, 'the Docker socket');
    const env = { ...process.env, DOCKER_HOST: `unix://${join(up.c.dataDir, 'docker.sock')}`, DOCKER_CONFIG: dockerConfig };
    spawnSync('docker', ['run', '--rm', BENCH_IMAGE, 'true'], { env });
    const t0 = performance.now();
    const codes = await Promise.all(Array.from({ length: N }, (_, i) => run(['run', '-d', '--name', `par${i}`, BENCH_IMAGE, 'sleep', '3600'], env)));
    if (codes.some((c) => c !== 0)) throw new Error(`${codes.filter((c) => c !== 0).length} docker run -d failed`);
    await waitFor(() => spawnSync('docker', ['ps', '-q', '--filter', 'status=running'], { env, encoding: 'utf8' }).stdout.split('\n').filter(Boolean).length >= N, 300_000, `${N} running`, 200);
    const ms = performance.now() - t0;
    console.log(JSON.stringify({ bench: 'docker-run-parallel', n: N, all_running_ms: round(ms), per_container_ms: round(ms / N) }));
    spawnSync('docker', ['rm', '-f', ...Array.from({ length: N }, (_, i) => `par${i}`)], { env });
  } finally {
    rmSync(dockerConfig, { recursive: true, force: true });
    await up.cleanup();
  }
}

main().catch((err) => {
  log(String(err?.stack ?? err));
  process.exit(1);
});
