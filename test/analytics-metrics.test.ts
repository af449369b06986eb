/**
 * The market's business KPIs on /metrics (Prometheus text), from the rollups: trades and volume per
 * category x region, match rate, the settlement-time histogram, open requests, active agents and the
 * price index per cell, against hand-computed values; a second analytics service on the same database
 * (another process, which never ran the projection) reports the same figures.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAnalyticsService } from '../src/modules/analytics/analytics.module.js';
import { buildTestApp, type TestApp } from './helpers/test-app.js';
import { listing, mint, party, trade, type Party, type SeedListing } from './helpers/trades.js';

let t: TestApp;
let b1: Party; let b2: Party; let s1: Party; let s2: Party;
let eu: SeedListing; let us: SeedListing;
let text = '';

/** The value of one sample line (name with its labels exactly as written), or undefined. */
function sample(name: string, labels = ''): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

beforeAll(async () => {
  t = await buildTestApp();
  t.clock.set(Date.UTC(2026, 10, 2, 1));
  [b1, b2] = [await party(t, { country: 'DE' }), await party(t, { country: 'FR' })];
  s1 = await party(t, { country: 'DE', region: 'eu-west' });
  s2 = await party(t, { country: 'US', region: 'us-east' });
  await mint(t, b1, '1000');
  await mint(t, b2, '1000');
  eu = await listing(t, s1, { gpuModel: 'H100', price: '2.5' });
  us = await listing(t, s2, { gpuModel: 'H100', price: '2.3' });
  // eu-west H100: prices 2, 2, 2.2 (x2), 2.4, 3 -> volume 13.8, weighted median 2.2; settled 200 s after agreement
  for (const [price, quantity, buyer] of [['2', 1, b1], ['2', 1, b2], ['2.2', 2, b1], ['2.4', 1, b2], ['3', 1, b1]] as const) {
    await trade(t, { buyer, seller: s1, listing: eu, price, quantity, settleAfterMs: 200_000 });
  }
  // us-east H100: two trades at 2.3 -> volume 4.6, too few for an index; settled 1000 s after agreement
  for (const buyer of [b1, b2]) await trade(t, { buyer, seller: s2, listing: us, price: '2.3', quantity: 1, settleAfterMs: 1_000_000 });
  // one request nobody answers: 7 of 8 requests matched, one open
  const r = await t.app.inject({
    method: 'POST', url: '/v1/trade-requests', headers: b1.auth,
    payload: { category: 'gpu_compute', spec: { acceptedGpuModels: ['H100'] }, quantity: 3, budget: { min: '0.00000001', max: '9999' }, deadline: t.iso(86_400_000) },
  });
  expect(r.statusCode, r.body).toBe(201);
  t.clock.advance(60_000); // a new minute: the projection takes a supply/demand snapshot
  await t.app.services.analytics.sync();
  text = (await t.app.inject('/metrics')).body;
}, 180_000);

afterAll(async () => {
  await t?.close();
});

describe('business KPIs on /metrics', () => {
  it('counts trades and volume per category and region', () => {
    expect(text).toContain('# TYPE ae_market_trades_total counter');
    expect(sample('ae_market_trades_total', '{category="gpu_compute",region="eu-west"}')).toBe(5);
    expect(sample('ae_market_trades_total', '{category="gpu_compute",region="us-east"}')).toBe(2);
    expect(text).toContain('# TYPE ae_market_volume_aitbc_total counter');
    expect(sample('ae_market_volume_aitbc_total', '{category="gpu_compute",region="eu-west"}')).toBeCloseTo(13.8, 8);
    expect(sample('ae_market_volume_aitbc_total', '{category="gpu_compute",region="us-east"}')).toBeCloseTo(4.6, 8);
  });

  it('reports the match rate, open requests and active agents', () => {
    expect(sample('ae_market_match_rate')).toBeCloseTo(7 / 8, 10);
    expect(sample('ae_market_open_requests')).toBe(1);
    expect(sample('ae_market_active_agents')).toBe(4); // b1, b2, s1, s2
  });

  it('a histogram of time to settlement', () => {
    expect(text).toContain('# TYPE ae_market_settlement_seconds histogram');
    expect(sample('ae_market_settlement_seconds_bucket', '{le="120"}')).toBe(0);
    expect(sample('ae_market_settlement_seconds_bucket', '{le="300"}')).toBe(5);
    expect(sample('ae_market_settlement_seconds_bucket', '{le="600"}')).toBe(5);
    expect(sample('ae_market_settlement_seconds_bucket', '{le="1800"}')).toBe(7);
    expect(sample('ae_market_settlement_seconds_bucket', '{le="+Inf"}')).toBe(7);
    expect(sample('ae_market_settlement_seconds_count')).toBe(7);
    const sum = sample('ae_market_settlement_seconds_sum')!;
    expect(Math.abs(sum - (5 * 200 + 2 * 1000)) / 3000).toBeLessThanOrEqual(0.01); // the sketch's bound
  });

  it('the price index of cells with enough trades only', () => {
    expect(sample('ae_market_price_index_aitbc', '{category="gpu_compute",spec_class="H100",region="eu-west"}')).toBe(2.2);
    expect(text).not.toMatch(/ae_market_price_index_aitbc\{[^}]*region="us-east"/);
  });

  it('another process on the same database reports the same figures without projecting anything', async () => {
    const other = createAnalyticsService({ database: t.db.database, clock: t.clock, agents: t.app.services.agents, outbox: t.app.services.outbox });
    expect(await other.kpis()).toEqual(await t.app.services.analytics.kpis());
    expect((await other.kpis()).totals.reduce((s, x) => s + x.trades, 0)).toBe(7);
  });
});
