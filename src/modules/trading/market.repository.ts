/**
 * The SQL of listings and trade requests (market.service.ts) and of the market index's reads
 * (market-index.ts). A write and its stream events are one statement (the events in a CTE beside it).
 */
import { sql, type Insertable } from 'kysely';
import { PREPARE } from '../../database.js';
import { eventValues, type TradingEvent } from './trading.stream.js';
import type { TradeRequestsTable, TradingListingsTable } from './trading.tables.js';
import type { Executor, ListingRow, RequestRow } from './trading.repository.js';

type Count = string | number | bigint;

/** An agreement in one of these states traded: it counts as a seller's completed trade. */
const COMPLETED = sql`('settled', 'resolved')`;

export const marketRepository = {
  // ------------------------------------------------------------------------------------------- listings

  insertListing(db: Executor, values: Insertable<TradingListingsTable>, events: readonly TradingEvent[]): Promise<ListingRow> {
    return db.with('ev', (w) => w.insertInto('outbox_events').values(eventValues(events)))
      .insertInto('trading_listings').values(values).returningAll().executeTakeFirstOrThrow();
  },

  updateListing(db: Executor, id: string, set: Partial<Insertable<TradingListingsTable>>, events: readonly TradingEvent[]): Promise<ListingRow> {
    return db.with('ev', (w) => w.insertInto('outbox_events').values(eventValues(events)))
      .updateTable('trading_listings').set(set).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
  },

  /** The listing, locked until the end of the caller's transaction. */
  async lockListing(tx: Executor, id: string): Promise<ListingRow | undefined> {
    return (await sql<ListingRow>`SELECT * FROM trading_listings WHERE id = ${id}::uuid FOR UPDATE`.execute(tx)).rows[0];
  },

  getListing(db: Executor, id: string): Promise<ListingRow | undefined> {
    return db.selectFrom('trading_listings').selectAll().where('id', '=', id).executeTakeFirst();
  },

  async getListings(db: Executor, ids: readonly string[]): Promise<ListingRow[]> {
    return (await sql<ListingRow>`${sql.raw(PREPARE)}SELECT * FROM trading_listings WHERE id = ANY(${[...ids]}::uuid[])`.execute(db)).rows;
  },

  /** One page in id order: `limit + 1` rows, so the caller sees whether there is a next page. */
  listListings(db: Executor, q: { category?: string | undefined; sellerId?: string | undefined; status?: string | undefined; region?: string | undefined; afterId?: string | undefined; limit: number }): Promise<ListingRow[]> {
    let s = db.selectFrom('trading_listings').selectAll().orderBy('id').limit(q.limit + 1);
    if (q.category) s = s.where('category', '=', q.category);
    if (q.sellerId) s = s.where('seller_id', '=', q.sellerId);
    if (q.status) s = s.where('status', '=', q.status);
    if (q.region) s = s.where('region', '=', q.region);
    if (q.afterId) s = s.where('id', '>', q.afterId);
    return s.execute();
  },

  /** The seller's active listings valid after `now`. */
  activeListingsOf(db: Executor, sellerId: string, now: Date): Promise<ListingRow[]> {
    return db.selectFrom('trading_listings').selectAll().where('seller_id', '=', sellerId).where('status', '=', 'active')
      .where('valid_until', '>', now).execute();
  },

  /** The mean price of the active listings of each of these categories. */
  async meanActivePrices(db: Executor, categories: readonly string[]): Promise<Map<string, number>> {
    const rows = await db.selectFrom('trading_listings').select(['category', (eb) => eb.fn.avg<string | number>('price_per_unit').as('avg')])
      .where('status', '=', 'active').where('category', 'in', [...categories]).groupBy('category').execute();
    return new Map(rows.map((a) => [a.category, Number(a.avg)]));
  },

  // ------------------------------------------------------------------------------------- trade requests

  insertRequest(db: Executor, values: Insertable<TradeRequestsTable>, events: readonly TradingEvent[]): Promise<RequestRow> {
    return db.with('ev', (w) => w.insertInto('outbox_events').values(eventValues(events)))
      .insertInto('trade_requests').values(values).returningAll().executeTakeFirstOrThrow();
  },

  getRequest(db: Executor, id: string): Promise<RequestRow | undefined> {
    return db.selectFrom('trade_requests').selectAll().where('id', '=', id).executeTakeFirst();
  },

  /** The request, locked until the end of the caller's transaction. */
  async lockRequest(tx: Executor, id: string): Promise<RequestRow | undefined> {
    return (await sql<RequestRow>`SELECT * FROM trade_requests WHERE id = ${id}::uuid FOR UPDATE`.execute(tx)).rows[0];
  },

  setRequestState(db: Executor, id: string, state: string, now: Date, events: readonly TradingEvent[]): Promise<RequestRow> {
    return db.with('ev', (w) => w.insertInto('outbox_events').values(eventValues(events)))
      .updateTable('trade_requests').set({ state, updated_at: now }).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
  },

  /** Up to `limit` open requests past their deadline become expired; returns them. */
  expireRequests(db: Executor, now: Date, limit: number): Promise<{ id: string; buyer_id: string }[]> {
    return db.updateTable('trade_requests').set({ state: 'expired', updated_at: now })
      .where('id', 'in', (eb) => eb.selectFrom('trade_requests').select('id').where('state', '=', 'open').where('deadline', '<=', now).limit(limit))
      .where('state', '=', 'open').returning(['id', 'buyer_id']).execute();
  },

  // -------------------------------------------------------------------------------- the market index

  /**
   * Every listing (`since` null), or those changed at or after `since` less the ones already applied at
   * the same version (`applied`: ids and versions).
   */
  async listingsChangedSince(db: Executor, since: Date | null, applied: { ids: string[]; versions: number[] }): Promise<ListingRow[]> {
    return (await sql<ListingRow>`${sql.raw(PREPARE)}
      SELECT l.* FROM trading_listings l
      ${since ? sql`WHERE l.updated_at >= ${since}
        AND NOT EXISTS (SELECT 1 FROM unnest(${applied.ids}::uuid[], ${applied.versions}::int[]) AS k (id, version) WHERE k.id = l.id AND k.version = l.version)` : sql``}`.execute(db)).rows;
  },

  /** The completed trades of each of these sellers (agreements_seller_completed_idx). */
  async completedTrades(db: Executor, sellers: readonly string[]): Promise<{ id: string; n: Count }[]> {
    return (await sql<{ id: string; n: Count }>`${sql.raw(PREPARE)}
      SELECT s.id, (SELECT count(*) FROM agreements g WHERE g.seller_id = s.id AND g.state IN ${COMPLETED}) AS n
      FROM unnest(${[...sellers]}::uuid[]) AS s (id)`.execute(db)).rows;
  },

  /**
   * The newest agreements.updated_at and, in the same statement (one snapshot), the completed trades of
   * `sellers` and, when `changedSince` is given, of every seller with an agreement changed at or after it
   * (-Infinity: every agreement's seller). The seller ids are collected first (ARRAY); the upper bound on
   * updated_at lets the planner see a narrow range without statistics (PGlite never analyzes): an
   * agreements_updated_idx range (migration 0005).
   */
  async completedTradesChangedSince(db: Executor, sellers: readonly string[], changedSince: number | null): Promise<{ watermark: Date | null; id: string | null; n: Count | null }[]> {
    const who = changedSince === null
      ? sql`${[...sellers]}::uuid[]`
      : sql`ARRAY(SELECT unnest(${[...sellers]}::uuid[]) UNION SELECT g.seller_id FROM agreements g
          ${changedSince === -Infinity ? sql`` : sql`WHERE g.updated_at >= ${new Date(changedSince)} AND g.updated_at <= 'infinity'`})`;
    return (await sql<{ watermark: Date | null; id: string | null; n: Count | null }>`${sql.raw(PREPARE)}
      SELECT w.m AS watermark, s.id, s.n
      FROM (SELECT max(updated_at) AS m FROM agreements) w
      LEFT JOIN LATERAL (
        SELECT k.id, (SELECT count(*) FROM agreements g WHERE g.seller_id = k.id AND g.state IN ${COMPLETED}) AS n
        FROM unnest(${who}) AS k (id)
      ) s ON true`.execute(db)).rows;
  },
};
