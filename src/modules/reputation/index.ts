export * from './evidence.types.js';
export * from './params.js';
export { buildLocalTrust, eigenTrust, producerWeight, referenceTrust, teleportVector, localTrustOf } from './eigentrust.js';
export type { LocalTrust, EigenTrustOptions, EigenTrustResult } from './eigentrust.js';
export { ReputationEngine, OutOfOrderEvidenceError } from './engine.js';
export type { ScoreView, RecentItem, AgentCounts } from './engine.js';
export { componentDetail, componentsFromDetail, newcomerScore, rawScore, trustLevel, STAT_FIELDS } from './trust-score.js';
export type { ComponentDetail, ComponentValues, ChannelDetail, TrustLevel } from './trust-score.js';
export { explain, publishedReputation } from './explain.js';
export type { Explanation, PublishedReputation, Metric, ComponentExplanation } from './explain.js';
export { findClosedLoops, findPaymentLoop, findSameOwnerClusters, detectOwnerClusters, DEFAULT_OWNER_CLUSTER_OPTIONS } from './wash.js';
export type { PaymentLog, LoopOptions, ClusterOptions, AccountSignals, OwnerCluster, OwnerClusterOptions } from './wash.js';

import type { Actor, LeaderboardEntry, SubmittedEvidence } from './reputation.service.js';
export type { Actor as EvidenceActor, LeaderboardEntry, SubmittedEvidence } from './reputation.service.js';

/**
 * What the built-in verifier does with reputation, as an operator would: reads the leaderboard (whom to
 * challenge), registers its probe agent and submits the probe's evidence. ReputationService answers it.
 */
export interface ReputationProbes {
  leaderboard(f: { category?: string | undefined; region?: string | undefined }): Promise<LeaderboardEntry[]>;
  /** false: it was a probe already */
  addProbe(agentId: string): Promise<boolean>;
  submitEvidence(actor: Actor, e: SubmittedEvidence): Promise<{ id: string; type: string; agentId: string; producerId: string | null; at: Date }>;
}
