/**
 * Economic reports from a seeded market (test/helpers/market-seed.ts): every format from the one model;
 * the PDF turned into pages (pdftoppm) and its text (pdftotext) carrying the JSON's figures; the HTML
 * self-contained; the job storing each closed period once, listed and downloadable at /v1/reports; a
 * period with no trades says so; bad input.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildTestApp, problem, type TestApp } from './helpers/test-app.js';
import { seedMarket } from './helpers/market-seed.js';
import { fmt, fmtChange, targetText } from '../src/modules/reports/reports.render.js';
import type { ReportModel } from '../src/modules/reports/reports.port.js';

let t: TestApp;
let model: ReportModel;
const get = (url: string, headers: Record<string, string> = {}) => t.app.inject({ method: 'GET', url, headers });
const AT = 'period=day&at=2026-11-03T12:00:00Z';
const POPPLER = existsSync('/usr/bin/pdftoppm') && existsSync('/usr/bin/pdftotext');

beforeAll(async () => {
  t = await buildTestApp();
  await seedMarket(t);
  const r = await get(`/v1/market/report?${AT}`);
  expect(r.statusCode, r.body).toBe(200);
  model = r.json();
}, 180_000);
afterAll(async () => { await t?.close(); });

const kpi = (key: string) => model.kpis.find((k) => k.key === key)!;
const target = (metric: string) => model.targets.find((x) => x.metric === metric)!;

describe('the report model', () => {
  it('KPIs against the previous day, hand-computed from the seed', () => {
    expect(model).toMatchObject({ version: 1, period: 'day', from: '2026-11-03T00:00:00.000Z', to: '2026-11-04T00:00:00.000Z', previousFrom: '2026-11-02T00:00:00.000Z', empty: false });
    expect(kpi('trades')).toMatchObject({ current: 12, previous: 3, change: 3 });
    expect(kpi('volume')).toMatchObject({ current: '30.2', previous: '8.4', unit: 'AITBC' });
    expect(kpi('vwap')).toMatchObject({ current: '2.15714285', previous: '2.1' }); // 30.2 / 14 units, 8.4 / 4
    expect(kpi('activeAgents')).toMatchObject({ current: 5, previous: 4 });
    expect(kpi('matchRate')).toMatchObject({ current: 1, previous: 1 });
    expect(kpi('disputeRate').current).toBeCloseTo(1 / 13, 10); // one refunded of 13 ended
  });

  it("the plan's targets: met, missed, or not measured with the reason", () => {
    expect(target('Daily transactions')).toMatchObject({ actual: 12, status: 'missed' });
    expect(target('Daily transaction value')).toMatchObject({ actual: 30.2, status: 'missed' });
    // cross-border volume: b2 (FR) from s1 (DE) 2.4 + 2.5, every US sale 11.5, b2 from s3 3.2: 19.6 of 30.2
    expect(target('Cross-border transactions')).toMatchObject({ status: 'met' });
    expect(target('Cross-border transactions').actual).toBeCloseTo(19.6 / 30.2, 6);
    expect(target('Market liquidity')).toMatchObject({ status: 'met' }); // H100 2.4 eu-west against 2.3 us-east: 4.3 %
    expect(target('Matching efficiency')).toMatchObject({ actual: 1, status: 'met' });
    expect(target('Agent retention')).toMatchObject({ status: 'not_measured' }); // monthly target, day report
    expect(target('Agent retention').reason).toMatch(/monthly/);
    expect(target('Task completion rate').actual).toBeCloseTo(12 / 13, 6);
    for (const x of model.targets) if (x.status === 'not_measured') expect(x.reason.length, x.metric).toBeGreaterThan(10);
    expect(model.targets.filter((x) => x.status === 'met').every((x) => x.actual !== null)).toBe(true);
  });

  it('chart data from the price series and the insights', () => {
    const vol = model.charts.find((c) => c.id === 'volume')!;
    expect(vol.x).toHaveLength(24);
    expect(vol.series[0]!.data.reduce((s: number, v) => s + (v ?? 0), 0)).toBeCloseTo(30.2, 8);
    expect(vol.series[1]!.data.reduce((s: number, v) => s + (v ?? 0), 0)).toBeCloseTo(8.4, 8);
    expect(model.insights.risk.concentration[0]!.level).toBe('high');
  });
});

describe('formats rendered from the model', { timeout: 120_000 }, () => {
  it('HTML: self-contained (no external reference), charts as inline SVG, the figures of the JSON', async () => {
    const r = await get(`/v1/market/report?${AT}&format=html`);
    expect(r.headers['content-type']).toMatch(/^text\/html/);
    const html = r.body;
    expect(html).not.toMatch(/<script|<link|<img|<iframe|@import|url\((?!#)/i); // url(#id): clip paths inside the same SVG
    expect(html).not.toMatch(/\b(src|href)\s*=/i);
    // the only URLs are the SVG namespace names in xmlns attributes, which nothing fetches
    expect(html.replace(/xmlns(:xlink)?="http:\/\/www\.w3\.org\/[^"]+"/g, '')).not.toMatch(/https?:\/\//);
    expect(html.match(/<svg\b/g)).toHaveLength(model.charts.length);
    for (const k of model.kpis) expect(html, k.key).toContain(fmt(k.current, k.unit));
    if (process.env.REPORT_SAMPLE) writeFileSync(process.env.REPORT_SAMPLE, html); // docs/screenshots/report-day.png is a screenshot of this file
    expect((await get(`/v1/market/report?${AT}`, { accept: 'text/html' })).headers['content-type']).toMatch(/^text\/html/);
  }, 120_000); // rendering takes ~5 s, far more on a loaded machine

  it('PDF: pages from pdftoppm, and pdftotext finds the JSON report\'s figures', async (ctx) => {
    const r = await get(`/v1/market/report?${AT}&format=pdf`);
    expect(r.headers['content-type']).toBe('application/pdf');
    expect(r.rawPayload.subarray(0, 5).toString()).toBe('%PDF-');
    if (!POPPLER) { ctx.skip(); return; } // poppler-utils (pdftoppm, pdftotext) not installed: the page and text checks are skipped
    const dir = mkdtempSync(path.join(tmpdir(), 'ae-report-'));
    try {
      const file = path.join(dir, 'r.pdf');
      writeFileSync(file, r.rawPayload);
      execFileSync('/usr/bin/pdftoppm', ['-r', '40', '-png', file, path.join(dir, 'page')]);
      const pages = readdirSync(dir).filter((f) => f.endsWith('.png'));
      expect(pages.length).toBeGreaterThanOrEqual(2);
      const text = execFileSync('/usr/bin/pdftotext', ['-layout', file, '-'], { encoding: 'utf8' });
      const flat = text.replace(/\s+/g, ' ');
      expect(flat).toContain(model.title);
      for (const k of model.kpis) {
        expect(flat, k.key).toContain(`${k.label} ${fmt(k.current, k.unit)} ${fmt(k.previous, k.unit)} ${fmtChange(k.change)}`);
      }
      for (const x of model.targets.filter((y) => y.status !== 'not_measured')) expect(flat, x.metric).toContain(targetText(x));
      for (const tr of model.insights.trends.filter((y) => y.test.pValue !== null)) expect(flat, tr.metric).toContain(tr.test.pValue!.toFixed(4));
      expect(flat).toContain('Volume per hour (AITBC)'); // a chart's title, drawn from its SVG
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('CSV: every table in one file led by its name, or one table with ?table=', async () => {
    const all = await get(`/v1/market/report?${AT}&format=csv`);
    expect(all.headers['content-type']).toMatch(/^text\/csv/);
    const names = new Set(all.body.trim().split('\n').map((l) => l.split(',')[0]));
    expect([...names]).toEqual(['kpis', 'targets', 'trends', 'series', 'volume_movers', 'fill_rate_movers', 'trust_movers', 'price_bands', 'far_from_index', 'concentration', 'volatility', 'dispute_days', 'regional_spread']);
    const kpis = (await get(`/v1/market/report?${AT}&format=csv&table=kpis`)).body.trim().split('\n');
    expect(kpis[0]).toBe('key,label,unit,current,previous,change');
    expect(kpis).toContain('volume,Volume,AITBC,30.2,8.4,2.595238');
    expect(kpis).toHaveLength(model.kpis.length + 1);
  });
});

describe('stored reports', { timeout: 120_000 }, () => {
  it('the job stores each closed period once; listed newest first and downloadable', async () => {
    t.clock.set(Date.UTC(2026, 10, 4, 0, 2));
    expect(await t.app.services.reports.storeClosed()).toEqual([
      { period: 'day', from: '2026-11-02T00:00:00.000Z' }, // 2026-11-03 closed only 2 minutes ago: within the grace period
      { period: 'week', from: '2026-10-26T00:00:00.000Z' },
      { period: 'month', from: '2026-10-01T00:00:00.000Z' },
    ]);
    t.clock.set(Date.UTC(2026, 10, 4, 0, 6));
    expect(await t.app.services.reports.storeClosed()).toEqual([{ period: 'day', from: '2026-11-03T00:00:00.000Z' }]);
    expect(await t.app.services.reports.storeClosed()).toEqual([]); // once
    const list = (await get('/v1/reports')).json();
    expect(list.data.map((r: { period: string; from: string }) => `${r.period} ${r.from.slice(0, 10)}`)).toEqual(['day 2026-11-03', 'day 2026-11-02', 'week 2026-10-26', 'month 2026-10-01']);
    const day = list.data[0];
    const stored = (await get(`/v1/reports/${day.id}`)).json();
    expect(stored.kpis).toEqual(model.kpis); // the same figures as the report generated on request
    expect(stored.from).toBe('2026-11-03T00:00:00.000Z');
    const pdf = await get(day.links.pdf);
    expect(pdf.headers['content-type']).toBe('application/pdf');
    expect(pdf.headers['content-disposition']).toContain('agent-economy-day-2026-11-03.pdf');
    expect((await get(`/v1/reports/${day.id}`, { accept: 'text/csv' })).body.startsWith('kpis,key,label')).toBe(true);
    const p1 = (await get('/v1/reports?limit=2')).json();
    const p2 = (await get(`/v1/reports?limit=2&cursor=${p1.nextCursor}`)).json();
    expect([...p1.data, ...p2.data].map((r: { id: string }) => r.id)).toEqual(list.data.map((r: { id: string }) => r.id));
    expect(p2.nextCursor).toBeNull();
    expect((await get('/v1/reports?period=month')).json().data).toHaveLength(1);
  }, 120_000);

  it('a period with no trades says so', async () => {
    const empty = (await get('/v1/market/report?period=month&at=2026-01-15T00:00:00Z')).json();
    expect(empty).toMatchObject({ empty: true });
    expect(empty.notes[0]).toBe('No trades settled in this month: the figures below are zero or not computable, and say so.');
    expect(empty.kpis.find((k: { key: string }) => k.key === 'vwap')).toMatchObject({ current: null, previous: null });
    const html = (await get('/v1/market/report?period=month&at=2026-01-15T00:00:00Z&format=html')).body;
    expect(html).toContain('No trades settled in this month');
    expect(html).toContain('None: no seller traded in this or the previous period.');
  });

  it('bad input: 400 or 404 problems', async () => {
    for (const url of ['/v1/reports/not-an-id', '/v1/reports?period=year', '/v1/reports?cursor=xyz', '/v1/market/report?format=xml', '/v1/market/report?table=nope', '/v1/market/report?at=soon']) {
      const r = await get(url);
      expect(r.statusCode, url).toBe(400);
      expect(problem(r).code).toBe('validation_failed');
    }
    const missing = await get('/v1/reports/01a199c5-3280-7577-88ba-433fcce162f7');
    expect(missing.statusCode).toBe(404);
    expect(problem(missing).code).toBe('not_found');
  });
});
