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
import { SYSTEM_ACCOUNTS, walletAccountId } from './ledger.accounts.js';
import { recordedOrThrow, requirePositiveAmount } from './ledger.errors.js';
import type { LedgerService } from './ledger.service.js';
import type { RecordedTransfer, WithdrawalView } from './ledger.types.js';

export type { WithdrawalView } from './ledger.types.js';

export interface ChainBridge {
  /** Credits a deposit seen on chain; the chain transaction id makes it idempotent. */
  confirmDeposit(input: { chainTxId: string; agentId: string; amount: bigint }): Promise<RecordedTransfer>;
  /** Queues a withdrawal, holding the tokens. */
  requestWithdrawal(input: { id?: string; agentId: string; amount: bigint; address: string }): Promise<WithdrawalView>;
  completeWithdrawal(id: string, chainTxId: string): Promise<WithdrawalView>;
  failWithdrawal(id: string, reason: string): Promise<WithdrawalView>;
}

type WithdrawalRow = {
  id: string; agent_id: string; amount: bigint; address: string; hold_transfer_id: string; state: 'queued' | 'completed' | 'failed';
  chain_tx_id: string | null; created_at: Date; updated_at: Date;
};
const withdrawalView = (r: WithdrawalRow): WithdrawalView => ({
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

  /** Mints tokens from the treasury to an agent's wallet: the one mint path of the API and the CLI. With `id`, a retry is a no-op. */
  mint(input: { id?: string; agentId: string; amount: bigint; memo?: string | null }): Promise<RecordedTransfer> {
    return this.creditWallet({
      id: input.id ?? uuidv7(this.clock), from: SYSTEM_ACCOUNTS.treasury, agentId: input.agentId, amount: input.amount, code: 'mint', reference: input.memo ?? null,
    });
  }

  confirmDeposit(input: { chainTxId: string; agentId: string; amount: bigint }): Promise<RecordedTransfer> {
    return this.creditWallet({
      id: uuidFromName(`deposit:${input.chainTxId}`), from: SYSTEM_ACCOUNTS.bridge, agentId: input.agentId, amount: input.amount, code: 'deposit',
      reference: `chain:${input.chainTxId}`,
    });
  }

  /** A posted transfer from a system account into an agent's wallet; an unknown agent is not_found. */
  private async creditWallet(c: { id: string; from: string; agentId: string; amount: bigint; code: string; reference: string | null }): Promise<RecordedTransfer> {
    requirePositiveAmount(c.amount);
    const [o] = await this.ledger.execute([{
      id: c.id, kind: 'posted', debitAccountId: c.from, creditAccountId: walletAccountId(c.agentId), amount: c.amount, code: c.code, reference: c.reference,
    }]);
    return recordedOrThrow(o, { agentId: c.agentId });
  }

  requestWithdrawal(input: { id?: string; agentId: string; amount: bigint; address: string }): Promise<WithdrawalView> {
    requirePositiveAmount(input.amount);
    const id = input.id ?? uuidv7(this.clock);
    return this.database.transaction(async (tx) => {
      const existing = await tx.selectFrom('withdrawals').selectAll().where('id', '=', id).executeTakeFirst();
      if (existing) {
        if (existing.agent_id !== input.agentId || existing.amount !== input.amount || existing.address !== input.address) {
          throw new AppError('conflict', `withdrawal ${id} exists with other fields`);
        }
        return withdrawalView(existing as WithdrawalRow);
      }
      const holdId = uuidFromName(`withdrawal:${id}:hold`);
      const [o] = await this.ledger.executeIn(tx, [{
        id: holdId, kind: 'pending', debitAccountId: walletAccountId(input.agentId), creditAccountId: SYSTEM_ACCOUNTS.bridge,
        amount: input.amount, code: 'withdrawal_hold', reference: `withdrawal:${id}`,
      }]);
      recordedOrThrow(o);
      const now = this.clock.now();
      const row = await tx.insertInto('withdrawals').values({
        id, agent_id: input.agentId, amount: input.amount, address: input.address, hold_transfer_id: holdId, state: 'queued',
        chain_tx_id: null, created_at: now, updated_at: now,
      }).returningAll().executeTakeFirstOrThrow();
      const v = withdrawalView(row as WithdrawalRow);
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
      if (w.state === state && (state === 'failed' || w.chain_tx_id === chainTxId)) return withdrawalView(w as WithdrawalRow);
      if (w.state !== 'queued') throw new AppError('invalid_transition', `withdrawal ${id} is already ${w.state}`, { state: w.state });
      const [o] = await this.ledger.executeIn(tx, [{
        id: uuidFromName(`withdrawal:${id}:${state}`), kind: state === 'completed' ? 'post_pending' : 'void_pending',
        pendingId: w.hold_transfer_id, code: state === 'completed' ? 'withdrawal' : 'withdrawal_failed', reference: reason ?? `withdrawal:${id}`,
      }]);
      recordedOrThrow(o);
      const row = await tx.updateTable('withdrawals').set({ state, chain_tx_id: chainTxId, updated_at: this.clock.now() })
        .where('id', '=', id).returningAll().executeTakeFirstOrThrow();
      const v = withdrawalView(row as WithdrawalRow);
      await this.announce(tx, v);
      return v;
    }).finally(() => this.outbox?.poke());
  }

  async listWithdrawals(opts: { state?: 'queued' | 'completed' | 'failed'; agentId?: string; limit: number }): Promise<WithdrawalView[]> {
    let q = this.database.db.selectFrom('withdrawals').selectAll().orderBy('created_at').orderBy('id').limit(opts.limit);
    if (opts.state) q = q.where('state', '=', opts.state);
    if (opts.agentId) q = q.where('agent_id', '=', opts.agentId);
    return (await q.execute()).map((r) => withdrawalView(r as WithdrawalRow));
  }

  async getWithdrawal(id: string): Promise<WithdrawalView> {
    const r = await this.database.db.selectFrom('withdrawals').selectAll().where('id', '=', id).executeTakeFirst();
    if (!r) throw notFound('withdrawal', id);
    return withdrawalView(r as WithdrawalRow);
  }
}
