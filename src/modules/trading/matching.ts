/**
 * Matching engine (pure). Two entry points with identical results:
 *  - `matchListings(request, listings, opts)`: plain function over an array (small sets, tests, baseline);
 *  - `ListingIndex` (re-exported from ./listing-index.js): in-memory columnar index for large markets.
 *
 * Hard constraints are checked first, in the fixed order of `CONSTRAINTS`; qualified listings are ranked by
 * a weighted score in [0, 1] (see `rawFactors` in ./matching-core.js for each factor's formula).
 */
import { FACTORS, breakdownOf, combine, firstFailingConstraint, isExplorable, prepareQuery, rawFactorsOfListing } from './matching-core.js';
import type { ConstraintKey, MatchOptions, MatchResult, ScoreBreakdown } from './matching-core.js';
import { buildDiagnostics, compareScored, drawExploration, emptyCounts, finishResult, type Scored } from './matching-result.js';
import type { Listing, TradeRequest } from './trading.types.js';

export {
  CONSTRAINTS,
  CONSTRAINT_LABELS,
  DEFAULT_MATCH_LIMIT,
  DEFAULT_MATCH_WEIGHTS,
  DEFAULT_NEWCOMER,
  DEFAULT_REFERENCE_LATENCY_MS,
  FACTORS,
  normaliseWeights,
} from './matching-core.js';
export type {
  ConstraintKey,
  ExplorationInfo,
  Factor,
  MatchCandidate,
  MatchDiagnostics,
  MatchOptions,
  MatchResult,
  MatchWeights,
  ScoreBreakdown,
  ScoreFactor,
} from './matching-core.js';
export { ListingIndex } from './listing-index.js';

/** Top-`limit` matches of a request among `listings` (any status/category; constraints filter them). */
export function matchListings(request: TradeRequest, listings: readonly Listing[], opts: MatchOptions): MatchResult {
  const q = prepareQuery(request, opts);
  const counts = emptyCounts();
  const raw = new Float64Array(FACTORS.length);
  const qualified: Scored[] = [];
  for (const l of listings) {
    const failed = firstFailingConstraint(q, l);
    if (failed !== null) {
      counts[failed]++;
      continue;
    }
    rawFactorsOfListing(raw, q, l);
    qualified.push({ score: combine(raw, q.w), listing: l });
  }
  qualified.sort(compareScored);
  const top = qualified.slice(0, q.limit);
  const exploration = drawExploration(q);
  const newcomers = exploration.triggered ? qualified.filter((c) => isExplorable(q, c.listing)).slice(0, q.limit) : [];
  const wantDiagnostics = q.diagnostics === 'always' || (q.diagnostics === 'auto' && qualified.length < q.limit);
  const diagnostics = wantDiagnostics
    ? buildDiagnostics(request.category, listings.length, qualified.length, counts)
    : null;
  return finishResult(q, exploration, top, newcomers, qualified.length, true, diagnostics);
}

/** Why does (or doesn't) this listing match? First failing constraint, and the score breakdown if none. */
export function explainListing(
  request: TradeRequest,
  listing: Listing,
  opts: MatchOptions,
): { failed: ConstraintKey | null; score: number | null; breakdown: ScoreBreakdown | null } {
  const q = prepareQuery(request, { ...opts, explorationShare: 0 });
  const failed = firstFailingConstraint(q, listing);
  if (failed !== null) return { failed, score: null, breakdown: null };
  const raw = new Float64Array(FACTORS.length);
  rawFactorsOfListing(raw, q, listing);
  return { failed: null, score: combine(raw, q.w), breakdown: breakdownOf(raw, q) };
}
