/** The analytics service: owns the projection (sync, rebuild, its job) and answers the market reads. */
import type { BackgroundJob } from '../module.js';
import { AppError, notFound } from '../../platform/http/errors.js';
import { formatAmount } from '../../platform/money.js';
import { MarketProjection, type AnalyticsDeps } from './analytics.projection.js';
import { analyticsQueries as q, type CellFilter, type CounterRow, type RangeFilter } from './analytics.queries.js';
import { truncate } from './analytics.facts.js';
import type { Granularity } from './analytics.tables.js';
import { sketchQuantile } from './sketch.js';
import { MarketTape } from './analytics.tape.js';
import { crossRegionSpread, ewmaVolatility, priceIndex, MIN_TRADES, type PriceIndex } from './price-index.js';

const UNIT_MS: Record<Granularity, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };
export const MAX_BUCKETS = 1500;
const DEFAULT_SPAN: Record<Granularity, number> = { minute: 60, hour: 24, day: 30 };
/** The price index uses the cell's trades of this window before `to`, at most INDEX_TRADES of them. */
export const INDEX_WINDOW_MS = 7 * 86_400_000;
const INDEX_TRADES = 1000;
const VOLATILITY_DAYS = 30;

export interface RangeQuery extends CellFilter {
  from?: string | undefined;
  to?: string | undefined;
  interval?: Granularity | undefined;
}

const ratio = (a: bigint, b: bigint) => (b > 0n ? Number(a) / Number(b) : null);
const price = (v: number | null) => (v === null ? null : formatAmount(BigInt(Math.round(v))));
const seconds = (ms: number | null) => (ms === null ? null : Math.round(ms) / 1000);

export interface PriceIndexJson {
  status: 'ok' | 'insufficient_data';
  index: string | null;
  low: string | null;
  high: string | null;
  sampleSize: number;
  confidence?: number;
  minimumSample?: number;
}

export function indexJson(p: PriceIndex): PriceIndexJson {
  if (p.status === 'ok') return { status: p.status, index: formatAmount(p.index), low: formatAmount(p.low), high: formatAmount(p.high), sampleSize: p.sampleSize, confidence: 0.95 };
  return { status: p.status, index: null, low: null, high: null, sampleSize: p.sampleSize, minimumSample: p.minimum };
}

export class AnalyticsService {
  readonly projection: MarketProjection;
  readonly jobs: BackgroundJob[];
  /** The public trade tape (latest trades and the live market stream). */
  readonly tape: MarketTape;

  constructor(readonly deps: AnalyticsDeps) {
    this.projection = new MarketProjection(deps);
    this.tape = new MarketTape(deps.database);
    this.jobs = [{ name: 'analytics.project', intervalMs: 1000, run: () => this.projection.sync() }];
  }

  /** Folds every market event committed so far into the rollups (what the job runs each second). */
  sync(): Promise<void> {
    return this.projection.sync();
  }

  /** Drops the rollups and folds the whole fact log again. */
  rebuild(): Promise<void> {
    return this.projection.rebuild();
  }

  private get db() {
    return this.deps.database.db;
  }

  /**
   * The range in whole buckets: `from` rounded down and `to` rounded up to the interval; by default the
   * last 60 minutes, 24 hours or 30 days up to now. At most MAX_BUCKETS buckets.
   */
  range(query: RangeQuery, fallback: Granularity = 'hour'): RangeFilter {
    const g = query.interval ?? fallback;
    const unit = UNIT_MS[g];
    const end = query.to
      ? new Date(Math.ceil(new Date(query.to).getTime() / unit) * unit)
      : new Date(truncate(this.deps.clock.now(), g).getTime() + unit); // the current bucket included
    const from = query.from ? truncate(new Date(query.from), g) : new Date(end.getTime() - DEFAULT_SPAN[g] * unit);
    if (from.getTime() >= end.getTime()) {
      throw new AppError('validation_failed', 'from must be before to', { errors: [{ field: 'querystring.from', message: 'must be before to' }] });
    }
    const buckets = (end.getTime() - from.getTime()) / unit;
    if (buckets > MAX_BUCKETS) {
      throw new AppError('validation_failed', `the range spans ${buckets} ${g} buckets; at most ${MAX_BUCKETS}`, {
        errors: [{ field: 'querystring.interval', message: `must give at most ${MAX_BUCKETS} buckets over the range (use a coarser interval or a shorter range)` }],
      });
    }
    return { category: query.category, region: query.region, specClass: query.specClass, from, to: end, granularity: g };
  }

