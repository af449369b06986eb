/**
 * The report model: ONE JSON document per period from which every format (JSON, HTML, PDF, CSV) is
 * rendered. Built from the market API's figures (overview, price series, geography, insights), never
 * from figures of its own: the period's KPIs against the previous period, the plan's success metrics
 * (each met / missed / not measured with the reason), chart data, top movers, insights and risk.
 */
export type Period = 'day' | 'week' | 'month';
type Num = number | null;

/** What the report reads of the market (the analytics service answers it; app.ts passes it in). */
export interface MarketSource {
  overview(q: { from: string; to: string; interval: 'hour' | 'day' }): Promise<{
    trades: number; units: number; volume: string; vwap: string | null; activeBuyers: Num; activeSellers: Num; newAgents: number;
    matchRate: Num; disputeRate: Num; failureRate: Num; crossBorderShare: Num; newRequests: number; agreements: number;
    timeToSettlementSeconds: { p50: Num; p99: Num }; timeToAgreementSeconds: { p50: Num; p99: Num };
  }>;
  prices(q: { from: string; to: string; interval: 'hour' | 'day' }): Promise<{ data: { bucket: string; trades: number; volume: string; vwap: string | null }[] }>;
  geo(q: { from: string; to: string; interval: 'hour' | 'day' }): Promise<{ data: { buyerCountry: string; sellerCountry: string; volume: string; crossBorder: boolean }[] }>;
  insights(q: { period: Period; at?: string }): Promise<InsightsLike>;
}

/** The parts of GET /v1/market/insights the report shows (see analytics.insights.ts). */
export interface InsightsLike {
  period: string; from: string; to: string; previousFrom: string; previousTo: string;
  trends: { metric: string; unit: string; current: string | number | null; previous: string | number | null; change: Num; test: { name: string; statistic: Num; pValue: Num; significant: boolean | null; note?: string } }[];
  growth: {
    newAgentsPerWeek: { weekStart: string; newAgents: number }[];
    retention: { status: string; reason?: string; activePrevious?: number; activeCurrent?: number; retained?: number; rate?: number };
  };
  agentPerformance: {
    volume: { agentId: string; current: string; previous: string; change: string; trades: number }[];
    fillRate: { status: string; reason?: string; movers: { agentId: string; current: number; previous: number; change: number }[] };
    trust: { status: string; reason?: string; movers?: { agentId: string; current: number; previous: number; change: number }[] };
  };
  priceOptimisation: { status: string; reason?: string; bands: { band: string; listings: number; withAgreement: number; fillRate: Num }[]; furthest: { listingId: string; specClass: string; region: string; price: string; index: string; deviation: number; agreements: number }[] };
  risk: {
    concentration: { category: string; sellers: number; volume: string; hhi: Num; level: string | null }[];
    volatility: { category: string; specClass: string; region: string; status: string; ewma?: number; reason?: string }[];
    disputeSpikes: { status: string; reason?: string; baselineRate?: number; days?: { day: string; disputes: number; ended: number; pValue: number; spike: boolean }[] };
    regionalSpread: { category: string; specClass: string; status: string; spread?: number; reason?: string; low?: { region: string; index: string }; high?: { region: string; index: string } }[];
  };
}

export type Unit = 'count' | 'AITBC' | 'AITBC/unit' | 'share' | 'seconds' | 'countries';
export interface Kpi { key: string; label: string; unit: Unit; current: string | number | null; previous: string | number | null; change: Num }
export interface Target { metric: string; target: string; unit: Unit | null; actual: string | number | null; status: 'met' | 'missed' | 'not_measured'; reason: string }
export interface Chart { id: string; title: string; unit: string; kind: 'bar' | 'line'; x: string[]; series: { name: string; data: Num[] }[] }

export interface ReportModel {
  version: 1;
  title: string;
  period: Period;
  from: string; to: string; previousFrom: string; previousTo: string;
  generatedAt: string;
  empty: boolean;
  notes: string[];
  kpis: Kpi[];
  targets: Target[];
  charts: Chart[];
  insights: InsightsLike;
}

const DAY = 86_400_000;
const num = (s: string | null) => (s === null ? null : Number(s));
const rel = (a: Num, b: Num) => (a === null || b === null || b === 0 ? null : Math.round(((a - b) / b) * 1e6) / 1e6);

