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
// The whole service, for modules that drive reputation as an operator would (the built-in verifier's probe evidence).
export type { ReputationService } from './reputation.service.js';
