/**
 * Escrow: a state machine (escrow.ts) over one ledger account per escrow.
 *
 * Funding is a posted transfer payer wallet -> escrow account, so the tokens are out of the payer's
 * reach and in an account that can never go negative; every release is one linked (atomic) ledger
 * step escrow -> payee (net) + escrow -> fees (fee); every refund is escrow -> payer. The escrow row is
 * locked (FOR UPDATE) for each transition, and the ledger legs get ids derived from the escrow id and
 * its version, so a transition retried after a deadlock or a crash reuses the same transfer ids.
 * Invariant: amount = released + refunded + balance of the escrow account (released includes fees).
 * See docs/decisions.md ("Escrow is a posted transfer into a per-escrow account").
 */
import { formatAmount } from '../../platform/money.js';
import { sql } from 'kysely';
import type { Database } from '../../database.js';
import type { Clock } from '../../platform/clock.js';
import { uuidFromName, uuidv7 } from '../../platform/ids.js';
import { AppError, notFound } from '../../platform/http/errors.js';
import type { Principal } from '../../platform/http/auth.js';
import type { LedgerService } from './ledger.service.js';
import { SYSTEM_ACCOUNTS, walletAccountId } from './ledger.accounts.js';
import { rejectionError, requirePositiveAmount } from './ledger.errors.js';
import type { EscrowEventView, EscrowView, Tx } from './ledger.types.js';
import type { TransferInput } from './ledger.engine.js';
import type { EventOutbox } from '../../platform/events/outbox.js';
import type { AgentDirectory } from '../agents/agents.port.js';
import { escrowJson } from './ledger.json.js';
import { TERMINAL, feeOf, nextEscrowState, type EscrowAction, type EscrowState } from './escrow.js';
import type { ReleaseSplit, ReleaseSplitter } from './ledger.types.js';

/** The platform fee on releases, in basis points of the gross amount (2.5%). */
const DEFAULT_FEE_BPS = 250;
export const DEFAULT_REVIEW_WINDOW_MS = 24 * 3600_000;

/** What escrow asks of the agents module: a payee's status. */
export type PayeeStatus = Pick<AgentDirectory, 'statusIn'>;

/** Who moves an escrow: an agent, the operator, or the service's own timers. */
export type EscrowActor = Principal | { kind: 'system' };
export type { EscrowEventView, EscrowView } from './ledger.types.js';

export interface EscrowCreate {
  id?: string;
  payerAgentId: string;
  payeeAgentId: string;
  amount: bigint;
  feeBps?: number;
  reference?: string | null;
  /** Refund to the payer if not delivered by then. */
  expiresAt?: Date | null;
  /** After delivery, release automatically after this long unless disputed. */
  reviewWindowMs?: number;
}

export interface EscrowActOptions {
  /** release: a milestone amount (gross, fee included); default everything remaining. */
  amount?: bigint;
  /** resolve: the operator's decision. split: `payeeAmount` of the remaining goes to the payee. */
  outcome?: 'release' | 'refund' | 'split';
  payeeAmount?: bigint;
  reason?: string | null;
}

type Row = {
  id: string; account_id: string; payer_agent_id: string; payee_agent_id: string; amount: bigint; released: bigint; refunded: bigint;
  fees: bigint; fee_bps: number; state: string; reference: string | null; expires_at: Date | null; review_window_ms: bigint;
  auto_release_at: Date | null; version: number; created_at: Date; updated_at: Date;
};

function view(r: Row): EscrowView {
  return {
    id: r.id, accountId: r.account_id, payerAgentId: r.payer_agent_id, payeeAgentId: r.payee_agent_id, amount: r.amount,
    released: r.released, refunded: r.refunded, fees: r.fees, remaining: r.amount - r.released - r.refunded, feeBps: r.fee_bps,
    state: r.state as EscrowState, reference: r.reference, expiresAt: r.expires_at, reviewWindowMs: Number(r.review_window_ms),
    autoReleaseAt: r.auto_release_at, createdAt: r.created_at, updatedAt: r.updated_at,
  };
}

const actorName = (a: EscrowActor) => (a.kind === 'agent' ? `agent:${a.agentId}` : a.kind);

/** Which party may take an action (the operator may always, the timers only their own). */
function allowed(action: EscrowAction, actor: EscrowActor, row: Row): boolean {
  if (actor.kind === 'system') return action === 'expire' || action === 'auto_release';
  if (actor.kind === 'admin') return action !== 'expire' && action !== 'auto_release';
  if (actor.kind !== 'agent') return false;
  const payer = actor.agentId === row.payer_agent_id;
  const payee = actor.agentId === row.payee_agent_id;
  switch (action) {
    case 'deliver': return payee;
    case 'release': return payer;
    case 'refund': return payee;
    case 'dispute': return payer || payee;
    default: return false;
  }
}

