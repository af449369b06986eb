import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { apportion, computeEpoch, factorsOf, rawReward, type AgentEvidence } from './rewards.formula.js';
import { DEFAULT_CONFIG, programErrors, tierOf } from './rewards.program.js';
import { planRelease } from './rewards.splits.js';

const AITBC = 100_000_000n;

function ev(id: string, over: Partial<AgentEvidence> = {}): AgentEvidence {
  return {
    agentId: id, cluster: id, sellerValue: 0n, buyerValue: 0n, fees: 0n, trust: 500, sellerTrades: 0, sellerSuccesses: 0,
    latencyMs: null, accuracy: null, availability: null, tenureDays: 0, streak: 0, repeatCustomers: 0, underSuppliedShare: 0, held: false, referral: 0n, ...over,
  };
}

const arbEvidence = fc.record({
  agentId: fc.uuid(),
  cluster: fc.constantFrom('c1', 'c2', 'c3', 'solo'),
  sellerValue: fc.bigInt({ min: 0n, max: 10_000n * AITBC }),
  buyerValue: fc.bigInt({ min: 0n, max: 10_000n * AITBC }),
  fees: fc.bigInt({ min: 0n, max: 500n * AITBC }),
  trust: fc.integer({ min: 0, max: 1000 }),
  sellerTrades: fc.integer({ min: 0, max: 50 }),
  sellerSuccesses: fc.integer({ min: 0, max: 50 }),
  latencyMs: fc.option(fc.integer({ min: 0, max: 500 })),
  accuracy: fc.option(fc.double({ min: 0, max: 1, noNaN: true })),
  availability: fc.option(fc.double({ min: 0, max: 1, noNaN: true })),
  tenureDays: fc.integer({ min: 0, max: 400 }),
  streak: fc.integer({ min: 0, max: 30 }),
  repeatCustomers: fc.integer({ min: 0, max: 20 }),
  underSuppliedShare: fc.double({ min: 0, max: 1, noNaN: true }),
  held: fc.boolean(),
  referral: fc.constantFrom(0n, 0n, 0n, 100_000_000n),
}).map((e) => ({ ...e, sellerSuccesses: Math.min(e.sellerSuccesses, e.sellerTrades), cluster: e.cluster === 'solo' ? e.agentId : e.cluster }));

const uniqueAgents = fc.uniqueArray(arbEvidence, { selector: (e) => e.agentId, maxLength: 40 });

describe('tiers and factors', () => {
  it('maps trust to the plan tiers at 0 / 600 / 750 / 900', () => {
    const t = DEFAULT_CONFIG.tiers;
    expect([0, 599, 600, 749, 750, 899, 900, 1000].map((x) => tierOf(t, x).name)).toEqual(['bronze', 'bronze', 'silver', 'silver', 'gold', 'gold', 'platinum', 'platinum']);
    expect(t.map((x) => x.multiplier)).toEqual([1.0, 1.2, 1.5, 2.0]);
  });

  it('gives the performance bonus only for measured values past the plan thresholds', () => {
    const good = ev('a', { sellerValue: 100n * AITBC, sellerTrades: 10, sellerSuccesses: 10, latencyMs: 40, accuracy: 0.97, availability: 0.995 });
    const f = factorsOf(DEFAULT_CONFIG, good);
    expect(f.performance).toEqual({ total: 0.7, latency: 0.1, accuracy: 0.15, availability: 0.2, success: 0.25 });
    // unmeasured: nothing; just under each threshold: nothing
    expect(factorsOf(DEFAULT_CONFIG, { ...good, latencyMs: null, accuracy: null, availability: null }).performance.total).toBe(0.25);
    expect(factorsOf(DEFAULT_CONFIG, { ...good, latencyMs: 50, accuracy: 0.95, availability: 0.99, sellerSuccesses: 9 }).performance.total).toBe(0);
    // too few trades: the trade metrics count nothing, the platform's availability still does
    expect(factorsOf(DEFAULT_CONFIG, { ...good, sellerTrades: 2, sellerSuccesses: 2 }).performance.total).toBe(0.2);
  });

  it('computes reward = base x tier x (1 + perf) x (1 + loyalty) in exact units', () => {
    const e = ev('a', { sellerValue: 100n * AITBC, buyerValue: 20n * AITBC, trust: 760, sellerTrades: 10, sellerSuccesses: 10, tenureDays: 90, streak: 2, repeatCustomers: 1 });
    const f = factorsOf(DEFAULT_CONFIG, e);
    expect(f.base).toBe(32_000_000n); // 0.3 % of 100 as seller + 0.1 % of 20 as buyer
    expect(f.tier).toBe('gold');
    expect(f.loyalty).toEqual({ total: 0.11, tenure: 0.05, streak: 0.04, repeat: 0.02 });
    // 0.32 x 1.5 x 1.25 x 1.11
    expect(rawReward(f)).toBe(66_600_000n);
  });
});

