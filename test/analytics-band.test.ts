/**
 * The stabilisation band: in a volatile cell a manual offer or accept priced outside index x (1 -/+ 3 sigma)
 * needs confirmOutsideBand, else 409 outside_price_band naming the band and the index; inside the band,
 * and in calm cells, nothing changes (hand-computed band).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stabilisationBand, VOLATILE_ABOVE } from '../src/modules/analytics/signals.js';
import { buildTestApp, problem, type TestApp } from './helpers/test-app.js';
import { listing, mint, party, trade, type Party, type SeedListing } from './helpers/trades.js';

let t: TestApp;
let b: Party; let s: Party;
let h100: SeedListing; let a100: SeedListing;

async function open(l: SeedListing, price: string, confirm?: boolean) {
  const req = await t.app.inject({
    method: 'POST', url: '/v1/trade-requests', headers: b.auth,
    payload: { category: 'gpu_compute', spec: { acceptedGpuModels: [l.gpuModel] }, quantity: 1, budget: { min: '0.00000001', max: '9999' }, deadline: t.iso(86_400_000) },
  });
  expect(req.statusCode, req.body).toBe(201);
  const offer = { pricePerUnit: price, settlementType: 'escrow', ...(confirm === undefined ? {} : { confirmOutsideBand: confirm }) };
  return t.app.inject({ method: 'POST', url: '/v1/negotiations', headers: b.auth, payload: { listingId: l.id, requestId: req.json().id, offer } });
}

beforeAll(async () => {
  t = await buildTestApp();
  b = await party(t);
  s = await party(t);
  await mint(t, b, '1000');
  t.clock.set(Date.UTC(2026, 10, 2, 1));
  h100 = await listing(t, s, { gpuModel: 'H100', price: '2' });
  a100 = await listing(t, s, { gpuModel: 'A100', price: '1' });
  // H100: three trades at 2 on day 1, three at 2.2 on day 2 -> daily VWAPs 2, 2.2: volatility ln(1.1) = 9.5 %
  for (let i = 0; i < 3; i++) await trade(t, { buyer: b, seller: s, listing: h100, price: '2', quantity: 1 });
  for (let i = 0; i < 5; i++) await trade(t, { buyer: b, seller: s, listing: a100, price: '1', quantity: 1 }); // calm
  t.clock.set(Date.UTC(2026, 10, 3, 1));
  for (let i = 0; i < 3; i++) await trade(t, { buyer: b, seller: s, listing: h100, price: '2.2', quantity: 1 });
  await t.app.services.analytics.sync();
}, 300_000);

afterAll(async () => {
  await t?.close();
});

describe('stabilisation band (pure)', () => {
  it('3 daily sigmas around the index, at most 50 %, none for calm cells or without an index', () => {
    expect(stabilisationBand(200_000_000n, Math.log(1.1))).toMatchObject({ low: 142_813_800n, high: 257_186_200n });
    expect(stabilisationBand(200_000_000n, 0.4)).toMatchObject({ halfWidth: 0.5, low: 100_000_000n, high: 300_000_000n });
    expect(stabilisationBand(200_000_000n, VOLATILE_ABOVE - 0.001)).toBeNull();
    expect(stabilisationBand(null, 0.4)).toBeNull();
  });
});

describe('orders against the band', () => {
  it('an offer outside a volatile cell\'s band is a 409 naming the band and the index, and nothing is opened', async () => {
    // index: weighted median of 2, 2, 2, 2.2, 2.2, 2.2 = 2; half-width 3 x ln(1.1) = 0.285931 -> 1.428138 - 2.571862
    const before = await t.app.inject({ method: 'GET', url: '/v1/negotiations', headers: b.auth });
    const r = await open(h100, '2.6');
    expect(r.statusCode, r.body).toBe(409);
    const p = problem(r) as ReturnType<typeof problem> & { band: Record<string, unknown>; price: string };
    expect(p.code).toBe('outside_price_band');
    expect(p.band).toMatchObject({ low: '1.428138', high: '2.571862', index: '2' });
    expect(p.detail).toMatch(/2\.6 is outside the stabilisation band 1\.428138-2\.571862 around the price index 2 of gpu_compute\/H100\/eu-west/);
    const after = await t.app.inject({ method: 'GET', url: '/v1/negotiations', headers: b.auth });
    expect(after.body).toBe(before.body);
  });

  it('with confirmOutsideBand the offer goes through; the accept asks again', async () => {
    const r = await open(h100, '2.6', true);
    expect(r.statusCode, r.body).toBe(201);
    const id = r.json().id;
    const plain = await t.app.inject({ method: 'POST', url: `/v1/negotiations/${id}/accept`, headers: s.auth, payload: {} });
    expect(plain.statusCode, plain.body).toBe(409);
    expect(problem(plain).code).toBe('outside_price_band');
    const ok = await t.app.inject({ method: 'POST', url: `/v1/negotiations/${id}/accept`, headers: s.auth, payload: { confirmOutsideBand: true } });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json().agreement.terms.pricePerUnit).toBe('2.6');
  });

  it('inside the band, and in a calm cell at any price, no confirmation is needed', async () => {
    expect((await open(h100, '2.5')).statusCode).toBe(201);
    expect((await open(h100, '1.43')).statusCode).toBe(201);
    expect((await open(a100, '5')).statusCode).toBe(201); // A100 traded at 1 every time: volatility 0
  });
});
