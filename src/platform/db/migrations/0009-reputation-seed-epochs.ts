import { sql, type Kysely } from 'kysely';

/**
 * Reputation evidence gains two kinds: `funding` (the value an agent's wallet brought in from outside,
 * the seed of global trust when no probes are configured) and `epoch` (a global-trust epoch run at that
 * time, by the operator or the hourly job). An epoch is about no agent, so `subject_id` may be null.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE reputation_evidence DROP CONSTRAINT reputation_evidence_type_check`.execute(db);
  await sql`
    ALTER TABLE reputation_evidence ADD CONSTRAINT reputation_evidence_type_check
    CHECK (type IN ('trade', 'probe', 'rating', 'community', 'reliability', 'dispute', 'same_owner', 'funding', 'epoch'))`.execute(db);
  await sql`ALTER TABLE reputation_evidence ALTER COLUMN subject_id DROP NOT NULL`.execute(db);
  await sql`
    ALTER TABLE reputation_evidence ADD CONSTRAINT reputation_evidence_subject_check
    CHECK ((subject_id IS NULL) = (type = 'epoch'))`.execute(db);
}
