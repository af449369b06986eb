/**
 * A reward program: what the operator configures (tiers, weights, bonuses, funding, caps). Versioned: an
 * epoch is computed with the version in force when it opened. Pure data and validation, no I/O.
 */

export interface Tier {
  name: string;
  /** trust score (0-1000) from which the tier applies */
  minTrust: number;
  /** reward multiplier, e.g. 1.2 */
  multiplier: number;
  /** platform-fee discount at settlement for a seller of this tier, basis points of the fee */
  feeDiscountBps: number;
  /** concurrent open agreements a seller of this tier may hold (null: no limit from the program) */
  maxOpenAgreements: number | null;
}

export interface ProgramConfig {
  /** epoch length (default one day) */
  epochMs: number;
  /** ascending by minTrust, the first at 0 */
  tiers: Tier[];
  /** base points per unit of counted trade value: as seller and as buyer, basis points */
  sellerWeightBps: number;
  buyerWeightBps: number;
  /** the plan's thresholds; each one met adds its bonus (measured values only) */
  performance: {
    latencyMs: number; latencyBonus: number;
    accuracy: number; accuracyBonus: number;
    availability: number; availabilityBonus: number;
    successRate: number; successBonus: number;
    /** fewer measured trades than this: the trade metrics (latency, accuracy, success) give nothing */
    minTrades: number;
  };
  loyalty: {
    /** tenure bonus grows linearly to tenureBonus at tenureDays */
    tenureDays: number; tenureBonus: number;
    /** per consecutive active epoch before this one, up to streakMax */
    streakStep: number; streakMax: number;
    /** per independent buyer with two or more counted trades in the epoch, up to repeatMax */
    repeatStep: number; repeatMax: number;
  };
  /** a seller's supply bonus when its trades are in cells analytics marks under-supplied (share of its sales there) */
  supplyBonus: number;
  funding: {
    /** share of every platform fee that goes to the reward pool at settlement, basis points of the fee */
    feeShareBps: number;
    /** most an epoch may pay, base units (null: no fixed limit) */
    epochBudget: bigint | null;
    /** share of the pool balance at close an epoch may pay, basis points */
    poolShareBps: number;
  };
  caps: {
    /** an agent's reward is at most this share of the platform fees of the counted trades it took part in */
    feeRebateBps: number;
    /** an agent's reward is at most this share of what the epoch pays */
    agentShareBps: number;
    /** an owner cluster's reward is at most this share of what the epoch pays */
    clusterShareBps: number;
  };
  referral: {
    /** paid to the referrer once, when the referred agent's trust reaches minTrust */
    amount: bigint;
    minTrust: number;
    /** referral rewards a referrer may receive in all */
    maxPerReferrer: number;
  };
  /** pay automatically when the job closes an epoch (false: the operator previews and distributes) */
  autoDistribute: boolean;
}

export interface Program extends ProgramConfig {
  id: string;
  version: number;
  createdAt: Date;
}

export const DEFAULT_PROGRAM_ID = 'default';

export const DEFAULT_TIERS: Tier[] = [
  { name: 'bronze', minTrust: 0, multiplier: 1.0, feeDiscountBps: 0, maxOpenAgreements: 10 },
  { name: 'silver', minTrust: 600, multiplier: 1.2, feeDiscountBps: 500, maxOpenAgreements: 25 },
  { name: 'gold', minTrust: 750, multiplier: 1.5, feeDiscountBps: 1000, maxOpenAgreements: 50 },
  { name: 'platinum', minTrust: 900, multiplier: 2.0, feeDiscountBps: 2000, maxOpenAgreements: 100 },
];

export const DEFAULT_CONFIG: ProgramConfig = {
  epochMs: 86_400_000,
  tiers: DEFAULT_TIERS,
  // 0.3 % of counted sales and 0.1 % of counted purchases: with every bonus a gold seller asks ~0.9 % of its
  // sales, below the fee-rebate cap (40 % of a 2.5 % fee = 1 %), so quality still tells (docs/decisions.md)
  sellerWeightBps: 30,
  buyerWeightBps: 10,
  performance: {
    latencyMs: 50, latencyBonus: 0.10,
    accuracy: 0.95, accuracyBonus: 0.15,
    availability: 0.99, availabilityBonus: 0.20,
    successRate: 0.98, successBonus: 0.25,
    minTrades: 3,
  },
  loyalty: { tenureDays: 180, tenureBonus: 0.1, streakStep: 0.02, streakMax: 0.1, repeatStep: 0.02, repeatMax: 0.1 },
  supplyBonus: 0.2,
  funding: { feeShareBps: 2_000, epochBudget: null, poolShareBps: 10_000 },
  caps: { feeRebateBps: 4_000, agentShareBps: 2_500, clusterShareBps: 4_000 },
  referral: { amount: 100_000_000n, minTrust: 600, maxPerReferrer: 10 },
  autoDistribute: true,
};

/** What is wrong with a config (field, message); empty when it is valid. */
export function programErrors(c: ProgramConfig): { field: string; message: string }[] {
  const out: { field: string; message: string }[] = [];
  const bad = (field: string, message: string) => out.push({ field: `body.${field}`, message });
  if (!(c.epochMs >= 60_000 && c.epochMs <= 31 * 86_400_000)) bad('epochMs', 'must be between 1 minute and 31 days');
  if (c.tiers.length < 1 || c.tiers.length > 8) bad('tiers', 'must list 1 to 8 tiers');
  else {
    if (c.tiers[0]!.minTrust !== 0) bad('tiers.0.minTrust', 'the first tier starts at 0');
    const names = new Set<string>();
    c.tiers.forEach((t, i) => {
      if (names.has(t.name)) bad(`tiers.${i}.name`, 'duplicate tier name');
      names.add(t.name);
      if (i > 0 && t.minTrust <= c.tiers[i - 1]!.minTrust) bad(`tiers.${i}.minTrust`, 'tiers must ascend by minTrust');
      if (i > 0 && t.multiplier < c.tiers[i - 1]!.multiplier) bad(`tiers.${i}.multiplier`, 'a higher tier may not have a lower multiplier');
    });
  }
  const caps = c.caps;
  if (caps.agentShareBps > caps.clusterShareBps) bad('caps.agentShareBps', 'may not exceed caps.clusterShareBps');
  // the anti-farming bound: a trade's two sides together earn less than the fee it paid (docs/decisions.md)
  if (caps.feeRebateBps * 2 >= 10_000) bad('caps.feeRebateBps', 'must be below 5000 (both sides of a trade together earn less than its fee)');
  return out;
}

/** The tier of a trust score. */
export function tierOf(tiers: readonly Tier[], trust: number): Tier {
  let t = tiers[0]!;
  for (const x of tiers) if (trust >= x.minTrust) t = x;
  return t;
}
