/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * The dashboard in headless Chromium against a real server (buildApp listening on a port, its jobs
 * running) over a market seeded through the API: each page shows what the API returns (KPI texts, table
 * rows, chart data), a trade made during the test appears live within 2 s, no page logs a console error,
 * and every page can be used with the keyboard.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type ConsoleMessage, type Page } from 'playwright-core';
import { startWebServer, type WebServer } from './server.js';
import { seedMarket, trade, type Market } from './seed.js';
import { kpiTexts, indexText } from '../../web/src/figures.js';
import { aitbc, amount, int, num, pct } from '../../web/src/format.js';
import { formatAmount, parseAmount } from '../../src/platform/money.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`test/web: skipped: no Chromium at ${CHROMIUM} (install the Debian package chromium or set CHROMIUM_PATH)`);

let server: WebServer;
let market: Market;
let browser: Browser;
let page: Page;
const errors: string[] = [];
let hasInsights = false;

async function until<T>(what: string, ms: number, fn: () => Promise<T | undefined | false>): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Opens a page of the app and waits until nothing is loading and every chart has drawn. */
async function open(url: string): Promise<void> {
  await page.goto(`${server.url}${url}`);
  await settle();
}
async function settle(): Promise<void> {
  await page.waitForFunction(() => !!document.querySelector('main h1') && !document.querySelector('.state.loading, .boot')
    && [...document.querySelectorAll<HTMLElement>('[data-chart]')].every((c) => (window as any).__drawn?.[c.dataset.chart!] !== undefined), undefined, { timeout: 15_000 });
}
const texts = (sel: string) => page.$$eval(sel, (els) => els.map((e) => (e.textContent ?? '').trim()));
const chart = (name: string) => page.evaluate((n) => (window as any).__charts?.[n], name);
/**
 * The chart's data once it shows what the API says: both are read again until they agree (a chart drawn
 * before a refetch, or a projection still folding the last trade, catches up), then compared, so a chart
 * that never shows the API's figures fails with the difference.
 */
async function chartData(name: string, pick: (option: any) => unknown, expected: () => Promise<unknown>, ms = 10_000): Promise<{ got: unknown; want: unknown }> {
  return agreed(async () => pick(await chart(name)), expected, ms);
}
/** What the page shows once it agrees with what the API says (both read again), or when `ms` ran out. */
async function agreed(shown: () => Promise<unknown>, expected: () => Promise<unknown>, ms = 10_000): Promise<{ got: unknown; want: unknown }> {
  const end = Date.now() + ms;
  for (;;) {
    const [got, want] = [await shown(), await expected()];
    if (JSON.stringify(got) === JSON.stringify(want) || Date.now() > end) return { got, want };
    await new Promise((r) => setTimeout(r, 150));
  }
}

/** Tab through the page: focus lands only on visible elements, reaches the main content, and never sticks. */
async function tabThrough(max = 30): Promise<{ inMain: number; stops: string[] }> {
  await page.evaluate(() => { (document.activeElement as HTMLElement | null)?.blur(); window.scrollTo(0, 0); });
  const stops: string[] = [];
  let inMain = 0;
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    const s = await page.evaluate(() => {
      const e = document.activeElement as HTMLElement | null;
      if (!e || e === document.body) return null;
      const r = e.getBoundingClientRect();
      return { tag: e.tagName, text: (e.textContent ?? '').trim().slice(0, 30), visible: r.width > 0 && r.height > 0, inMain: !!e.closest('main'), outline: getComputedStyle(e).outlineStyle };
    });
    if (!s) continue;
    expect(s.visible, `focused ${s.tag} "${s.text}" is visible`).toBe(true);
    expect(s.outline, `focused ${s.tag} "${s.text}" shows a focus ring`).not.toBe('none');
    if (s.inMain) inMain++;
    stops.push(`${s.tag}:${s.text}`);
  }
  return { inMain, stops };
}

