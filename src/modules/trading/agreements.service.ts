/**
 * Agreements: an accepted offer becomes an agreement; its state machine (trading.states.ts) moves together
 * with its escrow (the ledger's TradeEscrow, inside the same transaction), releases the listing's capacity when
 * it ends, and writes every outcome as reputation evidence. An agreement row is locked before its escrow
 * and its listing.
 *
 * Length: each step of an agreement's life (fund, deliver, confirm, dispute, resolve, the timers) moves the
 * escrow, the listing's capacity and the reputation evidence in one transaction under the same row locks,
 * so they stay together; the SQL is in agreements.repository.ts, the states in trading.states.ts, the
 * measurements in measurements.ts.
 */
import type { Database } from '../../database.js';
import type { Clock } from '../../platform/clock.js';
import { uuidFromName } from '../../platform/ids.js';
import { AppError, notFound } from '../../platform/http/errors.js';
import type { Principal } from '../../platform/http/auth.js';
import { formatAmount } from '../../platform/money.js';
import type { EscrowActor, EscrowView, TradeEscrow, Tx } from '../ledger/ledger.port.js';
import type { ReputationPort } from '../reputation/reputation.port.js';
import { NO_GUARDS, type TradingGuards } from './trading.guards.js';
import type { SellerTierLimit } from './trading.tier-limit.port.js';
import type { NegotiationState } from './negotiation.js';
import { TERMINAL_AGREEMENT, nextAgreementState, nextRequestState, type AgreementAction, type AgreementState } from './trading.states.js';
import { jsonColumn, type AgreementRow, type ListingRow, type NegotiationRow, type OfferRow, type RequestRow } from './trading.repository.js';
import { agreementsRepository as repo, type AgreementRelease } from './agreements.repository.js';
import { acceptPayload, offerPayload } from './trading.signing.js';
import { takePending, type Events, type TradingWrites } from './trading.tx.js';
import { agreementEventData } from './trading.json.js';
import { resolveMeasurements, type BuyerReport, type Ending, type PlatformObservation } from './measurements.js';

export interface DeliveryReport {
  usage?: number | undefined;
  latencyMs?: number | undefined;
  availability?: number | undefined;
  accuracy?: number | undefined;
  /** the result digest of the request's job, if it has one */
  resultDigest?: string | undefined;
  /** the graded answer: one digest per item of the job */
  itemDigests?: string[] | undefined;
  note?: string | undefined;
}

/** What the platform saw of a delivery, stored with it (`delivery.platform`). */
interface StoredDelivery extends DeliveryReport {
  platform?: { fundedAt: string | null; deliveryMs: number | null; deadlineMet: boolean };
}

/** What making an agreement needs from the negotiation. */
export interface AgreementContext {
  row: NegotiationRow;
  listing: ListingRow;
  request: RequestRow | undefined;
  events: Events;
  /** The negotiation's offers as stored, when the caller holds them (saves reading the accepted one again). */
  offerRows?: ReadonlyArray<Pick<OfferRow, 'seq' | 'signature' | 'delegated'>> | undefined;
}

/** The id of a negotiation's agreement (one per negotiation). */
export const agreementIdOf = (negotiationId: string): string => uuidFromName(`negotiation:${negotiationId}:agreement`);
/** Seconds a buyer has to fund an agreement after it is made, by default (FUNDING_WINDOW_SECONDS). */
export const DEFAULT_FUNDING_WINDOW_SECONDS = 900;

function nextAgreement(from: string, action: AgreementAction): AgreementState {
  const to = nextAgreementState(from as AgreementState, action);
  if (!to) throw new AppError('invalid_transition', `cannot ${action} an agreement that is ${from}`, { state: from, action });
  return to;
}

const agentActor = (agentId: string): EscrowActor => ({ kind: 'agent', agentId });

