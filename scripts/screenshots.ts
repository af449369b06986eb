/**
 * `npm run screenshots`: every dashboard page over a freshly seeded market, in light at 1280 px, the
 * overview and the agent page in dark, and two pages on a phone (390 px), into docs/screenshots/.
 * `npm run screenshots -- geo.png prices.png` renders only the files named.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Page } from 'playwright-core';
import { startWebServer } from '../test/web/server.js';
import { seedMarket } from '../test/web/seed.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'docs', 'screenshots');
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
if (!existsSync(chromiumPath)) {
  process.stderr.write(`screenshots: no Chromium at ${chromiumPath} (install the Debian package chromium or set CHROMIUM_PATH)\n`);
  process.exit(1);
}
execFileSync(process.execPath, [path.join(root, 'scripts', 'build.mjs'), '--web-only', '--if-stale'], { stdio: 'inherit' });
mkdirSync(out, { recursive: true });

/** Waits until no section is loading and every chart on the page has drawn. */
export async function settled(page: Page): Promise<void> {
  await page.waitForFunction(() => document.querySelector('main') && !document.querySelector('.state.loading, .boot')
    && [...document.querySelectorAll<HTMLElement>('[data-chart]')].every((c) => (window as any).__drawn?.[c.dataset.chart!] !== undefined), undefined, { timeout: 20_000 });
  await page.waitForTimeout(400);
}

const server = await startWebServer();
try {
  const market = await seedMarket(server.api, { agents: 16, trades: 40 });
  // the projection folds the trades (about once a second): wait until the overview counts them all
  for (const end = Date.now() + 30_000; (await server.api.get('/v1/market/overview')).trades < market.trades.length;) {
    if (Date.now() > end) throw new Error('screenshots: the analytics projection did not fold the seeded trades within 30 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  const browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox', '--disable-gpu'] });
  const agent = market.sellers[0]!.id;
  const shots: { file: string; url: string; width: number; height: number; dark?: boolean; full?: boolean }[] = [
    { file: 'overview.png', url: '/', width: 1280, height: 900, full: true },
    { file: 'prices.png', url: '/prices', width: 1280, height: 900, full: true },
    { file: 'leaderboard.png', url: '/leaderboard', width: 1280, height: 900, full: true },
    { file: 'agent.png', url: `/agents/${agent}`, width: 1280, height: 900, full: true },
    { file: 'geo.png', url: '/geo', width: 1280, height: 900, full: true },
    { file: 'indicators.png', url: '/indicators', width: 1280, height: 900, full: true },
    { file: 'overview-dark.png', url: '/', width: 1280, height: 900, dark: true, full: true },
    { file: 'agent-dark.png', url: `/agents/${agent}`, width: 1280, height: 900, dark: true, full: true },
    { file: 'overview-phone.png', url: '/', width: 390, height: 844, full: true },
    { file: 'leaderboard-phone-dark.png', url: '/leaderboard', width: 390, height: 844, dark: true, full: true },
  ];
  const only = process.argv.slice(2);
  const unknown = only.filter((f) => !shots.some((s) => s.file === f));
  if (unknown.length) throw new Error(`screenshots: no shot named ${unknown.join(', ')} (known: ${shots.map((s) => s.file).join(', ')})`);
  for (const s of shots.filter((x) => only.length === 0 || only.includes(x.file))) {
    const ctx = await browser.newContext({ viewport: { width: s.width, height: s.height }, colorScheme: s.dark ? 'dark' : 'light', deviceScaleFactor: 1 });
    const page = await ctx.newPage();
    await page.goto(`${server.url}${s.url}`);
    await settled(page);
    await page.screenshot({ path: path.join(out, s.file), fullPage: s.full ?? false });
    process.stdout.write(`docs/screenshots/${s.file}\n`);
    await ctx.close();
  }
  await browser.close();
} finally {
  await server.close();
}