export class EscrowService {
  /** Who divides releases beyond payee and fee (rewards, wired in app.ts); none: payee and the plain fee. */
  private splitter: ReleaseSplitter | undefined;

  setReleaseSplitter(s: ReleaseSplitter | undefined): void {
    this.splitter = s;
  }

  constructor(
    private readonly database: Database,
    private readonly clock: Clock,
    private readonly ledger: LedgerService,
    /** Whether the payee may receive an escrow (the agents module's port; app.ts passes agentDirectory). */
    private readonly payees: PayeeStatus,
    /** Where each transition is announced to the payer and the payee (same statement as the transition). */
    private readonly outbox?: EventOutbox,
  ) {}

  /**
   * A risk hold on payees (set by the app from the risk module): while it answers true for an escrow's payee,
   * releases to it (the payer's release, the review window's auto-release) are refused and the money stays
   * in escrow; the operator may still release, refund or resolve. Checked after the escrow row is locked.
   */
  settlementHold: ((tx: Tx, payeeAgentId: string) => Promise<boolean>) | null = null;

  /** Whether releases to this payee are held now (see `settlementHold`). */
  async releaseHeld(tx: Tx, payeeAgentId: string): Promise<boolean> {
    return this.settlementHold !== null && await this.settlementHold(tx, payeeAgentId);
  }

  create(input: EscrowCreate, actor: EscrowActor): Promise<EscrowView> {
    return this.database.transaction((tx) => this.createIn(tx, input, actor)).finally(() => this.outbox?.poke());
  }

  /**
   * Opens an escrow for its payer, idempotently by id: an escrow that exists with the same payer, payee and
   * amount is returned as it is (created: false); with other fields it is a conflict.
   */
  async open(input: EscrowCreate & { payerAgentId: string }, actor: EscrowActor): Promise<{ escrow: EscrowView; created: boolean }> {
    requirePositiveAmount(input.amount);
    if (input.id) {
      const existing = await this.find(input.id);
      if (existing) {
        if (existing.payerAgentId !== input.payerAgentId || existing.payeeAgentId !== input.payeeAgentId || existing.amount !== input.amount) {
          throw new AppError('conflict', `escrow ${input.id} exists with other fields`);
        }
        return { escrow: existing, created: false };
      }
    }
    return { escrow: await this.create(input, actor), created: true };
  }

  /** The stream event of a transition: `escrow.<new state>` (a milestone release: escrow.partially_released), the escrow as REST shows it. */
  private eventOf(r: Row, action: EscrowAction | 'create', from: string | null): { type: string; agents: string[]; data: string } {
    const type = from !== null && r.state === from && action === 'release' ? 'escrow.partially_released' : `escrow.${r.state}`;
    return { type, agents: [r.payer_agent_id, r.payee_agent_id], data: JSON.stringify({ escrowId: r.id, action, ...escrowJson(view(r)) }) };
  }

