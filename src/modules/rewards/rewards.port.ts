/**
 * What other modules may use of rewards: the injection points they answer (a risk module's holds, a
 * certification module's partnership revenue shares) and the tier limits trading may enforce.
 */
export type { SplitSource } from './rewards.deps.js';
export type { SplitShare } from './rewards.splits.js';

/** An agent under risk review is held, not paid (the risk module answers; default: nobody). */
export type IsHeld = (agentId: string) => Promise<boolean>;

/** The most open agreements a seller's tier allows (null: no limit from the program). */
export interface TierLimits {
  maxOpenAgreements(agentId: string): Promise<number | null>;
}
