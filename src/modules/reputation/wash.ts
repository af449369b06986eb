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
