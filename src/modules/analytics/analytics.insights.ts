/**
 * Market insights for a period (day, week or month), every figure computed from the projection's stored
 * facts and rollups (and, for trust and listings, through the reputation and trading ports):
 *   trends              the period against the one before, each with a significance test and its p-value
 *   growth              new agents per week (8 weeks), retention period over period, weekly cohorts
 *   agent performance   top movers in volume, fill rate and trust
 *   price optimisation  listings priced far from their cell's index and what it costs them in fill rate
 *   risk                seller concentration (HHI) per category, EWMA volatility, dispute spikes, regional spread
 * A figure that cannot be computed (too little data) is `status: 'insufficient_data'` with the reason.
 */
import { AppError } from '../../platform/http/errors.js';
import { formatAmount } from '../../platform/money.js';
import type { TradingMarketData } from '../trading/trading.market-data.port.js';
import type { Executor } from './analytics.repository.js';
import { analyticsQueries as q, type CellFilter, type CounterRow, type RangeFilter } from './analytics.queries.js';
import { insightQueries as iq } from './analytics.insights.queries.js';
import { crossRegionSpread, ewmaVolatility, type PriceIndex } from './price-index.js';
import { binomialUpperTail, poissonRateTest, twoProportionTest, welchTest } from './stats.js';

export type Period = 'day' | 'week' | 'month';
export const PERIODS: readonly Period[] = ['day', 'week', 'month'];
const DAY = 86_400_000;
/** The significance level the insights call a change significant at. */
export const ALPHA = 0.05;
/** Listings further than this from their cell's index count as priced away from it. */
export const PRICE_BAND = 0.1;
/** A day is a dispute spike when its disputes are this unlikely under the previous 28 days' rate. */
export const SPIKE_P = 0.01;
const TOP = 10;

/** The period containing `at` (UTC; weeks start on Monday). */
export function periodOf(period: Period, at: Date): { from: Date; to: Date } {
  const d = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()));
  if (period === 'day') return { from: d, to: new Date(d.getTime() + DAY) };
  if (period === 'week') {
    const from = new Date(d.getTime() - ((d.getUTCDay() + 6) % 7) * DAY);
    return { from, to: new Date(from.getTime() + 7 * DAY) };
  }
  return { from: new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1)), to: new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 1)) };
}

/** The period `at` falls in, or by default the last closed period before `now`. */
export function resolvePeriod(period: Period, now: Date, at?: string | Date): { from: Date; to: Date; previous: { from: Date; to: Date } } {
  let p: { from: Date; to: Date };
  if (at !== undefined) {
    const t = new Date(at);
    if (Number.isNaN(t.getTime())) throw new AppError('validation_failed', 'at must be a date', { errors: [{ field: 'querystring.at', message: 'must be a date or date-time' }] });
    p = periodOf(period, t);
  } else {
    p = periodOf(period, new Date(periodOf(period, now).from.getTime() - 1));
  }
  return { ...p, previous: periodOf(period, new Date(p.from.getTime() - 1)) };
}

export interface InsightDeps {
  db: Executor;
  market: TradingMarketData;
  index(cell: { category: string; specClass: string; region: string }, to: Date): Promise<{ index: PriceIndex }>;
  /** Trust scores as of a time (the reputation snapshots); absent: trust movers are not computed. */
  trustAt?: ((at: Date) => Promise<Map<string, number>>) | undefined;
}

export type Insufficient = { status: 'insufficient_data'; reason: string };
const insufficient = (reason: string): Insufficient => ({ status: 'insufficient_data', reason });

export interface Test { name: string; statistic: number | null; pValue: number | null; significant: boolean | null; note?: string }
export interface Trend { metric: string; unit: string; current: string | number | null; previous: string | number | null; change: number | null; test: Test }

const rel = (a: number | null, b: number | null) => (a === null || b === null || b === 0 ? null : (a - b) / b);
const sumRows = (rows: CounterRow[], k: keyof CounterRow) => rows.reduce((s, c) => s + BigInt(c[k] as bigint | string), 0n);
const round = (x: number, d = 6) => Math.round(x * 10 ** d) / 10 ** d;
const test = (name: string, r: { statistic: number; pValue: number } | null, why: string): Test =>
  r ? { name, statistic: round(r.statistic, 4), pValue: round(r.pValue, 6), significant: r.pValue < ALPHA } : { name, statistic: null, pValue: null, significant: null, note: why };

