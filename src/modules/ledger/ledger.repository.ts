/**
 * The ledger's SQL: the tables ledger_accounts, ledger_transfers, ledger_ids, ledger_rejections and
 * ledger_entries (and escrows, for who may read an escrow's legs, and for the audit). The write path is two
 * statements whatever the size of a group: one that locks the accounts and reads what the group needs,
 * one that writes everything decided (see `LedgerService.execute` for the group commit around them).
 *
 * Concurrency: the touched accounts are locked in sorted id order with FOR NO KEY UPDATE (plain FOR UPDATE
 * would deadlock against the KEY SHARE locks that foreign keys take). On PGlite the dialect serialises
 * transactions.
 */
import { sql } from 'kysely';
import { PREPARE, type Database } from '../../database.js';
import type { AccountState, PendingState, RejectCode, TransferInput } from './ledger.engine.js';
import type { Decided, EarlierOutcome, GroupState } from './ledger.decide.js';
import type { TransferEventColumns } from './ledger.events.js';
import type { AuditReport, HistoryRow, StoredTransfer, Tx } from './ledger.types.js';

/** A transaction must be retried from the start (a concurrent transaction decided one of its ids first). */
class RetryTransaction extends Error {
  readonly code = '40001';
}

type TransferRow = {
  id: string; kind: StoredTransfer['kind']; debit_account_id: string; credit_account_id: string; amount: bigint; pending_id: string | null;
  timeout_at: Date | null; code: string; reference: string | null; batch_id: string | null; created_at: Date;
};

function toStored(r: TransferRow): StoredTransfer {
  return {
    id: r.id, kind: r.kind, debitAccountId: r.debit_account_id, creditAccountId: r.credit_account_id, amount: r.amount,
    pendingId: r.pending_id, timeoutAt: r.timeout_at ? r.timeout_at.getTime() : null, code: r.code, reference: r.reference,
    batchId: r.batch_id, createdAt: r.created_at,
  };
}

type AccountRow = { id: string; agent_id: string | null; no_overdraft: boolean; debits_pending: bigint; debits_posted: bigint; credits_pending: bigint; credits_posted: bigint };
/** An id stored before: a transfer (rej_code null) or a rejection. */
type SeenRow = { id: string; fields_hash: string; rej_code: string | null };

/** Sums of an account's entries after entry `afterSeq`, beside the account's posted counters (one snapshot). */
export interface EntrySums {
  creditsPosted: bigint;
  debitsPosted: bigint;
  lastSeq: string | null;
  earned: bigint;
  spent: bigint;
  refunds: bigint;
  credits: bigint;
  debits: bigint;
  count: number;
}

export class LedgerRepository {
  constructor(private readonly database: Database) {}

  async insertAccount(tx: Tx, a: { id: string; key: string; kind: 'wallet' | 'escrow'; agentId: string | null; createdAt: Date }, opts: { ifAbsent: boolean }): Promise<void> {
    const q = tx.insertInto('ledger_accounts').values({
      id: a.id, key: a.key, kind: a.kind, agent_id: a.agentId, no_overdraft: true, created_at: a.createdAt,
    });
    await (opts.ifAbsent ? q.onConflict((oc) => oc.column('id').doNothing()) : q).execute();
  }

