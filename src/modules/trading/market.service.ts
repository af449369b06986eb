/**
 * Listings, trade requests and matching. The market is answered from an in-memory ListingIndex kept in
 * step with the database: before each match the index loads the listings changed since its watermark
 * (minus a margin for transactions that committed late), and a job refreshes sellers' trust scores.
 * The index only ranks: capacity is re-checked under lock when an agreement is made.
 */
import { sql } from 'kysely';
import { PREPARE, type Database } from '../../platform/db/database.js';
import type { Clock } from '../../platform/clock.js';
import { uuidFromName, uuidv7 } from '../../platform/ids.js';
import { AppError, notFound } from '../../platform/http/errors.js';
import type { Principal } from '../../platform/http/auth.js';
import { decodeCursor, encodeCursor } from '../../platform/http/pagination.js';
import { formatAmount } from '../../platform/money.js';
import type { ReputationPort } from '../reputation/reputation.port.js';
import { ListingIndex, normaliseWeights, type MatchResult, type MatchWeights } from './matching.js';
import { mulberry32 } from './rng.js';
import { nextRequestState, type RequestAction, type RequestState } from './trading.states.js';
import type { Category, ListingSpec, RequestSpec, Sla, Unit, Urgency } from './trading.types.js';
import {
  json, requestWeights, toMatchListing, toTradeRequest, unavailableUnits, type ListingRow, type RequestRow, type StoredDelegation,
} from './trading.repository.js';
import { eventValues, type TradingEvent, type TradingEventBus } from './trading.stream.js';
import { delegationBoundsError, strategyOf } from './negotiations.service.js';
import { requestJson } from './trading.json.js';

/** Listings changed within this margin before the watermark are read again (late commits). */
const SYNC_MARGIN_MS = 5000;
/** On PostgreSQL, the index re-reads at least this often (real time) for other processes' changes. */
const REMOTE_SYNC_MS = 1000;

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

export const CAPACITY_MODELS = ['concurrent', 'stock'] as const;
export type CapacityModel = (typeof CAPACITY_MODELS)[number];

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
}

const invalid = (field: string, message: string) => new AppError('validation_failed', `${field} ${message}`, { errors: [{ field, message }] });

export function transitionError(what: string, from: string, action: string): AppError {
  return new AppError('invalid_transition', `cannot ${action} a ${what} that is ${from}`, { state: from, action });
}

export function nextRequest(from: string, action: RequestAction): RequestState {
  const to = nextRequestState(from as RequestState, action);
  if (!to) throw transitionError('trade request', from, action);
  return to;
}

/** The in-memory market, synchronised from the database. */
export class MarketIndex {
  readonly index = new ListingIndex();
  private watermark: number | null = null;
  private readonly trust = new Map<string, number>();
  private readonly sellerInfo = new Map<string, { createdAt: number; completedTrades: number }>();
  /**
   * The latest agreements.updated_at seen by refreshSellers (null before its first run, -Infinity when
   * there were no agreements): the next refresh re-counts only sellers with agreements changed since then
   * (less SYNC_MARGIN_MS).
   */
  private agreementsWatermark: number | null = null;
  /** Bumped whenever refreshSellers stores seller info (see doSync). */
  private infoEpoch = 0;
  /** Sellers whose info a sync read while a refresh stored newer info: the next refresh counts them again. */
  private readonly recount = new Set<string>();
  private refreshing: Promise<unknown> = Promise.resolve();
  /**
   * Listings applied to the index whose change falls within the margin of the next read (version and
   * updated_at): the read leaves them out unless their version moved, so a catch-up returns only changes.
   */
  private readonly recent = new Map<string, { version: number; at: number }>();
  private syncing: Promise<void> | null = null;
  /** Bumped when this process committed a listing change; `synced` is the generation the last sync saw. */
  private generation = 1;
  private synced = 0;
  private lastSyncAt = -Infinity;

  constructor(private readonly database: Database, private readonly reputation: ReputationPort) {}

  /** This process committed a change to listings: the next sync reads the database. */
  changed(): void {
    this.generation++;
  }

  /**
   * Brings the index up to date before a match. Reads the database only when this process committed a
   * listing change since the last sync or, on PostgreSQL (other processes may write), when the last read
   * is older than REMOTE_SYNC_MS; otherwise it is a no-op.
   */
  sync(): Promise<void> {
    if (this.generation === this.synced && !(this.database.kind === 'postgres' && performance.now() - this.lastSyncAt >= REMOTE_SYNC_MS)) {
      return this.syncing ?? Promise.resolve();
    }
    return this.load();
  }