  private buckets(f: RangeFilter): Date[] {
    const out: Date[] = [];
    for (let t = f.from.getTime(); t < f.to.getTime(); t += UNIT_MS[f.granularity]) out.push(new Date(t));
    return out;
  }

  private static sketchByBucket(rows: { bucket: Date; bin: number; n: bigint }[]): Map<number, [number, number][]> {
    const m = new Map<number, [number, number][]>();
    for (const r of rows) {
      const k = r.bucket.getTime();
      if (!m.has(k)) m.set(k, []);
      m.get(k)!.push([r.bin, Number(r.n)]);
    }
    return m;
  }

  private static tradeFigures(c: CounterRow | undefined, prices: [number, number][]) {
    const trades = c?.trades ?? 0n;
    const units = c?.units ?? 0n;
    return {
      trades: Number(trades), units: Number(units), volume: formatAmount(BigInt(c?.volume ?? '0')),
      vwap: units > 0n ? formatAmount(BigInt(c!.notional) / units) : null,
      p10: price(sketchQuantile(prices, 0.1)), median: price(sketchQuantile(prices, 0.5)), p90: price(sketchQuantile(prices, 0.9)),
    };
  }

  /** Price series: trades, units, volume, VWAP and unit-price quantiles per bucket. */
  async prices(query: RangeQuery) {
    const f = this.range(query);
    const [counters, sketches] = await Promise.all([q.counters(this.db, f), q.sketches(this.db, f, 'price')]);
    const byBucket = new Map(counters.map((c) => [c.bucket.getTime(), c]));
    const sk = AnalyticsService.sketchByBucket(sketches);
    return {
      interval: f.granularity, from: f.from.toISOString(), to: f.to.toISOString(),
      data: this.buckets(f).map((b) => ({ bucket: b.toISOString(), ...AnalyticsService.tradeFigures(byBucket.get(b.getTime()), sk.get(b.getTime()) ?? []) })),
    };
  }

  /** Supply (listed units), demand (open requests), their ratio, new requests and matches per bucket. */
  async supplyDemand(query: RangeQuery) {
    const f = this.range(query);
    const [gauges, counters] = await Promise.all([q.gauges(this.db, f), q.counters(this.db, f)]);
    const g = new Map(gauges.map((x) => [x.bucket.getTime(), x]));
    const c = new Map(counters.map((x) => [x.bucket.getTime(), x]));
    return {
      interval: f.granularity, from: f.from.toISOString(), to: f.to.toISOString(),
      data: this.buckets(f).map((b) => {
        const x = g.get(b.getTime());
        const y = c.get(b.getTime());
        return {
          bucket: b.toISOString(), supplyUnits: Number(x?.supply_units ?? 0n), supplyListings: Number(x?.supply_listings ?? 0n),
          demandRequests: Number(x?.demand_requests ?? 0n), demandUnits: Number(x?.demand_units ?? 0n),
          supplyDemandRatio: x ? ratio(x.supply_units, x.demand_units) : null,
          newRequests: Number(y?.requests ?? 0n), matched: Number(y?.matched ?? 0n), matchRate: y ? ratio(y.matched, y.requests) : null,
        };
      }),
    };
  }

  /** Totals over the range: trade figures, agents, rates, times, and the latest supply and demand. */
  async overview(query: RangeQuery) {
    const f = this.range(query);
    const [counters, prices, tta, tts, actives, agents, gauges] = await Promise.all([
      q.counters(this.db, f), q.sketches(this.db, f, 'price'), q.sketches(this.db, f, 'time_to_agreement'), q.sketches(this.db, f, 'time_to_settlement'),
      q.actives(this.db, f, true), q.newAgents(this.db, f), q.gauges(this.db, f),
    ]);
    const sum = (k: keyof CounterRow) => counters.reduce((s, c) => s + BigInt(c[k] as bigint | string), 0n);
    const total = {
      bucket: f.from, requests: sum('requests'), request_units: sum('request_units'), agreements: sum('agreements'), matched: sum('matched'), trades: sum('trades'),
      units: sum('units'), notional: sum('notional').toString(), volume: sum('volume').toString(), disputes: sum('disputes'), failures: sum('failures'),
      ended: sum('ended'), cross_border: sum('cross_border'),
    } satisfies CounterRow;
    const bins = (rows: { bin: number; n: bigint }[]) => rows.map((r) => [r.bin, Number(r.n)] as [number, number]);
    const latest = gauges.at(-1);
    return {
      interval: f.granularity, from: f.from.toISOString(), to: f.to.toISOString(),
      ...AnalyticsService.tradeFigures(total, bins(prices)),
      activeBuyers: actives[0] ? Number(actives[0].buyers) : null, activeSellers: actives[0] ? Number(actives[0].sellers) : null,
      newAgents: agents.reduce((s, a) => s + Number(a.agents), 0),
      agreements: Number(total.agreements), newRequests: Number(total.requests), matchRate: ratio(total.matched, total.requests),
      disputeRate: ratio(total.disputes, total.ended), failureRate: ratio(total.failures, total.ended), crossBorderShare: ratio(total.cross_border, total.trades),
      timeToAgreementSeconds: { p50: seconds(sketchQuantile(bins(tta), 0.5)), p99: seconds(sketchQuantile(bins(tta), 0.99)) },
      timeToSettlementSeconds: { p50: seconds(sketchQuantile(bins(tts), 0.5)), p99: seconds(sketchQuantile(bins(tts), 0.99)) },
      supply: latest ? { at: latest.bucket.toISOString(), units: Number(latest.supply_units), listings: Number(latest.supply_listings), demandRequests: Number(latest.demand_requests), demandUnits: Number(latest.demand_units), ratio: ratio(latest.supply_units, latest.demand_units) } : null,
    };
  }

