/**
 * The risk detectors: pure functions over the market's recent history (trades, ratings, disputes), each
 * returning findings (an incident key, the agents, the evidence). The service (risk.service.ts) feeds them
 * the window it keeps from the event stream and turns findings into alerts, once per incident key.
 * Every parameter is in RISK_PARAMS, with the reason for its value.
 *
 * Wash and circular trading and same-owner (Sybil) clusters reuse reputation's detectors
 * (`findClosedLoops`, `findSameOwnerClusters`, `detectOwnerClusters`); the rest are here.
 *
 * Length: one file holds every detector beside RISK_PARAMS so their parameters read in one place; each
 * detector is a short pure function.
 */
import { detectOwnerClusters, findClosedLoops, findSameOwnerClusters, type AccountSignals, type TradeOutcome } from '../reputation/index.js';

export const RISK_PARAMS = {
  /** Loops: as reputation's engine (at most 4 payments, within 24 h, amounts within 10 %). */
  loop: { loopMaxLength: 4, loopWindowMs: 24 * 3600_000, loopAmountTolerance: 0.1 },
  /** A ring needs at least this many loop-closing trades (one loop can be chance: A sells to B, later buys from B). */
  washMinLoopTrades: 2,
  /** Mutual-trading clusters (reputation's findSameOwnerClusters): each direction >= 2 trades, >= 80 % inside. */
  washCluster: { minInternalShare: 0.8, minMutualTrades: 2 },
  /** Same-owner clusters: reputation's defaults (account link AND trading mostly inside). */
  owner: { burstWindowMs: 3_600_000, minInternalShare: 0.8, minInternalTrades: 3, maxMarketShare: 0.5 },
  /** Rating rings: mutual ratings of >= 4 stars, each pair >= 2 each way, >= 3 agents, >= 80 % of their ratings inside. */
  ring: { minStars: 4, minMutual: 2, minSize: 3, minInternalShare: 0.8 },
  /** Spoofing: priced >= 30 % below the cell's median, >= 3 such trades failed, and >= 50 % of them failed. */
  spoof: { discount: 0.3, minFailures: 3, minFailureRate: 0.5, minCellTrades: 5 },
  /**
   * Price anomalies: modified z-score (Iglewicz & Hoaglin: 0.6745 (x - median) / MAD, flag |z| > 3.5) of
   * each trade's unit price against its cell's window; >= 10 trades in the window. An anomaly made by
   * >= 3 distinct sellers is the market moving (a real jump after an outage), left to the volatility detector.
   */
  anomaly: { z: 3.5, minWindow: 10, broadMoveSellers: 3 },
  /**
   * Volatility: EWMA of squared log returns of the cell's hourly median price (RiskMetrics lambda 0.94);
   * early warning when the hourly sigma exceeds 0.10, critical above 0.25 (the circuit breaker's level).
   * Hours with fewer than 5 trades are skipped: in the detector evaluation (src/sim/risk-eval.ts) thin hours'
   * medians (1-2 trades, honest cheap sellers among them) warned in 2-3 of 3 quiet cells per seed.
   */
  volatility: { lambda: 0.94, periodMs: 3_600_000, warn: 0.1, critical: 0.25, minPeriods: 3, minPeriodTrades: 5 },
  /** Concentration: HHI of seller volume per cell (0..10,000); 2,500 is "highly concentrated" (2023 merger guidelines 1,800). */
  concentration: { hhiAlert: 2_500, minTrades: 20, minSellers: 1 },
  /** Spend velocity: a day's spend above 5x the median of the agent's previous days (>= 3 days of history) and >= 10 AITBC. */
  velocity: { factor: 5, minHistoryDays: 3, minSpend: 10n * 10n ** 8n, dayMs: 86_400_000 },
  /** Dispute spikes per cell: disputes in the last hour >= 5 and above baseline mean + 4 sd (Poisson) of the previous 24 hours. */
  disputes: { periodMs: 3_600_000, baselinePeriods: 24, minCount: 5, sigmas: 4 },
} as const;
export type RiskParams = typeof RISK_PARAMS;

export interface RiskTrade {
  id: string;
  at: number;
  buyerId: string;
  sellerId: string;
  listingId: string;
  category: string;
  region: string;
  /** base units */
  amount: bigint;
  pricePerUnit: bigint;
  /** settled (paid) or failed (refunded, cancelled after funding, a dispute the buyer won) */
  success: boolean;
}

