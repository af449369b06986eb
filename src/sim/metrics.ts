/**
 * The simulator's market metrics, computed from what happened (the run's log of requests, trades and
 * agents), and the plan's success metrics marked met or missed. Pure: the driver records, this computes.
 */
import { hhi, mean, median, quantile, spearman } from './stats.js';

export interface SimRequestRecord {
  id: string;
  day: number;
  buyerId: string;
  region: string;
  category: string;
  /** Candidates the matching engine returned. */
  candidates: number;
  /** An agreement was reached. */
  agreed: boolean;
}

export interface SimTradeRecord {
  id: string;
  day: number;
  buyerId: string;
  sellerId: string;
  /** Region where the work runs (the seller's). */
  region: string;
  category: string;
  /** AITBC per unit agreed. */
  unitPrice: number;
  /** AITBC paid in total (gross). */
  amount: number;
  outcome: 'released' | 'refunded' | 'split' | 'failed';
  /** Real (wall-clock) milliseconds from agreement to payout or refund. */
  settlementMs: number;
  sellerMalicious: boolean;
  /** The seller's kind (honest, unreliable, or its attack). */
  sellerKind?: string;
  /** A job routed by the market for a buyer's request (false: attackers trading among themselves). */
  routed?: boolean;
}

export interface SimAgentRecord {
  id: string;
  role: 'provider' | 'buyer';
  /** Providers: honest, unreliable or the attack they run. */
  kind?: string;
  malicious: boolean;
  /** Providers: hidden true quality 0..1. */
  trueQuality?: number;
  /** Final trust score 0..1000. */
  trustScore?: number;
  /** Days on which the agent traded. */
  activeDays: ReadonlySet<number> | number[];
}

export interface SuccessMetric {
  name: string;
  target: string;
  value: number | null;
  unit: string;
  met: boolean | null;
}

export interface MarketMetrics {
  requests: number;
  trades: number;
  /** Share of requests that got at least one candidate. */
  matchRate: number;
  /** Share of requests that ended in an agreement. */
  fillRate: number;
  settlementMs: { p50: number; p95: number; p99: number; max: number };
  /**
   * Per category: (max - min) / median of the regional median unit prices (regions with enough trades),
   * over trades from `spreadFromDay` on.
   */
  priceSpread: { max: number; byCategory: Record<string, { spread: number; regions: Record<string, number> }> };
  /** Agents active in the first week still active in the last week. */
  retention: number;
  /** Agent-to-agent trade volume / all token volume moved (trades, mints, rewards, deposits). */
  agentToAgentShare: number;
  /** HHI of sellers' revenue, 0..10,000. */
  hhi: number;
  /** Share of jobs routed to malicious providers (from the day attackers joined). */
  maliciousShare: number;
  /** Spearman correlation of providers' trust score with their hidden quality. */
  trustQualitySpearman: number;
  /** The same among honest providers only: is their ranking preserved when attackers are active? */
  honestTrustQualitySpearman: number;
  successRate: number;
  volumeByDay: number[];
  /**
   * Per provider kind: how many, their trust scores at the end (median, max) and their share of the jobs
   * routed from the day attackers joined: where the market's jobs went, and why.
   */
  byKind: Record<string, { providers: number; medianTrust: number | null; maxTrust: number | null; jobShare: number }>;
  /** Median trust at the end of honest providers and of attack-ring members (wash traders and Sybil raters together). */
  medianTrust: { honest: number | null; rings: number | null };
}

/** Provider kinds that trade inside attack rings. */
const RING_KINDS: ReadonlySet<string> = new Set(['wash', 'sybil_rater']);

const MIN_TRADES_PER_REGION = 20;

