/**
 * Spend mandates: the one check of an agent's spending limits, shared by every way an agent pays: funding an
 * escrow (trading's `beforePayment`, inside the funding transaction) and paying another agent directly (the
 * ledger's spend guard, inside the group commit's transaction, where the ledger decides the payment). Both
 * lock the mandate row FOR UPDATE before the wallets are locked, so concurrent payments against one mandate
 * are serialised and the day's spend is counted against one budget whichever way the money leaves.
 *
 * `MandateSpend` is the budget of one mandate within one transaction: `refusal` names the spending limit a
 * payment would break (an expired mandate, `perTrade`, `perDay`), `add` counts an admitted one and returns the
 * near-limit / limit-reached events it raises, `write` stores the day's spend. The trade-only limits
 * (categories, minimum seller trust, open agreements) are checked by trading's path alone: a direct transfer
 * has no category, seller or agreement (docs/decisions.md, "Mandates bind direct transfers").
 */
import type { Tx } from '../../database.js';
import type { OutboxEvent } from '../../platform/events/outbox.js';
import { AppError } from '../../platform/http/errors.js';
import { formatAmount } from '../../platform/money.js';
import { riskRepository as repo } from './risk.repository.js';
import type { Selectable } from 'kysely';
import type { RiskMandatesTable } from './risk.tables.js';

type MandateRow = Selectable<RiskMandatesTable>;

/** A mandate's near-limit event: at 80 % of the day's budget. */
export const NEAR_LIMIT = 0.8;

/** A limit a payment breaks: its name (the API's `limit`), the words, and the figures. */
export interface MandateRefusal { limit: string; detail: string; extra: Record<string, unknown> }

/** One mandate's budget within one transaction (its row locked by the caller). */
export class MandateSpend {
  readonly day: string;
  spent: bigint;
  near: boolean;

  constructor(readonly m: MandateRow, readonly now: Date) {
    this.day = now.toISOString().slice(0, 10);
    const today = m.day !== null && m.day.toISOString().slice(0, 10) === this.day;
    this.spent = today ? BigInt(m.spent_today) : 0n;
    this.near = today ? m.near_notified : false;
  }

  /**
   * The spending limit a payment of `amount` would break now, after what this budget counted (and `alsoToday`,
   * payments of the same call before it): expiry, per trade, per day.
   */
  refusal(amount: bigint, alsoToday = 0n): MandateRefusal | null {
    const m = this.m;
    if (m.expires_at && m.expires_at.getTime() <= this.now.getTime()) return { limit: 'expiresAt', detail: `the spend mandate expired at ${m.expires_at.toISOString()}`, extra: {} };
    if (m.per_trade !== null && amount > BigInt(m.per_trade)) {
      const max = formatAmount(BigInt(m.per_trade));
      return { limit: 'perTrade', detail: `the payment of ${formatAmount(amount)} AITBC exceeds the mandate's per-trade limit of ${max}`, extra: { max } };
    }
    const spent = this.spent + alsoToday;
    if (m.per_day !== null && spent + amount > BigInt(m.per_day)) {
      return {
        limit: 'perDay',
        detail: `the payment of ${formatAmount(amount)} AITBC would bring today's spend to ${formatAmount(spent + amount)}, over the mandate's daily budget of ${formatAmount(BigInt(m.per_day))}`,
        extra: { spentToday: formatAmount(spent), max: formatAmount(BigInt(m.per_day)) },
      };
    }
    return null;
  }

  /** Counts an admitted payment; returns the events it raises (the day's budget reached, or 80 % of it first passed). */
  add(amount: bigint): OutboxEvent[] {
    const agentId = this.m.agent_id;
    this.spent += amount;
    if (this.m.per_day === null) return [];
    const budget = BigInt(this.m.per_day);
    const data = { agentId, limit: 'perDay', spentToday: formatAmount(this.spent), max: formatAmount(budget) };
    if (this.spent === budget) return [{ type: 'mandate.limit_reached', agentIds: [agentId], data: { ...data, refused: false }, at: this.now.toISOString() }];
    if (!this.near && Number(this.spent) >= NEAR_LIMIT * Number(budget)) {
      this.near = true;
      return [{ type: 'mandate.near_limit', agentIds: [agentId], data, at: this.now.toISOString() }];
    }
    return [];
  }

  /** Stores the day's spend (in the transaction that locked the row). */
  write(tx: Tx): Promise<void> {
    return repo.setSpend(tx, this.m.agent_id, this.day, this.spent, this.near);
  }
}

/** The refusal as the API answers it: 409 mandate_exceeded naming the limit. */
export function refusalError(r: MandateRefusal): AppError {
  return new AppError('mandate_exceeded', r.detail, { limit: r.limit, ...r.extra });
}

/** The stream's record of a refused payment (`what`: the agreement or transfer it was). */
export function refusalEvent(agentId: string, r: MandateRefusal, amount: bigint, now: Date, what: Record<string, unknown>): OutboxEvent {
  return { type: 'mandate.limit_reached', agentIds: [agentId], data: { agentId, limit: r.limit, ...what, amount: formatAmount(amount), refused: true, ...r.extra }, at: now.toISOString() };
}
