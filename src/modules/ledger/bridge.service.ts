/**
 * Tokens enter from the AITBC chain and leave to it through a bridge. `ChainBridge` is the seam a chain
 * adapter plugs into; `LocalBridge` is the implementation that ships: deposits are confirmed by the
 * operator (with the chain transaction id, which makes a repeated confirmation a no-op), withdrawals
 * place a hold on the agent's wallet and wait in a queue until the operator completes them (the hold is
 * posted) or fails them (the hold is voided and the tokens are available again).
 * Mint (development and operator grants) moves tokens from the treasury, which may go negative: its
 * negative balance is exactly the supply in circulation.
 */
import type { Database, Executor } from '../../database.js';
import type { Clock } from '../../platform/clock.js';
import { uuidFromName, uuidv7 } from '../../platform/ids.js';
import { AppError, notFound } from '../../platform/http/errors.js';
import type { EventOutbox } from '../../platform/events/outbox.js';
import { withdrawalJson } from './ledger.json.js';
import { LedgerService, SYSTEM_ACCOUNTS, walletAccountId, type Outcome, type StoredTransfer } from './ledger.service.js';

export interface WithdrawalView {
  id: string;
  agentId: string;
  amount: bigint;
  address: string;
  holdTransferId: string;
  state: 'queued' | 'completed' | 'failed';
  chainTxId: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface ChainBridge {
  /** Credits a deposit seen on chain; the chain transaction id makes it idempotent. */
  confirmDeposit(input: { chainTxId: string; agentId: string; amount: bigint }): Promise<{ transfer: StoredTransfer; created: boolean }>;
  /** Queues a withdrawal, holding the tokens. */
  requestWithdrawal(input: { id?: string; agentId: string; amount: bigint; address: string }): Promise<WithdrawalView>;
  completeWithdrawal(id: string, chainTxId: string): Promise<WithdrawalView>;
  failWithdrawal(id: string, reason: string): Promise<WithdrawalView>;
}

function outcomeOrThrow(o: Outcome | undefined, what: string): StoredTransfer {
  if (!o) throw new Error(`${what}: no outcome`);
  if (o.status !== 'rejected') return o.transfer;
  if (o.code === 'insufficient_funds') throw new AppError('insufficient_funds', `${what}: the available balance is too low`);
  if (o.code === 'account_not_found') throw new AppError('not_found', `${what}: the account does not exist`);
  if (o.code === 'exists_with_different_fields') throw new AppError('conflict', `${what}: this id was already used with other fields`);
  throw new AppError('unprocessable', `${what}: ${o.code}`);
}

type WRow = {
  id: string; agent_id: string; amount: bigint; address: string; hold_transfer_id: string; state: 'queued' | 'completed' | 'failed';
  chain_tx_id: string | null; created_at: Date; updated_at: Date;
};
const wview = (r: WRow): WithdrawalView => ({
  id: r.id, agentId: r.agent_id, amount: r.amount, address: r.address, holdTransferId: r.hold_transfer_id, state: r.state,
  chainTxId: r.chain_tx_id, createdAt: r.created_at, updatedAt: r.updated_at,
});

export class LocalBridge implements ChainBridge {
  constructor(
    private readonly database: Database,
    private readonly clock: Clock,
    private readonly ledger: LedgerService,
    /** Where withdrawals' transitions are announced to their agent (same transaction). */
    private readonly outbox?: EventOutbox,
  ) {}

  /** `withdrawal.<state>` to the withdrawing agent, the withdrawal as REST shows it. */
  private async announce(tx: Executor, w: WithdrawalView): Promise<void> {
    await this.outbox?.append(tx, [{ type: `withdrawal.${w.state}`, agentIds: [w.agentId], data: { withdrawalId: w.id, ...withdrawalJson(w) }, at: w.updatedAt.toISOString() }]);
  }

  async mint(input: { id?: string; agentId: string; amount: bigint; memo?: string | null }): Promise<StoredTransfer> {
    const [o] = await this.ledger.execute([{
      id: input.id ?? uuidv7(this.clock), kind: 'posted', debitAccountId: SYSTEM_ACCOUNTS.treasury, creditAccountId: walletAccountId(input.agentId),
      amount: input.amount, code: 'mint', reference: input.memo ?? null,
    }]);
    return outcomeOrThrow(o, 'mint');
  }

