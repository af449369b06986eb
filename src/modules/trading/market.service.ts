/**
 * Listings and trade requests, and matching a request against the market (market-index.ts: the in-memory
 * index kept in step with the database). The SQL is in market.repository.ts.
 */
import type { Database } from '../../database.js';
import type { Clock } from '../../platform/clock.js';
import { uuidFromName, uuidv7 } from '../../platform/ids.js';
import { AppError, notFound } from '../../platform/http/errors.js';
import type { Principal } from '../../platform/http/auth.js';
import { decodeCursor, encodeCursor } from '../../platform/http/pagination.js';
import { formatAmount } from '../../platform/money.js';
import type { AgentDirectory } from '../agents/agents.port.js';
import type { ReputationPort } from '../reputation/reputation.port.js';
import { levelRank, type CertificationLevels } from '../certification/certification.port.js';
import { normaliseWeights, type MatchResult, type MatchWeights } from './matching.js';
import { MarketIndex } from './market-index.js';
import { marketRepository as repo } from './market.repository.js';
import { mulberry32 } from './rng.js';
import { nextRequestState, type RequestAction, type RequestState } from './trading.states.js';
import type { Category, ListingSpec, RequestSpec, Sla, Unit, Urgency } from './trading.types.js';
import {
  jsonColumn, requestWeights, toTradeRequest, unavailableUnits, type ListingRow, type RequestRow, type StoredDelegation,
} from './trading.repository.js';
import type { TradingEvent, TradingEventBus } from './trading.stream.js';
import { checkDelegation } from './delegation.js';
import { requestJson } from './trading.json.js';

export interface ListingInput {
  category: Category;
  spec: ListingSpec;
  unit: Unit;
  pricePerUnit: bigint;
  capacity: number;
  region: string;
  sla: Sla;
  validFrom?: Date | undefined;
  validUntil: Date;
  status?: 'active' | 'paused' | undefined;
  negotiation?: StoredDelegation | null | undefined;
  /** `concurrent` (default): units come back when an agreement ends; `stock`: settled units are consumed. */
  capacityModel?: CapacityModel | undefined;
}

export type CapacityModel = 'concurrent' | 'stock';

export interface ListingPatch {
  pricePerUnit?: bigint | undefined;
  capacity?: number | undefined;
  sla?: Sla | undefined;
  validUntil?: Date | undefined;
  status?: 'active' | 'paused' | undefined;
  negotiation?: StoredDelegation | null | undefined;
}

export interface RequestInput {
  category: Category;
  spec: RequestSpec;
  quantity: number;
  budgetMin?: bigint | undefined;
  budgetMax: bigint;
  allowedRegions?: string[] | undefined;
  excludedRegions?: string[] | undefined;
  maxLatencyMs?: number | undefined;
  minTrustScore?: number | undefined;
  deadline: Date;
  urgency?: Urgency | undefined;
  weights?: Partial<MatchWeights> | undefined;
  explorationShare?: number | undefined;
  /** a checkable job (src/modules/verifier/workloads.ts) */
  job?: { workload: string; seed: string; size: number } | undefined;
  /** the seller certification level required (a hard constraint, answered by the injected CertificationLevels) */
  minCertificationLevel?: string | undefined;
}

const invalid = (field: string, message: string) => new AppError('validation_failed', `${field} ${message}`, { errors: [{ field, message }] });

function transitionError(what: string, from: string, action: string): AppError {
  return new AppError('invalid_transition', `cannot ${action} a ${what} that is ${from}`, { state: from, action });
}

function nextRequest(from: string, action: RequestAction): RequestState {
  const to = nextRequestState(from as RequestState, action);
  if (!to) throw transitionError('trade request', from, action);
  return to;
}

export class MarketService {
  /** The in-memory market this process matches against. */
  readonly marketIndex: MarketIndex;

  constructor(
    private readonly database: Database,
    private readonly clock: Clock,
    reputation: ReputationPort,
    private readonly agents: AgentDirectory,
    private readonly bus: TradingEventBus,
    private readonly certification?: CertificationLevels | undefined,
  ) {
    this.marketIndex = new MarketIndex(database, reputation, agents);
    bus.onListingsChanged(() => this.marketIndex.changed());
  }

