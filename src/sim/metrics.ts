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

/** Region where each simulated agent registers, and the country it registers in. */
export const REGION_COUNTRY: Record<string, string> = {
  'eu-west': 'IE', 'eu-central': 'DE', 'us-east': 'US', 'us-west': 'US', 'ap-south': 'IN', 'ap-northeast': 'JP',
};

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
  /** `held`: the buyer confirmed but the risk module holds settlements to the seller (the money stayed in escrow to the end). */
  outcome: 'released' | 'refunded' | 'split' | 'failed' | 'held';
  /** Real (wall-clock) milliseconds from agreement to payout or refund. */
  settlementMs: number;
  sellerMalicious: boolean;
  /** The seller's kind (honest, unreliable, or its attack). */
  sellerKind?: string;
  /** A job routed by the market for a buyer's request (false: attackers trading among themselves). */
  routed?: boolean;
  /** Countries the buyer and the seller registered in (cross-border when they differ). */
  buyerCountry?: string;
  sellerCountry?: string;
  /** Units traded and the agreed unit price (decimal AITBC, as the API states it). */
  quantity?: number;
  price?: string;
  /** Decimal AITBC released to the seller (0 for a refund), and the virtual time of the agreement's end (ms), from the API's answer. */
  released?: string;
  settledAt?: number | null;
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
  /** Days on which the agent was a party to an agreement (bought, sold, delivered). */
  activeDays: ReadonlySet<number> | number[];
  /** Country the agent registered in. */
  country?: string;
}

/**
 * One of the plan's targets. `met` is true or false when the run measured it, null when it could not
 * (then `reason` says why); `value` may be present with `met` null when the figure exists but cannot be
 * judged against the target (the reason says why).
 */
export interface SuccessMetric {
  name: string;
  target: string;
  value: number | null;
  unit: string;
  met: boolean | null;
  reason?: string;
}

/** What "active" means in the report: see `activeAgents`. */
export const ACTIVE_DEFINITION = 'an agent is active when it placed at least one trade request or was a party (buyer or seller) to at least one agreement during the run';

/** Days a run needs before monthly retention (active in the first 30 days and again in the next 30) can be measured. */
export const MONTHLY_RETENTION_DAYS = 60;
/** Days a run needs before week-1-to-last-week retention means anything (the two weeks must not overlap). */
export const WEEKLY_RETENTION_DAYS = 14;