export async function computeInsights(deps: InsightDeps, period: Period, bounds: ReturnType<typeof resolvePeriod>, filter: CellFilter) {
  const { db } = deps;
  const { from, to, previous } = bounds;
  const interval = period === 'day' ? 'hour' : 'day';
  const rf = (a: Date, b: Date, g: RangeFilter['granularity'] = interval): RangeFilter => ({ ...filter, from: a, to: b, granularity: g });
  const [cur, prev, agentsCur, agentsPrev] = await Promise.all([
    q.counters(db, rf(from, to)), q.counters(db, rf(previous.from, previous.to)),
    q.newAgents(db, rf(from, to, 'day')), q.newAgents(db, rf(previous.from, previous.to, 'day')),
  ]);

  // ---- trends ----
  const buckets = (rows: CounterRow[], a: Date, b: Date) => {
    const unit = interval === 'hour' ? 3_600_000 : DAY;
    const m = new Map(rows.map((r) => [r.bucket.getTime(), r]));
    const out: { volume: number; vwap: number | null }[] = [];
    for (let t = a.getTime(); t < b.getTime(); t += unit) {
      const r = m.get(t);
      out.push({ volume: r ? Number(BigInt(r.volume)) / 1e8 : 0, vwap: r && r.units > 0n ? Number(BigInt(r.notional) / r.units) / 1e8 : null });
    }
    return out;
  };
  const bc = buckets(cur, from, to);
  const bp = buckets(prev, previous.from, previous.to);
  const len = to.getTime() - from.getTime();
  const plen = previous.to.getTime() - previous.from.getTime();
  const n = (rows: CounterRow[], k: keyof CounterRow) => Number(sumRows(rows, k));
  const volume = (rows: CounterRow[]) => sumRows(rows, 'volume');
  const units = (rows: CounterRow[]) => sumRows(rows, 'units');
  const vwap = (rows: CounterRow[]) => (units(rows) > 0n ? BigInt(sumRows(rows, 'notional')) / units(rows) : null);
  const ratio = (a: number, b: number) => (b > 0 ? round(a / b) : null);
  const poisson = (a: number, b: number) => {
    const p = poissonRateTest(a, len, b, plen);
    return test('exact conditional test of two Poisson rates (binomial given the total, exposure = period length)', p === null ? null : { statistic: a - b, pValue: p }, 'no events in either period');
  };
  const welch = (a: number[], b: number[]) => {
    const w = welchTest(a, b);
    return test(`Welch's t-test over ${interval === 'hour' ? 'hourly' : 'daily'} values`, w && { statistic: w.t, pValue: w.pValue },
      `needs at least 2 ${interval === 'hour' ? 'hours' : 'days'} with values in each period, not all equal`);
  };
  const props = (x1: number, n1: number, x2: number, n2: number) => {
    const z = twoProportionTest(x1, n1, x2, n2);
    return test('two-proportion z-test (pooled)', z && { statistic: z.z, pValue: z.pValue }, 'fewer than 5 expected in a cell of the 2x2 table (or an empty period): the normal approximation does not hold');
  };
  const vc = vwap(cur); const vp = vwap(prev);
  const na = (rows: { agents: bigint }[]) => rows.reduce((s, r) => s + Number(r.agents), 0);
  const trends: Trend[] = [
    { metric: 'trades', unit: 'count', current: n(cur, 'trades'), previous: n(prev, 'trades'), change: rel(n(cur, 'trades'), n(prev, 'trades')), test: poisson(n(cur, 'trades'), n(prev, 'trades')) },
    { metric: 'volume', unit: 'AITBC', current: formatAmount(volume(cur)), previous: formatAmount(volume(prev)), change: rel(Number(volume(cur)), Number(volume(prev))), test: welch(bc.map((x) => x.volume), bp.map((x) => x.volume)) },
    {
      metric: 'vwap', unit: 'AITBC per unit', current: vc === null ? null : formatAmount(vc), previous: vp === null ? null : formatAmount(vp),
      change: rel(vc === null ? null : Number(vc), vp === null ? null : Number(vp)),
      test: welch(bc.flatMap((x) => (x.vwap === null ? [] : [x.vwap])), bp.flatMap((x) => (x.vwap === null ? [] : [x.vwap]))),
    },
    { metric: 'newAgents', unit: 'count', current: na(agentsCur), previous: na(agentsPrev), change: rel(na(agentsCur), na(agentsPrev)), test: poisson(na(agentsCur), na(agentsPrev)) },
    {
      metric: 'matchRate', unit: 'share of new requests matched', current: ratio(n(cur, 'matched'), n(cur, 'requests')), previous: ratio(n(prev, 'matched'), n(prev, 'requests')),
      change: rel(ratio(n(cur, 'matched'), n(cur, 'requests')), ratio(n(prev, 'matched'), n(prev, 'requests'))),
      test: props(n(cur, 'matched'), n(cur, 'requests'), n(prev, 'matched'), n(prev, 'requests')),
    },
    {
      metric: 'disputeRate', unit: 'disputes per agreement ended', current: ratio(n(cur, 'disputes'), n(cur, 'ended')), previous: ratio(n(prev, 'disputes'), n(prev, 'ended')),
      change: rel(ratio(n(cur, 'disputes'), n(cur, 'ended')), ratio(n(prev, 'disputes'), n(prev, 'ended'))),
      test: props(n(cur, 'disputes'), n(cur, 'ended'), n(prev, 'disputes'), n(prev, 'ended')),
    },
  ];

  // ---- growth ----
  const weeksFrom = new Date(to.getTime() - 8 * 7 * DAY);
  const daily = await q.newAgents(db, rf(weeksFrom, to, 'day'));
  const newAgentsPerWeek = Array.from({ length: 8 }, (_, i) => {
    const a = weeksFrom.getTime() + i * 7 * DAY;
    return { weekStart: new Date(a).toISOString(), newAgents: daily.filter((d) => d.bucket.getTime() >= a && d.bucket.getTime() < a + 7 * DAY).reduce((s, d) => s + Number(d.agents), 0) };
  });
  const act = await iq.activeAgents(db, filter, new Date(Math.min(previous.from.getTime(), to.getTime() - 6 * 7 * DAY)), to);
  const inRange = (t: Date, a: Date, b: Date) => t.getTime() >= a.getTime() && t.getTime() < b.getTime();
  const prevSet = new Set(act.filter((r) => inRange(r.bucket, previous.from, previous.to)).map((r) => r.agent_id));
  const curSet = new Set(act.filter((r) => inRange(r.bucket, from, to)).map((r) => r.agent_id));
  const kept = [...prevSet].filter((x) => curSet.has(x)).length;
  const retention = prevSet.size === 0
    ? insufficient(`no agent traded in the previous ${period}`)
    : { status: 'ok' as const, activePrevious: prevSet.size, activeCurrent: curSet.size, retained: kept, rate: round(kept / prevSet.size) };
  const cohortStart = to.getTime() - 6 * 7 * DAY;
  const weekOf = (t: Date) => Math.floor((t.getTime() - cohortStart) / (7 * DAY));
  const cohortMembers = new Map<number, Set<string>>();
  const activeWeeks = new Map<string, Set<number>>();
  for (const r of act) {
    if (r.bucket.getTime() < cohortStart) continue;
    if (r.first.getTime() >= cohortStart) {
      const w = weekOf(r.first);
      if (!cohortMembers.has(w)) cohortMembers.set(w, new Set());
      cohortMembers.get(w)!.add(r.agent_id);
    }
    if (!activeWeeks.has(r.agent_id)) activeWeeks.set(r.agent_id, new Set());
    activeWeeks.get(r.agent_id)!.add(weekOf(r.bucket));
  }
  const cohorts = Array.from({ length: 6 }, (_, w) => {
    const members = [...(cohortMembers.get(w) ?? [])];
    return {
      weekStart: new Date(cohortStart + w * 7 * DAY).toISOString(), size: members.length,
      retained: Array.from({ length: 5 - w }, (_, k) => (members.length ? round(members.filter((m) => activeWeeks.get(m)?.has(w + k + 1)).length / members.length) : null)),
    };
  });

  // ---- agent performance ----
  const [sellersCur, sellersPrev, failCur, failPrev] = await Promise.all([
    iq.sellerTrades(db, filter, from, to), iq.sellerTrades(db, filter, previous.from, previous.to),
    iq.failures(db, filter, from, to), iq.failures(db, filter, previous.from, previous.to),
  ]);
  const bySeller = (rows: typeof sellersCur) => {
    const m = new Map<string, { trades: number; volume: bigint }>();
    for (const r of rows) {
      const x = m.get(r.seller) ?? { trades: 0, volume: 0n };
      m.set(r.seller, { trades: x.trades + r.trades, volume: x.volume + r.volume });
    }
    return m;
  };
  const sc = bySeller(sellersCur); const sp = bySeller(sellersPrev);
  const volumeMovers = [...new Set([...sc.keys(), ...sp.keys()])]
    .map((id) => ({ agentId: id, current: sc.get(id)?.volume ?? 0n, previous: sp.get(id)?.volume ?? 0n }))
    .map((x) => ({ ...x, change: x.current - x.previous }))
    .sort((a, b) => (a.change === b.change ? (a.agentId < b.agentId ? -1 : 1) : (a.change < 0n ? -a.change : a.change) > (b.change < 0n ? -b.change : b.change) ? -1 : 1))
    .slice(0, TOP)
    .map((x) => ({ agentId: x.agentId, current: formatAmount(x.current), previous: formatAmount(x.previous), change: formatAmount(x.change), trades: sc.get(x.agentId)?.trades ?? 0 }));
  const failedBySeller = async (ids: string[]) => {
    const m = new Map<string, number>();
    for (let i = 0; i < ids.length; i += 1000) for (const a of await deps.market.agreements(ids.slice(i, i + 1000))) m.set(a.sellerId, (m.get(a.sellerId) ?? 0) + 1);
    return m;
  };
  const [fc, fp] = await Promise.all([failedBySeller(failCur), failedBySeller(failPrev)]);
  const MIN_ENDED = 3;
  const fillRateMovers = [...new Set([...sc.keys(), ...fc.keys()])].flatMap((id) => {
    const ec = (sc.get(id)?.trades ?? 0) + (fc.get(id) ?? 0);
    const ep = (sp.get(id)?.trades ?? 0) + (fp.get(id) ?? 0);
    if (ec < MIN_ENDED || ep < MIN_ENDED) return [];
    const rc = (sc.get(id)?.trades ?? 0) / ec; const rp = (sp.get(id)?.trades ?? 0) / ep;
    return [{ agentId: id, current: round(rc), previous: round(rp), change: round(rc - rp), endedCurrent: ec, endedPrevious: ep }];
  }).sort((a, b) => Math.abs(b.change) - Math.abs(a.change) || (a.agentId < b.agentId ? -1 : 1)).slice(0, TOP);
  let trustMovers: Insufficient | { status: 'ok'; movers: { agentId: string; current: number; previous: number; change: number }[] };
  if (!deps.trustAt) trustMovers = insufficient('trust scores are not available to this process');
  else {
    const [a, b] = await Promise.all([deps.trustAt(from), deps.trustAt(to)]);
    const movers = [...b.entries()].flatMap(([id, s]) => (a.has(id) ? [{ agentId: id, current: s, previous: a.get(id)!, change: s - a.get(id)! }] : []))
      .filter((x) => x.change !== 0).sort((x, y) => Math.abs(y.change) - Math.abs(x.change) || (x.agentId < y.agentId ? -1 : 1)).slice(0, TOP);
    trustMovers = a.size === 0 ? insufficient('no trust score snapshot before the period began') : { status: 'ok', movers };
  }

  // ---- price optimisation ----
  const listings = (await deps.market.listingSales(from, to, 5000)).filter((l) =>
    (!filter.category || l.category === filter.category) && (!filter.region || l.region === filter.region) && (!filter.specClass || l.specClass === filter.specClass));
  const indexCache = new Map<string, PriceIndex>();
  const indexOf = async (c: { category: string; specClass: string; region: string }) => {
    const k = `${c.category}\u0000${c.specClass}\u0000${c.region}`;
    if (!indexCache.has(k)) indexCache.set(k, (await deps.index(c, to)).index);
    return indexCache.get(k)!;
  };
  const priced: { id: string; sellerId: string; category: string; specClass: string; region: string; price: bigint; index: bigint; deviation: number; agreements: number }[] = [];
  let noIndex = 0;
  for (const l of listings) {
    const i = await indexOf(l);
    if (i.status !== 'ok') { noIndex++; continue; }
    priced.push({ id: l.id, sellerId: l.sellerId, category: l.category, specClass: l.specClass, region: l.region, price: l.pricePerUnit, index: i.index, deviation: Number(l.pricePerUnit - i.index) / Number(i.index), agreements: l.agreements });
  }
  const band = (d: number) => (d < -PRICE_BAND ? 'below' : d > PRICE_BAND ? 'above' : 'at');
  const bands = (['below', 'at', 'above'] as const).map((b) => {
    const ls = priced.filter((p) => band(p.deviation) === b);
    const sold = ls.filter((p) => p.agreements > 0).length;
    return { band: b, listings: ls.length, withAgreement: sold, fillRate: ls.length ? round(sold / ls.length) : null };
  });
  const at = bands[1]!;
  const costs = bands.filter((b) => b.band !== 'at').map((b) => ({
    band: b.band, fillRateDifference: b.fillRate !== null && at.fillRate !== null ? round(b.fillRate - at.fillRate) : null,
    test: props(b.withAgreement, b.listings, at.withAgreement, at.listings),
  }));
  const priceOptimisation = {
    status: priced.length ? 'ok' as const : 'insufficient_data' as const,
    reason: priced.length ? undefined : `no listing live in the period has a price index in its cell (${noIndex} listings in cells with too few trades)`,
    band: PRICE_BAND, definition: 'fill rate: share of the listings live in the period that got at least one agreement in it; deviation: (listing price - its cell\'s index at the period end) / index',
    listingsWithoutIndex: noIndex, bands, costs,
    furthest: [...priced].sort((a, b) => Math.abs(b.deviation) - Math.abs(a.deviation) || (a.id < b.id ? -1 : 1)).slice(0, TOP).map((p) => ({
      listingId: p.id, sellerId: p.sellerId, category: p.category, specClass: p.specClass, region: p.region, price: formatAmount(p.price), index: formatAmount(p.index), deviation: round(p.deviation), agreements: p.agreements,
    })),
  };

  // ---- risk ----
  const byCategory = new Map<string, Map<string, bigint>>();
  for (const r of sellersCur) {
    if (!byCategory.has(r.category)) byCategory.set(r.category, new Map());
    const m = byCategory.get(r.category)!;
    m.set(r.seller, (m.get(r.seller) ?? 0n) + r.volume);
  }
  const concentration = [...byCategory.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([category, m]) => {
    const total = [...m.values()].reduce((s, v) => s + v, 0n);
    const hhi = total > 0n ? round([...m.values()].reduce((s, v) => s + (Number(v) / Number(total)) ** 2, 0), 4) : null;
    return { category, sellers: m.size, volume: formatAmount(total), hhi, level: hhi === null ? null : hhi > 0.25 ? 'high' : hhi >= 0.15 ? 'moderate' : 'unconcentrated' };
  });
  const cells = await q.tradedCells(db, rf(from, to, 'day'), undefined, 50);
  const volatility = [];
  for (const c of cells) {
    const f: RangeFilter = { category: c.category, specClass: c.spec_class, region: c.region, granularity: 'day', from: new Date(to.getTime() - 30 * DAY), to };
    const vw = (await q.counters(db, f)).filter((r) => r.units > 0n).map((r) => Number(BigInt(r.notional) / r.units));
    const v = ewmaVolatility(vw);
    volatility.push(v ? { category: c.category, specClass: c.spec_class, region: c.region, status: 'ok' as const, ewma: round(v.volatility), returns: v.returns }
      : { category: c.category, specClass: c.spec_class, region: c.region, ...insufficient(`${vw.length} day(s) with trades in the 30 days to the period end; at least 2 needed`) });
  }
  const baseline = await iq.disputesByDay(db, filter, new Date(from.getTime() - 28 * DAY), from);
  const bd = baseline.reduce((s, r) => s + r.disputes, 0); const be = baseline.reduce((s, r) => s + r.ended, 0);
  const days = await iq.disputesByDay(db, filter, from, to);
  const disputeSpikes = be === 0
    ? insufficient('no agreement ended in the 28 days before the period: no baseline dispute rate')
    : {
      status: 'ok' as const, baselineRate: round(bd / be), baselineDays: 28, threshold: SPIKE_P, test: 'binomial upper tail P(X >= disputes | ended, baseline rate)',
      days: days.filter((d) => d.ended > 0 || d.disputes > 0).map((d) => {
        const p = binomialUpperTail(d.disputes, Math.max(d.ended, d.disputes), bd / be);
        return { day: d.bucket.toISOString(), disputes: d.disputes, ended: d.ended, rate: d.ended ? round(d.disputes / d.ended) : null, pValue: round(p), spike: p < SPIKE_P };
      }),
    };
  const pairs = new Map<string, { category: string; specClass: string; regions: string[] }>();
  for (const c of cells) {
    const k = `${c.category}\u0000${c.spec_class}`;
    if (!pairs.has(k)) pairs.set(k, { category: c.category, specClass: c.spec_class, regions: [] });
    pairs.get(k)!.regions.push(c.region);
  }
  const regionalSpread = [];
  for (const p of pairs.values()) {
    const idx = [];
    for (const region of p.regions) {
      const i = await indexOf({ category: p.category, specClass: p.specClass, region });
      if (i.status === 'ok') idx.push({ region, index: i.index });
    }
    const s = crossRegionSpread(idx);
    regionalSpread.push(s
      ? { category: p.category, specClass: p.specClass, status: 'ok' as const, spread: round(s.spread), low: { region: s.low.region, index: formatAmount(s.low.index) }, high: { region: s.high.region, index: formatAmount(s.high.index) }, target: 0.05, meetsTarget: s.spread < 0.05 }
      : { category: p.category, specClass: p.specClass, ...insufficient(`${idx.length} region(s) with a price index; at least 2 needed`) });
  }

  return {
    period, from: from.toISOString(), to: to.toISOString(), previousFrom: previous.from.toISOString(), previousTo: previous.to.toISOString(),
    filters: { category: filter.category ?? null, region: filter.region ?? null, specClass: filter.specClass ?? null },
    significanceLevel: ALPHA,
    trends,
    growth: { newAgentsPerWeek, retention, cohorts },
    agentPerformance: {
      volume: volumeMovers,
      fillRate: fillRateMovers.length ? { status: 'ok' as const, minimumEnded: MIN_ENDED, movers: fillRateMovers } : { ...insufficient(`no seller ended at least ${MIN_ENDED} agreements in both periods`), minimumEnded: MIN_ENDED, movers: [] },
      trust: trustMovers,
    },
    priceOptimisation,
    risk: { concentration, volatility, disputeSpikes, regionalSpread },
  };
}

