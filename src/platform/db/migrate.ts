/**
 * Migrations are TypeScript modules listed here in order (no directory scanning, so they work the
 * same under tsx, a bundler or a test runner). The same migrations run on PGlite and PostgreSQL.
 * On PostgreSQL, Kysely takes an advisory lock so many processes can start at once.
 */
import { Migrator, sql, type Kysely, type Migration, type MigrationResultSet } from 'kysely';
import * as m0001 from './migrations/0001-foundation.js';
import * as m0002 from './migrations/0002-ledger.js';
import * as m0003 from './migrations/0003-reputation.js';
import * as m0004 from './migrations/0004-trading.js';
import * as m0005 from './migrations/0005-sync-indexes.js';
import * as m0006 from './migrations/0006-trading-request-states-capacity.js';
import * as m0007 from './migrations/0007-outbox.js';
import * as m0008 from './migrations/0008-availability.js';
import * as m0009 from './migrations/0009-reputation-seed-epochs.js';
import * as m0010 from './migrations/0010-verifier.js';
import * as m0011 from './migrations/0011-analytics.js';
import * as m0012 from './migrations/0012-analytics-reads.js';
import * as m0013 from './migrations/0013-rewards.js';
import * as m0014 from './migrations/0014-certification.js';
import * as m0015 from './migrations/0015-risk.js';
import * as m0016 from './migrations/0016-reports.js';
import * as m0017 from './migrations/0017-certification-job-markers.js';
import * as m0020 from './migrations/0020-analytics-active-bits.js';
import * as m0021 from './migrations/0021-agreements-seller-open-index.js';
import * as m0022 from './migrations/0022-rewards-held-decisions.js';
import * as m0024 from './migrations/0024-evidence-trade-created-index.js';

export const MIGRATIONS: Record<string, Migration> = {
  '0001-foundation': m0001,
  '0002-ledger': m0002,
  '0003-reputation': m0003,
  '0004-trading': m0004,
  '0005-sync-indexes': m0005,
  '0006-trading-request-states-capacity': m0006,
  '0007-outbox': m0007,
  '0008-availability': m0008,
  '0009-reputation-seed-epochs': m0009,
  '0010-verifier': m0010,
  '0011-analytics': m0011,
  '0012-analytics-reads': m0012,
  '0013-rewards': m0013,
  '0014-certification': m0014,
  '0015-risk': m0015,
  '0016-reports': m0016,
  '0017-certification-job-markers': m0017,
  '0020-analytics-active-bits': m0020,
  '0021-agreements-seller-open-index': m0021,
  '0022-rewards-held-decisions': m0022,
  '0024-evidence-trade-created-index': m0024,
};

/**
 * The migrator keeps its bookkeeping tables in the connection's current schema. Naming the schema
 * matters: without it Kysely takes a same-named table in any other schema for its own (several
 * databases in private schemas of one PostgreSQL, as in the tests, would then share a lock table).
 */
async function migrator(db: Kysely<any>): Promise<Migrator> {
  const { rows } = await sql<{ schema: string }>`SELECT current_schema() AS schema`.execute(db);
  const schema = rows[0]?.schema ?? 'public';
  return new Migrator({ db, migrationTableSchema: schema, provider: { getMigrations: async () => ({ ...MIGRATIONS }) } });
}

/**
 * True when every migration listed here is recorded as applied. A restart (the common case) then
 * skips the migrator's bookkeeping (create-if-missing, lock, read: ~0.3 s of a PGlite restart);
 * anything else runs the migrator, which takes its lock and applies what is missing.
 */
async function schemaIsCurrent(db: Kysely<any>): Promise<boolean> {
  const { rows } = await sql<{ present: boolean }>`
    SELECT to_regclass(quote_ident(current_schema()) || '.kysely_migration') IS NOT NULL AS present`.execute(db);
  if (!rows[0]?.present) return false;
  const applied = await sql<{ name: string }>`SELECT name FROM kysely_migration`.execute(db);
  const names = new Set(applied.rows.map((r) => r.name));
  // A migration recorded but not listed (a database from a newer version) goes to the migrator, which refuses it.
  const listed = Object.keys(MIGRATIONS);
  return names.size === listed.length && listed.every((name) => names.has(name));
}

export async function migrateToLatest(db: Kysely<any>): Promise<MigrationResultSet> {
  if (await schemaIsCurrent(db)) return { results: [] };
  const result = await (await migrator(db)).migrateToLatest();
  if (result.error) throw result.error;
  return result;
}

/** Names of migrations not yet applied (empty when the schema is current). */
export async function pendingMigrations(db: Kysely<any>): Promise<string[]> {
  const all = await (await migrator(db)).getMigrations();
  return all.filter((m) => m.executedAt === undefined).map((m) => m.name);
}
