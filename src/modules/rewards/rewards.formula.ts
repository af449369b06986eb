/**
 * The reward formula, pure: an epoch's evidence per agent in, each agent's statement out.
 *
 *   reward = base x tier multiplier x (1 + performance bonus) x (1 + loyalty bonus) x (1 + supply bonus)
 *
 * then, in this order: capped at `caps.feeRebateBps` of the platform fees of the agent's counted trades
 * (so no pair of agents can earn back the fee their trade paid), scaled pro rata to the budget when the
 * total exceeds it (largest remainder, ties by agent id), capped per agent and per owner cluster as a
 * share of what the epoch pays (the excess stays in the pool). Held agents are computed and reported but
 * not paid. Factors are fixed-point (parts per million) so the same inputs give the same units anywhere.
 */
import { tierOf, type ProgramConfig } from './rewards.program.js';

export interface AgentEvidence {
  agentId: string;
  /** owner cluster id (same-owner verdicts); the agent's own id when it has none */
  cluster: string;
  /** counted (settled, successful, not same-owner, not circular) trade value as seller and as buyer, base units */
  sellerValue: bigint;
  buyerValue: bigint;
  /** platform fee of the counted trades it took part in (either side), base units */
  fees: bigint;
  /** trust at the epoch's close, 0-1000 */
  trust: number;
  /** as seller: trades with a result in the epoch, and those that succeeded (counted trades only) */
  sellerTrades: number;
  sellerSuccesses: number;
  /** means over measured trades (buyer- or platform-measured; never the seller's own claim); null: none measured */
  latencyMs: number | null;
  accuracy: number | null;
  /** platform-measured uptime over the epoch (heartbeats); null: never measured */
  availability: number | null;
  /** days since registration at the close */
  tenureDays: number;
  /** consecutive active epochs right before this one */
  streak: number;
  /** independent buyers with two or more counted trades with it in the epoch */
  repeatCustomers: number;
  /** share (0..1) of its counted sales in cells analytics marks under-supplied */
  underSuppliedShare: number;
  /** under risk review: computed, not paid */
  held: boolean;
  /** referral rewards due to it this epoch (fixed amounts, added after the fee-rebate cap, then scaled like the rest) */
  referral: bigint;
}

export interface Factors {
  base: bigint;
  tier: string;
  multiplier: number;
  performance: { total: number; latency: number; accuracy: number; availability: number; success: number };
  loyalty: { total: number; tenure: number; streak: number; repeat: number };
  supply: number;
}

export interface Statement {
  agentId: string;
  cluster: string;
  factors: Factors;
  /** base x factors, before caps and scaling */
  raw: bigint;
  /** after the fee-rebate cap, plus referral rewards */
  eligible: bigint;
  /** after pro-rata scaling to the budget (and the remainder unit, if any) */
  scaled: bigint;
  /** what the agent receives (or would: held); after the per-agent and per-cluster caps */
  amount: bigint;
  /** which caps and rules cut it, in words */
  notes: string[];
  status: 'payable' | 'held' | 'zero';
}

export interface EpochResult {
  statements: Statement[];
  budget: bigint;
  /** sum of eligible amounts */
  demand: bigint;
  /** scaling factor applied, parts per million (1e6: not scaled) */
  scalePpm: number;
  /** what the epoch pays (payable statements) */
  paid: bigint;
  /** computed for held agents, kept in the pool */
  held: bigint;
  /** cut by the per-agent and per-cluster caps, kept in the pool */
  capped: bigint;
  /** units given out by the remainder rule */
  remainderUnits: bigint;
}

const PPM = 1_000_000n;
const ppm = (x: number): bigint => BigInt(Math.round(x * 1e6));
const r6 = (x: number): number => Math.round(x * 1e6) / 1e6;

export function factorsOf(p: ProgramConfig, e: AgentEvidence): Factors {
  const base = (e.sellerValue * BigInt(p.sellerWeightBps) + e.buyerValue * BigInt(p.buyerWeightBps)) / 10_000n;
  const tier = tierOf(p.tiers, e.trust);
  const perf = p.performance;
  const enough = e.sellerTrades >= perf.minTrades;
  const latency = enough && e.latencyMs !== null && e.latencyMs < perf.latencyMs ? perf.latencyBonus : 0;
  const accuracy = enough && e.accuracy !== null && e.accuracy > perf.accuracy ? perf.accuracyBonus : 0;
  // availability is the platform's own measurement: it counts for any seller that sold something
  const availability = e.sellerTrades > 0 && e.availability !== null && e.availability > perf.availability ? perf.availabilityBonus : 0;
  const success = enough && e.sellerSuccesses / e.sellerTrades > perf.successRate ? perf.successBonus : 0;
  const l = p.loyalty;
  const active = e.sellerValue + e.buyerValue > 0n;
  const tenure = active ? r6(l.tenureBonus * Math.min(1, Math.max(0, e.tenureDays) / l.tenureDays)) : 0;
  const streak = active ? r6(Math.min(l.streakMax, l.streakStep * Math.max(0, e.streak))) : 0;
  const repeat = active ? r6(Math.min(l.repeatMax, l.repeatStep * Math.max(0, e.repeatCustomers))) : 0;
  const supply = e.sellerValue > 0n ? r6(p.supplyBonus * Math.min(1, Math.max(0, e.underSuppliedShare))) : 0;
  return {
    base, tier: tier.name, multiplier: tier.multiplier,
    performance: { total: r6(latency + accuracy + availability + success), latency, accuracy, availability, success },
    loyalty: { total: r6(tenure + streak + repeat), tenure, streak, repeat },
    supply,
  };
}

