/**
 * The 0-1000 trust score from one agent's sufficient statistics (pure, no state).
 *
 * score = clamp(500 + performance(+-200) + transactions(+-150) + community(+-100)
 *               + reliability(+-50) + disputes(+-50), 0, 1000)
 *
 * Every component is built from channels (see `channelValue`): a smooth curve of a trust-weighted,
 * time-decayed mean, pulled toward the pessimistic prior -1 by a confidence weight
 * good / (good + k), where `good` is the weighted amount of favourable evidence (so every channel is
 * monotone: bad evidence never raises it, good evidence never lowers it). With no evidence every
 * component is at -range, so a newcomer's raw score is clamp(500 - 550) = 0 = the lowest score anyone
 * can have: re-registering never raises a score. Because the long-run statistics of one agent decay by
 * the same factor, decay leaves every mean unchanged and only lowers confidence. The recent window
 * (faster decay) only ever lowers the transactions component; as its failures fade the score recovers
 * toward the long-run value (the engine's daily gain cap bounds that recovery like any other rise).
 */
import {
  BASE_SCORE,
  COMMUNITY_POINTS,
  COMMUNITY_SCALE,
  RANGE,
  RELIABILITY_POINTS,
  accuracyCurve,
  availabilityCurve,
  channelValue,
  confidence,
  disputeCurve,
  successCurve,
} from './params.js';
import type { ReputationParams } from './params.js';

/** Offsets of the per-agent statistics in one flat record (all decay with the same factor). */
export const F = {
  tradeMass: 0, // sum over buyer pairs of W / sqrt(n)
  tradeLatency: 1, // ... of sum(w * latencyCurve) / sqrt(n)
  tradeAccuracy: 2,
  tradeSuccess: 3,
  probeMass: 4,
  probeLatency: 5,
  probeAccuracy: 6,
  probeAvailable: 7,
  ratingMass: 8,
  ratingSum: 9, // sum of w * (stars - 1) / 4
  disputeLost: 10,
  disputeWon: 11,
  community0: 12, // 4 kinds, decayed counts
  reliabilityW0: 16, // 4 kinds, decayed counts
  reliabilityX0: 20, // 4 kinds, decayed sum of values
  recentMass: 24, // recent window (faster decay): trust weight x AITBC of trades
  recentOk: 25, // ... of successful trades
  ratingsGiven: 26, // trust-weighted (the agent's own weight) decayed count of consistent ratings it gave on counted trades
  ratingsGivenRaw: 27, // ... unweighted (re-weighed at every epoch)
} as const;
export const STAT_FIELDS = 28;
/** Fields that decay at the recent window's rate rather than the common one. */
export const RECENT_FIELDS = [F.recentMass, F.recentOk] as const;

export interface ComponentValues {
  readonly performance: number;
  readonly transactions: number;
  readonly community: number;
  readonly reliability: number;
  readonly disputes: number;
  /** clamp(500 + sum, 0, 1000), before the daily gain cap */
  readonly raw: number;
}

export interface ChannelDetail {
  readonly mass: number; // effective (trust-weighted, decayed, pair-diminished) evidence mass
  readonly mean: number | null; // weighted mean of the raw measure (null without evidence)
  readonly goodness: number; // curve of the mean, 0..1
  readonly confidence: number; // goodMass / (goodMass + k): favourable evidence only
  readonly value: number; // -1..1
}

export interface ComponentDetail {
  readonly performance: { latency: ChannelDetail; accuracy: ChannelDetail; availability: ChannelDetail };
  readonly transactions: { success: ChannelDetail; recent: { mass: number; successRate: number | null; confidence: number; goodness: number } };
  /**
   * actions: 2 x max(operator-reported actions' share, participation) - 1; participation = 1 - exp(-g / ratingsGivenScale)
   * where g is the trust-weighted count of consistent ratings the agent gave on trades that counted (real, non-operator evidence)
   */
  readonly community: { ratings: ChannelDetail; actions: number; participation: number };
  readonly reliability: { byKind: readonly ChannelDetail[] };
  readonly disputes: { lostRate: ChannelDetail };
}

