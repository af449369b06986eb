/**
 * The block-max pruning of ListingIndex on markets large enough for many blocks per bucket: identical
 * candidates (ids, scores, order) to the plain filter-and-sort matcher, before and after updates, with
 * and without exploration, and exact diagnostics when fewer than 5 qualify.
 */
import { describe, expect, it } from 'vitest';
import { ListingIndex, matchListings, type MatchOptions, type MatchResult } from './matching.js';
import { MARKET_NOW, generateMarket, generateRequest } from './market-generator.js';
import { mulberry32 } from './rng.js';
import type { Listing } from './trading.types.js';

const same = (a: MatchResult, b: MatchResult) => {
  expect(b.candidates.map((c) => [c.listingId, c.score, c.viaExploration])).toEqual(a.candidates.map((c) => [c.listingId, c.score, c.viaExploration]));
  expect(b.diagnostics).toEqual(a.diagnostics);
  if (b.qualifiedExact) expect(b.qualified).toBe(a.qualified);
  else expect(b.qualified).toBeLessThanOrEqual(a.qualified);
};

describe('ListingIndex block-max pruning on a large market', () => {
  const now = MARKET_NOW;
  const listings: Listing[] = generateMarket(mulberry32(42), 6000, now);
  const index = ListingIndex.from(listings);

  it('returns the same candidates as filter-and-sort for 300 varied requests', () => {
    const opts: MatchOptions = { now };
    for (let i = 0; i < 300; i++) {
      const r = generateRequest(mulberry32(7000 + i), i, now);
      same(matchListings(r, listings, opts), index.match(r, opts));
    }
  });

  it('stays identical with exploration, custom weights and limit 10', () => {
    for (let i = 0; i < 150; i++) {
      const r = generateRequest(mulberry32(9000 + i), i, now);
      const opts = (seed: number): MatchOptions => ({ now, limit: 10, explorationShare: 0.5, rng: mulberry32(seed), weights: { reputation: 0.6, price: 0.1 } });
      same(matchListings(r, listings, opts(i)), index.match(r, opts(i)));
    }
  });

  it('stays identical after many updates (capacity, price, status, trust)', () => {
    const rng = mulberry32(5);
    for (let k = 0; k < 3000; k++) {
      const i = Math.floor(rng() * listings.length);
      const l = listings[i]!;
      const roll = rng();
      const next: Listing = roll < 0.4 ? { ...l, capacityReserved: Math.floor(rng() * l.capacityTotal) }
        : roll < 0.7 ? { ...l, pricePerUnit: (l.pricePerUnit * BigInt(50 + Math.floor(rng() * 100))) / 100n + 1n }
        : roll < 0.85 ? { ...l, status: rng() < 0.5 ? 'paused' : 'active' }
        : { ...l, sellerTrust: Math.floor(rng() * 1000) };
      listings[i] = next;
      index.upsert(next);
    }
    for (let i = 0; i < 200; i++) {
      const r = generateRequest(mulberry32(11000 + i), i, now);
      same(matchListings(r, listings, { now }), index.match(r, { now }));
    }
  });
});
