/**
 * The ledger: the only code that writes ledger tables. Every token that moves goes through
 * `executeIn` (inside a caller's transaction) or `execute` (in its own, retried on PostgreSQL
 * deadlocks and serialization failures with the same transfer ids).
 *
 * Concurrency: the touched accounts are locked in sorted id order with FOR NO KEY UPDATE (plain
 * FOR UPDATE would deadlock against the KEY SHARE locks that foreign keys take). On PGlite the
 * dialect serialises transactions. Idempotency: a transfer id is its own idempotency key; an existing
 * transfer or rejection with the same id is returned as it was, and the same id with other fields is
 * `exists_with_different_fields`.
 */
import { createHash } from 'node:crypto';
import { sql, type Transaction } from 'kysely';
import { PREPARE, type Database } from '../../database.js';
import type { DB } from '../../database.js';
import type { Clock } from '../../platform/clock.js';
import { uuidFromName, uuidv7 } from '../../platform/ids.js';
import type { EventOutbox } from '../../platform/events/outbox.js';
import { transferJson } from './ledger.json.js';
import {
  applyTransfers, type AccountState, type NewEntry, type NewTransfer, type PendingState, type RejectCode, type TransferInput,
} from './ledger.engine.js';

export type Tx = Transaction<DB>;

export const SYSTEM_ACCOUNTS = {
  treasury: uuidFromName('account:system:treasury'),
  fees: uuidFromName('account:system:fees'),
  rewards: uuidFromName('account:system:rewards'),
  bridge: uuidFromName('account:system:bridge'),
} as const;

/** An account's id is derived from its key, so every process names the same account the same way. */
export const accountIdFromKey = (key: string) => uuidFromName(`account:${key}`);
export const walletAccountId = (agentId: string) => accountIdFromKey(`wallet:${agentId}`);
export const escrowAccountId = (escrowId: string) => accountIdFromKey(`escrow:${escrowId}`);

export interface HistoryRow {
  seq: bigint;
  transferId: string;
  kind: NewTransfer['kind'];
  code: string;
  side: 'debit' | 'credit';
  counterpartyAccountId: string;
  counterpartyKey: string;
  amount: bigint;
  pendingDelta: bigint;
  postedDelta: bigint;
  balanceAfter: bigint;
  availableAfter: bigint;
  reference: string | null;
  createdAt: Date;
}

export type Outcome =
  | { id: string; status: 'created' | 'exists'; transfer: StoredTransfer }
  | { id: string; status: 'rejected'; code: RejectCode };

export interface StoredTransfer extends NewTransfer {
  createdAt: Date;
  batchId: string | null;
}

export interface ExecuteOptions {
  /** Linked transfers: all succeed or all fail. */
  atomic?: boolean;
  batchId?: string;
}

/** Calls written together in one group commit (at most this many transfers). */
const MAX_GROUP_TRANSFERS = 10_000;
/** Group commits in flight at once per process (overlaps one group's Node work with another's I/O). */
const MAX_FLUSHES = 2;

function checkUniqueIds(inputs: readonly TransferInput[]): void {
  const ids = new Set(inputs.map((i) => i.id));
  if (ids.size !== inputs.length) throw new Error('duplicate transfer ids in one call');
}

/** A transaction must be retried from the start (a concurrent insert of the same id won the race). */
class RetryTransaction extends Error {
  readonly code = '40001';
}

export function fieldsHash(i: TransferInput): string {
  return createHash('sha256')
    .update(JSON.stringify([i.kind, i.debitAccountId ?? null, i.creditAccountId ?? null, (i.amount ?? 0n).toString(), i.pendingId ?? null, i.timeoutMs ?? null, i.code, i.reference ?? null]))
    .digest('hex')
    .slice(0, 32);
}

