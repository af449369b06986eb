import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { detectOwnerClusters, findClosedLoops, findSameOwnerClusters, nameSkeleton, type AccountSignals, type PairTradeCount } from './wash.js';
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

describe('detectOwnerClusters: account links and a closed trading pattern, both required', () => {
  const HOUR = 3_600_000;
  const T0 = Date.UTC(2026, 10, 1);
  const account = (id: string, o: Partial<AccountSignals> = {}): AccountSignals => ({
    id, displayName: id, type: 'both', country: 'DE', region: 'eu-west', categories: ['gpu_compute'], publicKey: null, createdAt: T0, funder: null, ...o,
  });
  /** trades among `ids` in a cycle and back, `n` each way per pair */
  const ring = (ids: string[], n: number): PairTradeCount[] =>
    ids.flatMap((a, i) => [{ buyerId: a, sellerId: ids[(i + 1) % ids.length]!, count: n }, { buyerId: ids[(i + 1) % ids.length]!, sellerId: a, count: n }]);
  /** an honest market around: 20 buyers each buying from every seller */
  const market = (sellers: string[], n: number): PairTradeCount[] =>
    sellers.flatMap((s) => Array.from({ length: 20 }, (_, k) => ({ buyerId: `buyer-${k}`, sellerId: s, count: n })));
  const marketAccounts = Array.from({ length: 20 }, (_, k) => account(`buyer-${k}`, { displayName: `Buyer ${String.fromCharCode(97 + k)}x${k}`, type: 'consumer', createdAt: T0 - (k + 1) * 30 * 86_400_000 }));

  it('name skeletons ignore case, digits and punctuation', () => {
    expect(nameSkeleton('Sybil-007')).toBe(nameSkeleton('sybil_12'));
    expect(nameSkeleton('SYBIL 3')).toBe('sybil');
    expect(nameSkeleton('Acme GPU')).not.toBe(nameSkeleton('Nimbus GPU'));
  });

  it('flags a ring of look-alike accounts registered in a burst that trades with itself', () => {
    const sybils = Array.from({ length: 6 }, (_, k) => account(`s${k}`, { displayName: `node-${k}`, createdAt: T0 + k * 60_000 }));
    const honest = ['h1', 'h2', 'h3'].map((id, k) => account(id, { displayName: ['Acme', 'Nimbus', 'Zephyr'][k]!, createdAt: T0 + k * 60_000 }));
    const trades = [...ring(sybils.map((a) => a.id), 5), ...market(['h1', 'h2', 'h3'], 3), { buyerId: 'buyer-1', sellerId: 's0', count: 1 }];
    const out = detectOwnerClusters([...sybils, ...honest, ...marketAccounts], trades);
    expect(out).toEqual([{ members: ['s0', 's1', 's2', 's3', 's4', 's5'], signals: ['registration_burst'], internalTrades: 60, internalShare: 0.952 }]);
  });

  it('flags agents funded from one wallet, whatever their names and registration times, and the funder when it trades inside', () => {
    const accounts = [
      account('w', { displayName: 'Treasury Bot', createdAt: T0 - 10 * 86_400_000 }),
      account('a', { displayName: 'Orion', createdAt: T0, funder: 'w', region: 'us-east' }),
      account('b', { displayName: 'Lumen', createdAt: T0 + 5 * 86_400_000, funder: 'w', country: 'FR' }),
      account('c', { displayName: 'Quartz', createdAt: T0 + 9 * 86_400_000, funder: 'w', categories: ['inference'] }),
    ];
    const out = detectOwnerClusters([...accounts, ...marketAccounts], [...ring(['a', 'b', 'c'], 4), ...market(['w'], 2)]);
    expect(out.map((c) => c.members)).toEqual([['a', 'b', 'c']]); // w trades outside: not part of the wash
    expect(out[0]!.signals).toEqual(['funded_by_member', 'shared_funder']);
    const inside = detectOwnerClusters([...accounts, ...marketAccounts], [...ring(['w', 'a', 'b', 'c'], 4), ...market(['h'], 1)]);
    expect(inside.map((c) => c.members)).toEqual([['a', 'b', 'c', 'w']]);
  });

  it('does not flag honest agents of one region registered in a burst with look-alike names that trade widely outside', () => {
    const local = Array.from({ length: 6 }, (_, k) => account(`g${k}`, { displayName: `gpu-node-${k}`, createdAt: T0 + k * 60_000 }));
    // they trade with each other (both ways) as well as with the market
    const trades = [...ring(local.map((a) => a.id), 3), ...market(local.map((a) => a.id), 1)];
    expect(detectOwnerClusters([...local, ...marketAccounts], trades)).toEqual([]);
  });

  it('does not flag agents that trade mostly with each other but share no account link', () => {
    // a provider with one loyal customer, and a small local market in one region, registered the same hour
    const accounts = [
      account('p', { displayName: 'Acme Compute', createdAt: T0 }),
      account('q', { displayName: 'Nimbus Labs', createdAt: T0 + 10 * 60_000 }),
      account('r', { displayName: 'Zephyr AI', createdAt: T0 + 20 * 60_000 }),
      account('x', { displayName: 'Loyal Buyer', type: 'consumer', createdAt: T0 + 3 * 86_400_000, funder: null }),
    ];
    const trades = [...ring(['p', 'q', 'r'], 6), { buyerId: 'x', sellerId: 'p', count: 30 }];
    expect(detectOwnerClusters(accounts, trades)).toEqual([]);
    // an account link alone is not enough either: q and r share a funder but trade as much with p
    const linked = accounts.map((a) => (a.id === 'q' || a.id === 'r' ? { ...a, funder: 'funder-0' } : a));
    expect(detectOwnerClusters(linked, trades)).toEqual([]);
    // ... until they trade mostly with each other
    const closed = [...trades, { buyerId: 'q', sellerId: 'r', count: 20 }, { buyerId: 'r', sellerId: 'q', count: 20 }];
    expect(detectOwnerClusters(linked, closed).map((c) => c.members)).toEqual([['q', 'r']]);
    expect(detectOwnerClusters(accounts, closed)).toEqual([]);
  });

  it('a burst (or an on-ramp) that spans most of the market is not one owner', () => {
    const everyone = Array.from({ length: 8 }, (_, k) => account(`m${k}`, { displayName: `agent-${k}`, createdAt: T0 + k * 1000 }));
    const trades = ring(everyone.map((a) => a.id), 4);
    expect(detectOwnerClusters(everyone, trades)).toEqual([]);
    expect(detectOwnerClusters(everyone, trades, { burstWindowMs: HOUR, minInternalShare: 0.8, minInternalTrades: 3, maxMarketShare: 1 })).toHaveLength(1);
  });

  it('property: every member of a reported cluster has an account link and keeps the required share of its trades inside', () => {
    const ids = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
    fc.assert(fc.property(
      fc.array(fc.tuple(fc.constantFrom(...ids), fc.constantFrom(...ids), fc.integer({ min: 1, max: 6 })), { maxLength: 40 }),
      fc.array(fc.record({ funder: fc.option(fc.constantFrom('F1', 'F2', 'a'), { nil: null }), name: fc.constantFrom('node-1', 'node-2', 'Acme', 'Nimbus'), dt: fc.integer({ min: 0, max: 3 * HOUR }) }), { minLength: ids.length, maxLength: ids.length }),
      (edges, attrs) => {
        const accounts = ids.map((id, k) => account(id, { displayName: attrs[k]!.name, funder: attrs[k]!.funder, createdAt: T0 + attrs[k]!.dt }));
        const trades = edges.map(([b, s, count]) => ({ buyerId: b, sellerId: s, count }));
        const total = new Map<string, number>();
        for (const t of trades) if (t.buyerId !== t.sellerId) for (const x of [t.buyerId, t.sellerId]) total.set(x, (total.get(x) ?? 0) + t.count);
        for (const c of detectOwnerClusters(accounts, trades)) {
          expect(c.members.length).toBeGreaterThanOrEqual(2);
          expect(c.signals.length).toBeGreaterThan(0);
          expect(c.members.length).toBeLessThanOrEqual(0.5 * total.size);
          for (const m of c.members) {
            let inside = 0;
            for (const t of trades) if (t.buyerId !== t.sellerId && (t.buyerId === m || t.sellerId === m) && c.members.includes(t.buyerId) && c.members.includes(t.sellerId)) inside += t.count;
            expect(inside).toBeGreaterThanOrEqual(3);
            expect(inside).toBeGreaterThanOrEqual(0.8 * total.get(m)!);
          }
        }
      },
    ), { numRuns: 300 });
  });
});
