/**
 * The market API over real trades: overview, price series, supply and demand, geography, indicators (price
 * index, spread, volatility against hand-computed values; too few trades says so), price advice, CSV on the
 * series, public access, and bad input as problem+json.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, problem, type TestApp } from './helpers/test-app.js';
import { listing, mint, party, trade, type Party, type SeedListing, type TradeSpec } from './helpers/trades.js';
import { analyticsQueries, type RangeFilter } from '../src/modules/analytics/analytics.queries.js';

let t: TestApp;
let b1: Party; let b2: Party; let s1: Party; let s2: Party; let s3: Party;
let euH100: SeedListing; let usH100: SeedListing; let euA100: SeedListing;
const DAY1 = Date.UTC(2026, 10, 2, 1);
const DAY2 = Date.UTC(2026, 10, 3, 1);
const day2Specs: TradeSpec[] = [];

const get = (url: string, headers: Record<string, string> = {}) => t.app.inject({ method: 'GET', url, headers });
const range = 'from=2026-11-02T00:00:00Z&to=2026-11-04T00:00:00Z&interval=day';

beforeAll(async () => {
  t = await buildTestApp();
  t.clock.set(DAY1);
  [b1, b2] = [await party(t, { country: 'DE' }), await party(t, { country: 'FR' })];
  s1 = await party(t, { country: 'DE', region: 'eu-west' });
  s2 = await party(t, { country: 'US', region: 'us-east' });
  s3 = await party(t, { country: 'DE', region: 'eu-west' });
  await mint(t, b1, '10000');
  await mint(t, b2, '10000');
  euH100 = await listing(t, s1, { gpuModel: 'H100', price: '2.5' });
  usH100 = await listing(t, s2, { gpuModel: 'H100', price: '2.3' });
  euA100 = await listing(t, s3, { gpuModel: 'A100', price: '1.5' });
  const eu = (price: string, quantity: number, buyer = b1): TradeSpec => ({ buyer, seller: s1, listing: euH100, price, quantity });
  // day 1: two H100 trades in eu-west
  for (const s of [eu('2', 1), eu('2.2', 2, b2)]) await trade(t, s);
  t.clock.set(DAY2);
  day2Specs.push(eu('2.5', 1), eu('2.4', 2, b2), eu('2.6', 1), eu('2.5', 3, b2));
  for (let i = 0; i < 5; i++) day2Specs.push({ buyer: i % 2 ? b1 : b2, seller: s2, listing: usH100, price: '2.3', quantity: 1 });
  day2Specs.push({ buyer: b1, seller: s3, listing: euA100, quantity: 2, price: '1.5' }, { buyer: b2, seller: s3, listing: euA100, quantity: 2, price: '1.6' });
  for (const s of day2Specs) await trade(t, s, );
  await t.app.services.analytics.sync();
}, 180_000);

afterAll(async () => {
  await t?.close();
});

describe('GET /v1/market/overview', () => {
  it('totals the range, publicly, with amounts as AITBC strings', async () => {
    const r = await get(`/v1/market/overview?${range}&category=gpu_compute`);
    expect(r.statusCode, r.body).toBe(200);
    const o = r.json();
    // 13 trades: H100 eu-west 2 + 4, us-east 5, A100 2
    expect(o).toMatchObject({ trades: 13, units: 3 + 7 + 5 + 4, newAgents: 5, agreements: 13, newRequests: 13, matchRate: 1, disputeRate: 0, failureRate: 0 });
    // volume = sum price x quantity: 6.4 + 17.4 + 11.5 + 6.2 = 41.5
    expect(o.volume).toBe('41.5');
    expect(o.vwap).toBe('2.18421052'); // 41.5 / 19, rounded down to the base unit
    expect(o).toMatchObject({ activeBuyers: 2, activeSellers: 3 });
    // cross-border: buyer FR with a DE seller, or any buyer with the US seller: b2's trades + all 5 US trades
    const cross = [{ b: b2, s: s1 }, ...day2Specs.map((x) => ({ b: x.buyer, s: x.seller }))].filter((x) => x.b.country !== x.s.country).length;
    expect(o.crossBorderShare).toBeCloseTo(cross / 13, 10);
    // every trade settled 600 s after agreement, 60 s after its request (trades.ts defaults): within the sketch's 1 %
    expect(Math.abs(o.timeToSettlementSeconds.p50 - 600) / 600).toBeLessThanOrEqual(0.01);
    expect(Math.abs(o.timeToAgreementSeconds.p99 - 60) / 60).toBeLessThanOrEqual(0.01);
    expect(o.supply).toMatchObject({ listings: 3, demandRequests: 0 });
  });

  it('filters by region and spec class', async () => {
    const o = (await get(`/v1/market/overview?${range}&region=us-east&specClass=H100`)).json();
    expect(o).toMatchObject({ trades: 5, volume: '11.5', vwap: '2.3', activeSellers: 1 });
    expect(Math.abs(Number(o.median) - 2.3) / 2.3).toBeLessThanOrEqual(0.01); // the sketch's estimate
    expect((await get(`/v1/market/overview?${range}&specClass=B200`)).json()).toMatchObject({ trades: 0, volume: '0', vwap: null, median: null, crossBorderShare: null });
  });

  it('counts distinct agents from the bitmaps exactly as count(DISTINCT) over the actives, for every filter and interval', async () => {
    const db = t.db.database.db;
    const from = new Date(Date.UTC(2026, 10, 2)); const to = new Date(Date.UTC(2026, 10, 4));
    const day2 = new Date(Date.UTC(2026, 10, 3));
    const filters: [RangeFilter, { buyers: number; sellers: number }][] = [
      [{ granularity: 'day', from, to }, { buyers: 2, sellers: 3 }],
      [{ granularity: 'day', from, to: day2 }, { buyers: 2, sellers: 1 }], // day 1: only s1 sold
      [{ granularity: 'hour', from: day2, to }, { buyers: 2, sellers: 3 }],
      [{ granularity: 'day', from, to, region: 'eu-west' }, { buyers: 2, sellers: 2 }],
      [{ granularity: 'hour', from, to, region: 'us-east', specClass: 'H100' }, { buyers: 2, sellers: 1 }],
      [{ granularity: 'day', from, to, category: 'gpu_compute', specClass: 'A100' }, { buyers: 2, sellers: 1 }],
      [{ granularity: 'day', from, to, specClass: 'B200' }, { buyers: 0, sellers: 0 }],
    ];
    for (const [f, expected] of filters) {
      const bits = await analyticsQueries.activeTotals(db, f);
      const [plain] = await analyticsQueries.actives(db, f, true);
      expect(bits, JSON.stringify(f)).toEqual(expected);
      expect(bits, JSON.stringify(f)).toEqual({ buyers: Number(plain!.buyers), sellers: Number(plain!.sellers) });
    }
    // minutes keep no distinct agents: not counted, rather than a wrong count
    expect(await analyticsQueries.activeTotals(db, { granularity: 'minute', from, to })).toBeNull();
  });
});

describe('series', () => {
  it('prices per day, with p10/median/p90 from the sketch within 1 %', async () => {
    const r = (await get(`/v1/market/prices?${range}&region=eu-west&specClass=H100`)).json();
    expect(r.data.map((d: { bucket: string }) => d.bucket)).toEqual(['2026-11-02T00:00:00.000Z', '2026-11-03T00:00:00.000Z']);
    expect(r.data[0]).toMatchObject({ trades: 2, units: 3, volume: '6.4', vwap: '2.13333333' });
    expect(r.data[1]).toMatchObject({ trades: 4, units: 7, volume: '17.4', vwap: '2.48571428' });
    // day 2 unit prices 2.4, 2.5, 2.5, 2.6 (one per trade): median by nearest rank 2.5
    expect(Math.abs(Number(r.data[1].median) - 2.5) / 2.5).toBeLessThanOrEqual(0.01);
    expect(Math.abs(Number(r.data[1].p90) - 2.6) / 2.6).toBeLessThanOrEqual(0.01);
  });

  it('as CSV with ?format=csv or Accept: text/csv, one line per bucket', async () => {
    for (const [url, headers] of [[`/v1/market/prices?${range}&format=csv`, {}], [`/v1/market/prices?${range}`, { accept: 'text/csv' }]] as const) {
      const r = await get(url, headers);
      expect(r.headers['content-type']).toMatch(/^text\/csv/);
      const lines = r.body.trim().split('\n');
      expect(lines[0]).toBe('bucket,trades,units,volume,vwap,p10,median,p90,signal,signalReason');
      expect(lines).toHaveLength(3);
      expect(lines[2]!.startsWith('2026-11-03T00:00:00.000Z,11,')).toBe(true);
    }
    const sd = await get(`/v1/market/supply-demand?${range}&format=csv`);
    expect(sd.body.split('\n')[0]).toBe('bucket,supplyUnits,supplyListings,demandRequests,demandUnits,supplyDemandRatio,newRequests,matched,matchRate,signal,signalReason');
  });

  it('supply and demand per bucket from the minute snapshots', async () => {
    const r = (await get(`/v1/market/supply-demand?${range}&specClass=H100`)).json();
    // the snapshot taken at the sync: both H100 listings, 1,000,000 units each, nothing reserved; no open request
    expect(r.data[1]).toMatchObject({ supplyUnits: 2_000_000, supplyListings: 2, demandRequests: 0, supplyDemandRatio: null, newRequests: 9, matched: 9, matchRate: 1 });
  });
});

describe('GET /v1/market/geo', () => {
  it('volume by country and flows from buyer to seller', async () => {
    const g = (await get(`/v1/market/geo?${range}`)).json();
    const us = g.countries.find((c: { country: string }) => c.country === 'US');
    expect(us).toMatchObject({ sold: '11.5', tradesSold: 5, bought: '0', newAgents: 1 });
    const flow = g.data.find((f: { buyerCountry: string; sellerCountry: string }) => f.buyerCountry === 'FR' && f.sellerCountry === 'US');
    expect(flow).toMatchObject({ trades: 3, volume: '6.9', crossBorder: true, sellerRegion: 'us-east' }); // b2 bought 3 of the 5 US trades
  });
});

describe('GET /v1/market/indicators', () => {
  it('price index, interval, volatility and spread against hand-computed values; too few trades says so', async () => {
    const r = await get(`/v1/market/indicators?${range}`);
    expect(r.statusCode, r.body).toBe(200);
    const byCell = Object.fromEntries(r.json().data.map((d: { specClass: string; region: string }) => [`${d.specClass}/${d.region}`, d]));
    // eu-west H100: 2.0x1, 2.2x2, 2.4x2, 2.5x1, 2.5x3, 2.6x1 (total 10): half reached at 2.4; nEff = 100 / 20 = 5,
    // interval fractions 0.5 -/+ 1.96 * 0.5 / sqrt(5) = 0.062 / 0.938 -> 2 and 2.6
    expect(byCell['H100/eu-west'].priceIndex).toEqual({ status: 'ok', index: '2.4', low: '2', high: '2.6', sampleSize: 6, confidence: 0.95 });
    // daily VWAPs 2.13333333 and 2.48571428: one log return
    expect(byCell['H100/eu-west'].volatility.ewma).toBeCloseTo(Math.abs(Math.log(248571428 / 213333333)), 10);
    expect(byCell['H100/eu-west'].sellerConcentrationHhi).toBe(1);
    expect(byCell['H100/us-east'].priceIndex).toMatchObject({ status: 'ok', index: '2.3', sampleSize: 5 });
    expect(byCell['H100/eu-west'].crossRegionSpread).toMatchObject({ low: { region: 'us-east', index: '2.3' }, high: { region: 'eu-west', index: '2.4' } });
    expect(byCell['H100/eu-west'].crossRegionSpread.spread).toBeCloseTo((2.4 - 2.3) / 2.3, 12);
    expect(byCell['A100/eu-west'].priceIndex).toEqual({ status: 'insufficient_data', index: null, low: null, high: null, sampleSize: 2, minimumSample: 5 });
    expect(byCell['A100/eu-west'].crossRegionSpread).toBeNull();
  });

  it('pages with a cursor', async () => {
    const p1 = (await get(`/v1/market/indicators?${range}&limit=2`)).json();
    expect(p1.data).toHaveLength(2);
    const p2 = (await get(`/v1/market/indicators?${range}&limit=2&cursor=${p1.nextCursor}`)).json();
    expect(p2.data.map((d: { specClass: string; region: string }) => `${d.specClass}/${d.region}`)).toEqual(['H100/us-east']);
    expect(p2.nextCursor).toBeNull();
  });
});

describe('GET /v1/listings/{id}/price-advice', () => {
  it('recommends the index with its reason, or no number for a thin cell', async () => {
    const a = (await get(`/v1/listings/${euH100.id}/price-advice`)).json();
    expect(a).toMatchObject({ currentPrice: '2.5', recommendedPrice: '2.4', signal: 'none', priceIndex: { index: '2.4' } });
    expect(a.reason).toMatch(/index 2\.4 from 6 trades.*4\.2% above the index/);
    const thin = (await get(`/v1/listings/${euA100.id}/price-advice`)).json();
    expect(thin).toMatchObject({ recommendedPrice: null, priceIndex: { status: 'insufficient_data', sampleSize: 2 } });
    expect(thin.reason).toMatch(/too few recent trades/);
  });
});

describe('bad input', () => {
  it('is a 400 problem naming the field, and an unknown listing 404', async () => {
    expect(problem(await get('/v1/market/prices?interval=week')).errors?.[0]?.field).toBe('querystring.interval');
    expect(problem(await get('/v1/market/prices?from=2026-11-04T00:00:00Z&to=2026-11-02T00:00:00Z')).errors?.[0]?.field).toBe('querystring.from');
    const many = problem(await get('/v1/market/prices?interval=minute&from=2026-10-01T00:00:00Z&to=2026-11-04T00:00:00Z'));
    expect(many).toMatchObject({ status: 400, code: 'validation_failed' });
    expect(problem(await get('/v1/market/overview?category=gold')).status).toBe(400);
    expect(problem(await get('/v1/market/indicators?cursor=nope')).errors?.[0]?.field).toBe('querystring.cursor');
    expect(problem(await get(`/v1/listings/${crypto.randomUUID()}/price-advice`)).code).toBe('not_found');
  });
});
