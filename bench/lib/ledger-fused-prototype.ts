/**
 * BENCH-ONLY PROTOTYPE of a proposed LedgerService.executeIn, for posted transfers only (no pendings,
 * no linked groups), to measure what the proposal would buy. Not used by the service.
 *
 * The current executeIn (working tree of 2026-11-24) makes, on PostgreSQL, BEGIN + 4 statements + COMMIT
 * per call: lock the accounts; advisory locks on buckets of the transfer ids; look up earlier outcomes;
 * write transfers + entries + counters in one CTE statement built from multi-row VALUES (one bind
 * parameter per column per row: ~28 per transfer, chunked by 1,000 transfers). The prototype keeps the
 * same steps and the same lock order, and changes two things:
 *   1. the account locks and the advisory locks are one statement (both only lock; the account rows
 *      come back at their latest version; a one-time filter makes every account lock come before the
 *      advisory locks, the current order). The lookup stays a separate statement after the locks, so it
 *      sees what a competing submitter of the same id committed while we waited.
 *   2. the write is one statement of data-modifying CTEs over unnest() of one array per column: a
 *      fixed two dozen parameters whatever the batch size (no chunking, no 65,535-parameter ceiling, a short
 *      statement text that Kysely compiles in microseconds and PostgreSQL can keep prepared).
 * A transfer id committed concurrently is still caught by INSERT ... ON CONFLICT DO NOTHING (count
 * check -> retry), as in the current code.
 */
import { sql } from 'kysely';
import type { Database } from '../../src/database.js';
import { applyTransfers, type AccountState, type TransferInput } from '../../src/modules/ledger/ledger.engine.js';
import { fieldsHash } from '../../src/modules/ledger/ledger.decide.js';

/** As in ledger.service.ts (working tree): advisory-lock namespace of transfer-id buckets. */
const ID_LOCK_SPACE = 0x1ed9e;

class Retry extends Error {
  readonly code = '40001';
}

