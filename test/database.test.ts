import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { setTimeout as sleep } from 'node:timers/promises';
import { createDatabase, type Database } from '../src/database.js';
import { createTestDatabase, onPostgres, type TestDatabase } from './helpers/test-db.js';

describe(`storage types (${onPostgres ? 'PostgreSQL' : 'PGlite'})`, () => {
  let t: TestDatabase;
  beforeAll(async () => { t = await createTestDatabase(); });
  afterAll(async () => { await t.cleanup(); });

  it('returns int8 as bigint, numeric as string, timestamptz as Date, jsonb parsed', async () => {
    const { rows } = await sql<{ a: unknown; b: unknown; c: unknown; d: unknown; e: unknown; f: unknown }>`
      SELECT ${12345678901234567n}::int8 AS a, count(*) AS b, 1.50::numeric AS c,
             '2026-01-02T03:04:05Z'::timestamptz AS d, '{"x":[1]}'::jsonb AS e, 7::int4 AS f`.execute(t.database.db);
    const r = rows[0]!;
    expect(r.a).toBe(12345678901234567n);
    expect(r.b).toBe(1n);
    expect(r.c).toBe('1.50');
    expect(r.d).toBeInstanceOf(Date);
    expect((r.d as Date).toISOString()).toBe('2026-01-02T03:04:05.000Z');
    expect(r.e).toEqual({ x: [1] });
    expect(r.f).toBe(7);
  });
});

describe('PGlite transactions under concurrent requests', () => {
  let database: Database;
  beforeAll(async () => {
    database = await createDatabase({});
    await sql`CREATE TABLE counter (id int PRIMARY KEY, n int NOT NULL)`.execute(database.db);
    await sql`INSERT INTO counter VALUES (1, 0)`.execute(database.db);
    await sql`CREATE TABLE log (who text NOT NULL, at int NOT NULL)`.execute(database.db);
  });
  afterAll(async () => { await database.close(); });

  it('never interleaves: 25 concurrent read-sleep-write transactions lose no update', async () => {
    const events: string[] = [];
    await Promise.all(
      Array.from({ length: 25 }, (_, i) =>
        database.transaction(async (tx) => {
          events.push(`begin ${i}`);
          const row = await tx.selectFrom('counter' as never).select('n' as never).executeTakeFirstOrThrow() as { n: number };
          await sleep(2); // yield to the event loop: other requests run meanwhile
          await sql`UPDATE counter SET n = ${row.n + 1}`.execute(tx);
          events.push(`end ${i}`);
        }),
      ),
    );
    const { rows } = await sql<{ n: number }>`SELECT n FROM counter`.execute(database.db);
    expect(rows[0]!.n).toBe(25);
    // each transaction's begin is immediately followed by its own end
    for (let k = 0; k < events.length; k += 2) expect(events[k + 1]).toBe(events[k]!.replace('begin', 'end'));
  });

  it('a query outside a transaction never runs inside another request\'s transaction', async () => {
    const failing = database.transaction(async (tx) => {
      await sql`INSERT INTO log VALUES ('tx', 1)`.execute(tx);
      await sleep(20);
      throw new Error('roll back');
    });
    await sleep(1);
    // issued while the transaction is open: it must wait, and must survive the rollback
    const outside = sql`INSERT INTO log VALUES ('outside', 2)`.execute(database.db);
    await expect(failing).rejects.toThrow('roll back');
    await outside;
    const { rows } = await sql<{ who: string }>`SELECT who FROM log ORDER BY at`.execute(database.db);
    expect(rows.map((r) => r.who)).toEqual(['outside']);
  });
});

describe(`migrations on restart (${onPostgres ? 'PostgreSQL' : 'PGlite'})`, () => {
  it('applies every migration once, skips the migrator when current, and refuses a database from a newer version', async () => {
    const t = await createTestDatabase({ migrate: false });
    try {
      const { MIGRATIONS, migrateToLatest, pendingMigrations } = await import('../src/platform/db/migrate.js');
      const first = await migrateToLatest(t.database.db);
      expect(first.results?.map((r) => r.migrationName)).toEqual(Object.keys(MIGRATIONS));
      expect(await pendingMigrations(t.database.db)).toEqual([]);
      const again = await migrateToLatest(t.database.db);
      expect(again.results).toEqual([]);
      // A migration this version does not know: the migrator is asked and refuses to go on.
      await sql`INSERT INTO kysely_migration (name, timestamp) VALUES ('9999-from-the-future', '2030-01-01T00:00:00.000Z')`.execute(t.database.db);
      await expect(migrateToLatest(t.database.db)).rejects.toThrow(/corrupted migrations/);
    } finally {
      await t.cleanup();
    }
  });
});
