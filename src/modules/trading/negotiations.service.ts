/**
 * Negotiations: the pure alternating-offers protocol (negotiation.ts) applied to the locked negotiation
 * row and its offers, with signature checks and delegated moves. Accepting makes the agreement (see
 * agreements.service.ts) in the same transaction.
 *
 * Locks, always in this order: negotiation row, then listing row (conditional capacity update), then
 * request row, then (inside the ledger, when funding at once) wallet and escrow accounts.
 *
 * Length: past 400 lines on purpose: opening, a manual move, the delegated answers (autoRespond -> move) and
 * accept share one locked context (MoveCtx) inside one transaction, and read best in one file; the SQL is
 * in negotiations.repository.ts, the delegation rules in delegation.ts.
 */
import { specClassOf, type PriceBandGuard } from './trading.price-band.port.js';
import type { Database } from '../../database.js';
import type { Clock } from '../../platform/clock.js';
import { uuidv7 } from '../../platform/ids.js';
import { AppError, notFound } from '../../platform/http/errors.js';
import { formatAmount } from '../../platform/money.js';
import type { Principal } from '../../platform/http/auth.js';
import { DEFAULT_REVIEW_WINDOW_MS, type Tx } from '../ledger/ledger.port.js';
import type { AgentDirectory } from '../agents/agents.port.js';
import {
  NegotiationError, applyEvent, decide, decisionEvent, lastOffer, other, type ConcessionStrategy, type NegotiationEvent, type NegotiationState, type Role,
} from './negotiation.js';
import { delegationBoundsError, strategyOf } from './delegation.js';
import type { SettlementType, Sla, Terms } from './trading.types.js';
import {
  jsonColumn, loadOffers, toNegotiationState, unavailableUnits, type AgreementRow, type ListingRow, type NegotiationRow, type OfferRow, type RequestRow,
  type StoredDelegation,
} from './trading.repository.js';
import { acceptPayload, offerPayload, verifySignature } from './trading.signing.js';
import type { Events, TradingWrites } from './trading.tx.js';
import { agreementIdOf, type AgreementsService } from './agreements.service.js';
import { termsJson } from './trading.json.js';
import { negotiationsRepository as repo } from './negotiations.repository.js';

const DEFAULT_MAX_ROUNDS = 10;
const DEFAULT_NEGOTIATION_MS = 3600_000;
/** Default negotiation time by the request's urgency (capped by the request's deadline). */
const NEGOTIATION_MS_BY_URGENCY: Readonly<Record<string, number>> = { high: 15 * 60_000, normal: DEFAULT_NEGOTIATION_MS, low: 4 * 3600_000 };
const DEFAULT_DELIVERY_MS = 24 * 3600_000;

export interface OfferInput {
  pricePerUnit?: bigint | undefined;
  quantity?: number | undefined;
  sla?: Sla | undefined;
  settlementType?: SettlementType | undefined;
  signature?: string | undefined;
  /** The caller confirms a price outside the stabilisation band (trading.price-band.port.ts). */
  confirmOutsideBand?: boolean | undefined;
}

export interface NegotiationCreate {
  id?: string | undefined;
  listingId: string;
  requestId?: string | undefined;
  offer?: OfferInput | undefined;
  delegate?: StoredDelegation | undefined;
  maxRounds?: number | undefined;
  deadline?: Date | undefined;
  deliveryDeadline?: Date | undefined;
  reviewWindowMs?: number | undefined;
  requireSignatures?: boolean | undefined;
}

export interface NegotiationView {
  row: NegotiationRow;
  offers: OfferRow[];
  state: NegotiationState;
}

function negotiationError(e: NegotiationError): AppError {
  if (e.code === 'invalid_terms') return new AppError('validation_failed', e.message, { errors: [{ field: 'body', message: e.message }] });
  return new AppError('invalid_transition', e.message, { reason: e.code });
}

function apply(s: NegotiationState, e: NegotiationEvent): NegotiationState {
  try {
    return applyEvent(s, e);
  } catch (err) {
    if (err instanceof NegotiationError) throw negotiationError(err);
    throw err;
  }
}

export class NegotiationsService {
  constructor(
    private readonly database: Database,
    private readonly clock: Clock,
    private readonly writes: TradingWrites,
    private readonly agreements: AgreementsService,
    private readonly agents: AgentDirectory,
    private readonly priceBand?: PriceBandGuard,
  ) {}

