/**
 * Facts and what they add to the rollups, pure. A fact is one thing that happened in the market, keyed by
 * what it is (a second sighting of it, from a retried or duplicated event or a second projector, has the
 * same key and is stored once): a trade request (`request:<id>`), an agreement (`agreement:<id>`), a trade
 * (`trade:<agreement>`: settled, or a dispute resolved with release or split), a dispute, a failure
 * (cancelled unfunded, refunded, or a dispute resolved with refund), a new agent, a supply/demand
 * snapshot. Contributions are sums, bin counts and set members: the fold is commutative, so the rollups
 * do not depend on the order facts arrive in (incremental = rebuilt). Snapshots are the exception: each
 * replaces its buckets' gauges, applied in time order (see analytics.projection.ts).
 */
import type { AgreementAttributes, RequestAttributes, SupplyDemandCell } from '../trading/trading.market-data.port.js';
import { parseAmount } from '../../platform/money.js';
import type { Granularity } from './analytics.tables.js';

export const GRANULARITIES: readonly Granularity[] = ['minute', 'hour', 'day'];
/** Distinct agents and geography are kept per hour and day only (per minute they cost more than they tell). */
export const COARSE: readonly Granularity[] = ['hour', 'day'];

export interface CellKey {
  category: string;
  region: string;
  specClass: string;
}

export type FactKind = 'request' | 'agreement' | 'trade' | 'dispute' | 'failure' | 'agent' | 'snapshot';

export interface Fact {
  key: string;
  kind: FactKind;
  at: Date;
  cell: CellKey | null;
  data: Record<string, unknown>;
}

export interface TradeData {
  agreementId: string;
  buyerId: string;
  sellerId: string;
  /** base units, decimal integer strings */
  pricePerUnit: string;
  quantity: number;
  volume: string;
  settlementMs: number;
  buyerCountry: string;
  buyerRegion: string;
  sellerCountry: string;
  sellerRegion: string;
  outcome: 'settled' | 'release' | 'split';
}

/** An outbox event, as the projection reads it. */
export interface SourceEvent {
  seq: number;
  type: string;
  data: Record<string, unknown>;
  at: Date;
}

export interface AgentGeo {
  country: string;
  region: string;
}

export interface FactContext {
  agreements: Map<string, AgreementAttributes>;
  requests: Map<string, RequestAttributes>;
  agents: Map<string, AgentGeo>;
}

export const EVENT_TYPES = [
  'trade_request.created', 'agreement.created', 'agreement.settled', 'agreement.resolved', 'agreement.disputed', 'agreement.refunded', 'agreement.cancelled',
] as const;

/** The ids an event needs looked up before it becomes a fact. */
export function idsOf(e: SourceEvent): { agreement?: string; request?: string } {
  const d = e.data;
  if (e.type === 'trade_request.created') return 'notifiedSellers' in d ? { request: String(d.requestId) } : {};
  if (e.type.startsWith('agreement.')) {
    const out: { agreement?: string; request?: string } = { agreement: String(d.agreementId) };
    if (e.type === 'agreement.created' && typeof d.requestId === 'string') out.request = d.requestId;
    return out;
  }
  return {};
}

const cellOf = (x: { category: string; region: string; specClass: string }): CellKey => ({ category: x.category, region: x.region, specClass: x.specClass });
const UNKNOWN_GEO: AgentGeo = { country: 'ZZ', region: 'unknown' };