export interface RiskRating { raterId: string; rateeId: string; stars: number; at: number }
export interface RiskDispute { tradeId: string; category: string; region: string; at: number }

export type AlertKind = 'wash' | 'sybil' | 'rating_ring' | 'spoofing' | 'price_anomaly' | 'volatility' | 'concentration' | 'spend_velocity' | 'dispute_spike';
export const ALERT_KINDS: readonly AlertKind[] = ['wash', 'sybil', 'rating_ring', 'spoofing', 'price_anomaly', 'volatility', 'concentration', 'spend_velocity', 'dispute_spike'];
export type Severity = 'info' | 'warning' | 'critical';

export interface Finding {
  kind: AlertKind;
  /** What the incident is: the same incident seen again has the same key. */
  key: string;
  severity: Severity;
  agents: string[];
  trades: string[];
  cell: { category: string; region: string } | null;
  listings: string[];
  figures: Record<string, number | string>;
}

const cellKey = (c: string, r: string) => `${c}|${r}`;
const sorted = (xs: Iterable<string>) => [...new Set(xs)].sort();

function toOutcome(t: RiskTrade): TradeOutcome {
  return { type: 'trade', id: t.id, at: t.at, buyerId: t.buyerId, sellerId: t.sellerId, success: t.success, latencyMs: 0, accuracy: 1, slaMet: t.success, amount: t.amount };
}

/** Union-find components of the pairs. */
function components(pairs: readonly [string, string][]): string[][] {
  const parent = new Map<string, string>();
  const find = (a: string): string => {
    let r = a;
    while (parent.has(r) && parent.get(r) !== r) r = parent.get(r)!;
    parent.set(a, r);
    return r;
  };
  for (const [a, b] of pairs) {
    const ra = find(a), rb = find(b);
    if (ra !== rb) parent.set(ra < rb ? rb : ra, ra < rb ? ra : rb);
  }
  const groups = new Map<string, Set<string>>();
  for (const a of parent.keys()) {
    const r = find(a);
    let g = groups.get(r);
    if (!g) groups.set(r, (g = new Set()));
    g.add(a);
  }
  return [...groups.values()].map((g) => sorted(g)).sort((x, y) => x[0]!.localeCompare(y[0]!));
}

/**
 * Wash and circular trading at market level: loops of payments (reputation's `findClosedLoops`) grouped
 * into rings of agents, and groups trading mostly with each other in both directions (`findSameOwnerClusters`).
 * A loyal customer (always the same seller, never paid back) closes no loop and has no mutual trading.
 */
export function detectWash(trades: readonly RiskTrade[], p: RiskParams = RISK_PARAMS): Finding[] {
  const settled = trades.filter((t) => t.success && t.buyerId !== t.sellerId);
  const closing = findClosedLoops(settled.map(toOutcome), p.loop);
  const byId = new Map(settled.map((t) => [t.id, t]));
  const loopPairs: [string, string][] = [];
  for (const id of closing) { const t = byId.get(id)!; loopPairs.push([t.buyerId, t.sellerId]); }
  const clusters = findSameOwnerClusters(settled.map(toOutcome), p.washCluster);
  const pairs: [string, string][] = [...loopPairs];
  for (const c of clusters) for (let i = 1; i < c.length; i++) pairs.push([c[0]!, c[i]!]);
  const out: Finding[] = [];
  for (const members of components(pairs)) {
    const set = new Set(members);
    const inside = settled.filter((t) => set.has(t.buyerId) && set.has(t.sellerId));
    const loops = inside.filter((t) => closing.has(t.id)).length;
    const mutual = clusters.some((c) => c.every((m) => set.has(m)));
    if (loops < p.washMinLoopTrades && !mutual) continue;
    const volume = inside.reduce((s, t) => s + t.amount, 0n);
    out.push({
      kind: 'wash', key: `wash:${members.join(',')}`, severity: members.length > 2 || loops >= 5 ? 'critical' : 'warning',
      agents: members, trades: inside.map((t) => t.id).slice(-50), cell: null, listings: [],
      figures: { loopTrades: loops, internalTrades: inside.length, internalVolume: volume.toString(), mutualCluster: mutual ? 1 : 0 },
    });
  }
  return out;
}