  /** The stabilisation band's check of a manual order's price (none without a guard). */
  private async checkBand(tx: Tx, listing: ListingRow, pricePerUnit: bigint, confirmed: boolean | undefined, action: 'offer' | 'accept'): Promise<void> {
    await this.priceBand?.check({ category: listing.category, region: listing.region, specClass: specClassOf(listing.spec), pricePerUnit, confirmed: confirmed === true, action }, tx);
  }

  // ------------------------------------------------------------------------------------- negotiations

  async getNegotiation(p: Principal, id: string): Promise<NegotiationView> {
    const row = await repo.get(this.database.db, id);
    if (!row) throw notFound('negotiation', id);
    if (p.kind !== 'admin' && !(p.kind === 'agent' && (p.agentId === row.buyer_id || p.agentId === row.seller_id))) {
      throw new AppError('forbidden', 'only the parties of a negotiation and the operator may read it');
    }
    const offers = await loadOffers(this.database.db, id);
    return { row, offers, state: toNegotiationState(row, offers) };
  }

  async createNegotiation(agentId: string, input: NegotiationCreate): Promise<NegotiationView> {
    const id = input.id ?? uuidv7(this.clock);
    return this.writes.transaction(async (tx, events) => {
      const now = this.clock.now();
      // whether the id is taken, the listing and the request, in one statement
      const { taken, listing, request: foundRequest } = await repo.findForOpening(tx, id, input.listingId, input.requestId);
      if (taken) throw new AppError('conflict', `negotiation ${id} already exists`);
      if (!listing) throw notFound('listing', input.listingId);
      if (listing.status !== 'active') throw new AppError('invalid_transition', `listing ${listing.id} is ${listing.status}`, { state: listing.status, action: 'negotiate' });
      if (listing.valid_until.getTime() <= now.getTime()) throw new AppError('invalid_transition', `listing ${listing.id} has expired`, { action: 'negotiate' });
      let request: RequestRow | undefined;
      if (input.requestId) {
        request = foundRequest;
        if (!request) throw notFound('trade request', input.requestId);
        if (request.state !== 'open') throw new AppError('invalid_transition', `trade request ${request.id} is ${request.state}`, { state: request.state, action: 'negotiate' });
        if (request.category !== listing.category) throw new AppError('unprocessable', 'the listing is in another category than the request');
      }
      // The caller is the seller (answering a request) or the buyer.
      let role: Role;
      let buyerId: string;
      if (agentId === listing.seller_id) {
        if (!request) throw new AppError('validation_failed', 'a seller opens a negotiation in answer to a trade request: requestId is required', { errors: [{ field: 'body.requestId', message: 'is required for the seller' }] });
        role = 'seller';
        buyerId = request.buyer_id;
      } else {
        if (request && request.buyer_id !== agentId) throw new AppError('forbidden', 'only the buyer of the request or the listing\'s seller may negotiate on it');
        role = 'buyer';
        buyerId = agentId;
      }
      if (buyerId === listing.seller_id) throw new AppError('unprocessable', 'cannot trade with yourself');
      if (input.delegate && role !== 'buyer') throw new AppError('validation_failed', 'a seller delegates through its listing\'s `negotiation` settings', { errors: [{ field: 'body.delegate', message: 'buyers only' }] });
      if (!input.delegate && !input.offer) throw new AppError('validation_failed', 'give an opening `offer` or a `delegate` strategy', { errors: [{ field: 'body.offer', message: 'is required without delegate' }] });
      const span = (request && NEGOTIATION_MS_BY_URGENCY[request.urgency]) || DEFAULT_NEGOTIATION_MS;
      const deadline = input.deadline ?? new Date(Math.min(now.getTime() + span, request ? request.deadline.getTime() : Infinity));
      if (deadline.getTime() <= now.getTime()) throw new AppError('validation_failed', 'the negotiation deadline must be in the future', { errors: [{ field: 'body.deadline', message: 'must be in the future' }] });
      const deliveryDeadline = input.deliveryDeadline ?? (request ? request.deadline : new Date(now.getTime() + DEFAULT_DELIVERY_MS));
      if (deliveryDeadline.getTime() <= now.getTime()) throw new AppError('validation_failed', 'the delivery deadline must be in the future', { errors: [{ field: 'body.deliveryDeadline', message: 'must be in the future' }] });
      if (input.delegate) {
        const bad = delegationBoundsError('buyer', input.delegate, BigInt(input.delegate.reservationPrice));
        if (bad) throw new AppError('validation_failed', `${bad.field} ${bad.message}`, { errors: [bad] });
        try { strategyOf('buyer', input.delegate, BigInt(input.delegate.reservationPrice)); } catch (e) {
          throw new AppError('validation_failed', (e as Error).message, { errors: [{ field: 'body.delegate', message: (e as Error).message }] });
        }
      }
      const row = await repo.insert(tx, {
        id, request_id: request?.id ?? null, listing_id: listing.id, buyer_id: buyerId, seller_id: listing.seller_id, status: 'open',
        max_rounds: input.maxRounds ?? DEFAULT_MAX_ROUNDS, deadline, started_at: now, require_signatures: input.requireSignatures ?? false,
        buyer_delegation: jsonColumn(input.delegate ?? null),
        // the seller's delegation as it stands now, with the listing price of now as its target
        seller_delegation: jsonColumn(listing.auto_negotiation ? { targetPrice: listing.price_per_unit.toString(), ...(listing.auto_negotiation as unknown as StoredDelegation) } : null),
        delivery_deadline: deliveryDeadline, review_window_ms: BigInt(input.reviewWindowMs ?? DEFAULT_REVIEW_WINDOW_MS),
        accepted_seq: null, accept_signature: null, ended_by: null, ended_at: null, end_reason: null, agreement_id: null,
        created_at: now, updated_at: now,
      });
      this.writes.event(events, 'negotiation.opened', [row.buyer_id, row.seller_id], { negotiationId: id, listingId: listing.id, requestId: row.request_id });
      // a delegated buyer opens with the request's quantity (or 1)
      if (!input.offer && input.delegate) checkQuantity(listing, request?.quantity ?? 1, 'request', request);
      let state = toNegotiationState(row, []);
      const ctx: MoveCtx = { row, listing, request, agentId, role, events, offerRows: [], unsaved: [], latest: { row } };
      if (input.offer) {
        const terms = this.termsOf(input.offer, undefined, listing, request);
        checkQuantity(listing, terms.quantity, input.offer.quantity === undefined && request ? 'request' : 'body.offer.quantity', request);
        await this.checkBand(tx, listing, terms.pricePerUnit, input.offer.confirmOutsideBand, 'offer');
        state = await this.move(tx, ctx, state, { type: 'offer', by: role, terms, at: now.getTime() }, input.offer.signature);
      }
      state = await this.autoRespond(tx, ctx, state);
      await repo.insertOffers(tx, ctx.unsaved.splice(0));
      return viewOf(ctx);
    });
  }

