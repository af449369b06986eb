import { sql, type Kysely } from 'kysely';

/**
 * certification_job_markers: how far each certification job has folded the record (the badge job's
 * watermark), kept in the database so a restart or a new job leader (several API processes) starts where
 * the last run stopped instead of re-reading every seller.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE certification_job_markers (
      job text PRIMARY KEY,
      marker timestamptz NOT NULL,
      updated_at timestamptz NOT NULL
    )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE certification_job_markers`.execute(db);
}
