/**
 * The analytics service: owns the projection (sync, rebuild, its job) and answers the market reads.
 *
 * Length: each market read (overview, prices, supply/demand, geo, indicators, insights, tier, KPIs, band) is a
 * short method over the same filters and queries; the SQL is in analytics.queries.ts, the statistics in
 * price-index.ts, signals.ts and analytics.insights.ts, so what remains is the reads' assembly in one place.
 */
import type { BackgroundJob } from '../module.js';
import { AppError, notFound } from '../../platform/http/errors.js';
import { formatAmount } from '../../platform/money.js';
import { MarketProjection, type AnalyticsDeps } from './analytics.projection.js';
import { analyticsQueries as q, type CellFilter, type CounterRow, type RangeFilter } from './analytics.queries.js';
import { truncate } from './analytics.facts.js';
import type { Granularity } from './analytics.tables.js';
import { sketchQuantile } from './sketch.js';
import { marketSignal, priceTierOf, stabilisationBand, SIGNAL_STEP_PERCENT } from './signals.js';
import { computeInsights, resolvePeriod, type Period } from './analytics.insights.js';
import { MarketTape } from './analytics.tape.js';
import type { PriceBandCheck } from '../trading/trading.price-band.port.js';
import type { Executor } from './analytics.repository.js';
import { bestLevel, fillLevels, LEVEL_BAND, MIN_LISTINGS } from './fill-rate.js';
import { crossRegionSpread, ewmaVolatility, priceIndex, MIN_TRADES, type PriceIndex } from './price-index.js';

