import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  NegotiationError,
  PRESETS,
  applyEvent,
  concession,
  decide,
  makeStrategy,
  priceAt,
  runDelegatedNegotiation,
  startNegotiation,
  strategyFromPreset,
  turnOf,
  type NegotiationState,
} from './negotiation.js';
import type { Terms } from './trading.types.js';

const A = 100_000_000n;
const base = { quantity: 4, sla: { availability: 0.99, maxLatencyMs: 100 }, settlementType: 'escrow' } as const;
const terms = (p: bigint): Terms => ({ ...base, sla: { ...base.sla }, pricePerUnit: p });
const init = { id: 'n1', buyerId: 'b', sellerId: 's', startAt: 0, deadline: 1000, maxRounds: 4 };

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof NegotiationError) return e.code;
    throw e;
  }
  return undefined;
}

describe('alternating offers state machine', () => {
  it('alternates turns, accepts the last offer, records who ended it', () => {
    let s = startNegotiation(init);
    expect(turnOf(s)).toBeNull();
    s = applyEvent(s, { type: 'offer', by: 'buyer', terms: terms(A), at: 1 });
    expect(turnOf(s)).toBe('seller');
    expect(codeOf(() => applyEvent(s, { type: 'offer', by: 'buyer', terms: terms(A), at: 2 }))).toBe('not_your_turn');
    expect(codeOf(() => applyEvent(s, { type: 'accept', by: 'buyer', at: 2 }))).toBe('not_your_turn');
    s = applyEvent(s, { type: 'offer', by: 'seller', terms: terms(2n * A), at: 2 });
    s = applyEvent(s, { type: 'accept', by: 'buyer', at: 3 });
    expect(s).toMatchObject({ status: 'agreed', acceptedSeq: 1, endedBy: 'buyer', endedAt: 3 });
    expect(codeOf(() => applyEvent(s, { type: 'offer', by: 'seller', terms: terms(A), at: 4 }))).toBe('invalid_transition');
    expect(codeOf(() => applyEvent(s, { type: 'withdraw', by: 'seller', at: 4 }))).toBe('invalid_transition');
  });

  it('cannot accept or reject before any offer; withdraw is always possible while open', () => {
    const s = startNegotiation(init);
    expect(codeOf(() => applyEvent(s, { type: 'accept', by: 'buyer', at: 1 }))).toBe('invalid_transition');
    expect(codeOf(() => applyEvent(s, { type: 'reject', by: 'seller', at: 1 }))).toBe('invalid_transition');
    expect(applyEvent(s, { type: 'withdraw', by: 'seller', at: 1 }).status).toBe('withdrawn');
  });

  it('enforces the maximum number of rounds: then only accept or reject', () => {
    let s = startNegotiation({ ...init, maxRounds: 2 });
    s = applyEvent(s, { type: 'offer', by: 'buyer', terms: terms(A), at: 1 });
    s = applyEvent(s, { type: 'offer', by: 'seller', terms: terms(3n * A), at: 2 });
    expect(codeOf(() => applyEvent(s, { type: 'offer', by: 'buyer', terms: terms(2n * A), at: 3 }))).toBe('max_rounds');
    expect(applyEvent(s, { type: 'reject', by: 'buyer', at: 3 }).status).toBe('rejected');
  });

  it('enforces the deadline: no moves at or after it, expiry only then', () => {
    let s = startNegotiation(init);
    s = applyEvent(s, { type: 'offer', by: 'buyer', terms: terms(A), at: 1 });
    expect(codeOf(() => applyEvent(s, { type: 'accept', by: 'seller', at: 1000 }))).toBe('deadline_passed');
    expect(codeOf(() => applyEvent(s, { type: 'expire', at: 999 }))).toBe('invalid_transition');
    expect(applyEvent(s, { type: 'expire', at: 1000 }).status).toBe('expired');
  });

  it('rejects invalid terms', () => {
    const s = startNegotiation(init);
    expect(codeOf(() => applyEvent(s, { type: 'offer', by: 'buyer', terms: terms(0n), at: 1 }))).toBe('invalid_terms');
    expect(codeOf(() => applyEvent(s, { type: 'offer', by: 'buyer', terms: { ...terms(A), quantity: 1.5 }, at: 1 }))).toBe('invalid_terms');
  });
});

