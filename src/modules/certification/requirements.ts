/**
 * Certification requirement chains (pure): the plan's levels, each the previous level plus its own
 * evidence, evaluated over facts the service gathered from live data (no database, no clock inside).
 *
 *   basic        <- identity_verified + basic_performance
 *   intermediate <- basic + reliability_proven
 *   advanced     <- intermediate + high_performance
 *   enterprise   <- advanced + security_compliant
 *
 * basic_performance and high_performance are different thresholds over the same measurements: challenge
 * jobs the platform's verifier bought and checked, and the latency and accuracy that buyers measured
 * themselves, aggregated per buyer first (one buyer counts once however many trades it made) over
 * independent buyers only (not the seller itself, not sharing its key, not in a same-owner cluster with it).
 * All thresholds live in CERTIFICATION_RULES (the one place to change them).
 */
import { createHash } from 'node:crypto';

export const LEVELS = ['basic', 'intermediate', 'advanced', 'enterprise'] as const;
export type Level = (typeof LEVELS)[number];
export const REQUIREMENTS = ['identity_verified', 'basic_performance', 'reliability_proven', 'high_performance', 'security_compliant'] as const;
export type Requirement = (typeof REQUIREMENTS)[number];

/** The plan's chains: a level's requirements name the previous level and its own evidence. */
export const CHAINS: Record<Level, { previous: Level | null; own: Requirement[] }> = {
  basic: { previous: null, own: ['identity_verified', 'basic_performance'] },
  intermediate: { previous: 'basic', own: ['reliability_proven'] },
  advanced: { previous: 'intermediate', own: ['high_performance'] },
  enterprise: { previous: 'advanced', own: ['security_compliant'] },
};

export interface PerformanceRule {
  /** verifier challenge jobs passed (digest correct) in the evidence window */
  minChallengesPassed: number;
  /** passed / (passed + failed) */
  minPassRate: number;
  /** distinct independent buyers who measured latency or accuracy themselves */
  minIndependentBuyers: number;
  /** median over buyers of each buyer's mean measured latency */
  maxMedianLatencyMs: number;
  /** mean over buyers of each buyer's mean measured accuracy */
  minMeanAccuracy: number;
}

export interface CertificationRules {
  validityDays: number;
  /** renew an active certificate this many days before it expires when the level still holds */
  renewBeforeDays: number;
  /** trades and challenges older than this do not count */
  evidenceWindowDays: number;
  basic_performance: PerformanceRule;
  high_performance: PerformanceRule;
  reliability_proven: { windowDays: number; minUptime: number; minCoveredDays: number };
}

export const CERTIFICATION_RULES: CertificationRules = {
  validityDays: 365,
  renewBeforeDays: 30,
  evidenceWindowDays: 90,
  basic_performance: { minChallengesPassed: 1, minPassRate: 0.8, minIndependentBuyers: 3, maxMedianLatencyMs: 500, minMeanAccuracy: 0.8 },
  // the plan's trust bonuses: response time < 50 ms, accuracy > 95 %; a p50 of 100 ms over 10 buyers
  high_performance: { minChallengesPassed: 5, minPassRate: 0.95, minIndependentBuyers: 10, maxMedianLatencyMs: 100, minMeanAccuracy: 0.95 },
  reliability_proven: { windowDays: 30, minUptime: 0.99, minCoveredDays: 28 },
};

/** One buyer-measured trade of the seller (the buyer's own values; null: it did not report that). */
export interface BuyerMeasurement {
  tradeId: string;
  buyerId: string;
  atMs: number;
  latencyMs: number | null;
  accuracy: number | null;
  /** the trade was recorded with the buyer sharing the seller's key */
  sameOwnerSuspected: boolean;
}

export interface AttestationFact {
  id: string;
  digest: string;
  reviewedBy: string;
  createdAtMs: number;
  expiresAtMs: number;
}

/** Everything the chains look at, for one agent at one moment. */
export interface AgentFacts {
  agentId: string;
  nowMs: number;
  /** the key registered now (null: none) */
  registeredKey: string | null;
  /** the latest identity proof (a key other than the registered one does not count) */
  identity: { publicKey: string; verifiedAtMs: number; challengeId: string } | null;
  challenges: { passed: number; failed: number };
  trades: readonly BuyerMeasurement[];
  /** agents the same-owner detector put in a cluster with this one */
  sameOwnerPeers: readonly string[];
  uptime: { uptime: number | null; coveredMs: number };
  /** live operator-reviewed security attestations */
  security: readonly AttestationFact[];
}

export interface Shortfall {
  metric: string;
  actual: number | string | null;
  required: number | string;
  comparison: '>=' | '<=' | '=';
  /** how far off (in the metric's unit); null when not numeric */
  gap: number | null;
}