  /**
   * Locks every account the inputs touch (in sorted order) and reads, under the locks, what deciding them
   * needs: the accounts' counters, the holds that resolving inputs name (and whether they are resolved),
   * and the earlier outcomes of the inputs' ids.
   */
  async lockGroup(tx: Tx, inputs: readonly TransferInput[]): Promise<GroupState> {
    const ids = [...new Set(inputs.map((i) => i.id))];

    // Pending transfers named by post/void/expire (immutable rows: safe to read before locking).
    const pendingIds = [...new Set(inputs.filter((i) => i.pendingId).map((i) => i.pendingId!))];
    const pendingRows = pendingIds.length
      ? await tx.selectFrom('ledger_transfers').selectAll().where('id', 'in', pendingIds).where('kind', '=', 'pending').execute()
      : [];

    const accountIds = new Set<string>();
    for (const i of inputs) {
      if (i.debitAccountId) accountIds.add(i.debitAccountId);
      if (i.creditAccountId) accountIds.add(i.creditAccountId);
    }
    for (const p of pendingRows) {
      accountIds.add(p.debit_account_id);
      accountIds.add(p.credit_account_id);
    }
    const sorted = [...accountIds].sort();
    let accountRows: AccountRow[];
    let seen: SeenRow[];
    let resolved = new Set<string>();
    if (pendingIds.length === 0) {
      // The common case (posted transfers, new holds): lock the accounts in sorted order and look up
      // earlier outcomes of these ids in one statement. Locked rows are returned at their latest
      // version; the lookup may miss an id committed while we waited for a lock, which the write
      // catches (ledger_ids) and answers by retrying the transaction.
      const rows = (await sql<AccountRow & { src: string; fields_hash: string | null; rej_code: string | null }>`${sql.raw(PREPARE)}
        WITH locked AS (
          SELECT id, agent_id, no_overdraft, debits_pending, debits_posted, credits_pending, credits_posted
          FROM ledger_accounts WHERE id = ANY(${sorted}::uuid[]) ORDER BY id FOR NO KEY UPDATE
        )
        SELECT 'a' AS src, id, agent_id, no_overdraft, debits_pending, debits_posted, credits_pending, credits_posted, NULL::text AS fields_hash, NULL::text AS rej_code FROM locked
        UNION ALL
        SELECT 't', id, NULL, NULL, NULL, NULL, NULL, NULL, fields_hash, NULL FROM ledger_transfers WHERE id = ANY(${ids}::uuid[])
        UNION ALL
        SELECT 'r', id, NULL, NULL, NULL, NULL, NULL, NULL, fields_hash, code FROM ledger_rejections WHERE id = ANY(${ids}::uuid[])`.execute(tx)).rows;
      accountRows = rows.filter((r) => r.src === 'a');
      seen = rows.filter((r) => r.src !== 'a').map((r) => ({ id: r.id, fields_hash: r.fields_hash!, rej_code: r.rej_code }));
    } else {
      // Resolving holds: whether a hold is already resolved must be read after the locks.
      accountRows = sorted.length
        ? (await sql<AccountRow>`
            SELECT id, agent_id, no_overdraft, debits_pending, debits_posted, credits_pending, credits_posted
            FROM ledger_accounts WHERE id = ANY(${sorted}::uuid[]) ORDER BY id FOR NO KEY UPDATE`.execute(tx)).rows
        : [];
      const rows = (await sql<SeenRow & { src: string }>`
        SELECT 't' AS src, id, fields_hash, NULL::text AS rej_code FROM ledger_transfers WHERE id = ANY(${ids}::uuid[])
        UNION ALL
        SELECT 'r', id, fields_hash, code FROM ledger_rejections WHERE id = ANY(${ids}::uuid[])
        UNION ALL
        SELECT 'p', pending_id, '', NULL FROM ledger_transfers WHERE pending_id = ANY(${pendingIds}::uuid[])`.execute(tx)).rows;
      seen = rows.filter((r) => r.src !== 'p');
      resolved = new Set(rows.filter((r) => r.src === 'p').map((r) => r.id));
    }
    const transferIds = seen.filter((r) => r.rej_code === null).map((r) => r.id);
    const transfers = transferIds.length ? await tx.selectFrom('ledger_transfers').selectAll().where('id', 'in', transferIds).execute() : [];

    const earlier = new Map<string, EarlierOutcome>();
    for (const t of transfers) earlier.set(t.id, { fieldsHash: t.fields_hash, transfer: toStored(t) });
    for (const r of seen) if (r.rej_code !== null && !earlier.has(r.id)) earlier.set(r.id, { fieldsHash: r.fields_hash, code: r.rej_code as RejectCode });
    const agentOf = new Map<string, string>();
    for (const a of accountRows) if (a.agent_id !== null) agentOf.set(a.id, a.agent_id);
    const accounts = new Map<string, AccountState>(
      accountRows.map((a) => [a.id, {
        id: a.id, noOverdraft: a.no_overdraft, debitsPending: BigInt(a.debits_pending), debitsPosted: BigInt(a.debits_posted),
        creditsPending: BigInt(a.credits_pending), creditsPosted: BigInt(a.credits_posted),
      }]),
    );
    const pendings = new Map<string, PendingState>(
      pendingRows.map((p) => [p.id, {
        id: p.id, debitAccountId: p.debit_account_id, creditAccountId: p.credit_account_id, amount: p.amount,
        timeoutAt: p.timeout_at ? p.timeout_at.getTime() : null, resolved: resolved.has(p.id),
      }]),
    );
    return { accounts, agentOf, pendings, earlier };
  }

