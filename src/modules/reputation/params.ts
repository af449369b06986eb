/**
 * Tunable parameters and smooth curves of the trust score.
 *
 * Curves map a measured quantity to 0..1 ("goodness"). Each is a smooth rational curve
 * 1 / (1 + (badness / scale)^2) whose scale is chosen so that the plan's threshold gives
 * exactly 0.9. A channel's value is 2*goodness - 1 at full confidence, so at the threshold a
 * component sits at 80% of its maximum: the top band (>= 80% of the range) starts exactly at
 * the plan's thresholds, and keeps rising smoothly beyond them (no cliffs).
 */
import { DAY_MS } from './evidence.types.js';

export interface ReputationParams {
  /** Half-life of every piece of evidence (exact exponential decay). */
  readonly halfLifeMs: number;
  /** Length of a "day": the gain-cap period and the global-trust epoch. */
  readonly dayMs: number;
  /** Maximum rise of the published score per day. Drops apply at once. */
  readonly dailyGainCap: number;
  /** Agents whose measurements seed the trust graph (the operator's probe agents). */
  readonly preTrusted: readonly string[];
  /**
   * The platform's own verifier agents (built-in probe agents): pre-trusted like the operator's probes.
   * The service adds them to `preTrusted`; kept apart so configuration can name them.
   */
  readonly verifierIds: readonly string[];
  /**
   * Agents under a risk `discount_evidence` intervention (the risk module's, read through the
   * `evidenceDiscounts` dep): every piece of evidence they produced (trades as buyer, ratings, probes)
   * counts zero, their own community participation too, and their trust edges are left out of every
   * epoch. Evidence about them from others still counts. Part of the checkpoint key (it is a parameter).
   */
  readonly evidenceDiscounted: readonly string[];
  /**
   * Share of the trust seed (EigenTrust's teleport vector) that goes to externally funded agents, in
   * proportion to the value they brought in (`funding` evidence), when pre-trusted agents exist; all of
   * it when none do. No seed at all (no probes, nobody funded): nobody has trust.
   */
  readonly fundedSeedShare: number;
  /** Funded value above this (AITBC) adds no seed to one agent. */
  readonly fundedSeedCapAitbc: number;
  /**
   * Repeated evidence from one counterparty saturates: a pair with decayed count n counts
   * g(n) = n (n <= 1), 1 + (C - 1)(1 - exp(-(n - 1) / s)) above, at most C = pairSaturation
   * (s = pairSaturationScale): ~sqrt(n) up to 4 observations, never more than C. Probe pairs keep
   * sqrt(n) (a trusted measurer sampling again is new evidence). The same g bounds trust-graph edges.
   */
  readonly pairSaturation: number;
  readonly pairSaturationScale: number;
  /** Trust-weighted ratings given at which the community participation channel reaches 1 - 1/e. */
  readonly ratingsGivenScale: number;
  /** EigenTrust damping toward the pre-trusted set. */
  readonly alpha: number;
  readonly trustTolerance: number;
  readonly trustMaxIterations: number;
  /** A producer's evidence has full weight when its trust >= referenceFraction * median trust. */
  readonly trustReferenceFraction: number;
  /** Confidence pseudo-counts: confidence = mass / (mass + k). */
  readonly kPerformance: number;
  /**
   * Confidence saturates: a channel whose mass / (mass + k) reaches this counts as fully confident (its value
   * is then 2 x goodness - 1, so goodness ranks, not volume); below, confidence is mass / (mass + k) / this.
   * 1: no saturation (confidence only approaches 1).
   */
  readonly confidenceFullAt: number;
  readonly kSuccess: number;
  readonly kRatings: number;
  readonly kDisputes: number;
  readonly kReliability: number;
  /** Closed-loop detection: max cycle length, time window and relative amount tolerance. */
  readonly loopMaxLength: number;
  readonly loopWindowMs: number;
  readonly loopAmountTolerance: number;
  /**
   * Circular trading, any amounts: a payment buyer -> seller when the seller has itself paid the buyer
   * (directly, or around a cycle of at most `circleMaxLength` payments) within `circleWindowMs`. Agents
   * that pay each other cannot vouch for each other, whatever they pay; rings that vary amounts escape
   * the token-loop check but not this one. 0 disables.
   */
  readonly circleMaxLength: number;
  readonly circleWindowMs: number;
  /**
   * The recent window of trade outcomes, weighted by value at stake (trust weight x AITBC): a faster
   * half-life, and the value of failed trades at which its confidence reaches 1/2. The transactions
   * component uses the worse of the long-run and the (confidence-shrunk) recent success rate, so an
   * agent that built a record and then cheats on big jobs drops at once (on-off milking).
   */
  readonly recentHalfLifeMs: number;
  readonly kRecent: number;
  /** How many recent evidence items to keep per agent for `explain` (0 disables). */
  readonly recentItems: number;
}