export class AgreementsService {
  constructor(
    private readonly database: Database,
    private readonly clock: Clock,
    private readonly writes: TradingWrites,
    private readonly escrow: TradeEscrow,
    private readonly reputation: ReputationPort,
    private readonly guards: TradingGuards = NO_GUARDS,
    private readonly tierLimit?: SellerTierLimit,
    /** How long a buyer has to fund an agreement after it is made (capped by the delivery deadline). */
    private readonly fundingWindowMs = DEFAULT_FUNDING_WINDOW_SECONDS * 1000,
  ) {}

  /**
   * Refuses (409 tier_limit) an agreement made or funded while the seller holds as many open agreements as its
   * tier allows (trading.tier-limit.port.ts); the caller's transaction then rolls back and nothing changes.
   */
  private async checkTierLimit(tx: Tx, sellerId: string, action: 'create' | 'fund'): Promise<void> {
    const limit = this.tierLimit ? await this.tierLimit.openAgreementLimit(tx, sellerId) : null;
    if (!limit) return;
    // making an agreement does not open it (funding does): only funding needs the count to stay true until commit
    const open = await repo.sellerOpenCount(tx, sellerId, action === 'fund');
    if (open < limit.max) return;
    throw new AppError('tier_limit',
      `the seller holds ${open} open agreements (funded, delivered or disputed), the most its ${limit.tier} tier allows (maxOpenAgreements ${limit.max}); ` +
      `${action === 'create' ? 'agree' : 'fund'} again once one of them ends`,
      { limit: 'maxOpenAgreements', max: limit.max, open, tier: limit.tier, sellerId });
  }

  /** An event to both parties: the agreement as it is after `set` (amounts as in the REST resource), and `extra`. */
  private event(events: Events, type: string, a: AgreementRow, set: Partial<AgreementRow>, extra: Record<string, unknown> = {}): void {
    this.writes.event(events, type, [a.buyer_id, a.seller_id], { ...agreementEventData({ ...a, ...set }), ...extra });
  }

  /**
   * Makes the agreement of an accepted negotiation (capacity already reserved by the caller; the caller's
   * update of the negotiation row already points at the agreement's id, `agreementIdOf`).
   */
  async createIn(tx: Tx, ctx: AgreementContext, s: NegotiationState, acceptSignature: string | null, now: Date): Promise<AgreementRow> {
    const { row, listing, request } = ctx;
    await this.guards.beforeAgreement(tx, { buyerId: row.buyer_id, sellerId: row.seller_id, listingId: listing.id, category: listing.category, region: listing.region });
    await this.checkTierLimit(tx, row.seller_id, 'create');
    const offer = s.offers[s.acceptedSeq!]!;
    const t = offer.terms;
    const id = agreementIdOf(row.id);
    if (request) {
      // locks the request and marks it agreed in one statement (the state check is the WHERE clause); it
      // becomes fulfilled only when this agreement settles (see `update`)
      if (!await repo.agreeRequest(tx, request.id, nextRequestState('open', 'agree')!, id, now)) {
        const req = await repo.requestState(tx, request.id);
        throw new AppError('invalid_transition', `trade request ${req.id} is ${req.state}`, { state: req.state, action: 'agree' });
      }
    }
    const offerBy = offer.by === 'buyer' ? row.buyer_id : row.seller_id;
    const acceptBy = offer.by === 'buyer' ? row.seller_id : row.buyer_id;
    const oPayload = offerPayload(row.id, offer.seq, offerBy, t);
    const offerRow = ctx.offerRows?.find((o) => o.seq === offer.seq)
      ?? await repo.offerProof(tx, row.id, offer.seq);
    const proof = {
      offer: { payload: oPayload, signature: offerRow.signature, signedBy: offerBy, delegated: offerRow.delegated },
      accept: { payload: acceptPayload(row.id, offer.seq, acceptBy, oPayload), signature: acceptSignature, signedBy: acceptBy },
    };
    // an unfunded agreement holds the listing's units: only for the funding window, never past delivery
    const fundingDeadline = new Date(Math.min(row.delivery_deadline.getTime(), now.getTime() + this.fundingWindowMs));
    const amount = t.pricePerUnit * BigInt(t.quantity);
    const values = {
      id, negotiation_id: row.id, request_id: row.request_id, listing_id: row.listing_id, buyer_id: row.buyer_id, seller_id: row.seller_id,
      category: listing.category, price_per_unit: t.pricePerUnit, quantity: t.quantity, amount,
      sla_availability: t.sla.availability, sla_max_latency_ms: t.sla.maxLatencyMs, settlement_type: t.settlementType, state: 'pending_funding',
      escrow_id: null, funding_deadline: fundingDeadline, delivery_deadline: row.delivery_deadline, review_window_ms: row.review_window_ms,
      auto_release_at: null, delivery: jsonColumn(null), dispute: jsonColumn(null), resolution: jsonColumn(null), proof: jsonColumn(proof), created_at: now, updated_at: now,
    };
    this.event(ctx.events, 'agreement.created', { ...values, released: 0n, delivery: null, dispute: null, resolution: null, proof } as unknown as AgreementRow, {});
    // the agreement, its first history event and the transaction's events so far in one statement
    return repo.insert(tx, values, { action: 'create', actor: `agent:${acceptBy}`, detail: { negotiationId: row.id }, at: now }, takePending(ctx.events));
  }