  /** Loads listings changed since the last sync (all on the first call). Concurrent callers share one read. */
  private load(): Promise<void> {
    if (!this.syncing) {
      this.syncing = this.doSync().finally(() => {
        this.syncing = null;
      });
    }
    return this.syncing;
  }

  private async doSync(): Promise<void> {
    const gen = this.generation;
    const epoch = this.infoEpoch;
    this.lastSyncAt = performance.now();
    const since = this.watermark === null ? null : new Date(this.watermark - SYNC_MARGIN_MS);
    if (since) for (const [id, r] of this.recent) if (r.at < since.getTime()) this.recent.delete(id);
    const ids = [...this.recent.keys()];
    const versions = ids.map((id) => this.recent.get(id)!.version);
    // the listings changed since the watermark (less those already applied at the same version); sellers'
    // creation time and completed trades are read below only for sellers not known yet (refreshSellers
    // keeps the known ones current), since counting a busy seller's agreements on every sync grows with them
    const rows = (await sql<ListingRow>`${sql.raw(PREPARE)}
      SELECT l.* FROM trading_listings l
      ${since ? sql`WHERE l.updated_at >= ${since}
        AND NOT EXISTS (SELECT 1 FROM unnest(${ids}::uuid[], ${versions}::int[]) AS k (id, version) WHERE k.id = l.id AND k.version = l.version)` : sql``}`.execute(this.database.db)).rows;
    this.synced = gen;
    let max = this.watermark ?? 0;
    for (const r of rows) max = Math.max(max, r.updated_at.getTime());
    this.watermark = max;
    if (rows.length === 0) return;
    const unknown = [...new Set(rows.map((r) => r.seller_id))].filter((s) => !this.trust.has(s));
    if (unknown.length) {
      const scores = await this.reputation.trustScores(unknown);
      for (const s of unknown) this.trust.set(s, scores.get(s) ?? 0);
    }
    const newSellers = [...new Set(rows.map((r) => r.seller_id))].filter((id) => !this.sellerInfo.has(id));
    if (newSellers.length) {
      const info = (await sql<{ id: string; created_at: Date; n: string | number | bigint }>`${sql.raw(PREPARE)}
        SELECT a.id, a.created_at, (SELECT count(*) FROM agreements g WHERE g.seller_id = a.id AND g.state IN ('settled', 'resolved')) AS n
        FROM agents a WHERE a.id = ANY(${newSellers}::uuid[])`.execute(this.database.db)).rows;
      // a refresh that stored seller info while this read was in flight may have read a later state: keep
      // its info, and have the next refresh count the sellers this read is the only source for
      const raced = epoch !== this.infoEpoch;
      for (const a of info) {
        if (raced) {
          if (this.sellerInfo.has(a.id)) continue;
          this.recount.add(a.id);
        }
        this.sellerInfo.set(a.id, { createdAt: a.created_at.getTime(), completedTrades: Number(a.n) });
      }
    }
    const floor = max - SYNC_MARGIN_MS;
    for (const row of rows) {
      if (row.status === 'withdrawn') this.index.remove(row.id);
      else this.index.upsert(this.listingOf(row));
      const at = row.updated_at.getTime();
      if (at >= floor) this.recent.set(row.id, { version: row.version, at });
    }
  }

