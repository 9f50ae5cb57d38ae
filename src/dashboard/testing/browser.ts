/**
 * Test support: Debian's Chromium driven by playwright-core against a cluster's dashboard, with
 * every console error and uncaught page error collected, so tests can assert there were none.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** Why browser tests cannot run here (no Chromium), or false. */
export const browserSkip: string | false = existsSync(CHROMIUM) ? false : `needs Chromium at ${CHROMIUM} (apt-get install chromium)`;

/** A page's problems: console errors and uncaught exceptions, with the URL they came from. */
export interface PageProblem {
  kind: 'console' | 'pageerror';
  text: string;
  url?: string;
}

export interface DashboardBrowser {
  browser: Browser;
  page: Page;
  /** Every console error and page error so far. */
  problems: PageProblem[];
  close(): Promise<void>;
}

/** Launches headless Chromium (the cluster's self-signed certificate is accepted) and opens one page. */
export async function openDashboardBrowser(opts: { width?: number; height?: number } = {}): Promise<DashboardBrowser> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--ignore-certificate-errors', '--disable-gpu', '--disable-dev-shm-usage'] });
  try {
    const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: opts.width ?? 1360, height: opts.height ?? 900 } });
    const page = await context.newPage();
    const problems: PageProblem[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push({ kind: 'console', text: m.text(), url: m.location().url });
    });
    page.on('pageerror', (e) => problems.push({ kind: 'pageerror', text: `${e.name}: ${e.message}` }));
    return { browser, page, problems, close: () => browser.close() };
  } catch (err) {
    await browser.close();
    throw err;
  }
}

/**
 * Navigates, trying again when Chromium drops the navigation with ERR_NETWORK_CHANGED: it does
 * so whenever the host's interfaces change, which other tests on the same machine (bridges,
 * veths, network namespaces) do at any moment.
 */
export async function goto(page: Page, url: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await page.goto(url);
      return;
    } catch (err) {
      if (attempt >= 5 || !/ERR_NETWORK_CHANGED/.test((err as Error).message)) throw err;
      await page.waitForTimeout(200);
    }
  }
}

/** Signs in on the dashboard at `url` (the API server's base URL) with a bearer token. */
export async function signIn(page: Page, url: string, token: string): Promise<void> {
  await goto(page, `${url}/ui/`);
  await page.fill('#token', token);
  await page.click('button[type=submit]');
  await page.waitForSelector('header nav');
}
