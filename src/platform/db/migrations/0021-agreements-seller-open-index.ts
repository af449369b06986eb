import { sql, type Kysely } from 'kysely';

/**
 * agreements_seller_open_idx (trading): a seller's open agreements (funded, delivered or disputed: money in
 * escrow), counted whenever one of its agreements is made or funded against its reward tier's
 * maxOpenAgreements (issue 16).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE INDEX agreements_seller_open_idx ON agreements (seller_id) WHERE state IN ('funded', 'delivered', 'disputed')`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX IF EXISTS agreements_seller_open_idx`.execute(db);
}