const W_LAT = 0.3;
const W_ACC = 0.4;
const W_AVAIL = 0.3;
const W_RATINGS = 0.7;
const W_ACTIONS = 0.3;

/**
 * One channel: `sum` is the weighted sum of the measure over `mass`; `goodMass` the weighted amount of
 * favourable evidence (= sum for measures where 1 is best). Rounding residues below 1e-9 count as 0.
 */
function channel(mass: number, sum: number, k: number, curve: (x: number) => number, goodMass: number = sum, fullAt = 1): ChannelDetail {
  const m = mass > 1e-9 ? mass : 0;
  const mean = m > 0 ? Math.min(1, Math.max(0, sum / m)) : null;
  const goodness = mean === null ? 0 : curve(mean);
  const gm = m > 0 && goodMass > 0 ? Math.min(goodMass, m) : 0;
  return { mass: m, mean, goodness, confidence: confidence(gm, k, fullAt), value: channelValue(gm, goodness, k, fullAt) };
}

const identity = (x: number): number => (x < 0 ? 0 : x > 1 ? 1 : x);

/**
 * Components from statistics scaled by `scale` (the common decay factor to the evaluation time;
 * pass 1 for statistics already decayed).
 */
export function componentDetail(s: ArrayLike<number>, o: number, scale: number, p: ReputationParams): ComponentDetail {
  const g = (i: number): number => s[o + i]! * scale;
  const tM = g(F.tradeMass);
  const pM = g(F.probeMass);
  const latency = channel(tM + pM, g(F.tradeLatency) + g(F.probeLatency), p.kPerformance, identity, undefined, p.confidenceFullAt);
  const accuracy = channel(tM + pM, g(F.tradeAccuracy) + g(F.probeAccuracy), p.kPerformance, accuracyCurve, undefined, p.confidenceFullAt);
  const availability = channel(pM, g(F.probeAvailable), p.kPerformance, availabilityCurve, undefined, p.confidenceFullAt);
  const longRun = channel(tM, g(F.tradeSuccess), p.kSuccess, successCurve);
  // recent window: its statistics decay faster (scale^ratio); shrunk toward the long run by the
  // confidence of its *failed* value, so recent successes never lower and failures never raise it
  const rs = scale === 1 ? 1 : Math.pow(scale, p.halfLifeMs / p.recentHalfLifeMs);
  const rM = s[o + F.recentMass]! * rs;
  const rOk = Math.min(rM, s[o + F.recentOk]! * rs);
  let success = longRun;
  let recent = { mass: 0, successRate: null as number | null, confidence: 0, goodness: longRun.goodness };
  if (rM > 1e-9 && longRun.mass > 0) {
    const bad = rM - rOk;
    const confS = bad > 0 ? bad / (bad + p.kRecent) : 0;
    const gS = confS * successCurve(rOk / rM) + (1 - confS) * longRun.goodness;
    recent = { mass: rM, successRate: rOk / rM, confidence: confS, goodness: gS };
    if (gS < longRun.goodness) {
      const gm = Math.min(g(F.tradeSuccess), tM);
      success = { ...longRun, goodness: gS, value: channelValue(gm > 0 ? gm : 0, gS, p.kSuccess) };
    }
  }
  const ratings = channel(g(F.ratingMass), g(F.ratingSum), p.kRatings, identity);
  let actions = 0;
  let pts = 0;
  const cp = [COMMUNITY_POINTS.forum, COMMUNITY_POINTS.knowledge_sharing, COMMUNITY_POINTS.mentorship, COMMUNITY_POINTS.voting];
  for (let k = 0; k < 4; k++) {
    const c = g(F.community0 + k);
    actions += cp[k]! * (1 - Math.exp(-(c > 0 ? c : 0) / COMMUNITY_SCALE));
    pts += cp[k]!;
  }
  const rg = g(F.ratingsGiven);
  const participation = 1 - Math.exp(-(rg > 0 ? rg : 0) / p.ratingsGivenScale);
  const actionsValue = 2 * Math.max(actions / pts, participation) - 1;
  const byKind: ChannelDetail[] = [];
  for (let k = 0; k < 4; k++) byKind.push(channel(g(F.reliabilityW0 + k), g(F.reliabilityX0 + k), p.kReliability, identity));
  const lost = g(F.disputeLost);
  const won = g(F.disputeWon);
  // successful trade mass (failed trades are no evidence of clean dealing) plus dispute weight;
  // mean = share of lost-dispute weight, curve maps a low loss rate to high goodness; the favourable
  // evidence is everything but the lost share
  const okTrades = g(F.tradeSuccess);
  const dMass = okTrades + lost + won;
  const lostRate = channel(dMass, lost, p.kDisputes, disputeCurve, okTrades + won);
  return {
    performance: { latency, accuracy, availability },
    transactions: { success, recent },
    community: { ratings, actions: actionsValue, participation },
    reliability: { byKind },
    disputes: { lostRate },
  };
}

