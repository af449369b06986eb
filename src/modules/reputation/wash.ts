/**
 * Wash-trading detectors over the trade graph (pure).
 *
 * - `findPaymentLoop`: does a new payment buyer -> seller close a loop of payments
 *   seller -> ... -> buyer made within a time window, each of about the same amount? Used by the
 *   engine on every trade (bounded DFS, depth <= loopMaxLength - 1, at most 256 expansions).
 * - `findClosedLoops`: the same check over a whole trade list, returning the ids of loop-closing trades.
 * - `findSameOwnerClusters`: groups of >= 2 agents that trade in both directions with each other and
 *   do most of their trading inside the group; the integrator can flag their trades
 *   `sameOwnerSuspected` (together with account metadata it has and we do not).
 */
import type { AgentId, TradeOutcome } from './evidence.types.js';

export interface PaymentLog {
  readonly to: number[];
  readonly amount: number[];
  readonly at: number[];
}

export interface LoopOptions {
  readonly loopMaxLength: number;
  readonly loopWindowMs: number;
  readonly loopAmountTolerance: number;
}

const MAX_EXPANSIONS = 256;

/**
 * Path [seller, ..., buyer] of earlier payments (each within the window before `at` and within
 * the relative amount tolerance of `amount`) or null. With the closing payment buyer -> seller it
 * forms a cycle of at most `loopMaxLength` payments.
 */
export function findPaymentLoop(
  payments: readonly (PaymentLog | undefined)[],
  seller: number,
  buyer: number,
  amount: number,
  at: number,
  opts: LoopOptions,
): number[] | null {
  const maxDepth = opts.loopMaxLength - 1;
  if (maxDepth < 1) return null;
  const tol = opts.loopAmountTolerance * Math.max(amount, 1e-12);
  const path: number[] = [seller];
  let expansions = 0;
  const dfs = (u: number, depth: number): boolean => {
    const log = payments[u];
    if (log === undefined || ++expansions > MAX_EXPANSIONS) return false;
    for (let k = log.to.length - 1; k >= 0; k--) {
      if (at - log.at[k]! > opts.loopWindowMs) break;
      if (Math.abs(log.amount[k]! - amount) > tol) continue;
      const v = log.to[k]!;
      if (v === buyer) {
        path.push(v);
        return true;
      }
      if (depth + 1 < maxDepth && !path.includes(v)) {
        path.push(v);
        if (dfs(v, depth + 1)) return true;
        path.pop();
      }
    }
    return false;
  };
  return dfs(seller, 0) ? path : null;
}

/** Ids of trades that close a token loop, replaying the trades in time order. */
export function findClosedLoops(trades: readonly TradeOutcome[], opts: LoopOptions): Set<string> {
  const index = new Map<AgentId, number>();
  const id = (a: AgentId): number => {
    let i = index.get(a);
    if (i === undefined) index.set(a, (i = index.size));
    return i;
  };
  const logs: (PaymentLog | undefined)[] = [];
  const out = new Set<string>();
  const sorted = [...trades].sort((x, y) => x.at - y.at);
  for (const t of sorted) {
    const b = id(t.buyerId);
    const s = id(t.sellerId);
    const amount = Number(t.amount) / 1e8;
    if (findPaymentLoop(logs, s, b, amount, t.at, opts) !== null) out.add(t.id);
    let log = logs[b];
    if (log === undefined) logs[b] = log = { to: [], amount: [], at: [] };
    log.to.push(s);
    log.amount.push(amount);
    log.at.push(t.at);
  }
  return out;
}

export interface ClusterOptions {
  /** minimum share of each member's trades that stay inside the cluster */
  readonly minInternalShare: number;
  /** minimum number of trades in each direction for a pair to link two agents */
  readonly minMutualTrades: number;
}

/**
 * Clusters of agents linked by mutual trading (a bought from b and b bought from a at least
 * `minMutualTrades` times each) whose members each do at least `minInternalShare` of their
 * trades inside the cluster. Deterministic: clusters and members sorted.
 */
