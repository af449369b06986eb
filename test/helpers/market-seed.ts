/**
 * A small market over two days, for the insights and report tests (hand-computed figures in those tests):
 *   2026-11-02 (previous day): s1 sells H100 in eu-west to b1 (2 x1), b2 (2.2 x2), b3 (2 x1)
 *   2026-11-03 (current day):  s1 to b1/b2 at 2.5, 2.4, 2.6, 2.5, 2.5 (x1), one more refunded (a dispute);
 *                               s2 H100 us-east 5 x 2.3 (x1); s3 A100 eu-west 1.5 x2 and 1.6 x2
 * Listings also: s3 H100 eu-west at 5 (far above the index) and s2 H100 eu-west at 1.8 (far below), never bought.
 * All six agents register on 2026-11-02. Reputation snapshots are taken at the end of each day.
 */
import type { TestApp } from './test-app.js';
import { listing, mint, party, trade, type Party, type SeedListing, type TradeResult, type TradeSpec } from './trades.js';

export const DAY_P = Date.UTC(2026, 10, 2, 1);
export const DAY_C = Date.UTC(2026, 10, 3, 1);

export interface MarketSeed {
  b1: Party; b2: Party; b3: Party; s1: Party; s2: Party; s3: Party;
  euH100: SeedListing; usH100: SeedListing; euA100: SeedListing; euHigh: SeedListing; euLow: SeedListing;
  previous: TradeResult[]; current: TradeResult[]; currentSpecs: TradeSpec[];
}

export async function seedMarket(t: TestApp): Promise<MarketSeed> {
  t.clock.set(DAY_P);
  const [b1, b2, b3] = [await party(t, { country: 'DE' }), await party(t, { country: 'FR' }), await party(t, { country: 'DE' })];
  const s1 = await party(t, { country: 'DE', region: 'eu-west' });
  const s2 = await party(t, { country: 'US', region: 'us-east' });
  const s3 = await party(t, { country: 'DE', region: 'eu-west' });
  for (const b of [b1, b2, b3]) await mint(t, b, '10000');
  const euH100 = await listing(t, s1, { gpuModel: 'H100', price: '2.5' });
  const usH100 = await listing(t, s2, { gpuModel: 'H100', price: '2.3' });
  const euA100 = await listing(t, s3, { gpuModel: 'A100', price: '1.5' });
  const euHigh = await listing(t, s3, { gpuModel: 'H100', price: '5' });
  const euLow = await listing(t, s2, { gpuModel: 'H100', price: '1.8', region: 'eu-west' });
  const eu = (price: string, quantity: number, buyer: Party, outcome?: TradeSpec['outcome']): TradeSpec => ({ buyer, seller: s1, listing: euH100, price, quantity, ...(outcome ? { outcome } : {}) });
  const previous: TradeResult[] = [];
  for (const s of [eu('2', 1, b1), eu('2.2', 2, b2), eu('2', 1, b3)]) previous.push(await trade(t, s));
  await t.app.services.reputation.snapshot();
  t.clock.set(DAY_C);
  const currentSpecs: TradeSpec[] = [eu('2.5', 1, b1), eu('2.4', 1, b2), eu('2.6', 1, b1), eu('2.5', 1, b2), eu('2.5', 1, b1), eu('2.5', 1, b2, 'refund')];
  for (let i = 0; i < 5; i++) currentSpecs.push({ buyer: i % 2 ? b1 : b2, seller: s2, listing: usH100, price: '2.3', quantity: 1 });
  currentSpecs.push({ buyer: b1, seller: s3, listing: euA100, quantity: 2, price: '1.5' }, { buyer: b2, seller: s3, listing: euA100, quantity: 2, price: '1.6' });
  const current: TradeResult[] = [];
  for (const s of currentSpecs) current.push(await trade(t, s));
  await t.app.services.reputation.snapshot();
  await t.app.services.analytics.sync();
  return { b1, b2, b3, s1, s2, s3, euH100, usH100, euA100, euHigh, euLow, previous, current, currentSpecs };
}