  // ---------------------------------------------------------------------------------------- agreements

  /** The caller's agreements (the operator: anyone's, or one agent's), newest first, keyset-paginated by id. */
  async listAgreements(p: Principal, q: { agentId?: string | undefined; role?: 'buyer' | 'seller' | undefined; state?: string | undefined; limit: number; beforeId?: string | undefined }): Promise<AgreementRow[]> {
    const agentId = p.kind === 'agent' ? p.agentId : q.agentId;
    if (p.kind === 'agent' && q.agentId && q.agentId !== p.agentId) throw new AppError('forbidden', 'an agent lists only its own agreements');
    return repo.list(this.database.db, { ...q, agentId });
  }

  async getAgreement(p: Principal, id: string): Promise<{ row: AgreementRow; escrow: EscrowView | null; events: { seq: bigint; from: string | null; to: string; action: string; actor: string; detail: unknown; at: Date }[] }> {
    const row = await repo.get(this.database.db, id);
    if (!row) throw notFound('agreement', id);
    if (p.kind !== 'admin' && !(p.kind === 'agent' && (p.agentId === row.buyer_id || p.agentId === row.seller_id))) {
      throw new AppError('forbidden', 'only the parties of an agreement and the operator may read it');
    }
    const escrow = row.escrow_id ? await this.escrow.get(row.escrow_id) : null;
    const ev = await repo.history(this.database.db, id);
    return { row, escrow, events: ev.map((e) => ({ seq: e.seq, from: e.from_state, to: e.to_state, action: e.action, actor: e.actor, detail: e.detail, at: e.at })) };
  }

  /** Locks an agreement and checks the caller is one of the named parties (or the operator, when allowed). */
  private async lockAgreement(tx: Tx, id: string, p: Principal, who: 'buyer' | 'seller' | 'party' | 'admin'): Promise<AgreementRow> {
    const a = await repo.lock(tx, id);
    if (!a) throw notFound('agreement', id);
    const ok = who === 'admin' ? p.kind === 'admin'
      : p.kind === 'agent' && ((who !== 'seller' && p.agentId === a.buyer_id) || (who !== 'buyer' && p.agentId === a.seller_id));
    if (!ok) {
      if (p.kind === 'anonymous') throw new AppError('unauthorized', 'an API key is required');
      throw new AppError('forbidden', who === 'admin' ? 'only the operator resolves disputes' : `only the ${who === 'party' ? 'buyer or seller' : who} may do this`);
    }
    return a;
  }

  async fund(p: Principal, id: string): Promise<AgreementRow> {
    const pre = await repo.get(this.database.db, id);
    if (pre && this.guards.prepare) await this.guards.prepare({ buyerId: pre.buyer_id, sellerId: pre.seller_id });
    return this.writes.transaction(async (tx, events) => {
      const a = await this.lockAgreement(tx, id, p, 'buyer');
      return this.fundIn(tx, events, a, agentActor(a.buyer_id));
    });
  }