export const DEFAULT_PARAMS: ReputationParams = {
  halfLifeMs: 30 * DAY_MS,
  dayMs: DAY_MS,
  dailyGainCap: 75,
  preTrusted: [],
  verifierIds: [],
  evidenceDiscounted: [],
  fundedSeedShare: 0.5,
  fundedSeedCapAitbc: 1000,
  pairSaturation: 2.5,
  pairSaturationScale: 3,
  ratingsGivenScale: 10,
  alpha: 0.15,
  trustTolerance: 1e-7,
  trustMaxIterations: 60,
  trustReferenceFraction: 0.5,
  kPerformance: 4,
  confidenceFullAt: 1,
  kSuccess: 8,
  kRatings: 5,
  kDisputes: 8,
  kReliability: 1,
  loopMaxLength: 4,
  loopWindowMs: DAY_MS,
  loopAmountTolerance: 0.1,
  circleMaxLength: 3,
  circleWindowMs: 14 * DAY_MS,
  recentHalfLifeMs: DAY_MS,
  kRecent: 20,
  recentItems: 8,
};

export function makeParams(overrides: Partial<ReputationParams> = {}): ReputationParams {
  return { ...DEFAULT_PARAMS, ...overrides };
}

/** Component ranges (plan): score = clamp(500 + sum of components, 0, 1000). */
export const RANGE = {
  performance: 200,
  transactions: 150,
  community: 100,
  reliability: 50,
  disputes: 50,
} as const;
export const BASE_SCORE = 500;

/** Plan thresholds: where a component reaches its top band. */
export const THRESHOLDS = {
  responseMs: 50,
  accuracy: 0.95,
  availability: 0.99,
  success: 0.98,
  disputeRate: 0.02,
} as const;

/** Goodness at a threshold; scale = threshold-badness * 3 since 1/(1+(1/3)^2) = 0.9. */
const AT_THRESHOLD = 3;

function rational(badness: number, scale: number): number {
  if (!(badness > 0)) return 1;
  const r = badness / scale;
  return 1 / (1 + r * r);
}

/** Latency goodness of one observation: 0.9 at 50 ms, 0.5 at 150 ms, 0.08 at 500 ms. */
export function latencyCurve(ms: number): number {
  return rational(Number.isFinite(ms) ? ms : Infinity, THRESHOLDS.responseMs * AT_THRESHOLD);
}
/** Accuracy goodness: 0.9 at 95%, 0.5 at 85%. */
export function accuracyCurve(a: number): number {
  return rational(1 - clamp01(a), (1 - THRESHOLDS.accuracy) * AT_THRESHOLD);
}
/** Availability goodness: 0.9 at 99%, 0.5 at 97%. */
export function availabilityCurve(r: number): number {
  return rational(1 - clamp01(r), (1 - THRESHOLDS.availability) * AT_THRESHOLD);
}
/** Success-rate goodness: 0.9 at 98%, 0.5 at 94%. */
export function successCurve(r: number): number {
  return rational(1 - clamp01(r), (1 - THRESHOLDS.success) * AT_THRESHOLD);
}
/** Dispute goodness from the (weighted) rate of lost disputes: 0.9 at 2%, 0.5 at 6%. */
export function disputeCurve(rate: number): number {
  return rational(clamp01(rate), THRESHOLDS.disputeRate * AT_THRESHOLD);
}

/** Weight of a trade by its size: 1 at 0 AITBC, ~3.3 at 100 AITBC, capped at 4. */
export function amountWeight(amountBaseUnits: bigint): number {
  const aitbc = Number(amountBaseUnits) / 1e8;
  if (!(aitbc > 0)) return 1;
  return Math.min(4, 1 + Math.log1p(aitbc) / 2);
}

/** Effective count of n repeated observations from one counterparty (see `pairSaturation`). */
export function saturate(n: number, c: number, s: number): number {
  if (!(n > 1)) return n > 0 ? n : 0;
  return 1 + (c - 1) * (1 - Math.exp(-(n - 1) / s));
}

/** Effective count of n repeated probe measurements: n up to 1, sqrt(n) above. */
export function probeCount(n: number): number {
  return n > 1 ? Math.sqrt(n) : n > 0 ? n : 0;
}

export function clamp01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : Number.isFinite(x) ? x : 0;
}

/**
 * Value of one evidence channel in [-1, 1]: the curve of the weighted mean, pulled toward the
 * pessimistic prior -1 by confidence = goodMass / (goodMass + k), where goodMass is the weighted
 * amount of *favourable* evidence (sum of x for a measure x in 0..1 where 1 is best). Counting only
 * favourable evidence in the confidence makes the value exactly monotone: bad evidence leaves the
 * confidence unchanged and lowers the mean; good evidence raises both. Equal to -1 with no evidence.
 */
export function channelValue(goodMass: number, goodness: number, k: number, fullAt = 1): number {
  const conf = confidence(goodMass, k, fullAt);
  return conf * (2 * goodness - 1) + (1 - conf) * -1;
}

export function confidence(mass: number, k: number, fullAt = 1): number {
  const m = mass > 0 ? mass : 0;
  const c = m / (m + k);
  return fullAt >= 1 ? c : Math.min(1, c / fullAt);
}

/** Points per community action kind (plan) and per reliability kind (plan). */
export const COMMUNITY_POINTS = { forum: 5, knowledge_sharing: 10, mentorship: 15, voting: 5 } as const;
/** Decayed number of actions at which a kind reaches 1 - 1/e of its cap. */
export const COMMUNITY_SCALE = 3;
export const RELIABILITY_POINTS = { uptime: 10, maintenance: 5, security: 10, backup: 5 } as const;
