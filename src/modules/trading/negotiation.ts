/**
 * Negotiation (pure): the alternating-offers protocol as a state machine, time-dependent concession
 * strategies, and delegated negotiation (the service negotiating for an agent).
 *
 * Protocol
 * - Either party opens with an offer (terms: price per unit, quantity, SLA, settlement type). After that
 *   the parties alternate: only the party that did NOT make the last offer may counter, accept or reject.
 * - `maxRounds` bounds the number of offers; once reached, the responder may only accept or reject.
 * - Every move must happen before `deadline` (ms); at or after it the negotiation can only `expire`.
 * - Either party may `withdraw` at any time while open.
 * The legal status changes come from trading.states.ts; this file adds turns, rounds and the deadline.
 *
 * Concession (Faratin, Sierra & Jennings 1998, time-dependent tactics)
 *   price(τ) = target + (reservation - target) * τ^(1/β),  τ in [0, 1] the share of time/rounds used.
 *   β < 1: Boulware (holds firm, concedes near the end); β = 1: linear; β > 1: conceder (concedes early).
 * The plan's presets map onto these: aggressive = Boulware (β 0.2), balanced = linear, cooperative =
 * conceder (β 3). τ = max(elapsed / (deadline - start), offersSoFar / (maxRounds - 1)), so a strategy reaches
 * its reservation price at the last round or at the deadline, whichever comes first.
 * Acceptance (AC_next): accept the opponent's offer when it is at least as good as the offer we would make
 * now and within our reservation; at the last round, accept anything within the reservation.
 */
import { nextNegotiationStatus, type NegotiationAction, type NegotiationStatus } from './trading.states.js';
import type { Terms } from './trading.types.js';