  /** Funds an agreement inside the caller's transaction (also used by accept with `fund`). */
  async fundIn(tx: Tx, events: Events, a: AgreementRow, actor: EscrowActor): Promise<AgreementRow> {
    const now = this.clock.now();
    const immediate = a.settlement_type === 'immediate';
    const to = nextAgreement(a.state, immediate ? 'fund_immediate' : 'fund');
    if (a.delivery_deadline.getTime() <= now.getTime()) throw new AppError('invalid_transition', 'the delivery deadline has passed', { state: a.state, action: 'fund' });
    if (a.state === 'pending_funding' && a.funding_deadline.getTime() <= now.getTime()) {
      throw new AppError('invalid_transition', `the funding deadline (${a.funding_deadline.toISOString()}) has passed: the agreement is cancelled`, { state: a.state, action: 'fund' });
    }
    await this.checkTierLimit(tx, a.seller_id, 'fund');
    await this.guards.beforePayment(tx, {
      agreementId: a.id, buyerId: a.buyer_id, sellerId: a.seller_id, category: a.category, amount: a.amount, openAgreements: () => repo.openCount(tx, a.buyer_id),
    });
    const escrowId = uuidFromName(`agreement:${a.id}:escrow`);
    await this.escrow.createIn(tx, {
      id: escrowId, payerAgentId: a.buyer_id, payeeAgentId: a.seller_id, amount: a.amount, reference: `agreement:${a.id}`,
      expiresAt: a.delivery_deadline, reviewWindowMs: Number(a.review_window_ms),
    }, actor);
    let released = a.released;
    if (immediate) {
      // Immediate settlement: funded and released in the same transaction (the buyer prepays).
      await this.escrow.actIn(tx, escrowId, 'release', actor, { reason: 'immediate settlement' });
      released = a.amount;
    }
    this.event(events, `agreement.${to === 'settled' ? 'settled' : 'funded'}`, a, { state: to, escrow_id: escrowId, released });
    const out = await this.update(tx, events, a, { state: to, escrow_id: escrowId, released }, immediate ? 'fund_immediate' : 'fund', actorName(actor), null, now);
    if (immediate) await this.finish(tx, out, { success: true, paid: a.amount }, now);
    return out;
  }

  async deliver(p: Principal, id: string, report: DeliveryReport): Promise<AgreementRow> {
    return this.writes.transaction(async (tx, events) => {
      const a = await this.lockAgreement(tx, id, p, 'seller');
      const now = this.clock.now();
      const to = nextAgreement(a.state, 'deliver');
      const e = await this.escrow.actIn(tx, a.escrow_id!, 'deliver', agentActor(a.seller_id), { reason: report.note ?? null });
      // the platform's own measurement: time from funding to this delivery report, and the deadline
      const funded = await tx.selectFrom('agreement_events').select('at').where('agreement_id', '=', a.id).where('action', 'in', ['fund', 'fund_immediate'])
        .orderBy('seq').limit(1).executeTakeFirst();
      const platform = {
        fundedAt: funded ? funded.at.toISOString() : null, deliveryMs: funded ? Math.max(0, now.getTime() - funded.at.getTime()) : null,
        deadlineMet: now.getTime() <= a.delivery_deadline.getTime(),
      };
      const delivery: StoredDelivery = { ...report, reportedAt: now.toISOString(), platform } as StoredDelivery;
      this.event(events, 'agreement.delivered', a, { state: to, auto_release_at: e.autoReleaseAt }, { autoReleaseAt: e.autoReleaseAt?.toISOString() ?? null });
      const out = await this.update(tx, events, a, { state: to, delivery: jsonColumn(delivery), auto_release_at: e.autoReleaseAt }, 'deliver', `agent:${a.seller_id}`, delivery, now);
      return out;
    });
  }