describe('an epoch', () => {
  it('pays exactly what it reports, never more than the budget, and held agents are not paid', () => {
    fc.assert(fc.property(uniqueAgents, fc.bigInt({ min: 0n, max: 2_000n * AITBC }), (agents, budget) => {
      const r = computeEpoch(DEFAULT_CONFIG, agents, budget);
      const payable = r.statements.filter((s) => s.status === 'payable').reduce((a, s) => a + s.amount, 0n);
      expect(payable).toBe(r.paid);
      expect(r.paid + r.held).toBeLessThanOrEqual(budget);
      // every unit of the demand scaled to the budget is either paid, held or capped
      expect(r.paid + r.held + r.capped).toBe(r.demand > budget ? budget : r.demand);
      for (const s of r.statements) {
        expect(s.amount).toBeGreaterThanOrEqual(0n);
        expect(s.amount).toBeLessThanOrEqual(s.eligible);
        const a = agents.find((x) => x.agentId === s.agentId)!;
        expect(s.eligible).toBeLessThanOrEqual(s.raw + a.referral);
        // the anti-farming bound: never more than 40 % of the fees of its counted trades (beside referral rewards)
        expect((s.amount - a.referral) * 10_000n).toBeLessThanOrEqual(a.fees * 4_000n);
        if (s.status === 'held') expect(agents.find((a) => a.agentId === s.agentId)!.held).toBe(true);
      }
    }), { numRuns: 300 });
  });

  it('is deterministic whatever the input order', () => {
    fc.assert(fc.property(uniqueAgents, fc.bigInt({ min: 0n, max: 2_000n * AITBC }), (agents, budget) => {
      const a = computeEpoch(DEFAULT_CONFIG, agents, budget);
      const b = computeEpoch(DEFAULT_CONFIG, [...agents].reverse(), budget);
      expect(b.statements.map((s) => [s.agentId, s.amount])).toEqual(a.statements.map((s) => [s.agentId, s.amount]));
    }), { numRuns: 100 });
  });

  it('caps an owner cluster and an agent as a share of the epoch', () => {
    const big = (id: string, cluster: string) => ev(id, { cluster, sellerValue: 1_000n * AITBC, fees: 1_000n * AITBC });
    const agents = [big('a1', 'x'), big('a2', 'x'), big('a3', 'x'), big('b', 'b'), big('c', 'c'), big('d', 'd'), big('e', 'e')];
    const r = computeEpoch(DEFAULT_CONFIG, agents, 10_000n * AITBC);
    const total = r.paid + r.capped;
    const cluster = r.statements.filter((s) => s.cluster === 'x').reduce((a, s) => a + s.amount, 0n);
    expect(cluster * 10_000n).toBeLessThanOrEqual(total * 4_000n);
    expect(r.capped).toBeGreaterThan(0n);
    expect(r.statements.find((s) => s.agentId === 'a1')!.notes.join(' ')).toMatch(/owner cluster capped/);
  });

  it('scales pro rata with the largest-remainder rule, ties to the smaller agent id', () => {
    const agents = ['c', 'a', 'b'].map((id) => ev(id, { sellerValue: 1n * AITBC, fees: 10n * AITBC }));
    const r = computeEpoch({ ...DEFAULT_CONFIG, caps: { ...DEFAULT_CONFIG.caps, agentShareBps: 10_000, clusterShareBps: 10_000 } }, agents, 100n);
    expect(r.statements.map((s) => [s.agentId, s.amount])).toEqual([['a', 34n], ['b', 33n], ['c', 33n]]);
    expect(r.remainderUnits).toBe(1n);
    expect(r.paid).toBe(100n);
  });
});

