import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ReputationEngine, OutOfOrderEvidenceError } from './engine.js';
import { AITBC, DAY_MS, type Evidence, type TradeOutcome } from './evidence.types.js';
import { explain, publishedReputation } from './explain.js';
import { saturate, type ReputationParams } from './params.js';
import { decodeCheckpoint, encodeCheckpoint } from './checkpoint.js';

const H = 3_600_000;
const PROBE = 'probe';
const params = { preTrusted: [PROBE] };

/** A well-behaved market: probes measure every provider, a few buyers trade and rate. */
function market(days: number, providers: Record<string, number>, opts: { buyers?: number; perDay?: number; start?: number } = {}): Evidence[] {
  const out: Evidence[] = [];
  const buyers = opts.buyers ?? 6;
  const perDay = opts.perDay ?? 6;
  let n = 0;
  const t0 = opts.start ?? 0;
  for (let d = 0; d < days; d++) {
    for (const [p, q] of Object.entries(providers)) {
      const base = t0 + d * DAY_MS;
      out.push({ type: 'probe', at: base + H, agentId: p, probeId: PROBE, responseMs: 40, available: true, accuracy: q });
      for (let k = 0; k < perDay; k++) {
        const at = base + 2 * H + k * H + Object.keys(providers).indexOf(p) * 10;
        const buyer = `buyer-${(d + k) % buyers}`;
        const ok = ((d * 7 + k * 13 + p.length) % 100) / 100 < q;
        const id = `${p}-${d}-${k}`;
        out.push({ type: 'trade', id, at, buyerId: buyer, sellerId: p, success: ok, latencyMs: 40, accuracy: ok ? q : 0, slaMet: ok, amount: 10n * AITBC });
        out.push({ type: 'rating', at: at + 1, raterId: buyer, rateeId: p, tradeId: id, stars: ok ? 5 : 1 });
      }
    }
  }
  return out.sort((x, y) => x.at - y.at);
}

function replay(evidence: readonly Evidence[], p: Partial<ReputationParams> = params): ReputationEngine {
  const e = new ReputationEngine(p);
  for (const ev of evidence) e.apply(ev);
  return e;
}
const replayAll = replay;

// ------------------------------------------------------------------ random logs for properties

const agents = ['a', 'b', 'c', 'd', 'e', PROBE];
const arbEvidenceStep = fc.oneof(
  fc.record({
    type: fc.constant('trade' as const), dt: fc.integer({ min: 1, max: 6 * H }), buyer: fc.constantFrom(...agents), seller: fc.constantFrom(...agents),
    success: fc.boolean(), latencyMs: fc.integer({ min: 1, max: 500 }), accuracy: fc.double({ min: 0, max: 1, noNaN: true }), slaMet: fc.boolean(),
    amount: fc.bigInt({ min: 0n, max: 1000n * AITBC }), same: fc.boolean(),
  }),
  fc.record({ type: fc.constant('probe' as const), dt: fc.integer({ min: 1, max: 6 * H }), agent: fc.constantFrom(...agents), available: fc.boolean(), responseMs: fc.integer({ min: 1, max: 500 }), accuracy: fc.double({ min: 0, max: 1, noNaN: true }) }),
  fc.record({ type: fc.constant('rating' as const), dt: fc.integer({ min: 1, max: 6 * H }), rater: fc.constantFrom(...agents), back: fc.nat(20), stars: fc.integer({ min: 1, max: 5 }) }),
  fc.record({ type: fc.constant('community' as const), dt: fc.integer({ min: 1, max: 6 * H }), agent: fc.constantFrom(...agents), kind: fc.constantFrom('forum' as const, 'knowledge_sharing' as const, 'mentorship' as const, 'voting' as const) }),
  fc.record({ type: fc.constant('reliability' as const), dt: fc.integer({ min: 1, max: 6 * H }), agent: fc.constantFrom(...agents), kind: fc.constantFrom('uptime' as const, 'maintenance' as const, 'security' as const, 'backup' as const), value: fc.double({ min: 0, max: 1, noNaN: true }) }),
  fc.record({ type: fc.constant('dispute' as const), dt: fc.integer({ min: 1, max: 6 * H }), agent: fc.constantFrom(...agents), outcome: fc.constantFrom('won' as const, 'lost' as const, 'settled' as const), filer: fc.constantFrom(...agents) }),
  fc.record({ type: fc.constant('same_owner' as const), dt: fc.integer({ min: 1, max: 6 * H }), members: fc.subarray(agents, { minLength: 2, maxLength: 3 }) }),
);

