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
  /**
   * The trade's latency as measured (by the buyer, else the seller's claim where the buyer did not
   * contradict it: see `measuredBy`); null when nobody measured it. Never filled in.
   */
  latencyMs?: number | null;
  /** 0..1, same rules as latencyMs (a buyer's acceptance counts as 1, its rejection as 0) */
  accuracy?: number | null;
  slaMet?: boolean | null;
  at: Date;
  /** Who measured each value above: 'buyer', 'seller' (an uncontradicted claim) or 'platform'. A field left out was measured by nobody. */
  measuredBy?: Partial<Record<'latencyMs' | 'accuracy' | 'availability' | 'unitsDelivered' | 'slaMet', 'buyer' | 'seller' | 'platform'>>;
  /** The fields nobody measured (null, not filled in). */
  unmeasured?: string[];
  /** Fields where the buyer contradicted the seller's claim: the claim is not evidence (src/modules/trading/measurements.ts). */
  disputed?: string[];
  /** The buyer's own report (confirm or dispute), as given. */
  buyerLatencyMs?: number | null;
  buyerAccuracy?: number | null;
  buyerAccepted?: boolean | null;
  buyerUnitsDelivered?: number | null;
  /** The seller's delivery report, as claimed. */
  sellerClaim?: { latencyMs?: number; accuracy?: number; availability?: number; usage?: number } | null;
  /** Platform-measured: ms from funding to the delivery report (null without a delivery). */
  platformDeliveryMs?: number | null;
  /** Platform-measured: delivered before the delivery deadline (false: it passed undelivered; null: unknown). */
  deadlineMet?: boolean | null;
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

/** A trade outcome as reputation recorded it, with whether reputation counts it (rewards, incentives). */
export interface RecordedTrade {
  tradeId: string;
  sellerId: string;
  buyerId: string;
  success: boolean;
  /** gross, base units */
  amount: bigint;
  category: string | null;
  at: Date;
  /**
   * null: counted. Otherwise why it counts nothing: 'same_owner' (one owner by key or verdict), or the
   * pair is tainted by a closed loop, circular trading or a same-owner cluster (as of now, so a loop
   * detected later withdraws earlier trades of the pair too), or 'risk_intervention': the buyer is under
   * a discount_evidence intervention now (its trades vouch for nobody).
   */
  discount: 'same_owner' | 'same_owner_cluster' | 'tainted_pair' | 'risk_intervention' | null;
  /** buyer- or platform-measured latency (never the seller's own claim); null: not measured */
  measuredLatencyMs: number | null;
  /** buyer- or platform-measured accuracy 0..1; null: not measured */
  measuredAccuracy: number | null;
}

export interface ReputationPort {
  recordTradeOutcome(tx: Tx, e: TradeOutcomeEvidence): Promise<void>;
  recordDisputeOutcome(tx: Tx, e: DisputeOutcomeEvidence): Promise<void>;
  /** Current trust scores (0-1000); agents without a score get the newcomer score. */
  trustScores(agentIds: readonly string[]): Promise<Map<string, number>>;
  /** Trade outcomes recorded at [from, until), in time order, each with whether it counts (same-owner and loop detection). */
  tradesBetween(from: Date, until: Date): Promise<RecordedTrade[]>;
  /** The same-owner cluster of each agent that is in one (an id of the cluster: one of its members); others are left out. */
  ownerClusters(agentIds: readonly string[]): Promise<Map<string, string>>;
}
