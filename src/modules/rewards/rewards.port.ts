/**
 * What other modules may use of rewards: the injection points they answer (a risk module's holds, a
 * certification module's partnership revenue shares) and the tier limits trading may enforce.
 */
import type { Executor } from '../../database.js';

export type { SplitSource } from './rewards.deps.js';
export type { SplitShare } from './rewards.splits.js';

/** An agent under risk review is held, not paid (the risk module answers; default: nobody). */
export type IsHeld = (agentId: string) => Promise<boolean>;

/** A seller's tier and the most open agreements it allows (max null: no limit from the program), read through `db`. */
export interface TierLimits {
  openAgreementLimitIn(db: Executor, agentId: string): Promise<{ tier: string; max: number | null }>;
}