export function componentsFromDetail(d: ComponentDetail): ComponentValues {
  const perf =
    RANGE.performance *
    (W_LAT * d.performance.latency.value + W_ACC * d.performance.accuracy.value + W_AVAIL * d.performance.availability.value);
  const tx = RANGE.transactions * d.transactions.success.value;
  const comm = RANGE.community * (W_RATINGS * d.community.ratings.value + W_ACTIONS * d.community.actions);
  const rel = RANGE.reliability * reliabilityValue(d.reliability.byKind.map((c) => c.value));
  const disp = RANGE.disputes * d.disputes.lostRate.value;
  const sum = BASE_SCORE + perf + tx + comm + rel + disp;
  const raw = sum < 0 ? 0 : sum > 1000 ? 1000 : sum;
  return { performance: perf, transactions: tx, community: comm, reliability: rel, disputes: disp, raw };
}

/** Raw score (before the daily cap) of the statistics at offset o, scaled by `scale`. */
export function rawScore(s: ArrayLike<number>, o: number, scale: number, p: ReputationParams): number {
  return componentsFromDetail(componentDetail(s, o, scale, p)).raw;
}

/** Value of `channel(...)` without building the detail object (same arithmetic, same result). */
function channelValueOnly(mass: number, sum: number, k: number, curve: (x: number) => number, goodMass: number = sum, fullAt = 1): number {
  const m = mass > 1e-9 ? mass : 0;
  const goodness = m > 0 ? curve(Math.min(1, Math.max(0, sum / m))) : 0;
  const gm = m > 0 && goodMass > 0 ? Math.min(goodMass, m) : 0;
  return channelValue(gm, goodness, k, fullAt);
}

const RP = [RELIABILITY_POINTS.uptime, RELIABILITY_POINTS.maintenance, RELIABILITY_POINTS.security, RELIABILITY_POINTS.backup];

/**
 * The reliability component's value (-1..1) from its four channel values (uptime, maintenance, security,
 * backup; -1 = no evidence). Security and backup are operator attestations, optional channels: an agent
 * is not marked down for an attestation nobody posted. The value is the better of the weighted average over
 * all four kinds and the weighted average over the kinds the platform measures itself (uptime and
 * maintenance compliance, from heartbeats and declared windows). Both averages are monotone in the
 * evidence, so their maximum is too: favourable evidence never lowers it (an attestation can only add).
 */
export function reliabilityValue(v: ArrayLike<number>): number {
  const all = (RP[0]! * v[0]! + RP[1]! * v[1]! + RP[2]! * v[2]! + RP[3]! * v[3]!) / (RP[0]! + RP[1]! + RP[2]! + RP[3]!);
  const measured = (RP[0]! * v[0]! + RP[1]! * v[1]!) / (RP[0]! + RP[1]!);
  return all > measured ? all : measured;
}
const CP = [COMMUNITY_POINTS.forum, COMMUNITY_POINTS.knowledge_sharing, COMMUNITY_POINTS.mentorship, COMMUNITY_POINTS.voting];

/**
 * The raw score with no allocation: the hot path of routing, leaderboards and the daily cap. It
 * repeats the arithmetic of componentDetail + componentsFromDetail step for step, so both give the
 * identical number (a property test checks it).
 */
