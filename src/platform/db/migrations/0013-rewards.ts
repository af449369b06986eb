import { sql, type Kysely } from 'kysely';

/**
 * Rewards (src/modules/rewards): versioned programs, epochs (one row each, with the budget, the pool
 * balance at close and the totals), one statement per agent and epoch (every factor, the amount, the
 * ledger transfer that paid it), each agent's tier as of the latest close (fee discounts at settlement),
 * royalty recipients of listings, and referrals. The money itself is on the ledger (system:rewards).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE rewards_programs (
      id text NOT NULL,
      version int NOT NULL,
      config jsonb NOT NULL,
      created_at timestamptz NOT NULL,
      PRIMARY KEY (id, version)
    )`.execute(db);
  await sql`
    CREATE TABLE rewards_epochs (
      id uuid PRIMARY KEY,
      program_id text NOT NULL,
      program_version int NOT NULL,
      number int NOT NULL,
      starts_at timestamptz NOT NULL,
      ends_at timestamptz NOT NULL,
      status text NOT NULL CHECK (status IN ('open', 'closed', 'distributed')),
      pool_balance bigint,
      budget bigint,
      demand bigint,
      paid bigint,
      held bigint,
      capped bigint,
      remainder_units bigint,
      scale_ppm bigint,
      agents int,
      closed_at timestamptz,
      distributed_at timestamptz,
      UNIQUE (program_id, number)
    )`.execute(db);
  await sql`CREATE INDEX rewards_epochs_status_idx ON rewards_epochs (status, ends_at)`.execute(db);
  await sql`
    CREATE TABLE rewards_statements (
      epoch_id uuid NOT NULL REFERENCES rewards_epochs (id),
      agent_id uuid NOT NULL,
      amount bigint NOT NULL CHECK (amount >= 0),
      status text NOT NULL CHECK (status IN ('payable', 'held', 'zero', 'paid', 'rejected')),
      tier text NOT NULL,
      trust int NOT NULL,
      detail jsonb NOT NULL,
      transfer_id uuid,
      paid_at timestamptz,
      PRIMARY KEY (epoch_id, agent_id)
    )`.execute(db);
  await sql`CREATE INDEX rewards_statements_agent_idx ON rewards_statements (agent_id, epoch_id)`.execute(db);
  await sql`CREATE INDEX rewards_statements_unpaid_idx ON rewards_statements (epoch_id) WHERE status = 'payable'`.execute(db);
  await sql`
    CREATE TABLE rewards_agent_tiers (
      agent_id uuid PRIMARY KEY,
      tier text NOT NULL,
      trust int NOT NULL,
      epoch_id uuid NOT NULL,
      updated_at timestamptz NOT NULL
    )`.execute(db);
  await sql`
    CREATE TABLE rewards_royalties (
      listing_id uuid NOT NULL,
      position int NOT NULL,
      recipient_id uuid NOT NULL,
      bps int NOT NULL CHECK (bps > 0 AND bps <= 10000),
      reason text NOT NULL,
      created_at timestamptz NOT NULL,
      PRIMARY KEY (listing_id, position)
    )`.execute(db);
  await sql`
    CREATE TABLE rewards_referrals (
      referred_id uuid PRIMARY KEY,
      referrer_id uuid NOT NULL,
      created_at timestamptz NOT NULL,
      epoch_id uuid,
      paid_at timestamptz
    )`.execute(db);
  await sql`CREATE INDEX rewards_referrals_referrer_idx ON rewards_referrals (referrer_id)`.execute(db);
  // the epoch's evidence is read by time: an index for reputation's trade rows (read through its port)
  await sql`CREATE INDEX reputation_evidence_trade_at_idx ON reputation_evidence (at) WHERE type = 'trade'`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX IF EXISTS reputation_evidence_trade_at_idx`.execute(db);
  for (const t of ['rewards_referrals', 'rewards_royalties', 'rewards_agent_tiers', 'rewards_statements', 'rewards_epochs', 'rewards_programs']) {
    await sql.raw(`DROP TABLE IF EXISTS ${t}`).execute(db);
  }
}
