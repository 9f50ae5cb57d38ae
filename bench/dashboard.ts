/**
 * dashboard: the web UI at 1,000 pods. `skiff server` with 10 sim nodes runs PODS pods; headless
 * Chromium (playwright-core, Debian's /usr/bin/chromium) opens the pod list, already signed in,
 * in a fresh browser context each run (nothing cached). Measured in the page, from navigation
 * start: first meaningful paint (the first pod row is on screen), the complete list (the count
 * says PODS), and the overview's first paint (the node table); plus the bundle's size (what the
 * first page load fetches, raw and gzipped, and everything including the lazily loaded xterm.js
 * and YAML chunks). Target: first paint ≤ 1 s.
 * Env/args: PODS (1000), RUNS (5).
 * Prints {"bench":"dashboard", first_paint_median_ms, complete_list_median_ms, ...}.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { startCluster } from '../test/support/cluster.js';
import { openDashboardBrowser } from '../src/dashboard/testing/browser.js';
import { LoadClient, createPods, ensureDefaultServiceAccount, intArg, log, podManifest, round, sleep, startSimProcess } from './support.js';

const PODS = intArg('PODS', 1000);
const RUNS = intArg('RUNS', 5);
const UI_DIR = fileURLToPath(new URL('../ui/', import.meta.url));

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Bytes of the bundle: the files index.html loads up front (and their static imports), and all of it. */
function bundleSize(): { initial_kb: number; initial_gzip_kb: number; total_kb: number; total_gzip_kb: number; files: number } {
  const files = readdirSync(UI_DIR).filter((f) => statSync(join(UI_DIR, f)).isFile());
  const index = readFileSync(join(UI_DIR, 'index.html'), 'utf8');
  const initial = new Set(['index.html']);
  const queue = [...index.matchAll(/(?:src|href)="([\w.-]+\.(?:js|css))"/g)].map((m) => m[1]);
  while (queue.length) {
    const f = queue.pop()!;
    if (initial.has(f)) continue;
    initial.add(f);
    // Static imports of a chunk (`from"./chunk-X.js"`), not the dynamic `import("./terminal-X.js")`.
    if (f.endsWith('.js')) for (const m of readFileSync(join(UI_DIR, f), 'utf8').matchAll(/from\s*"\.\/([\w.-]+\.js)"/g)) queue.push(m[1]);
  }
  const size = (names: Iterable<string>, gz: boolean) => {
    let n = 0;
    for (const f of names) {
      const b = readFileSync(join(UI_DIR, f));
      n += gz ? gzipSync(b).length : b.length;
    }
    return round(n / 1024);
  };
  return { initial_kb: size(initial, false), initial_gzip_kb: size(initial, true), total_kb: size(files, false), total_gzip_kb: size(files, true), files: files.length };
}

const c = await startCluster({ args: ['--name', 'bdash', '--registry-port', 'off'] });
let sim: Awaited<ReturnType<typeof startSimProcess>> | undefined;
try {
  sim = await startSimProcess(c.kubeconfig, ['--nodes', '10', '--prefix', 'dash-', '--pods', '200']);
  const client = new LoadClient(c.kubeconfig, 32);
  await ensureDefaultServiceAccount(client);
  log(`creating ${PODS} pods`);
  const { failures } = await createPods(client, PODS, 32, (i) => podManifest(`p-${i}`));
  for (let i = 0; i < 600; i++) {
    const list = JSON.parse((await client.request('GET', '/api/v1/namespaces/default/pods?fieldSelector=status.phase%3DRunning')).body);
    if (list.items.length >= PODS - failures) break;
    await sleep(500);
  }
  client.close();
  const token = /token: (\S+)/.exec(readFileSync(c.kubeconfig, 'utf8'))![1];
  const b = await openDashboardBrowser();
  const firstPaint: number[] = [];
  const complete: number[] = [];
  const overview: number[] = [];
  try {
    for (let r = 0; r < RUNS; r++) {
      // A fresh context each run: no cached assets, no kept connections.
      const ctx = await b.browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1360, height: 900 } });
      await ctx.addInitScript((t) => sessionStorage.setItem('skiff.token', t), token);
      const page = await ctx.newPage();
      await page.goto(`${c.url}/ui/#/pods`, { waitUntil: 'commit' });
      const t1 = await page.waitForFunction(() => document.querySelector('table[aria-label=pods] tbody tr:not(.spacer) a') && performance.now(), undefined, { polling: 'raf', timeout: 60_000 });
      const t2 = await page.waitForFunction((n) => document.querySelector('[data-testid=pod-count]')?.textContent === `${n} pods` && performance.now(), PODS - failures, { polling: 'raf', timeout: 60_000 });
      firstPaint.push(Number(await t1.jsonValue()));
      complete.push(Number(await t2.jsonValue()));
      const page2 = await ctx.newPage();
      await page2.goto(`${c.url}/ui/#/`, { waitUntil: 'commit' });
      const t3 = await page2.waitForFunction(() => document.querySelectorAll('table[aria-label=nodes] tbody tr').length >= 10 && performance.now(), undefined, { polling: 'raf', timeout: 60_000 });
      overview.push(Number(await t3.jsonValue()));
      if (r === 0) {
        const rows = await page.locator('table[aria-label=pods] tbody tr:not(.spacer)').count();
        log(`pod list: ${rows} rows in the DOM for ${PODS - failures} pods`);
      }
      await ctx.close();
    }
  } finally {
    await b.close();
  }
  console.log(
    JSON.stringify({
      bench: 'dashboard',
      pods: PODS,
      create_failures: failures,
      runs: RUNS,
      first_paint_median_ms: round(median(firstPaint)),
      complete_list_median_ms: round(median(complete)),
      overview_paint_median_ms: round(median(overview)),
      first_paint_ms: firstPaint.map((x) => round(x)),
      complete_list_ms: complete.map((x) => round(x)),
      bundle: bundleSize(),
      target_first_paint_ms: 1000,
    }),
  );
} finally {
  await sim?.stop();
  await c.destroy();
}