  /**
   * Loads the creation time and completed trades of `sellers` and, once there is a watermark, of every
   * seller with an agreement changed since it (less SYNC_MARGIN_MS), in one statement that also reads the
   * new watermark (agreements_updated_idx, migration 0005). A change not read here commits after this
   * statement's snapshot, so it is stamped at most the margin before the new watermark: the next call
   * re-counts its seller.
   */
  private async loadSellerInfo(sellers: string[]): Promise<void> {
    const wm = this.agreementsWatermark;
    if (wm === null && !sellers.length) return;
    // no watermark: these sellers; no agreements at the last read: every agreement's seller. The ids are
    // collected first (ARRAY), so agents are read by primary key; the upper bound on updated_at lets the
    // planner see a narrow range without statistics (PGlite never analyzes): an agreements_updated_idx range
    const who = wm === null
      ? sql`a.id = ANY(${sellers}::uuid[])`
      : sql`a.id = ANY(ARRAY(SELECT unnest(${sellers}::uuid[]) UNION SELECT g.seller_id FROM agreements g
          ${wm === -Infinity ? sql`` : sql`WHERE g.updated_at >= ${new Date(wm - SYNC_MARGIN_MS)} AND g.updated_at <= 'infinity'`}))`;
    const rows = (await sql<{ watermark: Date | null; id: string | null; created_at: Date | null; n: string | number | bigint | null }>`${sql.raw(PREPARE)}
      SELECT w.m AS watermark, s.id, s.created_at, s.n
      FROM (SELECT max(updated_at) AS m FROM agreements) w
      LEFT JOIN LATERAL (
        SELECT a.id, a.created_at,
          (SELECT count(*) FROM agreements g WHERE g.seller_id = a.id AND g.state IN ('settled', 'resolved')) AS n
        FROM agents a WHERE ${who}
      ) s ON true`.execute(this.database.db)).rows;
    this.infoEpoch++;
    for (const a of rows) {
      if (a.id !== null && a.created_at !== null) this.sellerInfo.set(a.id, { createdAt: a.created_at.getTime(), completedTrades: Number(a.n) });
    }
    const m = rows[0]?.watermark ?? null;
    this.agreementsWatermark = Math.max(this.agreementsWatermark ?? -Infinity, m === null ? -Infinity : m.getTime());
  }

  private listingOf(r: ListingRow) {
    const info = this.sellerInfo.get(r.seller_id);
    return toMatchListing(r, { trust: this.trust.get(r.seller_id) ?? 0, createdAt: info?.createdAt ?? 0, completedTrades: info?.completedTrades });
  }

  /**
   * Re-reads every indexed seller's trust score (in memory) and the completed trades of the sellers whose
   * agreements changed since the last refresh (all indexed sellers on the first run, and sellers seen for
   * the first time); re-indexes listings whose seller changed. Serialised: one refresh at a time.
   */
  refreshSellers(): Promise<number> {
    const p = this.refreshing.then(() => this.doRefreshSellers());
    this.refreshing = p.catch(() => undefined);
    return p;
  }

  private async doRefreshSellers(): Promise<number> {
    await this.sync();
    const sellers = [...new Set([...this.index.listings()].map((l) => l.sellerId))];
    if (!sellers.length) return 0;
    const scores = await this.reputation.trustScores(sellers);
    const recount = new Set(this.recount);
    this.recount.clear();
    try {
      await this.loadSellerInfo(this.agreementsWatermark === null ? sellers : sellers.filter((s) => !this.sellerInfo.has(s) || recount.has(s)));
    } catch (err) {
      for (const s of recount) this.recount.add(s);
      throw err;
    }
    let changed = 0;
    for (const l of [...this.index.listings()]) {
      const trust = scores.get(l.sellerId) ?? 0;
      const info = this.sellerInfo.get(l.sellerId);
      this.trust.set(l.sellerId, trust);
      if (l.sellerTrust !== trust || (info && l.sellerCompletedTrades !== info.completedTrades)) {
        this.index.upsert({ ...l, sellerTrust: trust, ...(info ? { sellerCompletedTrades: info.completedTrades } : {}) });
        changed++;
      }
    }
    return changed;
  }

  trustOf(sellerId: string): number {
    return this.trust.get(sellerId) ?? 0;
  }
}

export class MarketService {
  readonly market: MarketIndex;

  constructor(
    private readonly database: Database,
    private readonly clock: Clock,
    reputation: ReputationPort,
    private readonly bus: TradingEventBus,
  ) {
    this.market = new MarketIndex(database, reputation);
    bus.onListingsChanged(() => this.market.changed());
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
    const row = await this.database.db.with('ev', (db) => db.insertInto('outbox_events').values(eventValues([event]))).insertInto('trading_listings').values({
      id: listingId, seller_id: sellerId, category: input.category, spec: json(input.spec), unit: input.unit,
      price_per_unit: input.pricePerUnit, capacity_total: input.capacity, capacity_model: input.capacityModel ?? 'concurrent', region: input.region,
      sla_availability: input.sla.availability, sla_max_latency_ms: input.sla.maxLatencyMs, valid_from: validFrom,
      valid_until: input.validUntil, status: input.status ?? 'active', auto_negotiation: json(input.negotiation ?? null),
      created_at: now, updated_at: now,
    }).returningAll().executeTakeFirstOrThrow();
    this.bus.listingsChanged();
    this.bus.poke();
    return row;
  }