function toStored(r: {
  id: string; kind: NewTransfer['kind']; debit_account_id: string; credit_account_id: string; amount: bigint; pending_id: string | null;
  timeout_at: Date | null; code: string; reference: string | null; batch_id: string | null; created_at: Date;
}): StoredTransfer {
  return {
    id: r.id, kind: r.kind, debitAccountId: r.debit_account_id, creditAccountId: r.credit_account_id, amount: r.amount,
    pendingId: r.pending_id, timeoutAt: r.timeout_at ? r.timeout_at.getTime() : null, code: r.code, reference: r.reference,
    batchId: r.batch_id, createdAt: r.created_at,
  };
}

/** Kept sums of one account's entries up to entry `seq` (see `totals`). */
interface AccountTotals { seq: string; earned: bigint; spent: bigint; refunds: bigint; credits: bigint; debits: bigint; count: number }
/** Accounts whose totals are kept (least recently asked dropped first). */
const TOTALS_CACHE_MAX = 10_000;

export class LedgerService {
  constructor(
    private readonly database: Database,
    private readonly clock: Clock,
    /** Where each created transfer is announced to the agents whose wallets it touches (same statement). */
    private readonly outbox?: EventOutbox,
  ) {}

  /** Opens an agent's wallet (called in the registration transaction). */
  async openWallet(tx: Tx, agentId: string): Promise<string> {
    const id = walletAccountId(agentId);
    await tx.insertInto('ledger_accounts').values({
      id, key: `wallet:${agentId}`, kind: 'wallet', agent_id: agentId, no_overdraft: true, created_at: this.clock.now(),
    }).onConflict((oc) => oc.column('id').doNothing()).execute();
    return id;
  }

  async openEscrowAccount(tx: Tx, escrowId: string): Promise<string> {
    const id = escrowAccountId(escrowId);
    await tx.insertInto('ledger_accounts').values({
      id, key: `escrow:${escrowId}`, kind: 'escrow', agent_id: null, no_overdraft: true, created_at: this.clock.now(),
    }).execute();
    return id;
  }

  /**
   * Runs transfers in their own transaction. Calls that arrive while earlier ones are being written
   * are committed together (group commit, as TigerBeetle batches): one transaction, one lock
   * statement and one write statement for all of them, each call keeping its own outcomes and its
   * own linked (atomic) group. A call's transfers are decided exactly as if it ran alone after the
   * calls queued before it.
   */
  execute(inputs: TransferInput[], opts: ExecuteOptions = {}): Promise<Outcome[]> {
    if (inputs.length === 0) return Promise.resolve([]);
    checkUniqueIds(inputs);
    return new Promise((resolve, reject) => {
      this.queue.push({ inputs, opts, resolve, reject });
      this.flush();
    });
  }

  private readonly queue: Array<{ inputs: TransferInput[]; opts: ExecuteOptions; resolve: (o: Outcome[]) => void; reject: (e: unknown) => void }> = [];
  private flushing = 0;
  private deferred = false;
  private turned = false;

  private flush(): void {
    if (this.flushing >= MAX_FLUSHES || this.queue.length === 0) return;
    if (this.database.kind === 'pglite' && !this.turned) {
      // PGlite runs in this thread: while a group is written, requests cannot reach execute(). Let the
      // event loop turn once, so the calls that are on their way join this group instead of the next.
      if (this.deferred) return;
      this.deferred = true;
      setImmediate(() => {
        this.deferred = false;
        this.turned = true;
        try {
          this.flush();
        } finally {
          this.turned = false;
        }
      });
      return;
    }
    const batch: typeof this.queue = [];
    let n = 0;
    while (this.queue.length && (batch.length === 0 || n + this.queue[0]!.inputs.length <= MAX_GROUP_TRANSFERS)) {
      const c = this.queue.shift()!;
      n += c.inputs.length;
      batch.push(c);
    }
    this.flushing++;
    this.database.transaction((tx) => this.executeMany(tx, batch))
      .then((results) => {
        this.outbox?.poke();
        batch.forEach((c, i) => c.resolve(results[i]!));
      }, (err) => batch.forEach((c) => c.reject(err)))
      .finally(() => {
        this.flushing--;
        this.flush();
      });
  }

