/**
 * The SQL of negotiations and their offers (negotiations.service.ts), and the listing reads and the
 * capacity reservation a negotiation's moves make.
 */
import { sql, type Insertable, type QueryCreator, type Updateable } from 'kysely';
import type { DB } from '../../database.js';
import { PREPARE } from '../../database.js';
import type { Tx } from '../ledger/ledger.port.js';
import type { NegotiationsTable } from './trading.tables.js';
import type { AgreementRow, Executor, ListingRow, NegotiationRow, OfferRow, RequestRow } from './trading.repository.js';

/** The request's columns, prefixed `r__`, beside a listing's in one row. */
const REQUEST_COLUMNS = (['id', 'buyer_id', 'category', 'spec', 'quantity', 'budget_min', 'budget_max', 'allowed_regions', 'excluded_regions', 'max_latency_ms', 'min_trust_score', 'deadline', 'urgency', 'weights', 'exploration_share', 'state', 'agreement_id', 'created_at', 'updated_at'] as const).map((c) => `r.${c} AS r__${c}`).join(', ');
type Prefixed<T> = { [K in keyof T & string as `r__${K}`]: T[K] | null };
type Found = ListingRow & { taken?: boolean } & Prefixed<RequestRow>;

/** The listing (undefined when its columns are null: no such listing) and the request of one joined row. */
function splitFound(found: Found): { listing: ListingRow | undefined; request: RequestRow | undefined } {
  const listing: Record<string, unknown> = {};
  const request: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(found)) {
    if (k.startsWith('r__')) request[k.slice(3)] = v;
    else if (k !== 'taken') listing[k] = v;
  }
  return {
    listing: listing['id'] === null ? undefined : listing as unknown as ListingRow,
    request: request['id'] === null ? undefined : request as unknown as RequestRow,
  };
}

export const negotiationsRepository = {
  get(db: Executor, id: string): Promise<NegotiationRow | undefined> {
    return db.selectFrom('negotiations').selectAll().where('id', '=', id).executeTakeFirst();
  },

  /** The negotiation, locked until the end of the caller's transaction. */
  async lock(tx: Tx, id: string): Promise<NegotiationRow | undefined> {
    return (await sql<NegotiationRow>`SELECT * FROM negotiations WHERE id = ${id}::uuid FOR UPDATE`.execute(tx)).rows[0];
  },

  /** Whether negotiation `id` exists, the listing and the request (when given), in one statement. */
  async findForOpening(tx: Tx, id: string, listingId: string, requestId: string | undefined): Promise<{ taken: boolean; listing: ListingRow | undefined; request: RequestRow | undefined }> {
    const found = (await sql<Found & { taken: boolean }>`${sql.raw(PREPARE)}
      SELECT EXISTS (SELECT 1 FROM negotiations WHERE id = ${id}::uuid) AS taken, l.*, ${sql.raw(REQUEST_COLUMNS)}
      FROM (SELECT 1) AS one LEFT JOIN trading_listings l ON l.id = ${listingId}::uuid
      LEFT JOIN trade_requests r ON r.id = ${requestId ?? null}::uuid`.execute(tx)).rows[0]!;
    return { taken: found.taken, ...splitFound(found) };
  },

  /** The negotiation's listing and request, in one statement. */
  async findForMove(tx: Tx, row: NegotiationRow): Promise<{ listing: ListingRow | undefined; request: RequestRow | undefined }> {
    const found = (await sql<Found>`${sql.raw(PREPARE)}
      SELECT l.*, ${sql.raw(REQUEST_COLUMNS)}
      FROM trading_listings l LEFT JOIN trade_requests r ON r.id = ${row.request_id}::uuid
      WHERE l.id = ${row.listing_id}::uuid`.execute(tx)).rows[0];
    return found ? splitFound(found) : { listing: undefined, request: undefined };
  },

  insert(tx: Tx, values: Insertable<NegotiationsTable>): Promise<NegotiationRow> {
    return tx.insertInto('negotiations').values(values).returningAll().executeTakeFirstOrThrow();
  },

  /** Ends the negotiation (`set`, version + 1) and writes `offers` in the same statement. */
  end(tx: Tx, id: string, set: Updateable<NegotiationsTable>, offers: OfferRow[]): Promise<NegotiationRow> {
    const db: QueryCreator<DB> = offers.length ? tx.with('o', (w) => w.insertInto('negotiation_offers').values(offers)) as unknown as QueryCreator<DB> : tx;
    return db.updateTable('negotiations').set({ ...set, version: sql`version + 1` }).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
  },

  expire(tx: Tx, id: string, status: string, version: number, now: Date): Promise<unknown> {
    return tx.updateTable('negotiations').set({ status, ended_at: now, end_reason: 'deadline', version, updated_at: now }).where('id', '=', id).execute();
  },

  /** Open negotiations past their deadline, earliest first. */
  due(db: Executor, now: Date, limit: number): Promise<{ id: string }[]> {
    return db.selectFrom('negotiations').select('id').where('status', '=', 'open').where('deadline', '<=', now).orderBy('deadline').limit(limit).execute();
  },

  /** Newest first, `limit` at the most, before `beforeId`; of one agent (either side) or of everyone. */
  list(db: Executor, q: { agentId?: string | undefined; status?: string | undefined; limit: number; beforeId?: string | undefined }): Promise<NegotiationRow[]> {
    let s = db.selectFrom('negotiations').selectAll().orderBy('id', 'desc').limit(q.limit);
    const agentId = q.agentId;
    if (agentId) s = s.where((eb) => eb.or([eb('buyer_id', '=', agentId), eb('seller_id', '=', agentId)]));
    if (q.status) s = s.where('status', '=', q.status);
    if (q.beforeId) s = s.where('id', '<', q.beforeId);
    return s.execute();
  },

  /** The offers of these negotiations, by negotiation and seq. */
  async offersOf(db: Executor, negotiationIds: readonly string[]): Promise<OfferRow[]> {
    if (!negotiationIds.length) return [];
    return db.selectFrom('negotiation_offers').selectAll().where('negotiation_id', 'in', [...negotiationIds]).orderBy('negotiation_id').orderBy('seq').execute();
  },

  /** Writes offers (one statement; none: nothing). */
  async insertOffers(tx: Tx, offers: OfferRow[]): Promise<void> {
    if (offers.length) await tx.insertInto('negotiation_offers').values(offers).execute();
  },

  agreementOf(db: Executor, negotiationId: string): Promise<AgreementRow | undefined> {
    return db.selectFrom('agreements').selectAll().where('negotiation_id', '=', negotiationId).executeTakeFirst();
  },

  /** Reserves capacity with one conditional update (no oversell under any concurrency); false when there is none. */
  async reserveCapacity(tx: Tx, listingId: string, quantity: number, now: Date): Promise<boolean> {
    const r = await sql<{ id: string }>`
      UPDATE trading_listings SET capacity_reserved = capacity_reserved + ${quantity}, version = version + 1, updated_at = ${now}
      WHERE id = ${listingId}::uuid AND status = 'active' AND valid_until > ${now} AND capacity_total - capacity_reserved - capacity_consumed >= ${quantity}
      RETURNING id`.execute(tx);
    return r.rows.length === 1;
  },

  listingAvailability(tx: Tx, listingId: string): Promise<{ status: string; valid_until: Date }> {
    return tx.selectFrom('trading_listings').select(['status', 'valid_until']).where('id', '=', listingId).executeTakeFirstOrThrow();
  },
};