  /** Agents, volume and flows by country and region (hour or day buckets). */
  async geo(query: RangeQuery) {
    const f = this.range({ ...query, interval: query.interval === 'minute' ? 'hour' : query.interval }, 'day');
    const [flows, agents] = await Promise.all([q.geoFlows(this.db, f), q.agentsByCountry(this.db, f)]);
    const countries = new Map<string, { country: string; newAgents: number; bought: bigint; sold: bigint; tradesBought: number; tradesSold: number }>();
    const row = (c: string) => {
      if (!countries.has(c)) countries.set(c, { country: c, newAgents: 0, bought: 0n, sold: 0n, tradesBought: 0, tradesSold: 0 });
      return countries.get(c)!;
    };
    for (const a of agents) row(a.country).newAgents += Number(a.agents);
    for (const x of flows) {
      const b = row(x.buyer_country); b.bought += BigInt(x.volume); b.tradesBought += Number(x.trades);
      const s = row(x.seller_country); s.sold += BigInt(x.volume); s.tradesSold += Number(x.trades);
    }
    return {
      interval: f.granularity, from: f.from.toISOString(), to: f.to.toISOString(),
      countries: [...countries.values()].sort((a, b) => (a.country < b.country ? -1 : 1)).map((c) => ({ ...c, bought: formatAmount(c.bought), sold: formatAmount(c.sold) })),
      data: flows.map((x) => ({
        buyerCountry: x.buyer_country, buyerRegion: x.buyer_region, sellerCountry: x.seller_country, sellerRegion: x.seller_region,
        trades: Number(x.trades), volume: formatAmount(BigInt(x.volume)), crossBorder: x.buyer_country !== x.seller_country,
      })),
    };
  }

  /** The price index of one cell at `to`: its recent trades' volume-weighted median. */
  async index(cell: { category: string; specClass: string; region: string }, to: Date) {
    const trades = await q.recentTrades(this.db, cell, new Date(to.getTime() - INDEX_WINDOW_MS), to, INDEX_TRADES);
    return { trades, index: priceIndex(trades.map((t) => ({ price: t.price, quantity: t.quantity }))) };
  }

  /** Daily VWAPs of a cell over the last VOLATILITY_DAYS days, oldest first (days without trades left out). */
  private async dailyVwaps(cell: { category: string; specClass: string; region: string }, to: Date): Promise<number[]> {
    const f: RangeFilter = { ...cell, granularity: 'day', from: new Date(truncate(to, 'day').getTime() - (VOLATILITY_DAYS - 1) * 86_400_000), to: new Date(truncate(to, 'day').getTime() + 86_400_000) };
    const rows = await q.counters(this.db, f);
    return rows.filter((r) => r.units > 0n).map((r) => Number(BigInt(r.notional) / r.units));
  }

