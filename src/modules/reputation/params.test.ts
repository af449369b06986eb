import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  THRESHOLDS, accuracyCurve, amountWeight, availabilityCurve, channelValue, confidence, disputeCurve, latencyCurve, successCurve,
} from './params.js';

const unit = fc.double({ min: 0, max: 1, noNaN: true });

describe('curves', () => {
  it('give exactly 0.9 at the plan thresholds (the start of the top band)', () => {
    expect(latencyCurve(THRESHOLDS.responseMs)).toBeCloseTo(0.9, 12);
    expect(accuracyCurve(THRESHOLDS.accuracy)).toBeCloseTo(0.9, 12);
    expect(availabilityCurve(THRESHOLDS.availability)).toBeCloseTo(0.9, 12);
    expect(successCurve(THRESHOLDS.success)).toBeCloseTo(0.9, 12);
    expect(disputeCurve(THRESHOLDS.disputeRate)).toBeCloseTo(0.9, 12);
  });

  it('stay in [0, 1] and are monotone in the right direction (smooth, no cliffs)', () => {
    fc.assert(fc.property(unit, unit, (a, b) => {
      const [lo, hi] = a <= b ? [a, b] : [b, a];
      for (const c of [accuracyCurve, availabilityCurve, successCurve]) {
        expect(c(lo)).toBeGreaterThanOrEqual(0);
        expect(c(hi)).toBeLessThanOrEqual(1);
        expect(c(hi)).toBeGreaterThanOrEqual(c(lo));
      }
      expect(disputeCurve(hi)).toBeLessThanOrEqual(disputeCurve(lo));
    }));
    fc.assert(fc.property(fc.double({ min: 0, max: 1e6, noNaN: true }), fc.double({ min: 0, max: 1e6, noNaN: true }), (a, b) => {
      const [lo, hi] = a <= b ? [a, b] : [b, a];
      expect(latencyCurve(hi)).toBeLessThanOrEqual(latencyCurve(lo));
      expect(latencyCurve(hi)).toBeGreaterThanOrEqual(0);
    }));
    // smooth: a 1 ms step never moves latency goodness by more than 1%
    for (let ms = 0; ms < 1000; ms++) expect(Math.abs(latencyCurve(ms + 1) - latencyCurve(ms))).toBeLessThan(0.01);
  });

  it('treat garbage inputs as worst case', () => {
    expect(latencyCurve(Number.POSITIVE_INFINITY)).toBe(0);
    expect(latencyCurve(Number.NaN)).toBe(0);
    expect(accuracyCurve(Number.NaN)).toBeLessThan(0.05);
  });
});

describe('confidence and channel value', () => {
  it('confidence is 0 without evidence, rises with mass and stays below 1', () => {
    expect(confidence(0, 5)).toBe(0);
    expect(confidence(-3, 5)).toBe(0);
    fc.assert(fc.property(fc.double({ min: 0, max: 1e9, noNaN: true }), fc.double({ min: 0, max: 1e9, noNaN: true }), (a, b) => {
      const [lo, hi] = a <= b ? [a, b] : [b, a];
      expect(confidence(hi, 4)).toBeGreaterThanOrEqual(confidence(lo, 4));
      expect(confidence(hi, 4)).toBeLessThan(1);
    }));
  });

  it('channel value lies in [-1, 1], is -1 with no evidence and is monotone in mass and goodness', () => {
    expect(channelValue(0, 1, 5)).toBe(-1);
    fc.assert(fc.property(fc.double({ min: 0, max: 1e6, noNaN: true }), fc.double({ min: 0, max: 1e6, noNaN: true }), unit, unit, (m1, m2, g1, g2) => {
      const [ml, mh] = m1 <= m2 ? [m1, m2] : [m2, m1];
      const [gl, gh] = g1 <= g2 ? [g1, g2] : [g2, g1];
      const v = channelValue(ml, gl, 5);
      expect(v).toBeGreaterThanOrEqual(-1);
      expect(v).toBeLessThanOrEqual(1);
      expect(channelValue(mh, gl, 5)).toBeGreaterThanOrEqual(v);
      expect(channelValue(ml, gh, 5)).toBeGreaterThanOrEqual(v);
    }));
  });

  it('few observations are pulled toward the pessimistic prior', () => {
    expect(channelValue(1, 1, 5)).toBeLessThan(-0.6);
    expect(channelValue(100, 1, 5)).toBeGreaterThan(0.9);
  });
});

describe('amountWeight', () => {
  it('is 1 for nothing, rises with the amount and is capped at 4', () => {
    expect(amountWeight(0n)).toBe(1);
    fc.assert(fc.property(fc.bigInt({ min: 0n, max: 10n ** 18n }), fc.bigInt({ min: 0n, max: 10n ** 18n }), (a, b) => {
      const [lo, hi] = a <= b ? [a, b] : [b, a];
      expect(amountWeight(hi)).toBeGreaterThanOrEqual(amountWeight(lo));
      expect(amountWeight(hi)).toBeLessThanOrEqual(4);
    }));
  });
});