const arbLog = fc.array(arbEvidenceStep, { maxLength: 120 }).map((steps) => {
  const out: Evidence[] = [];
  const trades: TradeOutcome[] = [];
  let at = 0;
  for (const s of steps) {
    at += s.dt;
    switch (s.type) {
      case 'trade': {
        const t: TradeOutcome = { type: 'trade', id: `t${out.length}`, at, buyerId: s.buyer, sellerId: s.seller, success: s.success, latencyMs: s.latencyMs, accuracy: s.accuracy, slaMet: s.slaMet, amount: s.amount, ...(s.same ? { sameOwnerSuspected: true } : {}) };
        trades.push(t);
        out.push(t);
        break;
      }
      case 'probe': out.push({ type: 'probe', at, agentId: s.agent, probeId: PROBE, responseMs: s.responseMs, available: s.available, accuracy: s.accuracy }); break;
      case 'rating': {
        const t = trades[trades.length - 1 - (s.back % Math.max(1, trades.length))];
        if (t) out.push({ type: 'rating', at, raterId: s.rater, rateeId: s.rater === t.buyerId ? t.sellerId : t.buyerId, tradeId: t.id, stars: s.stars });
        break;
      }
      case 'community': out.push({ type: 'community', at, agentId: s.agent, kind: s.kind }); break;
      case 'reliability': out.push({ type: 'reliability', at, agentId: s.agent, kind: s.kind, value: s.value }); break;
      case 'dispute': out.push({ type: 'dispute', at, agentId: s.agent, outcome: s.outcome, filedBy: s.filer }); break;
      case 'same_owner': out.push({ type: 'same_owner', at, id: `v${out.length}`, members: s.members, signals: ['registration_burst'], internalShare: 0.9 }); break;
    }
  }
  return out;
});

