// Runs one benchmark: npm run bench -- NAME [ARGS...]. Each prints one JSON line of figures.
import { spawnSync } from 'node:child_process';
const root = new URL('..', import.meta.url).pathname;
const [name, ...args] = process.argv.slice(2);
if (!name) { console.error('usage: npm run bench -- NAME (see bench/)'); process.exit(2); }
let r = spawnSync('node', ['scripts/build.mjs'], { cwd: root, stdio: 'inherit' });
if (r.status !== 0) process.exit(r.status ?? 1);
r = spawnSync('node', ['--enable-source-maps', `dist/bench/${name}.js`, ...args], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
