/**
 * The ledger: the only code that writes ledger tables. Every token that moves goes through `executeIn`
 * (inside a caller's transaction) or `execute` (a group commit in its own transaction, retried on
 * PostgreSQL deadlocks and serialization failures with the same transfer ids). Each group is read under
 * its account locks (repository), decided in memory (ledger.decide.ts, rules in ledger.engine.ts), and
 * written in one statement together with its stream events.
 *
 * Idempotency: a transfer id is its own idempotency key; an existing transfer or rejection with the same
 * id is returned as it was, and the same id with other fields is `exists_with_different_fields`.
 */
import type { Database } from '../../database.js';
import type { Clock } from '../../platform/clock.js';
import { uuidFromName, uuidv7 } from '../../platform/ids.js';
import { AppError, notFound } from '../../platform/http/errors.js';
import type { Principal } from '../../platform/http/auth.js';
import type { EventOutbox } from '../../platform/events/outbox.js';
import type { TransferInput } from './ledger.engine.js';
import { accountIdFromKey, escrowAccountId, walletAccountId } from './ledger.accounts.js';
import { checkUniqueIds, decideGroup, type Call, type CallGate } from './ledger.decide.js';
import { recordedOrThrow, requirePositiveAmount } from './ledger.errors.js';
import { transferEvents, type TransferEventColumns } from './ledger.events.js';
import { GroupCommit } from './ledger.group-commit.js';
import { LedgerRepository } from './ledger.repository.js';
import type { AuditReport, ExecuteOptions, HistoryRow, Outcome, RecordedTransfer, SpendGate, SpendGuard, SpendPayment, StoredTransfer, Tx, WalletBalance } from './ledger.types.js';

// What other modules import from here.
export { SYSTEM_ACCOUNTS, walletAccountId } from './ledger.accounts.js';
export type { Tx } from './ledger.types.js';

/** Kept sums of one account's entries up to entry `seq` (see `totals`). */
interface AccountTotals { seq: string; earned: bigint; spent: bigint; refunds: bigint; credits: bigint; debits: bigint; count: number }
/** Accounts whose totals are kept (least recently asked dropped first). */
const TOTALS_CACHE_MAX = 10_000;

const NO_EVENTS: TransferEventColumns = { types: [], senders: [], receivers: [], dataJson: '[]' };

/** The ledger's side of a spend gate: a spender's call's new transfers out of its wallet are its payments. */
function spendGate(gate: SpendGate): CallGate {
  const payments = (call: Call, ts: readonly { id: string; kind: string; debitAccountId?: string; amount?: bigint }[]): SpendPayment[] => {
    const agent = call.opts.spender;
    if (!agent) return [];
    const wallet = walletAccountId(agent);
    return ts.filter((t) => (t.kind === 'posted' || t.kind === 'pending') && t.debitAccountId === wallet)
      .map((t) => ({ transferId: t.id, payerAgentId: agent, amount: t.amount ?? 0n }));
  };
  return {
    admit: (call, fresh) => {
      const ps = payments(call, fresh);
      return ps.length ? gate.check(ps) : null;
    },
    made: (call, created) => {
      const ps = payments(call, created);
      if (ps.length) gate.count(ps);
    },
  };
}

/** One transfer of an operator batch, its accounts named by key (`wallet:<agentId>`, `system:rewards`, ...). */
export interface BatchTransfer {
  id: string;
  from: string;
  to: string;
  amount: bigint;
  code?: string;
  reference?: string | null;
}

export class LedgerService {
  private readonly repository: LedgerRepository;
  private readonly groups: GroupCommit;
  /** What limits agents' own payments (`pay`): risk's mandates, handed over by app.ts; none by default. */
  spendGuard: SpendGuard | null = null;

  constructor(
    private readonly database: Database,
    private readonly clock: Clock,
    /** Where each created transfer is announced to the agents whose wallets it touches (same statement). */
    private readonly outbox?: EventOutbox,
  ) {
    this.repository = new LedgerRepository(database);
    this.groups = new GroupCommit(database, (tx, calls) => this.decideAndWrite(tx, calls), () => this.outbox?.poke());
  }

  /** Opens an agent's wallet (called in the registration transaction). */
  async openWallet(tx: Tx, agentId: string): Promise<string> {
    const id = walletAccountId(agentId);
    await this.repository.insertAccount(tx, { id, key: `wallet:${agentId}`, kind: 'wallet', agentId, createdAt: this.clock.now() }, { ifAbsent: true });
    return id;
  }

