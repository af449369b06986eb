import { sql, type Kysely } from 'kysely';

/**
 * Stored economic reports (src/modules/reports): one row per closed period (day, week, month) with the
 * report's JSON model; HTML, PDF and CSV are rendered from it on request.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE reports (
      id uuid PRIMARY KEY,
      period text NOT NULL CHECK (period IN ('day', 'week', 'month')),
      period_start timestamptz NOT NULL,
      period_end timestamptz NOT NULL,
      created_at timestamptz NOT NULL,
      model jsonb NOT NULL,
      UNIQUE (period, period_start)
    )`.execute(db);
  await sql`CREATE INDEX reports_list_idx ON reports (period_start DESC, id DESC)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE reports`.execute(db);
}
