/**
 * What the service says at the end of a run, read through the public and operator API and set against
 * what the simulation knows (checks.ts computes): market data vs the trade log, risk alerts vs the known
 * attackers, rewards vs fees per kind of agent, certification levels vs hidden quality.
 */
import type { Transport } from './transport.js';
import { expectStatus } from './transport.js';
import {
  certificationSummary, dayOf, figuresRow, groupTrades, logFigures, rewardsByKind, scoreAlerts, tierCounts,
  type AgentRewardFacts, type CertificationSummary, type DetectorScore, type FiguresRow, type LoggedTrade, type RewardsByKind, type SimAlert, type TradeFigures,
} from './checks.js';

type Ag = { id: string; sellerId: string; terms: { pricePerUnit: string; quantity: number }; released: string; updatedAt: string };

/** Every page of an operator list (`data`, `nextCursor`), at most `maxPages`. */
async function allPages<T>(api: Transport, key: string, path: string, maxPages = 2000): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < maxPages; page++) {
    const sep = path.includes('?') ? '&' : '?';
    const r: { data: T[]; nextCursor: string | null } = expectStatus(await api.call<{ data: T[]; nextCursor: string | null }>('GET', `${path}${sep}limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { key }), path, 200);
    out.push(...r.data);
    cursor = r.nextCursor;
    if (!cursor) break;
  }
  return out;
}

/** The built-in verifier's trades (its challenges that released something), as log entries. */
export async function verifierTrades(api: Transport, admin: string, verifierId: string, categoryOf: (sellerId: string) => string | undefined): Promise<LoggedTrade[]> {
  const out: LoggedTrade[] = [];
  for (const state of ['settled', 'resolved']) {
    for (const a of await allPages<Ag>(api, admin, `/v1/agreements?agentId=${verifierId}&role=buyer&state=${state}`)) {
      out.push({ quantity: a.terms.quantity, price: a.terms.pricePerUnit, released: a.released, settledAt: Date.parse(a.updatedAt), category: categoryOf(a.sellerId) ?? 'unknown', sellerId: a.sellerId });
    }
  }
  return out;
}

export interface MarketDataCheck {
  /** What the comparison covers: the simulation's own trades and the built-in verifier's (it is a buyer like any other). */
  from: string;
  to: string;
  verifierTrades: number;
  /** The whole run, then each category (GET /v1/market/overview), then each day (GET /v1/market/prices, interval day). */
  rows: FiguresRow[];
  allEqual: boolean;
}

const figures = (b: { trades: number; units: number; volume: string; vwap: string | null }): TradeFigures => ({ trades: b.trades, units: b.units, volume: b.volume, vwap: b.vwap });

/**
 * The simulator's trade log against the analytics API over the run (`from` to `to`, virtual ms): totals,
 * per category and per day, exact to the base unit.
 */
export async function marketDataCheck(api: Transport, o: { from: number; to: number; trades: readonly LoggedTrade[]; verifierTrades: number }): Promise<MarketDataCheck> {
  const range = `interval=day&from=${new Date(o.from).toISOString()}&to=${new Date(o.to).toISOString()}`;
  type Fig = TradeFigures & { bucket?: string };
  const overview = async (extra: string) => expectStatus(await api.call<Fig>('GET', `/v1/market/overview?${range}${extra}`), 'market overview', 200);
  const rows: FiguresRow[] = [figuresRow('run', logFigures(o.trades), figures(await overview('')))];
  const byCategory = groupTrades(o.trades, (t) => t.category);
  for (const c of [...byCategory.keys()].sort()) rows.push(figuresRow(`category ${c}`, logFigures(byCategory.get(c)!), figures(await overview(`&category=${c}`))));
  const series = expectStatus(await api.call<{ data: Array<Fig & { bucket: string }> }>('GET', `/v1/market/prices?${range}`), 'market prices', 200);
  const byDay = groupTrades(o.trades, dayOf);
  const days = new Set([...byDay.keys(), ...series.data.filter((b) => b.trades > 0).map((b) => b.bucket.slice(0, 10))]);
  for (const d of [...days].sort()) {
    const bucket = series.data.find((b) => b.bucket.slice(0, 10) === d);
    rows.push(figuresRow(`day ${d}`, logFigures(byDay.get(d) ?? []), bucket ? figures(bucket) : { trades: 0, units: 0, volume: '0', vwap: null }));
  }
  return { from: new Date(o.from).toISOString(), to: new Date(o.to).toISOString(), verifierTrades: o.verifierTrades, rows, allEqual: rows.every((r) => r.equal) };
}

export interface RiskReadout { alerts: number; byKind: Record<string, number>; attackersFrom: string; scores: DetectorScore[] }

/** Every risk alert raised in the run, scored against the identities the simulation knows the kind of. */
export async function riskReadout(api: Transport, admin: string, kindOf: ReadonlyMap<string, string>, attackFrom: number): Promise<RiskReadout> {
  const raw = await allPages<{ kind: string; agents: string[]; firstSeen: string }>(api, admin, '/v1/admin/risk/alerts');
  const alerts: SimAlert[] = raw.map((a) => ({ kind: a.kind, agents: a.agents, firstSeen: Date.parse(a.firstSeen) }));
  const byKind: Record<string, number> = {};
  for (const a of alerts) byKind[a.kind] = (byKind[a.kind] ?? 0) + 1;
  return { alerts: alerts.length, byKind, attackersFrom: new Date(attackFrom).toISOString(), scores: scoreAlerts(alerts, kindOf, attackFrom) };
}

export interface RewardsReadout {
  epochs: { closed: number; distributed: number; paid: number; held: number; capped: number };
  /** the pool at the last close */
  poolBalance: number | null;
  tiers: Record<string, number>;
  byKind: RewardsByKind[];
  /** the nominal platform fee rate the fees are computed at (tier discounts lower it for silver and above) */
  feeRate: number;
  /** the simulation's agents paid a reward, of all it registered */
  agentsPaid: number;
}

/** Each agent's statements (GET /v1/agents/{id}/rewards) and the epochs' totals, per kind against fees paid on sales. */
export async function rewardsReadout(api: Transport, admin: string, agents: ReadonlyArray<{ id: string; kind: string; quality?: number }>, soldBy: ReadonlyMap<string, number>, feeRate: number): Promise<RewardsReadout> {
  type Epoch = { status: string; paid: string | null; held: string | null; capped: string | null; poolBalance: string | null };
  const epochs = await allPages<Epoch>(api, admin, '/v1/rewards/epochs', 50);
  const num = (x: string | null) => (x === null ? 0 : Number(x));
  const facts: AgentRewardFacts[] = [];
  for (const a of agents) {
    const r = await api.call<{ totalPaid: string; tier: { name: string }; referrals: Array<{ paidAt: string | null }> }>('GET', `/v1/agents/${a.id}/rewards?limit=200`, { key: admin });
    if (r.status !== 200) continue;
    facts.push({ id: a.id, kind: a.kind, ...(a.quality !== undefined ? { quality: a.quality } : {}), paid: Number(r.body.totalPaid), tier: r.body.tier.name, referralsPaid: r.body.referrals.filter((x) => x.paidAt !== null).length });
  }
  const closed = epochs.filter((e) => e.status !== 'open');
  return {
    epochs: {
      closed: closed.length, distributed: epochs.filter((e) => e.status === 'distributed').length,
      paid: closed.reduce((s, e) => s + num(e.paid), 0), held: closed.reduce((s, e) => s + num(e.held), 0), capped: closed.reduce((s, e) => s + num(e.capped), 0),
    },
    poolBalance: closed.length ? num(closed[0]!.poolBalance) : null,
    tiers: tierCounts(facts), byKind: rewardsByKind(facts, soldBy, feeRate), feeRate, agentsPaid: facts.filter((f) => f.paid > 0).length,
  };
}

/** Each provider's live level (GET /v1/agents/{id}/certifications, public) against its hidden quality. */
export async function certificationReadout(api: Transport, providers: ReadonlyArray<{ id: string; kind: string; quality: number }>, attackerKinds: ReadonlySet<string>): Promise<CertificationSummary> {
  const facts = [];
  for (const p of providers) {
    const r = await api.call<{ level: string | null }>('GET', `/v1/agents/${p.id}/certifications`);
    facts.push({ kind: p.kind, quality: p.quality, level: r.status === 200 ? r.body.level : null });
  }
  return certificationSummary(facts, attackerKinds);
}