  async openEscrowAccount(tx: Tx, escrowId: string): Promise<string> {
    const id = escrowAccountId(escrowId);
    await this.repository.insertAccount(tx, { id, key: `escrow:${escrowId}`, kind: 'escrow', agentId: null, createdAt: this.clock.now() }, { ifAbsent: false });
    return id;
  }

  /**
   * Runs transfers in their own transaction, committed together with the calls that arrive meanwhile
   * (ledger.group-commit.ts). A call's transfers are decided exactly as if it ran alone after the calls
   * queued before it.
   */
  execute(inputs: TransferInput[], opts: ExecuteOptions = {}): Promise<Outcome[]> {
    if (inputs.length === 0) return Promise.resolve([]);
    checkUniqueIds(inputs);
    return this.groups.submit({ inputs, opts });
  }

  /** Runs transfers inside the caller's transaction. */
  async executeIn(tx: Tx, inputs: TransferInput[], opts: ExecuteOptions = {}): Promise<Outcome[]> {
    if (inputs.length === 0) return [];
    checkUniqueIds(inputs);
    const r = (await this.decideAndWrite(tx, [{ inputs, opts }]))[0]!;
    if (r instanceof Error) throw r;
    return r;
  }

  /**
   * Several calls' transfers in one transaction: locked and read together, decided call by call, written
   * together. The spenders' guard is opened first (their mandates locked before the accounts, the order the
   * escrow funding path takes too) and asked about each spender's call where the group decides it.
   */
  private async decideAndWrite(tx: Tx, calls: readonly Call[]): Promise<(Outcome[] | Error)[]> {
    const now = this.clock.now();
    const spenders = [...new Set(calls.flatMap((c) => (c.opts.spender ? [c.opts.spender] : [])))].sort();
    const gate = spenders.length && this.spendGuard ? await this.spendGuard.open(tx, spenders) : null;
    const state = await this.repository.lockGroup(tx, calls.flatMap((c) => c.inputs));
    const decided = decideGroup(state, calls, now, gate ? spendGate(gate) : undefined);
    if (decided.transfers.length || decided.rejections.length) {
      const touched = [...new Set(decided.entries.map((e) => e.accountId))].sort().map((id) => state.accounts.get(id)!);
      const events = this.outbox ? transferEvents(decided.transfers, state.agentOf, now) : NO_EVENTS;
      await this.repository.writeGroup(tx, now, decided, touched, events);
    }
    if (gate) await gate.close(tx);
    return decided.results;
  }

  /** One agent pays another from wallet to wallet. */
  async pay(input: { id?: string; fromAgentId: string; toAgentId: string; amount: bigint; memo?: string | null }): Promise<RecordedTransfer> {
    if (input.toAgentId === input.fromAgentId) {
      throw new AppError('validation_failed', 'cannot pay yourself', { errors: [{ field: 'body.to', message: 'is the caller' }] });
    }
    requirePositiveAmount(input.amount);
    const [o] = await this.execute([{
      id: input.id ?? uuidv7(this.clock), kind: 'posted', debitAccountId: walletAccountId(input.fromAgentId), creditAccountId: walletAccountId(input.toAgentId),
      amount: input.amount, code: 'payment', reference: input.memo ?? null,
    }], { spender: input.fromAgentId });
    return recordedOrThrow(o, { agentId: input.toAgentId });
  }

  /** Up to 10,000 posted transfers between any accounts in one group (operator: rewards, royalties). */
  async runBatch(transfers: readonly BatchTransfer[], opts: ExecuteOptions): Promise<Outcome[]> {
    return this.execute(batchInputs(transfers), opts);
  }

  /** runBatch inside the caller's transaction (a reward released together with its statement's new state). */
  async runBatchIn(tx: Tx, transfers: readonly BatchTransfer[], opts: ExecuteOptions): Promise<Outcome[]> {
    return this.executeIn(tx, batchInputs(transfers), opts);
  }

  /** Expires holds whose timeout has passed (deterministic ids: safe to run in many processes). */
  async expireDueHolds(limit = 500): Promise<number> {
    const due = await this.repository.dueHoldIds(this.clock.now(), limit);
    const outcomes = await this.execute(due.map((id) => ({ id: uuidFromName(`expire:${id}`), kind: 'expire_pending' as const, pendingId: id, code: 'hold_expired' })));
    return outcomes.filter((o) => o.status === 'created').length;
  }