export interface RequirementResult {
  requirement: Requirement;
  met: boolean;
  /** the facts the verdict rests on */
  evidence: Record<string, unknown>;
  /** sha256 of the canonical JSON of `evidence` */
  digest: string;
  shortfalls: Shortfall[];
  /** what would meet it, in words (null when met) */
  toMeet: string | null;
}

export interface LevelResult {
  level: Level;
  granted: boolean;
  /** every requirement of the chain, previous levels' first */
  requirements: RequirementResult[];
  failed: RequirementResult[];
}

/** JSON with object keys sorted at every depth (the bytes certificates are signed over). */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map((x) => canonicalJson(x === undefined ? null : x)).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
}

export const digestOf = (v: unknown): string => `sha256:${createHash('sha256').update(canonicalJson(v)).digest('hex')}`;

/** The requirements of a level's whole chain, in order (basic's first). */
export function chainOf(level: Level): Requirement[] {
  const c = CHAINS[level];
  return [...(c.previous ? chainOf(c.previous) : []), ...c.own];
}

export const levelRank = (l: string | null | undefined): number => (l ? LEVELS.indexOf(l as Level) + 1 : 0);

const round = (x: number, d = 4) => Math.round(x * 10 ** d) / 10 ** d;

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Buyer-measured trades in the window from independent buyers, aggregated per buyer. */
export function independentBuyers(f: AgentFacts, rules: CertificationRules) {
  const since = f.nowMs - rules.evidenceWindowDays * 86_400_000;
  const peers = new Set(f.sameOwnerPeers);
  const per = new Map<string, { lat: number[]; acc: number[]; trades: number }>();
  const excluded = { sameKey: 0, sameOwnerCluster: 0, self: 0 };
  for (const t of f.trades) {
    if (t.atMs < since || t.atMs > f.nowMs) continue;
    if (t.buyerId === f.agentId) { excluded.self++; continue; }
    if (t.sameOwnerSuspected) { excluded.sameKey++; continue; }
    if (peers.has(t.buyerId)) { excluded.sameOwnerCluster++; continue; }
    if (t.latencyMs === null && t.accuracy === null) continue;
    const b = per.get(t.buyerId) ?? { lat: [], acc: [], trades: 0 };
    b.trades++;
    if (t.latencyMs !== null) b.lat.push(t.latencyMs);
    if (t.accuracy !== null) b.acc.push(t.accuracy);
    per.set(t.buyerId, b);
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const lat = [...per.values()].filter((b) => b.lat.length).map((b) => mean(b.lat));
  const acc = [...per.values()].filter((b) => b.acc.length).map((b) => mean(b.acc));
  return {
    buyers: per.size,
    trades: [...per.values()].reduce((a, b) => a + b.trades, 0),
    medianLatencyMs: lat.length ? round(median(lat)!, 1) : null,
    meanAccuracy: acc.length ? round(mean(acc)) : null,
    excludedTrades: excluded,
  };
}

function result(requirement: Requirement, evidence: Record<string, unknown>, shortfalls: Shortfall[], toMeet: string[]): RequirementResult {
  const met = shortfalls.length === 0;
  return { requirement, met, evidence, digest: digestOf({ requirement, evidence }), shortfalls, toMeet: met ? null : toMeet.join('; ') };
}

function performance(name: 'basic_performance' | 'high_performance', f: AgentFacts, rules: CertificationRules): RequirementResult {
  const r = rules[name];
  const b = independentBuyers(f, rules);
  const { passed, failed } = f.challenges;
  const passRate = passed + failed > 0 ? round(passed / (passed + failed)) : null;
  const s: Shortfall[] = [];
  const how: string[] = [];
  if (passed < r.minChallengesPassed) {
    s.push({ metric: 'verifierChallengesPassed', actual: passed, required: r.minChallengesPassed, comparison: '>=', gap: r.minChallengesPassed - passed });
    how.push(`pass ${r.minChallengesPassed - passed} more challenge job(s) of the platform's verifier (keep an active listing with free capacity)`);
  }
  if (passRate === null || passRate < r.minPassRate) {
    s.push({ metric: 'verifierPassRate', actual: passRate, required: r.minPassRate, comparison: '>=', gap: passRate === null ? null : round(r.minPassRate - passRate) });
    if (passRate !== null) {
      // passes needed with no further failure: (p + x) / (p + f + x) >= rate
      const need = Math.max(0, Math.ceil((r.minPassRate * (passed + failed) - passed) / (1 - r.minPassRate) - 1e-9));
      how.push(`a verifier pass rate of ${r.minPassRate} (${need} more pass(es) without a failure)`);
    }
  }
  if (b.buyers < r.minIndependentBuyers) {
    s.push({ metric: 'independentBuyers', actual: b.buyers, required: r.minIndependentBuyers, comparison: '>=', gap: r.minIndependentBuyers - b.buyers });
    how.push(`trades with ${r.minIndependentBuyers - b.buyers} more independent buyer(s) who report their own latency or accuracy`);
  }
  if (b.medianLatencyMs === null || b.medianLatencyMs > r.maxMedianLatencyMs) {
    s.push({ metric: 'medianBuyerLatencyMs', actual: b.medianLatencyMs, required: r.maxMedianLatencyMs, comparison: '<=', gap: b.medianLatencyMs === null ? null : round(b.medianLatencyMs - r.maxMedianLatencyMs, 1) });
    how.push(`a median buyer-measured latency of at most ${r.maxMedianLatencyMs} ms`);
  }
  if (b.meanAccuracy === null || b.meanAccuracy < r.minMeanAccuracy) {
    s.push({ metric: 'meanBuyerAccuracy', actual: b.meanAccuracy, required: r.minMeanAccuracy, comparison: '>=', gap: b.meanAccuracy === null ? null : round(r.minMeanAccuracy - b.meanAccuracy) });
    how.push(`a mean buyer-measured accuracy of at least ${r.minMeanAccuracy}`);
  }
  return result(name, {
    windowDays: rules.evidenceWindowDays, verifierChallenges: { passed, failed, passRate }, independentBuyers: b.buyers, buyerTrades: b.trades,
    medianBuyerLatencyMs: b.medianLatencyMs, meanBuyerAccuracy: b.meanAccuracy, excludedTrades: b.excludedTrades, thresholds: r,
  }, s, how);
}

export function evaluateRequirement(req: Requirement, f: AgentFacts, rules: CertificationRules = CERTIFICATION_RULES): RequirementResult {
  switch (req) {
    case 'identity_verified': {
      const ok = f.identity !== null && f.registeredKey !== null && f.identity.publicKey === f.registeredKey;
      const s: Shortfall[] = ok ? [] : [{ metric: 'identityProof', actual: f.identity ? 'proof for another key' : 'none', required: 'signature with the registered key', comparison: '=', gap: null }];
      return result(req, ok ? { publicKey: f.identity!.publicKey, verifiedAt: new Date(f.identity!.verifiedAtMs).toISOString(), challengeId: f.identity!.challengeId } : { registeredKey: f.registeredKey },
        s, [f.registeredKey === null ? 'register an Ed25519 public key (PATCH /v1/agents/{id}), then sign an identity challenge' : 'sign a challenge from POST /v1/agents/{id}/identity/challenge and send it to .../identity/verify']);
    }
    case 'basic_performance':
    case 'high_performance':
      return performance(req, f, rules);
    case 'reliability_proven': {
      const r = rules.reliability_proven;
      const covered = round(f.uptime.coveredMs / 86_400_000, 2);
      const s: Shortfall[] = [];
      const how: string[] = [];
      if (covered < r.minCoveredDays) {
        s.push({ metric: 'measuredDays', actual: covered, required: r.minCoveredDays, comparison: '>=', gap: round(r.minCoveredDays - covered, 2) });
        how.push(`${round(r.minCoveredDays - covered, 2)} more day(s) of heartbeats (the platform measures uptime from the first one)`);
      }
      const up = f.uptime.uptime === null ? null : round(f.uptime.uptime, 5);
      if (up === null || up < r.minUptime) {
        s.push({ metric: 'uptime', actual: up, required: r.minUptime, comparison: '>=', gap: up === null ? null : round(r.minUptime - up, 5) });
        how.push(`platform-measured uptime of at least ${r.minUptime} over the last ${r.windowDays} days`);
      }
      return result(req, { windowDays: r.windowDays, measuredDays: covered, uptime: up, thresholds: r }, s, how);
    }
    case 'security_compliant': {
      const live = f.security.filter((a) => a.expiresAtMs > f.nowMs).sort((a, b) => b.expiresAtMs - a.expiresAtMs);
      const a = live[0];
      return result(req, a ? { attestationId: a.id, evidenceDigest: a.digest, reviewedBy: a.reviewedBy, reviewedAt: new Date(a.createdAtMs).toISOString(), expiresAt: new Date(a.expiresAtMs).toISOString() } : { attestations: 0 },
        a ? [] : [{ metric: 'liveSecurityAttestations', actual: 0, required: 1, comparison: '>=', gap: 1 }],
        ['an operator-reviewed security attestation with evidence that has not expired (POST /v1/admin/agents/{id}/attestations)']);
    }
  }
}

export function evaluateLevel(level: Level, f: AgentFacts, rules: CertificationRules = CERTIFICATION_RULES): LevelResult {
  const requirements = chainOf(level).map((r) => evaluateRequirement(r, f, rules));
  const failed = requirements.filter((r) => !r.met);
  return { level, granted: failed.length === 0, requirements, failed };
}

/** The highest level whose whole chain holds (null: none). */
export function highestLevel(f: AgentFacts, rules: CertificationRules = CERTIFICATION_RULES): LevelResult | null {
  let best: LevelResult | null = null;
  for (const l of LEVELS) {
    const r = evaluateLevel(l, f, rules);
    if (!r.granted) break;
    best = r;
  }
  return best;
}