export function computeMetrics(input: {
  requests: readonly SimRequestRecord[];
  trades: readonly SimTradeRecord[];
  agents: readonly SimAgentRecord[];
  days: number;
  /** All token volume moved in the run (AITBC), including non-trade transfers. */
  totalVolume: number;
  /** Price spread is measured on trades from this day on (steady state after warm-up); default 0. */
  spreadFromDay?: number;
  /** The malicious share is measured on trades from this day on (when attackers joined); default 0. */
  attackFromDay?: number;
}): MarketMetrics {
  const { requests, agents, days } = input;
  // Market measures are over jobs the market routed for buyers' requests; attackers' own trades (wash
  // trading, bad-mouthing purchases) are counted in volume but are not the market's routing decisions.
  const allTrades = input.trades;
  const trades = allTrades.filter((t) => t.routed !== false);
  const matched = requests.filter((r) => r.candidates > 0).length;
  const agreed = requests.filter((r) => r.agreed).length;
  const settle = trades.map((t) => t.settlementMs);

  const byCategory: MarketMetrics['priceSpread']['byCategory'] = {};
  const cats = new Map<string, Map<string, number[]>>();
  for (const t of trades) {
    if (t.outcome === 'failed' || t.day < (input.spreadFromDay ?? 0)) continue;
    let regions = cats.get(t.category);
    if (!regions) cats.set(t.category, (regions = new Map()));
    let prices = regions.get(t.region);
    if (!prices) regions.set(t.region, (prices = []));
    prices.push(t.unitPrice);
  }
  let maxSpread = 0;
  for (const [cat, regions] of cats) {
    const medians: Record<string, number> = {};
    for (const [region, prices] of regions) if (prices.length >= MIN_TRADES_PER_REGION) medians[region] = median(prices);
    const vals = Object.values(medians);
    if (vals.length < 2) continue;
    const spread = (Math.max(...vals) - Math.min(...vals)) / median(vals);
    byCategory[cat] = { spread, regions: medians };
    maxSpread = Math.max(maxSpread, spread);
  }

  const firstWeek = new Set<string>();
  const lastWeek = new Set<string>();
  const lastStart = Math.max(0, days - 7);
  for (const a of agents) {
    const d = [...a.activeDays];
    if (d.some((x) => x < Math.min(7, days))) firstWeek.add(a.id);
    if (d.some((x) => x >= lastStart)) lastWeek.add(a.id);
  }
  const retained = [...firstWeek].filter((id) => lastWeek.has(id)).length;

  const revenue = new Map<string, number>();
  for (const t of trades) if (t.outcome !== 'failed') revenue.set(t.sellerId, (revenue.get(t.sellerId) ?? 0) + t.amount);
  const tradeVolume = allTrades.reduce((s, t) => s + (t.outcome === 'failed' ? 0 : t.amount), 0);

  const providers = agents.filter((a) => a.role === 'provider' && a.trueQuality !== undefined && a.trustScore !== undefined);
  const volumeByDay = new Array<number>(days).fill(0);
  for (const t of trades) if (t.day >= 0 && t.day < days && t.outcome !== 'failed') volumeByDay[t.day]! += t.amount;

  return {
    requests: requests.length,
    trades: allTrades.length,
    matchRate: requests.length ? matched / requests.length : NaN,
    fillRate: requests.length ? agreed / requests.length : NaN,
    settlementMs: { p50: quantile(settle, 0.5), p95: quantile(settle, 0.95), p99: quantile(settle, 0.99), max: settle.length ? Math.max(...settle) : NaN },
    priceSpread: { max: maxSpread, byCategory },
    retention: firstWeek.size ? retained / firstWeek.size : NaN,
    agentToAgentShare: input.totalVolume > 0 ? tradeVolume / input.totalVolume : NaN,
    hhi: hhi([...revenue.values()]),
    maliciousShare: (() => {
      const since = trades.filter((t) => t.day >= (input.attackFromDay ?? 0));
      return since.length ? since.filter((t) => t.sellerMalicious).length / since.length : NaN;
    })(),
    trustQualitySpearman: providers.length >= 3 ? spearman(providers.map((p) => p.trustScore!), providers.map((p) => p.trueQuality!)) : NaN,
    honestTrustQualitySpearman: (() => {
      const honest = providers.filter((p) => !p.malicious);
      return honest.length >= 3 ? spearman(honest.map((p) => p.trustScore!), honest.map((p) => p.trueQuality!)) : NaN;
    })(),
    medianTrust: (() => {
      const of = (keep: (k: string) => boolean) => {
        const v = providers.filter((p) => keep(p.kind ?? '')).map((p) => p.trustScore!);
        return v.length ? median(v) : null;
      };
      return { honest: of((k) => k === 'honest'), rings: of((k) => RING_KINDS.has(k)) };
    })(),
    successRate: trades.length ? trades.filter((t) => t.outcome === 'released').length / trades.length : NaN,
    volumeByDay,
    byKind: (() => {
      const out: MarketMetrics['byKind'] = {};
      const since = trades.filter((t) => t.day >= (input.attackFromDay ?? 0));
      const kinds = new Set([...providers.map((p) => p.kind ?? 'unknown'), ...since.map((t) => t.sellerKind ?? 'unknown')]);
      for (const k of [...kinds].sort()) {
        const scores = providers.filter((p) => (p.kind ?? 'unknown') === k).map((p) => p.trustScore!);
        out[k] = {
          providers: scores.length,
          medianTrust: scores.length ? median(scores) : null,
          maxTrust: scores.length ? Math.max(...scores) : null,
          jobShare: since.length ? since.filter((t) => (t.sellerKind ?? 'unknown') === k).length / since.length : 0,
        };
      }
      return out;
    })(),
  };
}