/** base x multiplier x (1 + perf) x (1 + loyalty) x (1 + supply), rounded down to a unit. */
export function rawReward(f: Factors): bigint {
  return (f.base * ppm(f.multiplier) * (PPM + ppm(f.performance.total)) * (PPM + ppm(f.loyalty.total)) * (PPM + ppm(f.supply))) / (PPM * PPM * PPM * PPM);
}

/**
 * Splits `total` over `weights` pro rata, exact to the unit: floor shares, then one unit each to the
 * largest remainders (ties: the earlier key). The result sums to `total` when any weight is positive.
 */
export function apportion(total: bigint, weights: readonly bigint[], keys: readonly string[]): bigint[] {
  const sum = weights.reduce((a, b) => a + b, 0n);
  if (sum <= 0n || total <= 0n) return weights.map(() => 0n);
  const shares = weights.map((w) => (w * total) / sum);
  let left = total - shares.reduce((a, b) => a + b, 0n);
  if (left > 0n) {
    const rem = weights.map((w) => (w * total) % sum);
    const order = weights.map((w, i) => i).filter((i) => weights[i]! > 0n).sort((a, b) => {
      const ra = rem[a]!;
      const rb = rem[b]!;
      return ra > rb ? -1 : ra < rb ? 1 : keys[a]! < keys[b]! ? -1 : keys[a]! > keys[b]! ? 1 : 0;
    });
    for (let k = 0; left > 0n; k = (k + 1) % order.length, left--) shares[order[k]!]! += 1n;
  }
  return shares;
}

export function computeEpoch(p: ProgramConfig, evidence: readonly AgentEvidence[], budget: bigint): EpochResult {
  const sorted = [...evidence].sort((a, b) => (a.agentId < b.agentId ? -1 : a.agentId > b.agentId ? 1 : 0));
  const st: Statement[] = sorted.map((e) => {
    const factors = factorsOf(p, e);
    const raw = rawReward(factors);
    const feeCap = (e.fees * BigInt(p.caps.feeRebateBps)) / 10_000n;
    const notes: string[] = [];
    const earned = raw > feeCap ? feeCap : raw;
    if (earned < raw) notes.push(`capped at ${p.caps.feeRebateBps / 100}% of the platform fees of its counted trades`);
    const referral = e.referral > 0n ? e.referral : 0n;
    if (referral > 0n) notes.push('includes referral rewards');
    const eligible = earned + referral;
    return { agentId: e.agentId, cluster: e.cluster, factors, raw, eligible, scaled: eligible, amount: 0n, notes, status: e.held ? 'held' : 'payable' };
  });
  const demand = st.reduce((a, s) => a + s.eligible, 0n);
  const b = budget > 0n ? budget : 0n;
  let scalePpm = 1_000_000;
  let remainderUnits = 0n;
  if (demand > b) {
    const weights = st.map((s) => s.eligible);
    const floors = weights.map((w) => (demand > 0n ? (w * b) / demand : 0n));
    const shares = apportion(b, weights, st.map((s) => s.agentId));
    remainderUnits = shares.reduce((a, x, i) => a + x - floors[i]!, 0n);
    shares.forEach((x, i) => { st[i]!.scaled = x; });
    scalePpm = demand > 0n ? Number((b * PPM) / demand) : 0;
    for (const s of st) if (s.eligible > 0n) s.notes.push(`scaled pro rata to the budget (x${(scalePpm / 1e6).toFixed(6)})`);
  }
  const epochTotal = st.reduce((a, s) => a + s.scaled, 0n);
  const agentCap = (epochTotal * BigInt(p.caps.agentShareBps)) / 10_000n;
  const clusterCap = (epochTotal * BigInt(p.caps.clusterShareBps)) / 10_000n;
  for (const s of st) {
    s.amount = s.scaled > agentCap ? agentCap : s.scaled;
    if (s.amount < s.scaled) s.notes.push(`capped at ${p.caps.agentShareBps / 100}% of the epoch`);
  }
  // clusters over their cap are cut pro rata among their members (exact, the same remainder rule)
  const byCluster = new Map<string, Statement[]>();
  for (const s of st) { const m = byCluster.get(s.cluster); if (m) m.push(s); else byCluster.set(s.cluster, [s]); }
  for (const members of byCluster.values()) {
    const sum = members.reduce((a, s) => a + s.amount, 0n);
    if (sum <= clusterCap) continue;
    const cut = apportion(clusterCap, members.map((s) => s.amount), members.map((s) => s.agentId));
    members.forEach((s, i) => { s.amount = cut[i]!; s.notes.push(`owner cluster capped at ${p.caps.clusterShareBps / 100}% of the epoch`); });
  }
  let paid = 0n;
  let held = 0n;
  for (const s of st) {
    if (s.amount === 0n && s.status === 'payable') s.status = 'zero';
    if (s.status === 'held') { held += s.amount; s.notes.push('held: the agent is under risk review'); }
    if (s.status === 'payable') paid += s.amount;
  }
  const capped = epochTotal - st.reduce((a, s) => a + s.amount, 0n);
  return { statements: st, budget: b, demand, scalePpm, paid, held, capped, remainderUnits };
}
