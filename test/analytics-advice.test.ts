/**
 * Price advice from the fill rate of similar sellers at each price level (real agreements over HTTP): the
 * cell's other sellers priced 20% below the index all sold, those at the index one in three, so advice for a
 * listing above the index follows the below-index sellers' mean price, with the numbers in the answer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from './helpers/test-app.js';
import { listing, mint, party, trade, type Party, type SeedListing } from './helpers/trades.js';

let t: TestApp;
let mine: SeedListing;
let sold: SeedListing;
const get = (url: string) => t.app.inject({ method: 'GET', url });

beforeAll(async () => {
  t = await buildTestApp();
  t.clock.set(Date.UTC(2026, 10, 2, 1));
  const b: Party = await party(t);
  await mint(t, b, '1000');
  const sellers = [];
  for (let i = 0; i < 7; i++) sellers.push(await party(t, { region: 'eu-west' }));
  const below = [];
  for (const s of sellers.slice(0, 3)) below.push(await listing(t, s, { gpuModel: 'H100', price: '1.6' }));
  const at = [];
  for (const s of sellers.slice(3, 6)) at.push(await listing(t, s, { gpuModel: 'H100', price: '2' }));
  sold = at[0]!;
  mine = await listing(t, sellers[6]!, { gpuModel: 'H100', price: '2.4' });
  // index: 5 trades at 2 and 3 at 1.6, volume-weighted median 2
  for (let i = 0; i < 5; i++) await trade(t, { buyer: b, seller: sellers[3]!, listing: at[0]!, price: '2', quantity: 1 });
  for (let i = 0; i < 3; i++) await trade(t, { buyer: b, seller: sellers[i]!, listing: below[i]!, price: '1.6', quantity: 1 });
  t.clock.advance(60_000);
  await t.app.services.analytics.sync();
}, 240_000);

afterAll(async () => {
  await t?.close();
});

describe('GET /v1/listings/{id}/price-advice: fill rate of similar sellers', () => {
  it('gives the fill rate at each level and follows the level that earns most per listing', async () => {
    const r = await get(`/v1/listings/${mine.id}/price-advice`);
    expect(r.statusCode, r.body).toBe(200);
    const a = r.json();
    expect(a.priceIndex).toMatchObject({ status: 'ok', index: '2', sampleSize: 8 });
    expect(a.fillRates.levels).toEqual([
      { level: 'below', listings: 3, sellers: 3, withAgreement: 3, fillRate: 1, meanPriceRatio: 0.8, expectedRevenue: 0.8 },
      { level: 'at', listings: 3, sellers: 3, withAgreement: 1, fillRate: 0.3333, meanPriceRatio: 1, expectedRevenue: 0.3333 },
      { level: 'above', listings: 0, sellers: 0, withAgreement: null, fillRate: null, meanPriceRatio: null, expectedRevenue: null },
    ]);
    expect(a.fillRates).toMatchObject({ recommendedLevel: 'below', listingAgreements: 0, minimumListings: 3 });
    expect(a.recommendedPrice).toBe('1.6');
    expect(a.reason).toMatch(/similar sellers priced below the index sold more per listing \(fill rate below 100% of 3, at 33% of 3, above n\/a of 0/);
  });

  it('leaves the seller\'s own listings out of the comparison', async () => {
    // the at-index seller with the five trades asks about its listing: its own sales are not counted
    const a = (await get(`/v1/listings/${sold.id}/price-advice`)).json();
    // two other sellers at the index: fewer than 3, so their sales are not shown
    expect(a.fillRates.levels[1]).toMatchObject({ level: 'at', listings: 2, sellers: 2, withAgreement: null, fillRate: null, expectedRevenue: null });
    expect(a.fillRates).toMatchObject({ listingAgreements: 5, recommendedLevel: 'below' });
  });
});
