import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  buyerExposure, counterpartyConcentration, detectConcentration, detectDisputeSpikes, detectPriceAnomalies, detectRatingRings, detectSpendVelocity, detectSpoofing,
  detectSybil, detectVolatility, detectWash, hhi, modifiedZ, type RiskTrade,
} from './detectors.js';
import type { AccountSignals } from '../reputation/index.js';

const H = 3_600_000;
const A = 10n ** 8n;
let n = 0;
function trade(buyerId: string, sellerId: string, at: number, price = 100n, o: Partial<RiskTrade> = {}): RiskTrade {
  return { id: `t${++n}`, at, buyerId, sellerId, listingId: `L-${sellerId}`, category: 'inference', region: 'eu', amount: price * A, pricePerUnit: price, success: true, ...o };
}
/** An honest market: 10 buyers each buying from 1 of 5 sellers at prices around 100. */
function honest(hours: number, start = 0): RiskTrade[] {
  const out: RiskTrade[] = [];
  for (let h = 0; h < hours; h++) for (let b = 0; b < 10; b++) out.push(trade(`b${b}`, `s${(b + h) % 5}`, start + h * H + b * 1000, BigInt(95 + ((b * 7 + h) % 11))));
  return out;
}

describe('wash and circular trading', () => {
  it('finds a ring that passes the same amount around', () => {
    const ring: RiskTrade[] = [];
    for (let k = 0; k < 4; k++) {
      ring.push(trade('w1', 'w2', k * H), trade('w2', 'w3', k * H + 60_000), trade('w3', 'w1', k * H + 120_000));
    }
    const f = detectWash([...honest(6), ...ring]);
    expect(f.map((x) => x.agents)).toEqual([['w1', 'w2', 'w3']]);
    expect(f[0]!.key).toBe('wash:w1,w2,w3');
    expect(Number(f[0]!.figures.loopTrades)).toBeGreaterThanOrEqual(2);
  });
  it('a loyal customer (always the same seller, never paid back) is not wash', () => {
    const loyal = Array.from({ length: 30 }, (_, k) => trade('loyal', 's0', k * H));
    expect(detectWash([...honest(6), ...loyal])).toEqual([]);
  });
  it('an honest market has no wash findings', () => {
    expect(detectWash(honest(24))).toEqual([]);
  });
});

describe('same-owner clusters (reputation detectOwnerClusters)', () => {
  const acct = (id: string, createdAt: number, name = id): AccountSignals => ({ id, displayName: name, type: 'provider', country: 'DE', region: 'eu', categories: ['inference'], publicKey: null, createdAt, funder: null });
  it('look-alike accounts registered together that trade among themselves are a cluster', () => {
    const trades: RiskTrade[] = [];
    for (let k = 0; k < 4; k++) trades.push(trade('x1', 'x2', k * H), trade('x2', 'x1', k * H + 1), trade('x1', 'x3', k * H + 2), trade('x3', 'x2', k * H + 3));
    const others = ['s0', 's1', 's2', 's3', 's4', ...Array.from({ length: 10 }, (_, b) => `b${b}`)].map((id, i) => acct(id, 100 * H * (i + 1), `agent${'abcdefghijklmno'[i]}`));
    const f = detectSybil([...others, acct('x1', 0, 'sybil-1'), acct('x2', 1000, 'sybil-2'), acct('x3', 2000, 'sybil-3')], [...honest(6), ...trades]);
    expect(f.map((x) => x.agents)).toEqual([['x1', 'x2', 'x3']]);
  });
  it("a region's providers registered the same hour who trade with everyone are not", () => {
    const accounts = ['s0', 's1', 's2', 's3', 's4'].map((s, i) => acct(s, i * 60_000, `provider-${i}`));
    for (let b = 0; b < 10; b++) accounts.push({ ...acct(`b${b}`, 10 * H + b), type: 'consumer', displayName: `buyer${'abcdefghij'[b]}` });
    expect(detectSybil(accounts, honest(24))).toEqual([]);
  });
});

describe('rating rings', () => {
  it('finds agents rating each other five stars in a closed group', () => {
    const r = [];
    for (const [a, b] of [['r1', 'r2'], ['r2', 'r3'], ['r3', 'r1']]) for (let k = 0; k < 3; k++) r.push({ raterId: a!, rateeId: b!, stars: 5, at: k }, { raterId: b!, rateeId: a!, stars: 5, at: k });
    expect(detectRatingRings(r).map((f) => f.agents)).toEqual([['r1', 'r2', 'r3']]);
  });
  it('a buyer and seller who rate each other after honest trades are not a ring', () => {
    const r = [];
    for (let k = 0; k < 10; k++) r.push({ raterId: 'b0', rateeId: 's0', stars: 5, at: k }, { raterId: 's0', rateeId: 'b0', stars: 5, at: k });
    for (let b = 1; b < 10; b++) r.push({ raterId: `b${b}`, rateeId: 's0', stars: 4, at: b });
    expect(detectRatingRings(r)).toEqual([]);
  });
});

describe('spoofing', () => {
  it('flags a seller far below the index whose trades fail', () => {
    const spoof = Array.from({ length: 6 }, (_, k) => trade(`b${k}`, 'spoofer', 3 * H + k, 40n, { success: k === 0 }));
    const f = detectSpoofing([...honest(6), ...spoof]);
    expect(f.map((x) => x.agents)).toEqual([['spoofer']]);
    expect(f[0]!.listings).toEqual(['L-spoofer']);
  });
  it('a cheap seller that delivers is competition, not spoofing', () => {
    const cheap = Array.from({ length: 6 }, (_, k) => trade(`b${k}`, 'cheap', 3 * H + k, 40n));
    expect(detectSpoofing([...honest(6), ...cheap])).toEqual([]);
  });
});

