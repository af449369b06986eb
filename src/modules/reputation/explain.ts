/**
 * Published metrics and explanations (plain JSON-able data) for one agent.
 */
import type { ReputationEngine, AgentCounts, RecentItem } from './engine.js';
import type { AgentId, DiscountReason } from './evidence.types.js';
import { RANGE } from './params.js';
import { accuracyCurve, availabilityCurve, trustLevel } from './trust-score.js';
import type { ChannelDetail, ComponentValues, TrustLevel } from './trust-score.js';

export interface Metric {
  /** null when there are no observations */
  readonly value: number | null;
  readonly observations: number;
}

export interface PublishedReputation {
  readonly agentId: AgentId;
  readonly trustScore: number; // integer 0..1000
  readonly level: TrustLevel;
  /** 0..5 stars: latency, accuracy and availability goodness (no prior) */
  readonly performanceRating: Metric;
  /** 0..100 %: trust-weighted, decayed probe availability (uptime attestations when never probed) */
  readonly reliability: Metric;
  /** 0..5: trust-weighted Bayesian average of ratings, prior 3 stars with weight kRatings */
  readonly communityRating: Metric;
  readonly observations: number;
}

const PRIOR_STARS = 3;
/** Discounts that make an item count nothing, whatever its producer's trust. */
const COUNTS_ZERO = new Set<DiscountReason>(['same_owner', 'closed_loop', 'circular_trading', 'tainted_pair', 'same_owner_cluster', 'rating_not_party', 'rating_duplicate', 'risk_intervention']);

export function publishedReputation(engine: ReputationEngine, agentId: AgentId, now: number): PublishedReputation {
  const view = engine.score(agentId, now);
  const a = engine.indexOf(agentId);
  const d = a === undefined ? undefined : engine.detailAt(a, now);
  const counts = a === undefined ? undefined : engine.counts(a);
  const trustScore = Math.round(view.score);
  if (d === undefined || counts === undefined) {
    const none = { value: null, observations: 0 };
    return { agentId, trustScore, level: 'unrated', performanceRating: none, reliability: none, communityRating: none, observations: 0 };
  }
  const perf = d.performance;
  const perfObs = counts.tradesAsSeller + counts.probes;
  let performanceValue: number | null = null;
  if (perf.latency.mean !== null && perf.accuracy.mean !== null) {
    const avail = perf.availability.mean === null ? null : availabilityCurve(perf.availability.mean);
    const g =
      avail === null
        ? (0.3 * perf.latency.goodness + 0.4 * accuracyCurve(perf.accuracy.mean)) / 0.7
        : 0.3 * perf.latency.goodness + 0.4 * accuracyCurve(perf.accuracy.mean) + 0.3 * avail;
    performanceValue = round2(5 * g);
  }
  let reliabilityValue: number | null = null;
  let reliabilityObs = counts.probes;
  if (perf.availability.mean !== null) reliabilityValue = round2(100 * perf.availability.mean);
  else if (d.reliability.byKind[0]!.mean !== null) {
    reliabilityValue = round2(100 * d.reliability.byKind[0]!.mean);
    reliabilityObs = counts.reliability;
  }
  const r = d.community.ratings;
  const k = engine.params.kRatings;
  const communityValue = counts.ratingsReceived === 0 ? null : round2((r.mass * (1 + 4 * (r.mean ?? 0)) + k * PRIOR_STARS) / (r.mass + k));
  return {
    agentId,
    trustScore,
    level: trustLevel(view.score, view.observations),
    performanceRating: { value: performanceValue, observations: perfObs },
    reliability: { value: reliabilityValue, observations: reliabilityObs },
    communityRating: { value: communityValue, observations: counts.ratingsReceived },
    observations: view.observations,
  };
}

export interface ComponentExplanation {
  readonly name: keyof typeof RANGE;
  readonly value: number;
  readonly min: number;
  readonly max: number;
  readonly channels: Readonly<Record<string, unknown>>;
}

export interface Explanation {
  readonly agentId: AgentId;
  readonly at: number;
  readonly score: number;
  readonly raw: number;
  readonly gainCapped: boolean;
  readonly components: readonly ComponentExplanation[];
  readonly counts: Readonly<AgentCounts> | null;
  readonly discounted: Readonly<Partial<Record<DiscountReason, number>>>;
  /** recent evidence; `weightNow` is the producer's trust weight in the current epoch (every epoch weighs evidence again) */
  readonly recent: readonly (RecentItem & { weightNow?: number })[];
  readonly globalTrust: { trust: number; weight: number; preTrusted: boolean; fundedAitbc: number };
  /** the latest same-owner verdict the agent is part of (members are shown to the agent and the operator only) */
  readonly sameOwner: SameOwnerExplanation | null;
  readonly notes: readonly string[];
}

export interface SameOwnerExplanation {
  readonly verdictId: string;
  readonly at: number;
  readonly size: number;
  readonly members?: readonly AgentId[];
  readonly signals: readonly string[];
  readonly internalShare: number;
  readonly tradesWithdrawn: number;
}

