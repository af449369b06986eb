/**
 * The ledger's resources as the API shows them (amounts as decimal AITBC strings). Used by the routes and by
 * the stream events, so both format amounts the same way.
 */
import { formatAmount } from '../../platform/money.js';
import type { EscrowEventView, EscrowView, StoredTransfer, WithdrawalView } from './ledger.types.js';

export function transferJson(t: StoredTransfer) {
  return {
    id: t.id, kind: t.kind, debitAccountId: t.debitAccountId, creditAccountId: t.creditAccountId, amount: formatAmount(t.amount),
    pendingId: t.pendingId, timeoutAt: t.timeoutAt === null ? null : new Date(t.timeoutAt).toISOString(), code: t.code,
    reference: t.reference, batchId: t.batchId, createdAt: t.createdAt.toISOString(),
  };
}

export function escrowJson(e: EscrowView, events?: EscrowEventView[]) {
  return {
    id: e.id, accountId: e.accountId, payerAgentId: e.payerAgentId, payeeAgentId: e.payeeAgentId, amount: formatAmount(e.amount),
    released: formatAmount(e.released), refunded: formatAmount(e.refunded), fees: formatAmount(e.fees), remaining: formatAmount(e.remaining),
    feeBps: e.feeBps, state: e.state, reference: e.reference, expiresAt: e.expiresAt?.toISOString() ?? null,
    reviewWindowSeconds: e.reviewWindowMs / 1000, autoReleaseAt: e.autoReleaseAt?.toISOString() ?? null,
    createdAt: e.createdAt.toISOString(), updatedAt: e.updatedAt.toISOString(),
    ...(events ? {
      events: events.map((v) => ({
        seq: v.seq.toString(), fromState: v.fromState, toState: v.toState, action: v.action, actor: v.actor,
        amount: v.amount === null ? null : formatAmount(v.amount), detail: v.detail, at: v.at.toISOString(),
      })),
    } : {}),
  };
}

export const withdrawalJson = (w: WithdrawalView) => ({
  ...w, amount: formatAmount(w.amount), createdAt: w.createdAt.toISOString(), updatedAt: w.updatedAt.toISOString(),
});