  /** The buyer confirms: releases everything, or (milestone settlement) `amount` of it. */
  async confirm(p: Principal, id: string, opts: { amount?: bigint | undefined; note?: string | undefined; measurements?: BuyerReport | undefined }): Promise<AgreementRow> {
    return this.writes.transaction(async (tx, events) => {
      const a = await this.lockAgreement(tx, id, p, 'buyer');
      const now = this.clock.now();
      if (opts.amount !== undefined && a.settlement_type !== 'milestone') {
        throw new AppError('validation_failed', 'partial releases are for milestone settlement', { errors: [{ field: 'body.amount', message: 'only for milestone settlement' }] });
      }
      const remaining = a.amount - a.released;
      const partial = opts.amount !== undefined && opts.amount < remaining;
      const to = nextAgreement(a.state, partial ? 'release_part' : 'confirm');
      const e = await this.escrow.actIn(tx, a.escrow_id!, 'release', agentActor(a.buyer_id), { ...(opts.amount !== undefined ? { amount: opts.amount } : {}), reason: opts.note ?? null });
      const released = e.released;
      this.event(events, partial ? 'agreement.milestone_released' : 'agreement.settled', a, { state: to, released });
      const out = await this.update(tx, events, a, { state: to, released }, partial ? 'release_part' : 'confirm', `agent:${a.buyer_id}`, {
        amount: formatAmount(released - a.released), ...(opts.measurements ? { measurements: opts.measurements } : {}),
      }, now);
      if (!partial) await this.finish(tx, out, { success: true, paid: released }, now, { buyer: { accepted: true, ...opts.measurements }, ending: 'confirm' });
      return out;
    });
  }

  async dispute(p: Principal, id: string, input: { reason: string; evidence?: unknown; measurements?: BuyerReport | undefined }): Promise<AgreementRow> {
    return this.writes.transaction(async (tx, events) => {
      const a = await this.lockAgreement(tx, id, p, 'party');
      const now = this.clock.now();
      const filedBy = (p as { agentId: string }).agentId;
      if (input.measurements && filedBy !== a.buyer_id) {
        throw new AppError('validation_failed', 'measurements are the buyer\'s report; the seller reports with its delivery', { errors: [{ field: 'body.measurements', message: 'buyer only' }] });
      }
      const to = nextAgreement(a.state, 'dispute');
      await this.escrow.actIn(tx, a.escrow_id!, 'dispute', agentActor(filedBy), { reason: input.reason });
      // a buyer's dispute is its rejection: what it experienced (not accepted unless it says so)
      const measurements = filedBy === a.buyer_id ? { accepted: false, ...input.measurements } : undefined;
      const dispute = { filedBy, reason: input.reason, evidence: input.evidence ?? null, ...(measurements ? { measurements } : {}), openedAt: now.toISOString(), fromState: a.state };
      this.event(events, 'agreement.disputed', a, { state: to }, { filedBy });
      const out = await this.update(tx, events, a, { state: to, dispute: jsonColumn(dispute) }, 'dispute', `agent:${filedBy}`, { reason: input.reason }, now);
      return out;
    });
  }

  /** Operator decision on a dispute: release to the seller, refund the buyer, or split (`sellerAmount` gross to the seller). */
  async resolve(p: Principal, id: string, input: { outcome: 'release' | 'refund' | 'split'; sellerAmount?: bigint | undefined; note?: string | undefined }): Promise<AgreementRow> {
    return this.writes.transaction(async (tx, events) => {
      const a = await this.lockAgreement(tx, id, p, 'admin');
      const now = this.clock.now();
      const to = nextAgreement(a.state, 'resolve');
      if (input.outcome === 'split' && input.sellerAmount === undefined) {
        throw new AppError('validation_failed', 'a split needs sellerAmount', { errors: [{ field: 'body.sellerAmount', message: 'is required for a split' }] });
      }
      const before = await this.escrowIn(tx, a.escrow_id!);
      const e = await this.escrow.actIn(tx, a.escrow_id!, `resolve_${input.outcome}`, { kind: 'admin' }, {
        ...(input.sellerAmount !== undefined ? { payeeAmount: input.sellerAmount } : {}), reason: input.note ?? null,
      });
      const paid = e.released - before.released;
      const resolution = { outcome: input.outcome, toSeller: formatAmount(paid), toBuyer: formatAmount(e.refunded - before.refunded), note: input.note ?? null, resolvedAt: now.toISOString() };
      this.event(events, 'agreement.resolved', a, { state: to, released: e.released }, { outcome: input.outcome });
      const out = await this.update(tx, events, a, { state: to, released: e.released, resolution: jsonColumn(resolution) }, 'resolve', 'admin', resolution, now);
      const d = a.dispute as { filedBy?: string } | null;
      await this.reputation.recordDisputeOutcome(tx, { tradeId: a.id, sellerId: a.seller_id, buyerId: a.buyer_id, filedBy: d?.filedBy ?? a.buyer_id, outcome: input.outcome, at: now });
      await this.finish(tx, out, { success: input.outcome !== 'refund', paid: e.released }, now, disputeReport(a, input.outcome));
      return out;
    });
  }