  /**
   * Writes a decided group in one statement whatever its size (columns as arrays, unnest): every decided id
   * (ledger_ids: a transfer and a rejection can never both exist for one id, even when two submissions
   * share no account lock), transfers, entries, the touched accounts' counters, rejections, and the
   * transfers' stream events. Foreign keys from entries to transfers inserted by a sibling CTE are checked
   * at the end of the statement, when both exist. A conflict means a concurrent transaction decided an id
   * first: RetryTransaction, and the retried transaction then sees that outcome.
   */
  async writeGroup(tx: Tx, now: Date, decided: Decided, touched: readonly AccountState[], events: TransferEventColumns): Promise<void> {
    const { transfers, entries, rejections, hashes } = decided;
    const ids = [...transfers.map((t) => t.id), ...rejections.map((r) => r.id)];
    const text = (v: bigint) => v.toString();
    try {
      const res = await sql<{ ids: bigint; transfers: bigint }>`${sql.raw(PREPARE)}
        WITH d AS (
          INSERT INTO ledger_ids (id) SELECT unnest(${ids}::uuid[]) ON CONFLICT DO NOTHING RETURNING id
        ), t AS (
          INSERT INTO ledger_transfers (id, kind, debit_account_id, credit_account_id, amount, pending_id, timeout_at, code, reference, fields_hash, batch_id, created_at)
          SELECT u.*, ${now}::timestamptz FROM unnest(
            ${transfers.map((t) => t.id)}::uuid[], ${transfers.map((t) => t.kind)}::text[], ${transfers.map((t) => t.debitAccountId)}::uuid[], ${transfers.map((t) => t.creditAccountId)}::uuid[],
            ${transfers.map((t) => text(t.amount))}::int8[], ${transfers.map((t) => t.pendingId)}::uuid[],
            ${transfers.map((t) => (t.timeoutAt === null ? null : new Date(t.timeoutAt).toISOString()))}::timestamptz[],
            ${transfers.map((t) => t.code)}::text[], ${transfers.map((t) => t.reference)}::text[], ${transfers.map((t) => hashes.get(t.id)!)}::text[],
            ${transfers.map((t) => t.batchId)}::uuid[]
          ) AS u
          ON CONFLICT (id) DO NOTHING
          RETURNING id
        ), e AS (
          INSERT INTO ledger_entries (transfer_id, account_id, side, pending_delta, posted_delta, balance_after, available_after, created_at)
          SELECT u.*, ${now}::timestamptz FROM unnest(
            ${entries.map((e) => e.transferId)}::uuid[], ${entries.map((e) => e.accountId)}::uuid[], ${entries.map((e) => e.side)}::text[],
            ${entries.map((e) => text(e.pendingDelta))}::int8[], ${entries.map((e) => text(e.postedDelta))}::int8[],
            ${entries.map((e) => text(e.balanceAfter))}::int8[], ${entries.map((e) => text(e.availableAfter))}::int8[]
          ) AS u
          RETURNING 1
        ), a AS (
          UPDATE ledger_accounts AS a SET debits_pending = v.dp, debits_posted = v.dpo, credits_pending = v.cp, credits_posted = v.cpo
          FROM unnest(
            ${touched.map((r) => r.id)}::uuid[], ${touched.map((r) => text(r.debitsPending))}::int8[], ${touched.map((r) => text(r.debitsPosted))}::int8[],
            ${touched.map((r) => text(r.creditsPending))}::int8[], ${touched.map((r) => text(r.creditsPosted))}::int8[]
          ) AS v(id, dp, dpo, cp, cpo)
          WHERE a.id = v.id
          RETURNING 1
        ), r AS (
          INSERT INTO ledger_rejections (id, fields_hash, code, created_at)
          SELECT u.*, ${now}::timestamptz FROM unnest(
            ${rejections.map((x) => x.id)}::uuid[], ${rejections.map((x) => hashes.get(x.id)!)}::text[], ${rejections.map((x) => x.code)}::text[]
          ) AS u
          ON CONFLICT (id) DO NOTHING
          RETURNING 1
        ), o AS (
          INSERT INTO outbox_events (type, agent_ids, data, at)
          SELECT u.type, array_remove(ARRAY[u.sender, u.receiver], NULL), u.data, ${now}::timestamptz
          FROM ROWS FROM (
            unnest(${events.types}::text[]), unnest(${events.senders}::text[]), unnest(${events.receivers}::text[]), jsonb_array_elements(${events.dataJson}::jsonb)
          ) AS u(type, sender, receiver, data)
        )
        SELECT (SELECT count(*) FROM d)::int8 AS ids, (SELECT count(*) FROM t)::int8 AS transfers`.execute(tx);
      const row = res.rows[0];
      if (Number(row?.ids ?? 0) !== ids.length || Number(row?.transfers ?? 0) !== transfers.length) {
        throw new RetryTransaction('a transfer id was decided concurrently');
      }
    } catch (err) {
      // A hold resolved concurrently (unique pending_id) is the same race: retry, and see it resolved.
      if ((err as { code?: string }).code === '23505' && String((err as { constraint?: string }).constraint ?? '').includes('pending')) {
        throw new RetryTransaction('a hold was resolved concurrently');
      }
      throw err;
    }
  }

