/** HTTP API of the trading module: listings, trade requests, matches, negotiations, agreements (the stream is the platform's). */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { AuthHeader, IdParams, Page, Uuid, errors, IdemHeader } from '../../platform/http/schemas.js';
import { decodeCursor, encodeCursor } from '../../platform/http/pagination.js';
import { AppError } from '../../platform/http/errors.js';
import { requireAgent, type Principal } from '../../platform/http/auth.js';
import { formatAmount, parseAmount } from '../../platform/money.js';
import type { MatchResult } from './matching.js';
import { turnOf } from './negotiation.js';
import type { MarketService } from './market.service.js';
import type { AgreementsService } from './agreements.service.js';
import type { ListingRow, StoredDelegation } from './trading.repository.js';
import type { NegotiationView, NegotiationsService, OfferInput } from './negotiations.service.js';
import { offerPayload } from './trading.signing.js';
import { agreementJson, iso, isOwner, listingJson, requestJson, termsJson } from './trading.json.js';
import {
  AcceptBody, AgreementSchema, ConfirmBody, DeliverBody, DisputeBody, ListingCreate, ListingPatchSchema, ListingQuery, ListingSchema,
  MatchesSchema, NegotiationCreateBody, NegotiationSchema, OfferBody, ReasonBody, RequestCreate, RequestSchema, ResolveBody,
} from './trading.schemas.js';

function amountField(field: string, s: string): bigint {
  const v = parseAmount(s);
  if (v <= 0n) throw new AppError('validation_failed', `${field} must be greater than zero`, { errors: [{ field, message: 'must be > 0' }] });
  return v;
}

function delegationOf(field: string, d: { strategy: string; beta?: number | undefined; reservationPrice: string; targetPrice?: string | undefined } | null | undefined): StoredDelegation | null | undefined {
  if (d === undefined || d === null) return d;
  return {
    strategy: d.strategy, ...(d.beta !== undefined ? { beta: d.beta } : {}),
    ...(d.targetPrice !== undefined ? { targetPrice: amountField(`${field}.targetPrice`, d.targetPrice).toString() } : {}),
    reservationPrice: amountField(`${field}.reservationPrice`, d.reservationPrice).toString(),
  };
}

function negotiationJson(v: NegotiationView) {
  const { row, offers, state } = v;
  return {
    id: row.id, requestId: row.request_id, listingId: row.listing_id, buyerId: row.buyer_id, sellerId: row.seller_id, status: row.status,
    turn: turnOf(state), maxRounds: row.max_rounds, roundsLeft: Math.max(0, row.max_rounds - offers.length), deadline: row.deadline.toISOString(),
    deliveryDeadline: row.delivery_deadline.toISOString(), requireSignatures: row.require_signatures,
    delegated: { buyer: row.buyer_delegation !== null, seller: row.seller_delegation !== null },
    offers: state.offers.map((o, i) => {
      const r = offers[i]!;
      return {
        seq: o.seq, by: o.by, agentId: r.by_agent, terms: termsJson(o.terms), signature: r.signature, delegated: r.delegated,
        signingPayload: offerPayload(row.id, o.seq, r.by_agent, o.terms), at: r.created_at.toISOString(),
      };
    }),
    acceptedSeq: row.accepted_seq, agreementId: row.agreement_id, endedBy: row.ended_by, endReason: row.end_reason, endedAt: iso(row.ended_at),
    createdAt: row.created_at.toISOString(),
  };
}

function matchesJson(m: MatchResult, viewer: Principal, rows: Map<string, ListingRow>) {
  return {
    requestId: m.requestId,
    candidates: m.candidates.map((c) => ({
      rank: c.rank, listingId: c.listingId, sellerId: c.sellerId, pricePerUnit: formatAmount(c.pricePerUnit), score: c.score, breakdown: c.breakdown,
      newcomer: c.newcomer, viaExploration: c.viaExploration, listing: listingJson(rows.get(c.listingId)!, viewer),
    })),
    qualified: m.qualified, qualifiedExact: m.qualifiedExact, weights: m.weights, exploration: m.exploration, diagnostics: m.diagnostics,
  };
}

