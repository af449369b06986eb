/**
 * What other modules (trading, ledger) may ask of reputation. Trading writes trade and dispute outcomes
 * inside its settlement transaction, and reads trust scores for matching.
 */
import type { Tx } from '../../database.js';

export interface TradeOutcomeEvidence {
  /** The agreement (trade) id: one outcome per trade. */
  tradeId: string;
  sellerId: string;
  buyerId: string;
  success: boolean;
  /** Gross amount paid (base units); 0 for a failed trade. */
  amount: bigint;
  category?: string | null;
  /** Measured by the seller's delivery report (or a probe). */
  latencyMs?: number | null;
  /** 0..1 */
  accuracy?: number | null;
  slaMet?: boolean | null;
  at: Date;
}

export interface DisputeOutcomeEvidence {
  tradeId: string;
  sellerId: string;
  buyerId: string;
  /** Who opened the dispute. */
  filedBy: string;
  /** release: the seller won; refund: the buyer won; split: settled. */
  outcome: 'release' | 'refund' | 'split';
  at: Date;
}

export interface ReputationPort {
  recordTradeOutcome(tx: Tx, e: TradeOutcomeEvidence): Promise<void>;
  recordDisputeOutcome(tx: Tx, e: DisputeOutcomeEvidence): Promise<void>;
  /** Current trust scores (0-1000); agents without a score get the newcomer score. */
  trustScores(agentIds: readonly string[]): Promise<Map<string, number>>;
}
