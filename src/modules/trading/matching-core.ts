/**
 * Shared core of the matching engine: constraint order, factors and weights, the option and result types,
 * query preparation, constraint checks and scoring (the ranking order, exploration and diagnostics are in
 * matching-result.ts). Used by both the plain-array matcher (`matching.ts`) and the
 * in-memory `ListingIndex` (`listing-index.ts`), so both produce identical results (property-tested).
 */
import type { Rng } from './rng.js';
import type { Listing, TradeRequest } from './trading.types.js';

/**
 * Hard constraints, in the fixed order in which they are checked. Diagnostics attribute each eliminated
 * listing to the FIRST constraint it fails in this order.
 */
export const CONSTRAINTS = [
  'category', // listing is in another category
  'status', // listing is paused or withdrawn
  'validity', // `now` outside [validFrom, validUntil)
  'own_listing', // seller is the buyer
  'model_name', // request names a model, listing serves another (or none)
  'gpu_model', // request lists accepted GPU models, listing's is not one of them
  'min_vram', // listing VRAM below (or missing) request.spec.minVramGb
  'min_gpu_count', // listing GPU count below (or missing) request.spec.minGpuCount
  'min_context', // listing context size below (or missing) request.spec.minContextSize
  'capacity', // available capacity (total - reserved) < quantity
  'budget', // pricePerUnit > budgetMax
  'region_excluded', // region in request.excludedRegions
  'region_not_allowed', // request.allowedRegions set and region not in it
  'latency', // SLA max latency above request.maxLatencyMs
  'min_trust', // seller trust below request.minTrustScore
] as const;
export type ConstraintKey = (typeof CONSTRAINTS)[number];

/** Phrases used in the diagnostics sentence ("312 listings below min VRAM"). */
export const CONSTRAINT_LABELS: Readonly<Record<ConstraintKey, string>> = {
  category: 'in another category',
  status: 'not active',
  validity: 'outside their validity window',
  own_listing: 'are your own',
  model_name: 'serving another model',
  gpu_model: 'with a GPU model not accepted',
  min_vram: 'below min VRAM',
  min_gpu_count: 'with too few GPUs',
  min_context: 'below min context size',
  capacity: 'without enough free capacity',
  budget: 'over budget',
  region_excluded: 'in an excluded region',
  region_not_allowed: 'outside the allowed regions',
  latency: 'above max latency',
  min_trust: 'below min trust score',
};

/** Ranking factors, each a raw value in [0, 1]. */
export const FACTORS = ['price', 'spec', 'reputation', 'regionLatency', 'capacity', 'sla'] as const;
export type Factor = (typeof FACTORS)[number];
export type MatchWeights = Record<Factor, number>;

/** Default weights (sum 1). Custom weights are normalised to sum 1, so scores stay in [0, 1]. */
export const DEFAULT_MATCH_WEIGHTS: Readonly<MatchWeights> = Object.freeze({
  price: 0.3,
  spec: 0.15,
  reputation: 0.25,
  regionLatency: 0.1,
  capacity: 0.05,
  sla: 0.15,
});

export const DEFAULT_MATCH_LIMIT = 5;
/** Latency reference when the request sets no maxLatencyMs. */
export const DEFAULT_REFERENCE_LATENCY_MS = 1000;
/**
 * A newcomer is a seller without a record yet: registered less than 30 days ago AND fewer than 5 completed
 * trades (age alone does not make a busy seller new). Exploration offers only newcomers whose trust is at
 * least `minTrust` ("good newcomers": the operator's probes have measured them favourably; a seller that
 * fails its probes, or has no evidence at all, is never explored).
 */
export const DEFAULT_NEWCOMER = Object.freeze({ maxCompletedTrades: 5, maxAgeMs: 30 * 24 * 3600 * 1000, minTrust: 50 });

export interface MatchOptions {
  /** Current time in ms (validity windows, newcomer age). */
  now: number;
  /** How many candidates to return (default 5). */
  limit?: number;
  /** Partial weights override the defaults; the result is normalised to sum 1. */
  weights?: Partial<MatchWeights>;
  /** Probability (0..1) that the last slot goes to a newcomer. Requires `rng` when > 0. */
  explorationShare?: number;
  rng?: Rng;
  /**
   * A seller is a newcomer if it registered less than maxAgeMs ago and has fewer completed trades than
   * maxCompletedTrades (unknown counts as none); exploration offers newcomers with trust >= minTrust.
   */
  newcomer?: { maxCompletedTrades?: number; maxAgeMs?: number; minTrust?: number };
  /** 'auto' (default): diagnostics only when fewer than `limit` qualify. */
  diagnostics?: 'auto' | 'always' | 'never';
  /** ListingIndex only: scan every candidate so `qualified` is exact (disables score-bound pruning). */
  exactCount?: boolean;
}