  async offer(p: Principal, id: string, input: OfferInput): Promise<NegotiationView> {
    return this.act(p, id, async (tx, ctx, state) => {
      const last = lastOffer(state);
      const terms = this.termsOf(input, last?.terms, ctx.listing, ctx.request);
      checkQuantity(ctx.listing, terms.quantity, 'body.quantity', ctx.request);
      await this.checkBand(tx, ctx.listing, terms.pricePerUnit, input.confirmOutsideBand, 'offer');
      return this.move(tx, ctx, state, { type: 'offer', by: ctx.role, terms, at: this.clock.now().getTime() }, input.signature);
    });
  }

  async accept(p: Principal, id: string, input: { signature?: string | undefined; fund?: boolean | undefined; confirmOutsideBand?: boolean | undefined }): Promise<NegotiationView & { agreement: AgreementRow | null }> {
    let agreement: AgreementRow | null = null;
    const v = await this.act(p, id, async (tx, ctx, state) => {
      agreement = null; // a retried transaction starts afresh
      if (input.fund && ctx.role !== 'buyer') throw new AppError('validation_failed', 'only the buyer funds an agreement', { errors: [{ field: 'body.fund', message: 'buyer only' }] });
      const accepted = lastOffer(state);
      if (accepted) await this.checkBand(tx, ctx.listing, accepted.terms.pricePerUnit, input.confirmOutsideBand, 'accept');
      const s = await this.move(tx, ctx, state, { type: 'accept', by: ctx.role, at: this.clock.now().getTime() }, input.signature);
      if (input.fund && ctx.row.agreement_id === null) {
        const a = ctx.latest.agreement ?? (await repo.agreementOf(tx, id))!;
        agreement = await this.agreements.fundIn(tx, ctx.events, a, { kind: 'agent', agentId: ctx.agentId });
      }
      agreement ??= ctx.latest.agreement ?? null;
      return s;
    });
    if (!agreement) {
      agreement = (await repo.agreementOf(this.database.db, id)) ?? null;
    }
    return { ...v, agreement };
  }