  // ------------------------------------------------------------------------------------------- listings

  async createListing(sellerId: string, input: ListingInput, id?: string): Promise<ListingRow> {
    const now = this.clock.now();
    const validFrom = input.validFrom ?? now;
    if (input.validUntil.getTime() <= validFrom.getTime()) throw invalid('body.validUntil', 'must be after validFrom');
    if (input.validUntil.getTime() <= now.getTime()) throw invalid('body.validUntil', 'must be in the future');
    checkListingSpec(input.category, input.spec);
    await this.checkSeller(sellerId, input.category);
    if (input.negotiation) checkDelegation('seller', input.negotiation, input.pricePerUnit);
    const listingId = id ?? uuidv7(this.clock);
    const event: TradingEvent = { type: 'listing.created', agentIds: [sellerId], data: { listingId, pricePerUnit: formatAmount(input.pricePerUnit) }, at: now.toISOString() };
    // the listing and its outbox event in one statement
    const row = await repo.insertListing(this.database.db, {
      id: listingId, seller_id: sellerId, category: input.category, spec: jsonColumn(input.spec), unit: input.unit,
      price_per_unit: input.pricePerUnit, capacity_total: input.capacity, capacity_model: input.capacityModel ?? 'concurrent', region: input.region,
      sla_availability: input.sla.availability, sla_max_latency_ms: input.sla.maxLatencyMs, valid_from: validFrom,
      valid_until: input.validUntil, status: input.status ?? 'active', auto_negotiation: jsonColumn(input.negotiation ?? null),
      created_at: now, updated_at: now,
    }, [event]);
    this.bus.listingsChanged();
    this.bus.poke();
    return row;
  }

  /** Only providers (and `both`) list, and only in the categories they registered. */
  private async checkSeller(sellerId: string, category: Category): Promise<void> {
    const a = await this.agents.roleOf(sellerId);
    if (!a) throw notFound('agent', sellerId);
    if (a.type !== 'provider' && a.type !== 'both') {
      throw new AppError('forbidden', `agent ${sellerId} is registered as ${a.type}: only provider or both agents may create listings (change its type with PATCH /v1/agents/${sellerId})`, { reason: 'not_a_provider', agentType: a.type });
    }
    if (!a.categories.includes(category)) {
      const has = a.categories.length ? `one of the agent's registered categories: ${a.categories.join(', ')}` : 'a registered category, and the agent registered none';
      throw new AppError('validation_failed', `body.category must be ${has} (add ${category} with PATCH /v1/agents/${sellerId})`, {
        errors: [{ field: 'body.category', message: `must be ${has}` }], categories: a.categories,
      });
    }
  }

  async getListing(id: string): Promise<ListingRow> {
    const r = await repo.getListing(this.database.db, id);
    if (!r) throw notFound('listing', id);
    return r;
  }

  /** Several listings by id in one statement, keyed by id (404 when one is missing). */
  async getListings(ids: readonly string[]): Promise<Map<string, ListingRow>> {
    const out = new Map<string, ListingRow>();
    if (!ids.length) return out;
    for (const r of await repo.getListings(this.database.db, ids)) out.set(r.id, r);
    for (const id of ids) if (!out.has(id)) throw notFound('listing', id);
    return out;
  }

  async listListings(q: { category?: string | undefined; sellerId?: string | undefined; status?: string | undefined; region?: string | undefined; limit: number; cursor?: string | undefined }) {
    const after = decodeCursor(q.cursor, 1);
    const rows = await repo.listListings(this.database.db, {
      category: q.category, sellerId: q.sellerId, status: q.status, region: q.region, afterId: after ? String(after[0]) : undefined, limit: q.limit,
    });
    const page = rows.slice(0, q.limit);
    return { rows: page, nextCursor: rows.length > q.limit ? encodeCursor([page[page.length - 1]!.id]) : null };
  }