export function periodLabel(period: Period, from: string): string {
  const d = new Date(from);
  if (period === 'day') return from.slice(0, 10);
  if (period === 'week') return `week of ${from.slice(0, 10)}`;
  return d.toLocaleString('en-GB', { month: 'long', year: 'numeric', timeZone: 'UTC' });
}

export async function buildReport(market: MarketSource, period: Period, at: string | undefined, now: Date): Promise<ReportModel> {
  const insights = await market.insights({ period, ...(at ? { at } : {}) });
  const { from, to, previousFrom, previousTo } = insights;
  const interval = period === 'day' ? 'hour' as const : 'day' as const;
  const [cur, prev, series, prevSeries, geo] = await Promise.all([
    market.overview({ from, to, interval }), market.overview({ from: previousFrom, to: previousTo, interval }),
    market.prices({ from, to, interval }), market.prices({ from: previousFrom, to: previousTo, interval }), market.geo({ from, to, interval }),
  ]);
  const days = (new Date(to).getTime() - new Date(from).getTime()) / DAY;
  const retention = insights.growth.retention;
  const kpis: Kpi[] = [
    { key: 'trades', label: 'Trades settled', unit: 'count', current: cur.trades, previous: prev.trades, change: rel(cur.trades, prev.trades) },
    { key: 'volume', label: 'Volume', unit: 'AITBC', current: cur.volume, previous: prev.volume, change: rel(num(cur.volume), num(prev.volume)) },
    { key: 'vwap', label: 'Average unit price (VWAP)', unit: 'AITBC/unit', current: cur.vwap, previous: prev.vwap, change: rel(num(cur.vwap), num(prev.vwap)) },
    { key: 'activeAgents', label: 'Active agents (traded)', unit: 'count', current: retention.activeCurrent ?? 0, previous: retention.activePrevious ?? 0, change: rel(retention.activeCurrent ?? 0, retention.activePrevious ?? 0) },
    { key: 'newAgents', label: 'New agents', unit: 'count', current: cur.newAgents, previous: prev.newAgents, change: rel(cur.newAgents, prev.newAgents) },
    { key: 'matchRate', label: 'Match rate', unit: 'share', current: cur.matchRate, previous: prev.matchRate, change: rel(cur.matchRate, prev.matchRate) },
    { key: 'disputeRate', label: 'Dispute rate', unit: 'share', current: cur.disputeRate, previous: prev.disputeRate, change: rel(cur.disputeRate, prev.disputeRate) },
    { key: 'crossBorderShare', label: 'Cross-border share of trades', unit: 'share', current: cur.crossBorderShare, previous: prev.crossBorderShare, change: rel(cur.crossBorderShare, prev.crossBorderShare) },
    { key: 'settlementP50', label: 'Settlement time, median', unit: 'seconds', current: cur.timeToSettlementSeconds.p50, previous: prev.timeToSettlementSeconds.p50, change: rel(cur.timeToSettlementSeconds.p50, prev.timeToSettlementSeconds.p50) },
  ];

  // The plan's success metrics (openclaw-agent-economics-plan.txt, "Success Metrics")
  const geoVolume = geo.data.reduce((s, f) => s + Number(f.volume), 0);
  const crossVolume = geo.data.filter((f) => f.crossBorder).reduce((s, f) => s + Number(f.volume), 0);
  const countries = new Set(geo.data.flatMap((f) => [f.buyerCountry, f.sellerCountry]).filter((c) => c && c !== 'ZZ'));
  const spreads = insights.risk.regionalSpread.filter((s) => s.status === 'ok' && s.spread !== undefined);
  const worstSpread = spreads.length ? Math.max(...spreads.map((s) => s.spread!)) : null;
  const target = (metric: string, t: string, unit: Unit | null, actual: number | null, ok: (v: number) => boolean, why: string): Target =>
    actual === null ? { metric, target: t, unit, actual: null, status: 'not_measured', reason: why } : { metric, target: t, unit, actual, status: ok(actual) ? 'met' : 'missed', reason: '' };
  const notMeasured = (metric: string, t: string, reason: string): Target => ({ metric, target: t, unit: null, actual: null, status: 'not_measured', reason });
  const lastWeek = insights.growth.newAgentsPerWeek.at(-1)?.newAgents ?? null;
  const completion = cur.failureRate === null ? null : Math.round((1 - cur.failureRate) * 1e6) / 1e6;
  const targets: Target[] = [
    target('Active agents', '5,000+', 'count', retention.activeCurrent ?? 0, (v) => v >= 5000, ''),
    target('New agent registration', '100+ per week', 'count', lastWeek, (v) => v >= 100, 'no week data'),
    period === 'month'
      ? target('Agent retention', '> 85% monthly', 'share', retention.rate ?? null, (v) => v > 0.85, retention.reason ?? 'no agent traded in the previous month')
      : notMeasured('Agent retention', '> 85% monthly', `the target is monthly; this ${period}'s retention (${retention.rate ?? 'n/a'}) is in the insights and the month report measures it`),
    target('Geographic distribution', '50+ countries', 'countries', countries.size, (v) => v >= 50, ''),
    target('Daily transactions', '1,000+ a day', 'count', Math.round((cur.trades / days) * 100) / 100, (v) => v >= 1000, ''),
    target('Daily transaction value', '10,000+ AITBC a day', 'AITBC', Math.round((Number(cur.volume) / days) * 1e8) / 1e8, (v) => v >= 10_000, ''),
    notMeasured('Agent-to-agent trading', '30% of volume', 'every trade on this platform is between two agents; whether a person directed a trade is not recorded'),
    target('Cross-border transactions', '40% of volume', 'share', geoVolume > 0 ? Math.round((crossVolume / geoVolume) * 1e6) / 1e6 : null, (v) => v >= 0.4, 'no volume in the period'),
    target('Market liquidity', '< 5% price spread across regions', 'share', worstSpread, (v) => v < 0.05, 'no spec class has a price index in two regions'),
    target('Matching efficiency', '> 90% successful match rate', 'share', cur.matchRate, (v) => v > 0.9, 'no trade request in the period'),
    notMeasured('Settlement time', '< 30 s average', `the rollups keep quantiles, not the mean: median ${cur.timeToSettlementSeconds.p50 ?? 'n/a'} s, p99 ${cur.timeToSettlementSeconds.p99 ?? 'n/a'} s (agreement to settlement)`),
    notMeasured('Price discovery', 'real-time', 'a property of the system (the price index is recomputed from each trade), not a figure of the period'),
    notMeasured('API response time, analytics processing, dashboard load, availability', '< 100 ms, < 5 min, < 2 s, 99.9%', 'measured by the benchmarks (docs/benchmarks.md) and /metrics, not from market data'),
    notMeasured('User satisfaction', '> 4.5/5', 'no satisfaction ratings are collected'),
    target('Task completion rate', '> 95%', 'share', completion, (v) => v > 0.95, 'no agreement ended in the period'),
  ];

  const label = (b: string) => (interval === 'hour' ? b.slice(11, 16) : b.slice(5, 10));
  const charts: Chart[] = [
    { id: 'volume', title: `Volume per ${interval} (AITBC)`, unit: 'AITBC', kind: 'bar', x: series.data.map((d) => label(d.bucket)), series: [{ name: 'this period', data: series.data.map((d) => Number(d.volume)) }, { name: 'previous period', data: prevSeries.data.map((d) => Number(d.volume)) }] },
    { id: 'trades', title: `Trades per ${interval}`, unit: 'trades', kind: 'line', x: series.data.map((d) => label(d.bucket)), series: [{ name: 'this period', data: series.data.map((d) => d.trades) }, { name: 'previous period', data: prevSeries.data.map((d) => d.trades) }] },
    { id: 'vwap', title: `Average unit price per ${interval} (AITBC)`, unit: 'AITBC/unit', kind: 'line', x: series.data.map((d) => label(d.bucket)), series: [{ name: 'VWAP', data: series.data.map((d) => num(d.vwap)) }] },
    { id: 'newAgents', title: 'New agents per week (8 weeks to the period end)', unit: 'agents', kind: 'bar', x: insights.growth.newAgentsPerWeek.map((w) => w.weekStart.slice(5, 10)), series: [{ name: 'new agents', data: insights.growth.newAgentsPerWeek.map((w) => w.newAgents) }] },
  ];
  const empty = cur.trades === 0;
  const notes = [
    ...(empty ? [`No trades settled in this ${period}: the figures below are zero or not computable, and say so.`] : []),
    'Amounts in AITBC. Rates are shares (0-1), shown as percentages. Times are UTC. Ids are shortened to their last 12 characters; the JSON and CSV have them in full.',
  ];
  return {
    version: 1, title: `Agent economy ${period} report: ${periodLabel(period, from)}`, period, from, to, previousFrom, previousTo, generatedAt: now.toISOString(),
    empty, notes, kpis, targets, charts, insights,
  };
}
