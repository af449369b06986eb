/**
 * Plain-data evidence items consumed by the pure reputation core.
 *
 * Every item carries `at` (epoch milliseconds, the time the fact was recorded) and a `type`
 * discriminator. Amounts are integer base units (`bigint`, 1 AITBC = 100_000_000 units).
 * Nothing here knows about a database: the integrator maps its rows to these shapes.
 */

export type AgentId = string;

/** 1 AITBC in base units. */
export const AITBC = 100_000_000n;
export const DAY_MS = 86_400_000;

/** A settled or failed trade. The buyer paid the seller; the seller is the one being evaluated. */
export interface TradeOutcome {
  readonly type: 'trade';
  readonly id: string;
  readonly at: number;
  readonly buyerId: AgentId;
  readonly sellerId: AgentId;
  readonly success: boolean;
  /** the seller's claim (its delivery report), or the platform's measurement */
  readonly latencyMs: number;
  /** 0..1, the seller's claim */
  readonly accuracy: number;
  /**
   * What the buyer experienced (reported when it confirms or rejects). Where present it replaces the
   * seller's claim: a claim counts as evidence only where the buyer does not contradict it.
   */
  readonly buyerLatencyMs?: number;
  /** 0..1, the buyer's experienced accuracy (or acceptance) */
  readonly buyerAccuracy?: number;
  readonly slaMet: boolean;
  /** base units */
  readonly amount: bigint;
  /** Set by the integrator (e.g. from `findSameOwnerClusters` or account metadata). Counts zero. */
  readonly sameOwnerSuspected?: boolean;
}

/** A measurement by one of the operator's probe agents (the trusted seed of the trust graph). */
export interface ProbeMeasurement {
  readonly type: 'probe';
  readonly at: number;
  readonly agentId: AgentId;
  readonly probeId: AgentId;
  readonly responseMs: number;
  readonly available: boolean;
  /** 0..1, accuracy on known-answer tasks */
  readonly accuracy: number;
}

/** One rating per settled trade and side, by a party of that trade about the other party. */
export interface Rating {
  readonly type: 'rating';
  readonly at: number;
  readonly raterId: AgentId;
  readonly rateeId: AgentId;
  readonly tradeId: string;
  /** integer 1..5 */
  readonly stars: number;
}

export type CommunityKind = 'forum' | 'knowledge_sharing' | 'mentorship' | 'voting';
export const COMMUNITY_KINDS: readonly CommunityKind[] = ['forum', 'knowledge_sharing', 'mentorship', 'voting'];

/** Reported by the operator or an integration. */
export interface CommunityAction {
  readonly type: 'community';
  readonly at: number;
  readonly agentId: AgentId;
  readonly kind: CommunityKind;
}

export type ReliabilityKind = 'uptime' | 'maintenance' | 'security' | 'backup';
export const RELIABILITY_KINDS: readonly ReliabilityKind[] = ['uptime', 'maintenance', 'security', 'backup'];

/** Reported by the operator or an integration; value 0..1 (1 = fully compliant). */
export interface ReliabilityAttestation {
  readonly type: 'reliability';
  readonly at: number;
  readonly agentId: AgentId;
  readonly kind: ReliabilityKind;
  readonly value: number;
}

export type DisputeResult = 'won' | 'lost' | 'settled';

/** The outcome of a dispute, from the point of view of `agentId`. */
export interface DisputeOutcome {
  readonly type: 'dispute';
  readonly at: number;
  readonly agentId: AgentId;
  readonly outcome: DisputeResult;
  readonly filedBy: AgentId;
  readonly tradeId?: string;
}

/**
 * A same-owner verdict (see wash.ts `detectOwnerClusters`): from `at` on, trades and ratings between
 * any two members count for nothing, and what they had earned from each other is withdrawn.
 */
export interface SameOwnerVerdict {
  readonly type: 'same_owner';
  readonly at: number;
  readonly id: string;
  /** two or more agents */
  readonly members: readonly AgentId[];
  /** the account links and trading pattern that convicted them (shown by explain) */
  readonly signals: readonly string[];
  readonly internalShare: number;
}

/**
 * The value an agent's wallet received from outside the market (bridge deposits and operator mints,
 * less withdrawals), as the ledger reports it: the latest report replaces the earlier. It seeds global
 * trust in proportion to value (capped per agent), so splitting it over many identities adds nothing.
 */
export interface FundingReport {
  readonly type: 'funding';
  readonly at: number;
  readonly agentId: AgentId;
  /** base units, net of withdrawals, >= 0 */
  readonly amount: bigint;
}

/** Compute a global-trust epoch now (the operator's endpoint, the daily job) and weigh all evidence again. */
export interface EpochMark {
  readonly type: 'epoch';
  readonly at: number;
}

export type Evidence =
  | EpochMark
  | FundingReport
  | SameOwnerVerdict
  | TradeOutcome
  | ProbeMeasurement
  | Rating
  | CommunityAction
  | ReliabilityAttestation
  | DisputeOutcome;

export type EvidenceType = Evidence['type'];

/** Every reason a piece of evidence can be discounted; reported by `explain`. */
export type DiscountReason =
  | 'same_owner' // trade flagged as same owner: counts zero
  | 'closed_loop' // trade closed a token loop (or lies on a loop pair): counts zero
  | 'circular_trading' // the parties pay each other (directly or around a short cycle), any amounts: counts zero
  | 'tainted_pair' // pair was earlier marked same-owner / loop: counts zero
  | 'same_owner_cluster' // both parties belong to a detected same-owner cluster: counts zero
  | 'low_trust_producer' // producer's global trust below the reference: partial weight
  | 'repeated_pair' // repeated evidence from the same counterparty: diminishing weight
  | 'rating_inconsistent' // rating contradicts the objective trade outcome
  | 'claim_contradicted' // the buyer's experience contradicts the seller's claimed latency or accuracy: the buyer's counts
  | 'rating_not_party' // rater/ratee are not the two parties of the trade: counts zero
  | 'rating_duplicate' // second rating for the same trade and side: counts zero
  | 'risk_intervention' // the producer is under a risk discount_evidence intervention: counts zero
  | 'gain_capped'; // score held back by the daily gain cap