export async function fusedExecutePosted(database: Database, inputs: TransferInput[], batchId: string | null = null): Promise<{ created: number; rejected: number; existing: number }> {
  return database.transaction(async (tx) => {
    const now = new Date();
    const ids = inputs.map((i) => i.id);
    const sorted = [...new Set(inputs.flatMap((i) => [i.debitAccountId!, i.creditAccountId!]))].sort();
    type AccountRow = { id: string; no_overdraft: boolean; dp: bigint; dpo: bigint; cp: bigint; cpo: bigint };
    const locked = database.kind === 'postgres'
      ? (await sql<AccountRow>`
          WITH a AS MATERIALIZED (
            SELECT id, no_overdraft, debits_pending AS dp, debits_posted AS dpo, credits_pending AS cp, credits_posted AS cpo
            FROM ledger_accounts WHERE id = ANY(${sorted}::uuid[]) ORDER BY id FOR NO KEY UPDATE),
          l AS MATERIALIZED (
            SELECT count(pg_advisory_xact_lock(${ID_LOCK_SPACE}::int4, b)) AS n
            FROM (SELECT DISTINCT hashtext(x) & 255 AS b FROM unnest(${ids}::text[]) AS x ORDER BY b) s
            WHERE (SELECT count(*) FROM a) >= 0)
          SELECT a.* FROM a WHERE (SELECT n FROM l) >= 0`.execute(tx)).rows
      : (await sql<AccountRow>`
          SELECT id, no_overdraft, debits_pending AS dp, debits_posted AS dpo, credits_pending AS cp, credits_posted AS cpo
          FROM ledger_accounts WHERE id = ANY(${sorted}::uuid[]) ORDER BY id FOR NO KEY UPDATE`.execute(tx)).rows;
    const seenRows = (await sql<{ id: string }>`
      SELECT id FROM ledger_transfers WHERE id = ANY(${ids}::uuid[])
      UNION ALL SELECT id FROM ledger_rejections WHERE id = ANY(${ids}::uuid[])`.execute(tx)).rows;
    const accounts = new Map<string, AccountState>(locked.map((r) => [r.id, {
      id: r.id, noOverdraft: r.no_overdraft, debitsPending: BigInt(r.dp), debitsPosted: BigInt(r.dpo), creditsPending: BigInt(r.cp), creditsPosted: BigInt(r.cpo),
    }]));
    const seen = new Set(seenRows.map((r) => r.id));
    const fresh = inputs.filter((i) => !seen.has(i.id));
    const applied = applyTransfers(accounts, new Map(), fresh, now.getTime(), false);
    const t = applied.transfers;
    const e = applied.entries;
    const touched = [...new Set(e.map((x) => x.accountId))].sort().map((id) => accounts.get(id)!);
    const hash = new Map(fresh.map((i) => [i.id, fieldsHash(i)]));
    if (t.length) {
      const res = (await sql<{ t: number }>`
        WITH t AS (
          INSERT INTO ledger_transfers (id, kind, debit_account_id, credit_account_id, amount, pending_id, timeout_at, code, reference, batch_id, fields_hash, created_at)
          SELECT v.id, v.kind, v.dr, v.cr, v.amount, NULL, NULL, v.code, v.reference, ${batchId}::uuid, v.fh, ${now}::timestamptz
          FROM unnest(${t.map((x) => x.id)}::uuid[], ${t.map((x) => x.kind)}::text[], ${t.map((x) => x.debitAccountId)}::uuid[],
            ${t.map((x) => x.creditAccountId)}::uuid[], ${t.map((x) => x.amount.toString())}::int8[], ${t.map((x) => x.code)}::text[],
            ${t.map((x) => x.reference)}::text[], ${t.map((x) => hash.get(x.id)!)}::text[]) AS v(id, kind, dr, cr, amount, code, reference, fh)
          ON CONFLICT (id) DO NOTHING RETURNING 1),
        u AS (
          UPDATE ledger_accounts AS a SET debits_pending = v.dp, debits_posted = v.dpo, credits_pending = v.cp, credits_posted = v.cpo
          FROM unnest(${touched.map((a) => a.id)}::uuid[], ${touched.map((a) => a.debitsPending.toString())}::int8[],
            ${touched.map((a) => a.debitsPosted.toString())}::int8[], ${touched.map((a) => a.creditsPending.toString())}::int8[],
            ${touched.map((a) => a.creditsPosted.toString())}::int8[]) AS v(id, dp, dpo, cp, cpo)
          WHERE a.id = v.id RETURNING 1),
        e AS (
          INSERT INTO ledger_entries (transfer_id, account_id, side, pending_delta, posted_delta, balance_after, available_after, created_at)
          SELECT v.*, ${now}::timestamptz FROM unnest(${e.map((x) => x.transferId)}::uuid[], ${e.map((x) => x.accountId)}::uuid[],
            ${e.map((x) => x.side)}::text[], ${e.map((x) => x.pendingDelta.toString())}::int8[], ${e.map((x) => x.postedDelta.toString())}::int8[],
            ${e.map((x) => x.balanceAfter.toString())}::int8[], ${e.map((x) => x.availableAfter.toString())}::int8[])
            AS v(transfer_id, account_id, side, pending_delta, posted_delta, balance_after, available_after)
          RETURNING 1)
        SELECT (SELECT count(*) FROM t)::int AS t, (SELECT count(*) FROM u)::int AS u, (SELECT count(*) FROM e)::int AS e`.execute(tx)).rows[0]!;
      if (Number(res.t) !== t.length) throw new Retry('a transfer id was inserted concurrently');
    }
    const rejected = applied.results.filter((r) => r.status === 'rejected');
    if (rejected.length) {
      await sql`INSERT INTO ledger_rejections (id, fields_hash, code, created_at)
        SELECT v.id, v.fh, v.code, ${now}::timestamptz FROM unnest(${rejected.map((r) => r.id)}::uuid[], ${rejected.map((r) => hash.get(r.id)!)}::text[],
          ${rejected.map((r) => (r as { code: string }).code)}::text[]) AS v(id, fh, code)
        ON CONFLICT (id) DO NOTHING`.execute(tx);
    }
    return { created: t.length, rejected: rejected.length, existing: inputs.length - fresh.length };
  });
}
