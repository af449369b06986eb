/**
 * The hook through which trading asks how many open agreements a seller may hold (the seller's reward tier,
 * implemented by rewards and passed in by app.ts). Trading enforces it when an agreement is made and when
 * one is funded: "open" is an agreement with the buyer's money in escrow (funded, delivered, disputed), the
 * seller's concurrent work. Past the limit the step is refused with 409 `tier_limit` and changes nothing.
 */
import type { Executor } from '../../database.js';

export interface SellerTierLimit {
  /** The seller's tier and its most open agreements; null: no limit. Reads through `db`, the caller's transaction. */
  openAgreementLimit(db: Executor, sellerId: string): Promise<{ tier: string; max: number } | null>;
}
