/**
 * A fresh, migrated database for one test file: in-memory PGlite by default, or a private schema on
 * the PostgreSQL server named by TEST_DATABASE_URL (dropped again on cleanup).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createDatabase, type Database } from '../../src/database.js';
import { migrateToLatest } from '../../src/platform/db/migrate.js';
import { forgetSnapshot, migratedPgliteSnapshot } from './pglite-snapshot.js';

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL || undefined;
export const onPostgres = TEST_DATABASE_URL !== undefined;

export interface TestDatabase {
  database: Database;
  /** Connection string of this test's private schema (PostgreSQL only). */
  url?: string;
  cleanup(): Promise<void>;
}

/**
 * `snapshot` (PGlite only, with migrate): restore the migrated schema from a cached snapshot instead of
 * initdb + every migration (test/helpers/pglite-snapshot.ts); the database is as fresh either way.
 */
export async function createTestDatabase(opts: { migrate?: boolean; poolSize?: number; snapshot?: boolean } = {}): Promise<TestDatabase> {
  if (!TEST_DATABASE_URL && opts.snapshot && opts.migrate !== false) {
    let database;
    try {
      database = await createDatabase({ restore: await migratedPgliteSnapshot() });
      await migrateToLatest(database.db);
    } catch {
      // an unreadable snapshot (a crashed writer, another PGlite build): make it again, once
      await database?.close().catch(() => undefined);
      forgetSnapshot();
      database = await createDatabase({ restore: await migratedPgliteSnapshot() });
      await migrateToLatest(database.db);
    }
    const db = database;
    return { database: db, cleanup: () => db.close() };
  }
  if (!TEST_DATABASE_URL) {
    const database = await createDatabase({});
    if (opts.migrate !== false) await migrateToLatest(database.db);
    return { database, cleanup: () => database.close() };
  }
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();
  const u = new URL(TEST_DATABASE_URL);
  u.searchParams.set('options', `-c search_path=${schema}`);
  const url = u.toString();
  const database = await createDatabase({ url, poolSize: opts.poolSize ?? 10 });
  if (opts.migrate !== false) await migrateToLatest(database.db);
  return {
    database,
    url,
    async cleanup() {
      await database.close();
      const c = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await c.connect();
      await c.query(`DROP SCHEMA ${schema} CASCADE`);
      await c.end();
    },
  };
}
