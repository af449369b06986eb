import { sql, type Kysely } from 'kysely';

/**
 * Indexes for background jobs that read only what changed since their last run, instead of whole tables:
 * the same-owner detector's account cache (agents changed since its watermark) and the market index's
 * seller refresh (sellers whose agreements changed since its watermark, and the newest change).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE INDEX agents_updated_idx ON agents (updated_at)`.execute(db);
  await sql`CREATE INDEX agreements_updated_idx ON agreements (updated_at, seller_id)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX IF EXISTS agreements_updated_idx`.execute(db);
  await sql`DROP INDEX IF EXISTS agents_updated_idx`.execute(db);
}
