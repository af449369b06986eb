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
import type { Database } from '../../platform/db/database.js';
import type { DB } from '../../platform/db/schema.js';
import type { Clock } from '../../platform/clock.js';
import { uuidFromName, uuidv7 } from '../../platform/ids.js';
import {
  applyTransfers, type AccountState, type NewTransfer, type PendingState, type RejectCode, type TransferInput,
} from './ledger.engine.js';

export type Tx = Transaction<DB>;

export const SYSTEM_ACCOUNTS = {
  treasury: uuidFromName('account:system:treasury'),
  fees: uuidFromName('account:system:fees'),
  rewards: uuidFromName('account:system:rewards'),
  bridge: uuidFromName('account:system:bridge'),
} as const;

export const walletAccountId = (agentId: string) => uuidFromName(`account:wallet:${agentId}`);
export const escrowAccountId = (escrowId: string) => uuidFromName(`account:escrow:${escrowId}`);

export type Outcome =
  | { id: string; status: 'created' | 'exists'; transfer: StoredTransfer }
  | { id: string; status: 'rejected'; code: RejectCode };

export interface StoredTransfer extends NewTransfer {
  createdAt: Date;
  batchId: string | null;
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

export class LedgerService {
  constructor(
    private readonly database: Database,
    private readonly clock: Clock,
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

  /** Runs transfers in their own transaction. */
  execute(inputs: TransferInput[], opts: { atomic?: boolean; batchId?: string } = {}): Promise<Outcome[]> {
    return this.database.transaction((tx) => this.executeIn(tx, inputs, opts));
  }

  /** Runs transfers inside the caller's transaction. */
  async executeIn(tx: Tx, inputs: TransferInput[], opts: { atomic?: boolean; batchId?: string } = {}): Promise<Outcome[]> {
    if (inputs.length === 0) return [];
    const now = this.clock.now();
    const ids = inputs.map((i) => i.id);
    if (new Set(ids).size !== ids.length) throw new Error('duplicate transfer ids in one call');

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
    const accountRows = sorted.length
      ? (await sql<{ id: string; no_overdraft: boolean; debits_pending: bigint; debits_posted: bigint; credits_pending: bigint; credits_posted: bigint }>`
          SELECT id, no_overdraft, debits_pending, debits_posted, credits_pending, credits_posted
          FROM ledger_accounts WHERE id = ANY(${sorted}::uuid[]) ORDER BY id FOR NO KEY UPDATE`.execute(tx)).rows
      : [];

    // 3. Under the locks: earlier outcomes for these ids, and which pendings are already resolved.
    const [existing, rejected, resolvedRows] = await Promise.all([
      tx.selectFrom('ledger_transfers').selectAll().where('id', 'in', ids).execute(),
      tx.selectFrom('ledger_rejections').selectAll().where('id', 'in', ids).execute(),
      pendingIds.length
        ? tx.selectFrom('ledger_transfers').select('pending_id').where('pending_id', 'in', pendingIds).execute()
        : Promise.resolve([] as { pending_id: string | null }[]),
    ]);
    const existingById = new Map(existing.map((r) => [r.id, r]));
    const rejectedById = new Map(rejected.map((r) => [r.id, r]));
    const resolved = new Set(resolvedRows.map((r) => r.pending_id));

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

    // 4. Decide. Ids seen before keep their first outcome.
    const outcomes = new Map<string, Outcome>();
    const fresh: TransferInput[] = [];
    const hashes = new Map<string, string>();
    for (const i of inputs) {
      const h = fieldsHash(i);
      hashes.set(i.id, h);
      const ex = existingById.get(i.id);
      const rj = rejectedById.get(i.id);
      if (ex) outcomes.set(i.id, ex.fields_hash === h ? { id: i.id, status: 'exists', transfer: toStored(ex) } : { id: i.id, status: 'rejected', code: 'exists_with_different_fields' });
      else if (rj) outcomes.set(i.id, rj.fields_hash === h ? { id: i.id, status: 'rejected', code: rj.code as RejectCode } : { id: i.id, status: 'rejected', code: 'exists_with_different_fields' });
      else fresh.push(i);
    }
    const atomic = opts.atomic ?? false;
    if (atomic && outcomes.size > 0 && [...outcomes.values()].some((o) => o.status === 'rejected')) {
      // A linked group that was (partly) rejected before stays rejected as a whole.
      return inputs.map((i) => outcomes.get(i.id) ?? { id: i.id, status: 'rejected', code: 'linked_transfer_failed' });
    }
    const applied = applyTransfers(accounts, pendings, fresh, now.getTime(), atomic);

    // 5. Write: transfers, account counters, entries, rejections.
    const batchId = opts.batchId ?? null;
    if (applied.transfers.length) {
      for (let k = 0; k < applied.transfers.length; k += 1000) {
        const chunk = applied.transfers.slice(k, k + 1000);
        const inserted = await tx.insertInto('ledger_transfers').values(chunk.map((t) => ({
          id: t.id, kind: t.kind, debit_account_id: t.debitAccountId, credit_account_id: t.creditAccountId, amount: t.amount,
          pending_id: t.pendingId, timeout_at: t.timeoutAt === null ? null : new Date(t.timeoutAt), code: t.code, reference: t.reference,
          batch_id: batchId, fields_hash: hashes.get(t.id)!, created_at: now,
        }))).onConflict((oc) => oc.column('id').doNothing()).returning('id').execute();
        if (inserted.length !== chunk.length) throw new RetryTransaction('a transfer id was inserted concurrently');
      }
      const touched = new Set(applied.entries.map((e) => e.accountId));
      const rows = [...touched].sort().map((id) => accounts.get(id)!);
      await sql`
        UPDATE ledger_accounts AS a SET
          debits_pending = v.dp, debits_posted = v.dpo, credits_pending = v.cp, credits_posted = v.cpo
        FROM (VALUES ${sql.join(rows.map((r) => sql`(${r.id}::uuid, ${r.debitsPending}::int8, ${r.debitsPosted}::int8, ${r.creditsPending}::int8, ${r.creditsPosted}::int8)`))})
          AS v(id, dp, dpo, cp, cpo)
        WHERE a.id = v.id`.execute(tx);
      for (let k = 0; k < applied.entries.length; k += 2000) {
        await tx.insertInto('ledger_entries').values(applied.entries.slice(k, k + 2000).map((e) => ({
          transfer_id: e.transferId, account_id: e.accountId, side: e.side, pending_delta: e.pendingDelta, posted_delta: e.postedDelta,
          balance_after: e.balanceAfter, available_after: e.availableAfter, created_at: now,
        }))).execute();
      }
    }
    const rejections = applied.results.filter((r) => r.status === 'rejected');
    if (rejections.length) {
      await tx.insertInto('ledger_rejections').values(rejections.map((r) => ({
        id: r.id, fields_hash: hashes.get(r.id)!, code: (r as { code: string }).code, created_at: now,
      }))).onConflict((oc) => oc.column('id').doNothing()).execute();
    }
    for (const r of applied.results) {
      outcomes.set(r.id, r.status === 'created'
        ? { id: r.id, status: 'created', transfer: { ...r.transfer, createdAt: now, batchId } }
        : { id: r.id, status: 'rejected', code: r.code });
    }
    return inputs.map((i) => outcomes.get(i.id)!);
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
    let n = 0;
    for (const d of due) {
      const [o] = await this.execute([{ id: uuidFromName(`expire:${d.id}`), kind: 'expire_pending', pendingId: d.id, code: 'hold_expired' }]);
      if (o?.status === 'created') n++;
    }
    return n;
  }

  async getAccount(id: string) {
    return this.database.db.selectFrom('ledger_accounts').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async getTransfer(id: string): Promise<StoredTransfer | undefined> {
    const r = await this.database.db.selectFrom('ledger_transfers').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? toStored(r) : undefined;
  }

  newTransferId(): string {
    return uuidv7(this.clock);
  }
}