describe('price anomalies (modified z-score)', () => {
  it('flags one pair trading far off the market', () => {
    const odd = [trade('p1', 'p2', 5 * H, 400n), trade('p1', 'p2', 5 * H + 1, 420n)];
    const f = detectPriceAnomalies([...honest(4), ...odd]);
    expect(f.map((x) => x.agents)).toEqual([['p1', 'p2']]);
  });
  it('a real price jump after a supply outage (every seller reprices) is not an anomaly', () => {
    const after = honest(2, 4 * H).map((t) => ({ ...t, pricePerUnit: t.pricePerUnit * 3n, amount: t.amount * 3n }));
    expect(detectPriceAnomalies([...honest(4), ...after])).toEqual([]);
    // but it is volatility: the early warning fires
    const v = detectVolatility([...honest(4), ...after]);
    expect(v.findings.map((f) => f.kind)).toEqual(['volatility']);
  });
  it('modified z of a constant series is zero everywhere', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: 50 }), (x, len) => modifiedZ(Array(len).fill(x)).every((z) => z === 0)));
  });
});

describe('volatility (EWMA)', () => {
  it('a steady market raises no warning', () => {
    expect(detectVolatility(honest(48)).findings).toEqual([]);
  });
});

describe('concentration', () => {
  it('HHI: a monopoly is 10,000, n equal sellers 10,000 / n', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 100 }), (k) => Math.abs(hhi(Array(k).fill(7)) - 10_000 / k) < 1e-6));
    expect(hhi([5])).toBe(10_000);
  });
  it('flags a cell one seller dominates, not a balanced one', () => {
    expect(detectConcentration(honest(4)).findings).toEqual([]);
    const mono = Array.from({ length: 30 }, (_, k) => trade(`b${k % 10}`, 'big', k * 1000));
    const f = detectConcentration([...honest(1), ...mono]).findings;
    expect(f.map((x) => x.agents)).toEqual([['big']]);
  });
  it("buyers' exposure: the share of a buyer's spend with its largest seller", () => {
    const e = buyerExposure([trade('b', 's0', 0), trade('b', 's0', 1), trade('b', 's0', 2), trade('b', 's1', 3), trade('c', 's2', 4)]);
    expect(e.get('b')).toEqual({ topSeller: 's0', share: 0.75, trades: 4 });
    expect(e.get('c')!.share).toBe(1);
    // shares are in (0, 1] and the largest seller holds at least 1 / sellers of the spend
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 40 }), (sellers) => {
      const x = buyerExposure(sellers.map((k, i) => trade('b', `s${k}`, i))).get('b')!;
      return x.share > 0 && x.share <= 1 && x.share >= 1 / new Set(sellers).size - 1e-9 && x.trades === sellers.length;
    }));
  });
  it("a loyal customer's counterparty HHI is 10,000 (an indicator, not an alert)", () => {
    expect(counterpartyConcentration([trade('loyal', 's0', 0), trade('loyal', 's0', 1)]).get('loyal')).toBe(10_000);
  });
});

describe('spend velocity', () => {
  const D = 86_400_000;
  it('flags a day far above the agent\'s own history', () => {
    const t = [0, 1, 2, 3].map((d) => trade('v', 's0', d * D, 10n));
    const burst = Array.from({ length: 8 }, (_, k) => trade('v', 's0', 4 * D + k, 10n));
    expect(detectSpendVelocity([...t, ...burst], 4 * D + 10).map((f) => f.agents)).toEqual([['v']]);
  });
  it('a steady buyer (or one growing gradually) is not flagged', () => {
    const t = [0, 1, 2, 3, 4].map((d) => trade('v', 's0', d * D, BigInt(10 + 5 * d)));
    expect(detectSpendVelocity(t, 4 * D + 10)).toEqual([]);
  });
  it('property: spend at most factor x the median never alerts', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 10, max: 1000 }), { minLength: 3, maxLength: 10 }), fc.double({ min: 0, max: 1, noNaN: true }), (days, frac) => {
      const hist = days.map((p, d) => trade('v', 's0', d * D, BigInt(p)));
      const s = [...days].sort((a, b) => a - b);
      const med = s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
      const today = BigInt(Math.floor(5 * med * frac));
      const t = trade('v', 's0', days.length * D, 1n, { amount: today * A });
      return detectSpendVelocity([...hist, t], days.length * D + 1).length === 0;
    }));
  });
});

describe('dispute spikes', () => {
  it('flags a burst of disputes above the baseline, not the usual rate', () => {
    const base = Array.from({ length: 24 }, (_, h) => ({ tradeId: `d${h}`, category: 'inference', region: 'eu', at: h * H }));
    expect(detectDisputeSpikes(base, 24 * H + 1)).toEqual([]);
    const spike = Array.from({ length: 8 }, (_, k) => ({ tradeId: `x${k}`, category: 'inference', region: 'eu', at: 24 * H + k }));
    const f = detectDisputeSpikes([...base, ...spike], 24 * H + 100);
    expect(f.map((x) => x.cell)).toEqual([{ category: 'inference', region: 'eu' }]);
  });
});