describe('ReputationEngine: incremental update equals full recompute', () => {
  it('applying evidence one at a time (with reads and epoch jobs in between) equals recompute from the log', () => {
    fc.assert(fc.property(arbLog, fc.array(fc.nat(), { maxLength: 10 }), (log, readPoints) => {
      const inc = new ReputationEngine(params);
      const reads = new Set(readPoints.map((r) => r % Math.max(1, log.length)));
      log.forEach((ev, i) => {
        inc.apply(ev);
        if (reads.has(i)) {
          for (const a of agents) inc.score(a, ev.at + 3 * DAY_MS);
          inc.advanceTo(ev.at); // the daily job
        }
      });
      const full = ReputationEngine.recompute([...log].reverse(), params); // recompute sorts the log by time
      const now = (log[log.length - 1]?.at ?? 0) + H;
      for (const a of agents) {
        const x = inc.score(a, now);
        const y = full.score(a, now);
        expect(x.score).toBe(y.score);
        expect(x.raw).toBe(y.raw);
        expect(x.components).toEqual(y.components);
      }
    }), { numRuns: 150 });
  });

  it('checkpoint + replay of the rest equals a full replay (stored and read back, at any point of the log)', () => {
    fc.assert(fc.property(arbLog, fc.nat(), fc.nat(), (log, cut, readAt) => {
      const k = log.length === 0 ? 0 : cut % (log.length + 1);
      const full = replay(log);
      const head = replay(log.slice(0, k));
      if (k > 0) head.score(agents[readAt % agents.length]!, log[k - 1]!.at + DAY_MS); // reads do not change the state
      const restored = ReputationEngine.restore(decodeCheckpoint(encodeCheckpoint(head.checkpoint())), params);
      for (const ev of log.slice(k)) restored.apply(ev);
      expect(restored.stateDigest()).toEqual(full.stateDigest());
      expect(restored.epochsComputed).toBe(full.epochsComputed);
      expect(restored.agentIds()).toEqual(full.agentIds());
      const now = (log[log.length - 1]?.at ?? 0) + 2 * DAY_MS;
      for (const a of agents) {
        expect(restored.score(a, now)).toEqual(full.score(a, now));
        expect(explain(restored, a, now)).toEqual(explain(full, a, now));
        expect(restored.trustOf(a)).toEqual(full.trustOf(a));
      }
      // and the checkpoint of the restored engine is the checkpoint of the full one
      expect(restored.checkpoint()).toEqual(full.checkpoint());
    }), { numRuns: 150 });
  });

  it('a checkpoint restores only into an engine with the same parameters', () => {
    const cp = replay(market(2, { p: 0.9 })).checkpoint();
    expect(() => ReputationEngine.restore(cp, { preTrusted: ['someone-else'] })).toThrow(/other parameters/);
    expect(() => ReputationEngine.restore(cp, { ...params, dailyGainCap: 10 })).toThrow(/other parameters/);
    expect(ReputationEngine.restore(cp, params).scoreOf('p', 3 * DAY_MS)).toBe(replay(market(2, { p: 0.9 })).scoreOf('p', 3 * DAY_MS));
    expect(ReputationEngine.restore(decodeCheckpoint(encodeCheckpoint(cp)), params).checkpoint()).toEqual(cp);
  });

  it('a checkpoint stores a verdict once, however many members share it', () => {
    const e = new ReputationEngine(params);
    const members = Array.from({ length: 50 }, (_, k) => `m${k}`);
    e.apply({ type: 'same_owner', at: 1, id: 'v1', members, signals: ['shared_funder'], internalShare: 1 });
    const cp = e.checkpoint();
    expect(cp.verdicts).toHaveLength(1);
    const r = ReputationEngine.restore(decodeCheckpoint(encodeCheckpoint(cp)), params);
    expect(r.sameOwner('m0', 'm49')).toBe(true);
    expect(explain(r, 'm7', 2).sameOwner).toEqual(explain(e, 'm7', 2).sameOwner);
  });

  it('recompute of the same log in the same order is bit-identical', () => {
    fc.assert(fc.property(arbLog, (log) => {
      const a = replay(log);
      const b = ReputationEngine.recompute(log, params);
      expect(b.stateDigest()).toEqual(a.stateDigest());
    }), { numRuns: 100 });
  });

  it('scores always lie in 0..1000 and components in their ranges', () => {
    fc.assert(fc.property(arbLog, fc.integer({ min: 0, max: 200 * DAY_MS }), (log, later) => {
      const e = replay(log);
      const now = (log[log.length - 1]?.at ?? 0) + later;
      for (const a of agents) {
        const v = e.score(a, now);
        expect(v.score).toBeGreaterThanOrEqual(0);
        expect(v.score).toBeLessThanOrEqual(1000);
        expect(v.score).toBeLessThanOrEqual(v.raw + 1e-9);
        expect(Math.abs(v.components.performance)).toBeLessThanOrEqual(200 + 1e-9);
        expect(Math.abs(v.components.transactions)).toBeLessThanOrEqual(150 + 1e-9);
        expect(e.scoreOf(a, now)).toBeCloseTo(v.score, 9);
      }
    }), { numRuns: 100 });
  });

  it('the published score never rises more than the daily cap from one day end to the next, gaps and recoveries included', () => {
    const G = 75;
    fc.assert(fc.property(arbLog, fc.integer({ min: 1, max: 5 }), (log, stretch) => {
      // stretch time so that logs have empty days (recent-window failures fade during them)
      const spread = log.map((ev) => ({ ...ev, at: ev.at * stretch * 4 }));
      const e = new ReputationEngine(params);
      const ends = new Map<string, number[]>(agents.map((a) => [a, []]));
      let day = 0;
      const closeUpTo = (d: number) => {
        for (; day < d; day++) for (const a of agents) ends.get(a)!.push(e.scoreOf(a, (day + 1) * DAY_MS - 1));
      };
      for (const ev of spread) {
        closeUpTo(Math.floor(ev.at / DAY_MS));
        e.apply(ev);
      }
      closeUpTo(day + 10);
      for (const a of agents) {
        const c = ends.get(a)!;
        for (let i = 1; i < c.length; i++) expect(c[i]!).toBeLessThanOrEqual(c[i - 1]! + G + 1e-9);
      }
    }), { numRuns: 150 });
  });

  it('after recent failures fade, the score recovers at most by the daily cap', () => {
    const e = replay(market(20, { p: 0.99, other: 0.95 }));
    let at = 20 * DAY_MS;
    for (let k = 0; k < 4; k++) {
      at += 1000;
      e.apply({ type: 'trade', id: `big${k}`, at, buyerId: `buyer-${k}`, sellerId: 'p', success: false, latencyMs: 0, accuracy: 0, slaMet: false, amount: 300n * AITBC });
    }
    const low = e.scoreOf('p', at);
    const later = [1, 2, 3, 4, 6].map((d) => e.scoreOf('p', 21 * DAY_MS + d * DAY_MS - 1));
    expect(later[later.length - 1]!).toBeGreaterThan(low); // the milking penalty fades...
    let prev = e.scoreOf('p', 21 * DAY_MS - 1);
    for (let d = 1; d <= 6; d++) {
      const s = e.scoreOf('p', 21 * DAY_MS + d * DAY_MS - 1);
      expect(s).toBeLessThanOrEqual(prev + 75 + 1e-9); // ...at most 75 points a day
      prev = s;
    }
  });

  it('rejects evidence older than the last applied', () => {
    const e = new ReputationEngine(params);
    e.apply({ type: 'community', at: 10, agentId: 'a', kind: 'forum' });
    expect(() => e.apply({ type: 'community', at: 5, agentId: 'a', kind: 'forum' })).toThrow(OutOfOrderEvidenceError);
    expect(() => e.apply({ type: 'community', at: Number.NaN, agentId: 'a', kind: 'forum' })).toThrow(RangeError);
  });
});