/** Same-owner (Sybil) clusters: reputation's `detectOwnerClusters` over the accounts and the pair counts of the trades. */
export function detectSybil(accounts: readonly AccountSignals[], trades: readonly RiskTrade[], p: RiskParams = RISK_PARAMS): Finding[] {
  const counts = new Map<string, { buyerId: string; sellerId: string; count: number }>();
  for (const t of trades) {
    if (!t.success) continue;
    const k = `${t.buyerId}|${t.sellerId}`;
    const c = counts.get(k) ?? { buyerId: t.buyerId, sellerId: t.sellerId, count: 0 };
    c.count++;
    counts.set(k, c);
  }
  return detectOwnerClusters(accounts, [...counts.values()], p.owner).map((c) => ({
    kind: 'sybil' as const, key: `sybil:${c.members.join(',')}`, severity: 'warning' as const, agents: [...c.members], trades: [], cell: null, listings: [],
    figures: { internalTrades: c.internalTrades, internalShare: round(c.internalShare), signals: c.signals.join(',') },
  }));
}

/**
 * Collusive rating rings: groups of >= minSize agents linked by mutual high ratings (each pair rated each
 * other >= minMutual times with >= minStars) whose members give >= minInternalShare of their ratings inside.
 * A buyer and a seller who rate each other well after honest trades are a pair, not a ring.
 */
export function detectRatingRings(ratings: readonly RiskRating[], p: RiskParams = RISK_PARAMS): Finding[] {
  const directed = new Map<string, number>();
  const given = new Map<string, number>();
  for (const r of ratings) {
    if (r.raterId === r.rateeId) continue;
    given.set(r.raterId, (given.get(r.raterId) ?? 0) + 1);
    if (r.stars < p.ring.minStars) continue;
    const k = `${r.raterId}|${r.rateeId}`;
    directed.set(k, (directed.get(k) ?? 0) + 1);
  }
  const pairs: [string, string][] = [];
  for (const [k, n] of directed) {
    const [a, b] = k.split('|') as [string, string];
    if (a < b && n >= p.ring.minMutual && (directed.get(`${b}|${a}`) ?? 0) >= p.ring.minMutual) pairs.push([a, b]);
  }
  const out: Finding[] = [];
  for (const members of components(pairs)) {
    if (members.length < p.ring.minSize) continue;
    const set = new Set(members);
    let minShare = 1;
    let inside = 0;
    for (const m of members) {
      let mine = 0;
      for (const r of ratings) if (r.raterId === m && set.has(r.rateeId)) mine++;
      inside += mine;
      minShare = Math.min(minShare, mine / (given.get(m) ?? 1));
    }
    if (minShare < p.ring.minInternalShare) continue;
    out.push({ kind: 'rating_ring', key: `rating_ring:${members.join(',')}`, severity: 'warning', agents: members, trades: [], cell: null, listings: [], figures: { members: members.length, internalRatings: inside, internalShare: round(minShare) } });
  }
  return out;
}

export function median(xs: readonly number[]): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function byCell(trades: readonly RiskTrade[]): Map<string, RiskTrade[]> {
  const m = new Map<string, RiskTrade[]>();
  for (const t of trades) {
    const k = cellKey(t.category, t.region);
    let l = m.get(k);
    if (!l) m.set(k, (l = []));
    l.push(t);
  }
  return m;
}

/**
 * Price spoofing: a seller whose trades priced far below its cell's median (of the settled trades of
 * other sellers) mostly fail to deliver. A cheap seller that delivers is competition, not spoofing.
 */
