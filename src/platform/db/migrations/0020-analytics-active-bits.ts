import { sql, type Kysely } from 'kysely';

/**
 * Market analytics: distinct active agents as bitmaps (src/modules/analytics). Each agent seen in
 * analytics_actives gets a dense ordinal (kept across rebuilds, so a rebuild writes the same bits); each
 * (granularity, bucket, cell, role) of analytics_actives gets one row whose bit `ordinal` is set for every
 * agent of it (byte ordinal / 8, bit ordinal % 8). A range's distinct agents are the OR of its buckets' rows
 * (30 rows for a month by day, instead of a count(DISTINCT) over every agent-day). Backfilled from the
 * actives already stored.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE TABLE analytics_agent_ordinals (agent_id uuid PRIMARY KEY, ordinal int4 NOT NULL UNIQUE)`.execute(db);
  await sql`
    CREATE TABLE analytics_active_bits (
      granularity text NOT NULL CHECK (granularity IN ('hour', 'day')),
      bucket timestamptz NOT NULL,
      category text NOT NULL,
      region text NOT NULL,
      spec_class text NOT NULL,
      role text NOT NULL CHECK (role IN ('buyer', 'seller')),
      bits bytea NOT NULL,
      PRIMARY KEY (granularity, category, region, spec_class, bucket, role)
    )`.execute(db);
  await sql`
    INSERT INTO analytics_agent_ordinals (agent_id, ordinal)
    SELECT agent_id, (row_number() OVER (ORDER BY agent_id) - 1)::int4 FROM (SELECT DISTINCT agent_id FROM analytics_actives) x`.execute(db);
  await sql`
    WITH a AS (
      SELECT x.granularity, x.bucket, x.category, x.region, x.spec_class, x.role, o.ordinal / 8 AS i, bit_or(1 << (o.ordinal % 8)) AS b
      FROM analytics_actives x JOIN analytics_agent_ordinals o ON o.agent_id = x.agent_id GROUP BY 1, 2, 3, 4, 5, 6, 7),
    m AS (SELECT granularity, bucket, category, region, spec_class, role, max(i) AS n FROM a GROUP BY 1, 2, 3, 4, 5, 6)
    INSERT INTO analytics_active_bits (granularity, bucket, category, region, spec_class, role, bits)
    SELECT m.granularity, m.bucket, m.category, m.region, m.spec_class, m.role,
           decode(string_agg(lpad(to_hex(COALESCE(a.b, 0)), 2, '0'), '' ORDER BY s.i), 'hex')
    FROM m CROSS JOIN LATERAL generate_series(0, m.n) AS s(i)
    LEFT JOIN a ON a.granularity = m.granularity AND a.bucket = m.bucket AND a.category = m.category AND a.region = m.region
               AND a.spec_class = m.spec_class AND a.role = m.role AND a.i = s.i
    GROUP BY 1, 2, 3, 4, 5, 6`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE IF EXISTS analytics_active_bits`.execute(db);
  await sql`DROP TABLE IF EXISTS analytics_agent_ordinals`.execute(db);
}