describe('ReputationEngine: behaviour', () => {
  it('ranks providers by their true quality', () => {
    const e = replay(market(30, { p99: 0.99, p90: 0.9, p70: 0.7, p40: 0.4 }));
    const now = 30 * DAY_MS;
    const s = ['p99', 'p90', 'p70', 'p40'].map((p) => e.scoreOf(p, now));
    expect(s[0]).toBeGreaterThan(s[1]!);
    expect(s[1]).toBeGreaterThan(s[2]!);
    expect(s[2]).toBeGreaterThan(s[3]!);
  });

  it('a newcomer starts below the median of established agents, so re-registering never raises a score', () => {
    const e = replay(market(30, { p1: 0.99, p2: 0.95, p3: 0.9, p4: 0.5, p5: 0.3 }));
    const now = 30 * DAY_MS;
    const scores = ['p1', 'p2', 'p3', 'p4', 'p5'].map((p) => e.scoreOf(p, now)).sort((x, y) => x - y);
    const median = scores[2]!;
    expect(e.scoreOf('brand-new', now)).toBe(0);
    expect(e.scoreOf('brand-new', now)).toBeLessThan(median);
    // even the worst established agent is not below a fresh identity
    expect(scores[0]).toBeGreaterThanOrEqual(e.scoreOf('brand-new', now));
  });

  it('gains are capped per day while losses apply at once', () => {
    const log = market(20, { p: 0.99, other: 0.95 });
    const e = new ReputationEngine({ ...params, dailyGainCap: 50 });
    let capped = 0;
    let endOfPrevDay = 0; // C(d - 1): the published score at the last instant of the previous day
    let day = 0;
    for (const ev of log) {
      const d = Math.floor(ev.at / DAY_MS);
      if (d !== day) {
        endOfPrevDay = e.scoreOf('p', d * DAY_MS - 1);
        day = d;
      }
      e.apply(ev);
      expect(e.scoreOf('p', ev.at)).toBeLessThanOrEqual(endOfPrevDay + 50 + 1e-9);
      if (e.score('p', ev.at).gainCapped) capped++;
    }
    expect(capped).toBeGreaterThan(0);
    const end = 20 * DAY_MS;
    const before = e.score('p', end);
    expect(before.score).toBeGreaterThan(300);
    // after day 1 the published score never exceeded 50 on day 0, 100 by day 1, ...
    const fresh = replay(market(1, { p: 0.99, other: 0.95 }), { ...params, dailyGainCap: 50 });
    expect(fresh.scoreOf('p', DAY_MS - 1)).toBeLessThanOrEqual(50);
    // three failed big trades and a lost dispute land immediately
    let at = end;
    for (let k = 0; k < 3; k++) {
      at += 1000;
      e.apply({ type: 'trade', id: `bad${k}`, at, buyerId: `buyer-${k}`, sellerId: 'p', success: false, latencyMs: 0, accuracy: 0, slaMet: false, amount: 500n * AITBC });
    }
    e.apply({ type: 'dispute', at: at + 1, agentId: 'p', outcome: 'lost', filedBy: 'buyer-0' });
    const after = e.score('p', at + 1);
    expect(after.score).toBeLessThan(before.score - 20);
  });

  it('decay: without new evidence the raw score only falls, toward the floor', () => {
    const e = replay(market(20, { p: 0.99, other: 0.95 }));
    let prev = Infinity;
    for (let d = 20; d < 400; d += 10) {
      const r = e.score('p', d * DAY_MS).raw;
      expect(r).toBeLessThanOrEqual(prev + 1e-9);
      prev = r;
    }
    expect(e.score('p', 400 * DAY_MS).raw).toBeLessThan(50);
    // the half-life: a second agent with the same evidence shifted by one half-life scores the same later
    const shifted = replay(market(20, { p: 0.99, other: 0.95 }, { start: 30 * DAY_MS }));
    expect(shifted.score('p', 80 * DAY_MS).raw).toBeCloseTo(e.score('p', 50 * DAY_MS).raw, 6);
  });

  it('repeated trades with the same counterparty count less and less', () => {
    const one = new ReputationEngine(params);
    const many = new ReputationEngine(params);
    for (const e of [one, many]) e.apply({ type: 'probe', at: 0, agentId: 'p', probeId: PROBE, responseMs: 30, available: true, accuracy: 1 });
    for (const e of [one, many]) e.apply({ type: 'probe', at: 1, agentId: 'b0', probeId: PROBE, responseMs: 30, available: true, accuracy: 1 });
    for (let k = 0; k < 16; k++) {
      const at = DAY_MS + k;
      // one buyer 16 times vs 16 different (equally trusted) buyers
      one.apply({ type: 'trade', id: `o${k}`, at, buyerId: PROBE, sellerId: 'p', success: true, latencyMs: 30, accuracy: 1, slaMet: true, amount: 0n });
      many.apply({ type: 'trade', id: `m${k}`, at, buyerId: k === 0 ? PROBE : `${PROBE}-${k}`, sellerId: 'p', success: true, latencyMs: 30, accuracy: 1, slaMet: true, amount: 0n });
    }
    const a = one.score('p', DAY_MS + 100);
    const ex = explain(one, 'p', DAY_MS + 100);
    expect(ex.discounted.repeated_pair).toBe(15);
    // 16 trades with one buyer saturate: they weigh g(16) = 2.49 trades, less than 3 independent buyers' 3
    const mass = (ex.components[1]!.channels.success as { mass: number }).mass;
    expect(mass).toBeCloseTo(saturate(16, 2.5, 3), 6);
    expect(mass).toBeLessThan(3);
    expect(a.raw).toBeGreaterThan(0);
    // and however many trades one buyer makes, it never weighs more than pairSaturation
    for (let k = 16; k < 200; k++) one.apply({ type: 'trade', id: `o${k}`, at: DAY_MS + k, buyerId: PROBE, sellerId: 'p', success: true, latencyMs: 30, accuracy: 1, slaMet: true, amount: 0n });
    const mass200 = (explain(one, 'p', DAY_MS + 300).components[1]!.channels.success as { mass: number }).mass;
    expect(mass200).toBeLessThanOrEqual(2.5);
    expect(mass200).toBeGreaterThan(mass);
  });

  it('same-owner trades and closed token loops count for nothing', () => {
    const base = market(10, { p: 0.6, q: 0.6 });
    const now = 10 * DAY_MS + 10 * H;
    // the wash trades below open day 10, whose epoch re-weighs everything: the clean log gets the same epoch
    const clean = replay([...base, { type: 'epoch', at: 10 * DAY_MS }]);
    const washed = replay([
      ...base,
      ...Array.from({ length: 20 }, (_, k): Evidence => ({ type: 'trade', id: `w${k}`, at: 10 * DAY_MS + k, buyerId: 'q', sellerId: 'p', success: true, latencyMs: 1, accuracy: 1, slaMet: true, amount: 50n * AITBC, sameOwnerSuspected: true })),
    ]);
    expect(washed.scoreOf('p', now)).toBeCloseTo(clean.scoreOf('p', now), 9);
    expect(explain(washed, 'p', now).discounted.same_owner).toBe(20);
    // a loop p -> q -> r -> p of about the same amount within a day
    const loop: Evidence[] = [];
    let at = 10 * DAY_MS;
    for (let k = 0; k < 10; k++) {
      for (const [b, s] of [['p', 'q'], ['q', 'r'], ['r', 'p']] as const) {
        at += 1000;
        loop.push({ type: 'trade', id: `l${k}${b}`, at, buyerId: b, sellerId: s, success: true, latencyMs: 1, accuracy: 1, slaMet: true, amount: 100n * AITBC + BigInt(k) * AITBC });
      }
    }
    const looped = replay([...base, ...loop]);
    const ex = explain(looped, 'p', now + DAY_MS);
    expect(ex.discounted.closed_loop ?? 0).toBeGreaterThan(0);
    // after the loop is found, the pair stays tainted: everything between them counts zero
    expect((ex.discounted.tainted_pair ?? 0) + (ex.discounted.closed_loop ?? 0)).toBeGreaterThanOrEqual(9);
    expect(looped.scoreOf('p', now + DAY_MS)).toBeLessThanOrEqual(clean.scoreOf('p', now + DAY_MS) + 1e-9);
  });

  it('circular trading of any amounts counts zero: agents that pay each other cannot vouch for each other', () => {
    const base = market(10, { p: 0.9, q: 0.9, r: 0.9 });
    const now = 10 * DAY_MS + 20 * H;
    const clean = replay([...base, { type: 'epoch', at: 10 * DAY_MS + H }]); // the ring's first trade opens day 10's epoch
    // a ring p -> q -> r -> p with amounts that differ by 30% and more (no token loop), a day apart
    const ring: Evidence[] = [];
    const legs: Array<[string, string]> = [['p', 'q'], ['q', 'r'], ['r', 'p'], ['q', 'p'], ['r', 'q'], ['p', 'r']];
    legs.forEach(([b, s], k) => {
      const at = 10 * DAY_MS + H + k * 3 * H;
      ring.push({ type: 'trade', id: `c${k}`, at, buyerId: b, sellerId: s, success: true, latencyMs: 1, accuracy: 1, slaMet: true, amount: BigInt(Math.round(10 * 1.5 ** k)) * AITBC });
      ring.push({ type: 'rating', at: at + 1, raterId: b, rateeId: s, tradeId: `c${k}`, stars: 5 });
    });
    const tokenLoopsOnly = replay([...base, ...ring], { ...params, circleMaxLength: 0 });
    const withCircles = replay([...base, ...ring]);
    // without the check the ring raises its members; with it, what they earned from each other is gone
    expect(tokenLoopsOnly.score('p', now).raw).toBeGreaterThan(clean.score('p', now).raw + 1);
    for (const a of ['p', 'q', 'r']) expect(withCircles.score(a, now).raw).toBeCloseTo(clean.score(a, now).raw, 6);
    const x = explain(withCircles, 'p', now);
    expect(x.discounted.circular_trading).toBeGreaterThanOrEqual(1);
    expect(x.discounted.closed_loop ?? 0).toBe(0);
    // outside the window, paying back is ordinary trade: q pays p 15 days after p paid q
    const late: Evidence[] = [
      { type: 'trade', id: 'l1', at: 10 * DAY_MS + H, buyerId: 'p', sellerId: 'q', success: true, latencyMs: 1, accuracy: 1, slaMet: true, amount: 10n * AITBC },
      { type: 'trade', id: 'l2', at: 25 * DAY_MS + H, buyerId: 'q', sellerId: 'p', success: true, latencyMs: 1, accuracy: 1, slaMet: true, amount: 30n * AITBC },
    ];
    const later = replay([...base, ...late]);
    expect(explain(later, 'p', 25 * DAY_MS + 2 * H).discounted.circular_trading ?? 0).toBe(0);
  });

  it('a same-owner verdict withdraws what members earned from each other and zeroes their later trades and ratings', () => {
    const noCircle = { ...params, circleMaxLength: 0 };
    const replay = (ev: readonly Evidence[]): ReputationEngine => replayAll(ev, noCircle);
    const base = market(10, { p: 0.9, q: 0.9 });
    const now = 10 * DAY_MS + 12 * H;
    const clean = replay([...base, { type: 'epoch', at: 10 * DAY_MS + H }]); // the first wash trade opens day 10's epoch
    const wash = (from: number, n: number, prefix: string): Evidence[] => Array.from({ length: n }, (_, k): Evidence[] => {
      const at = from + k * 1000;
      const [b, s] = k % 2 === 0 ? ['q', 'p'] : ['p', 'q'];
      return [
        { type: 'trade', id: `${prefix}${k}`, at, buyerId: b, sellerId: s, success: true, latencyMs: 1, accuracy: 1, slaMet: true, amount: BigInt(Math.round(20 * 1.3 ** k)) * AITBC },
        { type: 'rating', at: at + 1, raterId: b, rateeId: s, tradeId: `${prefix}${k}`, stars: 5 },
      ];
    }).flat();
    // p and q wash-trade (amounts grow 30% a trade: no closed loop) and rate each other up; the
    // circular-trading check (which would catch them at once) is off to test the verdict alone
    const before = wash(10 * DAY_MS + H, 20, 'w');
    const washed = replay([...base, ...before]);
    expect(explain(washed, 'p', now).discounted.closed_loop ?? 0).toBe(0);
    expect(washed.score('p', now).raw).toBeGreaterThan(clean.score('p', now).raw);
    const verdict: Evidence = { type: 'same_owner', at: 10 * DAY_MS + 2 * H, id: 'v1', members: ['p', 'q'], signals: ['shared_funder'], internalShare: 0.9 };
    const after = wash(10 * DAY_MS + 3 * H, 20, 'x');
    const convicted = replay([...base, ...before, verdict, ...after]);
    // what they earned from each other is gone (at the verdict), and later wash trades add nothing
    expect(convicted.score('p', now).raw).toBeCloseTo(clean.score('p', now).raw, 6);
    expect(convicted.score('q', now).raw).toBeCloseTo(clean.score('q', now).raw, 6);
    const x = explain(convicted, 'p', now);
    expect(x.discounted.same_owner_cluster).toBe(10 + 1); // its 10 later sales, plus the verdict itself
    expect(x.sameOwner).toMatchObject({ verdictId: 'v1', size: 2, members: ['p', 'q'], signals: ['shared_funder'], tradesWithdrawn: 20 });
    expect(x.notes.some((n) => n.includes('same-owner cluster of 2 agents'))).toBe(true);
    expect(x.recent.filter((r) => r.type === 'trade').every((r) => r.weight === 0 && r.discounts.includes('same_owner_cluster'))).toBe(true);
    // trades with outsiders still count
    const outside = replay([...base, ...before, verdict, ...after, { type: 'trade', id: 'o1', at: now - H, buyerId: 'buyer-1', sellerId: 'p', success: true, latencyMs: 1, accuracy: 1, slaMet: true, amount: 10n * AITBC }]);
    const last = explain(outside, 'p', now).recent.at(-1)!;
    expect(last).toMatchObject({ type: 'trade', counterparty: 'buyer-1' });
    expect(last.weight).toBeGreaterThan(0);
    expect(last.discounts).not.toContain('same_owner_cluster');
    expect(outside.sameOwner('p', 'q')).toBe(true);
    expect(outside.sameOwner('p', 'buyer-1')).toBe(false);
    // without the verdict the same log keeps the wash credit: the verdict is what removes it
    expect(replay([...base, ...before, ...after]).score('p', now).raw).toBeGreaterThan(clean.score('p', now).raw);
  });

  it('same-owner verdicts merge: a later verdict that shares a member joins the clusters', () => {
    const e = new ReputationEngine(params);
    e.apply({ type: 'same_owner', at: 1, id: 'v1', members: ['a', 'b'], signals: [], internalShare: 1 });
    e.apply({ type: 'same_owner', at: 2, id: 'v2', members: ['c', 'd'], signals: [], internalShare: 1 });
    expect(e.sameOwner('a', 'c')).toBe(false);
    e.apply({ type: 'same_owner', at: 3, id: 'v3', members: ['b', 'c'], signals: [], internalShare: 1 });
    for (const [x, y] of [['a', 'd'], ['a', 'c'], ['b', 'd']] as const) expect(e.sameOwner(x, y)).toBe(true);
    expect(e.sameOwner('a', 'e')).toBe(false);
  });

  it('ratings: only a party of the trade, once per side, checked against the outcome', () => {
    const e = new ReputationEngine(params);
    e.apply({ type: 'trade', id: 't1', at: 0, buyerId: PROBE, sellerId: 's', success: false, latencyMs: 10, accuracy: 0, slaMet: false, amount: AITBC });
    e.apply({ type: 'rating', at: 1, raterId: 'x', rateeId: 's', tradeId: 't1', stars: 5 });
    e.apply({ type: 'rating', at: 2, raterId: PROBE, rateeId: 's', tradeId: 'nope', stars: 5 });
    e.apply({ type: 'rating', at: 3, raterId: PROBE, rateeId: 's', tradeId: 't1', stars: 5 });
    e.apply({ type: 'rating', at: 4, raterId: PROBE, rateeId: 's', tradeId: 't1', stars: 5 });
    e.apply({ type: 'rating', at: 5, raterId: 's', rateeId: PROBE, tradeId: 't1', stars: 1 });
    const d = explain(e, 's', 10).discounted;
    expect(d.rating_not_party).toBe(2);
    expect(d.rating_duplicate).toBe(1);
    expect(d.rating_inconsistent).toBe(1); // 5 stars for a failed trade
    const r = explain(e, 's', 10).recent.filter((x) => x.type === 'rating' && x.weight > 0);
    expect(r[0]!.weight).toBe(1);
    // the 5 stars for a failed trade are pulled to the outcome: the rating reads as a failure
    expect(publishedReputation(e, 's', 10).communityRating.value).toBeLessThan(3); // below the Bayesian prior of 3 stars
  });

  it('bad-mouthing by a few raters moves an honest agent little', () => {
    const log = market(30, { p: 0.99, other: 0.95 }, { buyers: 10 });
    const clean = replay(log);
    const smeared = replay(log.map((ev) => (ev.type === 'rating' && ['buyer-0', 'buyer-1'].includes(ev.raterId) ? { ...ev, stars: 1 } : ev)));
    const now = 30 * DAY_MS;
    expect(clean.scoreOf('p', now) - smeared.scoreOf('p', now)).toBeLessThan(25);
    expect(clean.scoreOf('p', now) - smeared.scoreOf('p', now)).toBeGreaterThanOrEqual(0);
  });

  it('evidence from agents nobody trusts has no weight (a collective rating itself up)', () => {
    const log = market(20, { p: 0.6, other: 0.95 });
    const ring: Evidence[] = [];
    for (let k = 0; k < 200; k++) {
      const at = 20 * DAY_MS + k * 1000;
      const buyer = `sybil-${k % 20}`;
      ring.push({ type: 'trade', id: `r${k}`, at, buyerId: buyer, sellerId: 'p', success: true, latencyMs: 5, accuracy: 1, slaMet: true, amount: BigInt(1 + k) * AITBC });
      ring.push({ type: 'rating', at: at + 1, raterId: buyer, rateeId: 'p', tradeId: `r${k}`, stars: 5 });
    }
    const now = 20 * DAY_MS + 300_000;
    const clean = replay(log);
    const boosted = replay([...log, ...ring]);
    expect(boosted.scoreOf('p', now)).toBeLessThanOrEqual(clean.scoreOf('p', now) + 1e-6);
    // all 200 trades and 200 ratings of the ring come from producers nobody trusts: each one is discounted
    const lowTrust = (e: typeof clean) => explain(e, 'p', now).discounted.low_trust_producer ?? 0;
    expect(lowTrust(boosted) - lowTrust(clean)).toBe(400);
  });
});