  /**
   * Timers: unfunded agreements past their deadline are cancelled, undelivered ones refunded, reviewed ones
   * released. Also reconciles agreements whose escrow was closed by the escrow's own timers or directly
   * through the escrow API (e.g. the buyer released it there): the agreement follows its money.
   */
  async runTimers(limit = 200): Promise<{ cancelled: number; refunded: number; settled: number; resolved: number }> {
    const now = this.clock.now();
    const [due, drifted] = await Promise.all([repo.due(this.database.db, now, limit), this.closedEscrows(limit)]);
    const out = { cancelled: 0, refunded: 0, settled: 0, resolved: 0 };
    for (const id of new Set([...due, ...drifted].map((r) => r.id))) {
      const r = await this.writes.transaction((tx, events) => this.advance(tx, events, id));
      if (r) out[r]++;
    }
    return out;
  }

  /** Live agreements (funded, delivered, disputed) whose escrow has closed, `limit` at the most. */
  private async closedEscrows(limit: number): Promise<{ id: string }[]> {
    const live = await repo.live(this.database.db);
    if (!live.length) return [];
    const escrows = await this.escrow.getIn(this.database.db, live.map((a) => a.escrow_id));
    return live.filter((a) => { const e = escrows.get(a.escrow_id); return e !== undefined && this.escrow.isTerminal(e.state); }).slice(0, limit);
  }

