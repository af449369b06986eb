/**
 * GET /v1/market/insights over a seeded two-day market (test/helpers/market-seed.ts) against hand-computed
 * figures: trends with their tests (p-values from scipy.stats), growth and retention, top movers, price
 * optimisation, risk indicators; too little data says so; CSV; bad input.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, problem, type TestApp } from './helpers/test-app.js';
import { seedMarket, type MarketSeed } from './helpers/market-seed.js';
import { welchTest } from '../src/modules/analytics/stats.js';

let t: TestApp; let m: MarketSeed;
const get = (url: string) => t.app.inject({ method: 'GET', url });
let ins: any; // eslint-disable-line @typescript-eslint/no-explicit-any

beforeAll(async () => {
  t = await buildTestApp();
  m = await seedMarket(t);
  const r = await get('/v1/market/insights?period=day&at=2026-11-03T12:00:00Z');
  expect(r.statusCode, r.body).toBe(200);
  ins = r.json();
}, 180_000);
afterAll(async () => { await t?.close(); });

const trend = (metric: string) => ins.trends.find((x: { metric: string }) => x.metric === metric);

describe('trends, period over period', () => {
  it('names the period and the one before', () => {
    expect(ins).toMatchObject({ period: 'day', from: '2026-11-03T00:00:00.000Z', to: '2026-11-04T00:00:00.000Z', previousFrom: '2026-11-02T00:00:00.000Z', significanceLevel: 0.05 });
  });

  it('trades 12 against 3: exact Poisson rate test, scipy binomtest(12, 15).pvalue = 0.03515625', () => {
    expect(trend('trades')).toMatchObject({ current: 12, previous: 3, change: 3, test: { pValue: 0.035156, significant: true } });
    expect(trend('newAgents')).toMatchObject({ current: 0, previous: 6, change: -1, test: { pValue: 0.03125, significant: true } }); // binomtest(0, 6)
  });

  it('volume 30.2 against 8.4 with Welch over the hourly volumes', () => {
    // hourly volume of settled trades (the refunded one has none), from the times the seed settled them
    const hourly = (dayStart: number, trades: { endedAt: Date }[], vols: number[]) => {
      const h = Array.from({ length: 24 }, () => 0);
      trades.forEach((x, i) => { h[Math.floor((x.endedAt.getTime() - dayStart) / 3_600_000)]! += vols[i]!; });
      return h;
    };
    const cur = hourly(Date.UTC(2026, 10, 3), m.current, m.currentSpecs.map((s) => (s.outcome === 'refund' ? 0 : Number(s.price) * s.quantity)));
    const prev = hourly(Date.UTC(2026, 10, 2), m.previous, [2, 4.4, 2]);
    const w = welchTest(cur, prev)!;
    expect(trend('volume')).toMatchObject({ current: '30.2', previous: '8.4', unit: 'AITBC' });
    expect(trend('volume').change).toBeCloseTo(30.2 / 8.4 - 1, 10);
    expect(trend('volume').test.statistic).toBeCloseTo(w.t, 3);
    expect(trend('volume').test.pValue).toBeCloseTo(w.pValue, 5);
  });

  it('a test that cannot be computed says why instead of a p-value', () => {
    // VWAP: the previous day's trades all settled within one hour -> one hourly value
    expect(trend('vwap')).toMatchObject({ current: '2.15714285', previous: '2.1', test: { pValue: null, significant: null } }); // 30.2 / 14, 8.4 / 4
    expect(trend('vwap').test.note).toMatch(/at least 2 hours/);
    // match rate 13/13 against 3/3: no failures expected in any cell
    expect(trend('matchRate')).toMatchObject({ current: 1, previous: 1, test: { pValue: null } });
    expect(trend('disputeRate')).toMatchObject({ current: 0.076923, previous: 0, change: null, test: { pValue: null } });
  });
});

describe('growth and agent performance', () => {
  it('new agents a week, retention 3 of 4, cohorts by week of first trade', () => {
    expect(ins.growth.newAgentsPerWeek).toHaveLength(8);
    expect(ins.growth.newAgentsPerWeek.at(-1)).toEqual({ weekStart: '2026-10-28T00:00:00.000Z', newAgents: 6 });
    // previous day: b1, b2, b3, s1; current: b1, b2, s1, s2, s3 -> b1, b2, s1 retained
    expect(ins.growth.retention).toEqual({ status: 'ok', activePrevious: 4, activeCurrent: 5, retained: 3, rate: 0.75 });
    expect(ins.growth.cohorts.at(-1)).toMatchObject({ weekStart: '2026-10-28T00:00:00.000Z', size: 6 });
  });

  it('top movers in volume and fill rate', () => {
    expect(ins.agentPerformance.volume).toEqual([
      { agentId: m.s2.id, current: '11.5', previous: '0', change: '11.5', trades: 5 },
      { agentId: m.s3.id, current: '6.2', previous: '0', change: '6.2', trades: 2 },
      { agentId: m.s1.id, current: '12.5', previous: '8.4', change: '4.1', trades: 5 },
    ]);
    // s1: 5 of 6 ended agreements settled (one refunded) against 3 of 3; s2 and s3 had none the day before
    expect(ins.agentPerformance.fillRate.movers).toEqual([{ agentId: m.s1.id, current: 0.833333, previous: 1, change: -0.166667, endedCurrent: 6, endedPrevious: 3 }]);
    // newcomers' trust scores stay 0 over two days (cold start): no mover, but computed
    expect(ins.agentPerformance.trust).toEqual({ status: 'ok', movers: [] });
  });
});

describe('price optimisation and risk', () => {
  it('listings far from the index and the fill rate that costs them', async () => {
    const p = ins.priceOptimisation;
    // indexes at the period end: H100 eu-west 2.4, H100 us-east 2.3 (see the indicators); A100 has 2 trades: no index
    expect(p).toMatchObject({ status: 'ok', listingsWithoutIndex: 1 });
    expect(p.bands).toEqual([
      { band: 'below', listings: 1, withAgreement: 0, fillRate: 0 }, // 1.8 = -25 %
      { band: 'at', listings: 2, withAgreement: 2, fillRate: 1 }, // 2.5 (+4.2 %) and 2.3 (0 %)
      { band: 'above', listings: 1, withAgreement: 0, fillRate: 0 }, // 5 = +108 %
    ]);
    expect(p.costs.map((c: { band: string; fillRateDifference: number }) => [c.band, c.fillRateDifference])).toEqual([['below', -1], ['above', -1]]);
    expect(p.furthest[0]).toMatchObject({ listingId: m.euHigh.id, price: '5', index: '2.4', deviation: 1.083333, agreements: 0 });
    expect(p.furthest[1]).toMatchObject({ listingId: m.euLow.id, deviation: -0.25 });
  });

  it('HHI, volatility, dispute spikes and regional spread', () => {
    // seller volumes 12.5, 11.5, 6.2 of 30.2
    expect(ins.risk.concentration).toEqual([{ category: 'gpu_compute', sellers: 3, volume: '30.2', hhi: Math.round(((12.5 ** 2 + 11.5 ** 2 + 6.2 ** 2) / 30.2 ** 2) * 1e4) / 1e4, level: 'high' }]);
    const vol = Object.fromEntries(ins.risk.volatility.map((v: { specClass: string; region: string }) => [`${v.specClass}/${v.region}`, v]));
    expect(vol['H100/eu-west'].ewma).toBeCloseTo(Math.abs(Math.log(2.5 / 2.1)), 5); // daily VWAPs 8.4/4 and 12.5/5
    expect(vol['A100/eu-west']).toMatchObject({ status: 'insufficient_data' });
    expect(vol['A100/eu-west'].reason).toMatch(/1 day\(s\)/);
    // no dispute in the 28 days before, one on the day: a spike
    expect(ins.risk.disputeSpikes).toMatchObject({ status: 'ok', baselineRate: 0, days: [{ day: '2026-11-03T00:00:00.000Z', disputes: 1, ended: 13, spike: true }] });
    const h100 = ins.risk.regionalSpread.find((s: { specClass: string }) => s.specClass === 'H100');
    expect(h100).toMatchObject({ status: 'ok', low: { region: 'us-east', index: '2.3' }, high: { region: 'eu-west', index: '2.4' }, meetsTarget: true });
    expect(h100.spread).toBeCloseTo(0.1 / 2.3, 5);
  });
});

describe('too little data, filters, CSV, bad input', () => {
  it('the first day has nothing before it: tests and baselines say so', async () => {
    const r = (await get('/v1/market/insights?period=day&at=2026-11-02T12:00:00Z')).json();
    expect(r.growth.retention).toMatchObject({ status: 'insufficient_data' });
    expect(r.risk.disputeSpikes).toMatchObject({ status: 'insufficient_data' });
    expect(r.agentPerformance.fillRate).toMatchObject({ status: 'insufficient_data', movers: [] });
    const empty = (await get('/v1/market/insights?period=month&at=2026-01-15T00:00:00Z')).json();
    expect(empty.trends.find((x: { metric: string }) => x.metric === 'trades')).toMatchObject({ current: 0, previous: 0, change: null, test: { pValue: null } });
    expect(empty.priceOptimisation.status).toBe('insufficient_data');
  });

  it('filters by region; week and month periods', async () => {
    const us = (await get('/v1/market/insights?period=day&at=2026-11-03T12:00:00Z&region=us-east')).json();
    expect(us.trends[0]).toMatchObject({ metric: 'trades', current: 5, previous: 0 });
    expect(us.agentPerformance.volume.map((v: { agentId: string }) => v.agentId)).toEqual([m.s2.id]);
    const week = (await get('/v1/market/insights?period=week&at=2026-11-03T12:00:00Z')).json();
    expect(week).toMatchObject({ from: '2026-11-02T00:00:00.000Z', to: '2026-11-09T00:00:00.000Z', previousFrom: '2026-10-26T00:00:00.000Z' });
    expect(week.trends[0]).toMatchObject({ current: 15, previous: 0 });
    const month = (await get('/v1/market/insights?period=month&at=2026-11-03T12:00:00Z')).json();
    expect(month).toMatchObject({ from: '2026-11-01T00:00:00.000Z', to: '2026-12-01T00:00:00.000Z', previousFrom: '2026-10-01T00:00:00.000Z' });
  });

  it('as CSV: section,item,field,value', async () => {
    const r = await get('/v1/market/insights?period=day&at=2026-11-03T12:00:00Z&format=csv');
    expect(r.headers['content-type']).toMatch(/^text\/csv/);
    const lines = r.body.trim().split('\n');
    expect(lines[0]).toBe('section,item,field,value');
    expect(lines).toContain('trends,trades,test.pValue,0.035156');
    expect(lines).toContain('risk,concentration,0.level,high');
  });

  it('bad input is a 400 problem', async () => {
    for (const q of ['period=year', 'at=yesterday', 'region=EU WEST', 'bogus=1']) {
      const r = await get(`/v1/market/insights?${q}`);
      expect(r.statusCode, q).toBe(400);
      expect(problem(r).code).toBe('validation_failed');
    }
  });
});