export function detectSpoofing(trades: readonly RiskTrade[], p: RiskParams = RISK_PARAMS): Finding[] {
  const out: Finding[] = [];
  for (const list of byCell(trades).values()) {
    const bySeller = new Map<string, RiskTrade[]>();
    for (const t of list) { let l = bySeller.get(t.sellerId); if (!l) bySeller.set(t.sellerId, (l = [])); l.push(t); }
    for (const [seller, own] of bySeller) {
      const ref = list.filter((t) => t.success && t.sellerId !== seller).map((t) => Number(t.pricePerUnit));
      if (ref.length < p.spoof.minCellTrades) continue;
      const idx = median(ref);
      const cheap = own.filter((t) => Number(t.pricePerUnit) <= (1 - p.spoof.discount) * idx);
      const failed = cheap.filter((t) => !t.success);
      if (failed.length < p.spoof.minFailures || failed.length < p.spoof.minFailureRate * cheap.length) continue;
      const t0 = list[0]!;
      out.push({
        kind: 'spoofing', key: `spoofing:${seller}:${t0.category}|${t0.region}`, severity: 'critical', agents: [seller], trades: failed.map((t) => t.id).slice(-50),
        cell: { category: t0.category, region: t0.region }, listings: sorted(cheap.map((t) => t.listingId)),
        figures: { indexPrice: idx, cheapTrades: cheap.length, failedTrades: failed.length, failureRate: round(failed.length / cheap.length), medianCheapPrice: median(cheap.map((t) => Number(t.pricePerUnit))) },
      });
    }
  }
  return out;
}

/** Modified z-scores of xs against their own median and MAD (0 where MAD is 0 and x equals the median). */
export function modifiedZ(xs: readonly number[]): number[] {
  const med = median(xs);
  const mad = median(xs.map((x) => Math.abs(x - med)));
  // MAD 0 (over half the prices equal): fall back to the mean absolute deviation (1.253314 * MeanAD ~ sd)
  const meanAd = xs.reduce((s, x) => s + Math.abs(x - med), 0) / xs.length;
  return xs.map((x) => (x === med ? 0 : mad > 0 ? (0.6745 * (x - med)) / mad : meanAd > 0 ? (x - med) / (1.253314 * meanAd) : Infinity));
}

/** Price anomalies per cell: trades whose unit price has |modified z| above the threshold, made by few sellers. */
export function detectPriceAnomalies(trades: readonly RiskTrade[], p: RiskParams = RISK_PARAMS): Finding[] {
  const out: Finding[] = [];
  for (const list of byCell(trades).values()) {
    const ok = list.filter((t) => t.success);
    if (ok.length < p.anomaly.minWindow) continue;
    const z = modifiedZ(ok.map((t) => Number(t.pricePerUnit)));
    const odd = ok.filter((_, i) => Math.abs(z[i]!) > p.anomaly.z);
    if (!odd.length) continue;
    const sellers = sorted(odd.map((t) => t.sellerId));
    if (sellers.length >= p.anomaly.broadMoveSellers) continue; // the market moved
    const t0 = ok[0]!;
    const agents = sorted(odd.flatMap((t) => [t.buyerId, t.sellerId]));
    out.push({
      kind: 'price_anomaly', key: `price_anomaly:${t0.category}|${t0.region}:${agents.join(',')}`, severity: 'warning', agents, trades: odd.map((t) => t.id).slice(-50),
      cell: { category: t0.category, region: t0.region }, listings: sorted(odd.map((t) => t.listingId)),
      figures: { median: median(ok.map((t) => Number(t.pricePerUnit))), maxAbsZ: round(Math.max(...odd.map((t) => Math.abs(z[ok.indexOf(t)]!)))), anomalies: odd.length, window: ok.length },
    });
  }
  return out;
}

/** EWMA volatility of a series of period prices: sigma after each return (sqrt of the EWMA of squared log returns). */
export function ewmaVolatility(prices: readonly number[], lambda: number): number[] {
  const out: number[] = [];
  let v: number | null = null;
  for (let i = 1; i < prices.length; i++) {
    const r = Math.log(prices[i]! / prices[i - 1]!);
    v = v === null ? r * r : lambda * v + (1 - lambda) * r * r;
    out.push(Math.sqrt(v));
  }
  return out;
}

/**
 * Per cell: EWMA sigma of a matched-seller price index and a warning (or critical) finding above the levels.
 * Each hour's return is the median, over the sellers that traded in both that hour and the previous traded
 * hour, of the log change of the seller's own median price. A cell's median price alone jumps whenever the
 * mix of sellers changes (two price tiers, a cheap seller busy one hour); the same sellers repricing is what
 * a supply shock looks like. (The detector evaluation, src/sim/risk-eval.ts: the plain hourly median warned in
 * a quiet two-tier cell on every seed; this index did not.)
 */
