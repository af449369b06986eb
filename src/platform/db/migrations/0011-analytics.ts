import { sql, type Kysely } from 'kysely';

/**
 * Market analytics (src/modules/analytics): its own fact log (one row per trade, agreement, request,
 * dispute, failure, new agent and supply/demand snapshot, keyed by what it is, so an event seen twice is
 * stored once) and the rollups folded from it per minute, hour and day and per category x region x spec
 * class. Everything here can be rebuilt from analytics_facts.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE analytics_state (
      id int PRIMARY KEY,
      outbox_seq bigint NOT NULL DEFAULT 0,
      agents_since timestamptz,
      last_snapshot timestamptz
    )`.execute(db);
  await sql`INSERT INTO analytics_state (id) VALUES (1)`.execute(db);
  await sql`
    CREATE TABLE analytics_facts (
      key text PRIMARY KEY,
      seq bigserial NOT NULL UNIQUE,
      kind text NOT NULL,
      at timestamptz NOT NULL,
      category text,
      region text,
      spec_class text,
      data jsonb NOT NULL
    )`.execute(db);
  await sql`CREATE INDEX analytics_facts_cell_idx ON analytics_facts (kind, category, spec_class, region, at)`.execute(db);
  await sql`CREATE INDEX analytics_facts_at_idx ON analytics_facts (kind, at)`.execute(db);
  await sql`
    CREATE TABLE analytics_rollups (
      granularity text NOT NULL CHECK (granularity IN ('minute', 'hour', 'day')),
      bucket timestamptz NOT NULL,
      category text NOT NULL,
      region text NOT NULL,
      spec_class text NOT NULL,
      requests bigint NOT NULL DEFAULT 0,
      request_units bigint NOT NULL DEFAULT 0,
      agreements bigint NOT NULL DEFAULT 0,
      matched bigint NOT NULL DEFAULT 0,
      trades bigint NOT NULL DEFAULT 0,
      units bigint NOT NULL DEFAULT 0,
      notional numeric(40, 0) NOT NULL DEFAULT 0,
      volume numeric(40, 0) NOT NULL DEFAULT 0,
      disputes bigint NOT NULL DEFAULT 0,
      failures bigint NOT NULL DEFAULT 0,
      ended bigint NOT NULL DEFAULT 0,
      cross_border bigint NOT NULL DEFAULT 0,
      PRIMARY KEY (granularity, bucket, category, region, spec_class)
    )`.execute(db);
  await sql`
    CREATE TABLE analytics_sketches (
      granularity text NOT NULL,
      bucket timestamptz NOT NULL,
      category text NOT NULL,
      region text NOT NULL,
      spec_class text NOT NULL,
      metric text NOT NULL CHECK (metric IN ('price', 'time_to_agreement', 'time_to_settlement')),
      bin int NOT NULL,
      n bigint NOT NULL,
      PRIMARY KEY (granularity, bucket, metric, category, region, spec_class, bin)
    )`.execute(db);
  await sql`
    CREATE TABLE analytics_actives (
      granularity text NOT NULL CHECK (granularity IN ('hour', 'day')),
      bucket timestamptz NOT NULL,
      category text NOT NULL,
      region text NOT NULL,
      spec_class text NOT NULL,
      role text NOT NULL CHECK (role IN ('buyer', 'seller')),
      agent_id uuid NOT NULL,
      PRIMARY KEY (granularity, bucket, category, region, spec_class, role, agent_id)
    )`.execute(db);
  await sql`
    CREATE TABLE analytics_geo_flows (
      granularity text NOT NULL CHECK (granularity IN ('hour', 'day')),
      bucket timestamptz NOT NULL,
      buyer_country text NOT NULL,
      buyer_region text NOT NULL,
      seller_country text NOT NULL,
      seller_region text NOT NULL,
      trades bigint NOT NULL DEFAULT 0,
      volume numeric(40, 0) NOT NULL DEFAULT 0,
      PRIMARY KEY (granularity, bucket, buyer_country, buyer_region, seller_country, seller_region)
    )`.execute(db);
  await sql`
    CREATE TABLE analytics_new_agents (
      granularity text NOT NULL CHECK (granularity IN ('minute', 'hour', 'day')),
      bucket timestamptz NOT NULL,
      country text NOT NULL,
      region text NOT NULL,
      agents bigint NOT NULL DEFAULT 0,
      PRIMARY KEY (granularity, bucket, country, region)
    )`.execute(db);
  await sql`
    CREATE TABLE analytics_gauges (
      granularity text NOT NULL CHECK (granularity IN ('minute', 'hour', 'day')),
      bucket timestamptz NOT NULL,
      category text NOT NULL,
      region text NOT NULL,
      spec_class text NOT NULL,
      snapshot_at timestamptz NOT NULL,
      supply_units bigint NOT NULL,
      supply_listings bigint NOT NULL,
      demand_requests bigint NOT NULL,
      demand_units bigint NOT NULL,
      PRIMARY KEY (granularity, bucket, category, region, spec_class)
    )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ['analytics_gauges', 'analytics_new_agents', 'analytics_geo_flows', 'analytics_actives', 'analytics_sketches', 'analytics_rollups', 'analytics_facts', 'analytics_state']) {
    await sql.raw(`DROP TABLE IF EXISTS ${t}`).execute(db);
  }
}