export interface ScoreFactor {
  raw: number;
  weight: number;
  contribution: number;
}
export type ScoreBreakdown = Record<Factor, ScoreFactor>;

export interface MatchCandidate {
  /** 1-based rank. */
  rank: number;
  listingId: string;
  sellerId: string;
  pricePerUnit: bigint;
  /** Sum of the breakdown's contributions, in [0, 1]. */
  score: number;
  breakdown: ScoreBreakdown;
  newcomer: boolean;
  /** True when this slot was given by exploration rather than by rank. */
  viaExploration: boolean;
  listing: Listing;
}

export interface ExplorationInfo {
  share: number;
  /** The RNG draw (null when share is 0: no draw is made). */
  roll: number | null;
  /** roll < share. */
  triggered: boolean;
  /** Listing placed by exploration, or null (not triggered, no eligible newcomer, or it already ranked). */
  listingId: string | null;
}

export interface MatchDiagnostics {
  /** All listings looked at (the array, or the whole index). */
  total: number;
  qualified: number;
  /** total - qualified; equals the sum of byConstraint. */
  eliminated: number;
  /** Listings eliminated, attributed to the first failing constraint in CONSTRAINTS order. */
  byConstraint: Record<ConstraintKey, number>;
  /** e.g. "no match: 312 listings below min VRAM, 41 over budget (of 2000 gpu_compute listings; 8000 in other categories)" */
  message: string;
}

export interface MatchResult {
  requestId: string;
  candidates: MatchCandidate[];
  /**
   * Listings that passed every hard constraint. Exact when `qualifiedExact`; otherwise (the index skipped
   * listings that provably could not enter the top `limit`) a lower bound, and at least `limit`.
   */
  qualified: number;
  qualifiedExact: boolean;
  /** Normalised weights used. */
  weights: MatchWeights;
  exploration: ExplorationInfo;
  /** Present when fewer than `limit` qualified (or diagnostics: 'always'). */
  diagnostics: MatchDiagnostics | null;
}

/** Everything the hot loops need, precomputed once per query. */
export interface PreparedQuery {
  req: TradeRequest;
  now: number;
  limit: number;
  weights: MatchWeights;
  /** Normalised weights in FACTORS order. */
  w: Float64Array;
  budgetMax: bigint;
  budgetMaxF: number;
  budgetMinF: number;
  quantity: number;
  modelPref: readonly string[];
  regionPref: readonly string[];
  excluded: ReadonlySet<string>;
  hasModelName: boolean;
  hasMinVram: boolean;
  minVram: number;
  hasMinGpu: boolean;
  minGpu: number;
  hasMinCtx: boolean;
  minCtx: number;
  hasMaxLatency: boolean;
  maxLatency: number;
  refLatency: number;
  hasMinTrust: boolean;
  minTrust: number;
  explorationShare: number;
  rng: Rng | null;
  newcomerMaxTrades: number;
  newcomerMinCreatedAt: number;
  newcomerMinTrust: number;
  diagnostics: 'auto' | 'always' | 'never';
  exactCount: boolean;
}

export function normaliseWeights(partial?: Partial<MatchWeights>): MatchWeights {
  const merged: MatchWeights = { ...DEFAULT_MATCH_WEIGHTS, ...partial };
  let sum = 0;
  for (const f of FACTORS) {
    const v = merged[f];
    if (!Number.isFinite(v) || v < 0) throw new RangeError(`weight ${f} must be a finite number >= 0`);
    sum += v;
  }
  if (sum <= 0) throw new RangeError('at least one weight must be > 0');
  const out = {} as MatchWeights;
  for (const f of FACTORS) out[f] = merged[f] / sum;
  return out;
}