  private async advance(tx: Tx, events: Events, id: string): Promise<'cancelled' | 'refunded' | 'settled' | 'resolved' | null> {
    const a = await repo.lock(tx, id);
    if (!a) return null;
    const t = this.clock.now();
    const system: EscrowActor = { kind: 'system' };
    if (a.state === 'pending_funding') {
      if (a.funding_deadline.getTime() > t.getTime()) return null;
      this.event(events, 'agreement.cancelled', a, { state: nextAgreement(a.state, 'cancel') });
      const u = await this.update(tx, events, a, { state: nextAgreement(a.state, 'cancel') }, 'cancel', 'system', { reason: 'not funded before the deadline' }, t);
      await this.finish(tx, u, null, t);
      return 'cancelled';
    }
    if (!a.escrow_id || !['funded', 'delivered', 'disputed'].includes(a.state)) return null;
    const escrowId = a.escrow_id;
    let e = await this.escrowIn(tx, escrowId);
    // The escrow was read without its lock: the escrow's own job (or this job in another process, in the
    // window where two leaders run) may fire the same timer meanwhile. `actIn` locks the row and refuses the
    // move then; the escrow is read again under that lock and the agreement follows it, where throwing
    // would fail this run and leave every later due item to the next tick.
    const fire = async (action: 'expire' | 'auto_release', opts: { reason?: string } = {}): Promise<EscrowView> => {
      try {
        return await this.escrow.actIn(tx, escrowId, action, system, opts);
      } catch (err) {
        if (err instanceof AppError && err.code === 'invalid_transition') return this.escrowIn(tx, escrowId);
        throw err;
      }
    };
    // Fire the due timer ourselves (the escrow's own job may have fired it already: then it is closed).
    if (e.state === 'held' && a.delivery_deadline.getTime() <= t.getTime()) {
      e = await fire('expire', { reason: 'delivery deadline passed' });
    } else if (e.state === 'delivered' && a.auto_release_at && a.auto_release_at.getTime() <= t.getTime()) {
      // a risk hold on the seller: the money stays in escrow (the timer tries again once the hold is lifted)
      if (await this.escrow.releaseHeld(tx, a.seller_id)) return null;
      e = await fire('auto_release');
    }
    switch (e.state) {
      case 'released': {
        if (a.state === 'disputed') return null;
        const action: AgreementAction = a.state === 'delivered' ? 'auto_release' : 'confirm';
        this.event(events, 'agreement.settled', a, { state: nextAgreement(a.state, action), released: e.released }, { auto: true });
        const u = await this.update(tx, events, a, { state: nextAgreement(a.state, action), released: e.released }, action, 'system', { escrow: e.state }, t);
        await this.finish(tx, u, { success: true, paid: e.released }, t);
        return 'settled';
      }
      case 'expired':
      case 'refunded': {
        if (a.state === 'disputed') return null;
        const action: AgreementAction = e.state === 'expired' && a.state === 'funded' ? 'expire' : 'refund';
        this.event(events, 'agreement.refunded', a, { state: nextAgreement(a.state, action) }, { reason: e.state === 'expired' ? 'delivery deadline passed' : 'refunded' });
        const u = await this.update(tx, events, a, { state: nextAgreement(a.state, action) }, action, 'system', { escrow: e.state, refunded: formatAmount(e.refunded) }, t);
        // the platform saw the delivery deadline pass without a delivery
        await this.finish(tx, u, { success: false, paid: 0n }, t, { deadlineMissed: action === 'expire' });
        return 'refunded';
      }
      case 'resolved_release':
      case 'resolved_refund':
      case 'resolved_split': {
        if (a.state !== 'disputed') return null;
        const outcome = e.state.slice('resolved_'.length) as 'release' | 'refund' | 'split';
        const resolution = { outcome, toSeller: formatAmount(e.released), toBuyer: formatAmount(e.refunded), note: 'resolved on the escrow', resolvedAt: t.toISOString() };
        this.event(events, 'agreement.resolved', a, { state: nextAgreement(a.state, 'resolve'), released: e.released }, { outcome });
        const u = await this.update(tx, events, a, { state: nextAgreement(a.state, 'resolve'), released: e.released, resolution: jsonColumn(resolution) }, 'resolve', 'system', resolution, t);
        const d = a.dispute as { filedBy?: string } | null;
        await this.reputation.recordDisputeOutcome(tx, { tradeId: a.id, sellerId: a.seller_id, buyerId: a.buyer_id, filedBy: d?.filedBy ?? a.buyer_id, outcome, at: t });
        await this.finish(tx, u, { success: outcome !== 'refund', paid: e.released }, t, disputeReport(a, outcome));
        return 'resolved';
      }
      default:
        return null;
    }
  }

  /** The escrow read inside the caller's transaction (never through another connection). */
  private async escrowIn(tx: Tx, id: string): Promise<EscrowView> {
    const e = (await this.escrow.getIn(tx, [id])).get(id);
    if (!e) throw new Error(`escrow ${id} is missing`);
    return e;
  }