  /** Runs transfers inside the caller's transaction. */
  async executeIn(tx: Tx, inputs: TransferInput[], opts: ExecuteOptions = {}): Promise<Outcome[]> {
    if (inputs.length === 0) return [];
    checkUniqueIds(inputs);
    return (await this.executeMany(tx, [{ inputs, opts }]))[0]!;
  }

  /** Several calls' transfers in one transaction: decided call by call, in order; written together. */
  private async executeMany(tx: Tx, calls: ReadonlyArray<{ inputs: TransferInput[]; opts: ExecuteOptions }>): Promise<Outcome[][]> {
    const now = this.clock.now();
    const inputs = calls.flatMap((c) => c.inputs);
    const ids = [...new Set(inputs.map((i) => i.id))];

    // 1. Pending transfers named by post/void/expire (immutable rows: safe to read before locking).
    const pendingIds = [...new Set(inputs.filter((i) => i.pendingId).map((i) => i.pendingId!))];
    const pendingRows = pendingIds.length
      ? await tx.selectFrom('ledger_transfers').selectAll().where('id', 'in', pendingIds).where('kind', '=', 'pending').execute()
      : [];

    // 2. Lock every touched account in sorted order.
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
    type AccountRow = { id: string; agent_id: string | null; no_overdraft: boolean; debits_pending: bigint; debits_posted: bigint; credits_pending: bigint; credits_posted: bigint };
    type SeenRow = { id: string; fields_hash: string; rej_code: string | null };
    let accountRows: AccountRow[];
    let seen: SeenRow[];
    let resolvedRows: { pending_id: string | null }[] = [];
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
      resolvedRows = rows.filter((r) => r.src === 'p').map((r) => ({ pending_id: r.id }));
    }
    const existingIds = seen.filter((r) => r.rej_code === null).map((r) => r.id);
    const existing = existingIds.length ? await tx.selectFrom('ledger_transfers').selectAll().where('id', 'in', existingIds).execute() : [];
    const rejected = seen.filter((r) => r.rej_code !== null).map((r) => ({ id: r.id, fields_hash: r.fields_hash, code: r.rej_code! }));
    const existingById = new Map(existing.map((r) => [r.id, r]));
    const rejectedById = new Map(rejected.map((r) => [r.id, r]));
    const resolved = new Set(resolvedRows.map((r) => r.pending_id));

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

    // 4. Decide, call by call. Ids seen before (stored, or decided earlier in this group) keep their
    //    first outcome.
    const hashes = new Map<string, string>();
    const decidedNow = new Map<string, { hash: string; outcome: Outcome }>();
    const allTransfers: Array<NewTransfer & { batchId: string | null }> = [];
    const allEntries: NewEntry[] = [];
    const allRejections: Array<{ id: string; code: RejectCode }> = [];
    const results: Outcome[][] = [];
    for (const call of calls) {
      const outcomes = new Map<string, Outcome>();
      const fresh: TransferInput[] = [];
      for (const i of call.inputs) {
        const h = fieldsHash(i);
        const ex = existingById.get(i.id);
        const rj = rejectedById.get(i.id);
        const dn = decidedNow.get(i.id);
        if (ex) outcomes.set(i.id, ex.fields_hash === h ? { id: i.id, status: 'exists', transfer: toStored(ex) } : { id: i.id, status: 'rejected', code: 'exists_with_different_fields' });
        else if (rj) outcomes.set(i.id, rj.fields_hash === h ? { id: i.id, status: 'rejected', code: rj.code as RejectCode } : { id: i.id, status: 'rejected', code: 'exists_with_different_fields' });
        else if (dn) {
          outcomes.set(i.id, dn.hash !== h ? { id: i.id, status: 'rejected', code: 'exists_with_different_fields' }
            : dn.outcome.status === 'rejected' ? dn.outcome : { ...dn.outcome, status: 'exists' });
        } else {
          hashes.set(i.id, h);
          fresh.push(i);
        }
      }
      const atomic = call.opts.atomic ?? false;
      if (atomic && outcomes.size > 0 && [...outcomes.values()].some((o) => o.status === 'rejected')) {
        // A linked group that was (partly) rejected before stays rejected as a whole.
        results.push(call.inputs.map((i) => outcomes.get(i.id) ?? { id: i.id, status: 'rejected', code: 'linked_transfer_failed' }));
        continue;
      }
      const applied = applyTransfers(accounts, pendings, fresh, now.getTime(), atomic);
      const batchId = call.opts.batchId ?? null;
      for (const t of applied.transfers) allTransfers.push({ ...t, batchId });
      allEntries.push(...applied.entries);
      for (const r of applied.results) {
        const o: Outcome = r.status === 'created'
          ? { id: r.id, status: 'created', transfer: { ...r.transfer, createdAt: now, batchId } }
          : { id: r.id, status: 'rejected', code: r.code };
        if (r.status === 'rejected') allRejections.push({ id: r.id, code: r.code });
        outcomes.set(r.id, o);
        decidedNow.set(r.id, { hash: hashes.get(r.id)!, outcome: o });
      }
      results.push(call.inputs.map((i) => outcomes.get(i.id)!));
    }