  /** Unresolved holds whose timeout has passed, oldest first. */
  async dueHoldIds(now: Date, limit: number): Promise<string[]> {
    const due = await this.database.db.selectFrom('ledger_transfers as p')
      .select('p.id')
      .where('p.kind', '=', 'pending')
      .where('p.timeout_at', '<=', now)
      .where(({ not, exists, selectFrom }) => not(exists(selectFrom('ledger_transfers as r').select('r.id').whereRef('r.pending_id', '=', 'p.id'))))
      .orderBy('p.timeout_at')
      .limit(limit)
      .execute();
    return due.map((d) => d.id);
  }

  async getAccount(id: string) {
    return this.database.db.selectFrom('ledger_accounts').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async getTransfer(id: string): Promise<StoredTransfer | undefined> {
    const r = await this.database.db.selectFrom('ledger_transfers').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? toStored(r) : undefined;
  }

  /** The payer and payee of an escrow, if it exists. */
  async escrowParties(escrowId: string): Promise<{ payerAgentId: string; payeeAgentId: string } | undefined> {
    const r = await this.database.db.selectFrom('escrows').select(['payer_agent_id', 'payee_agent_id']).where('id', '=', escrowId).executeTakeFirst();
    return r ? { payerAgentId: r.payer_agent_id, payeeAgentId: r.payee_agent_id } : undefined;
  }

  /** An account's entries, newest first, keyset-paginated on the entry sequence. */
  async history(accountId: string, opts: { beforeSeq?: bigint; limit: number }): Promise<HistoryRow[]> {
    let q = this.database.db.selectFrom('ledger_entries as e')
      .innerJoin('ledger_transfers as t', 't.id', 'e.transfer_id')
      .innerJoin('ledger_accounts as c', (j) => j.on((eb) => eb('c.id', '=', eb.case().when('e.side', '=', 'debit').then(eb.ref('t.credit_account_id')).else(eb.ref('t.debit_account_id')).end())))
      .select(['e.seq', 'e.transfer_id', 't.kind', 't.code', 'e.side', 'c.id as counterparty_id', 'c.key as counterparty_key', 't.amount', 'e.pending_delta', 'e.posted_delta',
        'e.balance_after', 'e.available_after', 't.reference', 'e.created_at'])
      .where('e.account_id', '=', accountId)
      .orderBy('e.seq', 'desc')
      .limit(opts.limit);
    if (opts.beforeSeq !== undefined) q = q.where('e.seq', '<', opts.beforeSeq);
    const rows = await q.execute();
    return rows.map((r) => ({
      seq: r.seq, transferId: r.transfer_id, kind: r.kind, code: r.code, side: r.side, counterpartyAccountId: r.counterparty_id, counterpartyKey: r.counterparty_key,
      amount: r.amount, pendingDelta: r.pending_delta, postedDelta: r.posted_delta, balanceAfter: r.balance_after, availableAfter: r.available_after,
      reference: r.reference, createdAt: r.created_at,
    }));
  }

  /** The account's posted counters and the sums of its entries after `afterSeq`, in one statement (one snapshot). */
  async entrySums(accountId: string, afterSeq: string): Promise<EntrySums> {
    const r = (await sql<{ cp: bigint | null; dp: bigint | null; last: string | null; earned: bigint | null; spent: bigint | null; refunds: bigint | null; credits: bigint | null; debits: bigint | null; n: bigint }>`
      SELECT
        (SELECT credits_posted FROM ledger_accounts WHERE id = ${accountId}::uuid) AS cp,
        (SELECT debits_posted FROM ledger_accounts WHERE id = ${accountId}::uuid) AS dp,
        max(e.seq)::text AS last,
        sum(CASE WHEN e.side = 'credit' AND t.code IN ('payment', 'escrow_release') THEN e.posted_delta ELSE 0 END)::int8 AS earned,
        sum(CASE WHEN e.side = 'debit' AND t.code IN ('payment', 'escrow_fund') THEN e.posted_delta ELSE 0 END)::int8 AS spent,
        sum(CASE WHEN e.side = 'credit' AND t.code = 'escrow_refund' THEN e.posted_delta ELSE 0 END)::int8 AS refunds,
        sum(CASE WHEN e.side = 'credit' THEN e.posted_delta ELSE 0 END)::int8 AS credits,
        sum(CASE WHEN e.side = 'debit' THEN e.posted_delta ELSE 0 END)::int8 AS debits,
        count(*)::int8 AS n
      FROM ledger_entries e JOIN ledger_transfers t ON t.id = e.transfer_id
      WHERE e.account_id = ${accountId}::uuid AND e.seq > ${afterSeq}::int8`.execute(this.database.db)).rows[0]!;
    return {
      creditsPosted: r.cp ?? 0n, debitsPosted: r.dp ?? 0n, lastSeq: r.last, earned: r.earned ?? 0n, spent: r.spent ?? 0n,
      refunds: r.refunds ?? 0n, credits: r.credits ?? 0n, debits: r.debits ?? 0n, count: Number(r.n),
    };
  }

  /** The ledger's invariants checked on the stored data (see `LedgerService.audit`); at most 20 violations of each kind. */
  async audit(): Promise<AuditReport> {
    const db = this.database.db;
    const violations: string[] = [];
    const sums = (await sql<{ n: bigint; bal: bigint | null; dp: bigint | null; cp: bigint | null }>`
      SELECT count(*)::int8 AS n, sum(credits_posted - debits_posted)::int8 AS bal, sum(debits_pending)::int8 AS dp, sum(credits_pending)::int8 AS cp
      FROM ledger_accounts`.execute(db)).rows[0]!;
    if ((sums.bal ?? 0n) !== 0n) violations.push(`posted balances sum to ${sums.bal}, not 0`);
    if ((sums.dp ?? 0n) !== (sums.cp ?? 0n)) violations.push(`pending debits ${sums.dp} differ from pending credits ${sums.cp}`);
    const drift = (await sql<{ id: string }>`
      SELECT a.id FROM ledger_accounts a LEFT JOIN (
        SELECT account_id,
          sum(CASE WHEN side = 'debit' THEN posted_delta ELSE 0 END)::int8 AS dpo,
          sum(CASE WHEN side = 'credit' THEN posted_delta ELSE 0 END)::int8 AS cpo,
          sum(CASE WHEN side = 'debit' THEN pending_delta ELSE 0 END)::int8 AS dp,
          sum(CASE WHEN side = 'credit' THEN pending_delta ELSE 0 END)::int8 AS cp
        FROM ledger_entries GROUP BY account_id) e ON e.account_id = a.id
      WHERE a.debits_posted <> coalesce(e.dpo, 0) OR a.credits_posted <> coalesce(e.cpo, 0)
         OR a.debits_pending <> coalesce(e.dp, 0) OR a.credits_pending <> coalesce(e.cp, 0)
      LIMIT 20`.execute(db)).rows;
    for (const d of drift) violations.push(`account ${d.id}: cached counters differ from its entries`);
    const unbalanced = (await sql<{ transfer_id: string }>`
      SELECT transfer_id FROM ledger_entries GROUP BY transfer_id
      HAVING count(*) <> 2
        OR sum(CASE WHEN side = 'debit' THEN posted_delta ELSE -posted_delta END) <> 0
        OR sum(CASE WHEN side = 'debit' THEN pending_delta ELSE -pending_delta END) <> 0
      LIMIT 20`.execute(db)).rows;
    for (const u of unbalanced) violations.push(`transfer ${u.transfer_id}: entries do not balance`);
    const orphans = (await sql<{ seq: bigint }>`
      SELECT e.seq FROM ledger_entries e
      WHERE NOT EXISTS (SELECT 1 FROM ledger_transfers t WHERE t.id = e.transfer_id)
         OR NOT EXISTS (SELECT 1 FROM ledger_accounts a WHERE a.id = e.account_id)
      LIMIT 20`.execute(db)).rows;
    for (const o of orphans) violations.push(`entry ${o.seq}: its transfer or account does not exist`);
    const dangling = (await sql<{ id: string }>`
      SELECT t.id FROM ledger_transfers t
      WHERE NOT EXISTS (SELECT 1 FROM ledger_accounts a WHERE a.id = t.debit_account_id)
         OR NOT EXISTS (SELECT 1 FROM ledger_accounts a WHERE a.id = t.credit_account_id)
         OR (t.pending_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ledger_transfers p WHERE p.id = t.pending_id AND p.kind = 'pending'))
      LIMIT 20`.execute(db)).rows;
    for (const d of dangling) violations.push(`transfer ${d.id}: an account or the hold it resolves does not exist`);
    const missing = (await sql<{ id: string }>`
      SELECT t.id FROM ledger_transfers t WHERE NOT EXISTS (SELECT 1 FROM ledger_entries e WHERE e.transfer_id = t.id) LIMIT 20`.execute(db)).rows;
    for (const m of missing) violations.push(`transfer ${m.id}: has no entries`);
    const negative = (await sql<{ id: string }>`
      SELECT id FROM ledger_accounts WHERE no_overdraft AND credits_posted - debits_posted - debits_pending < 0 LIMIT 20`.execute(db)).rows;
    for (const n of negative) violations.push(`account ${n.id}: below zero counting holds`);
    const escrows = (await sql<{ id: string }>`
      SELECT s.id FROM escrows s JOIN ledger_accounts a ON a.id = s.account_id
      WHERE s.amount <> s.released + s.refunded + (a.credits_posted - a.debits_posted) LIMIT 20`.execute(db)).rows;
    for (const e of escrows) violations.push(`escrow ${e.id}: amount differs from released + refunded + held`);
    const treasury = await db.selectFrom('ledger_accounts').select(['credits_posted', 'debits_posted']).where('kind', 'in', ['treasury', 'bridge']).execute();
    const supply = -treasury.reduce((s, a) => s + a.credits_posted - a.debits_posted, 0n);
    const transfers = (await sql<{ n: bigint }>`SELECT count(*)::int8 AS n FROM ledger_transfers`.execute(db)).rows[0]!.n;
    return { ok: violations.length === 0, violations, accounts: Number(sums.n), transfers: Number(transfers), supply };
  }
}