  /**
   * Indicators per traded cell (category x spec class x region, keyset pages): price index with sample
   * size and interval, EWMA volatility of daily VWAPs, the cell's seller concentration (HHI of volume),
   * and the cross-region spread of its category x spec class.
   */
  async indicators(query: RangeQuery & { limit: number; after?: [string, string, string] | undefined }) {
    const f = this.range(query, 'day');
    const cells = await q.tradedCells(this.db, f, query.after, query.limit + 1);
    const page = cells.slice(0, query.limit);
    const spreads = new Map<string, ReturnType<typeof crossRegionSpread>>();
    const data = [];
    for (const c of page) {
      const cell = { category: c.category, specClass: c.spec_class, region: c.region };
      const { trades, index } = await this.index(cell, f.to);
      const vol = ewmaVolatility(await this.dailyVwaps(cell, f.to));
      const key = `${c.category}\u0000${c.spec_class}`;
      if (!spreads.has(key)) {
        const regions = await q.tradedCells(this.db, { ...f, category: c.category, specClass: c.spec_class, region: undefined }, undefined, 200);
        const indices = [];
        for (const r of regions) {
          const i = (await this.index({ category: c.category, specClass: c.spec_class, region: r.region }, f.to)).index;
          if (i.status === 'ok') indices.push({ region: r.region, index: i.index });
        }
        spreads.set(key, crossRegionSpread(indices));
      }
      const spread = spreads.get(key)!;
      const bySeller = new Map<string, bigint>();
      let total = 0n;
      for (const t of trades) { bySeller.set(t.seller, (bySeller.get(t.seller) ?? 0n) + t.volume); total += t.volume; }
      const hhi = total > 0n ? [...bySeller.values()].reduce((s, v) => s + (Number(v) / Number(total)) ** 2, 0) : null;
      data.push({
        category: c.category, specClass: c.spec_class, region: c.region, priceIndex: indexJson(index),
        volatility: vol ? { ewma: vol.volatility, returns: vol.returns, interval: 'day' as const } : null,
        sellerConcentrationHhi: hhi,
        crossRegionSpread: spread ? { spread: spread.spread, low: { region: spread.low.region, index: formatAmount(spread.low.index) }, high: { region: spread.high.region, index: formatAmount(spread.high.index) } } : null,
      });
    }
    const last = page.at(-1);
    return { from: f.from.toISOString(), to: f.to.toISOString(), minimumSample: MIN_TRADES, data, next: cells.length > query.limit && last ? [last.category, last.spec_class, last.region] as [string, string, string] : null };
  }

  /** A recommended price for a listing, with the reason: its cell's price index and the cell's supply/demand (surge or discount). */
  async priceAdvice(listingId: string) {
    const l = await this.deps.market.listing(listingId);
    if (!l) throw notFound('listing', listingId);
    const now = this.deps.clock.now();
    const cell = { category: l.category, specClass: l.specClass, region: l.region };
    const { index } = await this.index(cell, new Date(now.getTime() + 1)); // trades up to now included
    const f: RangeFilter = { ...cell, granularity: 'hour', from: new Date(truncate(now, 'hour').getTime() - 23 * 3_600_000), to: new Date(truncate(now, 'hour').getTime() + 3_600_000) };
    const gauges = (await q.gauges(this.db, f)).at(-1);
    const sdRatio = gauges ? ratio(gauges.supply_units, gauges.demand_units) : null;
    const listed = formatAmount(l.pricePerUnit);
    if (index.status !== 'ok') {
      return {
        listingId, currentPrice: listed, recommendedPrice: null, priceIndex: indexJson(index), supplyDemandRatio: sdRatio, signal: 'none' as const,
        reason: `too few recent trades in ${l.category}/${l.specClass}/${l.region} (${index.sampleSize} in 7 days, ${index.minimum} needed) to recommend a price; keep ${listed}`,
      };
    }
    // surge when demand outruns supply (ratio < 1), discount when supply is more than twice demand: +/- 5 %
    const signal: 'surge' | 'discount' | 'none' = sdRatio === null ? 'none' : sdRatio < 1 ? 'surge' : sdRatio > 2 ? 'discount' : 'none';
    const factor = signal === 'surge' ? 105n : signal === 'discount' ? 95n : 100n;
    const recommended = (index.index * factor) / 100n;
    const diff = Number(l.pricePerUnit - index.index) / Number(index.index);
    const position = Math.abs(diff) < 0.005 ? 'at the index' : `${(Math.abs(diff) * 100).toFixed(1)}% ${diff > 0 ? 'above' : 'below'} the index`;
    const sd = signal === 'surge' ? `demand outruns supply (supply/demand ${sdRatio!.toFixed(2)}): +5%` : signal === 'discount' ? `supply is more than twice demand (${sdRatio!.toFixed(2)}): -5%` : 'supply and demand are balanced';
    return {
      listingId, currentPrice: listed, recommendedPrice: formatAmount(recommended), priceIndex: indexJson(index), supplyDemandRatio: sdRatio, signal,
      reason: `index ${formatAmount(index.index)} from ${index.sampleSize} trades in 7 days (95% interval ${formatAmount(index.low)}-${formatAmount(index.high)}); your price is ${position}; ${sd}`,
    };
  }
}
