import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // The evidence log: one row per fact, append-only (a trigger refuses UPDATE and DELETE). Scores are
  // projections of it (replayed in seq order). subject = the agent the fact is about; producer = who
  // produced it (buyer, probe, rater, dispute filer) or null for operator reports and the platform's own
  // verdicts. A same-owner verdict (type same_owner) names its first member as subject and lists all
  // members and the signals that convicted them in data.
  await sql`
    CREATE TABLE reputation_evidence (
      seq bigserial PRIMARY KEY,
      id uuid NOT NULL UNIQUE,
      type text NOT NULL CHECK (type IN ('trade', 'probe', 'rating', 'community', 'reliability', 'dispute', 'same_owner')),
      subject_id uuid NOT NULL REFERENCES agents (id),
      producer_id uuid REFERENCES agents (id),
      trade_id text,
      at timestamptz NOT NULL,
      data jsonb NOT NULL,
      source text NOT NULL,
      created_at timestamptz NOT NULL
    )`.execute(db);
  await sql`CREATE INDEX reputation_evidence_subject_idx ON reputation_evidence (subject_id, seq)`.execute(db);
  // one outcome per trade, one rating per trade and side, one dispute outcome per trade and party
  await sql`CREATE UNIQUE INDEX reputation_evidence_trade_once ON reputation_evidence (trade_id) WHERE type = 'trade'`.execute(db);
  await sql`CREATE UNIQUE INDEX reputation_evidence_rating_once ON reputation_evidence (trade_id, producer_id) WHERE type = 'rating'`.execute(db);
  await sql`CREATE UNIQUE INDEX reputation_evidence_dispute_once ON reputation_evidence (trade_id, subject_id) WHERE type = 'dispute'`.execute(db);
  await sql`
    CREATE FUNCTION reputation_evidence_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'reputation_evidence is append-only' USING ERRCODE = '55000';
    END $$`.execute(db);
  await sql`
    CREATE TRIGGER reputation_evidence_no_change BEFORE UPDATE OR DELETE ON reputation_evidence
    FOR EACH ROW EXECUTE FUNCTION reputation_evidence_append_only()`.execute(db);

  // The operator's probe agents: the pre-trusted seed of the trust graph.
  await sql`
    CREATE TABLE reputation_probes (
      agent_id uuid PRIMARY KEY REFERENCES agents (id),
      created_at timestamptz NOT NULL
    )`.execute(db);

  // Score snapshots: at most one per agent and hour (the latest value within the hour).
  await sql`
    CREATE TABLE reputation_snapshots (
      agent_id uuid NOT NULL REFERENCES agents (id),
      at timestamptz NOT NULL,
      score integer NOT NULL CHECK (score BETWEEN 0 AND 1000),
      raw double precision NOT NULL,
      level text NOT NULL,
      components jsonb NOT NULL,
      observations integer NOT NULL,
      evidence_seq bigint NOT NULL,
      PRIMARY KEY (agent_id, at)
    )`.execute(db);

  // Engine checkpoints: the serialised engine state after applying every evidence row up to
  // evidence_seq, for the parameters (probe set included) hashed in params_key. A process starts from
  // the latest one and replays only the rows after it. Only the latest is kept.
  await sql`
    CREATE TABLE reputation_checkpoints (
      evidence_seq bigint PRIMARY KEY,
      params_key text NOT NULL,
      state bytea NOT NULL,
      created_at timestamptz NOT NULL
    )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE IF EXISTS reputation_checkpoints`.execute(db);
  await sql`DROP TABLE IF EXISTS reputation_snapshots`.execute(db);
  await sql`DROP TABLE IF EXISTS reputation_probes`.execute(db);
  await sql`DROP TABLE IF EXISTS reputation_evidence`.execute(db);
  await sql`DROP FUNCTION IF EXISTS reputation_evidence_append_only()`.execute(db);
}