  async confirmDeposit(input: { chainTxId: string; agentId: string; amount: bigint }): Promise<{ transfer: StoredTransfer; created: boolean }> {
    const [o] = await this.ledger.execute([{
      id: uuidFromName(`deposit:${input.chainTxId}`), kind: 'posted', debitAccountId: SYSTEM_ACCOUNTS.bridge,
      creditAccountId: walletAccountId(input.agentId), amount: input.amount, code: 'deposit', reference: `chain:${input.chainTxId}`,
    }]);
    return { transfer: outcomeOrThrow(o, 'deposit'), created: o?.status === 'created' };
  }

  requestWithdrawal(input: { id?: string; agentId: string; amount: bigint; address: string }): Promise<WithdrawalView> {
    const id = input.id ?? uuidv7(this.clock);
    return this.database.transaction(async (tx) => {
      const existing = await tx.selectFrom('withdrawals').selectAll().where('id', '=', id).executeTakeFirst();
      if (existing) {
        if (existing.agent_id !== input.agentId || existing.amount !== input.amount || existing.address !== input.address) {
          throw new AppError('conflict', `withdrawal ${id} exists with other fields`);
        }
        return wview(existing as WRow);
      }
      const holdId = uuidFromName(`withdrawal:${id}:hold`);
      const [o] = await this.ledger.executeIn(tx, [{
        id: holdId, kind: 'pending', debitAccountId: walletAccountId(input.agentId), creditAccountId: SYSTEM_ACCOUNTS.bridge,
        amount: input.amount, code: 'withdrawal_hold', reference: `withdrawal:${id}`,
      }]);
      outcomeOrThrow(o, 'withdrawal');
      const now = this.clock.now();
      const row = await tx.insertInto('withdrawals').values({
        id, agent_id: input.agentId, amount: input.amount, address: input.address, hold_transfer_id: holdId, state: 'queued',
        chain_tx_id: null, created_at: now, updated_at: now,
      }).returningAll().executeTakeFirstOrThrow();
      const v = wview(row as WRow);
      await this.announce(tx, v);
      return v;
    }).finally(() => this.outbox?.poke());
  }

  completeWithdrawal(id: string, chainTxId: string): Promise<WithdrawalView> {
    return this.resolveWithdrawal(id, 'completed', chainTxId);
  }

  failWithdrawal(id: string, reason: string): Promise<WithdrawalView> {
    return this.resolveWithdrawal(id, 'failed', null, reason);
  }

  private resolveWithdrawal(id: string, state: 'completed' | 'failed', chainTxId: string | null, reason?: string): Promise<WithdrawalView> {
    return this.database.transaction(async (tx) => {
      const w = await tx.selectFrom('withdrawals').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
      if (!w) throw notFound('withdrawal', id);
      if (w.state === state && (state === 'failed' || w.chain_tx_id === chainTxId)) return wview(w as WRow);
      if (w.state !== 'queued') throw new AppError('invalid_transition', `withdrawal ${id} is already ${w.state}`, { state: w.state });
      const [o] = await this.ledger.executeIn(tx, [{
        id: uuidFromName(`withdrawal:${id}:${state}`), kind: state === 'completed' ? 'post_pending' : 'void_pending',
        pendingId: w.hold_transfer_id, code: state === 'completed' ? 'withdrawal' : 'withdrawal_failed', reference: reason ?? `withdrawal:${id}`,
      }]);
      outcomeOrThrow(o, 'withdrawal');
      const row = await tx.updateTable('withdrawals').set({ state, chain_tx_id: chainTxId, updated_at: this.clock.now() })
        .where('id', '=', id).returningAll().executeTakeFirstOrThrow();
      const v = wview(row as WRow);
      await this.announce(tx, v);
      return v;
    }).finally(() => this.outbox?.poke());
  }

  async listWithdrawals(opts: { state?: 'queued' | 'completed' | 'failed'; agentId?: string; limit: number }): Promise<WithdrawalView[]> {
    let q = this.database.db.selectFrom('withdrawals').selectAll().orderBy('created_at').orderBy('id').limit(opts.limit);
    if (opts.state) q = q.where('state', '=', opts.state);
    if (opts.agentId) q = q.where('agent_id', '=', opts.agentId);
    return (await q.execute()).map((r) => wview(r as WRow));
  }

  async getWithdrawal(id: string): Promise<WithdrawalView> {
    const r = await this.database.db.selectFrom('withdrawals').selectAll().where('id', '=', id).executeTakeFirst();
    if (!r) throw notFound('withdrawal', id);
    return wview(r as WRow);
  }
}