export function detectVolatility(trades: readonly RiskTrade[], p: RiskParams = RISK_PARAMS): { findings: Finding[]; sigma: Map<string, number> } {
  const findings: Finding[] = [];
  const sigma = new Map<string, number>();
  for (const [k, list] of byCell(trades)) {
    const buckets = new Map<number, Map<string, number[]>>();
    const count = new Map<number, number>();
    for (const t of list) {
      if (!t.success) continue;
      const b = Math.floor(t.at / p.volatility.periodMs);
      let m = buckets.get(b);
      if (!m) buckets.set(b, (m = new Map()));
      let l = m.get(t.sellerId);
      if (!l) m.set(t.sellerId, (l = []));
      l.push(Number(t.pricePerUnit));
      count.set(b, (count.get(b) ?? 0) + 1);
    }
    const keys = [...buckets.keys()].filter((b) => count.get(b)! >= p.volatility.minPeriodTrades).sort((a, b) => a - b);
    const returns: number[] = [];
    for (let i = 1; i < keys.length; i++) {
      const prev = buckets.get(keys[i - 1]!)!, cur = buckets.get(keys[i]!)!;
      const r: number[] = [];
      for (const [seller, ps] of cur) { const q = prev.get(seller); if (q) r.push(Math.log(median(ps) / median(q))); }
      if (r.length) returns.push(median(r));
    }
    if (returns.length < p.volatility.minPeriods - 1) continue;
    let v: number | null = null;
    for (const r of returns) v = v === null ? r * r : p.volatility.lambda * v + (1 - p.volatility.lambda) * r * r;
    const now = Math.sqrt(v!);
    sigma.set(k, now);
    if (now <= p.volatility.warn) continue;
    const t0 = list[0]!;
    const severity: Severity = now > p.volatility.critical ? 'critical' : 'warning';
    findings.push({
      kind: 'volatility', key: `volatility:${k}:${severity}`, severity, agents: [], trades: [], cell: { category: t0.category, region: t0.region }, listings: [],
      figures: { sigma: round(now), warnLevel: p.volatility.warn, criticalLevel: p.volatility.critical, periods: keys.length, lastReturn: round(returns[returns.length - 1]!) },
    });
  }
  return { findings, sigma };
}

/** Herfindahl-Hirschman index (0..10,000) of shares given as amounts. */
export function hhi(amounts: Iterable<number>): number {
  const xs = [...amounts];
  const total = xs.reduce((a, b) => a + b, 0);
  if (total <= 0) return 0;
  return xs.reduce((s, x) => s + ((100 * x) / total) ** 2, 0);
}

/** HHI of seller volume per cell; a finding above the alert level. */
export function detectConcentration(trades: readonly RiskTrade[], p: RiskParams = RISK_PARAMS): { findings: Finding[]; hhi: Map<string, number> } {
  const findings: Finding[] = [];
  const out = new Map<string, number>();
  for (const [k, list] of byCell(trades)) {
    const ok = list.filter((t) => t.success);
    if (ok.length < p.concentration.minTrades) continue;
    const vol = new Map<string, number>();
    for (const t of ok) vol.set(t.sellerId, (vol.get(t.sellerId) ?? 0) + Number(t.amount));
    const h = hhi(vol.values());
    out.set(k, h);
    if (h <= p.concentration.hhiAlert) continue;
    const top = [...vol.entries()].sort((a, b) => b[1] - a[1])[0]!;
    const total = [...vol.values()].reduce((a, b) => a + b, 0);
    findings.push({
      kind: 'concentration', key: `concentration:${k}`, severity: 'info', agents: [top[0]], trades: [], cell: { category: ok[0]!.category, region: ok[0]!.region }, listings: [],
      figures: { hhi: Math.round(h), sellers: vol.size, topSellerShare: round(top[1] / total), trades: ok.length },
    });
  }
  return { findings, hhi: out };
}

/**
 * Buyers' exposure to one seller: per buyer, the share of its settled spend in the window that went to its
 * largest seller (0..1), with the buyer's trade count (an indicator: a loyal customer with few trades is 1).
 */
