/** The reads behind the market API: range scans over the rollups, never over the raw trades. */
import { sql, type RawBuilder } from 'kysely';
import type { Executor } from './analytics.repository.js';
import type { Granularity } from './analytics.tables.js';
import { ALL, hasMarginal, type Metric, type Table } from './analytics.facts.js';

export interface CellFilter {
  category?: string | undefined;
  region?: string | undefined;
  specClass?: string | undefined;
}

export interface RangeFilter extends CellFilter {
  from: Date;
  to: Date;
  granularity: Granularity;
}

/**
 * The cells of a rollup, sketch or actives read: where the rows hold the marginal cell of the filter
 * (analytics.facts.ts), exactly that cell (ALL for each dimension not filtered); else the base cells under
 * the filter, summed.
 */
function cellWhere(f: RangeFilter, table: Table = 'rollups'): RawBuilder<unknown> {
  const filtered = [f.category, f.region, f.specClass].filter((x) => x !== undefined).length;
  if (hasMarginal(f.granularity, table, filtered)) {
    return sql`category = ${f.category ?? ALL} AND region = ${f.region ?? ALL} AND spec_class = ${f.specClass ?? ALL}`;
  }
  return sql`${notMarginal} AND ${dimWhere(f)}`;
}
const notMarginal = sql`category <> ${ALL} AND region <> ${ALL} AND spec_class <> ${ALL}`;

function dimWhere(f: CellFilter, opts: { anyRegion?: boolean } = {}): RawBuilder<unknown> {
  const parts = [sql`TRUE`];
  if (f.category) parts.push(sql`category = ${f.category}`);
  if (f.specClass) parts.push(sql`spec_class = ${f.specClass}`);
  // demand that accepts any region counts in every region
  if (f.region) parts.push(opts.anyRegion ? sql`region IN (${f.region}, '*')` : sql`region = ${f.region}`);
  return sql.join(parts, sql` AND `);
}
const range = (f: RangeFilter) => sql`granularity = ${f.granularity} AND bucket >= ${f.from} AND bucket < ${f.to}`;

/** a | b, as long as the longer of the two (`a` reused when it is long enough). */
function orInto(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = a.length >= b.length ? a : Uint8Array.from({ length: b.length }, (_, i) => a[i] ?? 0);
  for (let i = 0; i < b.length; i++) out[i]! |= b[i]!;
  return out;
}
const BITS = Uint8Array.from({ length: 256 }, (_, i) => { let n = 0; for (let x = i; x; x >>= 1) n += x & 1; return n; });
function popcount(a: Uint8Array): number {
  let n = 0;
  for (const x of a) n += BITS[x]!;
  return n;
}

export interface CounterRow {
  bucket: Date; requests: bigint; request_units: bigint; agreements: bigint; matched: bigint; trades: bigint; units: bigint;
  notional: string; volume: string; disputes: bigint; failures: bigint; ended: bigint; cross_border: bigint;
}