  async updateListing(p: Principal, id: string, patch: ListingPatch): Promise<ListingRow> {
    const now = this.clock.now();
    const row = await this.database.transaction(async (tx) => {
      const cur = await repo.lockListing(tx, id);
      if (!cur) throw notFound('listing', id);
      assertOwner(p, cur.seller_id);
      if (cur.status === 'withdrawn') throw transitionError('listing', 'withdrawn', 'update');
      if (patch.capacity !== undefined && patch.capacity < unavailableUnits(cur)) {
        const consumed = cur.capacity_consumed ? ` and ${cur.capacity_consumed} consumed by settled ones` : '';
        throw new AppError('conflict', `capacity cannot go below the ${cur.capacity_reserved} units reserved by agreements${consumed}`);
      }
      const validUntil = patch.validUntil ?? cur.valid_until;
      if (validUntil.getTime() <= cur.valid_from.getTime()) throw invalid('body.validUntil', 'must be after validFrom');
      const price = patch.pricePerUnit ?? cur.price_per_unit;
      const negotiation = patch.negotiation === undefined ? (cur.auto_negotiation as StoredDelegation | null) : patch.negotiation;
      if (negotiation) {
        // a lower price against the stored delegation: the price is what is wrong
        if (patch.negotiation === undefined && BigInt(negotiation.reservationPrice) > price) {
          throw invalid('body.pricePerUnit', `must not be below the listing's delegated reservation price ${formatAmount(BigInt(negotiation.reservationPrice))} (lower negotiation.reservationPrice too)`);
        }
        checkDelegation('seller', negotiation, price);
      }
      const status = patch.status ?? cur.status;
      const event: TradingEvent = { type: 'listing.updated', agentIds: [cur.seller_id], data: { listingId: id, status, pricePerUnit: formatAmount(price) }, at: now.toISOString() };
      return repo.updateListing(tx, id, {
        price_per_unit: price, capacity_total: patch.capacity ?? cur.capacity_total,
        sla_availability: patch.sla?.availability ?? cur.sla_availability, sla_max_latency_ms: patch.sla?.maxLatencyMs ?? cur.sla_max_latency_ms,
        valid_until: validUntil, status, auto_negotiation: jsonColumn(negotiation ?? null),
        version: cur.version + 1, updated_at: now,
      }, [event]);
    });
    this.bus.listingsChanged();
    this.bus.poke();
    return row;
  }

  async withdrawListing(p: Principal, id: string): Promise<ListingRow> {
    const now = this.clock.now();
    const event = (sellerId: string): TradingEvent => ({ type: 'listing.withdrawn', agentIds: [sellerId], data: { listingId: id }, at: now.toISOString() });
    const row = await this.database.transaction(async (tx) => {
      const cur = await repo.lockListing(tx, id);
      if (!cur) throw notFound('listing', id);
      assertOwner(p, cur.seller_id);
      if (cur.status === 'withdrawn') {
        await this.bus.append(tx, [event(cur.seller_id)]);
        return cur;
      }
      return repo.updateListing(tx, id, { status: 'withdrawn', version: cur.version + 1, updated_at: now }, [event(cur.seller_id)]);
    });
    this.bus.listingsChanged();
    this.bus.poke();
    return row;
  }

  // ----------------------------------------------------------------------------------- trade requests

