import { describe, expect, it } from 'vitest';
import { bestLevel, fillLevels, levelOf } from './fill-rate.js';

const l = (price: number, agreements: number, seller = 's') => ({ pricePerUnit: BigInt(price), agreements, sellerId: seller });

describe('fill rate by price level', () => {
  it('levels at +-10% of the index', () => {
    expect(levelOf(89n, 100n)).toBe('below');
    expect(levelOf(90n, 100n)).toBe('at');
    expect(levelOf(110n, 100n)).toBe('at');
    expect(levelOf(111n, 100n)).toBe('above');
  });

  it('counts listings, sellers and those with an agreement; expected revenue only from 3 listings', () => {
    const levels = fillLevels([l(80, 1, 'a'), l(80, 1, 'b'), l(80, 0, 'g'), l(100, 0, 'c'), l(100, 1, 'd'), l(100, 0, 'e'), l(130, 0, 'f')], 100n);
    expect(levels[0]).toMatchObject({ level: 'below', listings: 3, sellers: 3, withAgreement: 2, fillRate: 0.6667, meanPriceRatio: 0.8, expectedRevenue: 0.5333 });
    expect(levels[1]).toMatchObject({ level: 'at', listings: 3, withAgreement: 1, fillRate: 0.3333, expectedRevenue: 0.3333 });
    // one seller above the index: its sales are not shown
    expect(levels[2]).toMatchObject({ level: 'above', listings: 1, sellers: 1, withAgreement: null, fillRate: null, expectedRevenue: null });
    expect(bestLevel(levels)?.level).toBe('below');
  });

  it('stays at the index when the at level earns as much, or no level has enough listings', () => {
    expect(bestLevel(fillLevels([l(80, 1, 'a'), l(80, 1, 'b'), l(80, 1, 'c'), l(100, 1, 'a'), l(100, 1, 'b'), l(100, 1, 'c')], 100n))).toBeNull();
    expect(bestLevel(fillLevels([l(80, 1, 'a'), l(80, 1, 'b'), l(100, 0, 'c')], 100n))).toBeNull();
    // three listings of one seller: not a level to follow
    expect(bestLevel(fillLevels([l(80, 1), l(80, 1), l(80, 1), l(100, 0, 'b'), l(100, 0, 'c'), l(100, 0, 'd')], 100n))).toBeNull();
  });
});
