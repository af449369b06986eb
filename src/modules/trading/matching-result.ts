/**
 * The end of a match (matching.ts and listing-index.ts alike): the ranking order, the exploration draw, the
 * result with each candidate's score breakdown, and the diagnostics sentence when too few qualify.
 */
import {
  CONSTRAINTS, CONSTRAINT_LABELS, FACTORS, breakdownOf, isNewcomer, rawFactorsOfListing,
  type ConstraintKey, type ExplorationInfo, type MatchCandidate, type MatchDiagnostics, type MatchResult, type PreparedQuery,
} from './matching-core.js';
import type { Category, Listing } from './trading.types.js';

/** A scored listing. */
export interface Scored {
  score: number;
  listing: Listing;
}

/** Ranking order: score desc, then price asc, then listing id asc. Negative when a ranks before b. */
export function compareScored(a: Scored, b: Scored): number {
  if (a.score !== b.score) return b.score - a.score;
  const pa = a.listing.pricePerUnit;
  const pb = b.listing.pricePerUnit;
  if (pa !== pb) return pa < pb ? -1 : 1;
  const ia = a.listing.id;
  const ib = b.listing.id;
  return ia < ib ? -1 : ia > ib ? 1 : 0;
}

/**
 * Exploration draw: exactly one RNG draw per query when share > 0 (none otherwise), made BEFORE scanning so
 * the index only tracks newcomers when exploration triggers. Deterministic for a seeded rng.
 */
export function drawExploration(q: PreparedQuery): ExplorationInfo {
  const info: ExplorationInfo = { share: q.explorationShare, roll: null, triggered: false, listingId: null };
  if (q.explorationShare > 0 && q.rng) {
    info.roll = q.rng();
    info.triggered = info.roll < q.explorationShare;
  }
  return info;
}

/**
 * Builds the final result from the top `limit` (ranked) and, when exploration triggered, the top `limit`
 * newcomers (ranked). The last slot then goes to the best-ranked newcomer that is not already in the first
 * limit-1 slots (unless it already holds the last slot by rank).
 */
export function finishResult(
  q: PreparedQuery,
  exploration: ExplorationInfo,
  top: Scored[],
  newcomers: Scored[],
  qualified: number,
  qualifiedExact: boolean,
  diagnostics: MatchDiagnostics | null,
): MatchResult {
  let picked: Scored[] = top;
  let explorer: Scored | null = null;
  if (exploration.triggered) {
    const head = top.slice(0, q.limit - 1);
    const headIds = new Set(head.map((c) => c.listing.id));
    const cand = newcomers.find((c) => !headIds.has(c.listing.id));
    if (cand && top[q.limit - 1]?.listing.id !== cand.listing.id) {
      explorer = cand;
      picked = [...head, cand];
      exploration.listingId = cand.listing.id;
    }
  }
  const raw = new Float64Array(FACTORS.length);
  const candidates = picked.map((c, i): MatchCandidate => {
    rawFactorsOfListing(raw, q, c.listing);
    return {
      rank: i + 1,
      listingId: c.listing.id,
      sellerId: c.listing.sellerId,
      pricePerUnit: c.listing.pricePerUnit,
      score: c.score,
      breakdown: breakdownOf(raw, q),
      newcomer: isNewcomer(q, c.listing),
      viaExploration: c === explorer,
      listing: c.listing,
    };
  });
  return { requestId: q.req.id, candidates, qualified, qualifiedExact, weights: q.weights, exploration, diagnostics };
}

export function emptyCounts(): Record<ConstraintKey, number> {
  const out = {} as Record<ConstraintKey, number>;
  for (const c of CONSTRAINTS) out[c] = 0;
  return out;
}

/** Builds diagnostics (counts + the human sentence) from per-constraint elimination counts. */
export function buildDiagnostics(
  category: Category,
  total: number,
  qualified: number,
  byConstraint: Record<ConstraintKey, number>,
): MatchDiagnostics {
  const eliminated = total - qualified;
  const other = byConstraint.category;
  const inCategory = total - other;
  const parts = CONSTRAINTS.filter((c) => c !== 'category' && byConstraint[c] > 0)
    .map((c, order) => ({ c, n: byConstraint[c], order }))
    .sort((a, b) => b.n - a.n || a.order - b.order)
    .map((p, i) => {
      const noun = i === 0 ? (p.n === 1 ? ' listing' : ' listings') : '';
      return `${p.n}${noun} ${CONSTRAINT_LABELS[p.c]}`;
    });
  const head =
    qualified === 0 ? 'no match' : `only ${qualified} ${qualified === 1 ? 'match' : 'matches'}`;
  const body = inCategory === 0 ? `no ${category} listings` : parts.length > 0 ? parts.join(', ') : 'none eliminated';
  const tail = `(of ${inCategory} ${category} listings; ${other} in other categories)`;
  return { total, qualified, eliminated, byConstraint, message: `${head}: ${body} ${tail}` };
}
