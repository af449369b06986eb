/**
 * Issue 13 in the pure engine: the trust seed (probes, verifiers, externally funded value), epochs that
 * weigh evidence again, saturation of one counterparty, and buyer-experienced metrics over seller claims.
 */
import { describe, expect, it } from 'vitest';
import { ReputationEngine } from './engine.js';
import { AITBC, DAY_MS, type Evidence } from './evidence.types.js';
import { explain } from './explain.js';
import { trustLevel } from './trust-score.js';

const H = 3_600_000;
const trade = (id: string, at: number, buyerId: string, sellerId: string, extra: Partial<Extract<Evidence, { type: 'trade' }>> = {}): Evidence =>
  ({ type: 'trade', id, at, buyerId, sellerId, success: true, latencyMs: 30, accuracy: 0.99, slaMet: true, amount: 10n * AITBC, ...extra });
const fund = (agentId: string, aitbc: bigint, at = 0): Evidence => ({ type: 'funding', at, agentId, amount: aitbc * AITBC });

describe('the trust seed', () => {
  it('with no probes and nobody funded, nobody has trust, however many trades', () => {
    const e = new ReputationEngine();
    for (let k = 0; k < 20; k++) e.apply(trade(`t${k}`, k * H, `b${k % 4}`, 's'));
    e.apply({ type: 'epoch', at: 30 * H });
    expect(e.trustOf('s').trust).toBe(0);
    expect(e.trustOf('b0').weight).toBe(0);
    expect(e.scoreOf('s', 31 * H)).toBe(0);
  });

  it('funded buyers seed trust; an epoch weighs the evidence recorded before it again', () => {
    const e = new ReputationEngine();
    for (const b of ['b0', 'b1', 'b2']) e.apply(fund(b, 500n));
    for (let k = 0; k < 6; k++) {
      e.apply(trade(`t${k}`, H + k, `b${k % 3}`, 's'));
      e.apply({ type: 'rating', at: H + k, raterId: `b${k % 3}`, rateeId: 's', tradeId: `t${k}`, stars: 5 });
    }
    // applied before any trust existed: weight 0
    expect(e.scoreOf('s', 2 * H)).toBe(0);
    expect(explain(e, 's', 2 * H).recent.map((r) => r.weight)).toEqual(Array(8).fill(0));
    e.apply({ type: 'epoch', at: 2 * H });
    expect(e.trustOf('b0').fundedAitbc).toBe(500);
    expect(e.trustOf('s').trust).toBeGreaterThan(0);
    const x = explain(e, 's', 2 * H);
    expect(x.recent.filter((r) => r.type === 'trade').every((r) => (r.weightNow ?? 0) > 0)).toBe(true);
    expect(e.score('s', 2 * H).raw).toBeGreaterThan(100);
    expect(e.scoreOf('s', 2 * H)).toBe(75); // the daily gain cap
  });

  it('splitting a deposit over many identities adds no seed', () => {
    const one = new ReputationEngine();
    const many = new ReputationEngine();
    for (const e of [one, many]) for (let i = 0; i < 10; i++) e.apply(fund(`honest${i}`, 1000n));
    one.apply(fund('sybil', 1000n));
    for (let i = 0; i < 10; i++) many.apply(fund(`sybil${i}`, 100n));
    for (const e of [one, many]) e.apply({ type: 'epoch', at: H });
    const sybilTrust = (e: ReputationEngine, ids: string[]) => ids.reduce((a, id) => a + e.trustOf(id).trust, 0);
    const a = sybilTrust(one, ['sybil']);
    const b = sybilTrust(many, Array.from({ length: 10 }, (_, i) => `sybil${i}`));
    expect(b).toBeCloseTo(a, 9);
    // and value above the cap adds nothing to one agent
    const whale = new ReputationEngine();
    whale.apply(fund('w', 1_000_000n));
    whale.apply(fund('x', 1000n));
    whale.apply({ type: 'epoch', at: H });
    expect(whale.trustOf('w').trust).toBeCloseTo(whale.trustOf('x').trust, 9);
  });

  it('the platform verifier is pre-trusted like a probe', () => {
    const e = new ReputationEngine({ preTrusted: ['verifier'] });
    e.apply({ type: 'probe', at: H, agentId: 's', probeId: 'verifier', responseMs: 30, available: true, accuracy: 0.99 });
    e.apply({ type: 'epoch', at: 2 * H });
    expect(e.trustOf('verifier')).toMatchObject({ preTrusted: true, weight: 1 });
    expect(e.trustOf('s').trust).toBeGreaterThan(0);
  });
});