export type Role = 'buyer' | 'seller';
export type ConcessionKind = 'boulware' | 'linear' | 'conceder';
export const PRESET_NAMES = ['aggressive', 'balanced', 'cooperative'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

export const PRESETS: Readonly<Record<PresetName, { kind: ConcessionKind; beta: number }>> = Object.freeze({
  aggressive: { kind: 'boulware', beta: 0.2 },
  balanced: { kind: 'linear', beta: 1 },
  cooperative: { kind: 'conceder', beta: 3 },
});

export interface ConcessionStrategy {
  role: Role;
  kind: ConcessionKind;
  /** Concession exponent β > 0. */
  beta: number;
  /** Opening price (per unit): what the agent hopes for. */
  target: bigint;
  /** Worst acceptable price (per unit): a buyer's maximum, a seller's minimum. */
  reservation: bigint;
}

export class NegotiationError extends Error {
  constructor(
    readonly code: 'invalid_transition' | 'not_your_turn' | 'max_rounds' | 'deadline_passed' | 'invalid_terms',
    message: string,
  ) {
    super(message);
    this.name = 'NegotiationError';
  }
}

export interface OfferRecord {
  /** 0-based position in the negotiation. */
  seq: number;
  by: Role;
  terms: Terms;
  at: number;
}

export interface NegotiationState {
  id: string;
  buyerId: string;
  sellerId: string;
  status: NegotiationStatus;
  startAt: number;
  deadline: number;
  maxRounds: number;
  offers: OfferRecord[];
  /** Seq of the accepted offer, when agreed. */
  acceptedSeq: number | null;
  /** Who ended it (accept / reject / withdraw), null for expiry or while open. */
  endedBy: Role | null;
  endedAt: number | null;
}

export type NegotiationEvent =
  | { type: 'offer'; by: Role; terms: Terms; at: number }
  | { type: 'accept'; by: Role; at: number }
  | { type: 'reject'; by: Role; at: number }
  | { type: 'withdraw'; by: Role; at: number }
  | { type: 'expire'; at: number };

export interface NegotiationInit {
  id: string;
  buyerId: string;
  sellerId: string;
  startAt: number;
  deadline: number;
  maxRounds: number;
}

export function startNegotiation(init: NegotiationInit): NegotiationState {
  if (!(init.deadline > init.startAt)) throw new RangeError('deadline must be after startAt');
  if (!Number.isInteger(init.maxRounds) || init.maxRounds < 1) throw new RangeError('maxRounds must be an integer >= 1');
  return { ...init, status: 'open', offers: [], acceptedSeq: null, endedBy: null, endedAt: null };
}

export const other = (r: Role): Role => (r === 'buyer' ? 'seller' : 'buyer');
export const lastOffer = (s: NegotiationState): OfferRecord | undefined => s.offers[s.offers.length - 1];

/** Whose move it is (null before the first offer: either may open; also null once closed). */
export function turnOf(s: NegotiationState): Role | null {
  if (s.status !== 'open') return null;
  const last = lastOffer(s);
  return last ? other(last.by) : null;
}

function validateTerms(t: Terms): void {
  if (t.pricePerUnit <= 0n) throw new NegotiationError('invalid_terms', 'pricePerUnit must be > 0');
  if (!Number.isInteger(t.quantity) || t.quantity <= 0) throw new NegotiationError('invalid_terms', 'quantity must be an integer > 0');
  if (!(t.sla.availability >= 0 && t.sla.availability <= 1)) throw new NegotiationError('invalid_terms', 'sla.availability must be in [0, 1]');
  if (!(t.sla.maxLatencyMs > 0)) throw new NegotiationError('invalid_terms', 'sla.maxLatencyMs must be > 0');
}

/** Applies one event; returns the new state (the input is not modified). Throws NegotiationError. */
export function applyEvent(s: NegotiationState, e: NegotiationEvent): NegotiationState {
  const action: NegotiationAction = e.type;
  const to = nextNegotiationStatus(s.status, action);
  if (!to) throw new NegotiationError('invalid_transition', `cannot ${action} a negotiation that is ${s.status}`);
  if (e.type === 'expire') {
    if (e.at < s.deadline) throw new NegotiationError('invalid_transition', 'the negotiation has not reached its deadline');
    return { ...s, status: to, endedAt: e.at };
  }
  if (e.at >= s.deadline) throw new NegotiationError('deadline_passed', 'the negotiation deadline has passed');
  const last = lastOffer(s);
  switch (e.type) {
    case 'offer': {
      if (last && last.by === e.by) throw new NegotiationError('not_your_turn', `it is the ${other(e.by)}'s turn`);
      if (s.offers.length >= s.maxRounds) {
        throw new NegotiationError('max_rounds', `the maximum of ${s.maxRounds} offers is reached: accept or reject the last one`);
      }
      validateTerms(e.terms);
      return { ...s, offers: [...s.offers, { seq: s.offers.length, by: e.by, terms: e.terms, at: e.at }] };
    }
    case 'accept':
    case 'reject': {
      if (!last) throw new NegotiationError('invalid_transition', `there is no offer to ${e.type}`);
      if (last.by === e.by) throw new NegotiationError('not_your_turn', `the ${e.by} cannot ${e.type} its own offer`);
      return { ...s, status: to, acceptedSeq: e.type === 'accept' ? last.seq : null, endedBy: e.by, endedAt: e.at };
    }
    case 'withdraw':
      return { ...s, status: to, endedBy: e.by, endedAt: e.at };
  }
}

// ---------------------------------------------------------------------------------------------- strategies

export function makeStrategy(role: Role, kind: ConcessionKind, beta: number, prices: { target: bigint; reservation: bigint }): ConcessionStrategy {
  if (!(beta > 0) || !Number.isFinite(beta)) throw new RangeError('beta must be a finite number > 0');
  if (prices.target <= 0n || prices.reservation <= 0n) throw new RangeError('prices must be > 0');
  // A target worse than the reservation (a buyer hoping to pay more than its maximum) is clamped to it:
  // the agent then simply holds its reservation price.
  const target = role === 'buyer' ? (prices.target > prices.reservation ? prices.reservation : prices.target)
    : prices.target < prices.reservation ? prices.reservation : prices.target;
  return { role, kind, beta, target, reservation: prices.reservation };
}

export function strategyFromPreset(role: Role, preset: PresetName, prices: { target: bigint; reservation: bigint }): ConcessionStrategy {
  const p = PRESETS[preset];
  if (!p) throw new RangeError(`unknown preset ${String(preset)}`);
  return makeStrategy(role, p.kind, p.beta, prices);
}

const SCALE = 1_000_000_000n;

/** Concession share in [0, 1] at progress τ: τ^(1/β). */
export function concession(beta: number, tau: number): number {
  const t = Math.min(1, Math.max(0, tau));
  return t === 0 ? 0 : t === 1 ? 1 : t ** (1 / beta);
}

/** The strategy's price at progress τ (exact bigint; moves monotonically from target to reservation). */
export function priceAt(s: ConcessionStrategy, tau: number): bigint {
  const share = BigInt(Math.round(concession(s.beta, tau) * Number(SCALE)));
  return s.target + ((s.reservation - s.target) * share) / SCALE;
}

/** Progress τ of a negotiation at `now` for the party about to move. */
export function progress(s: NegotiationState, now: number): number {
  const byTime = (now - s.startAt) / (s.deadline - s.startAt);
  const byRounds = s.maxRounds <= 1 ? 1 : s.offers.length / (s.maxRounds - 1);
  return Math.min(1, Math.max(0, byTime, byRounds));
}

/** Is `price` at least as good for this party as `than`? (lower for a buyer, higher for a seller) */
const atLeastAsGood = (role: Role, price: bigint, than: bigint): boolean => (role === 'buyer' ? price <= than : price >= than);

export type Decision = { type: 'offer'; terms: Terms } | { type: 'accept' } | { type: 'reject' };

/**
 * What a delegated agent does when it is its move at `now` (the state must be open and it must be this
 * role's turn or the opening). `base` supplies the non-price terms of an opening offer; counters keep the
 * opponent's non-price terms.
 */
export function decide(strategy: ConcessionStrategy, s: NegotiationState, now: number, base: Omit<Terms, 'pricePerUnit'>): Decision {
  const last = lastOffer(s);
  // The opening offer is priced at the negotiation's start: the target (or, with a single round, the
  // reservation). Progress by time would otherwise count the milliseconds between the start and the first
  // move and open a hair off the target (a conceder's τ^(1/3) makes 30 ms of an hour 2% of the way).
  const mine = priceAt(strategy, progress(s, s.offers.length === 0 ? s.startAt : now));
  if (last && last.by !== strategy.role) {
    const p = last.terms.pricePerUnit;
    const withinReservation = atLeastAsGood(strategy.role, p, strategy.reservation);
    if (withinReservation && atLeastAsGood(strategy.role, p, mine)) return { type: 'accept' };
    if (s.offers.length >= s.maxRounds) return withinReservation ? { type: 'accept' } : { type: 'reject' };
    const { pricePerUnit: _p, ...rest } = last.terms;
    return { type: 'offer', terms: { ...rest, pricePerUnit: mine } };
  }
  return { type: 'offer', terms: { ...base, pricePerUnit: mine } };
}

/** Applies a decision as an event. */
export function decisionEvent(role: Role, d: Decision, at: number): NegotiationEvent {
  return d.type === 'offer' ? { type: 'offer', by: role, terms: d.terms, at } : { type: d.type, by: role, at };
}

export interface DelegatedRun extends NegotiationInit {
  /** Virtual time between two moves (ms). */
  stepMs: number;
  /** Non-price terms of the opening offer. */
  terms: Omit<Terms, 'pricePerUnit'>;
  /** Who opens (default the buyer). */
  opener?: Role;
}

export interface DelegatedResult {
  outcome: 'agreed' | 'rejected' | 'expired';
  state: NegotiationState;
  /** The accepted terms when agreed. */
  agreed: Terms | null;
}

/** Runs a negotiation where both parties are delegated, in virtual time, to its end. */
export function runDelegatedNegotiation(buyer: ConcessionStrategy, seller: ConcessionStrategy, run: DelegatedRun): DelegatedResult {
  if (buyer.role !== 'buyer' || seller.role !== 'seller') throw new RangeError('expected a buyer and a seller strategy');
  if (!(run.stepMs > 0)) throw new RangeError('stepMs must be > 0');
  let s = startNegotiation(run);
  let role: Role = run.opener ?? 'buyer';
  let at = run.startAt;
  while (s.status === 'open') {
    if (at >= s.deadline) {
      s = applyEvent(s, { type: 'expire', at });
      break;
    }
    const d = decide(role === 'buyer' ? buyer : seller, s, at, run.terms);
    s = applyEvent(s, decisionEvent(role, d, at));
    role = other(role);
    at += run.stepMs;
  }
  const outcome = s.status === 'agreed' ? 'agreed' : s.status === 'rejected' ? 'rejected' : 'expired';
  return { outcome, state: s, agreed: s.acceptedSeq === null ? null : s.offers[s.acceptedSeq]!.terms };
}
