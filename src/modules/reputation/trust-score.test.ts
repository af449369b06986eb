import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { F, STAT_FIELDS, componentDetail, componentsFromDetail, newcomerScore, rawScore, rawScoreFast, trustLevel } from './trust-score.js';
import { RANGE, makeParams } from './params.js';

const P = makeParams();
const nonneg = fc.double({ min: 0, max: 1e4, noNaN: true });

/** Consistent statistics: every weighted sum lies between 0 and its mass. */
const stats = fc
  .record({
    tm: nonneg, pm: nonneg, rm: nonneg, lost: nonneg, won: nonneg,
    fr: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 9, maxLength: 9 }),
    comm: fc.array(nonneg, { minLength: 4, maxLength: 4 }),
    relW: fc.array(nonneg, { minLength: 4, maxLength: 4 }),
    relX: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 4, maxLength: 4 }),
  })
  .map((r) => {
    const s = new Float64Array(STAT_FIELDS);
    s[F.tradeMass] = r.tm;
    s[F.tradeLatency] = r.tm * r.fr[0]!;
    s[F.tradeAccuracy] = r.tm * r.fr[1]!;
    s[F.tradeSuccess] = r.tm * r.fr[2]!;
    s[F.probeMass] = r.pm;
    s[F.probeLatency] = r.pm * r.fr[3]!;
    s[F.probeAccuracy] = r.pm * r.fr[4]!;
    s[F.probeAvailable] = r.pm * r.fr[5]!;
    s[F.ratingMass] = r.rm;
    s[F.ratingSum] = r.rm * r.fr[6]!;
    s[F.disputeLost] = r.lost;
    s[F.disputeWon] = r.won;
    for (let k = 0; k < 4; k++) {
      s[F.community0 + k] = r.comm[k]!;
      s[F.reliabilityW0 + k] = r.relW[k]!;
      s[F.reliabilityX0 + k] = r.relW[k]! * r.relX[k]!;
    }
    return s;
  });

describe('trust score components', () => {
  it('every component stays inside its plan range and the score inside 0..1000', () => {
    fc.assert(fc.property(stats, fc.double({ min: 0, max: 1, noNaN: true }), (s, scale) => {
      const c = componentsFromDetail(componentDetail(s, 0, scale, P));
      for (const k of Object.keys(RANGE) as (keyof typeof RANGE)[]) {
        expect(Math.abs(c[k])).toBeLessThanOrEqual(RANGE[k] + 1e-9);
      }
      expect(c.raw).toBeGreaterThanOrEqual(0);
      expect(c.raw).toBeLessThanOrEqual(1000);
    }));
  });

  it('the allocation-free raw score is identical to the detailed computation', () => {
    fc.assert(fc.property(stats, fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1e4, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), (s, scale, rm, rok) => {
      s[F.recentMass] = rm;
      s[F.recentOk] = rm * rok;
      expect(rawScoreFast(s, 0, scale, P)).toBe(rawScore(s, 0, scale, P));
    }), { numRuns: 500 });
  });

  it('a newcomer (no evidence) sits at the floor: every component at -range, score 0', () => {
    const c = componentsFromDetail(componentDetail(new Float64Array(STAT_FIELDS), 0, 1, P));
    expect(c.performance).toBe(-RANGE.performance);
    expect(c.transactions).toBe(-RANGE.transactions);
    expect(c.community).toBe(-RANGE.community);
    expect(c.reliability).toBe(-RANGE.reliability);
    expect(c.disputes).toBe(-RANGE.disputes);
    expect(newcomerScore(P)).toBe(0);
  });

  it('decay (a common scale < 1) never raises the score: it only lowers confidence', () => {
    fc.assert(fc.property(stats, fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), (s, a, b) => {
      const [lo, hi] = a <= b ? [a, b] : [b, a];
      expect(rawScore(s, 0, lo, P)).toBeLessThanOrEqual(rawScore(s, 0, hi, P) + 1e-9);
    }));
  });

  it('favourable evidence never lowers the score and unfavourable evidence never raises it', () => {
    const add = (s: Float64Array, fields: [number, number][]): Float64Array => {
      const t = Float64Array.from(s);
      for (const [f, v] of fields) t[f] = t[f]! + v;
      return t;
    };
    fc.assert(fc.property(stats, fc.double({ min: 0.01, max: 10, noNaN: true }), (s, w) => {
      const base = rawScore(s, 0, 1, P);
      // a perfect successful trade
      const good = add(s, [[F.tradeMass, w], [F.tradeLatency, w], [F.tradeAccuracy, w], [F.tradeSuccess, w]]);
      expect(rawScore(good, 0, 1, P)).toBeGreaterThanOrEqual(base - 1e-9);
      // a failed trade (no delivery)
      const bad = add(s, [[F.tradeMass, w]]);
      expect(rawScore(bad, 0, 1, P)).toBeLessThanOrEqual(base + 1e-9);
      // a 5-star and a 1-star rating
      expect(rawScore(add(s, [[F.ratingMass, w], [F.ratingSum, w]]), 0, 1, P)).toBeGreaterThanOrEqual(base - 1e-9);
      expect(rawScore(add(s, [[F.ratingMass, w]]), 0, 1, P)).toBeLessThanOrEqual(base + 1e-9);
      // a lost and a won dispute
      expect(rawScore(add(s, [[F.disputeLost, w]]), 0, 1, P)).toBeLessThanOrEqual(base + 1e-9);
      expect(rawScore(add(s, [[F.disputeWon, w]]), 0, 1, P)).toBeGreaterThanOrEqual(base - 1e-9);
      // a failed probe (unavailable) and a perfect probe
      expect(rawScore(add(s, [[F.probeMass, w]]), 0, 1, P)).toBeLessThanOrEqual(base + 1e-9);
      expect(rawScore(add(s, [[F.probeMass, w], [F.probeLatency, w], [F.probeAccuracy, w], [F.probeAvailable, w]]), 0, 1, P)).toBeGreaterThanOrEqual(base - 1e-9);
      // community actions and a compliant reliability attestation
      expect(rawScore(add(s, [[F.community0 + 2, w]]), 0, 1, P)).toBeGreaterThanOrEqual(base - 1e-9);
      expect(rawScore(add(s, [[F.reliabilityW0, w], [F.reliabilityX0, w]]), 0, 1, P)).toBeGreaterThanOrEqual(base - 1e-9);
      expect(rawScore(add(s, [[F.reliabilityW0, w]]), 0, 1, P)).toBeLessThanOrEqual(base + 1e-9);
    }), { numRuns: 300 });
  });

  it('an agent at the plan thresholds with plenty of evidence reaches the top band of each objective component', () => {
    const s = new Float64Array(STAT_FIELDS);
    const m = 1000;
    s[F.probeMass] = m;
    s[F.probeLatency] = m * 0.9; // latencyCurve(50 ms) = 0.9
    s[F.probeAccuracy] = m * 0.95;
    s[F.probeAvailable] = m * 0.99;
    s[F.tradeMass] = m;
    s[F.tradeLatency] = m * 0.9;
    s[F.tradeAccuracy] = m * 0.95;
    s[F.tradeSuccess] = m * 0.98;
    s[F.disputeLost] = m * 0.02;
    const c = componentsFromDetail(componentDetail(s, 0, 1, P));
    // the top band starts at 80% of the range; confidence at mass 1000 costs a little
    expect(c.performance).toBeGreaterThan(0.78 * RANGE.performance);
    expect(c.transactions).toBeGreaterThan(0.78 * RANGE.transactions);
    expect(c.disputes).toBeGreaterThan(0.78 * RANGE.disputes);
  });

  it('community and reliability contributions are capped', () => {
    const s = new Float64Array(STAT_FIELDS);
    for (let k = 0; k < 4; k++) {
      s[F.community0 + k] = 1e9;
      s[F.reliabilityW0 + k] = 1e9;
      s[F.reliabilityX0 + k] = 1e9;
    }
    const c = componentsFromDetail(componentDetail(s, 0, 1, P));
    expect(c.community).toBeLessThanOrEqual(0.3 * RANGE.community + 0.7 * -RANGE.community + 1e-9); // ratings still at prior
    expect(c.reliability).toBeLessThanOrEqual(RANGE.reliability);
  });
});