  async getAccount(id: string) {
    return this.repository.getAccount(id);
  }

  async walletBalance(agentId: string): Promise<WalletBalance> {
    const a = await this.repository.getAccount(walletAccountId(agentId));
    if (!a) throw notFound('agent', agentId);
    const balance = a.credits_posted - a.debits_posted;
    return {
      agentId, accountId: a.id, balance, available: balance - a.debits_pending, held: a.debits_pending, incoming: a.credits_pending, asOf: this.clock.now(),
    };
  }

  async getTransfer(id: string): Promise<StoredTransfer | undefined> {
    return this.repository.getTransfer(id);
  }

  /** A transfer, for its parties (the agents whose wallets it touches; escrow legs: the escrow's parties) and the operator. */
  async transferFor(viewer: Principal, id: string): Promise<StoredTransfer> {
    const t = await this.getTransfer(id);
    if (!t) throw notFound('transfer', id);
    if (viewer.kind === 'admin') return t;
    if (viewer.kind !== 'agent') throw new AppError('unauthorized', 'an API key is required');
    const mine = walletAccountId(viewer.agentId);
    if (t.debitAccountId === mine || t.creditAccountId === mine) return t;
    const escrowId = t.reference?.startsWith('escrow:') ? t.reference.slice('escrow:'.length) : undefined;
    const parties = escrowId ? await this.repository.escrowParties(escrowId) : undefined;
    if (parties && (parties.payerAgentId === viewer.agentId || parties.payeeAgentId === viewer.agentId)) return t;
    throw new AppError('forbidden', 'only the parties of a transfer and the operator may read it');
  }

  /** An agent's wallet entries, newest first, keyset-paginated on the entry sequence. */
  async walletHistory(agentId: string, opts: { beforeSeq?: bigint; limit: number }): Promise<HistoryRow[]> {
    const accountId = walletAccountId(agentId);
    if (!(await this.repository.getAccount(accountId))) throw notFound('agent', agentId);
    return this.repository.history(accountId, opts);
  }

  /**
   * What the account earned (payments and escrow releases received) and spent (paid, net of refunds), and
   * how many transfers moved it (one entry per transfer on an account). Incremental: the sums up to the
   * last entry read are kept per account, and one statement reads the account's posted counters together
   * with the entries after that entry (one snapshot). The kept sums plus the new entries must explain the
   * counters exactly (every posted entry moves them); when they do not (an entry with a lower sequence
   * number committed after the last read) the account is summed again from its first entry. So the answer
   * is always the stored entries' sum, at the cost of the new entries.
   */
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
    const r = await this.repository.entrySums(accountId, from?.seq ?? '0');
    const next: AccountTotals = {
      seq: r.lastSeq ?? from?.seq ?? '0',
      earned: (from?.earned ?? 0n) + r.earned,
      spent: (from?.spent ?? 0n) + r.spent,
      refunds: (from?.refunds ?? 0n) + r.refunds,
      credits: (from?.credits ?? 0n) + r.credits,
      debits: (from?.debits ?? 0n) + r.debits,
      count: (from?.count ?? 0) + r.count,
    };
    return next.credits === r.creditsPosted && next.debits === r.debitsPosted ? next : null;
  }

  /**
   * Checks the ledger's invariants from the stored data: balances sum to zero, every transfer's
   * entries balance, cached counters equal the sums of entries, no wallet or escrow below zero
   * counting holds, each hold resolved at most once. Returns the violations (empty when sound).
   */
  audit(): Promise<AuditReport> {
    return this.repository.audit();
  }
}

/** Batch transfers (account keys) as ledger inputs: ids unique, amounts positive. */
function batchInputs(transfers: readonly BatchTransfer[]): TransferInput[] {
  const ids = new Set<string>();
  return transfers.map((t, i): TransferInput => {
    if (ids.has(t.id)) throw new AppError('validation_failed', `transfer id ${t.id} appears twice`, { errors: [{ field: `body.transfers.${i}.id`, message: 'duplicate' }] });
    ids.add(t.id);
    requirePositiveAmount(t.amount, `body.transfers.${i}.amount`);
    return {
      id: t.id, kind: 'posted', debitAccountId: accountIdFromKey(t.from), creditAccountId: accountIdFromKey(t.to), amount: t.amount,
      code: t.code ?? 'batch', reference: t.reference ?? null,
    };
  });
}
