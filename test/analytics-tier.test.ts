/**
 * The profile's current price tier from the price index: a seller's active listings against their cells'
 * index (volume-weighted median of recent trades), budget below 0.85x, premium above 1.15x, with the
 * reason; no tier when no listing's cell has enough trades (hand-computed).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { priceTierOf } from '../src/modules/analytics/signals.js';
import { buildTestApp, type TestApp } from './helpers/test-app.js';
import { listing, mint, party, trade, type Party } from './helpers/trades.js';

let t: TestApp;
let b: Party; let maker: Party; let cheap: Party; let fair: Party; let lonely: Party;
const status = async (p: Party) => (await t.app.inject({ method: 'GET', url: `/v1/agents/${p.id}/profile` })).json().status;

beforeAll(async () => {
  t = await buildTestApp();
  t.clock.set(Date.UTC(2026, 10, 2, 1));
  b = await party(t);
  [maker, cheap, fair, lonely] = [await party(t), await party(t), await party(t), await party(t)];
  await mint(t, b, '1000');
  // the market: five H100 trades in eu-west at 2 -> index 2; the maker's listing stays at 2.5 (1.25x)
  const m = await listing(t, maker, { gpuModel: 'H100', price: '2.5' });
  for (let i = 0; i < 5; i++) await trade(t, { buyer: b, seller: maker, listing: m, price: '2', quantity: 1 });
  await listing(t, cheap, { gpuModel: 'H100', price: '1.6' }); // 0.8x
  await listing(t, fair, { gpuModel: 'H100', price: '2.1' }); // 1.05x
  await listing(t, fair, { gpuModel: 'H100', price: '2.3' }); // 1.15x: mean (1.05 + 1.15) / 2 = 1.1
  await listing(t, fair, { gpuModel: 'B200', price: '9' }); // no trades in its cell: left out
  await listing(t, lonely, { gpuModel: 'B200', price: '9' });
  await t.app.services.analytics.sync();
}, 120_000);

afterAll(async () => {
  await t?.close();
});

describe('current price tier in the profile', () => {
  it('premium, budget and standard from the index of the listings\' cells, with the reason', async () => {
    expect(await status(maker)).toMatchObject({ priceTier: 'premium', priceTierReason: expect.stringMatching(/^listing prices at 1\.25x .*\(1 listing\): above 1\.15$/) });
    expect(await status(cheap)).toMatchObject({ priceTier: 'budget', priceTierReason: expect.stringMatching(/at 0\.80x .*below 0\.85$/) });
    const f = await status(fair);
    expect(f).toMatchObject({ priceTier: 'standard', activeListings: 3 });
    expect(f.priceTierReason).toMatch(/at 1\.10x .*\(2 listings; 1 more without an index\): within 0\.85-1\.15$/);
  });

  it('no tier without an index, and says why; not the mean listing price', async () => {
    expect(await status(lonely)).toMatchObject({ priceTier: null, priceTierReason: 'none of its 1 active listings is in a cell with enough recent trades for a price index' });
    expect(await status(b)).toMatchObject({ priceTier: null, priceTierReason: 'no active listings' });
    // the thresholds are inclusive for standard
    expect([priceTierOf([0.849], 0).tier, priceTierOf([0.85], 0).tier, priceTierOf([1.15], 0).tier, priceTierOf([1.151], 0).tier]).toEqual(['budget', 'standard', 'standard', 'premium']);
  });
});
