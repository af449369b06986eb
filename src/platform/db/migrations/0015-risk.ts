import { sql, type Kysely } from 'kysely';

/**
 * Risk management (src/modules/risk): its window of market facts read from the outbox (trades, ratings,
 * disputes, keyed by what they are), alerts (one per incident key), interventions and their append-only
 * audit log, and spend mandates with the day's spend (the row is locked by the payment that counts against it).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE TABLE risk_state (id int PRIMARY KEY, outbox_seq bigint NOT NULL DEFAULT 0)`.execute(db);
  await sql`INSERT INTO risk_state (id) VALUES (1)`.execute(db);
  await sql`
    CREATE TABLE risk_facts (
      key text PRIMARY KEY,
      kind text NOT NULL CHECK (kind IN ('trade', 'rating', 'dispute')),
      at timestamptz NOT NULL,
      data jsonb NOT NULL
    )`.execute(db);
  await sql`CREATE INDEX risk_facts_at_idx ON risk_facts (kind, at)`.execute(db);
  await sql`
    CREATE TABLE risk_alerts (
      id uuid PRIMARY KEY,
      incident_key text NOT NULL UNIQUE,
      kind text NOT NULL,
      severity text NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
      status text NOT NULL CHECK (status IN ('open', 'confirmed', 'dismissed', 'escalated')),
      agents jsonb NOT NULL,
      cell jsonb,
      evidence jsonb NOT NULL,
      first_seen timestamptz NOT NULL,
      last_seen timestamptz NOT NULL,
      decision jsonb,
      appeal jsonb
    )`.execute(db);
  await sql`CREATE INDEX risk_alerts_status_idx ON risk_alerts (status, last_seen)`.execute(db);
  await sql`
    CREATE TABLE risk_alert_agents (
      alert_id uuid NOT NULL REFERENCES risk_alerts (id),
      agent_id text NOT NULL,
      PRIMARY KEY (agent_id, alert_id)
    )`.execute(db);
  await sql`
    CREATE TABLE risk_interventions (
      id uuid PRIMARY KEY,
      kind text NOT NULL CHECK (kind IN ('discount_evidence', 'hold_settlements', 'freeze_listing', 'suspend_agent', 'pause_cell')),
      target text NOT NULL,
      alert_id uuid REFERENCES risk_alerts (id),
      reason text NOT NULL,
      created_by text NOT NULL,
      created_at timestamptz NOT NULL,
      expires_at timestamptz,
      lifted_at timestamptz,
      lifted_by text,
      lift_reason text
    )`.execute(db);
  await sql`CREATE INDEX risk_interventions_target_idx ON risk_interventions (kind, target) WHERE lifted_at IS NULL`.execute(db);
  await sql`
    CREATE TABLE risk_audit (
      seq bigserial PRIMARY KEY,
      at timestamptz NOT NULL,
      actor text NOT NULL,
      action text NOT NULL,
      alert_id uuid,
      intervention_id uuid,
      detail jsonb NOT NULL
    )`.execute(db);
  // append-only: the log refuses updates and deletes
  await sql`
    CREATE FUNCTION risk_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'risk_audit is append-only'; END $$`.execute(db);
  await sql`CREATE TRIGGER risk_audit_no_change BEFORE UPDATE OR DELETE ON risk_audit FOR EACH ROW EXECUTE FUNCTION risk_audit_append_only()`.execute(db);
  await sql`
    CREATE TABLE risk_mandates (
      agent_id text PRIMARY KEY,
      per_day numeric(40, 0),
      per_trade numeric(40, 0),
      categories jsonb,
      min_seller_trust int,
      max_open_agreements int,
      expires_at timestamptz,
      day date,
      spent_today numeric(40, 0) NOT NULL DEFAULT 0,
      near_notified boolean NOT NULL DEFAULT false,
      set_by text NOT NULL,
      updated_at timestamptz NOT NULL
    )`.execute(db);
  await sql`
    CREATE TABLE risk_mandate_payments (
      agreement_id text PRIMARY KEY,
      agent_id text NOT NULL,
      amount numeric(40, 0) NOT NULL,
      at timestamptz NOT NULL
    )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ['risk_mandate_payments', 'risk_mandates', 'risk_audit', 'risk_interventions', 'risk_alert_agents', 'risk_alerts', 'risk_facts', 'risk_state']) {
    await sql.raw(`DROP TABLE IF EXISTS ${t}`).execute(db);
  }
  await sql`DROP FUNCTION IF EXISTS risk_audit_append_only()`.execute(db);
}
