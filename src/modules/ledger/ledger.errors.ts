/**
 * How the ledger's refusals reach the API: the one check that an amount is positive, and the one mapping
 * from a ledger rejection code to an API error (the same on every retry of the same transfer id).
 */
import { AppError, notFound } from '../../platform/http/errors.js';
import type { RejectCode } from './ledger.engine.js';
import type { Outcome, RecordedTransfer } from './ledger.types.js';

/** Throws validation_failed naming `field` unless `amount` > 0. */
export function requirePositiveAmount(amount: bigint, field = 'body.amount'): bigint {
  if (amount <= 0n) throw new AppError('validation_failed', `${field} must be greater than zero`, { errors: [{ field, message: 'must be > 0' }] });
  return amount;
}

/**
 * A ledger rejection as an API error. `agentId`: the agent whose wallet the caller named, so that a missing
 * account reads as that agent not existing.
 */
export function rejectionError(code: RejectCode, context: { agentId?: string } = {}): AppError {
  switch (code) {
    case 'insufficient_funds': return new AppError('insufficient_funds', 'the available balance is too low for this transfer', { reason: code });
    case 'account_not_found':
      return context.agentId !== undefined ? notFound('agent', context.agentId) : new AppError('not_found', 'an account of this transfer does not exist', { reason: code });
    case 'exists_with_different_fields': return new AppError('conflict', 'a transfer with this id exists with other fields', { reason: code });
    case 'same_account': return new AppError('validation_failed', 'a transfer needs two different accounts', { reason: code });
    case 'amount_must_be_positive': return new AppError('validation_failed', 'amount must be greater than zero', { reason: code });
    case 'overflows_account': return new AppError('unprocessable', 'the transfer would overflow an account\'s counters', { reason: code });
    default: return new AppError('unprocessable', `the transfer was rejected: ${code}`, { reason: code });
  }
}

/** The stored transfer of an outcome, or its rejection thrown as an API error. */
export function recordedOrThrow(o: Outcome | undefined, context: { agentId?: string } = {}): RecordedTransfer {
  if (!o) throw new Error('the ledger returned no outcome');
  if (o.status === 'rejected') throw rejectionError(o.code, context);
  return { transfer: o.transfer, created: o.status === 'created' };
}
