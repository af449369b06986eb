import { sql, type Kysely } from 'kysely';

/**
 * The built-in verifier (src/modules/verifier) and checkable jobs on trade requests.
 *
 * - trade_requests.job: an optional challenge job `{ workload, seed, size }` any buyer may attach (its
 *   result digest comes back with the delivery).
 * - verifier_state: one row (id 1): the verifier's two agents (the buyer that trades like anyone else,
 *   and the probe that records measurements), the claim that makes their creation happen once across
 *   processes, the operator's configuration overrides and how much of the fee share was already swept.
 * - verifier_challenges: one row per challenge bought: the seller, the trade it went through, the job
 *   and its expected digest (the verifier's secret until delivery), the amount reserved from the budget,
 *   and the result.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE trade_requests ADD COLUMN job jsonb`.execute(db);
  await sql`
    CREATE TABLE verifier_state (
      id integer PRIMARY KEY CHECK (id = 1),
      buyer_agent_id uuid REFERENCES agents (id),
      probe_agent_id uuid REFERENCES agents (id),
      claim text NOT NULL,
      claimed_at timestamptz NOT NULL,
      config jsonb NOT NULL DEFAULT '{}'::jsonb,
      fee_share_swept bigint NOT NULL DEFAULT 0 CHECK (fee_share_swept >= 0),
      updated_at timestamptz NOT NULL
    )`.execute(db);
  await sql`
    CREATE TABLE verifier_challenges (
      id uuid PRIMARY KEY,
      seller_id uuid NOT NULL REFERENCES agents (id),
      listing_id uuid NOT NULL,
      request_id uuid,
      negotiation_id uuid,
      agreement_id uuid,
      workload text NOT NULL,
      seed text NOT NULL,
      size integer NOT NULL CHECK (size > 0),
      expected_digest text NOT NULL,
      amount bigint NOT NULL CHECK (amount > 0),
      state text NOT NULL CHECK (state IN ('reserved', 'negotiating', 'funded', 'passed', 'failed', 'abandoned')),
      result jsonb,
      score_at_start integer,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      finished_at timestamptz
    )`.execute(db);
  await sql`CREATE INDEX verifier_challenges_seller_idx ON verifier_challenges (seller_id, created_at)`.execute(db);
  await sql`CREATE INDEX verifier_challenges_open_idx ON verifier_challenges (state) WHERE state IN ('reserved', 'negotiating', 'funded')`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE IF EXISTS verifier_challenges`.execute(db);
  await sql`DROP TABLE IF EXISTS verifier_state`.execute(db);
  await sql`ALTER TABLE trade_requests DROP COLUMN IF EXISTS job`.execute(db);
}
