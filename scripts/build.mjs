// Transpiles every TypeScript file under src/, test/ and bench/ into dist/ (no bundling,
// so stack traces and test files map one-to-one). Type checking is `npm run typecheck`.
import { build } from 'esbuild';
import { readdirSync, statSync, writeFileSync, mkdirSync, existsSync, symlinkSync, rmSync } from 'node:fs';
import { join, dirname, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;

function walk(dir, out) {
  let names;
  try { names = readdirSync(join(root, dir)); } catch { return out; }
  for (const name of names) {
    const rel = join(dir, name);
    if (statSync(join(root, rel)).isDirectory()) walk(rel, out);
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(rel);
  }
  return out;
}

const entryPoints = ['src', 'test', 'bench'].flatMap((d) => walk(d, []));
// A module that was moved or deleted must not live on in dist/ (the test runner runs every
// *.test.js it finds there), so the per-file output is rebuilt from scratch; esbuild takes ~1 s.
for (const d of ['src', 'test', 'bench']) rmSync(join(root, 'dist', d), { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints,
  outdir: 'dist',
  outbase: '.',
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'inline',
  logLevel: 'warning',
});
// The command itself is bundled: one file (plus lazily loaded chunks) starts in a fraction of
// the time hundreds of modules take. The shim is its own entry since the runtime spawns it by path.
await build({
  absWorkingDir: root,
  entryPoints: { skiff: 'src/cli/main.ts', shim: 'src/runtime/shim.ts' },
  outdir: 'dist/bundle',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  // Native code and gRPC stay in node_modules.
  external: ['better-sqlite3', 'etcd3', '@kubernetes/client-node', '@peculiar/x509', 'reflect-metadata', 'tsyringe'],
  // Bundled CommonJS packages call require(); give ESM chunks one.
  banner: { js: "import { createRequire as __skiffCreateRequire } from 'node:module'; const require = __skiffCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
mkdirSync(join(root, 'dist'), { recursive: true });
// The native container shim; without a C compiler the runtime uses the Node.js shim instead.
const shimSrc = join(root, 'src/runtime/shim.c');
const shimBin = join(root, 'dist/skiff-shim');
if (!existsSync(shimBin) || statSync(shimBin).mtimeMs < statSync(shimSrc).mtimeMs) {
  const cc = spawnSync('cc', ['-O2', '-Wall', '-o', shimBin, shimSrc], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (cc.status !== 0) console.error('skiff: no C compiler (or it failed); containers will use the Node.js shim');
}
// Tests run from dist/ but read data next to their sources: link testdata folders and examples.
function linkData(dir) {
  let names;
  try { names = readdirSync(join(root, dir)); } catch { return; }
  for (const name of names) {
    const rel = join(dir, name);
    if (!statSync(join(root, rel)).isDirectory()) continue;
    if (name === 'testdata') link(rel);
    else linkData(rel);
  }
}
function link(rel) {
  const target = join(root, 'dist', rel);
  mkdirSync(dirname(target), { recursive: true });
  if (!existsSync(target)) symlinkSync(relative(dirname(target), join(root, rel)), target);
}
linkData('src');
linkData('test');
if (existsSync(join(root, 'examples'))) link('examples');
// The web dashboard's browser bundle (dist/ui/), served by the API server at /ui/.
await import('./build-ui.mjs');
writeFileSync(join(root, 'dist/.stamp'), new Date().toISOString() + '\n');
