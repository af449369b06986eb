import type { Executor } from '../../database.js';

/**
 * What other modules may ask of certification: the live certification level of agents (trading's matching
 * constraint `minCertificationLevel`), how levels compare, and (for settlement splits) the revenue shares
 * of a seller's active partnerships.
 */
export { LEVELS, levelRank, type Level } from './requirements.js';

export interface CertificationLevels {
  /** The live level of each agent that has one (agents without a live certificate are left out). */
  certificationLevelOf(agentIds: readonly string[]): Promise<Map<string, string>>;
}

/** A seller's partnership revenue shares of one sale (the rewards module's SplitSource; PartnershipsService.sharesFor answers it). */
export interface PartnershipSplitSource {
  sharesFor(agreement: { sellerId: string; at?: Date | undefined }, db?: Executor): Promise<{ agentId: string; bps: number; reason: string }[]>;
}
