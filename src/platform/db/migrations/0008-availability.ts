import { sql, type Kysely } from 'kysely';

/**
 * Availability from heartbeats (src/modules/availability). A heartbeat sets one bit: time is cut into
 * slots of `slot_seconds` (HEARTBEAT_INTERVAL_SECONDS when it was written), 1440 slots make a block, and an
 * agent has one row per block it sent a heartbeat in; bit i of `beats` (bytea, get_bit numbering) is set
 * when a heartbeat arrived in slot i. The write is one UPSERT that sets a bit, so it is order-free and
 * idempotent; rows are pruned after the retention (35 days).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE availability_heartbeats (
      agent_id uuid NOT NULL REFERENCES agents (id),
      block_start timestamptz NOT NULL,
      slot_seconds integer NOT NULL CHECK (slot_seconds > 0),
      block_end timestamptz NOT NULL,
      beats bytea NOT NULL,
      degraded bytea NOT NULL,
      last_at timestamptz NOT NULL,
      last_status text NOT NULL CHECK (last_status IN ('ok', 'degraded')),
      last_capacity integer,
      PRIMARY KEY (agent_id, block_start, slot_seconds)
    )`.execute(db);
  await sql`CREATE INDEX availability_heartbeats_end_idx ON availability_heartbeats (block_end)`.execute(db);

  // Maintenance windows, declared in advance (declared_at before starts_at by the minimum notice). Windows
  // that have started are the record and are never changed; a declaration replaces only upcoming ones.
  await sql`
    CREATE TABLE availability_maintenance_windows (
      id uuid PRIMARY KEY,
      agent_id uuid NOT NULL REFERENCES agents (id),
      starts_at timestamptz NOT NULL,
      ends_at timestamptz NOT NULL,
      declared_at timestamptz NOT NULL,
      reason text,
      CHECK (ends_at > starts_at),
      CHECK (declared_at < starts_at)
    )`.execute(db);
  await sql`CREATE INDEX availability_windows_agent_idx ON availability_maintenance_windows (agent_id, starts_at)`.execute(db);

  // Days whose uptime and maintenance compliance were recorded as reliability evidence (the daily job).
  await sql`
    CREATE TABLE availability_reported_days (
      day_start timestamptz PRIMARY KEY,
      agents integer NOT NULL,
      reported_at timestamptz NOT NULL
    )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE IF EXISTS availability_reported_days`.execute(db);
  await sql`DROP TABLE IF EXISTS availability_maintenance_windows`.execute(db);
  await sql`DROP TABLE IF EXISTS availability_heartbeats`.execute(db);
}