export type Insights = Awaited<ReturnType<typeof computeInsights>>;

/** The insights as one CSV table: section, item, field, value (nested values flattened to dotted paths). */
export function insightRows(x: Insights): { section: string; item: string; field: string; value: string }[] {
  const out: { section: string; item: string; field: string; value: string }[] = [];
  const walk = (section: string, item: string, path: string, v: unknown) => {
    if (v === null || v === undefined || typeof v !== 'object') { out.push({ section, item, field: path, value: v === null || v === undefined ? '' : String(v) }); return; }
    if (Array.isArray(v) && v.every((e) => e === null || typeof e !== 'object')) { out.push({ section, item, field: path, value: v.map((e) => (e === null ? '' : String(e))).join(' ') }); return; }
    for (const [k, e] of Object.entries(v)) walk(section, item, path ? `${path}.${k}` : k, e);
  };
  for (const t of x.trends) walk('trends', t.metric, '', t);
  for (const [k, v] of Object.entries(x.growth)) walk('growth', k, '', v);
  for (const [k, v] of Object.entries(x.agentPerformance)) walk('agentPerformance', k, '', v);
  walk('priceOptimisation', '', '', x.priceOptimisation);
  for (const [k, v] of Object.entries(x.risk)) walk('risk', k, '', v);
  return out;
}