describe('time-dependent concession', () => {
  it('Boulware holds firm, conceder gives early, linear in between; all start at target and end at reservation', () => {
    const prices = { target: 100n * A, reservation: 200n * A };
    const b = strategyFromPreset('buyer', 'aggressive', prices);
    const l = strategyFromPreset('buyer', 'balanced', prices);
    const c = strategyFromPreset('buyer', 'cooperative', prices);
    expect([b.kind, l.kind, c.kind]).toEqual(['boulware', 'linear', 'conceder']);
    for (const s of [b, l, c]) {
      expect(priceAt(s, 0)).toBe(100n * A);
      expect(priceAt(s, 1)).toBe(200n * A);
    }
    expect(priceAt(l, 0.5)).toBe(150n * A);
    expect(priceAt(b, 0.5)).toBeLessThan(priceAt(l, 0.5));
    expect(priceAt(c, 0.5)).toBeGreaterThan(priceAt(l, 0.5));
    expect(PRESETS.aggressive.beta).toBeLessThan(1);
    expect(PRESETS.cooperative.beta).toBeGreaterThan(1);
  });

  it('prices move monotonically and never pass the reservation (property)', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 10n ** 14n }), fc.bigInt({ min: 0n, max: 10n ** 14n }), fc.double({ min: 0.05, max: 20, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), fc.boolean(),
        (lo, gap, beta, t1, t2, isBuyer) => {
          const s = isBuyer ? makeStrategy('buyer', 'linear', beta, { target: lo, reservation: lo + gap }) : makeStrategy('seller', 'linear', beta, { target: lo + gap, reservation: lo });
          const [a, b] = t1 <= t2 ? [t1, t2] : [t2, t1];
          const pa = priceAt(s, a);
          const pb = priceAt(s, b);
          if (isBuyer) expect(pa <= pb && pb <= s.reservation && pa >= s.target).toBe(true);
          else expect(pa >= pb && pb >= s.reservation && pa <= s.target).toBe(true);
        },
      ),
    );
    expect(concession(0.2, 0.5)).toBeLessThan(concession(3, 0.5));
  });

  it('clamps a target worse than the reservation to it; rejects non-positive prices', () => {
    expect(strategyFromPreset('buyer', 'balanced', { target: 2n, reservation: 1n }).target).toBe(1n);
    expect(strategyFromPreset('seller', 'balanced', { target: 1n, reservation: 2n }).target).toBe(2n);
    expect(() => strategyFromPreset('seller', 'balanced', { target: 0n, reservation: 2n })).toThrow(RangeError);
  });

  it('a delegated party accepts an offer at least as good as its own next offer, counters otherwise', () => {
    const seller = strategyFromPreset('seller', 'balanced', { target: 200n * A, reservation: 100n * A });
    let s: NegotiationState = startNegotiation({ ...init, maxRounds: 10 });
    s = applyEvent(s, { type: 'offer', by: 'buyer', terms: terms(120n * A), at: 0 });
    const d = decide(seller, s, 0, base);
    expect(d.type).toBe('offer');
    if (d.type === 'offer') {
      expect(d.terms.pricePerUnit).toBeLessThan(200n * A);
      expect(d.terms.quantity).toBe(4);
    }
    // offer above what it would ask now: accept
    const s2 = { ...s, offers: [{ ...s.offers[0]!, terms: terms(199n * A) }] };
    expect(decide(seller, s2, 0, base).type).toBe('accept');
  });
});