/** Why is this agent's score what it is? Each component, the evidence behind it, what was discounted. */
export function explain(engine: ReputationEngine, agentId: AgentId, now: number): Explanation {
  const view = engine.score(agentId, now);
  const a = engine.indexOf(agentId);
  const d = a === undefined ? undefined : engine.detailAt(a, now);
  const c: ComponentValues = view.components;
  const components: ComponentExplanation[] = [];
  const range = (name: keyof typeof RANGE, value: number, channels: Record<string, unknown>): void => {
    components.push({ name, value: round2(value), min: -RANGE[name], max: RANGE[name], channels });
  };
  range('performance', c.performance, d ? { ...d.performance } : {});
  range('transactions', c.transactions, d ? { ...d.transactions } : {});
  range('community', c.community, d ? { ratings: d.community.ratings, actions: d.community.actions, participation: d.community.participation } : {});
  // the operator's attestations (security, backup) are optional channels: nobody is marked down for one never
  // posted (trust-score.ts, reliabilityValue); heartbeat uptime and maintenance compliance are always counted
  const optional = ['security', 'backup'] as const;
  const notMeasured = d ? optional.filter((_, k) => !(d.reliability.byKind[k + 2]!.mass > 1e-9)) : [...optional];
  range(
    'reliability',
    c.reliability,
    d ? { uptime: d.reliability.byKind[0]!, maintenance: d.reliability.byKind[1]!, security: d.reliability.byKind[2]!, backup: d.reliability.byKind[3]!, notMeasured } : {},
  );
  range('disputes', c.disputes, d ? { lostRate: d.disputes.lostRate } : {});
  const notes: string[] = [];
  if (a === undefined || d === undefined) notes.push('no evidence yet: newcomers start at the floor (0) and rise as trusted evidence arrives');
  if (view.gainCapped) notes.push(`raw score ${round2(view.raw)} held back by the daily gain cap of ${engine.params.dailyGainCap} points`);
  const owner = a === undefined ? undefined : engine.ownerVerdict(a);
  const sameOwner: SameOwnerExplanation | null = owner === undefined ? null : {
    verdictId: owner.id, at: owner.at, size: owner.members.length, members: owner.members, signals: owner.signals,
    internalShare: owner.internalShare, tradesWithdrawn: owner.tradesWithdrawn,
  };
  if (owner !== undefined) {
    notes.push(
      `member of a same-owner cluster of ${owner.members.length} agents since ${new Date(owner.at).toISOString()} ` +
        `(account links: ${owner.signals.join(', ') || 'none'}; at least ${Math.round(owner.internalShare * 100)}% of each member's trades stay inside): ` +
        `trades and ratings between members count for nothing, and ${owner.tradesWithdrawn} earlier trades between them were withdrawn`,
    );
  }
  if (engine.evidenceDiscounted(agentId)) {
    notes.push(
      'under a discount_evidence risk intervention: the evidence this agent produced (trades as buyer, ratings, probes) counts for nothing ' +
        'about anyone, its ratings earn it no community participation and its trust edges are left out of global trust, until the intervention is lifted',
    );
  }
  const byFlagged = a === undefined ? 0 : engine.discounts(a).risk_intervention ?? 0;
  if (byFlagged > 0) {
    notes.push(`${byFlagged} pieces of evidence about this agent came from agents under a discount_evidence risk intervention and count for nothing (discount risk_intervention)`);
  }
  const seed = engine.seedSummary();
  if (seed.preTrusted === 0 && seed.funded === 0) {
    notes.push('no trust seed yet: global trust starts at the operator\'s probe agents, the platform\'s verifier and agents that brought value in from outside (deposits, mints); until one of them trades, evidence has weight 0, and the next epoch after that weighs it again');
  } else if (engine.epochPending) {
    notes.push('evidence arrived since the last trust epoch: the next epoch (hourly, daily, or POST /v1/admin/reputation/epoch) weighs it again with its producers\' trust');
  }
  if (d && notMeasured.length > 0) {
    notes.push(`reliability: ${notMeasured.join(', ')} not measured (an optional operator attestation: left out of the average, neither credit nor blame)`);
  }
  for (const comp of components) {
    if (comp.value < comp.min * 0.5) notes.push(`${comp.name} is near its floor: little or poor evidence (few observations are pulled toward the pessimistic prior)`);
  }
  return {
    agentId,
    at: now,
    score: round2(view.score),
    raw: round2(view.raw),
    gainCapped: view.gainCapped,
    components,
    counts: a === undefined ? null : engine.counts(a),
    discounted: a === undefined ? {} : engine.discounts(a),
    recent: a === undefined ? [] : engine.recent(a).map((r) => {
      if (r.counterparty === undefined || (r.type !== 'trade' && r.type !== 'probe' && r.type !== 'rating') || r.discounts.some((x) => COUNTS_ZERO.has(x))) return r;
      const w = engine.pairWeightNow(agentId, r.counterparty, r.type);
      return w === null ? r : { ...r, weightNow: round2(w) };
    }),
    globalTrust: engine.trustOf(agentId),
    sameOwner,
    notes,
  };
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
