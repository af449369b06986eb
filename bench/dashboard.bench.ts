/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * bench:dashboard — the dashboard in headless Chromium over a large market on PostgreSQL: first load to
 * the overview fully drawn, each page's load, the JavaScript sent (gzipped), and the live update latency
 * (trade settled -> print in the page); beside a naive baseline in the same run: a client that computes
 * the overview's volume and trade count from raw per-agent records (every agent's public profile), as a
 * dashboard without the aggregate endpoints would.
 *
 * Seeding: AGENTS agents registered through the API (app.inject), TRADES trade facts (with their request
 * and agreement facts) over the last 30 days written into analytics_facts, then the analytics rollups
 * rebuilt from them (the path from HTTP to facts is tested in test/analytics-*.test.ts); the live trades
 * go through the whole HTTP path.
 *
 * Usage: npm run bench:dashboard [-- --agents=10000] [-- --trades=1000000] [-- --live=30] [-- --write]
 * Env: BENCH_DATABASE_URL (default postgres://ae:ae@127.0.0.1:5432/ae_bench), CHROMIUM_PATH.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { chromium, type Page } from 'playwright-core';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { systemClock } from '../src/platform/clock.js';
import { createLogger } from '../src/platform/logger.js';
import { createDatabase } from '../src/platform/db/database.js';
import { migrateToLatest } from '../src/platform/db/migrate.js';
import { mulberry32 } from '../src/platform/rng.js';
import { startJobs } from '../src/server.js';
import { ApiClient, agent, listing, trade } from '../test/web/seed.js';
import { percentile, runStamp, writeSection } from './lib/report.js';

const arg = (name: string, dflt: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? dflt);
const AGENTS = arg('agents', 10_000);
const TRADES = arg('trades', 1_000_000);
const LIVE = arg('live', 30);
const WRITE = process.argv.includes('--write');
const PG_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://ae:ae@127.0.0.1:5432/ae_bench';
const SCHEMA = `dashbench_${process.pid}`;
const ADMIN_KEY = 'bench-admin-key-0123456789abcdef';
const DAY = 86_400_000;
const CATEGORIES = ['gpu_compute', 'inference', 'training', 'data_services', 'model_services'];
const REGIONS = ['eu-west', 'eu-central', 'us-east', 'us-west', 'ap-south', 'ap-northeast'];
const SPECS = ['H100', 'A100', 'L40S', 'RTX4090', 'llama-3-70b', 'mistral-7b'];
const COUNTRIES = ['DE', 'FR', 'US', 'GB', 'IN', 'JP', 'SG', 'BR'];
const root = process.cwd();

const uuid = (i: number) => `00000000-0000-7000-8000-${i.toString(16).padStart(12, '0')}`;

async function seedFacts(client: pg.Client, end: number): Promise<void> {
  const rnd = mulberry32(7);
  const start = end - 30 * DAY;
  let rows: unknown[][] = [];
  const flush = async () => {
    if (!rows.length) return;
    const values: unknown[] = [];
    const tuples = rows.map((r, i) => `(${r.map((_, j) => `$${i * r.length + j + 1}`).join(',')})`);
    for (const r of rows) values.push(...r);
    await client.query(`INSERT INTO analytics_facts (key, kind, at, category, region, spec_class, data) VALUES ${tuples.join(',')}`, values);
    rows = [];
  };
  const push = async (r: unknown[]) => { rows.push(r); if (rows.length >= 2000) await flush(); };
  for (let i = 0; i < TRADES; i++) {
    const category = CATEGORIES[Math.floor(rnd() * CATEGORIES.length)]!;
    const region = REGIONS[Math.floor(rnd() * REGIONS.length)]!;
    const specClass = SPECS[Math.floor(rnd() * SPECS.length)]!;
    const at = start + Math.floor(rnd() * 30 * DAY);
    const b = Math.floor(rnd() * 5000);
    const s = Math.floor(rnd() * 5000);
    const price = BigInt(Math.round((1 + SPECS.indexOf(specClass)) * 50_000_000 * (0.8 + 0.4 * rnd())));
    const quantity = 1 + Math.floor(rnd() * 10);
    const id = uuid(1_000_000_000 + i);
    await push([`request:${id}`, 'request', new Date(at - 660_000), category, region, specClass, JSON.stringify({ requestId: id, buyerId: uuid(b), quantity })]);
    await push([`agreement:${id}`, 'agreement', new Date(at - 600_000), category, region, specClass, JSON.stringify({ agreementId: id, requestId: id, requestCell: { category, region, specClass }, timeToAgreementMs: 60_000 })]);
    await push([`trade:${id}`, 'trade', new Date(at), category, region, specClass, JSON.stringify({
      agreementId: id, buyerId: uuid(b), sellerId: uuid(s), pricePerUnit: price.toString(), quantity, volume: (price * BigInt(quantity)).toString(),
      settlementMs: 60_000 + Math.floor(rnd() * 3_600_000), buyerCountry: COUNTRIES[b % 8], buyerRegion: REGIONS[b % 6], sellerCountry: COUNTRIES[s % 8], sellerRegion: REGIONS[s % 6], outcome: 'settled',
    })]);
  }
  await flush();
  await client.query('ANALYZE analytics_facts');
}

/** Loads `url` in a fresh context (cold cache) and returns ms from navigation start until nothing loads and every chart has drawn. */
async function load(browser: import('playwright-core').Browser, base: string, url: string): Promise<number> {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  await page.goto(`${base}${url}`);
  const ms = await settled(page);
  await ctx.close();
  return ms;
}
async function settled(page: Page): Promise<number> {
  // a string, not a function: tsx would wrap named inner functions in a helper the page does not have
  return page.evaluate(`new Promise((resolve) => {
    const check = () => {
      const charts = [...document.querySelectorAll('[data-chart]')];
      if (document.querySelector('main h1') && !document.querySelector('.state.loading, .boot') && charts.every((c) => window.__drawn?.[c.dataset.chart] !== undefined)) {
        resolve(Math.max(performance.now(), ...charts.map((c) => window.__drawn[c.dataset.chart])));
      } else requestAnimationFrame(check);
    };
    check();
  })`) as Promise<number>;
}

function jsGzipped(): { total: number; first: number; files: string[] } {
  const dir = path.join(root, 'dist', 'web', 'assets');
  const files = readdirSync(dir).filter((f) => f.endsWith('.js.gz'));
  const size = (f: string) => statSync(path.join(dir, f)).size;
  const first = files.filter((f) => !f.startsWith('map-')).reduce((s, f) => s + size(f), 0);
  return { total: files.reduce((s, f) => s + size(f), 0), first, files };
}

async function main() {
  execFileSync(process.execPath, [path.join(root, 'scripts', 'build.mjs'), '--web-only', '--if-stale'], { stdio: 'inherit' });
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${SCHEMA}`);
  const u = new URL(PG_URL);
  u.searchParams.set('options', `-c search_path=${SCHEMA}`);
  const database = await createDatabase({ url: u.toString(), poolSize: 8 });
  const client = new pg.Client({ connectionString: u.toString() });
  await client.connect();
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
  try {
    await migrateToLatest(database.db);
    const logger = createLogger('silent');
    const app = await buildApp({ config: loadConfig({ ADMIN_KEY, LOG_LEVEL: 'silent', RATE_LIMIT_PER_MINUTE: '0' }), database, clock: systemClock, logger, adminKey: ADMIN_KEY });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    const api = new ApiClient(base, { authorization: `Bearer ${ADMIN_KEY}` });
    let t0 = performance.now();
    const agents = [];
    for (let i = 0; i < AGENTS; i += 16) agents.push(...await Promise.all(Array.from({ length: Math.min(16, AGENTS - i) }, (_, k) => agent(api, i + k))));
    const agentMs = performance.now() - t0;
    t0 = performance.now();
    await seedFacts(client, Date.now() - 60_000);
    await app.services.analytics.rebuild();
    await client.query('ANALYZE');
    const factMs = performance.now() - t0;
    console.log(`seeded ${AGENTS} agents through the API in ${(agentMs / 1000).toFixed(1)} s; ${TRADES} trades and the rebuild in ${(factMs / 1000).toFixed(1)} s`);
    const stop = startJobs(app, logger);

    const pages = ['/', '/prices', '/leaderboard', `/agents/${agents[0]!.id}`, '/geo', '/indicators'];
    const REPEAT = 3;
    const results: { url: string; ms: number[] }[] = [];
    for (const url of pages) {
      await load(browser, base, url); // warm the server's caches, not the browser's
      const ms: number[] = [];
      for (let i = 0; i < REPEAT; i++) ms.push(await load(browser, base, url));
      results.push({ url, ms: ms.sort((a, b) => a - b) });
      console.log(`${url}: ${ms.map((x) => x.toFixed(0)).join(', ')} ms`);
    }

    // live: trades through the whole HTTP path while the overview is open
    const seller = agents[1]!;
    const buyer = agents[2]!;
    await api.post('/v1/admin/mint', api.admin, { agentId: buyer.id, amount: '100000' });
    const l = await listing(api, seller, { category: 'gpu_compute', model: 'H100', price: '2.5' });
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await ctx.newPage();
    await page.goto(`${base}/`);
    await settled(page);
    await page.waitForSelector('[data-stream="live"]');
    const lat: number[] = [];
    for (let i = 0; i < LIVE; i++) {
      const before = await page.evaluate(() => (window as any).__lastTrade?.id ?? null);
      await trade(api, buyer, seller, l, { quantity: 1, price: (2.5 + i / 1000).toFixed(4) });
      const done = Date.now();
      const got = await page.waitForFunction((b) => { const t = (window as any).__lastTrade; return t && t.id !== b ? t.receivedAt : false; }, before, { timeout: 10_000 });
      lat.push(Number(await got.jsonValue()) - done);
    }
    lat.sort((a, b) => a - b);
    await ctx.close();

    // the naive baseline: the overview's volume and trade count from every agent's profile (6 at a time, like a browser)
    t0 = performance.now();
    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const r: any = await api.get(`/v1/agents?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      ids.push(...r.data.map((a: any) => a.id));
      cursor = r.nextCursor;
    } while (cursor);
    let earned = 0;
    for (let i = 0; i < ids.length; i += 6) {
      const ps = await Promise.all(ids.slice(i, i + 6).map((id) => api.get(`/v1/agents/${id}/profile`)));
      for (const p of ps) earned += Number(p.economicHistory?.totalEarnings ?? 0);
    }
    const naiveMs = performance.now() - t0;
    await stop();

    const js = jsGzipped();
    const kb = (b: number) => (b / 1024).toFixed(0);
    const rows = results.map((r) => `| ${r.url.startsWith('/agents/') ? '/agents/{id}' : r.url} | ${percentile(r.ms, 50).toFixed(0)} | ${r.ms.at(-1)!.toFixed(0)} |`);
    const body = [
      runStamp(),
      '',
      `${AGENTS.toLocaleString('en-US')} agents (registered through the API), ${TRADES.toLocaleString('en-US')} trades (facts over the last 30 days, rollups rebuilt), PostgreSQL, headless Chromium on the same machine; ` +
        `each page loaded ${REPEAT} times in a fresh browser context (cold cache) after one warm-up; "drawn" = every section loaded and every chart drawn (performance.now() from navigation start).`,
      '',
      '| Page | load to drawn, median (ms) | worst (ms) |',
      '| --- | ---: | ---: |',
      ...rows,
      '',
      `JavaScript, gzipped: ${kb(js.first)} KB on first load (target < 300 KB), ${kb(js.total)} KB with the world map chunk the geography page loads.`,
      '',
      `Live update (trade settled over HTTP -> its print in the open overview, ${LIVE} trades): p50 ${percentile(lat, 50).toFixed(0)} ms, p99 ${percentile(lat, 99).toFixed(0)} ms, worst ${lat.at(-1)!.toFixed(0)} ms (target p99 < 2 s; the analytics projection folds every second, the tape polls every 250 ms).`,
      '',
      `Naive baseline, same run: the overview's totals computed by the client from every agent's public profile (${ids.length.toLocaleString('en-US')} agents, 6 requests at a time): ${(naiveMs / 1000).toFixed(1)} s ` +
        `against ${percentile(results[0]!.ms, 50).toFixed(0)} ms for the overview from the aggregate endpoints (and the naive client still has no series, rates or times).`,
    ].join('\n');
    console.log(`\n${body}\n`);
    void earned;
    if (WRITE) writeSection('Dashboard (bench:dashboard)', body);
    await app.close();
  } finally {
    await browser.close();
    await client.end();
    await database.close();
    await admin.query(`DROP SCHEMA ${SCHEMA} CASCADE`);
    await admin.end();
  }
}

await main();