export interface MarketMetrics {
  requests: number;
  /** Agreements funded in the run (each becomes a trade record when it settles: released, split, refunded or failed). */
  agreements: number;
  /** Trades settled (all outcomes, attackers' own trades included): what the progress line's "settled" counts. */
  trades: number;
  /** Agents active in the run (ACTIVE_DEFINITION), out of `registeredAgents`. */
  activeAgents: number;
  registeredAgents: number;
  /** Distinct countries of the active agents. */
  countries: number;
  /**
   * Completed market trades (released or split; routed for buyers' requests, so wash trades are not counted)
   * per simulated day, on average over the run; and their gross value, AITBC per day.
   */
  completedTradesPerDay: number;
  volumePerDayAITBC: number;
  /** Share of completed market trade volume (AITBC) where buyer and seller registered in different countries. */
  crossBorderShare: number;
  /** Share of requests that got at least one candidate. */
  matchRate: number;
  /** Share of requests that ended in an agreement. */
  fillRate: number;
  settlementMs: { p50: number; p95: number; p99: number; max: number };
  /**
   * Per category: (max - min) / median of the regional median unit prices (regions with enough trades),
   * over trades from `spreadFromDay` on.
   */
  priceSpread: {
    /** Null when no category had enough trades in two regions to compare (then `reason` says so). */
    max: number | null;
    reason?: string;
    byCategory: Record<string, { spread: number; regions: Record<string, number> }>;
  };
  /**
   * Agents active in the first week still active in the last week; null for runs shorter than
   * WEEKLY_RETENTION_DAYS (the two weeks would overlap and everyone active early would count as retained).
   */
  retention: number | null;
  /**
   * The plan's monthly retention: of the agents active in days 1-30, the share active again in days 31-60
   * (the run's last 30 days for longer runs); null for runs shorter than MONTHLY_RETENTION_DAYS.
   */
  monthlyRetention: number | null;
  /**
   * Share of trade volume traded agent to agent: every trade in the simulated market is between two
   * registered agents through the P2P protocol (request, match, automated negotiation, escrow); the
   * simulator has no human- or operator-initiated purchases, so this is 1 whenever there are trades.
   */
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
  /** Gross value of market trades (not failed) per simulated day, AITBC. */
  volumeByDayAITBC: number[];
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

/** A trade that paid the seller nothing: failed, or held by the risk module to the end of the run. */
const noSale = (t: SimTradeRecord) => t.outcome === 'failed' || t.outcome === 'held';

export function computeMetrics(input: {
  requests: readonly SimRequestRecord[];
  trades: readonly SimTradeRecord[];
  agents: readonly SimAgentRecord[];
  days: number;
  /** Agreements funded (default: the trade records' count). */
  agreements?: number;
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
    if (noSale(t) || t.day < (input.spreadFromDay ?? 0)) continue;
    let regions = cats.get(t.category);
    if (!regions) cats.set(t.category, (regions = new Map()));
    let prices = regions.get(t.region);
    if (!prices) regions.set(t.region, (prices = []));
    prices.push(t.unitPrice);
  }
  let maxSpread: number | null = null;
  for (const [cat, regions] of cats) {
    const medians: Record<string, number> = {};
    for (const [region, prices] of regions) if (prices.length >= MIN_TRADES_PER_REGION) medians[region] = median(prices);
    const vals = Object.values(medians);
    if (vals.length < 2) continue;
    const spread = (Math.max(...vals) - Math.min(...vals)) / median(vals);
    byCategory[cat] = { spread, regions: medians };
    maxSpread = Math.max(maxSpread ?? 0, spread);
  }
  const spreadReason = maxSpread !== null ? undefined
    : `no category had ${MIN_TRADES_PER_REGION}+ trades in each of two regions${input.spreadFromDay ? ` from day ${input.spreadFromDay + 1}` : ''}, so there is no regional price to compare`;

  /** Of the agents active in [0, w), the share active in [from, from + w); NaN when none was active first. */
  const retainedShare = (w: number, from: number) => {
    let first = 0;
    let kept = 0;
    for (const a of agents) {
      const d = [...a.activeDays];
      if (!d.some((x) => x < w)) continue;
      first++;
      if (d.some((x) => x >= from && x < from + w)) kept++;
    }
    return first ? kept / first : NaN;
  };
  const retention = days >= WEEKLY_RETENTION_DAYS ? retainedShare(7, days - 7) : null;
  const monthlyRetention = days >= MONTHLY_RETENTION_DAYS ? retainedShare(30, days - 30) : null;

  const requesters = new Set(requests.map((r) => r.buyerId));
  const active = agents.filter((a) => [...a.activeDays].length > 0 || requesters.has(a.id));
  const countries = new Set(active.map((a) => a.country ?? '?'));

  const completed = trades.filter((t) => (t.outcome === 'released' || t.outcome === 'split') && t.day >= 0 && t.day < days);
  const completedVolume = completed.reduce((s, t) => s + t.amount, 0);
  const crossVolume = completed.filter((t) => t.buyerCountry !== undefined && t.sellerCountry !== undefined && t.buyerCountry !== t.sellerCountry)
    .reduce((s, t) => s + t.amount, 0);

  const revenue = new Map<string, number>();
  for (const t of trades) if (!noSale(t)) revenue.set(t.sellerId, (revenue.get(t.sellerId) ?? 0) + t.amount);
  const tradeVolume = allTrades.reduce((s, t) => s + (noSale(t) ? 0 : t.amount), 0);
  // Every trade record is between two agents (see agentToAgentShare).
  const agentToAgentVolume = tradeVolume;

  const providers = agents.filter((a) => a.role === 'provider' && a.trueQuality !== undefined && a.trustScore !== undefined);
  const volumeByDay = new Array<number>(days).fill(0);
  for (const t of trades) if (t.day >= 0 && t.day < days && !noSale(t)) volumeByDay[t.day]! += t.amount;

  return {
    requests: requests.length,
    agreements: input.agreements ?? allTrades.length,
    trades: allTrades.length,
    activeAgents: active.length,
    registeredAgents: agents.length,
    countries: active.length ? countries.size : 0,
    completedTradesPerDay: days > 0 ? completed.length / days : NaN,
    volumePerDayAITBC: days > 0 ? completedVolume / days : NaN,
    crossBorderShare: completedVolume > 0 ? crossVolume / completedVolume : NaN,
    matchRate: requests.length ? matched / requests.length : NaN,
    fillRate: requests.length ? agreed / requests.length : NaN,
    settlementMs: { p50: quantile(settle, 0.5), p95: quantile(settle, 0.95), p99: quantile(settle, 0.99), max: settle.length ? Math.max(...settle) : NaN },
    priceSpread: { max: maxSpread, ...(spreadReason ? { reason: spreadReason } : {}), byCategory },
    retention,
    monthlyRetention,
    agentToAgentShare: tradeVolume > 0 ? agentToAgentVolume / tradeVolume : NaN,
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
    volumeByDayAITBC: volumeByDay,
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

/**
 * The plan's success metrics ("Success Metrics" in the OpenClaw agent economics plan: agent participation,
 * transaction volume, economic efficiency, and the economic APIs' response time), each met, missed, or
 * not measured with the reason. `apiP99Ms` comes from the run's HTTP or service timings.
 */
export function successMetrics(m: MarketMetrics, extra: { apiP99Ms: number | null; days?: number }): SuccessMetric[] {
  const fin = (v: number | null) => (v !== null && Number.isFinite(v) ? v : null);
  const mk = (name: string, target: string, value: number | null, unit: string, ok: (v: number) => boolean, whyNot?: string): SuccessMetric => {
    const v = fin(value);
    return v === null ? { name, target, value: null, unit, met: null, reason: whyNot ?? 'nothing to measure in this run' } : { name, target, value: v, unit, met: ok(v) };
  };
  const pct = (v: number | null) => (v === null ? null : v * 100);
  const days = extra.days ?? m.volumeByDayAITBC.length;
  const noTrades = 'no completed market trades in the run';
  const rows: SuccessMetric[] = [
    // Agent participation
    { ...mk('Active agents', '>= 5,000', m.activeAgents, 'agents', (v) => v >= 5000), reason: `${ACTIVE_DEFINITION}; ${m.activeAgents} of ${m.registeredAgents} registered` },
    {
      name: 'New agent registrations', target: '>= 100 a week', value: null, unit: 'agents/week', met: null,
      reason: 'the simulated population registers on day 1 and the simulator models no arrivals; attackers joining later and whitewashers\' new identities are not new users',
    },
    mk('Monthly agent retention', '> 85%', pct(m.monthlyRetention), '%', (v) => v > 85,
      m.monthlyRetention === null ? `needs a run of at least ${MONTHLY_RETENTION_DAYS} days, to see who was active in days 1-30 active again in the next 30; this run had ${days}` : 'no agent was active in the first 30 days'),
    { ...mk('Countries with active agents', '>= 50', m.countries, 'countries', (v) => v >= 50), reason: `the simulator registers agents in ${Object.keys(REGION_COUNTRY).length} regions in ${new Set(Object.values(REGION_COUNTRY)).size} countries` },
    // Transaction volume
    mk('Daily transactions (completed market trades, mean per day)', '>= 1,000', m.completedTradesPerDay, 'trades/day', (v) => v >= 1000, noTrades),
    mk('Daily volume (completed market trades, mean per day)', '>= 10,000 AITBC', m.volumePerDayAITBC, 'AITBC/day', (v) => v >= 10000, noTrades),
    {
      name: 'Agent-to-agent share of volume', target: '>= 30%', value: fin(pct(m.agentToAgentShare)), unit: '%', met: null,
      reason: 'every simulated trade is agent to agent by construction: P2P request, match, automated negotiation, escrow; the simulator has no human-initiated purchases, so the share is 100% and cannot fail',
    },
    mk('Cross-border share of volume', '>= 40%', pct(m.crossBorderShare), '%', (v) => v >= 40, noTrades),
    // Economic efficiency
    mk('Price spread across regions', '< 5%', pct(m.priceSpread.max), '%', (v) => v < 5, m.priceSpread.reason),
    mk('Requests matched', '> 90%', pct(m.matchRate), '%', (v) => v > 90, 'no trade requests in the run'),
    mk('Settlement p99 (real time)', '< 30 s', m.settlementMs.p99 / 1000, 's', (v) => v < 30, 'no trades settled'),
    // Performance
    mk('API response p99', '< 100 ms', extra.apiP99Ms, 'ms', (v) => v < 100, 'no API calls timed'),
  ];
  return rows;
}

/**
 * With attackers: the reputation benchmark's targets, measured on this market. `control` is the same market
 * run with the attackers never arriving (same seed): the honest ranking is preserved when the Spearman of
 * trust against true quality among non-attackers is within 0.05 of the control's.
 */
export function attackChecks(m: MarketMetrics, control: { honestTrustQualitySpearman: number } | null): SuccessMetric[] {
  const fin = (v: number | null) => (v !== null && Number.isFinite(v) ? v : null);
  const mk = (name: string, target: string, value: number | null, unit: string, ok: (v: number) => boolean, whyNot: string): SuccessMetric =>
    (value === null ? { name, target, value, unit, met: null, reason: whyNot } : { name, target, value, unit, met: ok(value) });
  const { honest, rings } = m.medianTrust;
  const out = [
    mk('Jobs routed to malicious providers', '<= 10%', fin(m.maliciousShare * 100), '%', (v) => v <= 10, 'no jobs routed since the attackers joined'),
    mk('Attack rings\' median trust minus honest providers\' median', '< 0', honest !== null && rings !== null ? rings - honest : null, 'points', (v) => v < 0,
      'no scored honest providers or attack-ring members'),
  ];
  if (control) {
    out.push(mk('Honest ranking vs the same market without attackers (Spearman, trust vs true quality, difference)', '>= -0.05',
      fin(m.honestTrustQualitySpearman - control.honestTrustQualitySpearman), '', (v) => v >= -0.05, 'too few scored non-attackers to rank (in this run or the control)'));
  }
  return out;
}

export { mean };
