import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { findClosedLoops, findSameOwnerClusters } from './wash.js';
import { AITBC, DAY_MS, type TradeOutcome } from './evidence.types.js';

const opts = { loopMaxLength: 4, loopWindowMs: DAY_MS, loopAmountTolerance: 0.1 };
let n = 0;
const trade = (buyerId: string, sellerId: string, at: number, aitbc = 10): TradeOutcome => ({
  type: 'trade', id: `t${n++}`, at, buyerId, sellerId, success: true, latencyMs: 10, accuracy: 1, slaMet: true, amount: BigInt(aitbc) * AITBC,
});

describe('findClosedLoops', () => {
  it('finds the trade that closes a loop of 2, 3 and 4 payments of about the same amount', () => {
    for (const ring of [['a', 'b'], ['a', 'b', 'c'], ['a', 'b', 'c', 'd']]) {
      const ts = ring.map((b, i) => trade(b, ring[(i + 1) % ring.length]!, i * 1000, 100 + i));
      expect([...findClosedLoops(ts, opts)]).toEqual([ts[ts.length - 1]!.id]);
    }
  });

  it('ignores loops that are too long, too slow or of very different amounts', () => {
    const long = ['a', 'b', 'c', 'd', 'e'].map((b, i, r) => trade(b, r[(i + 1) % r.length]!, i * 1000));
    expect(findClosedLoops(long, opts).size).toBe(0);
    const slow = [trade('a', 'b', 0), trade('b', 'a', 2 * DAY_MS)];
    expect(findClosedLoops(slow, opts).size).toBe(0);
    const unequal = [trade('a', 'b', 0, 10), trade('b', 'a', 1000, 50)];
    expect(findClosedLoops(unequal, opts).size).toBe(0);
  });

  it('never flags trades of a market without cycles (a DAG of payments)', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.nat(9), fc.nat(9), fc.integer({ min: 1, max: 100 })), { maxLength: 80 }), (edges) => {
      // orient every edge from the lower to the higher id: no cycle can exist
      const ts = edges.filter(([a, b]) => a !== b).map(([a, b, amt], i) => trade(`n${Math.min(a, b)}`, `n${Math.max(a, b)}`, i * 1000, amt));
      expect(findClosedLoops(ts, opts).size).toBe(0);
    }));
  });
});

describe('findSameOwnerClusters', () => {
  it('groups agents that trade mostly with each other in both directions', () => {
    const ts: TradeOutcome[] = [];
    for (let k = 0; k < 5; k++) {
      ts.push(trade('s1', 's2', k), trade('s2', 's1', k), trade('s2', 's3', k), trade('s3', 's2', k));
      ts.push(trade('h1', 'h2', k), trade(`buyer${k}`, 'h1', k), trade(`buyer${k}`, 'h2', k));
    }
    expect(findSameOwnerClusters(ts)).toEqual([['s1', 's2', 's3']]);
  });

  it('does not flag an honest pair that also trades widely outside', () => {
    const ts: TradeOutcome[] = [];
    for (let k = 0; k < 3; k++) ts.push(trade('x', 'y', k), trade('y', 'x', k));
    for (let k = 0; k < 30; k++) ts.push(trade(`b${k}`, 'x', k), trade(`c${k}`, 'y', k));
    expect(findSameOwnerClusters(ts)).toEqual([]);
  });
});