describe('apportion', () => {
  it('sums exactly to the total for any positive weights', () => {
    fc.assert(fc.property(fc.array(fc.bigInt({ min: 0n, max: 10n ** 15n }), { minLength: 1, maxLength: 30 }), fc.bigInt({ min: 0n, max: 10n ** 15n }), (w, total) => {
      const keys = w.map((_, i) => `k${String(i).padStart(3, '0')}`);
      const s = apportion(total, w, keys);
      const anyPositive = w.some((x) => x > 0n);
      expect(s.reduce((a, b) => a + b, 0n)).toBe(anyPositive ? total : 0n);
      s.forEach((x, i) => { if (w[i] === 0n) expect(x).toBe(0n); });
    }));
  });
});

describe('release splits', () => {
  it('are exact to the unit for any shares and amounts', () => {
    const share = fc.record({ agentId: fc.uuid(), bps: fc.integer({ min: 0, max: 10_000 }), reason: fc.constantFrom('royalty', 'partnership') });
    fc.assert(fc.property(
      fc.bigInt({ min: 0n, max: 10n ** 17n }), fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 0, max: 10_000 }),
      fc.array(share, { maxLength: 8 }),
      (gross, feeBps, feeDiscountBps, poolShareBps, shares) => {
        const p = planRelease({ gross, feeBps, feeDiscountBps, poolShareBps, shares });
        const sharesSum = p.shares.reduce((a, s) => a + s.amount, 0n);
        expect(p.platform + p.pool + sharesSum + p.payee).toBe(gross);
        expect(p.fee + p.discount).toBe((gross * BigInt(feeBps)) / 10_000n);
        expect(p.pool).toBeLessThanOrEqual(p.fee);
        expect(p.payee).toBeGreaterThanOrEqual(0n);
        for (const s of p.shares) expect(s.amount).toBeGreaterThan(0n);
        expect(p.shares.reduce((a, s) => a + s.bps, 0)).toBeLessThanOrEqual(10_000);
      },
    ), { numRuns: 500 });
  });

  it('rounds each share down and leaves the remainder with the seller', () => {
    const p = planRelease({ gross: 1001n, feeBps: 250, feeDiscountBps: 0, poolShareBps: 2000, shares: [{ agentId: 'r', bps: 3333, reason: 'royalty' }] });
    expect(p).toMatchObject({ fee: 25n, pool: 5n, platform: 20n, payee: 976n - 325n });
    expect(p.shares[0]!.amount).toBe(325n); // floor(976 x 0.3333)
  });
});

describe('program validation', () => {
  it('accepts the default and refuses a rebate cap that would let a pair earn back its fee', () => {
    expect(programErrors(DEFAULT_CONFIG)).toEqual([]);
    expect(programErrors({ ...DEFAULT_CONFIG, caps: { ...DEFAULT_CONFIG.caps, feeRebateBps: 5000 } }).map((e) => e.field)).toEqual(['body.caps.feeRebateBps']);
    expect(programErrors({ ...DEFAULT_CONFIG, tiers: [DEFAULT_CONFIG.tiers[1]!] }).map((e) => e.field)).toContain('body.tiers.0.minTrust');
  });
});