  async createRequest(buyerId: string, input: RequestInput, id?: string): Promise<{ row: RequestRow; notified: string[] }> {
    const now = this.clock.now();
    if (input.deadline.getTime() <= now.getTime()) throw invalid('body.deadline', 'must be in the future');
    const budgetMin = input.budgetMin ?? 0n;
    if (budgetMin > input.budgetMax) throw invalid('body.budget.min', 'must not exceed budget.max');
    if (input.weights) {
      try { normaliseWeights(input.weights); } catch (e) { throw invalid('body.weights', (e as Error).message); }
    }
    const values = {
      id: id ?? uuidv7(this.clock), buyer_id: buyerId, category: input.category, spec: jsonColumn(input.spec), quantity: input.quantity,
      budget_min: budgetMin, budget_max: input.budgetMax, allowed_regions: input.allowedRegions ?? null,
      excluded_regions: input.excludedRegions ?? null, max_latency_ms: input.maxLatencyMs ?? null,
      min_trust_score: input.minTrustScore ?? null, deadline: input.deadline, urgency: input.urgency ?? 'normal',
      weights: jsonColumn(input.weights ?? null), exploration_share: input.explorationShare ?? 0, state: 'open', agreement_id: null,
      job: jsonColumn(input.job ?? null), min_certification_level: input.minCertificationLevel ?? null, created_at: now, updated_at: now,
    };
    // Broadcast to the sellers whose listings match (top 50 by score: the ones with a real chance). The match
    // needs only the request's values, so it runs first and the request and its events are one statement.
    const draft = { ...values, spec: input.spec, weights: input.weights ?? null, job: input.job ?? null } as unknown as RequestRow;
    let notified: string[] = [];
    const at = now.toISOString();
    const events: TradingEvent[] = [];
    try {
      const res = await this.match(draft, { limit: 50, diagnostics: 'never', exploration: false });
      notified = [...new Set(res.candidates.map((c) => c.sellerId))];
      for (const c of res.candidates) {
        events.push({
          type: 'trade_request.created', agentIds: [c.sellerId],
          data: { requestId: values.id, listingId: c.listingId, pricePerUnit: formatAmount(c.pricePerUnit), category: values.category, quantity: values.quantity, deadline: values.deadline.toISOString(), urgency: values.urgency, score: c.score },
          at,
        });
      }
    } catch {
      /* the broadcast is best effort: the request exists either way */
    }
    events.push({ type: 'trade_request.created', agentIds: [buyerId], data: { requestId: values.id, notifiedSellers: notified.length, budget: requestJson(draft, { kind: 'agent', agentId: buyerId }).budget }, at });
    const row = await repo.insertRequest(this.database.db, values, events);
    this.bus.poke();
    return { row, notified };
  }

  async getRequest(id: string): Promise<RequestRow> {
    const r = await repo.getRequest(this.database.db, id);
    if (!r) throw notFound('trade request', id);
    return r;
  }

  async cancelRequest(p: Principal, id: string): Promise<RequestRow> {
    return this.database.transaction(async (tx) => {
      const cur = await repo.lockRequest(tx, id);
      if (!cur) throw notFound('trade request', id);
      assertOwner(p, cur.buyer_id);
      const to = nextRequest(cur.state, 'cancel');
      const now = this.clock.now();
      const event: TradingEvent = { type: 'trade_request.cancelled', agentIds: [cur.buyer_id], data: { requestId: id }, at: now.toISOString() };
      return repo.setRequestState(tx, id, to, now, [event]);
    }).finally(() => this.bus.poke());
  }

  /** Top matches of a request with score breakdowns; diagnostics when fewer than `limit` qualify. */
  async match(r: RequestRow, opts: { limit?: number; diagnostics?: 'auto' | 'always' | 'never'; exploration?: boolean } = {}): Promise<MatchResult> {
    if (r.min_certification_level) return this.matchCertified(r, r.min_certification_level, opts);
    await this.marketIndex.sync();
    const share = opts.exploration === false ? 0 : r.exploration_share;
    const weights = requestWeights(r);
    return this.marketIndex.index.match(toTradeRequest(r), {
      now: this.clock.now().getTime(),
      limit: opts.limit ?? 5,
      ...(weights ? { weights } : {}),
      diagnostics: opts.diagnostics ?? 'auto',
      // Exploration draws are seeded by the request: the same request always gets the same answer.
      ...(share > 0 ? { explorationShare: share, rng: mulberry32(seedOf(r.id)) } : {}),
    });
  }