describe('counterparty diversity', () => {
  const market = (pairs: Array<[string, number]>): ReputationEngine => {
    const e = new ReputationEngine();
    for (const [b] of pairs) e.apply(fund(b, 500n));
    e.apply(fund('other', 500n));
    let at = 1;
    // every buyer also buys from another seller, so its trust is its own seed, not the rated seller's
    for (const [b] of pairs) e.apply(trade(`o-${b}`, at++, b, 'elsewhere'));
    e.apply({ type: 'epoch', at: at++ });
    let n = 0;
    for (const [b, k] of pairs) for (let i = 0; i < k; i++) e.apply(trade(`t${n++}`, at++, b, 's'));
    e.apply({ type: 'epoch', at: at++ });
    return e;
  };
  const mass = (e: ReputationEngine): number => (explain(e, 's', DAY_MS / 2).components[1]!.channels.success as { mass: number }).mass;

  it('a hundred trades with one buyer weigh less than one trade each with three independent buyers', () => {
    const one = market([['c', 100]]);
    const three = market([['x', 1], ['y', 1], ['z', 1]]);
    expect(mass(one)).toBeLessThan(mass(three));
    expect(one.score('s', DAY_MS / 2).raw).toBeLessThan(three.score('s', DAY_MS / 2).raw);
  });

  it('a rater whose only trust flows from the seller it rates has no weight', () => {
    const e = new ReputationEngine();
    for (const b of ['b0', 'b1']) e.apply(fund(b, 500n));
    for (let k = 0; k < 4; k++) e.apply(trade(`t${k}`, 1 + k, `b${k % 2}`, 's'));
    // `c` brought nothing in (its tokens came from elsewhere) and buys from `s`: the only trust it has is
    // what `s` passes to the buyers who paid it
    e.apply(trade('cs', 11, 'c', 's', { amount: 1n * AITBC }));
    e.apply({ type: 'epoch', at: 12 });
    expect(e.trustOf('c').trust).toBeGreaterThan(0);
    expect(e.pairWeightNow('s', 'c', 'trade')).toBeLessThan(0.001); // zero up to EigenTrust's convergence tolerance
    expect(e.pairWeightNow('s', 'b0', 'trade')).toBeGreaterThan(0);
  });
});

describe('buyer-experienced metrics', () => {
  it('a seller that claims ideal latency and accuracy scores as its buyers experienced it', () => {
    const run = (claim: boolean): ReputationEngine => {
      const e = new ReputationEngine();
      for (const b of ['b0', 'b1', 'b2']) e.apply(fund(b, 500n));
      e.apply({ type: 'epoch', at: 0 });
      for (let k = 0; k < 30; k++) {
        const exp = { latencyMs: 400, accuracy: 0.7 };
        e.apply(trade(`t${k}`, 1 + k, `b${k % 3}`, 's', claim ? { latencyMs: 5, accuracy: 1, buyerLatencyMs: exp.latencyMs, buyerAccuracy: exp.accuracy } : exp));
      }
      return e;
    };
    const inflated = run(true);
    const truthful = run(false);
    expect(inflated.score('s', DAY_MS / 2).components.performance).toBeCloseTo(truthful.score('s', DAY_MS / 2).components.performance, 9);
    expect(explain(inflated, 's', DAY_MS / 2).discounted.claim_contradicted).toBe(30);
  });
});