  /** Creates and funds an escrow inside the caller's transaction; throws insufficient_funds. */
  async createIn(tx: Tx, input: EscrowCreate, actor: EscrowActor): Promise<EscrowView> {
    requirePositiveAmount(input.amount);
    if (input.payerAgentId === input.payeeAgentId) throw new AppError('validation_failed', 'payer and payee must differ');
    const now = this.clock.now();
    if (input.expiresAt && input.expiresAt.getTime() <= now.getTime()) throw new AppError('validation_failed', 'expiresAt must be in the future');
    // Only an active payee receives an escrow; a missing or deactivated one is refused before anything is written.
    const payeeStatus = await this.payees.statusIn(tx, input.payeeAgentId);
    if (payeeStatus === null) throw notFound('agent', input.payeeAgentId);
    if (payeeStatus !== 'active') throw new AppError('unprocessable', `agent ${input.payeeAgentId} is deactivated`);
    const id = input.id ?? uuidv7(this.clock);
    const accountId = await this.ledger.openEscrowAccount(tx, id);
    const ev = this.eventOf({
      id, account_id: accountId, payer_agent_id: input.payerAgentId, payee_agent_id: input.payeeAgentId, amount: input.amount, released: 0n, refunded: 0n,
      fees: 0n, fee_bps: input.feeBps ?? DEFAULT_FEE_BPS, state: 'held', reference: input.reference ?? null, expires_at: input.expiresAt ?? null,
      review_window_ms: BigInt(input.reviewWindowMs ?? DEFAULT_REVIEW_WINDOW_MS), auto_release_at: null, version: 0, created_at: now, updated_at: now,
    }, 'create', null);
    // The escrow and its first event in one statement.
    const row = (await sql<Row>`
      WITH e AS (
        INSERT INTO escrows (id, account_id, payer_agent_id, payee_agent_id, amount, fee_bps, state, reference, expires_at, review_window_ms, auto_release_at, created_at, updated_at)
        VALUES (${id}::uuid, ${accountId}::uuid, ${input.payerAgentId}::uuid, ${input.payeeAgentId}::uuid, ${input.amount}::int8, ${input.feeBps ?? DEFAULT_FEE_BPS}::int4, 'held',
          ${input.reference ?? null}::text, ${input.expiresAt ?? null}::timestamptz, ${BigInt(input.reviewWindowMs ?? DEFAULT_REVIEW_WINDOW_MS)}::int8,
          NULL, ${now}::timestamptz, ${now}::timestamptz)
        RETURNING *
      ), ev AS (
        INSERT INTO escrow_events (escrow_id, from_state, to_state, action, actor, amount, detail, at)
        SELECT e.id, NULL, 'held', 'create', ${actorName(actor)}::text, e.amount, NULL, ${now}::timestamptz FROM e
      ), o AS (
        INSERT INTO outbox_events (type, agent_ids, data, at)
        SELECT ${ev.type}::text, ${ev.agents}::text[], ${ev.data}::jsonb, ${now}::timestamptz FROM e
      )
      SELECT * FROM e`.execute(tx)).rows[0]!;
    const [fund] = await this.ledger.executeIn(tx, [{
      id: uuidFromName(`escrow:${id}:fund`), kind: 'posted', debitAccountId: walletAccountId(input.payerAgentId), creditAccountId: accountId,
      amount: input.amount, code: 'escrow_fund', reference: `escrow:${id}`,
    }]);
    if (fund?.status === 'rejected') throw rejectionError(fund.code);
    return view(row);
  }

  async get(id: string): Promise<EscrowView> {
    const e = await this.find(id);
    if (!e) throw notFound('escrow', id);
    return e;
  }

  /** An escrow, for its payer, its payee and the operator. */
  async getFor(viewer: Principal, id: string): Promise<EscrowView> {
    const e = await this.get(id);
    if (viewer.kind === 'agent' && viewer.agentId !== e.payerAgentId && viewer.agentId !== e.payeeAgentId) {
      throw new AppError('forbidden', 'only the parties of an escrow and the operator may read it');
    }
    return e;
  }

  private async find(id: string): Promise<EscrowView | undefined> {
    const r = await this.database.db.selectFrom('escrows').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? view(r as Row) : undefined;
  }

  /**
   * Escrows by id, read through `db`: inside a transaction, pass it (PGlite has one connection, so a read
   * beside the transaction would wait on it). Ids that name no escrow are left out.
   */
  async getIn(db: Database['db'], ids: readonly string[]): Promise<Map<string, EscrowView>> {
    const out = new Map<string, EscrowView>();
    if (!ids.length) return out;
    for (const r of await db.selectFrom('escrows').selectAll().where(sql<boolean>`id = ANY(${[...ids]}::uuid[])`).execute()) out.set(r.id, view(r as Row));
    return out;
  }

  async events(id: string): Promise<EscrowEventView[]> {
    const rows = await this.database.db.selectFrom('escrow_events').selectAll().where('escrow_id', '=', id).orderBy('seq').execute();
    return rows.map((e) => ({
      seq: e.seq, fromState: e.from_state, toState: e.to_state, action: e.action, actor: e.actor, amount: e.amount,
      detail: e.detail, at: e.at,
    }));
  }

  act(id: string, action: EscrowAction, actor: EscrowActor, opts: EscrowActOptions = {}): Promise<EscrowView> {
    return this.database.transaction((tx) => this.actIn(tx, id, action, actor, opts)).finally(() => this.outbox?.poke());
  }

