/**
 * Each module's SQL names only its own tables. A module owns the tables its `<module>.tables.ts` declares
 * (the `...Tables` interfaces there); the platform owns those of src/platform/db/schema.ts and
 * src/platform/events/outbox.tables.ts. Another module's data is read through that module's port, never
 * by SQL. One exception by design: every module appends to the platform's `outbox_events` inside its own
 * statements (`outboxValues`, platform/events/outbox.ts), so that an event exists exactly when its change
 * committed.
 *
 * The check reads the sources: table names after FROM / JOIN / INTO / UPDATE in SQL text and in Kysely's
 * builder calls (selectFrom, insertInto, updateTable, deleteFrom, mergeInto), less comments, function
 * calls (`FROM unnest(...)`) and common table expressions (`WITH x AS (...)`, `.with('x', ...)`).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
/** Every folder of src/modules is a module (a new one is covered without editing this test). */
const MODULES = readdirSync(join(import.meta.dirname, '..', 'src', 'modules'), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
/** Platform tables any module may write in its own statements. */
const SHARED = new Set(['outbox_events']);

/**
 * Cross-module reads that a change in flight is removing (keep it empty: read another module's data
 * through its port). The test fails on a read not listed here and on an entry that no longer occurs:
 * delete the entry in the change that removes the read.
 */
const KNOWN_FOREIGN: readonly string[] = [
];

/** Every table a source names in SQL or in a Kysely query builder call (see the header). */
export function tablesNamed(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
  const ctes = new Set<string>();
  for (const m of code.matchAll(/\b([A-Za-z_][A-Za-z0-9_]*)\s+AS\s+(?:NOT\s+)?(?:MATERIALIZED\s+)?\(/g)) ctes.add(m[1]!);
  for (const m of code.matchAll(/\.with\(\s*['"`]([A-Za-z_][A-Za-z0-9_]*)/g)) ctes.add(m[1]!);
  const names: string[] = [];
  // `name(` after FROM or JOIN is a function (unnest, generate_series); after INTO it is a column list.
  for (const m of code.matchAll(/\b(?<!\bDO\s+)(FROM|JOIN|INTO|UPDATE)\s+(?:LATERAL\s+|ONLY\s+)?(?!LATERAL\b|ROWS\s+FROM\b)([A-Za-z_][A-Za-z0-9_.]*)(\s*\()?/g)) {
    if ((m[3] === undefined || m[1] === 'INTO') && !ctes.has(m[2]!)) names.push(m[2]!);
  }
  for (const m of code.matchAll(/\b(?:selectFrom|insertInto|updateTable|deleteFrom|mergeInto)\(\s*['"`]([^'"`\s]+)/g)) {
    const t = m[1]!.split(/\s+as\s+/i)[0]!;
    if (!ctes.has(t)) names.push(t);
  }
  return names;
}

/** Keys of every `interface ...Tables { ... }` in a source: the tables a `.tables.ts` file declares. */
export function tablesDeclared(source: string): string[] {
  const out: string[] = [];
  for (const m of source.matchAll(/interface\s+\w+Tables\b[^{]*\{([^}]*)\}/g)) {
    for (const k of m[1]!.matchAll(/^\s*([a-z_][a-z0-9_]*)\s*:/gm)) out.push(k[1]!);
  }
  return out;
}

function sourcesOf(dir: string, keep: (file: string) => boolean = () => true): string[] {
  return (readdirSync(join(ROOT, dir), { recursive: true }) as string[])
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && keep(f))
    .map((f) => join(dir, f));
}

const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

const owned = new Map<string, string[]>();
for (const m of MODULES) owned.set(m, tablesDeclared(read(`src/modules/${m}/${m}.tables.ts`)));
// The platform also owns the migrator's bookkeeping table, which Kysely creates (no migration does).
owned.set('platform', [...tablesDeclared(read('src/platform/db/schema.ts')), ...tablesDeclared(read('src/platform/events/outbox.tables.ts'))]);
const MIGRATOR_TABLES = ['kysely_migration'];

/** Tables the migrations leave in a fresh database (their `up` halves: created or renamed to, less renamed away or dropped). */
function migratedTables(): Set<string> {
  const tables = new Set<string>();
  for (const f of sourcesOf('src/platform/db/migrations').sort()) {
    const up = read(f).split(/export\s+async\s+function\s+down/)[0]!;
    for (const m of up.matchAll(/CREATE TABLE (?:IF NOT EXISTS )?([a-z_]+)|ALTER TABLE ([a-z_]+) RENAME TO ([a-z_]+)|DROP TABLE (?:IF EXISTS )?([a-z_]+)/g)) {
      if (m[1]) tables.add(m[1]);
      if (m[2] && m[3]) { tables.delete(m[2]); tables.add(m[3]); }
      if (m[4]) tables.delete(m[4]);
    }
  }
  return tables;
}

describe('each module\'s SQL names only its own tables', () => {
  it('every table of the migrations has exactly one owner (a module\'s or the platform\'s .tables.ts)', () => {
    const owners = new Map<string, string[]>();
    for (const [who, tables] of owned) for (const t of tables) owners.set(t, [...(owners.get(t) ?? []), who]);
    const migrated = [...migratedTables()].sort();
    expect(migrated.length).toBeGreaterThan(20);
    expect(migrated.filter((t) => owners.get(t)?.length !== 1)).toEqual([]);
    expect([...owners.keys()].filter((t) => !migrated.includes(t))).toEqual([]); // no declared table that does not exist
  });

  it('no module or platform file names a table it does not own, beyond the known reads', () => {
    const foreign: string[] = [];
    const named = new Map<string, number>();
    const scan = (who: string, dir: string, files: string[]) => {
      const mine = new Set([...owned.get(who)!, ...(who === 'platform' ? MIGRATOR_TABLES : SHARED)]);
      for (const f of files) {
        for (const t of new Set(tablesNamed(read(f)))) {
          named.set(who, (named.get(who) ?? 0) + 1);
          if (!mine.has(t)) foreign.push(`${f.slice(dir.length)}: ${t}`);
        }
      }
    };
    for (const m of MODULES) scan(m, 'src/modules/', sourcesOf(`src/modules/${m}`));
    // migrations create everyone's tables; they are the schema, not a module's SQL
    scan('platform', 'src/platform/', sourcesOf('src/platform', (f) => !f.startsWith('db/migrations/')));
    const known = new Set(KNOWN_FOREIGN);
    expect(foreign.filter((f) => !known.has(f)).sort()).toEqual([]);
    expect(KNOWN_FOREIGN.filter((k) => !foreign.includes(k))).toEqual([]); // fixed: delete the entry
    // the scan sees each module's queries (a broken pattern would find nothing and pass)
    for (const who of [...MODULES, 'platform']) expect(named.get(who) ?? 0, who).toBeGreaterThan(0);
  });

  it('catches another module\'s table in SQL text and in the query builder, and ignores CTEs, functions and comments', () => {
    expect(tablesNamed('sql`SELECT e.* FROM reputation_evidence e JOIN ledger_accounts a ON a.agent_id = e.subject_id`')).toEqual(['reputation_evidence', 'ledger_accounts']);
    expect(tablesNamed("db.selectFrom('agents').select('id')")).toEqual(['agents']);
    expect(tablesNamed("db.selectFrom('agents as a').select('a.id')")).toEqual(['agents']);
    expect(tablesNamed('sql`SELECT w.agent_id FROM ledger_accounts w CROSS JOIN LATERAL (SELECT 1 FROM ledger_entries e) f`')).toEqual(['ledger_accounts', 'ledger_entries']);
    expect(tablesNamed('sql`WITH d AS (DELETE FROM outbox_events RETURNING seq) SELECT count(*) FROM d`')).toEqual(['outbox_events']);
    expect(tablesNamed("db.with('u', (db) => db.updateTable('agreements')).selectFrom('u')")).toEqual(['agreements']);
    expect(tablesNamed('sql`SELECT u.* FROM unnest(${ids}::uuid[]) AS u(id) JOIN escrows x ON x.id = u.id`')).toEqual(['escrows']);
    expect(tablesNamed('// SELECT FOR UPDATE would deadlock\n/* JOIN agents */ sql`INSERT INTO agreements`')).toEqual(['agreements']);
    expect(tablesNamed('sql`INSERT INTO outbox_events (type) SELECT t FROM ROWS FROM (unnest(${types}::text[])) AS r(t)`')).toEqual(['outbox_events']);
    expect(tablesNamed('sql`INSERT INTO availability_heartbeats (id) VALUES (1) ON CONFLICT (id) DO UPDATE SET id = 2`')).toEqual(['availability_heartbeats']);
  });

  it('reads the tables a .tables.ts declares', () => {
    expect(owned.get('agents')).toEqual(['agents']);
    expect(owned.get('platform')).toEqual(['idempotency_keys', 'outbox_events', 'outbox_state']);
    expect(owned.get('ledger')).toContain('escrows');
  });
});