describe('reachable range (docs/decisions.md, "Reputation from real sources")', () => {
  /**
   * An agent excellent on everything, with only evidence the platform and its counterparties produce (no
   * operator community actions, no operator attestations): 60 days of 6 trades a day from 60 funded buyers
   * (30 ms and 99% as the buyers experienced it, 5 stars), the agent rating its buyers back, a daily
   * challenge by the built-in verifier, and uptime and maintenance compliance from its heartbeats.
   */
  const excellent = (opts: { verifier: boolean; heartbeats: boolean; ratesBuyers: boolean }) => {
    // the service pre-trusts the verifier (params.verifierIds join the probes, reputation.projection.ts)
    const e = new ReputationEngine({ preTrusted: opts.verifier ? ['verifier'] : [] });
    const buyers = Array.from({ length: 60 }, (_, i) => `b${i}`);
    for (const b of buyers) e.apply(fund(b, 1000n));
    let at = 1;
    let n = 0;
    for (let d = 0; d < 60; d++) {
      at = Math.max(at, d * DAY_MS + 1);
      for (let k = 0; k < 6; k++) {
        const b = buyers[n % buyers.length]!;
        const id = `t${n++}`;
        e.apply(trade(id, at++, b, 's', { latencyMs: 30, accuracy: 0.99, buyerLatencyMs: 30, buyerAccuracy: 0.99 }));
        e.apply({ type: 'rating', at: at++, raterId: b, rateeId: 's', tradeId: id, stars: 5 });
        if (opts.ratesBuyers) e.apply({ type: 'rating', at: at++, raterId: 's', rateeId: b, tradeId: id, stars: 5 });
      }
      if (opts.verifier) e.apply({ type: 'probe', at: at++, agentId: 's', probeId: 'verifier', responseMs: 30, available: true, accuracy: 1 });
      if (opts.heartbeats) {
        e.apply({ type: 'reliability', at: at++, agentId: 's', kind: 'uptime', value: 1 });
        e.apply({ type: 'reliability', at: at++, agentId: 's', kind: 'maintenance', value: 1 });
      }
    }
    return e.score('s', at + 1);
  };

  it('an excellent agent with only real (non-operator) evidence reaches platinum (>= 900)', () => {
    const all = excellent({ verifier: true, heartbeats: true, ratesBuyers: true });
    expect(all.score).toBeGreaterThanOrEqual(900);
    expect(trustLevel(all.score, all.observations)).toBe('platinum');
  });

  it('without the verifier or without heartbeats it stays below platinum', () => {
    expect(excellent({ verifier: false, heartbeats: true, ratesBuyers: true }).score).toBeLessThan(900);
    expect(excellent({ verifier: true, heartbeats: false, ratesBuyers: true }).score).toBeLessThan(900);
  });
});

describe('optional reliability channels', () => {
  const withKinds = (kinds: Array<'uptime' | 'maintenance' | 'security' | 'backup'>) => {
    const e = new ReputationEngine();
    for (let d = 0; d < 30; d++) for (const kind of kinds) e.apply({ type: 'reliability', at: d * DAY_MS + 1, agentId: 's', kind, value: 1 });
    return e;
  };

  it('a kind nobody measured is left out of the average, not counted at the floor; explain says "not measured"', () => {
    const hb = withKinds(['uptime', 'maintenance']);
    const all = withKinds(['uptime', 'maintenance', 'security', 'backup']);
    const now = 30 * DAY_MS;
    const rel = (e: ReputationEngine) => e.score('s', now).components.reliability;
    // full compliance on what was measured: the same reliability with or without the operator's attestations
    expect(rel(hb)).toBeGreaterThan(40);
    expect(rel(hb)).toBeCloseTo(rel(all), 6);
    const x = explain(hb, 's', now);
    expect(x.components.find((c) => c.name === 'reliability')!.channels.notMeasured).toEqual(['security', 'backup']);
    expect(x.notes.some((n) => /security, backup not measured/.test(n))).toBe(true);
    expect(explain(all, 's', now).components.find((c) => c.name === 'reliability')!.channels.notMeasured).toEqual([]);
    // bad measured values still count: poor uptime is not hidden by leaving the others out
    const poor = new ReputationEngine();
    for (let d = 0; d < 30; d++) poor.apply({ type: 'reliability', at: d * DAY_MS + 1, agentId: 's', kind: 'uptime', value: 0.2 });
    expect(rel(poor)).toBeLessThan(rel(hb) - 30);
  });

  it('with no reliability evidence at all the component stays at its floor (a newcomer gains nothing)', () => {
    const e = new ReputationEngine();
    e.apply(fund('b', 100n));
    e.apply(trade('t0', 1, 'b', 's'));
    expect(e.score('s', DAY_MS).components.reliability).toBe(-50);
  });
});
