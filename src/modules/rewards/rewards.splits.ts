/**
 * How a release is split, pure: the platform fee (less the seller's tier discount), the reward pool's
 * share of that fee, and revenue shares (royalties, partnership shares) out of the seller's net. Every
 * leg is a whole number of base units and the legs sum exactly to the gross.
 *
 * Remainder rule: each share is rounded down (fee, discount, pool share, each recipient's bps of the
 * net); what rounding leaves goes to the seller. Recipients whose shares would exceed the net are cut:
 * the bps are applied in order and the total is at most 10,000 bps (validated where they are set).
 */

export interface SplitShare {
  agentId: string;
  /** basis points of the seller's net (after the fee) */
  bps: number;
  /** 'royalty', 'partnership', ... shown on the leg */
  reason: string;
}

export interface ReleaseInput {
  gross: bigint;
  feeBps: number;
  /** seller's tier discount on the fee, basis points of the fee */
  feeDiscountBps: number;
  /** pool share of the (discounted) fee, basis points of the fee */
  poolShareBps: number;
  shares: readonly SplitShare[];
}

export interface ReleasePlan {
  fee: bigint;
  discount: bigint;
  pool: bigint;
  /** fee - pool: what goes to system:fees */
  platform: bigint;
  shares: { agentId: string; reason: string; bps: number; amount: bigint }[];
  /** what the seller (payee) receives */
  payee: bigint;
}

const clampBps = (x: number) => Math.max(0, Math.min(10_000, Math.floor(Number.isFinite(x) ? x : 0)));

export function planRelease(r: ReleaseInput): ReleasePlan {
  const gross = r.gross > 0n ? r.gross : 0n;
  const fullFee = (gross * BigInt(clampBps(r.feeBps))) / 10_000n;
  const discount = (fullFee * BigInt(clampBps(r.feeDiscountBps))) / 10_000n;
  const fee = fullFee - discount;
  const pool = (fee * BigInt(clampBps(r.poolShareBps))) / 10_000n;
  const net = gross - fee;
  let left = net;
  let bpsLeft = 10_000;
  const shares: ReleasePlan['shares'] = [];
  for (const s of r.shares) {
    const bps = Math.min(clampBps(s.bps), bpsLeft);
    if (bps <= 0) continue;
    bpsLeft -= bps;
    const amount = (net * BigInt(bps)) / 10_000n;
    if (amount <= 0n) continue;
    left -= amount;
    shares.push({ agentId: s.agentId, reason: s.reason, bps, amount });
  }
  return { fee, discount, pool, platform: fee - pool, shares, payee: left };
}

/** Shares for recipients the same as the payee are dropped (a seller is not its own royalty recipient). */
export function withoutPayee(shares: readonly SplitShare[], payeeId: string): SplitShare[] {
  return shares.filter((s) => s.agentId !== payeeId);
}
