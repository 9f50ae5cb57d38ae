// The whole test suite: installs what is missing, lints the layers, builds, type-checks, then runs unit
// tests (src/**/*.test.ts) and integration tests (test/**/*.test.ts) with node's runner.
// Usage: npm test [-- PATH_FILTER...]   e.g. npm test -- store apiserver
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const run = (cmd, args) => {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};

run('bash', ['scripts/install-deps.sh']);
// Tests that need these skip (with a reason) where they cannot run; as root — as in CI — every
// one of them must run, so a missing tool is an error here, not a quiet skip.
if (process.getuid?.() === 0) {
  const needed = ['/usr/sbin/runc', '/usr/lib/cni/bridge', '/usr/sbin/nft', '/usr/bin/go', '/usr/bin/buildah', '/usr/bin/kubectl', '/usr/bin/etcd', '/usr/bin/docker-registry', '/usr/lib/python3/dist-packages/kubernetes', '/usr/bin/chromium'];
  const missing = needed.filter((p) => !existsSync(p));
  if (missing.length) {
    console.error(`tests need ${missing.join(', ')}; scripts/install-deps.sh should have installed them`);
    process.exit(1);
  }
}
// The layer rules (.dependency-cruiser.cjs) first: a few seconds, and a wrong import is a design error.
run('npm', ['run', '--silent', 'lint']);
run('node', ['scripts/build.mjs']);
if (!process.env.SKIFF_SKIP_TYPECHECK) run('npx', ['tsc', '--noEmit', '-p', '.']);

function walk(dir, out) {
  let names;
  try { names = readdirSync(join(root, dir)); } catch { return out; }
  for (const name of names) {
    const rel = join(dir, name);
    if (statSync(join(root, rel)).isDirectory()) walk(rel, out);
    else if (name.endsWith('.test.js')) out.push(rel);
  }
  return out;
}
const filters = process.argv.slice(2);
const files = [...walk('dist/src', []), ...walk('dist/test', [])]
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)));
if (files.length === 0) { console.error('no test files matched'); process.exit(1); }
run('node', ['--enable-source-maps', '--test', '--test-concurrency=2', '--test-reporter=spec', ...files]);