/** The fact an event records, or null (not a market fact, or its subject no longer exists). */
export function factOf(e: SourceEvent, ctx: FactContext): Fact | null {
  const d = e.data;
  if (e.type === 'trade_request.created') {
    // one event per notified seller and one to the buyer: the buyer's (with notifiedSellers) is the request
    if (!('notifiedSellers' in d)) return null;
    const r = ctx.requests.get(String(d.requestId));
    if (!r) return null;
    return { key: `request:${r.id}`, kind: 'request', at: e.at, cell: cellOf(r), data: { requestId: r.id, buyerId: r.buyerId, quantity: r.quantity } };
  }
  if (!e.type.startsWith('agreement.')) return null;
  const a = ctx.agreements.get(String(d.agreementId));
  if (!a) return null;
  const cell = cellOf(a);
  switch (e.type) {
    case 'agreement.created': {
      const r = a.requestId ? ctx.requests.get(a.requestId) : undefined;
      return {
        key: `agreement:${a.id}`, kind: 'agreement', at: e.at, cell,
        data: {
          agreementId: a.id, requestId: a.requestId, requestCell: r ? cellOf(r) : null,
          timeToAgreementMs: a.requestCreatedAt ? Math.max(0, e.at.getTime() - a.requestCreatedAt.getTime()) : null,
        },
      };
    }
    case 'agreement.settled':
    case 'agreement.resolved': {
      const outcome = e.type === 'agreement.settled' ? 'settled' : String(d.outcome);
      const released = typeof d.released === 'string' ? parseAmount(d.released) : 0n;
      if (outcome === 'refund' || released === 0n) {
        return { key: `failure:${a.id}`, kind: 'failure', at: e.at, cell, data: { agreementId: a.id, reason: e.type === 'agreement.settled' ? 'nothing released' : 'dispute refunded' } };
      }
      const b = ctx.agents.get(a.buyerId) ?? UNKNOWN_GEO;
      const s = ctx.agents.get(a.sellerId) ?? UNKNOWN_GEO;
      const t: TradeData = {
        agreementId: a.id, buyerId: a.buyerId, sellerId: a.sellerId, pricePerUnit: a.pricePerUnit.toString(), quantity: a.quantity,
        volume: released.toString(), settlementMs: Math.max(0, e.at.getTime() - a.createdAt.getTime()),
        buyerCountry: b.country, buyerRegion: b.region, sellerCountry: s.country, sellerRegion: s.region, outcome: outcome as TradeData['outcome'],
      };
      return { key: `trade:${a.id}`, kind: 'trade', at: e.at, cell, data: t as unknown as Record<string, unknown> };
    }
    case 'agreement.disputed':
      return { key: `dispute:${a.id}`, kind: 'dispute', at: e.at, cell, data: { agreementId: a.id } };
    case 'agreement.refunded':
    case 'agreement.cancelled':
      return { key: `failure:${a.id}`, kind: 'failure', at: e.at, cell, data: { agreementId: a.id, reason: e.type === 'agreement.cancelled' ? 'not funded' : 'refunded' } };
    default:
      return null;
  }
}

export function agentFact(a: { id: string; country: string; region: string; created_at: Date }): Fact {
  return { key: `agent:${a.id}`, kind: 'agent', at: a.created_at, cell: null, data: { agentId: a.id, country: a.country, region: a.region } };
}

export function snapshotFact(minute: Date, cells: readonly SupplyDemandCell[]): Fact {
  return { key: `snapshot:${minute.toISOString()}`, kind: 'snapshot', at: minute, cell: null, data: { cells } };
}

// ------------------------------------------------------------------------------------------- the fold

export function truncate(at: Date, g: Granularity): Date {
  const t = at.getTime();
  const unit = g === 'minute' ? 60_000 : g === 'hour' ? 3_600_000 : 86_400_000;
  return new Date(t - (((t % unit) + unit) % unit));
}

export const COUNTERS = ['requests', 'request_units', 'agreements', 'matched', 'trades', 'units', 'notional', 'volume', 'disputes', 'failures', 'ended', 'cross_border'] as const;
export type Counter = (typeof COUNTERS)[number];
export type Metric = 'price' | 'time_to_agreement' | 'time_to_settlement';

/** Separates the parts of an accumulator key (control characters never reach the API's text fields). */
export const S = '\x1f';

/**
 * Marginal cells: pre-aggregated totals over dimensions, so a query filtered on at most one dimension
 * reads one row per bucket (and bin) instead of every cell under it. A marginal cell has ALL (the empty
 * string, which no filter or listing can name) for each dimension it totals over. Stored: for hour and day
 * rollups and sketches, the total over everything and the totals per category, per region and per spec
 * class (4 marginals; a query on two or three dimensions sums the at most 8 base cells under it); distinct
 * agents per day the same, per hour only the total (the per-hour marginals would cost more rows than they
 * save reads). Minute rows have none (a minute range is at most 25 hours).
 */
export const ALL = '';
export type Table = 'rollups' | 'actives';

export function marginalsOf(c: CellKey): CellKey[] {
  return [
    { category: ALL, region: ALL, specClass: ALL }, { category: c.category, region: ALL, specClass: ALL },
    { category: ALL, region: c.region, specClass: ALL }, { category: ALL, region: ALL, specClass: c.specClass },
  ];
}

/** Whether rows of (granularity, table) hold the marginal for a filter on these dimensions. */
export function hasMarginal(g: Granularity, table: Table, filtered: number): boolean {
  if (g === 'minute' || filtered > 1) return false;
  return table === 'rollups' || g === 'day' || filtered === 0;
}

/** The rows one contribution to `c` goes to: the cell and its stored marginals. */
export function cellsAt(g: Granularity, c: CellKey, table: Table = 'rollups'): CellKey[] {
  if (g === 'minute') return [c];
  const m = marginalsOf(c);
  return table === 'rollups' || g === 'day' ? [c, ...m] : [c, m[0]!];
}