export function findSameOwnerClusters(
  trades: readonly TradeOutcome[],
  opts: ClusterOptions = { minInternalShare: 0.8, minMutualTrades: 2 },
): AgentId[][] {
  const directed = new Map<string, number>();
  const total = new Map<AgentId, number>();
  for (const t of trades) {
    if (t.buyerId === t.sellerId) continue;
    const k = `${t.buyerId}\u0000${t.sellerId}`;
    directed.set(k, (directed.get(k) ?? 0) + 1);
    total.set(t.buyerId, (total.get(t.buyerId) ?? 0) + 1);
    total.set(t.sellerId, (total.get(t.sellerId) ?? 0) + 1);
  }
  const parent = new Map<AgentId, AgentId>();
  const find = (a: AgentId): AgentId => {
    let r = a;
    while (parent.get(r) !== undefined && parent.get(r) !== r) r = parent.get(r)!;
    parent.set(a, r);
    return r;
  };
  const links: [AgentId, AgentId][] = [];
  for (const [k, n] of directed) {
    const [a, b] = k.split('\u0000') as [AgentId, AgentId];
    if (a < b && n >= opts.minMutualTrades && (directed.get(`${b}\u0000${a}`) ?? 0) >= opts.minMutualTrades) {
      links.push([a, b]);
      const ra = find(a);
      const rb = find(b);
      if (ra !== rb) parent.set(ra < rb ? rb : ra, ra < rb ? ra : rb);
    }
  }
  const groups = new Map<AgentId, Set<AgentId>>();
  for (const [a, b] of links) {
    const r = find(a);
    let g = groups.get(r);
    if (g === undefined) groups.set(r, (g = new Set()));
    g.add(a);
    g.add(b);
  }
  const out: AgentId[][] = [];
  for (const g of groups.values()) {
    let ok = true;
    for (const a of g) {
      let inside = 0;
      for (const b of g) {
        if (a === b) continue;
        inside += (directed.get(`${a}\u0000${b}`) ?? 0) + (directed.get(`${b}\u0000${a}`) ?? 0);
      }
      if (inside < opts.minInternalShare * (total.get(a) ?? 0)) ok = false;
    }
    if (ok) out.push([...g].sort());
  }
  return out.sort((x, y) => (x[0]! < y[0]! ? -1 : 1));
}

// ------------------------------------------------------------------------------ same-owner verdicts

/** What the platform knows about an agent's account (agents table, ledger). */
export interface AccountSignals {
  readonly id: AgentId;
  readonly displayName: string;
  readonly type: string;
  readonly country: string;
  readonly region: string;
  readonly categories: readonly string[];
  readonly publicKey: string | null;
  /** registration time, ms */
  readonly createdAt: number;
  /** the agent whose wallet made the first credit to this agent's wallet (null: mint, deposit, trade) */
  readonly funder: AgentId | null;
}

/** Number of settled-or-failed trades buyer -> seller (from the evidence log). */
export interface PairTradeCount {
  readonly buyerId: AgentId;
  readonly sellerId: AgentId;
  readonly count: number;
}

/** Account links that make two agents look like one owner. */
export type OwnerSignal =
  | 'shared_public_key' // registered the same public key
  | 'shared_funder' // first funded by the same wallet
  | 'funded_by_member' // first funded by another member's wallet
  | 'registration_burst'; // registered together (within the burst window) with the same country, region, type, categories and look-alike names

export interface OwnerClusterOptions {
  /** registrations at most this far apart (chained) form a burst */
  readonly burstWindowMs: number;
  /** minimum share of each member's trades that stay inside the cluster */
  readonly minInternalShare: number;
  /** minimum number of trades each member has inside the cluster */
  readonly minInternalTrades: number;
  /**
   * A cluster may hold at most this share of all agents that trade. When one account link (a burst of
   * look-alike registrations, an on-ramp that funded everyone) spans most of the market, "trades mostly
   * inside" says nothing: inside is the whole market.
   */
  readonly maxMarketShare: number;
}

export const DEFAULT_OWNER_CLUSTER_OPTIONS: OwnerClusterOptions = { burstWindowMs: 3_600_000, minInternalShare: 0.8, minInternalTrades: 3, maxMarketShare: 0.5 };

export interface OwnerCluster {
  /** sorted */
  readonly members: AgentId[];
  /** account links found between members (sorted, distinct) */
  readonly signals: OwnerSignal[];
  /** trades between members */
  readonly internalTrades: number;
  /** the smallest share of a member's trades that stayed inside (0..1) */
  readonly internalShare: number;
}

/**
 * A display name's skeleton: lower case, letters only (digits, spaces, punctuation dropped), so
 * "Sybil-007", "sybil_12" and "SYBIL 3" look alike. Short skeletons (< 3 letters) never match.
 */
export function nameSkeleton(name: string): string {
  return name.normalize('NFKD').toLowerCase().replace(/[^\p{L}]/gu, '');
}

/**
 * Same-owner clusters from two independent kinds of evidence, both required:
 *  1. account links (`OwnerSignal`): shared public key, the same first funder (or funded by another
 *     candidate), or a registration burst of look-alike accounts (same country, region, type and
 *     categories, names with the same skeleton, registered within `burstWindowMs` of each other,
 *     chained). Linked agents form candidate owners (connected components).
 *  2. a trading pattern: within a candidate owner, members are peeled off until every remaining member
 *     does at least `minInternalTrades` trades and `minInternalShare` of all its trades with the others.
 * Neither alone is enough: agents of one region that registered the same hour and trade with each other
 * as much as with outsiders are honest; two agents that trade mostly with each other but share no account
 * link are a loyal customer and its provider. Deterministic: members and clusters sorted.
 */