    // 5. Write, in one statement whatever the batch size (columns as arrays, unnest): every decided id
    //    (ledger_ids: a transfer and a rejection can never both exist for one id, even when two
    //    submissions share no account lock), transfers, entries, the accounts' counters, rejections.
    //    Foreign keys from entries to transfers inserted by a sibling CTE are checked at the end of the
    //    statement, when both exist. A conflict means a concurrent transaction decided an id first:
    //    the whole transaction is retried and then sees that outcome.
    const rejections = allRejections;
    if (allTransfers.length || rejections.length) {
      const T = allTransfers;
      const E = allEntries;
      // The stream events of the created transfers: one to each agent whose wallet a transfer touches.
      const evType: string[] = [];
      const evAgent: string[] = [];
      const evData: string[] = [];
      if (this.outbox) {
        for (const t of T) {
          const from = agentOf.get(t.debitAccountId);
          const to = agentOf.get(t.creditAccountId);
          if (from === undefined && to === undefined) continue;
          const data = JSON.stringify({ transferId: t.id, ...transferJson({ ...t, createdAt: now }) });
          if (from !== undefined) { evType.push('transfer.sent'); evAgent.push(from); evData.push(data); }
          if (to !== undefined) { evType.push('transfer.received'); evAgent.push(to); evData.push(data); }
        }
      }
      const touched = [...new Set(E.map((e) => e.accountId))].sort().map((id) => accounts.get(id)!);
      const decided = [...T.map((t) => t.id), ...rejections.map((r) => r.id)];
      const str = (v: bigint) => v.toString();
      try {
        const res = await sql<{ ids: bigint; transfers: bigint }>`${sql.raw(PREPARE)}
          WITH d AS (
            INSERT INTO ledger_ids (id) SELECT unnest(${decided}::uuid[]) ON CONFLICT DO NOTHING RETURNING id
          ), t AS (
            INSERT INTO ledger_transfers (id, kind, debit_account_id, credit_account_id, amount, pending_id, timeout_at, code, reference, fields_hash, batch_id, created_at)
            SELECT u.*, ${now}::timestamptz FROM unnest(
              ${T.map((t) => t.id)}::uuid[], ${T.map((t) => t.kind)}::text[], ${T.map((t) => t.debitAccountId)}::uuid[], ${T.map((t) => t.creditAccountId)}::uuid[],
              ${T.map((t) => str(t.amount))}::int8[], ${T.map((t) => t.pendingId)}::uuid[],
              ${T.map((t) => (t.timeoutAt === null ? null : new Date(t.timeoutAt).toISOString()))}::timestamptz[],
              ${T.map((t) => t.code)}::text[], ${T.map((t) => t.reference)}::text[], ${T.map((t) => hashes.get(t.id)!)}::text[],
              ${T.map((t) => t.batchId)}::uuid[]
            ) AS u
            ON CONFLICT (id) DO NOTHING
            RETURNING id
          ), e AS (
            INSERT INTO ledger_entries (transfer_id, account_id, side, pending_delta, posted_delta, balance_after, available_after, created_at)
            SELECT u.*, ${now}::timestamptz FROM unnest(
              ${E.map((e) => e.transferId)}::uuid[], ${E.map((e) => e.accountId)}::uuid[], ${E.map((e) => e.side)}::text[],
              ${E.map((e) => str(e.pendingDelta))}::int8[], ${E.map((e) => str(e.postedDelta))}::int8[],
              ${E.map((e) => str(e.balanceAfter))}::int8[], ${E.map((e) => str(e.availableAfter))}::int8[]
            ) AS u
            RETURNING 1
          ), a AS (
            UPDATE ledger_accounts AS a SET debits_pending = v.dp, debits_posted = v.dpo, credits_pending = v.cp, credits_posted = v.cpo
            FROM unnest(
              ${touched.map((r) => r.id)}::uuid[], ${touched.map((r) => str(r.debitsPending))}::int8[], ${touched.map((r) => str(r.debitsPosted))}::int8[],
              ${touched.map((r) => str(r.creditsPending))}::int8[], ${touched.map((r) => str(r.creditsPosted))}::int8[]
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
            SELECT u.type, ARRAY[u.agent], u.data, ${now}::timestamptz
            FROM unnest(${evType}::text[], ${evAgent}::text[], ${evData}::jsonb[]) AS u(type, agent, data)
          )
          SELECT (SELECT count(*) FROM d)::int8 AS ids, (SELECT count(*) FROM t)::int8 AS transfers`.execute(tx);
        const row = res.rows[0];
        if (Number(row?.ids ?? 0) !== decided.length || Number(row?.transfers ?? 0) !== T.length) {
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
    return results;
  }

  /** Expires holds whose timeout has passed (deterministic ids: safe to run in many processes). */
  async expireDueHolds(limit = 500): Promise<number> {
    const now = this.clock.now();
    const due = await this.database.db.selectFrom('ledger_transfers as p')
      .select('p.id')
      .where('p.kind', '=', 'pending')
      .where('p.timeout_at', '<=', now)
      .where(({ not, exists, selectFrom }) => not(exists(selectFrom('ledger_transfers as r').select('r.id').whereRef('r.pending_id', '=', 'p.id'))))
      .orderBy('p.timeout_at')
      .limit(limit)
      .execute();
    const outcomes = await this.execute(due.map((d) => ({ id: uuidFromName(`expire:${d.id}`), kind: 'expire_pending' as const, pendingId: d.id, code: 'hold_expired' })));
    const n = outcomes.filter((o) => o.status === 'created').length;
    return n;
  }

  async getAccount(id: string) {
    return this.database.db.selectFrom('ledger_accounts').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async getTransfer(id: string): Promise<StoredTransfer | undefined> {
    const r = await this.database.db.selectFrom('ledger_transfers').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? toStored(r) : undefined;
  }

  /** An account's entries, newest first, keyset-paginated on the entry sequence. */
  async history(accountId: string, opts: { beforeSeq?: bigint; limit: number }): Promise<HistoryRow[]> {
    let q = this.database.db.selectFrom('ledger_entries as e')
      .innerJoin('ledger_transfers as t', 't.id', 'e.transfer_id')
      .innerJoin('ledger_accounts as c', (j) => j.on((eb) => eb('c.id', '=', eb.case().when('e.side', '=', 'debit').then(eb.ref('t.credit_account_id')).else(eb.ref('t.debit_account_id')).end())))
      .select(['e.seq', 'e.transfer_id', 't.kind', 't.code', 'e.side', 'c.id as cp_id', 'c.key as cp_key', 't.amount', 'e.pending_delta', 'e.posted_delta',
        'e.balance_after', 'e.available_after', 't.reference', 'e.created_at'])
      .where('e.account_id', '=', accountId)
      .orderBy('e.seq', 'desc')
      .limit(opts.limit);
    if (opts.beforeSeq !== undefined) q = q.where('e.seq', '<', opts.beforeSeq);
    const rows = await q.execute();
    return rows.map((r) => ({
      seq: r.seq, transferId: r.transfer_id, kind: r.kind, code: r.code, side: r.side, counterpartyAccountId: r.cp_id, counterpartyKey: r.cp_key,
      amount: r.amount, pendingDelta: r.pending_delta, postedDelta: r.posted_delta, balanceAfter: r.balance_after, availableAfter: r.available_after,
      reference: r.reference, createdAt: r.created_at,
    }));
  }

  /**
   * Trade money in and out of a wallet: earned (payments and escrow releases received), spent (paid, net of
   * refunds), and the number of entries. Incremental: the sums up to the last entry read are kept per account,
   * and one statement reads the account's posted counters together with the entries after that entry (one
   * snapshot). The kept sums plus the new entries must explain the counters exactly (every posted entry moves
   * them); when they do not (an entry with a lower sequence number committed after the last read, or another
   * process's write in between that this one has not seen yet is below the mark) the account is summed again
   * from its first entry. So the answer is always the stored entries' sum, at the cost of the new entries.
   */
  /** What the account earned and spent, and how many transfers moved it (one entry per transfer on an account). */
  async totals(accountId: string): Promise<{ earned: bigint; spent: bigint; transfers: number }> {
    const kept = this.totalsCache.get(accountId);
    let t = await this.readTotals(accountId, kept);
    if (t === null && kept !== undefined) t = await this.readTotals(accountId, undefined);
    if (t === null) throw new Error(`ledger totals of ${accountId}: entries do not sum to the account's counters`);
    this.totalsCache.delete(accountId);
    if (this.totalsCache.size >= TOTALS_CACHE_MAX) this.totalsCache.delete(this.totalsCache.keys().next().value!);
    this.totalsCache.set(accountId, t);
    return { earned: t.earned, spent: t.spent - t.refunds, transfers: t.count };
  }

  private readonly totalsCache = new Map<string, AccountTotals>();

  /** `from` plus the entries after it, or null when the result does not match the account's posted counters. */
  private async readTotals(accountId: string, from: AccountTotals | undefined): Promise<AccountTotals | null> {
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
      WHERE e.account_id = ${accountId}::uuid AND e.seq > ${from?.seq ?? '0'}::int8`.execute(this.database.db)).rows[0]!;
    const next: AccountTotals = {
      seq: r.last ?? from?.seq ?? '0',
      earned: (from?.earned ?? 0n) + (r.earned ?? 0n),
      spent: (from?.spent ?? 0n) + (r.spent ?? 0n),
      refunds: (from?.refunds ?? 0n) + (r.refunds ?? 0n),
      credits: (from?.credits ?? 0n) + (r.credits ?? 0n),
      debits: (from?.debits ?? 0n) + (r.debits ?? 0n),
      count: (from?.count ?? 0) + Number(r.n),
    };
    return next.credits === (r.cp ?? 0n) && next.debits === (r.dp ?? 0n) ? next : null;
  }

  /**
   * Checks the ledger's invariants from the stored data: balances sum to zero, every transfer's
   * entries balance, cached counters equal the sums of entries, no wallet or escrow below zero
   * counting holds, each hold resolved at most once. Returns the violations (empty when sound).
   */
  async audit(): Promise<{ ok: boolean; violations: string[]; accounts: number; transfers: number; supply: bigint }> {
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

  newTransferId(): string {
    return uuidv7(this.clock);
  }
}