  async reject(p: Principal, id: string, reason?: string): Promise<NegotiationView> {
    return this.act(p, id, (tx, ctx, state) => this.move(tx, ctx, state, { type: 'reject', by: ctx.role, at: this.clock.now().getTime() }, undefined, reason));
  }

  async withdraw(p: Principal, id: string, reason?: string): Promise<NegotiationView> {
    return this.act(p, id, (tx, ctx, state) => this.move(tx, ctx, state, { type: 'withdraw', by: ctx.role, at: this.clock.now().getTime() }, undefined, reason));
  }

  /** Expires open negotiations past their deadline. */
  async expireNegotiations(limit = 200): Promise<number> {
    const now = this.clock.now();
    const due = await repo.due(this.database.db, now, limit);
    let n = 0;
    for (const { id } of due) {
      await this.writes.transaction(async (tx, events) => {
        const row = await repo.lock(tx, id);
        if (!row || row.status !== 'open') return;
        const offers = await loadOffers(tx, id);
        const s = apply(toNegotiationState(row, offers), { type: 'expire', at: now.getTime() });
        await repo.expire(tx, id, s.status, row.version + 1, now);
        this.writes.event(events, 'negotiation.expired', [row.buyer_id, row.seller_id], { negotiationId: id });
        n++;
      });
    }
    return n;
  }

  /** Locks the negotiation, resolves the caller's role, runs one manual move and the delegated answers. */
  private async act(
    p: Principal,
    id: string,
    fn: (tx: Tx, ctx: MoveCtx, state: NegotiationState) => Promise<NegotiationState>,
  ): Promise<NegotiationView> {
    if (p.kind !== 'agent') throw new AppError(p.kind === 'anonymous' ? 'unauthorized' : 'forbidden', 'only the negotiating agents may move');
    return this.writes.transaction(async (tx, events) => {
      const row = await repo.lock(tx, id);
      if (!row) throw notFound('negotiation', id);
      const role: Role | null = p.agentId === row.buyer_id ? 'buyer' : p.agentId === row.seller_id ? 'seller' : null;
      if (!role) throw new AppError('forbidden', 'only the parties of a negotiation may move in it');
      // the listing and the request in one statement
      const { listing, request } = await repo.findForMove(tx, row);
      if (!listing) throw new Error(`listing ${row.listing_id} of negotiation ${id} is missing`);
      const offers = await loadOffers(tx, id);
      const ctx: MoveCtx = { row, listing, request, agentId: p.agentId, role, events, offerRows: offers, unsaved: [], latest: { row } };
      let state = toNegotiationState(row, offers);
      if (state.status === 'open' && this.clock.now().getTime() >= state.deadline) {
        throw new AppError('invalid_transition', 'the negotiation deadline has passed', { reason: 'deadline_passed' });
      }
      state = await fn(tx, ctx, state);
      await this.autoRespond(tx, ctx, state);
      await repo.insertOffers(tx, ctx.unsaved.splice(0));
      return viewOf(ctx);
    });
  }

  private termsOf(input: OfferInput, prev: Terms | undefined, listing: ListingRow, request: RequestRow | undefined): Terms {
    const price = input.pricePerUnit ?? prev?.pricePerUnit;
    if (price === undefined) throw new AppError('validation_failed', 'pricePerUnit is required for an opening offer', { errors: [{ field: 'body.pricePerUnit', message: 'is required' }] });
    return {
      pricePerUnit: price,
      quantity: input.quantity ?? prev?.quantity ?? request?.quantity ?? 1,
      sla: input.sla ?? prev?.sla ?? { availability: listing.sla_availability, maxLatencyMs: listing.sla_max_latency_ms },
      settlementType: input.settlementType ?? prev?.settlementType ?? 'escrow',
    };
  }