const UNIT_MS: Record<Granularity, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };
export const MAX_BUCKETS = 1500;
const DEFAULT_SPAN: Record<Granularity, number> = { minute: 60, hour: 24, day: 30 };
/** The price index uses the cell's trades of this window before `to`, at most INDEX_TRADES of them. */
export const INDEX_WINDOW_MS = 7 * 86_400_000;
const INDEX_TRADES = 1000;
const VOLATILITY_DAYS = 30;
/** Price advice compares the listing with the other listings of its cell live in this window before now. */
export const ADVICE_WINDOW_MS = 30 * 86_400_000;

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

  /** The surge/discount signal of a bucket's (latest) snapshot. */
  private static signalOf(g: { supply_units: bigint; demand_units: bigint } | undefined) {
    return marketSignal(g ? { supplyUnits: Number(g.supply_units), demandUnits: Number(g.demand_units) } : null);
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
    const [counters, sketches, gauges] = await Promise.all([q.counters(this.db, f), q.sketches(this.db, f, 'price'), q.gauges(this.db, f)]);
    const byBucket = new Map(counters.map((c) => [c.bucket.getTime(), c]));
    const g = new Map(gauges.map((x) => [x.bucket.getTime(), x]));
    const sk = AnalyticsService.sketchByBucket(sketches);
    return {
      interval: f.granularity, from: f.from.toISOString(), to: f.to.toISOString(),
      data: this.buckets(f).map((b) => {
        const s = AnalyticsService.signalOf(g.get(b.getTime()));
        return { bucket: b.toISOString(), ...AnalyticsService.tradeFigures(byBucket.get(b.getTime()), sk.get(b.getTime()) ?? []), signal: s.signal, signalReason: s.reason };
      }),
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
          ...((s) => ({ signal: s.signal, signalReason: s.reason }))(AnalyticsService.signalOf(x)),
        };
      }),
    };
  }

  /** Totals over the range: trade figures, agents, rates, times, and the latest supply and demand. */
  async overview(query: RangeQuery) {
    const f = this.range(query);
    // times are sketched per hour and day: a minute range reads the hours that cover it
    const ft: RangeFilter = f.granularity === 'minute'
      ? { ...f, granularity: 'hour', from: truncate(f.from, 'hour'), to: new Date(Math.ceil(f.to.getTime() / 3_600_000) * 3_600_000) } : f;
    const [counters, prices, tta, tts, actives, agents, gauges] = await Promise.all([
      q.counters(this.db, f), q.sketchTotal(this.db, f, 'price'), q.sketchTotal(this.db, ft, 'time_to_agreement'), q.sketchTotal(this.db, ft, 'time_to_settlement'),
      q.activeTotals(this.db, f), q.newAgents(this.db, f), q.gauges(this.db, f),
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
      activeBuyers: actives?.buyers ?? null, activeSellers: actives?.sellers ?? null,
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
  async index(cell: { category: string; specClass: string; region: string }, to: Date, db: Executor = this.db) {
    const trades = await q.recentTrades(db, cell, new Date(to.getTime() - INDEX_WINDOW_MS), to, INDEX_TRADES);
    return { trades, index: priceIndex(trades.map((t) => ({ price: t.price, quantity: t.quantity }))) };
  }

  /** Daily VWAPs of a cell over the last VOLATILITY_DAYS days, oldest first (days without trades left out). */
  private async dailyVwaps(cell: { category: string; specClass: string; region: string }, to: Date, db: Executor = this.db): Promise<number[]> {
    const f: RangeFilter = { ...cell, granularity: 'day', from: new Date(truncate(to, 'day').getTime() - (VOLATILITY_DAYS - 1) * 86_400_000), to: new Date(truncate(to, 'day').getTime() + 86_400_000) };
    const rows = await q.counters(db, f);
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
    const page = cells.slice(0, query.limit).map((c) => ({ category: c.category, specClass: c.spec_class, region: c.region }));
    // set-based: the recent trades of every region of the page's category x spec class pairs in one scan,
    // the page's daily VWAPs in one read
    const key = (c: { category: string; specClass: string }) => `${c.category}\u0000${c.specClass}`;
    const pairs = [...new Map(page.map((c) => [key(c), [c.category, c.specClass] as const])).values()];
    const dayEnd = new Date(truncate(f.to, 'day').getTime() + 86_400_000);
    const [recent, daily] = await Promise.all([
      q.recentTradesByCell(this.db, new Date(f.to.getTime() - INDEX_WINDOW_MS), f.to, INDEX_TRADES, pairs),
      q.dailyByCell(this.db, page, new Date(dayEnd.getTime() - VOLATILITY_DAYS * 86_400_000), dayEnd),
    ]);
    const cellKey = (c: { category: string; specClass: string; region: string }) => `${key(c)}\u0000${c.region}`;
    const tradesOf = new Map<string, typeof recent>();
    for (const t of recent) {
      const k = cellKey(t);
      if (!tradesOf.has(k)) tradesOf.set(k, []);
      tradesOf.get(k)!.push(t);
    }
    const indexOf = new Map([...tradesOf].map(([k, ts]) => [k, priceIndex(ts)]));
    // the regional indices of each category x spec class, for its cross-region spread
    const regional = new Map<string, { region: string; index: bigint }[]>();
    for (const [k, ts] of tradesOf) {
      const i = indexOf.get(k)!;
      if (i.status !== 'ok') continue;
      const pk = key(ts[0]!);
      if (!regional.has(pk)) regional.set(pk, []);
      regional.get(pk)!.push({ region: ts[0]!.region, index: i.index });
    }
    const vwaps = new Map<string, number[]>();
    for (const d of daily) {
      if (d.units <= 0n) continue;
      const k = cellKey(d);
      if (!vwaps.has(k)) vwaps.set(k, []);
      vwaps.get(k)!.push(Number(d.notional / d.units));
    }
    const data = page.map((c) => {
      const trades = tradesOf.get(cellKey(c)) ?? [];
      const index = indexOf.get(cellKey(c)) ?? priceIndex([]);
      const vol = ewmaVolatility(vwaps.get(cellKey(c)) ?? []);
      const spread = crossRegionSpread(regional.get(key(c)) ?? []);
      const bySeller = new Map<string, bigint>();
      let total = 0n;
      for (const t of trades) { bySeller.set(t.seller, (bySeller.get(t.seller) ?? 0n) + t.volume); total += t.volume; }
      const hhi = total > 0n ? [...bySeller.values()].reduce((s, v) => s + (Number(v) / Number(total)) ** 2, 0) : null;
      return {
        category: c.category, specClass: c.specClass, region: c.region, priceIndex: indexJson(index),
        volatility: vol ? { ewma: vol.volatility, returns: vol.returns, interval: 'day' as const } : null,
        sellerConcentrationHhi: hhi,
        crossRegionSpread: spread ? { spread: spread.spread, low: { region: spread.low.region, index: formatAmount(spread.low.index) }, high: { region: spread.high.region, index: formatAmount(spread.high.index) } } : null,
      };
    });
    const last = page.at(-1);
    return { from: f.from.toISOString(), to: f.to.toISOString(), minimumSample: MIN_TRADES, data, next: cells.length > query.limit && last ? [last.category, last.specClass, last.region] as [string, string, string] : null };
  }

  /**
   * The seller's current price tier, from the price index: its active listings' prices against the index
   * of their cells (budget / standard / premium, thresholds in signals.ts), with the reason. Null tier when
   * no listing's cell has enough recent trades.
   */
  async priceTier(agentId: string) {
    const listings = await this.deps.market.listingsOf(agentId);
    const now = this.deps.clock.now();
    const until = new Date(now.getTime() + 1);
    const pairs = [...new Map(listings.map((l) => [`${l.category}\u0000${l.specClass}`, [l.category, l.specClass] as const])).values()];
    const recent = await q.recentTradesByCell(this.db, new Date(until.getTime() - INDEX_WINDOW_MS), until, INDEX_TRADES, pairs);
    const byCell = new Map<string, { price: bigint; quantity: number }[]>();
    for (const t of recent) {
      const k = `${t.category}\u0000${t.specClass}\u0000${t.region}`;
      if (!byCell.has(k)) byCell.set(k, []);
      byCell.get(k)!.push(t);
    }
    const ratios: number[] = [];
    for (const l of listings) {
      const i = priceIndex(byCell.get(`${l.category}\u0000${l.specClass}\u0000${l.region}`) ?? []);
      if (i.status === 'ok') ratios.push(Number(l.pricePerUnit) / Number(i.index));
    }
    const t = priceTierOf(ratios, listings.length - ratios.length);
    return { priceTier: t.tier, priceTierReason: t.reason };
  }

  /** The stabilisation band of a cell now (null: calm, or no index). */
  async band(cell: { category: string; specClass: string; region: string }, db: Executor = this.db) {
    const now = this.deps.clock.now();
    // one after the other: `db` may be a transaction (one connection)
    const { index } = await this.index(cell, new Date(now.getTime() + 1), db);
    const vwaps = await this.dailyVwaps(cell, now, db);
    return stabilisationBand(index.status === 'ok' ? index.index : null, ewmaVolatility(vwaps)?.volatility ?? null);
  }

  /** The trading hook: a manual offer or accept priced outside a volatile cell's band needs confirmOutsideBand. */
  async checkBand(c: PriceBandCheck, db: Executor = this.db): Promise<void> {
    if (c.confirmed) return;
    const b = await this.band(c, db);
    if (!b || (c.pricePerUnit >= b.low && c.pricePerUnit <= b.high)) return;
    const price = formatAmount(c.pricePerUnit);
    throw new AppError('outside_price_band',
      `${price} is outside the stabilisation band ${formatAmount(b.low)}-${formatAmount(b.high)} around the price index ${formatAmount(b.index)} of ${c.category}/${c.specClass}/${c.region} ` +
      `(volatile: daily volatility ${(b.volatility * 100).toFixed(1)}%); repeat the ${c.action} with confirmOutsideBand: true to proceed`,
      { band: { low: formatAmount(b.low), high: formatAmount(b.high), index: formatAmount(b.index), volatility: b.volatility, halfWidth: b.halfWidth }, price });
  }

  /**
   * The business KPIs, from the rollups (so every process reports the same figures): all-time trades and
   * volume per category x region, match rate and active agents over the current hour and the 23 before it,
   * open requests in the newest snapshot, the all-time time-to-settlement sketch, and the price index of
   * every cell traded in the last 7 days (cells with fewer than MIN_TRADES trades left out).
   */
  async kpis() {
    const now = this.deps.clock.now();
    const since = new Date(truncate(now, 'hour').getTime() - 23 * 3_600_000);
    const until = new Date(now.getTime() + 1);
    const [totals, matches, activeAgents, openRequests, settlement, recent] = await Promise.all([
      q.kpiTotals(this.db), q.kpiMatches(this.db, since), q.kpiActiveAgents(this.db, since), q.kpiOpenRequests(this.db),
      q.kpiSketch(this.db, 'time_to_settlement'), q.recentTradesByCell(this.db, new Date(until.getTime() - INDEX_WINDOW_MS), until, INDEX_TRADES),
    ]);
    const cells = new Map<string, { category: string; specClass: string; region: string; trades: { price: bigint; quantity: number }[] }>();
    for (const t of recent) {
      const k = `${t.category}\u0000${t.specClass}\u0000${t.region}`;
      if (!cells.has(k)) cells.set(k, { category: t.category, specClass: t.specClass, region: t.region, trades: [] });
      cells.get(k)!.trades.push(t);
    }
    const priceIndices = [];
    for (const c of cells.values()) {
      const i = priceIndex(c.trades);
      if (i.status === 'ok') priceIndices.push({ category: c.category, specClass: c.specClass, region: c.region, index: i.index });
    }
    return {
      totals: totals.map((x) => ({ category: x.category, region: x.region, trades: Number(x.trades), volume: BigInt(x.volume) })),
      matchRate: ratio(matches.matched, matches.requests), activeAgents, openRequests, settlementMs: settlement, priceIndices,
    };
  }

  /** Insights for a period (analytics.insights.ts): the one `at` falls in, by default the last closed one. */
  async insights(query: CellFilter & { period: Period; at?: string | undefined }) {
    const bounds = resolvePeriod(query.period, this.deps.clock.now(), query.at);
    return computeInsights({ db: this.db, market: this.deps.market, index: (c, to) => this.index(c, to), trustAt: this.deps.trustAt },
      query.period, bounds, { category: query.category, region: query.region, specClass: query.specClass });
  }

  /**
   * A recommended price for a listing, with the reason: its cell's price index, the fill rate of similar
   * sellers (the cell's other sellers' listings) at each price level (fill-rate.ts), and the cell's
   * supply/demand (surge or discount).
   */
  async priceAdvice(listingId: string) {
    const l = await this.deps.market.listing(listingId);
    if (!l) throw notFound('listing', listingId);
    const now = this.deps.clock.now();
    const cell = { category: l.category, specClass: l.specClass, region: l.region };
    const { index } = await this.index(cell, new Date(now.getTime() + 1)); // trades up to now included
    const f: RangeFilter = { ...cell, granularity: 'hour', from: new Date(truncate(now, 'hour').getTime() - 23 * 3_600_000), to: new Date(truncate(now, 'hour').getTime() + 3_600_000) };
    const gauges = (await q.gauges(this.db, f)).at(-1);
    const sig = AnalyticsService.signalOf(gauges);
    const sdRatio = gauges ? ratio(gauges.supply_units, gauges.demand_units) : null;
    const listed = formatAmount(l.pricePerUnit);
    if (index.status !== 'ok') {
      return {
        listingId, currentPrice: listed, recommendedPrice: null, priceIndex: indexJson(index), supplyDemandRatio: sdRatio, signal: sig.signal, signalReason: sig.reason,
        reason: `too few recent trades in ${l.category}/${l.specClass}/${l.region} (${index.sampleSize} in 7 days, ${index.minimum} needed) to recommend a price; keep ${listed}`,
      };
    }
    const signal = sig.signal;
    const factor = signal === 'surge' ? 100n + SIGNAL_STEP_PERCENT : signal === 'discount' ? 100n - SIGNAL_STEP_PERCENT : 100n;
    // the fill rate of similar sellers (the cell's other listings, real agreements of the last 30 days) at each price level
    const since = new Date(now.getTime() - ADVICE_WINDOW_MS);
    const sales = await this.deps.market.cellListingSales(cell, since, new Date(now.getTime() + 1), 5000);
    const own = sales.find((x) => x.id === l.id);
    const levels = fillLevels(sales.filter((x) => x.id !== l.id && x.sellerId !== l.sellerId), index.index);
    const best = bestLevel(levels);
    const base = best ? BigInt(Math.round(Number(index.index) * best.meanPriceRatio!)) : index.index;
    const recommended = (base * factor) / 100n;
    const diff = Number(l.pricePerUnit - index.index) / Number(index.index);
    const position = Math.abs(diff) < 0.005 ? 'at the index' : `${(Math.abs(diff) * 100).toFixed(1)}% ${diff > 0 ? 'above' : 'below'} the index`;
    const sd = signal === 'none' ? `no surge or discount (${sig.reason})` : `${signal} ${signal === 'surge' ? '+' : '-'}${SIGNAL_STEP_PERCENT}%: ${sig.reason}`;
    const pct = (x: number | null) => (x === null ? 'n/a' : `${Math.round(x * 100)}%`);
    const fr = levels.map((v) => `${v.level} ${pct(v.fillRate)} of ${v.listings}`).join(', ');
    const fill = best
      ? `similar sellers priced ${best.level} the index sold more per listing (fill rate ${fr}; expected revenue ${best.expectedRevenue} against ${levels.find((v) => v.level === 'at')?.expectedRevenue ?? 'n/a'} at the index), so the price follows their mean ${formatAmount(base)}`
      : `fill rate of similar sellers by level: ${fr} (no level with at least ${MIN_LISTINGS} listings earns more than pricing at the index)`;
    return {
      listingId, currentPrice: listed, recommendedPrice: formatAmount(recommended), priceIndex: indexJson(index), supplyDemandRatio: sdRatio, signal, signalReason: sig.reason,
      fillRates: {
        window: { from: since.toISOString(), to: now.toISOString() }, band: LEVEL_BAND, minimumListings: MIN_LISTINGS,
        levels, listingAgreements: own?.agreements ?? 0, recommendedLevel: best?.level ?? 'at',
      },
      reason: `index ${formatAmount(index.index)} from ${index.sampleSize} trades in 7 days (95% interval ${formatAmount(index.low)}-${formatAmount(index.high)}); your price is ${position}; ${fill}; ${sd}`,
    };
  }
}
