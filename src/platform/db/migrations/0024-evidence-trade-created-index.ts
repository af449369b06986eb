import { sql, type Kysely } from 'kysely';

/**
 * reputation_evidence_trade_created_idx (reputation, read by certification's badge job): the sellers with a
 * trade outcome recorded since the job's stored marker (sellersSince). Without it each run scans the whole
 * append-only evidence table (issue 17); with it the run reads only the rows after the marker.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE INDEX reputation_evidence_trade_created_idx ON reputation_evidence (created_at, subject_id) WHERE type = 'trade'`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX IF EXISTS reputation_evidence_trade_created_idx`.execute(db);
}