export function prepareQuery(req: TradeRequest, opts: MatchOptions): PreparedQuery {
  if (!Number.isFinite(opts.now)) throw new RangeError('now must be a finite number of ms');
  if (!(req.quantity > 0) || !Number.isFinite(req.quantity)) throw new RangeError('quantity must be > 0');
  if (req.budgetMax <= 0n) throw new RangeError('budgetMax must be > 0');
  const limit = opts.limit ?? DEFAULT_MATCH_LIMIT;
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError('limit must be an integer >= 1');
  const share = opts.explorationShare ?? 0;
  if (!(share >= 0 && share <= 1)) throw new RangeError('explorationShare must be in [0, 1]');
  if (share > 0 && !opts.rng) throw new RangeError('explorationShare > 0 needs a seeded rng');
  const weights = normaliseWeights(opts.weights);
  const s = req.spec;
  const budgetMin = req.budgetMin ?? 0n;
  return {
    req,
    now: opts.now,
    limit,
    weights,
    w: Float64Array.from(FACTORS.map((f) => weights[f])),
    budgetMax: req.budgetMax,
    budgetMaxF: Number(req.budgetMax),
    budgetMinF: Number(budgetMin < 0n ? 0n : budgetMin),
    quantity: req.quantity,
    modelPref: s.acceptedGpuModels ?? [],
    regionPref: req.allowedRegions ?? [],
    excluded: new Set(req.excludedRegions ?? []),
    hasModelName: s.modelName !== undefined,
    hasMinVram: s.minVramGb !== undefined,
    minVram: s.minVramGb ?? 0,
    hasMinGpu: s.minGpuCount !== undefined,
    minGpu: s.minGpuCount ?? 0,
    hasMinCtx: s.minContextSize !== undefined,
    minCtx: s.minContextSize ?? 0,
    hasMaxLatency: req.maxLatencyMs !== undefined,
    maxLatency: req.maxLatencyMs ?? Infinity,
    refLatency: req.maxLatencyMs !== undefined && req.maxLatencyMs > 0 ? req.maxLatencyMs : DEFAULT_REFERENCE_LATENCY_MS,
    hasMinTrust: req.minTrustScore !== undefined,
    minTrust: req.minTrustScore ?? 0,
    explorationShare: share,
    rng: opts.rng ?? null,
    newcomerMaxTrades: opts.newcomer?.maxCompletedTrades ?? DEFAULT_NEWCOMER.maxCompletedTrades,
    newcomerMinCreatedAt: opts.now - (opts.newcomer?.maxAgeMs ?? DEFAULT_NEWCOMER.maxAgeMs),
    newcomerMinTrust: opts.newcomer?.minTrust ?? DEFAULT_NEWCOMER.minTrust,
    diagnostics: opts.diagnostics ?? 'auto',
    exactCount: opts.exactCount ?? (opts.diagnostics === 'always'),
  };
}

/** First failing hard constraint of a listing object, or null if it qualifies. */
export function firstFailingConstraint(q: PreparedQuery, l: Listing): ConstraintKey | null {
  const r = q.req;
  if (l.category !== r.category) return 'category';
  if (l.status !== 'active') return 'status';
  if (!(q.now >= l.validFrom && q.now < l.validUntil)) return 'validity';
  if (l.sellerId === r.buyerId) return 'own_listing';
  if (q.hasModelName && l.spec.modelName !== r.spec.modelName) return 'model_name';
  if (q.modelPref.length > 0 && (l.spec.gpuModel === undefined || !q.modelPref.includes(l.spec.gpuModel))) {
    return 'gpu_model';
  }
  if (q.hasMinVram && !((l.spec.vramGb ?? NaN) >= q.minVram)) return 'min_vram';
  if (q.hasMinGpu && !((l.spec.gpuCount ?? NaN) >= q.minGpu)) return 'min_gpu_count';
  if (q.hasMinCtx && !((l.spec.contextSize ?? NaN) >= q.minCtx)) return 'min_context';
  if (!(l.capacityTotal - l.capacityReserved >= q.quantity)) return 'capacity';
  if (l.pricePerUnit > q.budgetMax) return 'budget';
  if (q.excluded.has(l.region)) return 'region_excluded';
  if (q.regionPref.length > 0 && !q.regionPref.includes(l.region)) return 'region_not_allowed';
  if (q.hasMaxLatency && !(l.sla.maxLatencyMs <= q.maxLatency)) return 'latency';
  if (q.hasMinTrust && !(l.sellerTrust >= q.minTrust)) return 'min_trust';
  return null;
}

function clamp01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : x;
}