export function detectOwnerClusters(
  accounts: readonly AccountSignals[],
  trades: readonly PairTradeCount[],
  opts: OwnerClusterOptions = DEFAULT_OWNER_CLUSTER_OPTIONS,
): OwnerCluster[] {
  // trade adjacency (undirected counts) and totals
  const adj = new Map<AgentId, Map<AgentId, number>>();
  const total = new Map<AgentId, number>();
  const addAdj = (a: AgentId, b: AgentId, n: number): void => {
    let m = adj.get(a);
    if (m === undefined) adj.set(a, (m = new Map()));
    m.set(b, (m.get(b) ?? 0) + n);
    total.set(a, (total.get(a) ?? 0) + n);
  };
  for (const t of trades) {
    if (t.buyerId === t.sellerId || !(t.count > 0)) continue;
    addAdj(t.buyerId, t.sellerId, t.count);
    addAdj(t.sellerId, t.buyerId, t.count);
  }

  // account links (union-find), each with its signal
  const parent = new Map<AgentId, AgentId>();
  const find = (a: AgentId): AgentId => {
    let r = a;
    for (let p = parent.get(r); p !== undefined && p !== r; p = parent.get(r)) r = p;
    let x = a;
    while (x !== r) {
      const next = parent.get(x)!;
      parent.set(x, r);
      x = next;
    }
    return r;
  };
  const links: { a: AgentId; b: AgentId; signal: OwnerSignal }[] = [];
  const link = (a: AgentId, b: AgentId, signal: OwnerSignal): void => {
    if (a === b) return;
    links.push({ a, b, signal });
    const ra = find(a);
    const rb = find(b);
    if (ra !== rb) parent.set(ra < rb ? rb : ra, ra < rb ? ra : rb);
  };
  const known = new Set(accounts.map((a) => a.id));
  const sorted = [...accounts].sort((x, y) => x.createdAt - y.createdAt || (x.id < y.id ? -1 : 1));
  const byKey = new Map<string, AgentId>();
  const byFunder = new Map<AgentId, AgentId>();
  const burst = new Map<string, { id: AgentId; at: number }>();
  for (const a of sorted) {
    if (a.publicKey) {
      const first = byKey.get(a.publicKey);
      if (first === undefined) byKey.set(a.publicKey, a.id);
      else link(first, a.id, 'shared_public_key');
    }
    if (a.funder !== null && a.funder !== a.id) {
      const first = byFunder.get(a.funder);
      if (first === undefined) byFunder.set(a.funder, a.id);
      else link(first, a.id, 'shared_funder');
      if (known.has(a.funder)) link(a.funder, a.id, 'funded_by_member');
    }
    const skeleton = nameSkeleton(a.displayName);
    if (skeleton.length >= 3) {
      const key = JSON.stringify([a.country, a.region, a.type, [...a.categories].sort(), skeleton]);
      const prev = burst.get(key);
      if (prev !== undefined && a.createdAt - prev.at <= opts.burstWindowMs) link(prev.id, a.id, 'registration_burst');
      burst.set(key, { id: a.id, at: a.createdAt });
    }
  }

  const groups = new Map<AgentId, Set<AgentId>>();
  for (const { a, b } of links) {
    const r = find(a);
    let g = groups.get(r);
    if (g === undefined) groups.set(r, (g = new Set()));
    g.add(a);
    g.add(b);
  }

  const out: OwnerCluster[] = [];
  for (const g of groups.values()) {
    // peel members whose trading is not mostly inside the group
    const s = new Set([...g].filter((a) => (total.get(a) ?? 0) > 0));
    const internal = (a: AgentId): number => {
      let n = 0;
      for (const [b, c] of adj.get(a) ?? []) if (s.has(b) && b !== a) n += c;
      return n;
    };
    for (let changed = true; changed && s.size >= 2; ) {
      changed = false;
      for (const a of [...s]) {
        const inside = internal(a);
        if (inside < opts.minInternalTrades || inside < opts.minInternalShare * total.get(a)!) {
          s.delete(a);
          changed = true;
        }
      }
    }
    if (s.size < 2 || s.size > opts.maxMarketShare * total.size) continue;
    const members = [...s].sort();
    let internalTrades = 0;
    let share = 1;
    for (const a of members) {
      const inside = internal(a);
      internalTrades += inside;
      share = Math.min(share, inside / total.get(a)!);
    }
    const signals = new Set<OwnerSignal>();
    for (const l of links) if (g.has(l.a) && (s.has(l.a) || s.has(l.b))) signals.add(l.signal);
    out.push({ members, signals: [...signals].sort(), internalTrades: internalTrades / 2, internalShare: Math.round(share * 1000) / 1000 });
  }
  return out.sort((x, y) => (x.members[0]! < y.members[0]! ? -1 : 1));
}