  /**
   * A match with a minimum seller certification level: the index ranks as always (no exploration slot:
   * newcomers hold no certificate), then listings of sellers below the level are removed, asking the index
   * for more ranked listings until `limit` remain or every qualifying listing was looked at. The removed
   * ones are counted in the diagnostics as `min_certification` (exact once every qualifying listing was seen).
   */
  private async matchCertified(r: RequestRow, minLevel: string, opts: { limit?: number; diagnostics?: 'auto' | 'always' | 'never' }): Promise<MatchResult> {
    await this.marketIndex.sync();
    const limit = opts.limit ?? 5;
    const need = levelRank(minLevel);
    const weights = requestWeights(r);
    const req = toTradeRequest(r);
    let fetch = Math.max(limit * 4, 20);
    for (;;) {
      const res = this.marketIndex.index.match(req, { now: this.clock.now().getTime(), limit: fetch, ...(weights ? { weights } : {}), diagnostics: 'always' });
      const levels = this.certification ? await this.certification.certificationLevelOf([...new Set(res.candidates.map((c) => c.sellerId))]) : new Map<string, string>();
      const kept = res.candidates.filter((c) => levelRank(levels.get(c.sellerId)) >= need);
      const exhausted = res.candidates.length < fetch;
      if (kept.length < limit && !exhausted) { fetch *= 4; continue; }
      const eliminated = res.candidates.length - kept.length;
      const candidates = kept.slice(0, limit).map((c, i) => ({ ...c, rank: i + 1 }));
      const qualified = res.qualified - eliminated;
      const want = opts.diagnostics ?? 'auto';
      let diagnostics: MatchResult['diagnostics'] = null;
      if (want === 'always' || (want === 'auto' && candidates.length < limit)) {
        const d = res.diagnostics!;
        const byConstraint = { ...d.byConstraint, min_certification: eliminated } as typeof d.byConstraint;
        const note = eliminated > 0 ? `${eliminated} listing(s) of sellers below certification level ${minLevel}` : '';
        diagnostics = {
          total: d.total, qualified, eliminated: d.eliminated + eliminated, byConstraint,
          message: candidates.length === 0
            ? (note ? `no match: ${note}; ${d.message}` : d.message)
            : (note ? `${d.message}; ${note}` : d.message),
        };
      }
      return {
        ...res, candidates, qualified, qualifiedExact: res.qualifiedExact && exhausted,
        exploration: { share: 0, roll: null, triggered: false, listingId: null }, diagnostics,
      };
    }
  }

  /** Expires open requests past their deadline. */
  async expireRequests(limit = 200): Promise<number> {
    const now = this.clock.now();
    const rows = await repo.expireRequests(this.database.db, now, limit);
    await this.bus.emit(rows.map((r) => ({ type: 'trade_request.expired', agentIds: [r.buyer_id], data: { requestId: r.id }, at: now.toISOString() })));
    return rows.length;
  }

  /** The agent profile's status section. */
  async profileStatus(agentId: string): Promise<Record<string, unknown>> {
    const mine = await repo.activeListingsOf(this.database.db, agentId, this.clock.now());
    const availableCapacity = mine.reduce((s, l) => s + (l.capacity_total - unavailableUnits(l)), 0);
    let priceTier: string | null = null;
    if (mine.length) {
      // Mean of the agent's prices relative to each category's mean active price.
      const cats = [...new Set(mine.map((l) => l.category))];
      const avg = await repo.meanActivePrices(this.database.db, cats);
      const ratio = mine.reduce((s, l) => s + Number(l.price_per_unit) / (avg.get(l.category) || 1), 0) / mine.length;
      priceTier = ratio < 0.85 ? 'budget' : ratio > 1.15 ? 'premium' : 'standard';
    }
    const best = mine.reduce<ListingRow | null>((b, l) => (!b || l.sla_availability > b.sla_availability ? l : b), null);
    return {
      activeListings: mine.length,
      ...(mine.length ? { availableCapacity } : {}),
      priceTier,
      ...(best ? { sla: { availability: best.sla_availability, maxLatencyMs: best.sla_max_latency_ms } } : {}),
    };
  }
}

function seedOf(id: string): number {
  return Number.parseInt(uuidFromName(`explore:${id}`).slice(0, 8), 16);
}

function assertOwner(p: Principal, ownerId: string): void {
  if (p.kind === 'admin') return;
  if (p.kind === 'agent' && p.agentId === ownerId) return;
  if (p.kind === 'anonymous') throw new AppError('unauthorized', 'an API key is required');
  throw new AppError('forbidden', 'only the owner or the operator may change this');
}

function checkListingSpec(category: Category, spec: ListingSpec): void {
  if ((category === 'gpu_compute' || category === 'training') && (!spec.gpuModel || spec.vramGb === undefined)) {
    throw invalid('body.spec', `a ${category} listing needs gpuModel and vramGb`);
  }
  if ((category === 'inference' || category === 'model_services') && !spec.modelName) {
    throw invalid('body.spec', `a ${category} listing needs modelName`);
  }
}