describe.skipIf(!hasChromium)('the dashboard in a browser', () => {
  beforeAll(async () => {
    execFileSync(process.execPath, [path.resolve('scripts/build.mjs'), '--web-only', '--if-stale'], { stdio: 'inherit' });
    // Chromium starts while the server starts and the market is seeded (neither waits for the other)
    const launched = chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
    launched.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
    server = await startWebServer();
    market = await seedMarket(server.api, { agents: 10, trades: 16 });
    await until('the projection to fold the seeded trades', 20_000, async () => (await server.api.get('/v1/market/overview')).trades === 16);
    hasInsights = JSON.stringify(Object.keys((await server.api.get('/openapi.json')).paths)).includes('/v1/market/insights');
    browser = await launched;
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('console', (m: ConsoleMessage) => {
      if (m.type() !== 'error') return;
      // until /v1/market/insights exists, the indicators page asks once and says "not available"
      if (!hasInsights && m.location().url.endsWith('/v1/market/insights')) return;
      errors.push(`${m.text()} (${m.location().url})`);
    });
    page.on('pageerror', (e) => errors.push(e.message));
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('market overview: the KPIs, the series by category and the latest trades are the API\'s; a new trade appears live within 2 s', async () => {
    await open('/');
    const [cur, prev] = [await server.api.get('/v1/market/overview'), undefined];
    const prevBody = await server.api.get(`/v1/market/overview?from=${encodeURIComponent(new Date(new Date(cur.from).getTime() - 86_400_000).toISOString())}&to=${encodeURIComponent(cur.from)}`);
    void prev;
    const expected = kpiTexts(cur, prevBody);
    expect(await texts('[data-kpi] [data-value]')).toEqual(expected.map((k) => k.value));
    expect(await texts('[data-kpi="trades"] [data-value]')).toEqual([int(16)]);
    expect(await texts('[data-kpi="volume"] [data-value]')).toEqual([aitbc(cur.volume)]);

    // the volume chart: one bar series per traded category, each bucket's volume as the API has it
    const vol = await chart('volume');
    for (const category of ['gpu_compute', 'inference']) {
      const api = await server.api.get(`/v1/market/prices?interval=hour&category=${category}`);
      const s = vol.series.find((x: any) => x.name === (category === 'gpu_compute' ? 'GPU compute' : 'Inference'));
      expect(s.data).toEqual(api.data.map((d: any) => [d.bucket, Number(d.volume)]));
    }
    const price = await chart('price');
    expect(price.series.map((s: any) => s.name).sort()).toEqual(['GPU compute', 'Inference']);

    const tape = await server.api.get('/v1/market/trades?limit=12');
    expect(await page.$$eval('[data-trade]', (rows) => rows.map((r) => (r as HTMLElement).dataset.trade))).toEqual(tape.data.map((p: any) => p.id));
    expect(await texts('[data-trade] [data-price]')).toEqual(tape.data.map((p: any) => amount(p.pricePerUnit)));

    // live: a trade at a price nobody used appears at the top of the tape, and the trade count moves
    await page.waitForSelector('[data-stream="live"]');
    const l = market.listings[0]!;
    const seller = market.sellers.find((s) => s.id === l.sellerId)!;
    await trade(server.api, market.buyers[0]!, seller, l, { quantity: 3, price: '3.1415' });
    const confirmed = Date.now();
    await page.waitForFunction(() => document.querySelector('[data-trade] [data-price]')?.textContent === '3.1415', undefined, { timeout: 5000 });
    const liveMs = Date.now() - confirmed;
    expect(liveMs).toBeLessThan(2000);
    await page.waitForFunction(() => document.querySelector('[data-kpi="trades"] [data-value]')?.textContent === '17', undefined, { timeout: 5000 });
    console.log(`live: the trade showed on the overview ${liveMs} ms after it settled`);

    // keyboard: the interval picker works with Enter, and Tab reaches the page's controls
    await page.focus('[data-picker="interval"] button[data-value="day"]');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.querySelector('[data-picker="interval"] button[data-value="day"]')?.getAttribute('aria-checked') === 'true');
    await settle();
    const vday = await chartData('volume', (o) => o?.series.find((x: any) => x.name === 'GPU compute')?.data,
      async () => (await server.api.get('/v1/market/prices?interval=day&category=gpu_compute')).data.map((d: any) => [d.bucket, Number(d.volume)]));
    expect(vday.got).toEqual(vday.want);
    const tab = await tabThrough(12);
    expect(tab.inMain).toBeGreaterThan(0);
    expect(errors).toEqual([]);
  });

  it('prices: the index table and the selected market\'s history are the API\'s', async () => {
    // the live trade of the overview test is folded before the page loads (the charts are drawn once)
    await until('the projection to fold the live trade', 20_000, async () => (await server.api.get('/v1/market/overview')).trades === 17);
    await open('/prices');
    const ind = await server.api.get('/v1/market/indicators?limit=200');
    expect(await texts('[data-table="index"] [data-index]')).toEqual(ind.data.map((r: any) => indexText(r.priceIndex)));
    // choose the second market with the keyboard
    const second = ind.data[1];
    await page.focus('[data-table="index"] tbody tr:nth-child(2) button');
    await page.keyboard.press('Enter');
    await page.waitForFunction((t) => document.querySelector('[data-section="cell"] h2')?.textContent === t, `${second.category === 'gpu_compute' ? 'GPU compute' : 'Inference'} · ${second.specClass} · ${second.region}`);
    await settle();
    const cell = `category=${second.category}&specClass=${second.specClass}&region=${second.region}`;
    const c = await chartData('cell-price', (o) => o?.series[0]?.data,
      async () => (await server.api.get(`/v1/market/prices?interval=day&${cell}`)).data.filter((d: any) => d.vwap !== null).map((d: any) => [d.bucket, Number(d.vwap)]));
    expect(c.got).toEqual(c.want);
    expect((c.got as unknown[]).length).toBeGreaterThan(0);
    const sd = await chartData('cell-supply', (o) => o?.series[0]?.data,
      async () => (await server.api.get(`/v1/market/supply-demand?interval=day&${cell}`)).data.map((d: any) => [d.bucket, d.supplyUnits]));
    expect(sd.got).toEqual(sd.want);
    expect((await tabThrough(12)).inMain).toBeGreaterThan(0);
    expect(errors).toEqual([]);
  });

  it('leaderboard: the rows are the API\'s, filters apply, and a row opens the agent with the keyboard', async () => {
    await open('/leaderboard');
    const lb = await server.api.get('/v1/leaderboard?limit=20');
    expect(await page.$$eval('[data-table="leaderboard"] tbody tr', (rows) => rows.map((r) => (r as HTMLElement).dataset.agent))).toEqual(lb.data.map((e: any) => e.agentId));
    expect(await texts('[data-table="leaderboard"] [data-trust]')).toEqual(lb.data.map((e: any) => int(e.trustScore)));
    await page.selectOption('[data-filter="region"]', 'us-east');
    await settle();
    // the filter's refetch may not have started when settle() looks: compare once the rows agree (or time out)
    const rowsShown = () => page.$$eval('[data-table="leaderboard"] tbody tr', (rows) => rows.map((r) => (r as HTMLElement).dataset.agent));
    const f = await agreed(rowsShown, async () => (await server.api.get('/v1/leaderboard?limit=20&region=us-east')).data.map((e: any) => e.agentId));
    expect(f.got).toEqual(f.want);
    expect((f.want as string[]).length).toBeLessThan(lb.data.length);
    await page.selectOption('[data-filter="region"]', '');
    await settle();
    const all = await agreed(rowsShown, async () => (await server.api.get('/v1/leaderboard?limit=20')).data.map((e: any) => e.agentId));
    expect(all.got).toEqual(all.want);
    const first = lb.data[0];
    await page.focus(`[data-agent="${first.agentId}"] a`);
    await page.keyboard.press('Enter');
    await page.waitForURL(`**/agents/${first.agentId}`);
    await settle();
    expect(await page.textContent('main h1')).toBe(first.displayName);
    expect(errors).toEqual([]);
  });

  it('agent page: the profile, the five components with the explanation, and the listings are the API\'s', async () => {
    const id = market.sellers[1]!.id;
    await open(`/agents/${id}`);
    const [profile, explain, listings] = await Promise.all([
      server.api.get(`/v1/agents/${id}/profile`), server.api.get(`/v1/agents/${id}/reputation/explain`), server.api.get(`/v1/listings?sellerId=${id}&limit=50`),
    ]);
    expect(await texts('[data-kpi="trust"] [data-value]')).toEqual([int(profile.reputation.trustScore)]);
    expect(await texts('[data-kpi="earnings"] [data-value]')).toEqual([aitbc(profile.economicHistory.totalEarnings)]);
    expect(await texts('[data-kpi="success"] [data-value]')).toEqual([pct(profile.economicHistory.successRate)]);
    expect(await page.$$eval('[data-component]', (els) => els.map((e) => (e as HTMLElement).dataset.component))).toEqual(explain.components.map((c: any) => c.name));
    expect(await texts('[data-component-value]')).toEqual(explain.components.map((c: any) => num(c.value, 1)));
    expect(explain.components).toHaveLength(5);
    expect(await texts('[data-notes] li')).toEqual(explain.notes);
    expect(await page.$$eval('[data-listing]', (els) => els.map((e) => (e as HTMLElement).dataset.listing))).toEqual(listings.data.map((l: any) => l.id));
    // back to the leaderboard with the keyboard
    await page.focus('.crumbs a');
    await page.keyboard.press('Enter');
    await page.waitForURL('**/leaderboard');
    expect(errors).toEqual([]);
  });

  it('geography: the map\'s data, the flows chart\'s links and the country and flow tables are the API\'s', async () => {
    await open('/geo');
    const geo = await server.api.get('/v1/market/geo');
    const map = await chart('geo-map');
    const byCode = new Map(map.series[0].data.map((d: any) => [d.code, d.value]));
    expect(byCode.size).toBe(geo.countries.length);
    for (const c of geo.countries) expect(byCode.get(c.country)).toBeCloseTo(Number(c.bought) + Number(c.sold), 8);
    expect((await page.$$eval('[data-country]', (els) => els.map((e) => (e as HTMLElement).dataset.country))).sort()).toEqual(geo.countries.map((c: any) => c.country).sort());
    // the flows chart: what the ECharts instance holds (getOption) is the API's country flows summed per
    // buyer region -> seller region, in exact decimals (summed here in base units, not by the page's code)
    const sums = new Map<string, { from: string; to: string; trades: number; units: bigint }>();
    for (const f of geo.data) {
      const k = `${f.buyerRegion}>${f.sellerRegion}`;
      const cur = sums.get(k) ?? { from: f.buyerRegion, to: f.sellerRegion, trades: 0, units: 0n };
      cur.trades += f.trades; cur.units += parseAmount(f.volume);
      sums.set(k, cur);
    }
    const want = [...sums.values()].map((f) => ({ source: `buy:${f.from}`, target: `sell:${f.to}`, value: Number(formatAmount(f.units)), trades: f.trades, volume: formatAmount(f.units) }));
    expect(want.length).toBeGreaterThan(1);
    expect(want.some((f) => f.source.slice(4) === f.target.slice(5)), 'the seeded market has a flow inside one region').toBe(true);
    const drawn = await page.evaluate(() => {
      const s = (window as any).__echarts['geo-flows'].getOption().series[0];
      return { type: s.type, nodes: s.data.map((n: any) => n.name), links: s.links.map((l: any) => ({ source: l.source, target: l.target, value: l.value, trades: l.trades, volume: l.volume })) };
    });
    const byKey = (a: { source: string; target: string }, b: { source: string; target: string }) => (a.source + a.target < b.source + b.target ? -1 : 1);
    expect(drawn.type).toBe('sankey');
    expect([...drawn.links].sort(byKey)).toEqual([...want].sort(byKey));
    expect([...drawn.nodes].sort()).toEqual([...new Set(want.flatMap((f) => [f.source, f.target]))].sort());
    // the table fallback: the same flows, largest volume first, amounts as AITBC decimals
    const rows = await page.$$eval('[data-flow]', (els) => els.map((e) => ({ flow: (e as HTMLElement).dataset.flow, trades: e.querySelector('[data-trades]')!.textContent, volume: e.querySelector('[data-volume]')!.textContent })));
    expect([...rows].sort((a, b) => (a.flow! < b.flow! ? -1 : 1))).toEqual([...sums.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([k, f]) => ({ flow: k, trades: int(f.trades), volume: amount(formatAmount(f.units)) })));
    const order = rows.map((r) => sums.get(r.flow!)!.units);
    expect(order.every((u, i) => i === 0 || order[i - 1]! >= u), 'largest flow first').toBe(true);
    expect(await page.getAttribute('[data-chart="geo-flows"]', 'aria-label')).toContain(`${want[0]!.source.slice(4)} to ${want[0]!.target.slice(5)}`);
    // the measure picker by keyboard
    await page.focus('[data-picker="metric"] button[data-value="agents"]');
    await page.keyboard.press('Space');
    await page.waitForFunction(() => (window as any).__charts?.['geo-map']?.series[0].name === 'New agents');
    const agents = await chart('geo-map');
    for (const c of geo.countries) expect(agents.series[0].data.find((d: any) => d.code === c.country).value).toBe(c.newAgents);
    expect((await tabThrough(12)).inMain).toBeGreaterThan(0);
    expect(errors).toEqual([]);
  });

  it('geography with no trades in the period: the flows chart says so instead of drawing nothing', async () => {
    // the page's geography request answered by the real API for a day with no market (before any seeding)
    const empty = `${server.url}/v1/market/geo?from=2020-01-01T00:00:00.000Z&to=2020-01-02T00:00:00.000Z`;
    const body = await server.api.get(empty.slice(server.url.length));
    expect(body.data).toEqual([]);
    await page.route('**/v1/market/geo', (r) => r.continue({ url: empty }));
    try {
      await open('/geo');
      expect(await page.textContent('[data-section="flows"] .state.empty')).toMatch(/^No trades in the last 30 days, so no flows between regions yet/);
      expect(await page.$$('[data-chart="geo-flows"]')).toHaveLength(0);
      expect(await page.textContent('[data-section="flows-table"] .state.empty')).toBe('No trades between regions yet.');
    } finally {
      await page.unroute('**/v1/market/geo');
    }
    expect(errors).toEqual([]);
  });

  it('indicators & risk: rates, HHI per market, and insights (or an honest "not available")', async () => {
    await open('/indicators');
    const ov = await server.api.get('/v1/market/overview?interval=day');
    expect(await texts('[data-kpi="dispute"] [data-value]')).toEqual([pct(ov.disputeRate)]);
    expect(await texts('[data-kpi="failure"] [data-value]')).toEqual([pct(ov.failureRate)]);
    const ind = await server.api.get('/v1/market/indicators?limit=200');
    expect(await texts('[data-table="risk"] [data-hhi]')).toEqual(ind.data.map((r: any) => num(r.sellerConcentrationHhi, 3)));
    if (!hasInsights) expect(await page.textContent('[data-insights]')).toMatch(/^Not available/);
    expect((await tabThrough(12)).inMain).toBeGreaterThan(0);
    expect(errors).toEqual([]);
  });

  it('theme toggle, phone width, unknown routes and the API beside the app', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await open('/');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow, 'no horizontal scrolling of the page at 390 px').toBeLessThanOrEqual(0);
    await page.focus('[data-theme-toggle]');
    const before = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    await page.keyboard.press('Enter');
    await page.waitForFunction((b) => getComputedStyle(document.body).backgroundColor !== b, before);
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    await page.reload();
    await settle();
    expect(await page.evaluate(() => document.documentElement.dataset.theme), 'the choice is kept').toBe('dark');
    await page.setViewportSize({ width: 1280, height: 900 });
    await open('/no/such/page');
    expect(await page.textContent('main h1')).toBe('Page not found');
    // the API and the docs are not the app's
    const r = await fetch(`${server.url}/v1/nope`);
    expect(r.status).toBe(404);
    expect(r.headers.get('content-type')).toContain('application/problem+json');
    const asset = await fetch(`${server.url}${await page.evaluate(() => document.querySelector<HTMLScriptElement>('script[type=module]')!.getAttribute('src'))}`, { headers: { 'accept-encoding': 'gzip' } });
    expect(asset.headers.get('cache-control')).toContain('immutable');
    expect((await fetch(`${server.url}/leaderboard`)).headers.get('cache-control')).toBe('no-cache');
    expect(errors).toEqual([]);
  });
});
