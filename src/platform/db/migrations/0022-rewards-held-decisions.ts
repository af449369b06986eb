import { sql, type Kysely } from 'kysely';

/**
 * Held reward statements get an outcome (issue 16): a statement held while its agent was under risk review
 * is later released (paid to the agent, status 'released', transfer_id and paid_at set) or forfeited
 * (status 'forfeited': the amount stays in the pool and is no longer reserved), each with who decided,
 * when and why. A decided statement cannot be decided again (the CHECKs: decision fields iff decided).
 * The partial index serves the operator's list of held statements and the per-agent decision.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE rewards_statements DROP CONSTRAINT IF EXISTS rewards_statements_status_check`.execute(db);
  await sql`ALTER TABLE rewards_statements ADD CONSTRAINT rewards_statements_status_check
    CHECK (status IN ('payable', 'held', 'zero', 'paid', 'rejected', 'released', 'forfeited'))`.execute(db);
  await sql`ALTER TABLE rewards_statements ADD COLUMN decided_at timestamptz`.execute(db);
  await sql`ALTER TABLE rewards_statements ADD COLUMN decided_by text`.execute(db);
  await sql`ALTER TABLE rewards_statements ADD COLUMN decision_reason text`.execute(db);
  await sql`ALTER TABLE rewards_statements ADD CONSTRAINT rewards_statements_decision_check
    CHECK ((status IN ('released', 'forfeited')) = (decided_at IS NOT NULL AND decided_by IS NOT NULL AND decision_reason IS NOT NULL))`.execute(db);
  await sql`CREATE INDEX rewards_statements_held_idx ON rewards_statements (agent_id, epoch_id) WHERE status = 'held'`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX IF EXISTS rewards_statements_held_idx`.execute(db);
  await sql`ALTER TABLE rewards_statements DROP CONSTRAINT IF EXISTS rewards_statements_decision_check`.execute(db);
  await sql`UPDATE rewards_statements SET status = 'held' WHERE status IN ('released', 'forfeited')`.execute(db);
  await sql`ALTER TABLE rewards_statements DROP COLUMN decided_at, DROP COLUMN decided_by, DROP COLUMN decision_reason`.execute(db);
  await sql`ALTER TABLE rewards_statements DROP CONSTRAINT IF EXISTS rewards_statements_status_check`.execute(db);
  await sql`ALTER TABLE rewards_statements ADD CONSTRAINT rewards_statements_status_check CHECK (status IN ('payable', 'held', 'zero', 'paid', 'rejected'))`.execute(db);
}
