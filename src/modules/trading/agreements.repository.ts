/**
 * The SQL of agreements (agreements.service.ts). An agreement's change, its history event, its stream
 * events and what it does to its listing and trade request are one statement (CTEs).
 */
import { sql, type Insertable } from 'kysely';
import type { Tx } from '../ledger/ledger.port.js';
import { eventValues, type TradingEvent } from './trading.stream.js';
import type { AgreementsTable } from './trading.tables.js';
import { jsonColumn, type AgreementRow, type Executor } from './trading.repository.js';

/** A row of the agreement's history (agreement_events). */
export interface AgreementHistory {
  action: string;
  actor: string;
  detail: unknown;
  at: Date;
}

/** What the end of an agreement gives back: the listing's units, and its trade request's next state. */
export interface AgreementRelease {
  listingId: string;
  quantity: number;
  /** A stock listing's traded units become consumed; otherwise they become free again. */
  traded: boolean;
  /** The request that agreed on this agreement: its next state (`lapsed` instead once its deadline passed, when given). */
  request: { id: string; to: string; lapsed?: string | undefined; clearAgreement: boolean } | null;
}

const HISTORY_COLUMNS = ['agreement_id', 'from_state', 'to_state', 'action', 'actor', 'detail', 'at'] as const;

export const agreementsRepository = {
  /** Inserts the agreement with its first history event and `events` (one statement). */
  insert(tx: Tx, values: Insertable<AgreementsTable>, history: AgreementHistory, events: readonly TradingEvent[]): Promise<AgreementRow> {
    return tx
      .with('a', (db) => db.insertInto('agreements').values(values).returningAll())
      .with('e', (db) => db.insertInto('agreement_events').columns(HISTORY_COLUMNS)
        .expression(sql`SELECT a.id, NULL::text, a.state, ${history.action}::text, ${history.actor}::text, ${jsonColumn(history.detail ?? null)}::jsonb, ${history.at}::timestamptz FROM a`))
      .with('ev', (db) => db.insertInto('outbox_events').values(eventValues(events)))
      .selectFrom('a').selectAll().executeTakeFirstOrThrow() as Promise<AgreementRow>;
  },

  /**
   * Moves agreement `a` (`set`, version + 1), in one statement: the row update, its history event, the
   * stream `events` and, with `release`, the listing's units and the trade request.
   */
  async move(tx: Tx, a: AgreementRow, set: Record<string, unknown>, history: AgreementHistory, events: readonly TradingEvent[], release: AgreementRelease | null): Promise<AgreementRow> {
    const now = history.at;
    let q = tx
      .with('u', (db) => db.updateTable('agreements')
        .set({ ...set, ...(release ? { capacity_released: true } : {}), version: a.version + 1, updated_at: now })
        .where('id', '=', a.id).returningAll())
      .with('e', (db) => db.insertInto('agreement_events').columns(HISTORY_COLUMNS)
        .expression(sql`SELECT u.id, ${a.state}::text, u.state, ${history.action}::text, ${history.actor}::text, ${jsonColumn(history.detail ?? null)}::jsonb, ${now}::timestamptz FROM u`));
    if (events.length) q = q.with('ev', (db) => db.insertInto('outbox_events').values(eventValues(events))) as unknown as typeof q;
    if (release) {
      q = q.with('l', (db) => db.updateTable('trading_listings')
        .set({
          capacity_reserved: sql`capacity_reserved - ${release.quantity}::int`,
          capacity_consumed: release.traded ? sql`capacity_consumed + CASE WHEN capacity_model = 'stock' THEN ${release.quantity}::int ELSE 0 END` : sql`capacity_consumed`,
          version: sql`version + 1`, updated_at: now,
        })
        .where('id', '=', release.listingId)) as unknown as typeof q;
      const r = release.request;
      if (r) {
        q = q.with('r', (db) => db.updateTable('trade_requests')
          .set({
            state: r.lapsed === undefined ? r.to : sql`CASE WHEN deadline <= ${now} THEN ${r.lapsed} ELSE ${r.to} END`,
            ...(r.clearAgreement ? { agreement_id: null } : {}), updated_at: now,
          })
          .where('id', '=', r.id).where('state', '=', 'agreed').where('agreement_id', '=', a.id)) as unknown as typeof q;
      }
    }
    return (await q.selectFrom('u').selectAll().executeTakeFirstOrThrow()) as AgreementRow;
  },

  /** The agreement, locked until the end of the caller's transaction. */
  async lock(tx: Tx, id: string): Promise<AgreementRow | undefined> {
    return (await sql<AgreementRow>`SELECT * FROM agreements WHERE id = ${id}::uuid FOR UPDATE`.execute(tx)).rows[0];
  },

  /** The buyer's open agreements (funded, delivered or disputed). */
  async openCount(db: Executor, buyerId: string): Promise<number> {
    const r = await db.selectFrom('agreements').select((eb) => eb.fn.countAll<string>().as('n')).where('buyer_id', '=', buyerId)
      .where('state', 'in', ['funded', 'delivered', 'disputed']).executeTakeFirst();
    return Number(r?.n ?? 0);
  },

  /**
   * The seller's open agreements (funded, delivered or disputed); with `lock`, first a per-seller transaction
   * lock, so that two fundings of one seller's agreements at once cannot both pass its limit (PostgreSQL;
   * PGlite runs one transaction at a time). Index: agreements_seller_open_idx.
   */
  async sellerOpenCount(tx: Tx, sellerId: string, lock: boolean): Promise<number> {
    if (lock) await sql`SELECT pg_advisory_xact_lock(hashtextextended(${`trading:seller-open:${sellerId}`}, 0))`.execute(tx);
    const r = await tx.selectFrom('agreements').select((eb) => eb.fn.countAll<string>().as('n')).where('seller_id', '=', sellerId)
      .where('state', 'in', ['funded', 'delivered', 'disputed']).executeTakeFirst();
    return Number(r?.n ?? 0);
  },

  get(db: Executor, id: string): Promise<AgreementRow | undefined> {
    return db.selectFrom('agreements').selectAll().where('id', '=', id).executeTakeFirst();
  },

  history(db: Executor, id: string) {
    return db.selectFrom('agreement_events').selectAll().where('agreement_id', '=', id).orderBy('seq').execute();
  },

  /** Newest first, `limit` at the most, before `beforeId`; of one agent (as `role`, or either side) or of everyone. */
  list(db: Executor, q: { agentId?: string | undefined; role?: 'buyer' | 'seller' | undefined; state?: string | undefined; limit: number; beforeId?: string | undefined }): Promise<AgreementRow[]> {
    let s = db.selectFrom('agreements').selectAll().orderBy('id', 'desc').limit(q.limit);
    const agentId = q.agentId;
    if (agentId) {
      s = q.role === 'buyer' ? s.where('buyer_id', '=', agentId)
        : q.role === 'seller' ? s.where('seller_id', '=', agentId)
        : s.where((eb) => eb.or([eb('buyer_id', '=', agentId), eb('seller_id', '=', agentId)]));
    }
    if (q.state) s = s.where('state', '=', q.state);
    if (q.beforeId) s = s.where('id', '<', q.beforeId);
    return s.execute();
  },

  /** Agreements whose funding deadline, delivery deadline or review window has passed (`limit`, oldest change first). */
  due(db: Executor, now: Date, limit: number): Promise<{ id: string }[]> {
    return db.selectFrom('agreements').select('id').where((eb) => eb.or([
      eb.and([eb('state', '=', 'pending_funding'), eb('funding_deadline', '<=', now)]),
      eb.and([eb('state', '=', 'funded'), eb('delivery_deadline', '<=', now)]),
      eb.and([eb('state', '=', 'delivered'), eb('auto_release_at', '<=', now)]),
    ])).orderBy('updated_at').limit(limit).execute();
  },

  /** The funded, delivered and disputed agreements with their escrows (agreements_active_idx). */
  async live(db: Executor): Promise<{ id: string; escrow_id: string }[]> {
    return (await db.selectFrom('agreements').select(['id', 'escrow_id'])
      .where('state', 'in', ['funded', 'delivered', 'disputed']).where('escrow_id', 'is not', null).execute()) as { id: string; escrow_id: string }[];
  },

  /** Marks the open request agreed on `agreementId` (locks it); false when it is no longer open. */
  async agreeRequest(tx: Tx, requestId: string, state: string, agreementId: string, now: Date): Promise<boolean> {
    const done = await tx.updateTable('trade_requests').set({ state, agreement_id: agreementId, updated_at: now })
      .where('id', '=', requestId).where('state', '=', 'open').returning('id').executeTakeFirst();
    return done !== undefined;
  },

  requestState(tx: Tx, requestId: string): Promise<{ id: string; state: string }> {
    return tx.selectFrom('trade_requests').select(['id', 'state']).where('id', '=', requestId).executeTakeFirstOrThrow();
  },

  /** The stored signature of an offer, and whether the service made it. */
  offerProof(tx: Tx, negotiationId: string, seq: number): Promise<{ signature: string | null; delegated: boolean }> {
    return tx.selectFrom('negotiation_offers').select(['signature', 'delegated']).where('negotiation_id', '=', negotiationId).where('seq', '=', seq).executeTakeFirstOrThrow();
  },

  /** The agent's trade record over its agreements as buyer or seller (see `tradeRecord` in trading.module.ts). */
  async tradeRecord(db: Executor, agentId: string): Promise<{ settled: bigint; finished: bigint; opened: bigint; won: bigint; lost: bigint } | undefined> {
    return (await sql<{ settled: bigint; finished: bigint; opened: bigint; won: bigint; lost: bigint }>`
      SELECT
        count(*) FILTER (WHERE state = 'settled')::int8 AS settled,
        count(*) FILTER (WHERE state IN ('settled', 'refunded', 'resolved'))::int8 AS finished,
        count(*) FILTER (WHERE dispute->>'filedBy' = ${agentId})::int8 AS opened,
        count(*) FILTER (WHERE (resolution->>'outcome' = 'release' AND seller_id = ${agentId}::uuid)
                            OR (resolution->>'outcome' = 'refund' AND buyer_id = ${agentId}::uuid))::int8 AS won,
        count(*) FILTER (WHERE (resolution->>'outcome' = 'refund' AND seller_id = ${agentId}::uuid)
                            OR (resolution->>'outcome' = 'release' AND buyer_id = ${agentId}::uuid))::int8 AS lost
      FROM agreements WHERE seller_id = ${agentId}::uuid OR buyer_id = ${agentId}::uuid`.execute(db)).rows[0];
  },
};