  /**
   * The agreement ended (its capacity went back to the listing in `update`): the outcome becomes reputation
   * evidence, with each measurement attributed to whoever measured it (measurements.ts): the buyer's report,
   * the seller's claim where the buyer does not contradict it, and the platform's delivery time and deadline.
   */
  private async finish(tx: Tx, a: AgreementRow, outcome: { success: boolean; paid: bigint } | null, now: Date,
    how: { buyer?: BuyerReport | undefined; ending?: Ending; deadlineMissed?: boolean } = {}): Promise<void> {
    if (!TERMINAL_AGREEMENT.has(a.state as AgreementState)) return;
    if (!outcome) return;
    const d = a.delivery as StoredDelivery | null;
    const claim = d ? { usage: d.usage, latencyMs: d.latencyMs, availability: d.availability, accuracy: d.accuracy } : null;
    const sellerClaim = claim ? Object.fromEntries(Object.entries(claim).filter(([, v]) => typeof v === 'number')) : null;
    const platform: PlatformObservation = {
      deliveryMs: d?.platform?.deliveryMs ?? null,
      deadlineMet: how.deadlineMissed ? false : d?.platform ? d.platform.deadlineMet : how.ending === 'confirm' ? now.getTime() <= a.delivery_deadline.getTime() : null,
    };
    const m = resolveMeasurements(claim, how.buyer ?? null, platform,
      { quantity: a.quantity, slaMaxLatencyMs: a.sla_max_latency_ms, slaAvailability: a.sla_availability }, how.ending ?? 'none');
    const b = how.buyer;
    await this.reputation.recordTradeOutcome(tx, {
      tradeId: a.id, sellerId: a.seller_id, buyerId: a.buyer_id, success: outcome.success, amount: outcome.success ? outcome.paid : 0n,
      category: a.category, latencyMs: m.latencyMs, accuracy: m.accuracy, slaMet: m.slaMet, at: now,
      measuredBy: m.measuredBy, unmeasured: m.unmeasured, disputed: m.disputed, sellerClaim: sellerClaim && Object.keys(sellerClaim).length ? sellerClaim : null,
      buyerLatencyMs: b?.latencyMs ?? null, buyerAccuracy: b?.accuracy ?? null, buyerAccepted: b?.accepted ?? null, buyerUnitsDelivered: b?.unitsDelivered ?? null,
      platformDeliveryMs: platform.deliveryMs, deadlineMet: platform.deadlineMet,
    });
  }

  /**
   * Moves the agreement, in one statement: the row update, its history event and, when it ends (once:
   * `capacity_released`), its capacity back to the listing (concurrent capacity, or a stock listing's
   * agreement that did not trade) or into the listing's consumed units (a stock listing's settled
   * agreement), and its trade request from agreed to fulfilled (it traded) or back to open (it did not;
   * expired when the request's deadline has passed).
   */
  private async update(tx: Tx, events: Events, a: AgreementRow, set: Record<string, unknown>, action: string, actor: string, detail: unknown, now: Date): Promise<AgreementRow> {
    const state = set['state'] as AgreementState;
    let release: AgreementRelease | null = null;
    if (TERMINAL_AGREEMENT.has(state) && !a.capacity_released) {
      const traded = tradedAt(state, set['resolution'] ?? a.resolution);
      const reopened = nextRequestState('agreed', 'reopen')!;
      release = {
        listingId: a.listing_id, quantity: a.quantity, traded,
        request: a.request_id === null ? null : traded
          ? { id: a.request_id, to: nextRequestState('agreed', 'fulfil')!, clearAgreement: false }
          : { id: a.request_id, to: reopened, lapsed: nextRequestState(reopened, 'expire')!, clearAgreement: true },
      };
      events.listingsChanged = true;
    }
    // the transaction's events so far go to the outbox in the same statement
    return repo.move(tx, a, set, { action, actor, detail, at: now }, takePending(events), release);
  }
}

/** The buyer's report filed with a dispute (if the buyer filed it) and how the operator ended it. */
function disputeReport(a: AgreementRow, outcome: 'release' | 'refund' | 'split'): { buyer?: BuyerReport; ending: Ending } {
  const d = (typeof a.dispute === 'string' ? JSON.parse(a.dispute) : a.dispute) as { filedBy?: string; measurements?: BuyerReport } | null;
  return { ...(d?.filedBy === a.buyer_id && d.measurements ? { buyer: d.measurements } : {}), ending: outcome };
}

/** Did an agreement that ended in `state` trade (the seller was paid: settled, or resolved by release or split)? */
function tradedAt(state: AgreementState, resolution: unknown): boolean {
  if (state === 'settled') return true;
  if (state !== 'resolved') return false;
  const r = (typeof resolution === 'string' ? JSON.parse(resolution) : resolution) as { outcome?: string } | null;
  return r?.outcome !== 'refund';
}


const actorName = (a: EscrowActor) => (a.kind === 'agent' ? `agent:${a.agentId}` : a.kind);