  /** Applies one move (manual or delegated), verifies its signature, persists it, and makes the agreement on accept. */
  private async move(tx: Tx, ctx: MoveCtx, state: NegotiationState, e: NegotiationEvent, signature?: string, reason?: string, delegated = false): Promise<NegotiationState> {
    const { row } = ctx;
    const by = e.type === 'expire' ? null : e.by;
    const agentId = by === 'buyer' ? row.buyer_id : row.seller_id;
    let payload: string | null = null;
    if (e.type === 'offer') payload = offerPayload(row.id, state.offers.length, agentId, e.terms);
    if (e.type === 'accept') {
      const last = lastOffer(state);
      if (last) payload = acceptPayload(row.id, last.seq, agentId, offerPayload(row.id, last.seq, last.by === 'buyer' ? row.buyer_id : row.seller_id, last.terms));
    }
    if (payload !== null && !delegated) await this.checkSignature(tx, row, agentId, payload, signature);
    const next = apply(state, e);
    const now = this.clock.now();
    if (e.type === 'accept') {
      // Capacity first: a manual accept without capacity fails (409) and leaves the negotiation open.
      const ok = await repo.reserveCapacity(tx, row.listing_id, lastOffer(state)!.terms.quantity, now);
      if (ok) ctx.events.listingsChanged = true;
      if (!ok) {
        if (!delegated) {
          const l = await repo.listingAvailability(tx, row.listing_id);
          if (l.status !== 'active' || l.valid_until.getTime() <= now.getTime()) {
            throw new AppError('conflict', `listing ${row.listing_id} is ${l.status === 'active' ? 'expired' : l.status}: no agreement can be made on it`, { reason: 'listing_unavailable' });
          }
          throw new AppError('conflict', `listing ${row.listing_id} has no free capacity for this quantity any more`, { reason: 'capacity' });
        }
        return this.move(tx, ctx, state, { type: 'reject', by: e.by, at: e.at }, undefined, 'capacity', true);
      }
    }
    if (e.type === 'offer') {
      // written with the transaction's next negotiation update, or at its end
      const offer: OfferRow = {
        negotiation_id: row.id, seq: state.offers.length, by_role: e.by, by_agent: agentId, price_per_unit: e.terms.pricePerUnit,
        quantity: e.terms.quantity, sla_availability: e.terms.sla.availability, sla_max_latency_ms: e.terms.sla.maxLatencyMs,
        settlement_type: e.terms.settlementType, signature: signature ?? null, delegated, created_at: now,
      };
      ctx.offerRows.push(offer);
      ctx.unsaved.push(offer);
      this.writes.event(ctx.events, 'negotiation.offer', [row.buyer_id, row.seller_id], {
        negotiationId: row.id, seq: state.offers.length, by: e.by, pricePerUnit: formatAmount(e.terms.pricePerUnit), quantity: e.terms.quantity, terms: termsJson(e.terms), delegated,
      });
    } else {
      // an accept points the negotiation at its agreement (made below, same transaction) in the same update
      ctx.latest.row = await repo.end(tx, row.id, {
        status: next.status, accepted_seq: next.acceptedSeq, ended_by: next.endedBy, ended_at: now, end_reason: reason ?? null,
        accept_signature: e.type === 'accept' ? signature ?? null : null, updated_at: now,
        ...(next.status === 'agreed' ? { agreement_id: agreementIdOf(row.id) } : {}),
      }, ctx.unsaved.splice(0));
      this.writes.event(ctx.events, `negotiation.${next.status}`, [row.buyer_id, row.seller_id], { negotiationId: row.id, by, reason: reason ?? null, delegated });
    }
    if (next.status === 'agreed') ctx.latest.agreement = await this.agreements.createIn(tx, ctx, next, signature ?? null, now);
    return next;
  }

  private async checkSignature(tx: Tx, row: NegotiationRow, agentId: string, payload: string, signature: string | undefined): Promise<void> {
    if (signature === undefined) {
      if (row.require_signatures) throw new AppError('validation_failed', 'this negotiation requires signed messages', { errors: [{ field: 'body.signature', message: 'is required' }] });
      return;
    }
    const publicKey = await this.agents.publicKeyIn(tx, agentId);
    if (!publicKey) throw new AppError('unprocessable', 'the agent has no registered public key to verify the signature with', { reason: 'no_public_key' });
    if (!verifySignature(publicKey, payload, signature)) {
      throw new AppError('unprocessable', 'the signature does not verify against the agent\'s registered Ed25519 key', { reason: 'bad_signature', signedPayload: payload });
    }
  }