export function rawScoreFast(s: ArrayLike<number>, o: number, scale: number, p: ReputationParams): number {
  const tM = s[o + F.tradeMass]! * scale;
  const pM = s[o + F.probeMass]! * scale;
  const lat = channelValueOnly(tM + pM, s[o + F.tradeLatency]! * scale + s[o + F.probeLatency]! * scale, p.kPerformance, identity, undefined, p.confidenceFullAt);
  const acc = channelValueOnly(tM + pM, s[o + F.tradeAccuracy]! * scale + s[o + F.probeAccuracy]! * scale, p.kPerformance, accuracyCurve, undefined, p.confidenceFullAt);
  const avail = channelValueOnly(pM, s[o + F.probeAvailable]! * scale, p.kPerformance, availabilityCurve, undefined, p.confidenceFullAt);
  const okSum = s[o + F.tradeSuccess]! * scale;
  let success = channelValueOnly(tM, okSum, p.kSuccess, successCurve);
  const rs = scale === 1 ? 1 : Math.pow(scale, p.halfLifeMs / p.recentHalfLifeMs);
  const rM = s[o + F.recentMass]! * rs;
  const longM = tM > 1e-9 ? tM : 0;
  if (rM > 1e-9 && longM > 0) {
    const rOk = Math.min(rM, s[o + F.recentOk]! * rs);
    const longG = successCurve(Math.min(1, Math.max(0, okSum / longM)));
    const bad = rM - rOk;
    const confS = bad > 0 ? bad / (bad + p.kRecent) : 0;
    const gS = confS * successCurve(rOk / rM) + (1 - confS) * longG;
    if (gS < longG) {
      const gm = Math.min(okSum, tM);
      success = channelValue(gm > 0 ? gm : 0, gS, p.kSuccess);
    }
  }
  const ratings = channelValueOnly(s[o + F.ratingMass]! * scale, s[o + F.ratingSum]! * scale, p.kRatings, identity);
  let actions = 0;
  let pts = 0;
  for (let k = 0; k < 4; k++) {
    const c = s[o + F.community0 + k]! * scale;
    actions += CP[k]! * (1 - Math.exp(-(c > 0 ? c : 0) / COMMUNITY_SCALE));
    pts += CP[k]!;
  }
  const rg = s[o + F.ratingsGiven]! * scale;
  const participation = 1 - Math.exp(-(rg > 0 ? rg : 0) / p.ratingsGivenScale);
  const actionsValue = 2 * Math.max(actions / pts, participation) - 1;
  const rv = [0, 0, 0, 0];
  for (let k = 0; k < 4; k++) rv[k] = channelValueOnly(s[o + F.reliabilityW0 + k]! * scale, s[o + F.reliabilityX0 + k]! * scale, p.kReliability, identity);
  const lost = s[o + F.disputeLost]! * scale;
  const won = s[o + F.disputeWon]! * scale;
  const disputes = channelValueOnly(okSum + lost + won, lost, p.kDisputes, disputeCurve, okSum + won);
  const perf = RANGE.performance * (W_LAT * lat + W_ACC * acc + W_AVAIL * avail);
  const tx = RANGE.transactions * success;
  const comm = RANGE.community * (W_RATINGS * ratings + W_ACTIONS * actionsValue);
  const relC = RANGE.reliability * reliabilityValue(rv);
  const disp = RANGE.disputes * disputes;
  const sum = BASE_SCORE + perf + tx + comm + relC + disp;
  return sum < 0 ? 0 : sum > 1000 ? 1000 : sum;
}

/** Raw score of an agent with no evidence at all: the floor. */
export function newcomerScore(p: ReputationParams): number {
  return rawScore(new Float64Array(STAT_FIELDS), 0, 1, p);
}

export type TrustLevel = 'unrated' | 'bronze' | 'silver' | 'gold' | 'platinum';

/** Levels by score band, as the plan's reward tiers (silver 600, gold 750, platinum 900). */
export function trustLevel(score: number, observations: number): TrustLevel {
  if (observations === 0) return 'unrated';
  if (score >= 900) return 'platinum';
  if (score >= 750) return 'gold';
  if (score >= 600) return 'silver';
  return 'bronze';
}

/** Goodness of the dispute "mean" is computed on the lost share; exported for explain. */
export { disputeCurve, successCurve, availabilityCurve, accuracyCurve };
