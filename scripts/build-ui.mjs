// Bundles the web dashboard (src/dashboard/ui/) for browsers into dist/ui/: content-hashed JS and
// CSS plus an index.html naming them. The API server serves this directory at /ui/ (see
// src/dashboard/assets.ts); everything it needs is in it, so the dashboard works offline.
import { build } from 'esbuild';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const out = join(root, 'dist/ui');
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const entryPoints = { app: 'src/dashboard/ui/main.ts', xterm: 'node_modules/@xterm/xterm/css/xterm.css', style: 'src/dashboard/ui/style.css' };
const result = await build({
  absWorkingDir: root,
  entryPoints,
  outdir: out,
  entryNames: '[name]-[hash]',
  bundle: true,
  // xterm.js and the YAML library load when first needed (exec, YAML pages), not for the first paint.
  splitting: true,
  minify: true,
  format: 'esm',
  platform: 'browser',
  target: ['chrome110', 'firefox110', 'safari16'],
  sourcemap: false,
  metafile: true,
  logLevel: 'warning',
});
// Only the page's entry points go into it; chunks and lazily imported modules are imported by them.
const pageEntries = new Set(Object.values(entryPoints));
const entries = Object.entries(result.metafile.outputs).filter(([, o]) => pageEntries.has(o.entryPoint)).map(([p]) => basename(p));
const js = entries.filter((f) => f.endsWith('.js'));
const css = entries.filter((f) => f.endsWith('.css'));
const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>skiff</title>
${css.map((f) => `<link rel="stylesheet" href="${f}">`).join('\n')}
</head>
<body>
<div id="app"><p class="boot">Loading skiff…</p></div>
${js.map((f) => `<script type="module" src="${f}"></script>`).join('\n')}
</body>
</html>
`;
writeFileSync(join(out, 'index.html'), html);