function offerInput(b: { pricePerUnit?: string | undefined; quantity?: number | undefined; sla?: { availability: number; maxLatencyMs: number } | undefined; settlementType?: 'immediate' | 'escrow' | 'milestone' | undefined; signature?: string | undefined; confirmOutsideBand?: boolean | undefined }): OfferInput {
  return {
    ...(b.pricePerUnit !== undefined ? { pricePerUnit: amountField('body.pricePerUnit', b.pricePerUnit) } : {}),
    quantity: b.quantity, sla: b.sla, settlementType: b.settlementType, signature: b.signature, confirmOutsideBand: b.confirmOutsideBand,
  };
}

/** What the routes use of the trading module (TradingService has these; the routes do not import the module's assembly). */
export interface TradingRouteServices {
  market: MarketService;
  negotiations: NegotiationsService;
  agreements: AgreementsService;
}

export async function tradingRoutes(fastify: FastifyInstance, opts: { trading: TradingRouteServices }) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { market, negotiations, agreements } = opts.trading;
  const tags = ['trading'];

  // --------------------------------------------------------------------------------------- listings
  app.post('/v1/listings', {
    schema: {
      tags, summary: 'Create a listing (seller)', headers: IdemHeader, body: ListingCreate, security: AuthHeader,
      description: 'A seller\'s offer: category, specification, unit price, capacity, region, SLA and validity. With `negotiation`, the service negotiates for the seller between the listing price and a private reservation price.',
      response: { 201: ListingSchema, ...errors(400, 401, 403, 409) },
    },
    config: { auth: 'agent' },
  }, async (req, reply) => {
    const seller = requireAgent(req.principal);
    const b = req.body;
    const row = await market.createListing(seller, {
      category: b.category as ListingRow['category'] as never, spec: b.spec, unit: b.unit as never, pricePerUnit: amountField('body.pricePerUnit', b.pricePerUnit),
      capacity: b.capacity, region: b.region, sla: b.sla, validFrom: b.validFrom ? new Date(b.validFrom) : undefined, validUntil: new Date(b.validUntil),
      status: b.status, negotiation: delegationOf('body.negotiation', b.negotiation), capacityModel: b.capacityModel,
    });
    return reply.code(201).header('location', `/v1/listings/${row.id}`).send(listingJson(row, req.principal));
  });

  app.get('/v1/listings', {
    schema: { tags, summary: 'Browse listings', querystring: ListingQuery, response: { 200: Page(ListingSchema), ...errors(400) } },
    config: { auth: 'public' },
  }, async (req) => {
    const q = req.query;
    const { rows, nextCursor } = await market.listListings({ category: q.category, sellerId: q.sellerId, status: q.status, region: q.region, limit: q.limit ?? 50, cursor: q.cursor });
    return { data: rows.map((r) => listingJson(r, req.principal)), nextCursor };
  });

  app.get('/v1/listings/:id', {
    schema: { tags, summary: 'Get a listing', params: IdParams, response: { 200: ListingSchema, ...errors(400, 404) } },
    config: { auth: 'public' },
  }, async (req) => listingJson(await market.getListing(req.params.id), req.principal));

  app.patch('/v1/listings/:id', {
    schema: {
      tags, summary: 'Update a listing (price, capacity, SLA, validity, pause/resume)', params: IdParams, headers: IdemHeader, body: ListingPatchSchema, security: AuthHeader,
      description: 'Capacity cannot go below what agreements have reserved (409); a withdrawn listing cannot change (409).',
      response: { 200: ListingSchema, ...errors(400, 401, 403, 404, 409) },
    },
    config: { auth: 'authenticated' },
  }, async (req) => {
    const b = req.body;
    const row = await market.updateListing(req.principal, req.params.id, {
      pricePerUnit: b.pricePerUnit !== undefined ? amountField('body.pricePerUnit', b.pricePerUnit) : undefined, capacity: b.capacity, sla: b.sla,
      validUntil: b.validUntil ? new Date(b.validUntil) : undefined, status: b.status, negotiation: delegationOf('body.negotiation', b.negotiation),
    });
    return listingJson(row, req.principal);
  });

  app.delete('/v1/listings/:id', {
    schema: {
      tags, summary: 'Withdraw a listing', params: IdParams, headers: IdemHeader, security: AuthHeader,
      description: 'The listing leaves the market; agreements already made keep their reserved capacity.',
      response: { 200: ListingSchema, ...errors(400, 401, 403, 404) },
    },
    config: { auth: 'authenticated' },
  }, async (req) => listingJson(await market.withdrawListing(req.principal, req.params.id), req.principal));

  // --------------------------------------------------------------------------------- trade requests
  app.post('/v1/trade-requests', {
    schema: {
      tags, summary: 'Create a trade request (buyer)', headers: IdemHeader, body: RequestCreate, security: AuthHeader,
      description: 'Broadcasts the request over GET /v1/stream to the sellers whose listings match it.',
      response: { 201: RequestSchema, ...errors(400, 401, 403) },
    },
    config: { auth: 'agent' },
  }, async (req, reply) => {
    const buyer = requireAgent(req.principal);
    const b = req.body;
    const budgetMax = amountField('body.budget.max', b.budget.max);
    const { row, notified } = await market.createRequest(buyer, {
      category: b.category as never, spec: b.spec, quantity: b.quantity, budgetMin: b.budget.min !== undefined ? parseAmount(b.budget.min) : undefined, budgetMax,
      allowedRegions: b.allowedRegions, excludedRegions: b.excludedRegions, maxLatencyMs: b.maxLatencyMs, minTrustScore: b.minTrustScore,
      deadline: new Date(b.deadline), urgency: b.urgency, weights: b.weights, explorationShare: b.explorationShare, job: b.job,
      minCertificationLevel: b.minCertificationLevel,
    });
    return reply.code(201).header('location', `/v1/trade-requests/${row.id}`).send(requestJson(row, req.principal, notified.length));
  });

  app.get('/v1/trade-requests/:id', {
    schema: {
      tags, summary: 'Get a trade request', params: IdParams, security: AuthHeader,
      description: 'Any agent may read a request (sellers answer them); the budget and weights are shown to the buyer and the operator only.',
      response: { 200: RequestSchema, ...errors(400, 401, 404) },
    },
    config: { auth: 'authenticated' },
  }, async (req) => requestJson(await market.getRequest(req.params.id), req.principal));

  app.get('/v1/trade-requests/:id/matches', {
    schema: {
      tags, summary: 'Top matches of a request, with score breakdowns and diagnostics', params: IdParams, security: AuthHeader,
      querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 50, default: 5 })) }, { additionalProperties: false }),
      description: 'Hard constraints first, then a weighted score (price fit, specification fit, reputation, region/latency, capacity, SLA). ' +
        'When fewer than `limit` qualify, `diagnostics` says how many listings each constraint eliminated.',
      response: { 200: MatchesSchema, ...errors(400, 401, 403, 404) },
    },
    config: { auth: 'authenticated' },
  }, async (req) => {
    const r = await market.getRequest(req.params.id);
    if (!isOwner(req.principal, r.buyer_id)) throw new AppError('forbidden', 'only the buyer and the operator may see a request\'s matches');
    const m = await market.match(r, { limit: req.query.limit ?? 5 });
    const rows = await market.getListings(m.candidates.map((c) => c.listingId));
    return matchesJson(m, req.principal, rows);
  });

  app.post('/v1/trade-requests/:id/cancel', {
    schema: {
      tags, summary: 'Cancel an open trade request (buyer)', params: IdParams, security: AuthHeader,
      description: 'Only an open request can be cancelled; one with a live or settled agreement (`agreed`, `fulfilled`) or past its deadline answers 409 invalid_transition (cancel the agreement\'s funding instead: an unfunded agreement lapses at its funding deadline and reopens the request).',
      response: { 200: RequestSchema, ...errors(400, 401, 403, 404, 409) },
    },
    config: { auth: 'authenticated' },
  }, async (req) => requestJson(await market.cancelRequest(req.principal, req.params.id), req.principal));

  // ----------------------------------------------------------------------------------- negotiations
  app.post('/v1/negotiations', {
    schema: {
      tags, summary: 'Open a negotiation', headers: IdemHeader, body: NegotiationCreateBody, security: AuthHeader,
      description: 'The buyer (or the listing\'s seller answering a trade request) opens with an `offer`, or the buyer `delegate`s to the service. ' +
        'If the other side delegated (a listing with `negotiation` settings), the service answers at once. Offers may be signed (Ed25519, ' +
        'over `signingPayload`); to sign the opening offer, choose the negotiation `id` yourself. If the service agrees at once and the seller ' +
        'holds as many open agreements (funded, delivered, disputed) as its reward tier allows (`maxOpenAgreements`), nothing is created: 409 tier_limit.',
      response: { 201: NegotiationSchema, ...errors(400, 401, 403, 404, 409, 422) },
    },
    config: { auth: 'agent' },
  }, async (req, reply) => {
    const agentId = requireAgent(req.principal);
    const b = req.body;
    if (b.offer?.signature && !b.id) throw new AppError('validation_failed', 'a signed opening offer needs the negotiation `id` it signs', { errors: [{ field: 'body.id', message: 'is required with a signed offer' }] });
    const v = await negotiations.createNegotiation(agentId, {
      id: b.id, listingId: b.listingId, requestId: b.requestId, offer: b.offer ? offerInput(b.offer) : undefined,
      delegate: (delegationOf('body.delegate', b.delegate) ?? undefined), maxRounds: b.maxRounds,
      deadline: b.deadline ? new Date(b.deadline) : undefined, deliveryDeadline: b.deliveryDeadline ? new Date(b.deliveryDeadline) : undefined,
      reviewWindowMs: b.reviewWindowSeconds !== undefined ? b.reviewWindowSeconds * 1000 : undefined, requireSignatures: b.requireSignatures,
    });
    return reply.code(201).header('location', `/v1/negotiations/${v.row.id}`).send(negotiationJson(v));
  });

  const ListQuery = {
    agentId: Type.Optional(Uuid),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
  };
  const before = (cursor: string | undefined) => {
    const c = decodeCursor(cursor, 1);
    return c ? String(c[0]) : undefined;
  };

  app.get('/v1/negotiations', {
    schema: {
      tags, summary: 'My negotiations, newest first', security: AuthHeader,
      querystring: Type.Object({ ...ListQuery, status: Type.Optional(Type.Union(['open', 'agreed', 'rejected', 'withdrawn', 'expired'].map((x) => Type.Literal(x)))) }, { additionalProperties: false }),
      description: 'An agent sees its own (as buyer or seller); the operator sees all, or one agent\'s with `agentId`.',
      response: { 200: Page(NegotiationSchema), ...errors(400, 401, 403) },
    },
    config: { auth: 'authenticated' },
  }, async (req) => {
    const limit = req.query.limit ?? 50;
    const rows = await negotiations.listNegotiations(req.principal, { agentId: req.query.agentId, status: req.query.status, limit: limit + 1, beforeId: before(req.query.cursor) });
    const page = rows.slice(0, limit);
    return { data: page.map(negotiationJson), nextCursor: rows.length > limit ? encodeCursor([page[page.length - 1]!.row.id]) : null };
  });

  app.get('/v1/negotiations/:id', {
    schema: { tags, summary: 'Get a negotiation with its offers', params: IdParams, security: AuthHeader, response: { 200: NegotiationSchema, ...errors(400, 401, 403, 404) } },
    config: { auth: 'authenticated' },
  }, async (req) => negotiationJson(await negotiations.getNegotiation(req.principal, req.params.id)));

  app.post('/v1/negotiations/:id/offers', {
    schema: {
      tags, summary: 'Counter-offer', params: IdParams, headers: IdemHeader, body: OfferBody, security: AuthHeader,
      description: 'Only the party that did not make the last offer may counter, before the deadline and within the maximum rounds (409 otherwise). ' +
        'A delegated side that accepts the counter makes the agreement, refused with 409 tier_limit (nothing changes) while the seller holds as many ' +
        'open agreements as its reward tier allows (`maxOpenAgreements`).',
      response: { 200: NegotiationSchema, ...errors(400, 401, 403, 404, 409, 422) },
    },
    config: { auth: 'agent' },
  }, async (req) => negotiationJson(await negotiations.offer(req.principal, req.params.id, offerInput(req.body))));

  app.post('/v1/negotiations/:id/accept', {
    schema: {
      tags, summary: 'Accept the last offer: makes the agreement', params: IdParams, headers: IdemHeader, body: AcceptBody, security: AuthHeader,
      description: 'Reserves the listing\'s capacity (409 if it is gone) and creates the agreement. The signature covers the accept payload ' +
        '(`aitbc-accept/v1`, negotiation, seq, signer, blank line, the accepted offer\'s signing payload). The buyer may `fund` in the same step. ' +
        'While the seller holds as many open agreements (funded, delivered, disputed) as its reward tier allows (`maxOpenAgreements`), the accept is ' +
        'refused with 409 tier_limit (naming `max`, `open`, `tier`) and changes nothing.',
      response: { 200: Type.Object({ negotiation: NegotiationSchema, agreement: Type.Union([AgreementSchema, Type.Null()]) }), ...errors(400, 401, 403, 404, 409, 422) },
    },
    config: { auth: 'agent' },
  }, async (req) => {
    const v = await negotiations.accept(req.principal, req.params.id, { signature: req.body?.signature, fund: req.body?.fund, confirmOutsideBand: req.body?.confirmOutsideBand });
    return { negotiation: negotiationJson(v), agreement: v.agreement ? agreementJson(v.agreement) : null };
  });

  for (const action of ['reject', 'withdraw'] as const) {
    app.post(`/v1/negotiations/:id/${action}`, {
      schema: {
        tags, summary: action === 'reject' ? 'Reject the last offer (ends the negotiation)' : 'Leave the negotiation', params: IdParams, headers: IdemHeader,
        body: Type.Optional(ReasonBody), security: AuthHeader, response: { 200: NegotiationSchema, ...errors(400, 401, 403, 404, 409) },
      },
      config: { auth: 'agent' },
    }, async (req) => negotiationJson(await negotiations[action](req.principal, req.params.id, req.body?.reason)));
  }

  // ------------------------------------------------------------------------------------- agreements
  app.get('/v1/agreements', {
    schema: {
      tags, summary: 'My agreements, newest first', security: AuthHeader,
      querystring: Type.Object({
        ...ListQuery,
        role: Type.Optional(Type.Union([Type.Literal('buyer'), Type.Literal('seller')])),
        state: Type.Optional(Type.Union(['pending_funding', 'funded', 'delivered', 'disputed', 'settled', 'refunded', 'resolved', 'cancelled'].map((x) => Type.Literal(x)))),
      }, { additionalProperties: false }),
      description: 'An agent sees its own (as buyer or seller, or one `role`); the operator sees all, or one agent\'s with `agentId`.',
      response: { 200: Page(AgreementSchema), ...errors(400, 401, 403) },
    },
    config: { auth: 'authenticated' },
  }, async (req) => {
    const limit = req.query.limit ?? 50;
    const rows = await agreements.listAgreements(req.principal, { agentId: req.query.agentId, role: req.query.role, state: req.query.state, limit: limit + 1, beforeId: before(req.query.cursor) });
    const page = rows.slice(0, limit);
    return { data: page.map((a) => agreementJson(a)), nextCursor: rows.length > limit ? encodeCursor([page[page.length - 1]!.id]) : null };
  });

  app.get('/v1/agreements/:id', {
    schema: { tags, summary: 'Get an agreement with its escrow and history', params: IdParams, security: AuthHeader, response: { 200: AgreementSchema, ...errors(400, 401, 403, 404) } },
    config: { auth: 'authenticated' },
  }, async (req) => {
    const { row, escrow, events } = await agreements.getAgreement(req.principal, req.params.id);
    return agreementJson(row, { escrow, events });
  });

  app.post('/v1/agreements/:id/fund', {
    schema: {
      tags, summary: 'Fund the agreement (buyer)', params: IdParams, headers: IdemHeader, security: AuthHeader,
      description: 'Moves price x quantity from the buyer\'s wallet into the agreement\'s escrow (422 insufficient_funds). Immediate settlement pays the seller at once. ' +
        'Refused with 409 tier_limit (the agreement stays pending_funding, no money moves) while the seller holds as many open agreements ' +
        '(funded, delivered, disputed) as its reward tier allows (`maxOpenAgreements`).',
      response: { 200: AgreementSchema, ...errors(400, 401, 403, 404, 409, 422) },
    },
    config: { auth: 'agent' },
  }, async (req) => agreementJson(await agreements.fund(req.principal, req.params.id)));

  app.post('/v1/agreements/:id/deliver', {
    schema: {
      tags, summary: 'Report delivery (seller)', params: IdParams, headers: IdemHeader, body: Type.Optional(DeliverBody), security: AuthHeader,
      description: 'The seller\'s claims (usage, latency, availability, accuracy: evidence only where the buyer does not contradict them) and the ' +
        'job\'s `resultDigest`; the platform records the time from funding to this report. Starts the review window after which the escrow releases automatically.',
      response: { 200: AgreementSchema, ...errors(400, 401, 403, 404, 409) },
    },
    config: { auth: 'agent' },
  }, async (req) => agreementJson(await agreements.deliver(req.principal, req.params.id, req.body ?? {})));

  app.post('/v1/agreements/:id/confirm', {
    schema: {
      tags, summary: 'Confirm and pay (buyer)', params: IdParams, headers: IdemHeader, body: Type.Optional(ConfirmBody), security: AuthHeader,
      description: 'Releases the escrow to the seller minus the platform fee, in one linked ledger step. Milestone settlement: `amount` releases a part. ' +
        '`measurements`: what the buyer experienced (a seller claim it contradicts is recorded as disputed and not counted).',
      response: { 200: AgreementSchema, ...errors(400, 401, 403, 404, 409) },
    },
    config: { auth: 'agent' },
  }, async (req) => agreementJson(await agreements.confirm(req.principal, req.params.id, {
    amount: req.body?.amount !== undefined ? amountField('body.amount', req.body.amount) : undefined, note: req.body?.note,
    measurements: req.body?.measurements,
  })));

  app.post('/v1/agreements/:id/dispute', {
    schema: {
      tags, summary: 'Open a dispute (buyer or seller)', params: IdParams, headers: IdemHeader, body: DisputeBody, security: AuthHeader,
      description: 'Freezes the escrow (timers paused) until the operator resolves it.', response: { 200: AgreementSchema, ...errors(400, 401, 403, 404, 409) },
    },
    config: { auth: 'agent' },
  }, async (req) => agreementJson(await agreements.dispute(req.principal, req.params.id, { reason: req.body.reason, evidence: req.body.evidence, measurements: req.body.measurements })));

  app.post('/v1/agreements/:id/resolve', {
    schema: {
      tags: [...tags, 'operator'], summary: 'Resolve a dispute (operator)', params: IdParams, headers: IdemHeader, body: ResolveBody, security: AuthHeader,
      description: 'release: the seller is paid; refund: the buyer gets everything back; split: `sellerAmount` (gross, fee taken from it) to the seller, the rest back to the buyer.',
      response: { 200: AgreementSchema, ...errors(400, 401, 403, 404, 409) },
    },
    config: { auth: 'admin' },
  }, async (req) => agreementJson(await agreements.resolve(req.principal, req.params.id, {
    outcome: req.body.outcome, sellerAmount: req.body.sellerAmount !== undefined ? parseAmount(req.body.sellerAmount) : undefined, note: req.body.note,
  })));
}
