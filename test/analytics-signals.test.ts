/**
 * The surge/discount signal: its thresholds (pure), and the signal of a cell on /v1/market/supply-demand,
 * /v1/market/prices and in price advice, with the ratio and the reason, from open requests against listed
 * units (hand-computed).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { marketSignal } from '../src/modules/analytics/signals.js';
import { buildTestApp, type TestApp } from './helpers/test-app.js';
import { listing, mint, party, trade, type Party, type SeedListing } from './helpers/trades.js';

describe('marketSignal thresholds', () => {
  it('surge below 1, discount above 2, none between, at the edges and without demand', () => {
    expect(marketSignal({ supplyUnits: 3, demandUnits: 4 })).toMatchObject({ signal: 'surge', ratio: 0.75 });
    expect(marketSignal({ supplyUnits: 4, demandUnits: 4 })).toMatchObject({ signal: 'none', ratio: 1 });
    expect(marketSignal({ supplyUnits: 8, demandUnits: 4 })).toMatchObject({ signal: 'none', ratio: 2 });
    expect(marketSignal({ supplyUnits: 9, demandUnits: 4 })).toMatchObject({ signal: 'discount', ratio: 2.25 });
    expect(marketSignal({ supplyUnits: 9, demandUnits: 0 })).toMatchObject({ signal: 'none', ratio: null });
    expect(marketSignal(null)).toMatchObject({ signal: 'none', ratio: null });
    expect(marketSignal({ supplyUnits: 3, demandUnits: 4 }).reason).toBe('demand outruns supply: 3 units listed for 4 wanted (supply/demand 0.75), below 1');
  });
});

let t: TestApp;
let b: Party; let s: Party;
let h100: SeedListing; let a100: SeedListing; let l40: SeedListing;
const get = (url: string) => t.app.inject({ method: 'GET', url });
const q = 'from=2026-11-02T00:00:00Z&to=2026-11-03T00:00:00Z&interval=day&region=eu-west';

async function openRequest(gpuModel: string, quantity: number) {
  const r = await t.app.inject({
    method: 'POST', url: '/v1/trade-requests', headers: b.auth,
    payload: { category: 'gpu_compute', spec: { acceptedGpuModels: [gpuModel] }, quantity, allowedRegions: ['eu-west'], budget: { min: '0.00000001', max: '9999' }, deadline: t.iso(86_400_000) },
  });
  expect(r.statusCode, r.body).toBe(201);
}

beforeAll(async () => {
  t = await buildTestApp();
  t.clock.set(Date.UTC(2026, 10, 2, 1));
  b = await party(t);
  s = await party(t, { region: 'eu-west' });
  await mint(t, b, '1000');
  h100 = await listing(t, s, { gpuModel: 'H100', price: '2', capacity: 100 });
  a100 = await listing(t, s, { gpuModel: 'A100', price: '1', capacity: 100 });
  l40 = await listing(t, s, { gpuModel: 'L40', price: '1', capacity: 10 });
  for (let i = 0; i < 5; i++) await trade(t, { buyer: b, seller: s, listing: h100, price: '2', quantity: 1 });
  await openRequest('H100', 400); // 100 listed for 400 wanted: 0.25, surge
  await openRequest('A100', 20); // 100 for 20: 5, discount
  await openRequest('L40', 8); // 10 for 8: 1.25, none
  t.clock.advance(60_000);
  await t.app.services.analytics.sync();
}, 180_000);

afterAll(async () => {
  await t?.close();
});

describe('the signal on the market API', () => {
  it('per cell on /v1/market/supply-demand with the ratio and the reason', async () => {
    const row = async (spec: string) => (await get(`/v1/market/supply-demand?${q}&specClass=${spec}`)).json().data[0];
    expect(await row('H100')).toMatchObject({ supplyUnits: 100, demandUnits: 400, supplyDemandRatio: 0.25, signal: 'surge' });
    expect((await row('H100')).signalReason).toMatch(/demand outruns supply: 100 units listed for 400 wanted/);
    expect(await row('A100')).toMatchObject({ supplyUnits: 100, demandUnits: 20, supplyDemandRatio: 5, signal: 'discount' });
    expect(await row('L40')).toMatchObject({ supplyUnits: 10, demandUnits: 8, supplyDemandRatio: 1.25, signal: 'none' });
  });

  it('on /v1/market/prices beside the trade figures, and in CSV', async () => {
    const p = (await get(`/v1/market/prices?${q}&specClass=H100`)).json().data[0];
    expect(p).toMatchObject({ trades: 5, vwap: '2', signal: 'surge' });
    const csv = (await get(`/v1/market/prices?${q}&specClass=A100&format=csv`)).body.trim().split('\n');
    expect(csv[0]).toBe('bucket,trades,units,volume,vwap,p10,median,p90,signal,signalReason');
    expect(csv[1]).toMatch(/,discount,"supply outruns demand: 100 units listed for 20 wanted \(supply\/demand 5\.00\), above 2"$/);
  });

  it('price advice adds 5% to the index on surge, and says why', async () => {
    const a = (await get(`/v1/listings/${h100.id}/price-advice`)).json();
    expect(a).toMatchObject({ recommendedPrice: '2.1', signal: 'surge', supplyDemandRatio: 0.25, priceIndex: { index: '2' } });
    expect(a.reason).toMatch(/surge \+5%: demand outruns supply/);
    const thin = (await get(`/v1/listings/${a100.id}/price-advice`)).json();
    expect(thin).toMatchObject({ recommendedPrice: null, signal: 'discount' }); // no index, but the signal is still told
    expect((await get(`/v1/listings/${l40.id}/price-advice`)).json()).toMatchObject({ signal: 'none' });
  });
});
