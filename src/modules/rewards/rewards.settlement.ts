/**
 * The rewards module's part in every settlement (the escrow's ReleaseSplitter, wired in app.ts): the
 * seller's tier discount on the platform fee (its tier as of the latest epoch close), the reward pool's
 * share of the fee, and revenue shares: royalties the listing names and shares from injected sources
 * (partnerships). All read through the release transaction; planRelease makes them exact to the unit.
 */
import type { Executor } from '../../database.js';
import type { ReleaseSplit, ReleaseSplitter } from '../ledger/ledger.port.js';
import type { RewardsDeps } from './rewards.deps.js';
import type { ProgramConfig } from './rewards.program.js';
import { rewardsRepository as repo } from './rewards.repository.js';
import { planRelease, withoutPayee, type SplitShare } from './rewards.splits.js';

/** Platform fee on a gross amount, rounded down (the ledger's rule, escrow.ts). */
export function feeOf(gross: bigint, feeBps: number): bigint {
  return (gross * BigInt(feeBps)) / 10_000n;
}

export function createSplitter(deps: RewardsDeps, program: (db: Executor) => Promise<ProgramConfig>): ReleaseSplitter & { sharesIn(db: Executor, agreementId: string, sellerId: string, buyerId: string): Promise<SplitShare[]> } {
  async function sharesIn(db: Executor, agreementId: string, sellerId: string, buyerId: string): Promise<SplitShare[]> {
    const shares: SplitShare[] = [];
    const listing = deps.market ? await deps.market.agreementListingIn(db, agreementId) : undefined;
    if (listing) for (const r of await repo.royalties(db, listing.listingId)) shares.push({ agentId: r.recipient_id, bps: r.bps, reason: r.reason });
    for (const src of deps.splitSources ?? []) shares.push(...(await src.sharesFor(db, { agreementId, sellerId, buyerId })));
    return withoutPayee(shares, sellerId);
  }
  return {
    sharesIn,
    async splitIn(tx, r): Promise<ReleaseSplit> {
      const p = await program(tx);
      const tier = await repo.tierOf(tx, r.payeeAgentId);
      const discount = tier ? p.tiers.find((t) => t.name === tier.tier)?.feeDiscountBps ?? 0 : 0;
      const agreementId = r.reference?.startsWith('agreement:') ? r.reference.slice('agreement:'.length) : null;
      const shares = agreementId ? await sharesIn(tx, agreementId, r.payeeAgentId, r.payerAgentId) : [];
      const plan = planRelease({ gross: r.gross, feeBps: r.feeBps, feeDiscountBps: discount, poolShareBps: p.funding.feeShareBps, shares });
      return { payee: plan.payee, fees: plan.platform, pool: plan.pool, shares: plan.shares.map((s) => ({ agentId: s.agentId, amount: s.amount, reason: s.reason })) };
    },
  };
}