/** The plan's success metrics, measured. `apiP99Ms` comes from the run's HTTP or service timings. */
export function successMetrics(m: MarketMetrics, extra: { agents: number; apiP99Ms: number | null }): SuccessMetric[] {
  const fin = (v: number) => (Number.isFinite(v) ? v : null);
  const mk = (name: string, target: string, value: number | null, unit: string, ok: (v: number) => boolean): SuccessMetric =>
    ({ name, target, value, unit, met: value === null ? null : ok(value) });
  return [
    mk('Active agents', '>= 1,000', extra.agents, 'agents', (v) => v >= 1000),
    mk('API response p99', '< 100 ms', extra.apiP99Ms, 'ms', (v) => v < 100),
    mk('Settlement p99 (real time)', '< 30 s', fin(m.settlementMs.p99 / 1000), 's', (v) => v < 30),
    mk('Requests matched', '> 90%', fin(m.matchRate * 100), '%', (v) => v > 90),
    mk('Price spread across regions', '< 5%', fin(m.priceSpread.max * 100), '%', (v) => v < 5),
  ];
}

/**
 * With attackers: the reputation benchmark's targets, measured on this market. `control` is the same market
 * run with the attackers never arriving (same seed): the honest ranking is preserved when the Spearman of
 * trust against true quality among non-attackers is within 0.05 of the control's.
 */
export function attackChecks(m: MarketMetrics, control: { honestTrustQualitySpearman: number } | null): SuccessMetric[] {
  const fin = (v: number | null) => (v !== null && Number.isFinite(v) ? v : null);
  const mk = (name: string, target: string, value: number | null, unit: string, ok: (v: number) => boolean): SuccessMetric =>
    ({ name, target, value, unit, met: value === null ? null : ok(value) });
  const { honest, rings } = m.medianTrust;
  const out = [
    mk('Jobs routed to malicious providers', '<= 10%', fin(m.maliciousShare * 100), '%', (v) => v <= 10),
    mk('Attack rings\' median trust minus honest providers\' median', '< 0', honest !== null && rings !== null ? rings - honest : null, 'points', (v) => v < 0),
  ];
  if (control) {
    out.push(mk('Honest ranking vs the same market without attackers (Spearman, trust vs true quality, difference)', '>= -0.05',
      fin(m.honestTrustQualitySpearman - control.honestTrustQualitySpearman), '', (v) => v >= -0.05));
  }
  return out;
}

export { mean };
