/**
 * The reputation module names only its own tables: the agents and the ledger are read through their
 * services and ports (AgentsService, FirstFunders), never by SQL here.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const DIR = join(import.meta.dirname, '.');

/** Every table a source names after FROM / JOIN / INTO / UPDATE or in a Kysely query builder call. */
export function tablesNamed(source: string): string[] {
  const names: string[] = [];
  for (const m of source.matchAll(/\b(?:FROM|JOIN|INTO|UPDATE)\s+(?:LATERAL\s+|ONLY\s+)?(?!LATERAL\b)([A-Za-z_][A-Za-z0-9_.]*)/g)) names.push(m[1]!);
  for (const m of source.matchAll(/\b(?:selectFrom|insertInto|updateTable|deleteFrom|mergeInto)\(\s*['"`]([^'"`\s]+)/g)) names.push(m[1]!);
  return names;
}

const sources = readdirSync(DIR).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));

describe('reputation SQL', () => {
  it('names only reputation_* tables', () => {
    const foreign: string[] = [];
    let named = 0;
    for (const f of sources) {
      for (const t of tablesNamed(readFileSync(join(DIR, f), 'utf8'))) {
        named++;
        if (!t.startsWith('reputation_')) foreign.push(`${f}: ${t}`);
      }
    }
    expect(foreign).toEqual([]);
    expect(named).toBeGreaterThan(5); // the check sees the repository's queries
  });

  it('catches a join of another module\'s table', () => {
    const withLedgerJoin = "sql`SELECT e.* FROM reputation_evidence e JOIN ledger_accounts a ON a.agent_id = e.subject_id`";
    expect(tablesNamed(withLedgerJoin).filter((t) => !t.startsWith('reputation_'))).toEqual(['ledger_accounts']);
    expect(tablesNamed("db.selectFrom('agents').select('id')")).toEqual(['agents']);
    expect(tablesNamed('sql`SELECT w.agent_id FROM ledger_accounts w CROSS JOIN LATERAL (SELECT 1 FROM ledger_entries e) f`')).toEqual(['ledger_accounts', 'ledger_entries']);
  });
});