  /** Only providers (and `both`) list, and only in the categories they registered. */
  private async checkSeller(sellerId: string, category: Category): Promise<void> {
    const a = await this.database.db.selectFrom('agents').select(['type', 'categories']).where('id', '=', sellerId).executeTakeFirst();
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
    const r = await this.database.db.selectFrom('trading_listings').selectAll().where('id', '=', id).executeTakeFirst();
    if (!r) throw notFound('listing', id);
    return r;
  }

  /** Several listings by id in one statement, keyed by id (404 when one is missing). */
  async getListings(ids: readonly string[]): Promise<Map<string, ListingRow>> {
    const out = new Map<string, ListingRow>();
    if (!ids.length) return out;
    const rows = (await sql<ListingRow>`${sql.raw(PREPARE)}SELECT * FROM trading_listings WHERE id = ANY(${[...ids]}::uuid[])`.execute(this.database.db)).rows;
    for (const r of rows) out.set(r.id, r);
    for (const id of ids) if (!out.has(id)) throw notFound('listing', id);
    return out;
  }

  async listListings(q: { category?: string | undefined; sellerId?: string | undefined; status?: string | undefined; region?: string | undefined; limit: number; cursor?: string | undefined }) {
    const after = decodeCursor(q.cursor, 1);
    let s = this.database.db.selectFrom('trading_listings').selectAll().orderBy('id').limit(q.limit + 1);
    if (q.category) s = s.where('category', '=', q.category);
    if (q.sellerId) s = s.where('seller_id', '=', q.sellerId);
    if (q.status) s = s.where('status', '=', q.status);
    if (q.region) s = s.where('region', '=', q.region);
    if (after) s = s.where('id', '>', String(after[0]));
    const rows = await s.execute();
    const page = rows.slice(0, q.limit);
    return { rows: page, nextCursor: rows.length > q.limit ? encodeCursor([page[page.length - 1]!.id]) : null };
  }

  async updateListing(p: Principal, id: string, patch: ListingPatch): Promise<ListingRow> {
    const now = this.clock.now();
    const row = await this.database.transaction(async (tx) => {
      const cur = (await sql<ListingRow>`SELECT * FROM trading_listings WHERE id = ${id}::uuid FOR UPDATE`.execute(tx)).rows[0];
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
      return tx.with('ev', (db) => db.insertInto('outbox_events').values(eventValues([event]))).updateTable('trading_listings').set({
        price_per_unit: price, capacity_total: patch.capacity ?? cur.capacity_total,
        sla_availability: patch.sla?.availability ?? cur.sla_availability, sla_max_latency_ms: patch.sla?.maxLatencyMs ?? cur.sla_max_latency_ms,
        valid_until: validUntil, status, auto_negotiation: json(negotiation ?? null),
        version: cur.version + 1, updated_at: now,
      }).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
    });
    this.bus.listingsChanged();
    this.bus.poke();
    return row;
  }