/** Spec headroom: 0.75 at exactly the minimum, rising linearly to 1 at twice the minimum. */
function headroom(actual: number, min: number): number {
  if (!(min > 0)) return 1;
  return Math.min(1, 0.75 + 0.25 * (actual / min - 1));
}

/**
 * Raw factor values (FACTORS order) of a qualified listing, written into `out`.
 * Takes primitives so the index can call it straight from its columns.
 * `modelRank` / `regionRank`: position in the request's preference list (ignored when the list is empty).
 */
export function rawFactors(
  out: Float64Array,
  q: PreparedQuery,
  priceF: number,
  modelRank: number,
  vram: number,
  gpuCount: number,
  ctx: number,
  trust: number,
  regionRank: number,
  latency: number,
  available: number,
  availability: number,
): void {
  // price: 1 at or below budgetMin, linearly down to 0 at budgetMax
  const span = q.budgetMaxF - q.budgetMinF;
  out[0] = priceF <= q.budgetMinF || span <= 0 ? 1 : clamp01((q.budgetMaxF - priceF) / span);
  // spec: mean over what the request asked for
  let s = 0;
  let n = 0;
  const nm = q.modelPref.length;
  if (nm > 0) {
    n++;
    s += nm === 1 ? 1 : 1 - (0.5 * modelRank) / (nm - 1);
  }
  if (q.hasMinVram) {
    n++;
    s += headroom(vram, q.minVram);
  }
  if (q.hasMinGpu) {
    n++;
    s += headroom(gpuCount, q.minGpu);
  }
  if (q.hasMinCtx) {
    n++;
    s += headroom(ctx, q.minCtx);
  }
  if (q.hasModelName) {
    n++;
    s += 1;
  }
  out[1] = n === 0 ? 1 : s / n;
  out[2] = clamp01(trust / 1000);
  const nr = q.regionPref.length;
  const region = nr > 1 ? 1 - (0.5 * regionRank) / (nr - 1) : 1;
  const lat = clamp01(1 - latency / (2 * q.refLatency));
  out[3] = (region + lat) / 2;
  out[4] = available > 0 ? clamp01(1 - q.quantity / available) : 0;
  out[5] = clamp01(availability);
}

/** Weighted sum, in FACTORS order (the same order the breakdown is summed in). */
export function combine(raw: Float64Array, w: Float64Array): number {
  return (
    (raw[0] as number) * (w[0] as number) +
    (raw[1] as number) * (w[1] as number) +
    (raw[2] as number) * (w[2] as number) +
    (raw[3] as number) * (w[3] as number) +
    (raw[4] as number) * (w[4] as number) +
    (raw[5] as number) * (w[5] as number)
  );
}

export function rawFactorsOfListing(out: Float64Array, q: PreparedQuery, l: Listing): void {
  rawFactors(
    out,
    q,
    Number(l.pricePerUnit),
    l.spec.gpuModel === undefined ? -1 : q.modelPref.indexOf(l.spec.gpuModel),
    l.spec.vramGb ?? NaN,
    l.spec.gpuCount ?? NaN,
    l.spec.contextSize ?? NaN,
    l.sellerTrust,
    q.regionPref.indexOf(l.region),
    l.sla.maxLatencyMs,
    l.capacityTotal - l.capacityReserved,
    l.sla.availability,
  );
}

export function breakdownOf(raw: Float64Array, q: PreparedQuery): ScoreBreakdown {
  const out = {} as ScoreBreakdown;
  FACTORS.forEach((f, i) => {
    const r = raw[i] as number;
    const weight = q.w[i] as number;
    out[f] = { raw: r, weight, contribution: r * weight };
  });
  return out;
}

export function isNewcomer(q: PreparedQuery, l: Listing): boolean {
  return newcomerBy(q, l.sellerCreatedAt, l.sellerCompletedTrades ?? NaN);
}

/** Young and without a record (NaN trades: unknown, counts as none). */
export function newcomerBy(q: PreparedQuery, createdAt: number, completedTrades: number): boolean {
  return createdAt >= q.newcomerMinCreatedAt && !(completedTrades >= q.newcomerMaxTrades);
}

/** A newcomer exploration may offer: a newcomer with at least the newcomer trust floor. */
export function isExplorable(q: PreparedQuery, l: Listing): boolean {
  return l.sellerTrust >= q.newcomerMinTrust && isNewcomer(q, l);
}