  /** While the party to move is delegated, lets the service move for it (bounded by maxRounds). */
  private async autoRespond(tx: Tx, ctx: MoveCtx, state: NegotiationState): Promise<NegotiationState> {
    const { row, listing } = ctx;
    const buyerD = row.buyer_delegation as StoredDelegation | null;
    const sellerD = row.seller_delegation as StoredDelegation | null;
    const strategies: Record<Role, ConcessionStrategy | null> = {
      buyer: buyerD ? strategyOf('buyer', buyerD, BigInt(buyerD.reservationPrice)) : null,
      seller: sellerD ? strategyOf('seller', sellerD, listing.price_per_unit) : null,
    };
    const base = {
      quantity: ctx.request?.quantity ?? 1,
      sla: { availability: listing.sla_availability, maxLatencyMs: listing.sla_max_latency_ms },
      settlementType: 'escrow' as const,
    };
    const now = this.clock.now().getTime();
    for (let guard = 0; state.status === 'open' && guard <= row.max_rounds + 1; guard++) {
      if (now >= state.deadline) break;
      const last = lastOffer(state);
      // whose move: the opponent of the last offer, or (no offer yet) the delegated buyer
      const role: Role | null = last ? other(last.by) : strategies.buyer ? 'buyer' : null;
      if (!role) break;
      const strategy = strategies[role];
      if (!strategy) break;
      const d = decide(strategy, state, now, base);
      const movingCtx = { ...ctx, role, agentId: role === 'buyer' ? row.buyer_id : row.seller_id };
      state = await this.move(tx, movingCtx, state, decisionEvent(role, d, now), undefined, d.type === 'reject' ? 'reservation' : undefined, true);
    }
    return state;
  }

  /** The caller's negotiations (the operator: anyone's, or one agent's), newest first. */
  async listNegotiations(p: Principal, q: { agentId?: string | undefined; status?: string | undefined; limit: number; beforeId?: string | undefined }): Promise<NegotiationView[]> {
    const agentId = p.kind === 'agent' ? p.agentId : q.agentId;
    if (p.kind === 'agent' && q.agentId && q.agentId !== p.agentId) throw new AppError('forbidden', 'an agent lists only its own negotiations');
    const rows = await repo.list(this.database.db, { ...q, agentId });
    const offers = await repo.offersOf(this.database.db, rows.map((r) => r.id));
    return rows.map((row) => {
      const mine = offers.filter((o) => o.negotiation_id === row.id);
      return { row, offers: mine, state: toNegotiationState(row, mine) };
    });
  }
}

/**
 * An offer's quantity against the listing: more than the listing's whole capacity can never be agreed
 * (400); more than is free now cannot be accepted now (409 `capacity`; concurrent capacity comes back when
 * live agreements end). `field` is the offending input: a body field, or `request` when the quantity is
 * the trade request's.
 */
function checkQuantity(listing: ListingRow, quantity: number, field: string, request: RequestRow | undefined): void {
  const free = listing.capacity_total - unavailableUnits(listing);
  const what = field === 'request' && request ? `trade request ${request.id} asks for ${quantity} units` : `${field} ${quantity}`;
  const errField = field === 'request' ? 'body.requestId' : field;
  if (quantity > listing.capacity_total) {
    const message = `must not exceed the listing's capacity of ${listing.capacity_total} units (${free} free now)`;
    throw new AppError('validation_failed', `${what}: ${message}; listing ${listing.id}`, { errors: [{ field: errField, message }], capacity: listing.capacity_total, available: free });
  }
  if (quantity > free) {
    throw new AppError('conflict', `${what}: listing ${listing.id} has ${free} of its ${listing.capacity_total} units free now`, { reason: 'capacity', capacity: listing.capacity_total, available: free });
  }
}

interface MoveCtx {
  row: NegotiationRow;
  listing: ListingRow;
  request: RequestRow | undefined;
  agentId: string;
  role: Role;
  events: Events;
  /** The negotiation's offers as stored, in seq order; moves append the ones they insert (shared by copies of the context). */
  offerRows: OfferRow[];
  /** Offers made in this transaction and not written yet (shared by copies of the context). */
  unsaved: OfferRow[];
  /** The negotiation row as last written in this transaction (shared by copies of the context). */
  latest: { row: NegotiationRow; agreement?: AgreementRow };
}

/** The negotiation as it stands at the end of the caller's transaction, from what the transaction wrote. */
function viewOf(ctx: MoveCtx): NegotiationView {
  const { row } = ctx.latest;
  return { row, offers: ctx.offerRows, state: toNegotiationState(row, ctx.offerRows) };
}