  async withdrawListing(p: Principal, id: string): Promise<ListingRow> {
    const now = this.clock.now();
    const event = (sellerId: string): TradingEvent => ({ type: 'listing.withdrawn', agentIds: [sellerId], data: { listingId: id }, at: now.toISOString() });
    const row = await this.database.transaction(async (tx) => {
      const cur = (await sql<ListingRow>`SELECT * FROM trading_listings WHERE id = ${id}::uuid FOR UPDATE`.execute(tx)).rows[0];
      if (!cur) throw notFound('listing', id);
      assertOwner(p, cur.seller_id);
      if (cur.status === 'withdrawn') {
        await this.bus.append(tx, [event(cur.seller_id)]);
        return cur;
      }
      return tx.with('ev', (db) => db.insertInto('outbox_events').values(eventValues([event(cur.seller_id)])))
        .updateTable('trading_listings').set({ status: 'withdrawn', version: cur.version + 1, updated_at: now })
        .where('id', '=', id).returningAll().executeTakeFirstOrThrow();
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
      id: id ?? uuidv7(this.clock), buyer_id: buyerId, category: input.category, spec: json(input.spec), quantity: input.quantity,
      budget_min: budgetMin, budget_max: input.budgetMax, allowed_regions: input.allowedRegions ?? null,
      excluded_regions: input.excludedRegions ?? null, max_latency_ms: input.maxLatencyMs ?? null,
      min_trust_score: input.minTrustScore ?? null, deadline: input.deadline, urgency: input.urgency ?? 'normal',
      weights: json(input.weights ?? null), exploration_share: input.explorationShare ?? 0, state: 'open', agreement_id: null,
      job: json(input.job ?? null), created_at: now, updated_at: now,
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
    const row = await this.database.db.with('ev', (db) => db.insertInto('outbox_events').values(eventValues(events)))
      .insertInto('trade_requests').values(values).returningAll().executeTakeFirstOrThrow();
    this.bus.poke();
    return { row, notified };
  }

  async getRequest(id: string): Promise<RequestRow> {
    const r = await this.database.db.selectFrom('trade_requests').selectAll().where('id', '=', id).executeTakeFirst();
    if (!r) throw notFound('trade request', id);
    return r;
  }

  async cancelRequest(p: Principal, id: string): Promise<RequestRow> {
    return this.database.transaction(async (tx) => {
      const cur = (await sql<RequestRow>`SELECT * FROM trade_requests WHERE id = ${id}::uuid FOR UPDATE`.execute(tx)).rows[0];
      if (!cur) throw notFound('trade request', id);
      assertOwner(p, cur.buyer_id);
      const to = nextRequest(cur.state, 'cancel');
      const now = this.clock.now();
      const event: TradingEvent = { type: 'trade_request.cancelled', agentIds: [cur.buyer_id], data: { requestId: id }, at: now.toISOString() };
      return tx.with('ev', (db) => db.insertInto('outbox_events').values(eventValues([event])))
        .updateTable('trade_requests').set({ state: to, updated_at: now }).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
    }).finally(() => this.bus.poke());
  }

  /** Top matches of a request with score breakdowns; diagnostics when fewer than `limit` qualify. */
  async match(r: RequestRow, opts: { limit?: number; diagnostics?: 'auto' | 'always' | 'never'; exploration?: boolean } = {}): Promise<MatchResult> {
    await this.market.sync();
    const share = opts.exploration === false ? 0 : r.exploration_share;
    const weights = requestWeights(r);
    return this.market.index.match(toTradeRequest(r), {
      now: this.clock.now().getTime(),
      limit: opts.limit ?? 5,
      ...(weights ? { weights } : {}),
      diagnostics: opts.diagnostics ?? 'auto',
      // Exploration draws are seeded by the request: the same request always gets the same answer.
      ...(share > 0 ? { explorationShare: share, rng: mulberry32(seedOf(r.id)) } : {}),
    });
  }

  /** Expires open requests past their deadline. */
  async expireRequests(limit = 200): Promise<number> {
    const now = this.clock.now();
    const rows = await this.database.db.updateTable('trade_requests').set({ state: 'expired', updated_at: now })
      .where('id', 'in', (eb) => eb.selectFrom('trade_requests').select('id').where('state', '=', 'open').where('deadline', '<=', now).limit(limit))
      .where('state', '=', 'open').returning(['id', 'buyer_id']).execute();
    await this.bus.emit(rows.map((r) => ({ type: 'trade_request.expired', agentIds: [r.buyer_id], data: { requestId: r.id }, at: now.toISOString() })));
    return rows.length;
  }

  /** The agent profile's status section. */
  async profileStatus(agentId: string): Promise<Record<string, unknown>> {
    const db = this.database.db;
    const now = this.clock.now();
    const mine = await db.selectFrom('trading_listings').selectAll().where('seller_id', '=', agentId).where('status', '=', 'active')
      .where('valid_until', '>', now).execute();
    const availableCapacity = mine.reduce((s, l) => s + (l.capacity_total - unavailableUnits(l)), 0);
    let priceTier: string | null = null;
    if (mine.length) {
      // Mean of the agent's prices relative to each category's mean active price.
      const cats = [...new Set(mine.map((l) => l.category))];
      const avgs = await db.selectFrom('trading_listings').select(['category', (eb) => eb.fn.avg<string | number>('price_per_unit').as('avg')])
        .where('status', '=', 'active').where('category', 'in', cats).groupBy('category').execute();
      const avg = new Map(avgs.map((a) => [a.category, Number(a.avg)]));
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

/**
 * A delegation must make sense before the service negotiates with it: a seller opens at its listing price
 * and concedes down to its reservation (so reservation <= price), a buyer opens at its target and concedes
 * up to its reservation (so target <= reservation). Otherwise 400 naming the field.
 */
export function checkDelegation(role: 'buyer' | 'seller', d: StoredDelegation, defaultTarget: bigint): void {
  const bad = delegationBoundsError(role, d, defaultTarget);
  if (bad) throw invalid(bad.field, bad.message);
  try {
    strategyOf(role, d, defaultTarget);
  } catch (e) {
    throw invalid(role === 'seller' ? 'body.negotiation' : 'body.delegate', (e as Error).message);
  }
}
