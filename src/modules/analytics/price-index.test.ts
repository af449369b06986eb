import { describe, expect, it } from 'vitest';
import { crossRegionSpread, ewmaVolatility, priceIndex } from './price-index.js';

const t = (price: number, quantity: number) => ({ price: BigInt(price), quantity });

describe('price index', () => {
  it('is the volume-weighted median with its order-statistic interval (hand-computed)', () => {
    // sorted: 100x1, 110x1, 120x5, 130x1, 140x2; total 10, half 5: cumulative 1, 2, 7 -> 120
    const r = priceIndex([t(130, 1), t(100, 1), t(120, 5), t(140, 2), t(110, 1)]);
    // nEff = 100 / (1 + 1 + 25 + 1 + 4) = 3.125; half-width 1.96 * 0.5 / sqrt(3.125) = 0.5544
    // low at fraction < 0 -> the first (100); high at fraction > 1 -> the last (140)
    expect(r).toEqual({ status: 'ok', index: 120n, low: 100n, high: 140n, sampleSize: 5, effectiveSampleSize: 3.125, units: 10 });
  });

  it('narrows with equal-quantity trades: n = 100, interval ranks 0.5 -/+ 0.098', () => {
    const r = priceIndex(Array.from({ length: 100 }, (_, i) => t(1000 + i, 1)));
    // cumulative weight reaches 50 at the 50th price (1049); 40.2 -> the 41st (1040); 59.8 -> the 60th (1059)
    expect(r).toMatchObject({ status: 'ok', index: 1049n, low: 1040n, high: 1059n, sampleSize: 100, effectiveSampleSize: 100 });
  });

  it('says so instead of a number below the minimum sample', () => {
    expect(priceIndex([t(1, 1), t(2, 1), t(3, 1), t(4, 1)])).toEqual({ status: 'insufficient_data', sampleSize: 4, minimum: 5 });
    expect(priceIndex([])).toEqual({ status: 'insufficient_data', sampleSize: 0, minimum: 5 });
  });
});

describe('cross-region spread and EWMA volatility', () => {
  it('spread is (highest - lowest) / lowest over regions with an index', () => {
    const s = crossRegionSpread([{ region: 'eu-west', index: 200n }, { region: 'us-east', index: 210n }, { region: 'ap-south', index: 205n }]);
    expect(s).toMatchObject({ spread: 0.05, low: { region: 'eu-west' }, high: { region: 'us-east' } });
    expect(crossRegionSpread([{ region: 'eu-west', index: 200n }])).toBeNull();
  });

  it('EWMA of log returns with lambda 0.94 (hand-computed)', () => {
    // r1 = ln(110/100) = 0.0953102, r2 = ln(99/110) = -0.1053605
    // var1 = r1^2 = 0.00908403; var2 = 0.94 * 0.00908403 + 0.06 * 0.01110084 = 0.00920504; sigma = 0.0959429
    const v = ewmaVolatility([100, 110, 99])!;
    expect(v.returns).toBe(2);
    expect(v.volatility).toBeCloseTo(0.0959429, 6);
    expect(ewmaVolatility([100])).toBeNull();
    expect(ewmaVolatility([100, 100, 100])!.volatility).toBe(0);
  });
});