describe('delegated negotiation', () => {
  const run = { ...init, deadline: 3_600_000, maxRounds: 20, stepMs: 60_000, terms: base };

  it('agrees inside the overlap of the reservation prices', () => {
    for (const bp of ['aggressive', 'balanced', 'cooperative'] as const) {
      for (const sp of ['aggressive', 'balanced', 'cooperative'] as const) {
        const buyer = strategyFromPreset('buyer', bp, { target: 80n * A, reservation: 120n * A });
        const seller = strategyFromPreset('seller', sp, { target: 150n * A, reservation: 100n * A });
        const r = runDelegatedNegotiation(buyer, seller, run);
        expect(r.outcome, `${bp}/${sp}`).toBe('agreed');
        const p = r.agreed!.pricePerUnit;
        expect(p >= 100n * A && p <= 120n * A, `${bp}/${sp}: ${p}`).toBe(true);
        expect(r.state.offers.length).toBeLessThanOrEqual(20);
      }
    }
  });

  it('cooperative buyers pay more on average than aggressive buyers against the same seller', () => {
    const seller = strategyFromPreset('seller', 'balanced', { target: 150n * A, reservation: 90n * A });
    const price = (preset: 'aggressive' | 'cooperative') =>
      runDelegatedNegotiation(strategyFromPreset('buyer', preset, { target: 80n * A, reservation: 140n * A }), seller, run).agreed!.pricePerUnit;
    expect(price('aggressive')).toBeLessThan(price('cooperative'));
  });

  it('fails without overlap: rejected at the last round, never beyond a reservation', () => {
    const buyer = strategyFromPreset('buyer', 'balanced', { target: 50n * A, reservation: 90n * A });
    const seller = strategyFromPreset('seller', 'balanced', { target: 150n * A, reservation: 100n * A });
    const r = runDelegatedNegotiation(buyer, seller, run);
    expect(r.outcome).toBe('rejected');
    expect(r.state.offers).toHaveLength(20);
    for (const o of r.state.offers) {
      if (o.by === 'buyer') expect(o.terms.pricePerUnit <= 90n * A).toBe(true);
      else expect(o.terms.pricePerUnit >= 100n * A).toBe(true);
    }
  });

  it('expires when the deadline comes before the rounds run out', () => {
    const buyer = strategyFromPreset('buyer', 'aggressive', { target: 50n * A, reservation: 90n * A });
    const seller = strategyFromPreset('seller', 'aggressive', { target: 150n * A, reservation: 100n * A });
    const r = runDelegatedNegotiation(buyer, seller, { ...run, deadline: 5 * 60_000 });
    expect(r.outcome).toBe('expired');
    expect(r.state.offers).toHaveLength(5);
  });

  it('never agrees outside either reservation (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('aggressive', 'balanced', 'cooperative'), fc.constantFrom('aggressive', 'balanced', 'cooperative'),
        fc.bigInt({ min: 1n, max: 10n ** 12n }), fc.bigInt({ min: 0n, max: 10n ** 12n }), fc.bigInt({ min: 1n, max: 10n ** 12n }), fc.bigInt({ min: 0n, max: 10n ** 12n }),
        fc.integer({ min: 1, max: 30 }),
        (bp, sp, bt, bgap, sr, sgap, maxRounds) => {
          const buyer = strategyFromPreset('buyer', bp, { target: bt, reservation: bt + bgap });
          const seller = strategyFromPreset('seller', sp, { target: sr + sgap, reservation: sr });
          const r = runDelegatedNegotiation(buyer, seller, { ...run, maxRounds });
          if (r.outcome === 'agreed') {
            expect(r.agreed!.pricePerUnit <= bt + bgap && r.agreed!.pricePerUnit >= sr).toBe(true);
          } else {
            expect(r.state.offers.length <= maxRounds).toBe(true);
          }
          if (sr <= bt + bgap) expect(r.outcome).toBe('agreed');
        },
      ),
    );
  });
});

describe('a delegated opening offer (new-user defect 5)', () => {
  it('opens at exactly the target however long after the start the first move comes', () => {
    // the service stamps the negotiation's start, then moves for the delegated buyer a few ms later: those
    // ms used to count as progress (1.8 opened at 1.80000616 with a linear strategy, further with a conceder)
    const s = startNegotiation({ ...init, deadline: 3600_000, maxRounds: 10 });
    for (const preset of ['aggressive', 'balanced', 'cooperative'] as const) {
      const buyer = strategyFromPreset('buyer', preset, { target: 180_000_000n, reservation: 250_000_000n });
      const d = decide(buyer, s, 31, base);
      expect(d, preset).toEqual({ type: 'offer', terms: { ...base, pricePerUnit: 180_000_000n } });
    }
    // a single-round negotiation still opens at the reservation (its only offer is its last)
    const one = startNegotiation({ ...init, deadline: 3600_000, maxRounds: 1 });
    const buyer = strategyFromPreset('buyer', 'balanced', { target: 180_000_000n, reservation: 250_000_000n });
    expect(decide(buyer, one, 31, base)).toMatchObject({ terms: { pricePerUnit: 250_000_000n } });
  });
});