  /** One transition, inside the caller's transaction. */
  async actIn(tx: Tx, id: string, action: EscrowAction, actor: EscrowActor, opts: EscrowActOptions = {}): Promise<EscrowView> {
    const locked = await sql<Row>`SELECT * FROM escrows WHERE id = ${id}::uuid FOR UPDATE`.execute(tx);
    const row = locked.rows[0];
    if (!row) throw notFound('escrow', id);
    if (actor.kind === 'agent' && actor.agentId !== row.payer_agent_id && actor.agentId !== row.payee_agent_id) {
      throw new AppError('forbidden', 'only the payer, the payee or the operator may act on this escrow');
    }
    if (!allowed(action, actor, row)) {
      throw new AppError('forbidden', `${actorName(actor)} may not ${action} this escrow`);
    }
    const from = row.state as EscrowState;
    let to = nextEscrowState(from, action);
    if (!to) throw new AppError('invalid_transition', `cannot ${action} an escrow that is ${from}`, { state: from, action });
    if ((action === 'release' || action === 'auto_release') && actor.kind !== 'admin' && await this.releaseHeld(tx, row.payee_agent_id)) {
      throw new AppError('risk_restricted', `settlements to ${row.payee_agent_id} are held for review: the money stays in escrow until the hold is lifted`, { restriction: 'hold_settlements', state: from, action });
    }
    const now = this.clock.now();
    if (action === 'expire' && (!row.expires_at || row.expires_at.getTime() > now.getTime())) {
      throw new AppError('invalid_transition', 'the escrow has not reached its delivery deadline', { state: from, action });
    }
    if (action === 'auto_release' && (!row.auto_release_at || row.auto_release_at.getTime() > now.getTime())) {
      throw new AppError('invalid_transition', 'the review window has not passed', { state: from, action });
    }
    // Delivery after the deadline is too late: the payer's refund right has already arisen.
    if (action === 'deliver' && row.expires_at && row.expires_at.getTime() <= now.getTime()) {
      throw new AppError('invalid_transition', 'the delivery deadline has passed', { state: from, action });
    }

    const remaining = row.amount - row.released - row.refunded;
    let toPayee = 0n; // gross, fee included
    let toPayer = 0n;
    switch (action) {
      case 'release': {
        toPayee = opts.amount ?? remaining;
        if (toPayee <= 0n || toPayee > remaining) {
          throw new AppError('validation_failed', `a release must be between 0 and the remaining ${remaining} units`);
        }
        if (toPayee < remaining) to = from; // milestone: a part is paid, the escrow stays open
        break;
      }
      case 'auto_release':
      case 'resolve_release':
        toPayee = remaining;
        break;
      case 'refund':
      case 'expire':
      case 'resolve_refund':
        toPayer = remaining;
        break;
      case 'resolve_split': {
        const p = opts.payeeAmount;
        if (p === undefined || p < 0n || p > remaining) {
          throw new AppError('validation_failed', `a split needs payeeAmount between 0 and the remaining ${remaining} units`);
        }
        toPayee = p;
        toPayer = remaining - p;
        break;
      }
      default:
        break;
    }
    let split: ReleaseSplit = { payee: toPayee - feeOf(toPayee, row.fee_bps), fees: feeOf(toPayee, row.fee_bps), pool: 0n, shares: [] };
    if (toPayee > 0n && this.splitter) {
      split = await this.splitter.splitIn(tx, { escrowId: id, reference: row.reference, payerAgentId: row.payer_agent_id, payeeAgentId: row.payee_agent_id, gross: toPayee, feeBps: row.fee_bps });
      const parts = [split.payee, split.fees, split.pool, ...split.shares.map((x) => x.amount)];
      if (parts.some((x) => x < 0n) || parts.reduce((a, b) => a + b, 0n) !== toPayee) throw new Error(`escrow ${id}: the release split does not sum to ${toPayee}`);
    }
    // the fee as the escrow records it: what the platform took (its fee account and the reward pool's share)
    const fee = split.fees + split.pool;
    const legs: TransferInput[] = [];
    const legId = (leg: string) => uuidFromName(`escrow:${id}:v${row.version}:${leg}`);
    const ref = `escrow:${id}`;
    if (split.payee > 0n) legs.push({ id: legId('payee'), kind: 'posted', debitAccountId: row.account_id, creditAccountId: walletAccountId(row.payee_agent_id), amount: split.payee, code: 'escrow_release', reference: ref });
    if (split.fees > 0n) legs.push({ id: legId('fee'), kind: 'posted', debitAccountId: row.account_id, creditAccountId: SYSTEM_ACCOUNTS.fees, amount: split.fees, code: 'platform_fee', reference: ref });
    if (split.pool > 0n) legs.push({ id: legId('pool'), kind: 'posted', debitAccountId: row.account_id, creditAccountId: SYSTEM_ACCOUNTS.rewards, amount: split.pool, code: 'reward_pool_share', reference: ref });
    split.shares.forEach((x, i) => {
      if (x.amount > 0n) legs.push({ id: legId(`share:${i}`), kind: 'posted', debitAccountId: row.account_id, creditAccountId: walletAccountId(x.agentId), amount: x.amount, code: 'revenue_share', reference: ref });
    });
    if (toPayer > 0n) legs.push({ id: legId('payer'), kind: 'posted', debitAccountId: row.account_id, creditAccountId: walletAccountId(row.payer_agent_id), amount: toPayer, code: 'escrow_refund', reference: ref });
    if (legs.length) {
      const outcomes = await this.ledger.executeIn(tx, legs, { atomic: true });
      const bad = outcomes.find((o) => o.status === 'rejected');
      if (bad && bad.status === 'rejected') throw new Error(`escrow ${id}: ledger rejected ${bad.id}: ${bad.code}`);
    }
    const autoReleaseAt = to === 'delivered' && from !== 'delivered' ? new Date(now.getTime() + Number(row.review_window_ms)) : to === 'delivered' ? row.auto_release_at : null;
    const detail: Record<string, unknown> = {};
    // shown as it is stored: AITBC decimals, like every amount a user sees
    if (toPayee) {
      detail.toPayee = formatAmount(split.payee); detail.fee = formatAmount(fee);
      if (split.pool > 0n) detail.rewardPool = formatAmount(split.pool);
      if (split.shares.length) detail.shares = split.shares.map((x) => ({ agentId: x.agentId, amount: formatAmount(x.amount), reason: x.reason }));
    }
    if (toPayer) detail.toPayer = formatAmount(toPayer);
    if (opts.reason) detail.reason = opts.reason;
    const next: Row = {
      ...row, state: to, released: row.released + toPayee, refunded: row.refunded + toPayer, fees: row.fees + fee,
      auto_release_at: autoReleaseAt, version: row.version + 1, updated_at: now,
    };
    const ev = this.eventOf(next, action, from);
    // the row's update, its history event and its stream event in one statement
    const updated = await tx
      .with('u', (db) => db.updateTable('escrows').set({
        state: to, released: row.released + toPayee, refunded: row.refunded + toPayer, fees: row.fees + fee,
        auto_release_at: autoReleaseAt, version: row.version + 1, updated_at: now,
      }).where('id', '=', id).returningAll())
      .with('ev', (db) => db.insertInto('escrow_events').columns(['escrow_id', 'from_state', 'to_state', 'action', 'actor', 'amount', 'detail', 'at'])
        .expression(sql`SELECT u.id, ${from}::text, u.state, ${action}::text, ${actorName(actor)}::text, ${toPayee + toPayer || null}::int8,
          ${Object.keys(detail).length ? JSON.stringify(detail) : null}::jsonb, ${now}::timestamptz FROM u`))
      .with('o', (db) => db.insertInto('outbox_events').columns(['type', 'agent_ids', 'data', 'at'])
        .expression(sql`SELECT ${ev.type}::text, ${ev.agents}::text[], ${ev.data}::jsonb, ${now}::timestamptz FROM u`))
      .selectFrom('u').selectAll().executeTakeFirstOrThrow();
    return view(updated as Row);
  }

  /** Fires due timers: deliveries past their deadline refund, reviews past their window release. */
  async runDue(limit = 200): Promise<{ expired: number; released: number }> {
    const now = this.clock.now();
    const db = this.database.db;
    const [expiring, releasing] = await Promise.all([
      db.selectFrom('escrows').select('id').where('state', '=', 'held').where('expires_at', '<=', now).orderBy('expires_at').limit(limit).execute(),
      db.selectFrom('escrows').select('id').where('state', '=', 'delivered').where('auto_release_at', '<=', now).orderBy('auto_release_at').limit(limit).execute(),
    ]);
    let expired = 0;
    let released = 0;
    const system: EscrowActor = { kind: 'system' };
    for (const e of expiring) {
      try { await this.act(e.id, 'expire', system); expired++; } catch (err) { if (!(err instanceof AppError)) throw err; }
    }
    for (const e of releasing) {
      try { await this.act(e.id, 'auto_release', system); released++; } catch (err) { if (!(err instanceof AppError)) throw err; }
    }
    return { expired, released };
  }

  isTerminal(state: EscrowState): boolean {
    return TERMINAL.has(state);
  }
}
