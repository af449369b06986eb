/**
 * An epoch's evidence per agent, gathered through other modules' ports: the trades recorded in the epoch
 * with reputation's verdict on each (same-owner, circular, loops: those count nothing), measured latency
 * and accuracy (buyer or platform, never the seller's claim), trust at the close, owner clusters,
 * registration times, platform-measured uptime and the cells the market shows under-supplied.
 */
import type { RecordedTrade } from '../reputation/reputation.port.js';
import type { AgentEvidence } from './rewards.formula.js';
import type { RewardsDeps } from './rewards.deps.js';
import { feeOf } from './rewards.settlement.js';

export interface EpochWindow {
  startsAt: Date;
  until: Date;
}

export interface GatherExtras {
  /** agents' consecutive active epochs before this one */
  streaks: Map<string, number>;
  /** referral rewards due per referrer */
  referrals: Map<string, bigint>;
  /** each seller's fee discount (bps of the fee) from its tier at the last close */
  feeDiscounts: (sellerIds: readonly string[]) => Promise<Map<string, number>>;
  feeBps: number;
}

interface Acc {
  sellerValue: bigint;
  buyerValue: bigint;
  fees: bigint;
  sellerTrades: number;
  sellerSuccesses: number;
  latSum: number; latN: number;
  accSum: number; accN: number;
  buyers: Map<string, number>;
  sales: { tradeId: string; amount: bigint }[];
}

const acc = (): Acc => ({ sellerValue: 0n, buyerValue: 0n, fees: 0n, sellerTrades: 0, sellerSuccesses: 0, latSum: 0, latN: 0, accSum: 0, accN: 0, buyers: new Map(), sales: [] });

export interface Gathered {
  evidence: AgentEvidence[];
  trades: number;
  uncounted: Record<string, number>;
}

export async function gatherEvidence(deps: RewardsDeps, w: EpochWindow, x: GatherExtras): Promise<Gathered> {
  const trades: RecordedTrade[] = await deps.reputation.tradesBetween(w.startsAt, w.until);
  const by = new Map<string, Acc>();
  const get = (id: string) => { let a = by.get(id); if (!a) by.set(id, a = acc()); return a; };
  const uncounted: Record<string, number> = {};
  const discounts = await x.feeDiscounts([...new Set(trades.filter((t) => t.discount === null).map((t) => t.sellerId))]);
  for (const t of trades) {
    if (t.discount !== null) { uncounted[t.discount] = (uncounted[t.discount] ?? 0) + 1; continue; }
    const s = get(t.sellerId);
    s.sellerTrades++;
    if (t.measuredLatencyMs !== null) { s.latSum += t.measuredLatencyMs; s.latN++; }
    if (t.measuredAccuracy !== null) { s.accSum += t.measuredAccuracy; s.accN++; }
    if (!t.success || t.amount <= 0n) continue;
    s.sellerSuccesses++;
    const b = get(t.buyerId);
    const full = feeOf(t.amount, x.feeBps);
    const fee = full - (full * BigInt(discounts.get(t.sellerId) ?? 0)) / 10_000n;
    s.sellerValue += t.amount;
    b.buyerValue += t.amount;
    s.fees += fee;
    b.fees += fee;
    s.buyers.set(t.buyerId, (s.buyers.get(t.buyerId) ?? 0) + 1);
    s.sales.push({ tradeId: t.tradeId, amount: t.amount });
  }
  for (const id of x.referrals.keys()) get(id);
  const ids = [...by.keys()].sort();
  const [trust, clusters, registered] = await Promise.all([
    deps.reputation.trustScores(ids), deps.reputation.ownerClusters(ids), deps.agents.registeredAt(ids),
  ]);
  const sellers = ids.filter((id) => by.get(id)!.sellerTrades > 0);
  const uptime = deps.availability && sellers.length ? await deps.availability.uptimeOf(sellers, w.startsAt.getTime(), w.until.getTime()) : new Map();
  const underSupplied = await underSuppliedShares(deps, by, w.until);
  const held = deps.heldAgents ? await deps.heldAgents() : undefined;
  const evidence: AgentEvidence[] = [];
  for (const id of ids) {
    const a = by.get(id)!;
    const reg = registered.get(id);
    evidence.push({
      agentId: id, cluster: clusters.get(id) ?? id, sellerValue: a.sellerValue, buyerValue: a.buyerValue, fees: a.fees, trust: trust.get(id) ?? 0,
      sellerTrades: a.sellerTrades, sellerSuccesses: a.sellerSuccesses,
      latencyMs: a.latN ? a.latSum / a.latN : null, accuracy: a.accN ? a.accSum / a.accN : null,
      availability: uptime.get(id)?.uptime ?? null,
      tenureDays: reg ? Math.max(0, (w.until.getTime() - reg.getTime()) / 86_400_000) : 0,
      streak: x.streaks.get(id) ?? 0,
      repeatCustomers: [...a.buyers.values()].filter((n) => n >= 2).length,
      underSuppliedShare: underSupplied.get(id) ?? 0,
      held: held ? held.has(id) : deps.isHeld ? await deps.isHeld(id) : false,
      referral: x.referrals.get(id) ?? 0n,
    });
  }
  return { evidence, trades: trades.length, uncounted };
}

/** Share of each seller's counted sales made in cells where open demand exceeds open supply at the close. */
async function underSuppliedShares(deps: RewardsDeps, by: Map<string, Acc>, now: Date): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  if (!deps.market) return out;
  const cells = await deps.market.supplyDemand(now);
  const short = new Set(cells.filter((c) => c.demandUnits > c.supplyUnits).map((c) => `${c.category}|${c.region}|${c.specClass}`));
  if (!short.size) return out;
  const sales = [...by.entries()].flatMap(([id, a]) => a.sales.map((s) => ({ id, ...s })));
  const attrs = new Map<string, string>();
  for (let i = 0; i < sales.length; i += 5_000) {
    for (const g of await deps.market.agreements(sales.slice(i, i + 5_000).map((s) => s.tradeId))) attrs.set(g.id, `${g.category}|${g.region}|${g.specClass}`);
  }
  const inShort = new Map<string, bigint>();
  for (const s of sales) if (short.has(attrs.get(s.tradeId) ?? '')) inShort.set(s.id, (inShort.get(s.id) ?? 0n) + s.amount);
  for (const [id, v] of inShort) {
    const total = by.get(id)!.sellerValue;
    if (total > 0n) out.set(id, Number((v * 1_000_000n) / total) / 1e6);
  }
  return out;
}