describe('trustLevel', () => {
  it('maps bands and is unrated without observations', () => {
    expect(trustLevel(950, 0)).toBe('unrated');
    expect(trustLevel(950, 3)).toBe('platinum');
    expect(trustLevel(800, 3)).toBe('gold');
    expect(trustLevel(650, 3)).toBe('silver');
    expect(trustLevel(100, 3)).toBe('bronze');
  });
});

describe('saturating confidence (confidenceFullAt)', () => {
  const perf = (tm: number, pm: number, acc: number, p = makeParams({ confidenceFullAt: 0.5 })) => {
    const s = new Float64Array(STAT_FIELDS);
    s[F.tradeMass] = tm; s[F.tradeLatency] = tm * 0.8; s[F.tradeAccuracy] = tm * acc; s[F.tradeSuccess] = tm;
    s[F.probeMass] = pm; s[F.probeLatency] = pm * 0.8; s[F.probeAccuracy] = pm * acc; s[F.probeAvailable] = pm;
    return componentsFromDetail(componentDetail(s, 0, 1, p)).performance;
  };

  it('past the minimum of evidence, goodness ranks the performance component, not volume; below it, volume still counts', () => {
    // probe mass 5 (about 25 challenges) at accuracy 0.97 against 40 trades' mass at 0.92
    expect(perf(0, 5, 0.97)).toBeGreaterThan(perf(40, 5, 0.92));
    // without saturation the volume wins
    expect(perf(0, 5, 0.97, P)).toBeLessThan(perf(40, 5, 0.92, P));
    // at full confidence more mass changes nothing; below it, more mass raises the value
    expect(perf(0, 5, 0.97)).toBeCloseTo(perf(0, 50, 0.97), 9);
    expect(perf(0, 1, 0.97)).toBeLessThan(perf(0, 2, 0.97));
  });

  it('keeps the fast path identical and a newcomer at the floor', () => {
    const p = makeParams({ confidenceFullAt: 0.5 });
    fc.assert(fc.property(stats, (s) => {
      expect(rawScoreFast(s, 0, 1, p)).toBeCloseTo(rawScore(s, 0, 1, p), 9);
    }), { numRuns: 200 });
    expect(newcomerScore(p)).toBe(0);
  });
});
