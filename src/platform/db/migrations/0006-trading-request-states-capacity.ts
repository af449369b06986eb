import { sql, type Kysely } from 'kysely';

/**
 * Trade request states that say what happened, and listing capacity models (docs/decisions.md, "Request
 * states and capacity models").
 *
 * - trade_requests.state gains `agreed` (an agreement exists and is live); `fulfilled` now means that
 *   agreement settled. Rows written as `fulfilled` before are re-derived from their agreement.
 * - trading_listings.capacity_model: `concurrent` (units held while an agreement is live, back when it ends:
 *   the default, e.g. GPUs) or `stock` (units sold are consumed: `capacity_consumed`).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE trade_requests DROP CONSTRAINT IF EXISTS trade_requests_state_check`.execute(db);
  await sql`ALTER TABLE trade_requests ADD CONSTRAINT trade_requests_state_check
    CHECK (state IN ('open', 'agreed', 'fulfilled', 'cancelled', 'expired'))`.execute(db);
  await sql`
    UPDATE trade_requests r SET state = CASE
        WHEN a.state = 'settled' OR (a.state = 'resolved' AND coalesce(a.resolution->>'outcome', '') <> 'refund') THEN 'fulfilled'
        WHEN a.state IN ('pending_funding', 'funded', 'delivered', 'disputed') THEN 'agreed'
        WHEN r.deadline <= now() THEN 'expired'
        ELSE 'open' END,
      agreement_id = CASE WHEN a.state IN ('cancelled', 'refunded') OR (a.state = 'resolved' AND a.resolution->>'outcome' = 'refund') THEN NULL ELSE r.agreement_id END
    FROM agreements a WHERE a.id = r.agreement_id AND r.state = 'fulfilled'`.execute(db);
  await sql`ALTER TABLE trading_listings
    ADD COLUMN capacity_model text NOT NULL DEFAULT 'concurrent' CHECK (capacity_model IN ('concurrent', 'stock')),
    ADD COLUMN capacity_consumed integer NOT NULL DEFAULT 0 CHECK (capacity_consumed >= 0),
    ADD CONSTRAINT trading_listings_capacity_check CHECK (capacity_reserved + capacity_consumed <= capacity_total)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE trading_listings DROP CONSTRAINT IF EXISTS trading_listings_capacity_check,
    DROP COLUMN IF EXISTS capacity_consumed, DROP COLUMN IF EXISTS capacity_model`.execute(db);
  await sql`UPDATE trade_requests SET state = 'fulfilled' WHERE state = 'agreed'`.execute(db);
  await sql`ALTER TABLE trade_requests DROP CONSTRAINT IF EXISTS trade_requests_state_check`.execute(db);
  await sql`ALTER TABLE trade_requests ADD CONSTRAINT trade_requests_state_check
    CHECK (state IN ('open', 'fulfilled', 'cancelled', 'expired'))`.execute(db);
}