describe('explain and published metrics', () => {
  it('explains every component with its evidence and the discounts', () => {
    const e = replay(market(15, { p: 0.95, other: 0.9 }));
    const now = 15 * DAY_MS;
    const x = explain(e, 'p', now);
    expect(x.components.map((c) => c.name)).toEqual(['performance', 'transactions', 'community', 'reliability', 'disputes']);
    const sum = x.components.reduce((s, c) => s + c.value, 500);
    expect(Math.abs(Math.max(0, Math.min(1000, sum)) - x.raw)).toBeLessThan(0.05);
    expect(x.counts?.tradesAsSeller).toBe(90);
    expect(x.recent.length).toBeGreaterThan(0);
    const pub = publishedReputation(e, 'p', now);
    expect(pub.trustScore).toBe(Math.round(e.scoreOf('p', now)));
    expect(pub.performanceRating.value).toBeGreaterThan(3);
    expect(pub.performanceRating.value).toBeLessThanOrEqual(5);
    expect(pub.reliability.value).toBe(100);
    expect(pub.communityRating.value).toBeGreaterThan(3);
    expect(pub.communityRating.observations).toBe(90);
    const none = publishedReputation(e, 'nobody', now);
    expect(none).toMatchObject({ trustScore: 0, level: 'unrated', observations: 0 });
    expect(explain(e, 'nobody', now).notes[0]).toMatch(/newcomer/);
  });
});
