import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { createDatabase, type Database } from '../src/database.js';

describe('PGlite driver: statements kept prepared', () => {
  let database: Database;
  beforeAll(async () => {
    database = await createDatabase({});
    await sql`CREATE TABLE item (id int PRIMARY KEY, name text, n int8, at timestamptz, doc jsonb, tags text[])`.execute(database.db);
  });
  afterAll(async () => { await database.close(); });

  it('binds and parses every type as PGlite\'s query() does, across repeated executions', async () => {
    const at = new Date('2026-01-02T03:04:05.678Z');
    for (let i = 1; i <= 3; i++) {
      await sql`INSERT INTO item VALUES (${i}, ${`ñame ✓ ${i}`}, ${BigInt(i) * 10n ** 15n}, ${at}, ${JSON.stringify({ i })}, ${['a', `b${i}`]})`.execute(database.db);
    }
    const r = await sql<{ id: number; name: string; n: bigint; at: Date; doc: unknown; tags: string[] }>`SELECT * FROM item WHERE id >= ${2} ORDER BY id`.execute(database.db);
    expect(r.rows).toEqual([
      { id: 2, name: 'ñame ✓ 2', n: 2n * 10n ** 15n, at, doc: { i: 2 }, tags: ['a', 'b2'] },
      { id: 3, name: 'ñame ✓ 3', n: 3n * 10n ** 15n, at, doc: { i: 3 }, tags: ['a', 'b3'] },
    ]);
    const u = await database.db.updateTable('item' as never).set({ name: null } as never).where('id' as never, '<=', 2 as never).executeTakeFirst();
    expect(u.numUpdatedRows).toBe(2n);
    expect((await sql`SELECT name FROM item WHERE id = ${1}`.execute(database.db)).rows).toEqual([{ name: null }]);
  });

  it('reports database errors with their code and constraint; a failed statement leaves the statement usable', async () => {
    const insert = (id: number) => sql`INSERT INTO item (id) VALUES (${id})`.execute(database.db);
    await insert(100);
    const err = await insert(100).catch((e: unknown) => e) as { code?: string; constraint?: string; message?: string };
    expect(err.code).toBe('23505');
    expect(err.constraint).toBe('item_pkey');
    await insert(101);
    const bad = await sql`SELECT nope FROM item`.execute(database.db).catch((e: unknown) => e) as { code?: string };
    expect(bad.code).toBe('42703');
  });

  it('a transaction with a failed statement does not commit', async () => {
    const attempt = database.transaction(async (tx) => {
      await sql`INSERT INTO item (id) VALUES (${200})`.execute(tx);
      await sql`INSERT INTO item (id) VALUES (${200})`.execute(tx).catch(() => undefined);
    });
    await expect(attempt).rejects.toThrow(/rolled back/);
    expect((await sql`SELECT count(*)::int AS c FROM item WHERE id = ${200}`.execute(database.db)).rows).toEqual([{ c: 0 }]);
  });

  it('a transaction whose first statement fails rolls back; an empty one commits nothing; later statements run outside', async () => {
    const failing = database.transaction(async (tx) => {
      await sql`INSERT INTO item (id) VALUES (${1})`.execute(tx); // duplicate: fails first
    });
    await expect(failing).rejects.toMatchObject({ code: '23505' });
    await database.transaction(async () => undefined);
    await sql`INSERT INTO item (id) VALUES (${300})`.execute(database.db);
    // not inside a leftover transaction: another connection-level rollback cannot undo it
    await database.transaction(async (tx) => { await sql`DELETE FROM item WHERE id = ${301}`.execute(tx); throw new Error('undo'); }).catch(() => undefined);
    expect((await sql`SELECT count(*)::int AS c FROM item WHERE id = ${300}`.execute(database.db)).rows).toEqual([{ c: 1 }]);
  });

  it('sees schema changes: a column added after a SELECT * was prepared', async () => {
    const all = () => sql<Record<string, unknown>>`SELECT * FROM item WHERE id = ${1}`.execute(database.db);
    expect(Object.keys((await all()).rows[0]!)).not.toContain('extra');
    await sql`ALTER TABLE item ADD COLUMN extra int DEFAULT 7`.execute(database.db);
    expect((await all()).rows[0]!.extra).toBe(7);
  });

  it('keeps working past the prepared-statement cache size (least recently used are closed)', async () => {
    for (let i = 0; i < 620; i++) {
      const r = await sql<{ v: number }>`SELECT ${i}::int + ${sql.lit(i)} AS v`.execute(database.db);
      expect(r.rows[0]!.v).toBe(2 * i);
    }
    const again = await sql<{ v: number }>`SELECT ${5}::int + ${sql.lit(5)} AS v`.execute(database.db);
    expect(again.rows[0]!.v).toBe(10);
  });
});
