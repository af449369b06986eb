/**
 * The market's business KPIs as Prometheus metrics, read from the rollups at each scrape (cheap: day and
 * hour rollups, the newest snapshot, one window query for the price indices), so several API processes over
 * one database report the same values. Objects in prom-client's collector shape (name, help, type, get), so
 * the module does not depend on the metrics library; app.ts registers them on `app.metricsRegistry`.
 *
 *   ae_market_trades_total{category,region}          counter  settled trades (all time)
 *   ae_market_volume_aitbc_total{category,region}    counter  AITBC released to sellers (all time)
 *   ae_market_match_rate                             gauge    matched / new requests, current hour and the 23 before
 *   ae_market_settlement_seconds                     histogram agreement -> settlement, all time, from the sketch
 *   ae_market_open_requests                          gauge    open requests in the newest minute snapshot
 *   ae_market_active_agents                          gauge    distinct buyers and sellers of settled trades, last 24 h
 *   ae_market_price_index_aitbc{category,spec_class,region} gauge the price index (cells with enough trades)
 *
 * The histogram's observations are the sketch's bin estimates (within 1% of each value), so a value within
 * 1% of a bucket bound may be counted in the neighbouring bucket; _sum is the sum of the estimates.
 */
import { formatAmount } from '../../platform/money.js';
import type { AnalyticsService } from './analytics.service.js';
import { binValue } from './sketch.js';

type Labels = Record<string, string | number>;
interface Value { labels: Labels; value: number; metricName?: string }
export interface CollectorMetric {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  aggregator: 'sum';
  get(): Promise<{ name: string; help: string; type: string; aggregator: 'sum'; values: Value[] }>;
}

export const SETTLEMENT_BUCKETS_SECONDS = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400, 259200] as const;
const aitbc = (units: bigint) => Number(formatAmount(units));

type Kpis = Awaited<ReturnType<AnalyticsService['kpis']>>;

export function histogramValues(name: string, binsMs: readonly [number, number][], bounds: readonly number[]): Value[] {
  const counts = bounds.map(() => 0);
  let count = 0;
  let sum = 0;
  for (const [bin, n] of binsMs) {
    const s = binValue(bin) / 1000;
    count += n;
    sum += s * n;
    bounds.forEach((le, i) => { if (s <= le) counts[i]! += n; });
  }
  return [
    ...bounds.map((le, i) => ({ metricName: `${name}_bucket`, labels: { le }, value: counts[i]! })),
    { metricName: `${name}_bucket`, labels: { le: '+Inf' }, value: count },
    { metricName: `${name}_sum`, labels: {}, value: sum },
    { metricName: `${name}_count`, labels: {}, value: count },
  ];
}

/** The KPI collectors; one database read per scrape, shared by all of them. */
export function marketMetrics(analytics: AnalyticsService): CollectorMetric[] {
  let pending: { at: number; p: Promise<Kpis> } | null = null;
  const read = () => {
    const now = Date.now();
    if (!pending || now - pending.at > 500) pending = { at: now, p: analytics.kpis() };
    const p = pending.p;
    p.catch(() => { pending = null; });
    return p;
  };
  const metric = (name: string, help: string, type: CollectorMetric['type'], values: (k: Kpis) => Value[]): CollectorMetric => ({
    name, help, type, aggregator: 'sum',
    async get() { return { name, help, type, aggregator: 'sum', values: values(await read()) }; },
  });
  return [
    metric('ae_market_trades_total', 'Settled trades (all time, from the market rollups)', 'counter',
      (k) => k.totals.map((t) => ({ labels: { category: t.category, region: t.region }, value: t.trades }))),
    metric('ae_market_volume_aitbc_total', 'AITBC released to sellers in settled trades (all time, from the market rollups)', 'counter',
      (k) => k.totals.map((t) => ({ labels: { category: t.category, region: t.region }, value: aitbc(t.volume) }))),
    metric('ae_market_match_rate', 'Share of new trade requests that reached an agreement, current hour and the 23 before (absent without requests)', 'gauge',
      (k) => (k.matchRate === null ? [] : [{ labels: {}, value: k.matchRate }])),
    metric('ae_market_settlement_seconds', 'Time from agreement to settlement of settled trades (all time; from the rollups\' sketch, values within 1%)', 'histogram',
      (k) => histogramValues('ae_market_settlement_seconds', k.settlementMs, SETTLEMENT_BUCKETS_SECONDS)),
    metric('ae_market_open_requests', 'Open trade requests in the newest supply/demand snapshot (absent before the first)', 'gauge',
      (k) => (k.openRequests === null ? [] : [{ labels: {}, value: k.openRequests }])),
    metric('ae_market_active_agents', 'Distinct buyers and sellers of settled trades, current hour and the 23 before', 'gauge',
      (k) => [{ labels: {}, value: k.activeAgents }]),
    metric('ae_market_price_index_aitbc', 'Price index per cell (volume-weighted median unit price of the last 7 days\' trades; cells with at least 5 trades)', 'gauge',
      (k) => k.priceIndices.map((p) => ({ labels: { category: p.category, spec_class: p.specClass, region: p.region }, value: aitbc(p.index) }))),
  ];
}