/** What a batch of facts adds to the rollups, aggregated by row key. */
export class Accumulator {
  /** key: g|bucketMs|category|region|spec -> counters */
  readonly rollups = new Map<string, Record<Counter, bigint>>();
  /** key: g|bucketMs|metric|category|region|spec|bin -> n */
  readonly sketches = new Map<string, number>();
  /** key: g|bucketMs|category|region|spec|role|agent */
  readonly actives = new Set<string>();
  /** key: g|bucketMs|bc|br|sc|sr -> trades, volume */
  readonly geo = new Map<string, { trades: bigint; volume: bigint }>();
  /** key: g|bucketMs|country|region -> agents */
  readonly agents = new Map<string, bigint>();

  get size(): number {
    return this.rollups.size + this.sketches.size + this.actives.size + this.geo.size + this.agents.size;
  }

  private add(g: Granularity, at: Date, cell0: CellKey, values: Partial<Record<Counter, bigint>>): void {
    const b = truncate(at, g).getTime();
    for (const cell of cellsAt(g, cell0)) {
      const k = `${g}${S}${b}${S}${cell.category}${S}${cell.region}${S}${cell.specClass}`;
      let r = this.rollups.get(k);
      if (!r) {
        r = Object.fromEntries(COUNTERS.map((c) => [c, 0n])) as Record<Counter, bigint>;
        this.rollups.set(k, r);
      }
      for (const [c, v] of Object.entries(values) as [Counter, bigint][]) r[c] += v;
    }
  }

  /** Minute sketches only for the unit price (the minute price series); times are sketched per hour and day. */
  private sketch(g: Granularity, at: Date, cell0: CellKey, metric: Metric, bin: number): void {
    if (g === 'minute' && metric !== 'price') return;
    const b = truncate(at, g).getTime();
    for (const cell of cellsAt(g, cell0)) {
      const k = `${g}${S}${b}${S}${metric}${S}${cell.category}${S}${cell.region}${S}${cell.specClass}${S}${bin}`;
      this.sketches.set(k, (this.sketches.get(k) ?? 0) + 1);
    }
  }

  addFact(f: Fact, binOf: (v: number) => number): void {
    const cell = f.cell;
    const d = f.data;
    if (f.kind === 'agent') {
      for (const g of GRANULARITIES) {
        const k = `${g}${S}${truncate(f.at, g).getTime()}${S}${String(d.country)}${S}${String(d.region)}`;
        this.agents.set(k, (this.agents.get(k) ?? 0n) + 1n);
      }
      return;
    }
    if (f.kind === 'snapshot' || !cell) return;
    for (const g of GRANULARITIES) {
      switch (f.kind) {
        case 'request':
          this.add(g, f.at, cell, { requests: 1n, request_units: BigInt(Number(d.quantity)) });
          break;
        case 'agreement': {
          this.add(g, f.at, cell, { agreements: 1n });
          const rc = d.requestCell as CellKey | null;
          if (rc) this.add(g, f.at, rc, { matched: 1n });
          if (typeof d.timeToAgreementMs === 'number') this.sketch(g, f.at, cell, 'time_to_agreement', binOf(d.timeToAgreementMs));
          break;
        }
        case 'trade': {
          const t = d as unknown as TradeData;
          const price = BigInt(t.pricePerUnit);
          this.add(g, f.at, cell, {
            trades: 1n, units: BigInt(t.quantity), notional: price * BigInt(t.quantity), volume: BigInt(t.volume), ended: 1n,
            cross_border: t.buyerCountry !== t.sellerCountry ? 1n : 0n,
          });
          this.sketch(g, f.at, cell, 'price', binOf(Number(price)));
          this.sketch(g, f.at, cell, 'time_to_settlement', binOf(t.settlementMs));
          break;
        }
        case 'dispute':
          this.add(g, f.at, cell, { disputes: 1n });
          break;
        case 'failure':
          this.add(g, f.at, cell, { failures: 1n, ended: 1n });
          break;
      }
    }
    if (f.kind === 'trade') {
      const t = d as unknown as TradeData;
      for (const g of COARSE) {
        const b = truncate(f.at, g).getTime();
        for (const m of cellsAt(g, cell, 'actives')) {
          const c = `${g}${S}${b}${S}${m.category}${S}${m.region}${S}${m.specClass}`;
          this.actives.add(`${c}${S}buyer${S}${t.buyerId}`);
          this.actives.add(`${c}${S}seller${S}${t.sellerId}`);
        }
        const gk = `${g}${S}${b}${S}${t.buyerCountry}${S}${t.buyerRegion}${S}${t.sellerCountry}${S}${t.sellerRegion}`;
        const cur = this.geo.get(gk) ?? { trades: 0n, volume: 0n };
        cur.trades += 1n;
        cur.volume += BigInt(t.volume);
        this.geo.set(gk, cur);
      }
    }
  }
}
