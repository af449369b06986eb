import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE agents (
      id uuid PRIMARY KEY,
      display_name text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 120),
      type text NOT NULL CHECK (type IN ('provider', 'consumer', 'both')),
      country char(2) NOT NULL,
      region text NOT NULL,
      categories text[] NOT NULL DEFAULT '{}',
      public_key text,
      capacity jsonb,
      sla jsonb,
      status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'deactivated')),
      api_key_hash text NOT NULL UNIQUE,
      api_key_prefix text NOT NULL,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      deactivated_at timestamptz
    )`.execute(db);
  await sql`CREATE INDEX agents_country_idx ON agents (country, id)`.execute(db);
  await sql`CREATE INDEX agents_region_idx ON agents (region, id)`.execute(db);
  await sql`CREATE INDEX agents_categories_idx ON agents USING gin (categories)`.execute(db);

  await sql`
    CREATE TABLE idempotency_keys (
      scope text NOT NULL,
      key text NOT NULL,
      request_hash text NOT NULL,
      method text NOT NULL,
      path text NOT NULL,
      state text NOT NULL CHECK (state IN ('in_flight', 'completed')),
      response_status integer,
      response_type text,
      response_body text,
      created_at timestamptz NOT NULL,
      locked_until timestamptz NOT NULL,
      completed_at timestamptz,
      PRIMARY KEY (scope, key)
    )`.execute(db);
  await sql`CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE idempotency_keys`.execute(db);
  await sql`DROP TABLE agents`.execute(db);
}