export const analyticsQueries = {
  async counters(db: Executor, f: RangeFilter): Promise<CounterRow[]> {
    const r = await sql<CounterRow>`
      SELECT bucket, sum(requests)::int8 AS requests, sum(request_units)::int8 AS request_units, sum(agreements)::int8 AS agreements,
             sum(matched)::int8 AS matched, sum(trades)::int8 AS trades, sum(units)::int8 AS units, sum(notional)::numeric AS notional,
             sum(volume)::numeric AS volume, sum(disputes)::int8 AS disputes, sum(failures)::int8 AS failures, sum(ended)::int8 AS ended,
             sum(cross_border)::int8 AS cross_border
      FROM analytics_rollups WHERE ${range(f)} AND ${cellWhere(f)} GROUP BY bucket ORDER BY bucket`.execute(db);
    return r.rows.map((x) => ({ ...x, notional: String(x.notional), volume: String(x.volume) }));
  },

  /** (bucket, bin, n) of one metric's sketches, merged over the filtered cells. */
  async sketches(db: Executor, f: RangeFilter, metric: Metric): Promise<{ bucket: Date; bin: number; n: bigint }[]> {
    const r = await sql<{ bucket: Date; bin: number; n: bigint }>`
      SELECT bucket, bin, sum(n)::int8 AS n FROM analytics_sketches
      WHERE ${range(f)} AND metric = ${metric} AND ${cellWhere(f)} GROUP BY bucket, bin`.execute(db);
    return r.rows;
  },

  /** One metric's sketch merged over the range and the filtered cells: (bin, n). */
  async sketchTotal(db: Executor, f: RangeFilter, metric: Metric): Promise<{ bin: number; n: bigint }[]> {
    const r = await sql<{ bin: number; n: bigint }>`
      SELECT bin, sum(n)::int8 AS n FROM analytics_sketches
      WHERE ${range(f)} AND metric = ${metric} AND ${cellWhere(f)} GROUP BY bin`.execute(db);
    return r.rows;
  },

  /** Distinct buyers and sellers per bucket (hour and day only), and over the whole range with `total`. */
  /**
   * Distinct buyers and sellers by count(DISTINCT) over analytics_actives, per bucket or (`total`) over the range:
   * the plain reference the bitmaps of `activeTotals` are tested against (test/analytics-api.test.ts).
   */
  async actives(db: Executor, f: RangeFilter, total = false): Promise<{ bucket: Date | null; buyers: bigint; sellers: bigint }[]> {
    if (f.granularity === 'minute') return [];
    const by = total ? sql`` : sql`GROUP BY bucket ORDER BY bucket`;
    const r = await sql<{ bucket: Date | null; buyers: bigint; sellers: bigint }>`
      SELECT ${total ? sql`NULL::timestamptz` : sql`bucket`} AS bucket,
             count(DISTINCT agent_id) FILTER (WHERE role = 'buyer')::int8 AS buyers, count(DISTINCT agent_id) FILTER (WHERE role = 'seller')::int8 AS sellers
      FROM analytics_actives WHERE ${range(f)} AND ${cellWhere(f, 'actives')} ${by}`.execute(db);
    return r.rows;
  },

  /**
   * Distinct buyers and sellers over the whole range (hour and day only; null for minutes): the OR of the
   * range's bitmaps (migration 0020), one row per bucket and role for a marginal cell, counted in memory.
   */
  async activeTotals(db: Executor, f: RangeFilter): Promise<{ buyers: number; sellers: number } | null> {
    if (f.granularity === 'minute') return null;
    const r = await sql<{ role: 'buyer' | 'seller'; bits: Uint8Array }>`
      SELECT role, bits FROM analytics_active_bits WHERE ${range(f)} AND ${cellWhere(f, 'actives')}`.execute(db);
    const union: Record<'buyer' | 'seller', Uint8Array> = { buyer: new Uint8Array(0), seller: new Uint8Array(0) };
    for (const row of r.rows) union[row.role] = orInto(union[row.role], row.bits);
    return { buyers: popcount(union.buyer), sellers: popcount(union.seller) };
  },

  async gauges(db: Executor, f: RangeFilter) {
    const r = await sql<{ bucket: Date; supply_units: bigint; supply_listings: bigint; demand_requests: bigint; demand_units: bigint }>`
      SELECT bucket,
             sum(supply_units) FILTER (WHERE region <> '*')::int8 AS supply_units, sum(supply_listings) FILTER (WHERE region <> '*')::int8 AS supply_listings,
             sum(demand_requests)::int8 AS demand_requests, sum(demand_units)::int8 AS demand_units
      FROM analytics_gauges WHERE ${range(f)} AND ${dimWhere(f, { anyRegion: true })} GROUP BY bucket ORDER BY bucket`.execute(db);
    return r.rows.map((x) => ({ ...x, supply_units: x.supply_units ?? 0n, supply_listings: x.supply_listings ?? 0n }));
  },

  async newAgents(db: Executor, f: RangeFilter): Promise<{ bucket: Date; agents: bigint }[]> {
    const r = await sql<{ bucket: Date; agents: bigint }>`
      SELECT bucket, sum(agents)::int8 AS agents FROM analytics_new_agents
      WHERE ${range(f)} ${f.region ? sql`AND region = ${f.region}` : sql``} GROUP BY bucket ORDER BY bucket`.execute(db);
    return r.rows;
  },

  async geoFlows(db: Executor, f: RangeFilter) {
    const r = await sql<{ buyer_country: string; buyer_region: string; seller_country: string; seller_region: string; trades: bigint; volume: string }>`
      SELECT buyer_country, buyer_region, seller_country, seller_region, sum(trades)::int8 AS trades, sum(volume)::numeric AS volume
      FROM analytics_geo_flows WHERE ${range(f)} GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4`.execute(db);
    return r.rows.map((x) => ({ ...x, volume: String(x.volume) }));
  },

  async agentsByCountry(db: Executor, f: RangeFilter) {
    const r = await sql<{ country: string; region: string; agents: bigint }>`
      SELECT country, region, sum(agents)::int8 AS agents FROM analytics_new_agents WHERE ${range(f)} GROUP BY 1, 2 ORDER BY 1, 2`.execute(db);
    return r.rows;
  },

  /** Cells with trades in the range, in key order after `after`, for the indicator pages. */
  async tradedCells(db: Executor, f: RangeFilter, after: [string, string, string] | undefined, limit: number) {
    const r = await sql<{ category: string; spec_class: string; region: string }>`
      SELECT DISTINCT category, spec_class, region FROM analytics_rollups
      WHERE ${range(f)} AND trades > 0 AND ${notMarginal} AND ${dimWhere(f)} ${after ? sql`AND (category, spec_class, region) > (${after[0]}, ${after[1]}, ${after[2]})` : sql``}
      ORDER BY 1, 2, 3 LIMIT ${limit}`.execute(db);
    return r.rows;
  },

  /** The most recent trades of one cell since `since` (unit price, quantity, seller). */
  async recentTrades(db: Executor, cell: { category: string; specClass: string; region: string }, since: Date, until: Date, limit: number) {
    const r = await sql<{ price: string; quantity: number; seller: string; volume: string }>`
      SELECT data->>'pricePerUnit' AS price, (data->>'quantity')::int AS quantity, data->>'sellerId' AS seller, data->>'volume' AS volume
      FROM analytics_facts
      WHERE kind = 'trade' AND category = ${cell.category} AND spec_class = ${cell.specClass} AND region = ${cell.region} AND at >= ${since} AND at < ${until}
      ORDER BY at DESC LIMIT ${limit}`.execute(db);
    return r.rows.map((x) => ({ price: BigInt(x.price), quantity: Number(x.quantity), seller: x.seller, volume: BigInt(x.volume) }));
  },

  // ------------------------------------------------------------------ business KPIs (read at each /metrics scrape)

  /** All-time trades and volume per category x region (day rollups: few rows). */
  async kpiTotals(db: Executor) {
    const r = await sql<{ category: string; region: string; trades: bigint; volume: string }>`
      SELECT category, region, sum(trades)::int8 AS trades, sum(volume)::numeric AS volume FROM analytics_rollups
      WHERE granularity = 'day' AND ${notMarginal} GROUP BY 1, 2 HAVING sum(trades) > 0 ORDER BY 1, 2`.execute(db);
    return r.rows.map((x) => ({ ...x, volume: String(x.volume) }));
  },

  /** New requests and those matched, in hour buckets from `since`. */
  async kpiMatches(db: Executor, since: Date) {
    const r = await sql<{ requests: bigint | null; matched: bigint | null }>`
      SELECT sum(requests)::int8 AS requests, sum(matched)::int8 AS matched FROM analytics_rollups
      WHERE granularity = 'hour' AND bucket >= ${since} AND category = ${ALL} AND region = ${ALL} AND spec_class = ${ALL}`.execute(db);
    return { requests: BigInt(r.rows[0]?.requests ?? 0n), matched: BigInt(r.rows[0]?.matched ?? 0n) };
  },

  /** Distinct agents (buyers or sellers of settled trades) in hour buckets from `since`. */
  async kpiActiveAgents(db: Executor, since: Date): Promise<number> {
    const r = await sql<{ n: bigint }>`
      SELECT count(DISTINCT agent_id)::int8 AS n FROM analytics_actives
      WHERE granularity = 'hour' AND bucket >= ${since} AND category = ${ALL} AND region = ${ALL} AND spec_class = ${ALL}`.execute(db);
    return Number(r.rows[0]?.n ?? 0n);
  },

  /** Open requests in the newest supply/demand snapshot (null before the first). */
  async kpiOpenRequests(db: Executor): Promise<number | null> {
    const r = await sql<{ at: Date | null; n: bigint | null }>`
      SELECT s.last_snapshot AS at, (SELECT sum(demand_requests)::int8 FROM analytics_gauges g WHERE g.granularity = 'minute' AND g.bucket = s.last_snapshot) AS n
      FROM analytics_state s WHERE s.id = 1`.execute(db);
    const row = r.rows[0];
    return row?.at ? Number(row.n ?? 0n) : null;
  },

  /** The all-time sketch of one metric, merged over every cell (day sketches). */
  async kpiSketch(db: Executor, metric: Metric): Promise<[number, number][]> {
    const r = await sql<{ bin: number; n: bigint }>`
      SELECT bin, sum(n)::int8 AS n FROM analytics_sketches
      WHERE granularity = 'day' AND metric = ${metric} AND category = ${ALL} AND region = ${ALL} AND spec_class = ${ALL} GROUP BY bin ORDER BY bin`.execute(db);
    return r.rows.map((x) => [Number(x.bin), Number(x.n)]);
  },

  /**
   * The most recent trades (at most `perCell` each, newest first) of every cell traded in [since, until), or
   * of the cells of these category x spec class pairs only: one scan. Ties in time are broken by the fact's seq.
   * (A per-cell LATERAL walk of the cell index was tried for indicators on 2026-12-03 and measured no faster at
   * 20,000 trades, so the single window query stays.)
   */
  async recentTradesByCell(db: Executor, since: Date, until: Date, perCell: number, pairs?: readonly (readonly [string, string])[]) {
    if (pairs && pairs.length === 0) return [];
    const only = pairs ? sql`AND (category, spec_class) IN (${sql.join(pairs.map(([c, s]) => sql`(${c}, ${s})`))})` : sql``;
    const r = await sql<{ category: string; spec_class: string; region: string; price: string; quantity: number; seller: string; volume: string }>`
      SELECT category, spec_class, region, price, quantity, seller, volume FROM (
        SELECT category, spec_class, region, data->>'pricePerUnit' AS price, (data->>'quantity')::int AS quantity, data->>'sellerId' AS seller, data->>'volume' AS volume,
               at, seq, row_number() OVER (PARTITION BY category, spec_class, region ORDER BY at DESC, seq DESC) AS rn
        FROM analytics_facts WHERE kind = 'trade' AND at >= ${since} AND at < ${until} ${only}) t
      WHERE rn <= ${perCell} ORDER BY 1, 2, 3, at DESC, seq DESC`.execute(db);
    return r.rows.map((x) => ({
      category: x.category, specClass: x.spec_class, region: x.region, price: BigInt(x.price), quantity: Number(x.quantity), seller: x.seller, volume: BigInt(x.volume),
    }));
  },

  /** Daily notional and units of these base cells in [from, to). */
  async dailyByCell(db: Executor, cells: readonly { category: string; specClass: string; region: string }[], from: Date, to: Date) {
    if (cells.length === 0) return [];
    const r = await sql<{ category: string; spec_class: string; region: string; bucket: Date; notional: string; units: bigint }>`
      SELECT category, spec_class, region, bucket, notional::text AS notional, units FROM analytics_rollups
      WHERE granularity = 'day' AND bucket >= ${from} AND bucket < ${to}
        AND (category, region, spec_class) IN (${sql.join(cells.map((c) => sql`(${c.category}, ${c.region}, ${c.specClass})`))})
      ORDER BY 1, 2, 3, 4`.execute(db);
    return r.rows.map((x) => ({ category: x.category, specClass: x.spec_class, region: x.region, bucket: x.bucket, notional: BigInt(x.notional), units: BigInt(x.units) }));
  },

  /**
   * The public tape: the newest trades (or those after fact `afterSeq`, oldest first), with the cell, unit
   * price, quantity and volume only: no agent, agreement or country (docs/privacy.md).
   */
  async tape(db: Executor, f: CellFilter & { afterSeq?: number | undefined; limit: number }) {
    const after = f.afterSeq !== undefined;
    const r = await sql<{ seq: string | number; at: Date; category: string; region: string; spec_class: string; price: string; quantity: number; volume: string }>`
      SELECT seq, at, category, region, spec_class, data->>'pricePerUnit' AS price, (data->>'quantity')::int AS quantity, data->>'volume' AS volume
      FROM analytics_facts
      WHERE kind = 'trade' AND ${dimWhere(f)}${after ? sql` AND seq > ${f.afterSeq}` : sql``}
      ORDER BY seq ${after ? sql`ASC` : sql`DESC`} LIMIT ${f.limit}`.execute(db);
    return r.rows.map((x) => ({ seq: Number(x.seq), at: x.at, category: x.category, region: x.region, specClass: x.spec_class, price: BigInt(x.price), quantity: Number(x.quantity), volume: BigInt(x.volume) }));
  },

  async lastFactSeq(db: Executor): Promise<number> {
    const r = await sql<{ m: string | number | null }>`SELECT max(seq) AS m FROM analytics_facts`.execute(db);
    return Number(r.rows[0]?.m ?? 0);
  },
};
