import { sql, type Kysely } from 'kysely';

/**
 * Market analytics reads (src/modules/analytics): indexes that lead with the cell, then the bucket, so a
 * range read of one (marginal or base) cell scans only that cell's rows; the primary keys lead with the
 * bucket and made a one-cell read scan every cell of the range.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE INDEX analytics_rollups_cell_idx ON analytics_rollups (granularity, category, region, spec_class, bucket)`.execute(db);
  await sql`CREATE INDEX analytics_sketches_cell_idx ON analytics_sketches (granularity, metric, category, region, spec_class, bucket)`.execute(db);
  await sql`CREATE INDEX analytics_actives_cell_idx ON analytics_actives (granularity, category, region, spec_class, bucket)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const i of ['analytics_actives_cell_idx', 'analytics_sketches_cell_idx', 'analytics_rollups_cell_idx']) await sql.raw(`DROP INDEX IF EXISTS ${i}`).execute(db);
}
