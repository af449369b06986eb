/**
 * Checks other modules (risk) hand trading, run inside trading's own transactions: before an agreement is
 * made (a frozen listing, a suspended party, a paused market cell refuse it) and before the buyer pays into
 * escrow (its spend mandate). Each throws an AppError to refuse; the transaction then rolls back.
 */
import type { Tx } from '../../database.js';

export interface TradingGuards {
  /** Before the payment's transaction opens: reads what the check needs outside it (a seller's trust score). */
  prepare?(p: { buyerId: string; sellerId: string }): Promise<void>;
  beforeAgreement(tx: Tx, a: { buyerId: string; sellerId: string; listingId: string; category: string; region: string }): Promise<void>;
  beforePayment(tx: Tx, p: { agreementId: string; buyerId: string; sellerId: string; category: string; amount: bigint; openAgreements: () => Promise<number> }): Promise<void>;
}

export const NO_GUARDS: TradingGuards = {
  beforeAgreement: async () => undefined,
  beforePayment: async () => undefined,
};