export function buyerExposure(trades: readonly RiskTrade[]): Map<string, { topSeller: string; share: number; trades: number }> {
  const per = new Map<string, Map<string, number>>();
  const n = new Map<string, number>();
  for (const t of trades) {
    if (!t.success || t.buyerId === t.sellerId) continue;
    let m = per.get(t.buyerId);
    if (!m) per.set(t.buyerId, (m = new Map()));
    m.set(t.sellerId, (m.get(t.sellerId) ?? 0) + Number(t.amount));
    n.set(t.buyerId, (n.get(t.buyerId) ?? 0) + 1);
  }
  const out = new Map<string, { topSeller: string; share: number; trades: number }>();
  for (const [buyer, m] of per) {
    const total = [...m.values()].reduce((a, b) => a + b, 0);
    const [top, v] = [...m.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]!;
    out.set(buyer, { topSeller: top, share: total > 0 ? v / total : 0, trades: n.get(buyer)! });
  }
  return out;
}

/** Each agent's counterparty HHI (as buyer and seller together): an indicator, never an alert alone (a loyal customer is 10,000). */
export function counterpartyConcentration(trades: readonly RiskTrade[]): Map<string, number> {
  const per = new Map<string, Map<string, number>>();
  const add = (a: string, b: string, x: number) => { let m = per.get(a); if (!m) per.set(a, (m = new Map())); m.set(b, (m.get(b) ?? 0) + x); };
  for (const t of trades) if (t.success) { add(t.buyerId, t.sellerId, Number(t.amount)); add(t.sellerId, t.buyerId, Number(t.amount)); }
  return new Map([...per].map(([a, m]) => [a, hhi(m.values())]));
}

/** Spend velocity: a buyer's spend in the day of `now` against the median of its previous days with spend. */
export function detectSpendVelocity(trades: readonly RiskTrade[], now: number, p: RiskParams = RISK_PARAMS): Finding[] {
  const day = (t: number) => Math.floor(t / p.velocity.dayMs);
  const today = day(now);
  const per = new Map<string, Map<number, bigint>>();
  for (const t of trades) {
    let m = per.get(t.buyerId);
    if (!m) per.set(t.buyerId, (m = new Map()));
    m.set(day(t.at), (m.get(day(t.at)) ?? 0n) + t.amount);
  }
  const out: Finding[] = [];
  for (const [agent, days] of per) {
    const spend = days.get(today) ?? 0n;
    const history = [...days].filter(([d]) => d < today).map(([, v]) => Number(v));
    if (history.length < p.velocity.minHistoryDays || spend < p.velocity.minSpend) continue;
    const base = median(history);
    if (Number(spend) <= p.velocity.factor * base) continue;
    out.push({
      kind: 'spend_velocity', key: `spend_velocity:${agent}:${today}`, severity: 'warning', agents: [agent], trades: trades.filter((t) => t.buyerId === agent && day(t.at) === today).map((t) => t.id).slice(-50),
      cell: null, listings: [], figures: { spendToday: spend.toString(), medianDailySpend: base, ratio: round(Number(spend) / base), historyDays: history.length },
    });
  }
  return out;
}

/** Dispute spikes per cell: the last period's disputes against the previous periods' Poisson baseline. */
export function detectDisputeSpikes(disputes: readonly RiskDispute[], now: number, p: RiskParams = RISK_PARAMS): Finding[] {
  const cur = Math.floor(now / p.disputes.periodMs);
  const cells = new Map<string, { category: string; region: string; current: number; base: number; trades: string[] }>();
  for (const d of disputes) {
    const b = Math.floor(d.at / p.disputes.periodMs);
    if (b > cur || b < cur - p.disputes.baselinePeriods) continue;
    const k = cellKey(d.category, d.region);
    const c = cells.get(k) ?? { category: d.category, region: d.region, current: 0, base: 0, trades: [] };
    if (b === cur) { c.current++; c.trades.push(d.tradeId); } else c.base++;
    cells.set(k, c);
  }
  const out: Finding[] = [];
  for (const [k, c] of cells) {
    const mean = c.base / p.disputes.baselinePeriods;
    const limit = Math.max(p.disputes.minCount, mean + p.disputes.sigmas * Math.sqrt(Math.max(mean, 1)));
    if (c.current < limit) continue;
    out.push({ kind: 'dispute_spike', key: `dispute_spike:${k}:${cur}`, severity: 'warning', agents: [], trades: c.trades.slice(-50), cell: { category: c.category, region: c.region }, listings: [], figures: { disputes: c.current, baselinePerPeriod: round(mean), limit: round(limit) } });
  }
  return out;
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
